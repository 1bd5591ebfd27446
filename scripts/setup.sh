#!/usr/bin/env bash
# Prepares a Debian 12 machine for callbot: apt packages, a Rust toolchain if none is present,
# a build of callbot, and the Whisper models. Safe to run again: each step skips what is done.
#
#   PROFILE=release|debug   which build to make (default release)
#   CALLBOT_MODELS          models to fetch (default "tiny.en base tiny.en-q8_0 base-q8_0")
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-release}
MODELS=${CALLBOT_MODELS:-tiny.en base tiny.en-q8_0 base-q8_0}
APT_PACKAGES=(build-essential cmake clang libclang-dev pkg-config libssl-dev ca-certificates curl
              python3 python3-pip espeak-ng sox iproute2 sip-tester baresip-core libopus-dev python3-aiortc chromium nodejs)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing apt packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's npm is its own package; NodeSource's nodejs bundles npm and conflicts with it.
if ! command -v npm >/dev/null 2>&1; then
  echo "==> installing npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "==> installing Rust (rustup)"
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  . "$HOME/.cargo/env"
fi

echo "==> building callbot ($PROFILE)"
if [ "$PROFILE" = release ]; then cargo build --release --locked; else cargo build --locked; fi

echo "==> fetching models: $MODELS"
# shellcheck disable=SC2086
"target/$PROFILE/callbot" models fetch $MODELS

if [ ! -d tests/peers/node_modules/playwright-core ]; then
  echo "==> installing the test peers' npm packages (playwright-core, drives the system Chromium)"
  (cd tests/peers && npm ci --no-audit --no-fund --silent)
fi
