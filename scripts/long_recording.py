#!/usr/bin/env python3
"""Joins every recording of a manifest into one long recording (0.6 s of silence between them)
and writes a one-row manifest for it, so `callbot eval asr` can compare file mode (Whisper's
fixed 30 s windows) with the streaming engine on a recording much longer than 30 s.

    python3 scripts/long_recording.py ../shared/data/en_asr/manifest.csv /tmp/long
    callbot eval asr /tmp/long/manifest.csv [--streaming]

Needs sox (installed by scripts/setup.sh)."""

import csv
import os
import subprocess
import sys


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    manifest, out_dir = sys.argv[1], sys.argv[2]
    base = os.path.dirname(os.path.abspath(manifest))
    os.makedirs(out_dir, exist_ok=True)
    with open(manifest, newline="", encoding="utf-8") as f:
        # Rows without a transcript (kept in manifests for VAD tests) cannot be scored.
        rows = [r for r in csv.DictReader(f) if r["transcript"].strip()]
    parts, texts = [], []
    for i, row in enumerate(rows):
        part = os.path.join(out_dir, f"part_{i:03}.wav")
        src = os.path.join(base, row["file"])
        subprocess.run(["sox", src, "-r", "16000", "-c", "1", "-b", "16", part, "pad", "0", "0.6"], check=True)
        parts.append(part)
        texts.append(row["transcript"].strip())
    joined = os.path.join(out_dir, "long.wav")
    subprocess.run(["sox", *parts, joined], check=True)
    for part in parts:
        os.remove(part)
    with open(os.path.join(out_dir, "manifest.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "language", "transcript"])
        w.writerow(["long.wav", rows[0]["language"], " ".join(texts)])
    seconds = subprocess.run(["soxi", "-D", joined], capture_output=True, text=True, check=True).stdout.strip()
    print(f"{joined}: {len(rows)} recordings, {float(seconds):.1f} s")


if __name__ == "__main__":
    main()
