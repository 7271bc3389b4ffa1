#!/usr/bin/env bash
# CORE benchmark: items/s of our `nanochat run eval --kind core` against nanochat's
# core_eval.py restated in PyTorch (reference_core.py), on the same checkpoint and the same
# items (--max-problems per task of the 20 tasks in ../shared/data); prints the ratio
# (target >= 2x) and checks that every task's correct count agrees. One run at a time, all
# cores on both sides, fp32 on the CPU (bf16 on CUDA: DEVICE=cuda).
#   bench/core/run.sh [CORPUS]     (default ../shared/data/pretrain_gutenberg: tokenizer + checkpoint)
# Environment (defaults): NANOCHAT_BUILD_DIR (build), PYTHON (~/.cache/nanochat-cpp/
# torch-2.11.0/bin/python, with tiktoken: packaging/setup.sh), WORK (a fresh temp dir; a
# given one keeps tokenizer, shards and checkpoint), DATA (../shared/data), DEPTH (4), VOCAB
# (4096), SEQ_LEN (512), MAX_PROBLEMS (20), BATCH (32), ROUNDS (1), BASE_STEPS (20), DEVICE (cpu).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${NANOCHAT_BUILD_DIR:-$root/build}"
corpus="${1:-$root/../shared/data/pretrain_gutenberg}"
python="${PYTHON:-$HOME/.cache/nanochat-cpp/torch-2.11.0/bin/python}"
work="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/nanochat-bench-core.XXXXXX")}"
[ -x "$python" ] || { echo "no PyTorch interpreter at $python (set PYTHON)" >&2; exit 1; }
"$python" -c 'import tiktoken, jinja2' 2>/dev/null ||
  { echo "$python cannot import tiktoken and jinja2: run packaging/setup.sh" >&2; exit 1; }
build_log="$(mktemp)"
cmake --build "$build" --target nanochat nanochat_stage_tokenizer nanochat_plugin_bpe nanochat_stage_data \
  nanochat_stage_pretrain nanochat_stage_eval nanochat_optimizer_muon nanochat_optimizer_adamw -j"$(nproc)" \
  >"$build_log" 2>&1 || { tail -n 30 "$build_log" >&2; echo "build failed (log: $build_log)" >&2; exit 1; }
rm -f "$build_log"
echo "uptime before: $(uptime)" >&2
start=$(date +%s)
"$python" "$here/bench.py" --build "$build" --corpus "$corpus" --data "${DATA:-$root/../shared/data}" \
  --python "$python" --work "$work" --depth "${DEPTH:-4}" --vocab-size "${VOCAB:-4096}" --seq-len "${SEQ_LEN:-512}" \
  --max-problems "${MAX_PROBLEMS:-20}" --batch "${BATCH:-32}" --rounds "${ROUNDS:-1}" \
  --base-steps "${BASE_STEPS:-20}" --device "${DEVICE:-cpu}"
echo "uptime after:  $(uptime); bench took $(( $(date +%s) - start )) s"
