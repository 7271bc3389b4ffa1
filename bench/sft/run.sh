#!/usr/bin/env bash
# SFT benchmark (issue 9): optimizer steps/s of our `nanochat run sft` against nanochat's
# chat_sft step restated in PyTorch (reference_sft.py on bench/pretrain/reference_nanochat.py's
# GPT, Muon and AdamW), eager as chat_sft runs it and torch.compile'd (dynamic shapes), on the
# same base weights and the same padded micro-batches; prints the ratio (target >= 1.3x).
# fp32 on the CPU, one run at a time, ours and the eager reference alternating. About 28
# minutes on a busy 2-core machine (load ~4) with the defaults, depth 8 most of it (the first
# torch.compile of each depth takes minutes); runs that others' processes disturbed are flagged.
#   bench/sft/run.sh [CORPUS]     (default ../shared/data/pretrain_gutenberg: tokenizer + base checkpoint)
# Environment (defaults): NANOCHAT_BUILD_DIR (build), PYTHON (~/.cache/nanochat-cpp/
# torch-2.11.0/bin/python), WORK (a fresh temp dir; a given one keeps tokenizer, checkpoints
# and rows), TASK_DATA_DIR (../shared/data), DEPTHS ("4 8"), VOCAB (4096), MIXTURE
# (gsm8k,arc-easy,identity), SEQ_LEN (512), BATCH (4 rows per micro-batch), EXAMPLES (8 per
# step), STEPS (8), WARMUP (2: steps 0-1 left out of the median), ROUNDS (1), COMPILE (on|off).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${NANOCHAT_BUILD_DIR:-$root/build}"
corpus="${1:-$root/../shared/data/pretrain_gutenberg}"
python="${PYTHON:-$HOME/.cache/nanochat-cpp/torch-2.11.0/bin/python}"
work="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/nanochat-bench-sft.XXXXXX")}"
[ -x "$python" ] || { echo "no PyTorch interpreter at $python (set PYTHON)" >&2; exit 1; }
"$python" -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.11.0") else 1)' 2>/dev/null ||
  echo "warning: $python does not have PyTorch 2.11.0 (our LibTorch's version)" >&2
build_log="$(mktemp)"
cmake --build "$build" --target nanochat nanochat_stage_tokenizer nanochat_plugin_bpe nanochat_stage_data \
  nanochat_stage_pretrain nanochat_stage_sft nanochat_optimizer_muon nanochat_optimizer_adamw \
  nanochat_task_gsm8k nanochat_task_arc_easy nanochat_task_identity -j"$(nproc)" >"$build_log" 2>&1 ||
  { tail -n 30 "$build_log" >&2; echo "build failed (log: $build_log)" >&2; exit 1; }
rm -f "$build_log"
echo "uptime before: $(uptime)" >&2
start=$(date +%s)
# shellcheck disable=SC2086
"$python" "$here/bench.py" --build "$build" --corpus "$corpus" --task-data-dir "${TASK_DATA_DIR:-$root/../shared/data}" \
  --python "$python" --work "$work" --depths ${DEPTHS:-4 8} --vocab-size "${VOCAB:-4096}" \
  --mixture "${MIXTURE:-gsm8k,arc-easy,identity}" --seq-len "${SEQ_LEN:-512}" --batch "${BATCH:-4}" \
  --examples-per-step "${EXAMPLES:-8}" --steps "${STEPS:-8}" --warmup "${WARMUP:-2}" --rounds "${ROUNDS:-1}" \
  --compile "${COMPILE:-on}"
echo "uptime after:  $(uptime); bench took $(( $(date +%s) - start )) s"
