#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running callbot: sets everything up, then runs
# `callbot ARGS...`. Without arguments it transcribes the bundled sample greetings, proving the
# whole speech-to-text path works. (The phone server arrives with `callbot serve`.)
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=release bash scripts/setup.sh
if [ $# -eq 0 ]; then
  set -- transcribe audio/samples/welcome_en.wav
fi
exec target/release/callbot "$@"
