#!/usr/bin/env python3
"""Compare callbot's file-mode transcripts with whisper.cpp's own, on the same GGML model.

The issue's quality bar: file mode gives the same words as whisper.cpp itself with the same model
and decoding settings, so our conversion, our audio path and our use of whisper.cpp lose nothing.
The reference is whisper.cpp as the `pywhispercpp` wheel from PyPI ships it (its own build of
libwhisper, not the copy linked into callbot), fed audio read independently of callbot: 16 kHz
mono 16-bit WAVs as whisper.cpp's CLI reads them (sample / 32768), anything else converted to
that by sox first. Decoding settings are callbot's file mode: greedy (best_of 1), temperature 0
with no fallback, non-speech tokens suppressed, the language given, no prompt but Mandarin's,
and no flash attention (whisper.cpp 1.8 turns it on by default; callbot leaves it off, see
docs/benchmarks.md, and with it on the two differ in near-tie words).

    python3 -m venv /tmp/pwc && /tmp/pwc/bin/pip install pywhispercpp
    /tmp/pwc/bin/python scripts/compare_whisper_cpp.py GGML_MODEL MANIFEST.csv --lang en \
        [--callbot target/release/callbot --model tiny.en --threads 2]
"""
import argparse, os, subprocess, sys, tempfile, wave

import numpy as np
from pywhispercpp.model import Model

from callbot_file_mode import ZH_PROMPT, Tally, callbot_text, transcribed_files

def pcm16k(path, tmp):
    """Mono 16 kHz float samples: read as is where the file already is that, else via sox."""
    try:
        with wave.open(path, "rb") as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2):
                data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
                return data.astype(np.float32) / 32768.0, False
    except (wave.Error, EOFError):
        pass  # FLAC, or a WAV layout the wave module does not read: sox converts it
    out = os.path.join(tmp, "ref.wav")
    subprocess.run(["sox", path, "-r", "16000", "-c", "1", "-b", "16", out], check=True)
    return pcm16k(out, tmp)[0], True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ggml_model", help="the GGML file callbot uses for --model")
    ap.add_argument("manifest")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--callbot", default="target/release/callbot")
    ap.add_argument("--model", default=None, help="callbot's name for the same model")
    ap.add_argument("--threads", type=int, default=2, help="decoder threads, both sides")
    ap.add_argument("--flash-attn", action="store_true", help="whisper.cpp's default, not callbot's")
    a = ap.parse_args()
    prompt = {"initial_prompt": ZH_PROMPT} if a.lang == "zh" else {}
    model = Model(
        a.ggml_model, redirect_whispercpp_logs_to=None, params_sampling_strategy=0,
        context_params={"flash_attn": a.flash_attn},
        n_threads=a.threads, greedy={"best_of": 1}, temperature=0.0, temperature_inc=0.0,
        suppress_nst=True, language=a.lang, print_progress=False, print_timestamps=False, **prompt)
    tally = Tally(a.lang, "whisper.cpp")
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in transcribed_files(a.manifest):
            audio, converted = pcm16k(path, tmp)
            # pywhispercpp strips each segment's text; callbot joins segments with one space.
            ref = " ".join(" ".join(s.text.split()) for s in model.transcribe(audio)).strip()
            ours = callbot_text(a.callbot, path, a.lang, a.model, a.threads)
            tally.add(name, ref, ours, " (sox-converted for whisper.cpp)" if converted else "")
    tally.summary()

if __name__ == "__main__":
    sys.exit(main())
