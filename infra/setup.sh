#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages, idempotently and fast when present:
# Debian packages (Fashion-MNIST IDX files, Chromium for the report tests), numpy for the .npy
# interop tests, and the MinIO and Temporal binaries (built once per machine with Go into the
# per-user cache of infra/versions.sh).
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

# The two Go builds (only on a machine that has not built them yet) run side by side: each leaves
# cores idle while it links, and together they are most of a fresh machine's set-up time.
bash infra/minio.sh install &
minio_pid=$!
temporal_ok=0
bash infra/temporal.sh install || temporal_ok=$?
minio_ok=0
wait "$minio_pid" || minio_ok=$?
if [ "$minio_ok" -ne 0 ] || [ "$temporal_ok" -ne 0 ]; then
  echo "setup: installing MinIO (status $minio_ok) or Temporal (status $temporal_ok) failed; see the lines above" >&2
  exit 1
fi
