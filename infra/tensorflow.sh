#!/usr/bin/env bash
# Native TensorFlow for the tfjs backend (backend tfjs-node / tfjs-node-gpu), installed from the
# package registries only. The npm packages @tensorflow/tfjs-node(-gpu) download libtensorflow
# and a prebuilt binding from elsewhere at install time; instead this script
#   1. takes TensorFlow's shared libraries from Maven Central (TensorFlow Java's natives,
#      org.tensorflow:tensorflow-core-api, classifier linux-x86_64 or linux-x86_64-gpu),
#   2. the TensorFlow C API headers from the PyPI wheel of the same TensorFlow,
#   3. builds the package's N-API binding against them with node-gyp (g++, make, Node headers),
#   4. gpu: unpacks the CUDA 11 / cuDNN 8 runtime wheels from PyPI and writes an env file with
#      the LD_LIBRARY_PATH a process needs to load them,
# all once per machine into the per-user cache (versions: infra/versions.sh), and then links the
# result into this clone: `npm install --no-save --ignore-scripts` of the package (package.json
# and package-lock.json stay untouched) plus two symlinks (deps/, lib/) into the cache. The binding
# is N-API (napi-v8): one build loads under Node 20 and Node 24 alike.
#
#   bash infra/tensorflow.sh install cpu|gpu   # build once (cached), link into node_modules
#   bash infra/tensorflow.sh status            # what is cached and linked; exit 1 if nothing
#   bash infra/tensorflow.sh env gpu           # print the gpu env file (export LD_LIBRARY_PATH=...)
#   bash infra/tensorflow.sh exec gpu -- CMD   # run CMD with the gpu env file applied
#   bash infra/tensorflow.sh urls gpu          # check the gpu downloads exist (no download)
#
# Cache: $DALESWEEP_CACHE/tensorflow/<tfjs-node version>-tf<TensorFlow version>-<cpu|gpu>/
#   deps/include, deps/lib (libtensorflow_cc.so.2, libtensorflow_framework.so.2 and the names the
#   binding links against), lib/napi-v8/tfjs_binding.node, and for gpu cuda/ and env.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=infra/versions.sh
source "$ROOT/infra/versions.sh"
TF_CACHE="$DALESWEEP_CACHE/tensorflow"
NAPI_DIR=napi-v8 # the binding's module_path for Node >= 14.17 (package.json binary.napi_versions)

die() { echo "tensorflow: $*" >&2; exit 1; }

variant_dir() { echo "$TF_CACHE/$TFJS_NODE_VERSION-tf$TENSORFLOW_VERSION-$1"; }
package_of() { if [ "$1" = gpu ]; then echo "@tensorflow/tfjs-node-gpu"; else echo "@tensorflow/tfjs-node"; fi; }
classifier_of() { if [ "$1" = gpu ]; then echo "linux-x86_64-gpu"; else echo "linux-x86_64"; fi; }
built() { [ -f "$(variant_dir "$1")/lib/$NAPI_DIR/tfjs_binding.node" ]; }

check_platform() {
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "TensorFlow Java publishes these libraries for Linux x86_64 only (this is $(uname -s)-$(uname -m))"
}

