#!/usr/bin/env python3
"""Compare callbot's file-mode transcripts with CTranslate2's own decoding of the same weights.

Shows that the CT2 -> GGML conversion and the audio path lose nothing: both decoders run the
same Whisper weights greedily (no temperature fallback); differences are then only numeric.

    pip install faster-whisper
    python3 scripts/compare_ct2.py CT2_MODEL_DIR MANIFEST.csv --lang en [--callbot target/release/callbot --model tiny.en]
CT2_MODEL_DIR holds model.bin (parts concatenated), config.json, tokenizer.json, vocabulary.*.
"""
import argparse, os, sys

from faster_whisper import WhisperModel

from callbot_file_mode import ZH_PROMPT, Tally, callbot_text, transcribed_files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ct2_dir")
    ap.add_argument("manifest")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--callbot", default="target/release/callbot")
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    model = WhisperModel(a.ct2_dir, device="cpu", compute_type="float32", cpu_threads=os.cpu_count())
    tally = Tally(a.lang, "ct2")
    for name, path in transcribed_files(a.manifest):
        segs, _ = model.transcribe(
            path, language=a.lang, beam_size=1, best_of=1, temperature=[0.0],
            condition_on_previous_text=True, vad_filter=False,
            initial_prompt=ZH_PROMPT if a.lang == "zh" else None)
        ct2 = "".join(s.text for s in segs).strip()
        tally.add(name, ct2, callbot_text(a.callbot, path, a.lang, a.model))
    tally.summary()

if __name__ == "__main__":
    sys.exit(main())
