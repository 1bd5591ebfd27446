#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running callbot: sets everything up, then runs
# the server (`callbot serve` on its built-in defaults), or `callbot ARGS...` when given.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=release bash scripts/setup.sh
if [ $# -eq 0 ]; then
  set -- serve
fi
exec target/release/callbot "$@"
