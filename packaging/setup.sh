#!/usr/bin/env bash
# Sets up a Debian 12 machine for nanochat-cpp and builds it in build/:
#   1. Debian packages (apt-get, only when something is missing)
#   2. the pinned PyTorch wheel in a venv whose LibTorch we build against, kept in a
#      per-user cache keyed by the version, so every clone and CI run reuses it
#      (plus packaging/torch-venv-requirements.txt: test tools such as safetensors)
#   3. a venv with the test oracles (packaging/oracle-requirements.txt), never a product dependency
#   4. cmake configure (once) and build
# Idempotent and quiet when nothing changed; a failure names the step that broke.
set -euo pipefail

TORCH_VERSION="2.11.0"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${NANOCHAT_BUILD_DIR:-$repo/build}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nanochat-cpp"
torch_venv="$cache/torch-$TORCH_VERSION"
oracle_venv="$cache/oracle-venv"
jobs="$(nproc)"

current_step="start"
trap 'echo "setup.sh: FAILED at step: $current_step (see the output above)" >&2' ERR
step() { current_step="$1"; }
say() { echo "setup.sh: $*"; }

packages=(
  cmake g++ make git ccache tar gzip python3 python3-venv ca-certificates
  libboost-dev libboost-program-options-dev libboost-filesystem-dev
  libgtest-dev nlohmann-json3-dev libpcre2-dev libcpp-httplib-dev libfmt-dev
  libsnappy-dev libzstd-dev zlib1g-dev libgloo-dev libsimdjson-dev pkg-config libxxhash-dev xxhash
  chromium chromium-driver python3-selenium
)

step "Debian packages (apt-get install)"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" > /dev/null
fi

step "PyTorch $TORCH_VERSION venv at $torch_venv"
if ! "$torch_venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  say "installing torch==$TORCH_VERSION into $torch_venv (about 3 GB, once per machine)"
  mkdir -p "$cache"
  /usr/bin/python3 -m venv "$torch_venv"
  "$torch_venv/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION"
fi
torch_prefix="$("$torch_venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null)"

step "PyTorch venv extras (packaging/torch-venv-requirements.txt)"
torch_requirements="$repo/packaging/torch-venv-requirements.txt"
torch_stamp="$torch_venv/.extra-requirements"
if ! cmp -s "$torch_requirements" "$torch_stamp"; then
  say "installing packaging/torch-venv-requirements.txt into $torch_venv"
  "$torch_venv/bin/pip" install -q --disable-pip-version-check -r "$torch_requirements"
  cp "$torch_requirements" "$torch_stamp"
fi

step "test oracle venv at $oracle_venv"
requirements="$repo/packaging/oracle-requirements.txt"
stamp="$oracle_venv/.requirements"
if [ -f "$requirements" ] && ! cmp -s "$requirements" "$stamp"; then
  say "installing test oracles from packaging/oracle-requirements.txt"
  rm -rf "$oracle_venv"  # rebuilt from scratch: a venv made by another python cannot be reused
  /usr/bin/python3 -m venv "$oracle_venv"
  "$oracle_venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi

step "cmake configure ($build_dir)"
if [ ! -f "$build_dir/CMakeCache.txt" ] || ! grep -q "^CMAKE_PREFIX_PATH:.*=$torch_prefix\$" "$build_dir/CMakeCache.txt"; then
  say "configuring $build_dir"
  cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" \
    -DNANOCHAT_ORACLE_PYTHON="$oracle_venv/bin/python" -DNANOCHAT_TORCH_PYTHON="$torch_venv/bin/python" \
    > "$build_dir.configure.log" 2>&1 \
    || { cat "$build_dir.configure.log"; false; }
fi

step "build (cmake --build, $jobs jobs)"
build_log="$(mktemp)"
if ! cmake --build "$build_dir" -j "$jobs" > "$build_log" 2>&1; then
  grep -E "error|Error" "$build_log" | head -40 || true
  tail -20 "$build_log"
  rm -f "$build_log"
  false
fi
rm -f "$build_log"
say "ready: $build_dir/bin/nanochat (tests: ctest --test-dir $build_dir)"
