#!/usr/bin/env bash
# GPU readiness (issue 13), in one call of a lent H100/H200 machine, under 10 minutes: with
# the binaries bench/gpu/pack.sh made here and carried in .gpu/ (that machine has its own
# PyTorch 2.11.0 and CUDA but no apt and no network), from the repository root:
#   1. what the machine is (nvidia-smi, `nanochat version`)
#   2. the CUDA tests: every test named *cuda*/*gpu* in the carried test binaries, the
#      optimizer tests whole, and the model parity test with our GPT on the GPU against
#      nanochat's model (bench/pretrain/reference_nanochat.py) on its CPU
#   3. bench/pretrain at d12 and d20 in bf16: our `nanochat run pretrain` beside nanochat's
#      step in PyTorch, eager and under torch.compile, tokens/s and MFU (against nanochat's
#      989e12 FLOP/s; the H200 has the H100's bf16 rate)
# Everything it prints goes to $OUT/run.log too, with the benchmark's results.json and logs.
#   run.sh            on the GPU machine: carry [".gpu"], e.g.
#                     run(command="bench/gpu/run.sh", carry=[".gpu"], timeout_s=600)
#   run.sh --dry-run  here, on the CPU: the same steps at toy sizes (depth 2, fp32, 3 steps,
#                     no torch.compile), to check the script and the packed binaries
# Environment (defaults): PYTHON (python3 there; the torch venv's here in --dry-run),
# DEPTHS ("12 20"), SEQ_LEN (2048), BATCH (32), STEPS (12), WARMUP (4), COMPILE (on),
# BENCH_TIMEOUT (seconds for the benchmark, 400: its logs still come back when it runs out).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
dry_run=0
[ "${1:-}" = "--dry-run" ] && dry_run=1
gpu="$root/.gpu"
[ -f "$gpu/build_dir" ] ||
  { echo "run.sh: $gpu is missing or incomplete: run bench/gpu/pack.sh first and carry .gpu" >&2; exit 1; }
if ((dry_run)); then
  python="${PYTHON:-$HOME/.cache/nanochat-cpp/torch-2.11.0/bin/python}"
  device=cpu dtype=fp32 depths="${DEPTHS:-2}" seq_len="${SEQ_LEN:-128}" batch="${BATCH:-2}" steps="${STEPS:-3}"
  warmup="${WARMUP:-1}" compile="${COMPILE:-off}" peak_n=512 peak_flops=0
  OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/nanochat-gpu-dry-run.XXXXXX")}"
else
  python="${PYTHON:-python3}"
  device=cuda dtype=bf16 depths="${DEPTHS:-12 20}" seq_len="${SEQ_LEN:-2048}" batch="${BATCH:-32}" steps="${STEPS:-12}"
  warmup="${WARMUP:-4}" compile="${COMPILE:-on}" peak_n=8192 peak_flops=989e12
  OUT="${OUT:?run.sh: OUT (the folder that comes back) is not set; use --dry-run off the GPU machine}"
fi
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
failures=()
section() { printf '\n=== %s (%s s)\n' "$1" "$SECONDS"; }
check() {  # check NAME COMMAND...: runs it, records a failure by name
  local name="$1"; shift
  "$@" || { echo "run.sh: FAILED: $name (exit $?)"; failures+=("$name"); }
}

section "machine"
torch_lib="$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')" ||
  { echo "run.sh: $python has no torch"; exit 1; }
"$python" -c 'import torch as t; print("torch", t.__version__, "CUDA", t.version.cuda, "GPUs", t.cuda.device_count())'
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

# LibTorch, CUDA and NCCL from the machine's PyTorch (same version and ABI as ours); the
# carried Debian libraries; libstdc++ only if the machine's lacks the version we need.
ld_path="$gpu/build/lib:$gpu/debian:$torch_lib"
needs="$(cat "$gpu/debian-cxx/needs" 2>/dev/null || true)"
system_cxx="$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
if [ -n "$needs" ] && ! { [ -n "$system_cxx" ] && grep -aq "$needs" "$system_cxx"; }; then
  echo "run.sh: the machine's libstdc++ (${system_cxx:-none}) lacks $needs: using the carried one"
  ld_path="$ld_path:$gpu/debian-cxx"
fi
export LD_LIBRARY_PATH="$ld_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export NANOCHAT_PLUGIN_PATH="$gpu/build/lib/nanochat/plugins"
export NANOCHAT_TORCH_PYTHON="$python"

# The tests have this checkout's absolute paths compiled in (plugins, scripts, parity_dump):
# make them exist here as links to the carried copies.
build_dir="$(cat "$gpu/build_dir")" source_dir="$(cat "$gpu/source_dir")"
[ -e "$root/build" ] || ln -s "$gpu/build" "$root/build"
[ -e "$source_dir" ] || { mkdir -p "$(dirname "$source_dir")" && ln -s "$root" "$source_dir"; }
[ -e "$build_dir" ] || { mkdir -p "$(dirname "$build_dir")" && ln -s "$gpu/build" "$build_dir"; }
check "nanochat version" "$gpu/build/bin/nanochat" version

section "CUDA tests"
for bin in "$gpu"/build/tests/test_*; do
  name="$(basename "$bin")"
  case "$name" in
    test_optimizers) check "$name" timeout 240 "$bin" ;;
    test_model_parity) check "$name on $device" env NANOCHAT_PARITY_DEVICE="$device" timeout 240 "$bin" ;;
    *)
      filter="$("$bin" --gtest_list_tests | awk '/^[^ ]/ {suite=$1} /^  / {print suite $1}' |
        grep -i -E 'cuda|gpu' | paste -sd: -)"
      if [ -n "$filter" ]; then check "$name" timeout 240 "$bin" --gtest_filter="$filter"; fi ;;
  esac
done

section "benchmark: ours vs nanochat in PyTorch (eager and torch.compile), $dtype on $device"
rm -rf "$gpu/work/logs" "$gpu/work/results.json"
# shellcheck disable=SC2086
check "benchmark" timeout --signal=INT "${BENCH_TIMEOUT:-400}" "$python" "$root/bench/pretrain/bench.py" \
  --build "$gpu/build" --corpus "$gpu/work/corpus-not-carried" --python "$python" --work "$gpu/work" \
  --device "$device" --depths $depths --dtypes "$dtype" --bf16 on --seq-len "$seq_len" --batch "$batch" --accum 1 \
  --steps "$steps" --warmup "$warmup" --compile "$compile" --faithful-ns off --peak-n "$peak_n" \
  --peak-flops "$peak_flops" --peak-repeats 4
[ -f "$gpu/work/results.json" ] && cp "$gpu/work/results.json" "$OUT/"
[ -d "$gpu/work/logs" ] && tar -czf "$OUT/bench_logs.tar.gz" -C "$gpu/work" logs

section "done"
if ((${#failures[@]})); then
  echo "run.sh: ${#failures[@]} failed: ${failures[*]}"
  exit 1
fi
echo "run.sh: all passed; results in $OUT"