# Unpacks the npm tarball of PACKAGE into DIR/package (the binding's sources and binding.gyp).
fetch_package_sources() {
  local pkg=$1 dir=$2
  (cd "$dir" && npm pack --silent "$pkg@$TFJS_NODE_VERSION" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
}

# Copies the TensorFlow shared libraries of CLASSIFIER from Maven Central into DIR/deps/lib.
fetch_libraries() {
  local classifier=$1 dir=$2 jar
  mkdir -p "$dir/jar" "$dir/deps/lib"
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dalesweep</groupId><artifactId>tensorflow-fetch</artifactId><version>0</version>
</project>
EOF
  mvn -q -f "$dir/pom.xml" dependency:copy \
    -Dartifact="org.tensorflow:tensorflow-core-api:$TENSORFLOW_JAVA_VERSION:jar:$classifier" \
    -DoutputDirectory="$dir/jar" >&2 || die "mvn could not fetch org.tensorflow:tensorflow-core-api:$TENSORFLOW_JAVA_VERSION:$classifier"
  jar=$(echo "$dir"/jar/*.jar)
  unzip -q -j -o "$jar" "org/tensorflow/internal/c_api/$classifier/libtensorflow_cc.so.2" \
    "org/tensorflow/internal/c_api/$classifier/libtensorflow_framework.so.2" -d "$dir/deps/lib"
  rm -rf "$dir/jar" "$dir/pom.xml"
  # The binding links -ltensorflow -ltensorflow_framework and asks for the SONAMEs at run time.
  ln -sf libtensorflow_cc.so.2 "$dir/deps/lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$dir/deps/lib/libtensorflow_framework.so"
  # The name the package's own install script looks for (so `npm rebuild` would not download).
  ln -sf libtensorflow_cc.so.2 "$dir/deps/lib/libtensorflow.so.2.9.1"
}

# Copies the C API headers from the PyPI wheel of the same TensorFlow into DIR/deps/include.
fetch_headers() {
  local dir=$1 whl
  mkdir -p "$dir/wheel"
  python3 -m pip download -q --no-deps -d "$dir/wheel" "tensorflow-cpu==$TENSORFLOW_VERSION" \
    --python-version 3.10 --only-binary=:all: --platform manylinux2014_x86_64 >&2 ||
    die "pip could not fetch tensorflow-cpu==$TENSORFLOW_VERSION (for the C API headers)"
  whl=$(echo "$dir"/wheel/*.whl)
  unzip -q -o "$whl" 'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/ctstring*' -d "$dir/wheel/x"
  mkdir -p "$dir/deps"
  mv "$dir/wheel/x/tensorflow/include" "$dir/deps/include"
  rm -rf "$dir/wheel"
}

# Builds the binding in DIR/package against DIR/deps into DIR/lib/napi-v8/tfjs_binding.node.
build_binding() {
  local dir=$1 gyp nodedir
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$gyp" ] || die "node-gyp (bundled with npm) not found at $gyp"
  command -v g++ >/dev/null && command -v make >/dev/null || die "g++ and make are needed to build the binding (apt-get install g++ make)"
  # The Node headers: the system's (Debian's nodejs ships them in /usr/include/node), else node-gyp
  # would download them, which this machine cannot.
  nodedir=${npm_config_nodedir:-}
  if [ -z "$nodedir" ]; then
    for d in "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" /usr /usr/local; do
      if [ -f "$d/include/node/node_api.h" ]; then nodedir=$d; break; fi
    done
  fi
  [ -n "$nodedir" ] || die "no Node headers (include/node/node_api.h) found; install them (apt-get install libnode-dev) or set npm_config_nodedir"
  rm -rf "$dir/package/deps"
  ln -s ../deps "$dir/package/deps"
  (cd "$dir/package" && node "$gyp" rebuild --silent --nodedir="$nodedir" -j 2 \
    --napi_build_version="${NAPI_DIR#napi-v}" --module_name=tfjs_binding --module_path="lib/$NAPI_DIR" >&2) ||
    die "building the tfjs-node binding failed (see the compiler output above)"
  mkdir -p "$dir/lib/$NAPI_DIR"
  cp "$dir/package/build/Release/tfjs_binding.node" "$dir/lib/$NAPI_DIR/"
  rm -rf "$dir/package"
}

# Unpacks the CUDA / cuDNN runtime wheels into DIR/cuda and writes DIR/env.
fetch_cuda() {
  local dir=$1 w libdirs=()
  mkdir -p "$dir/wheel" "$dir/cuda"
  # shellcheck disable=SC2086
  python3 -m pip download -q --no-deps -d "$dir/wheel" $TENSORFLOW_CUDA_WHEELS \
    --python-version 3.10 --only-binary=:all: --platform manylinux2014_x86_64 >&2 ||
    die "pip could not fetch the CUDA wheels ($TENSORFLOW_CUDA_WHEELS)"
  for w in "$dir"/wheel/*.whl; do unzip -q -o "$w" 'nvidia/*' -d "$dir/cuda"; done
  rm -rf "$dir/wheel"
  while IFS= read -r d; do libdirs+=("$d"); done < <(find "$dir/cuda/nvidia" -mindepth 2 -maxdepth 2 -type d -name lib | sort)
  local IFS=:
  {
    echo "# Written by infra/tensorflow.sh install gpu: the CUDA 11 / cuDNN 8 libraries libtensorflow loads."
    echo "export LD_LIBRARY_PATH=\"${libdirs[*]}:$dir/deps/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
  } >"$dir/env"
}

# Installs the build tools that are missing (Debian packages, as root or with sudo), saying so.
need_tools() {
  local missing=() t
  for t in mvn:maven g++:g++ make:make unzip:unzip; do
    command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t##*:}")
  done
  python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "tensorflow: apt-get install ${missing[*]} (needed to fetch and build native TensorFlow)" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null ||
    die "could not install ${missing[*]}; install them and run this again"
}

# Builds VARIANT into the cache unless it is there (one build at a time across clones).
build_variant() {
  local v=$1 dir tmp
  dir=$(variant_dir "$v")
  if built "$v"; then return 0; fi
  mkdir -p "$TF_CACHE"
  exec 9>"$dir.lock"
  flock 9
  if built "$v"; then flock -u 9; return 0; fi
  check_platform
  need_tools
  tmp=$(mktemp -d "$TF_CACHE/.build-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "tensorflow: building TensorFlow $TENSORFLOW_VERSION for $(package_of "$v")@$TFJS_NODE_VERSION ($v) into $dir" \
    "(once per machine: Maven Central libraries, PyPI headers, a node-gyp build; the tfjs-node backend needs them)" >&2
  fetch_package_sources "$(package_of "$v")" "$tmp"
  echo "tensorflow: fetching org.tensorflow:tensorflow-core-api:$TENSORFLOW_JAVA_VERSION:$(classifier_of "$v") from Maven Central ($( [ "$v" = gpu ] && echo '~490 MB' || echo '~120 MB'))" >&2
  fetch_libraries "$(classifier_of "$v")" "$tmp"
  echo "tensorflow: fetching the C API headers from PyPI tensorflow-cpu==$TENSORFLOW_VERSION (~215 MB wheel)" >&2
  fetch_headers "$tmp"
  if [ "$v" = gpu ]; then
    echo "tensorflow: fetching the CUDA 11 / cuDNN 8 runtime wheels from PyPI (~2.5 GB)" >&2
    fetch_cuda "$tmp"
    # The env file names the final directory.
    sed -i "s#$tmp#$dir#g" "$tmp/env"
  fi
  echo "tensorflow: building the N-API binding with node-gyp (about a minute)" >&2
  build_binding "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  flock -u 9
}

# The tfjs-node package directories currently in node_modules, as variants (cpu, gpu).
linked_variants() {
  [ -f "$ROOT/node_modules/@tensorflow/tfjs-node/package.json" ] && echo cpu
  [ -f "$ROOT/node_modules/@tensorflow/tfjs-node-gpu/package.json" ] && echo gpu
  return 0
}

# Whether VARIANT's package in node_modules points at the cache and has the pinned version.
is_linked() {
  local v=$1 pdir
  pdir="$ROOT/node_modules/$(package_of "$v")"
  [ -f "$pdir/package.json" ] && [ "$(readlink "$pdir/deps" 2>/dev/null)" = "$(variant_dir "$v")/deps" ] &&
    [ "$(readlink "$pdir/lib" 2>/dev/null)" = "$(variant_dir "$v")/lib" ] &&
    grep -q "\"version\": \"$TFJS_NODE_VERSION\"" "$pdir/package.json"
}

# Links the cached builds of VARIANTS into node_modules (npm install --no-save of the packages).
link_variants() {
  local v specs=() pdir
  for v in "$@"; do specs+=("$(package_of "$v")@$TFJS_NODE_VERSION"); done
  # --no-save: package.json and package-lock.json stay as they are (--save-prod: without it npm
  # leaves out a package that package.json names as an optional peer dependency); --ignore-scripts:
  # the package's install script would download libtensorflow and a binding from elsewhere.
  (cd "$ROOT" && npm install --no-save --save-prod --ignore-scripts --no-audit --no-fund --loglevel=error "${specs[@]}" >/dev/null) ||
    die "npm install --no-save ${specs[*]} failed"
  for v in "$@"; do
    pdir="$ROOT/node_modules/$(package_of "$v")"
    rm -rf "$pdir/deps" "$pdir/lib"
    ln -s "$(variant_dir "$v")/deps" "$pdir/deps"
    ln -s "$(variant_dir "$v")/lib" "$pdir/lib"
  done
}

# Loads VARIANT's package in NODE and prints its backend and TensorFlow version.
probe() {
  local v=$1 node=${2:-node}
  (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL=2 "$node" -e "
    const tf = require('$(package_of "$v")');
    if (tf.getBackend() !== 'tensorflow') { console.error('backend is ' + tf.getBackend()); process.exit(1); }
    console.log('tensorflow ' + tf.version['tfjs-node'] + ' libtensorflow ' + tf.backend().binding.TF_Version);
  ")
}

install() {
  local v=$1 all=()
  case "$v" in cpu | gpu) ;; *) echo "usage: $0 install cpu|gpu" >&2; exit 2 ;; esac
  build_variant "$v"
  if is_linked "$v"; then return 0; fi
  # npm install --no-save removes other packages that are not in package.json: keep the variants
  # this clone already has by installing them in the same command.
  mapfile -t all < <( (echo "$v"; linked_variants) | sort -u)
  for w in "${all[@]}"; do built "$w" || die "$(package_of "$w") is in node_modules but not in the cache; run: bash infra/tensorflow.sh install $w"; done
  link_variants "${all[@]}"
  if [ "$v" = cpu ]; then probe cpu >/dev/null || die "the installed $(package_of cpu) does not load (see above)"; fi
}

status() {
  local v found=1 dir
  for v in cpu gpu; do
    dir=$(variant_dir "$v")
    if built "$v"; then
      found=0
      echo "$v: built in $dir"
      if is_linked "$v"; then
        echo "$v: linked into node_modules/$(package_of "$v")"
        if [ "$v" = cpu ]; then echo "$v: loads: $(probe cpu 2>&1 | tail -1)"; fi
      else
        echo "$v: not linked into this clone (bash infra/tensorflow.sh install $v)"
      fi
      if [ "$v" = gpu ]; then echo "gpu: env file $dir/env"; fi
    else
      echo "$v: not built (bash infra/tensorflow.sh install $v)"
    fi
  done
  return $found
}

# Checks that every download of VARIANT exists in its registry, downloading nothing big.
urls() {
  local v=$1 url w
  [ "$v" = cpu ] || [ "$v" = gpu ] || { echo "usage: $0 urls cpu|gpu" >&2; exit 2; }
  npm view "$(package_of "$v")@$TFJS_NODE_VERSION" version >/dev/null || die "npm: $(package_of "$v")@$TFJS_NODE_VERSION not found"
  echo "npm $(package_of "$v")@$TFJS_NODE_VERSION: ok"
  url="https://repo1.maven.org/maven2/org/tensorflow/tensorflow-core-api/$TENSORFLOW_JAVA_VERSION/tensorflow-core-api-$TENSORFLOW_JAVA_VERSION-$(classifier_of "$v").jar"
  # Maven Central's checksum file (40 bytes) stands for the jar.
  curl -fsS --max-time 60 -o /dev/null "$url.sha1" || die "Maven Central: $url not found"
  echo "maven $(basename "$url"): ok"
  local wheels="tensorflow-cpu==$TENSORFLOW_VERSION"
  [ "$v" = gpu ] && wheels="$wheels $TENSORFLOW_CUDA_WHEELS"
  for w in $wheels; do
    # The versions that have a wheel for the target platform, from the index (nothing downloaded).
    python3 -m pip index versions "${w%%==*}" --python-version 3.10 --only-binary=:all: \
      --platform manylinux2014_x86_64 2>/dev/null | grep -q "Available versions:.* ${w##*==}\(,\|$\)" ||
      die "PyPI: no manylinux x86_64 wheel of $w"
    echo "pypi $w: ok"
  done
}

case "${1:-}" in
  install) install "${2:-}" ;;
  status) status ;;
  env)
    [ "${2:-}" = gpu ] || { echo "usage: $0 env gpu" >&2; exit 2; }
    [ -f "$(variant_dir gpu)/env" ] || die "gpu is not installed: bash infra/tensorflow.sh install gpu"
    cat "$(variant_dir gpu)/env" ;;
  exec)
    [ "${2:-}" = gpu ] && [ "${3:-}" = -- ] || { echo "usage: $0 exec gpu -- COMMAND..." >&2; exit 2; }
    [ -f "$(variant_dir gpu)/env" ] || die "gpu is not installed: bash infra/tensorflow.sh install gpu"
    # shellcheck disable=SC1090
    source "$(variant_dir gpu)/env"
    shift 3
    exec "$@" ;;
  urls) urls "${2:-}" ;;
  path) variant_dir "${2:-cpu}" ;;
  *) echo "usage: $0 install cpu|gpu | status | env gpu | exec gpu -- CMD | urls cpu|gpu | path cpu|gpu" >&2; exit 2 ;;
esac
