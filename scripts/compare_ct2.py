#!/usr/bin/env python3
"""Compare callbot's file-mode transcripts with CTranslate2's own decoding of the same weights.

Shows that the CT2 -> GGML conversion and the audio path lose nothing: both decoders run the
same Whisper weights greedily (no temperature fallback); differences are then only numeric.

    pip install faster-whisper
    python3 scripts/compare_ct2.py CT2_MODEL_DIR MANIFEST.csv --lang en [--callbot target/release/callbot --model tiny.en]
CT2_MODEL_DIR holds model.bin (parts concatenated), config.json, tokenizer.json, vocabulary.*.
"""
import argparse, csv, json, os, re, subprocess, sys

from faster_whisper import WhisperModel

ZH_PROMPT = "以下是普通话的句子。"


def words(text):
    return re.sub(r"[^\w]+", " ", text.lower()).split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ct2_dir")
    ap.add_argument("manifest")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--callbot", default="target/release/callbot")
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    model = WhisperModel(a.ct2_dir, device="cpu", compute_type="float32", cpu_threads=os.cpu_count())
    base = os.path.dirname(os.path.abspath(a.manifest))
    same = total = 0
    for row in csv.DictReader(open(a.manifest, encoding="utf-8")):
        if not row.get("transcript", "").strip():
            continue
        path = os.path.join(base, row["file"])
        segs, _ = model.transcribe(
            path, language=a.lang, beam_size=1, best_of=1, temperature=[0.0],
            condition_on_previous_text=True, vad_filter=False,
            initial_prompt=ZH_PROMPT if a.lang == "zh" else None)
        ct2 = "".join(s.text for s in segs).strip()
        cmd = [a.callbot, "transcribe", "--json", "--lang", a.lang, path]
        if a.model:
            cmd[2:2] = ["--model", a.model]
        ours = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)["text"]
        key = (lambda t: "".join(words(t))) if a.lang == "zh" else words
        match = key(ct2) == key(ours)
        same += match
        total += 1
        print(f"{'same' if match else 'DIFF'}  {row['file']}")
        if not match:
            print(f"    ct2:     {ct2}\n    callbot: {ours}")
    print(f"identical transcripts: {same}/{total}")


if __name__ == "__main__":
    sys.exit(main())
