#!/usr/bin/env bash
# The test command (README, .ci/run): installs and starts the real servers the tests use
# (MinIO on loopback, the Temporal dev server), builds, and runs every test file.
set -euo pipefail
cd "$(dirname "$0")/.."

bash infra/setup.sh
bash infra/minio.sh start
minio_env=$(bash infra/minio.sh env) # an assignment, so that a failure stops the script
eval "$minio_env"
bash infra/temporal.sh start
temporal_env=$(bash infra/temporal.sh env)
eval "$temporal_env"

npm run build --silent
mapfile -t files < <(find dist -name '*.test.js' -not -path '*/node_modules/*' | sort)
echo "test: ${#files[@]} test files"
node --test --test-concurrency=2 "${files[@]}"
