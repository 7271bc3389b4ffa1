#!/usr/bin/env bash
# Packs, here, what bench/gpu/run.sh needs on a lent GPU machine (one H100/H200, its own
# PyTorch 2.11.0, no apt, no network; see ../shared/GPU.md beside the checkout) into .gpu/, which
# .git/info/exclude keeps out of git and the device tool carries (carry: [".gpu"]):
#   .gpu/build/{bin,lib,tests}  our host, SDK, plugins, the GPU-relevant test binaries, parity_dump
#   .gpu/debian/                the Debian libraries they load that the machine lacks (Boost,
#                               simdjson, snappy, zstd, PCRE2, Gloo, GoogleTest, ...), from ldd
#   .gpu/debian-cxx/            libstdc++/libgcc_s, used there only if its own are older
#   .gpu/work/base/             a tokenizer and token shards for the benchmark (bench.py's layout)
#   .gpu/build_dir, source_dir  the absolute paths compiled into the tests, which run.sh
#                               recreates there as links
#   bench/gpu/pack.sh [CORPUS]  (default ../shared/data/pretrain_gutenberg)
# Environment (defaults): NANOCHAT_BUILD_DIR (build), VOCAB_SIZE (65536, nanochat's),
# PYTHON (~/.cache/nanochat-cpp/torch-2.11.0/bin/python: its torch folder is what ldd may skip).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${NANOCHAT_BUILD_DIR:-$root/build}" && pwd)"
corpus="${1:-$root/../shared/data/pretrain_gutenberg}"
python="${PYTHON:-$HOME/.cache/nanochat-cpp/torch-2.11.0/bin/python}"
vocab="${VOCAB_SIZE:-65536}"
out="$root/.gpu"
# The test binaries with CUDA paths (grep tests/ for "cuda"), and the parity test whose
# dump run.sh points at the GPU.
gpu_tests=(test_data_loader test_optimizers test_model_parity)
targets=(nanochat nanochat_stage_tokenizer nanochat_plugin_bpe nanochat_stage_data nanochat_stage_pretrain
         nanochat_optimizer_muon nanochat_optimizer_adamw parity_dump "${gpu_tests[@]}")

[ -x "$python" ] || { echo "pack.sh: no PyTorch python at $python (run packaging/setup.sh or set PYTHON)" >&2; exit 1; }
echo "pack.sh: building ${targets[*]}" >&2
build_log="$(mktemp)"
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build_log" 2>&1 ||
  { tail -n 30 "$build_log" >&2; echo "pack.sh: build failed (log: $build_log)" >&2; exit 1; }
rm -f "$build_log"

rm -rf "$out/build" "$out/debian" "$out/debian-cxx"
mkdir -p "$out/build/tests" "$out/debian" "$out/debian-cxx"
cp -a "$build/bin" "$build/lib" "$out/build/"
for t in "${gpu_tests[@]}" parity_dump; do cp -a "$build/tests/$t" "$out/build/tests/"; done
echo "$build" >"$out/build_dir"
echo "$root" >"$out/source_dir"

# Shared libraries from outside the build and the PyTorch venv, except glibc's own (the
# machine's must be used) and libstdc++/libgcc_s (kept apart: run.sh takes them only where
# the machine's are older than what our binaries need).
venv="$("$python" -c 'import sys; print(sys.prefix)')"
mapfile -t elves < <(find "$out/build" -type f \( -name '*.so*' -o -perm -u+x \) -exec sh -c \
  'head -c 4 "$1" | grep -q ELF' _ {} \; -print)
ldd "${elves[@]}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
  while read -r lib; do
    case "$lib" in
      "$build"/* | "$venv"/* | "$(readlink -f "$venv")"/*) ;;
      */libc.so.* | */libm.so.* | */libdl.so.* | */libpthread.so.* | */librt.so.* | */ld-linux* | \
        */libresolv.so.* | */libutil.so.*) ;;
      */libstdc++.so.* | */libgcc_s.so.*) cp -L "$lib" "$out/debian-cxx/" ;;
      *) cp -L "$lib" "$out/debian/" ;;
    esac
  done
# The newest libstdc++ symbol version our binaries ask for, for run.sh's check.
objdump -T "${elves[@]}" 2>/dev/null | grep -o 'GLIBCXX_[0-9.]*' | sort -t. -k3n -u | tail -n1 >"$out/debian-cxx/needs"

# Tokenizer and shards in bench.py's layout (it reuses them when the vocabulary matches).
python3 "$root/bench/pretrain/bench.py" --build "$build" --corpus "$corpus" --python "$python" \
  --work "$out/work" --vocab-size "$vocab" --prepare-only
rm -rf "$out/work/logs"

exclude="$(git -C "$root" rev-parse --git-path info/exclude)"
case "$exclude" in /*) ;; *) exclude="$root/$exclude" ;; esac
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >>"$exclude"
echo "pack.sh: $(du -sh "$out" | cut -f1) in $out (the device tool carries at most 64 MiB with the tree):" >&2
du -sh "$out"/* >&2
