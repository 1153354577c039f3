#!/usr/bin/env bash
# Installs the system Chromium used by the report's PNG export and browser tests (playwright-core
# drives it; no browser is downloaded). Idempotent: does nothing when chromium is already on PATH
# or when $CHROMIUM_PATH points at an executable.
set -euo pipefail

if [[ -n "${CHROMIUM_PATH:-}" && -x "${CHROMIUM_PATH}" ]]; then
  echo "chromium: using CHROMIUM_PATH=${CHROMIUM_PATH}"
  exit 0
fi
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: already installed at $(command -v chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: not found and apt-get is unavailable; install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
echo "chromium: installed at $(command -v chromium)"
