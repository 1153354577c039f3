#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages, idempotently and fast when present:
# Debian packages (Fashion-MNIST IDX files, Chromium for the report tests), numpy for the .npy
# interop tests, and the MinIO and Temporal binaries (built once with Go, cached in .tools/).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import numpy' >/dev/null 2>&1; then
  echo "setup: pip install numpy"
  python3 -m pip install -q numpy
fi

bash infra/minio.sh install
bash infra/temporal.sh install
