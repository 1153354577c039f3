#!/usr/bin/env bash
# The test command (README, .ci/run): installs and starts the real servers the tests use
# (MinIO on loopback, the Temporal dev server), builds, and runs every test file on Node 24 LTS
# (installed offline from the npm registry by infra/node.sh), with the system node as
# DALESWEEP_OTHER_NODE for the cross-version test. Servers this script started are stopped at the
# end; servers that were already running are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# Native TensorFlow (backend tfjs-node): built once per machine into the cache, linked in seconds;
# beside the rest of the set-up (on a fresh machine, mostly downloads and one native compile
# while the Go builds of infra/setup.sh run).
bash infra/tensorflow.sh install cpu &
tensorflow_pid=$!
setup_ok=0
bash infra/setup.sh || setup_ok=$?
tensorflow_ok=0
wait "$tensorflow_pid" || tensorflow_ok=$?
if [ "$setup_ok" -ne 0 ] || [ "$tensorflow_ok" -ne 0 ]; then
  echo "test: set-up failed (infra/setup.sh status $setup_ok, infra/tensorflow.sh status $tensorflow_ok); see the lines above" >&2
  exit 1
fi
node24=$(bash infra/node.sh path)
started=()
cleanup() {
  for s in "${started[@]}"; do bash "infra/$s.sh" stop || true; done
}
trap cleanup EXIT
for s in minio temporal; do
  if ! bash "infra/$s.sh" status >/dev/null 2>&1; then
    bash "infra/$s.sh" start
    started+=("$s")
  fi
done
minio_env=$(bash infra/minio.sh env) # an assignment, so that a failure stops the script
eval "$minio_env"
temporal_env=$(bash infra/temporal.sh env)
eval "$temporal_env"

npm run build --silent
# V8's on-disk compile cache for every node process of the suite (test files, the CLI children
# they spawn, stage threads): Node 22+ reuses the compiled code of modules loaded before, about
# 0.1 s of CPU per process start; Node 20 (DALESWEEP_OTHER_NODE) ignores the variable.
export NODE_COMPILE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/dalesweep/node-compile-cache"
# Only compiled tests whose TypeScript source exists: tsc leaves the output of a deleted or
# renamed test file in dist/, where it would otherwise still run (and a stale slow test is slow).
mapfile -t files < <(find dist -name '*.test.js' -not -path '*/node_modules/*' | sort | while read -r f; do
  src=${f#dist/}
  if [ -f "${src%.js}.ts" ]; then echo "$f"; fi
done)
echo "test: ${#files[@]} test files on Node $("$node24" --version) (results also checked against $(node --version))"
DALESWEEP_OTHER_NODE=$(command -v node) "$node24" --test --test-reporter=tap --test-concurrency=2 "${files[@]}"
