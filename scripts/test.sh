#!/usr/bin/env bash
# Runs the whole test suite from a clean checkout: installs what is missing (apt packages,
# toolchain, models), then unit and integration tests. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean clone gains nothing from incremental state; it only costs disk (about 1 GB).
export CARGO_INCREMENTAL=0
PROFILE=debug bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo test --locked --no-fail-fast 2>&1
