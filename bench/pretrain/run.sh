#!/usr/bin/env bash
# Pretraining benchmark (issue 4, item 7): our `nanochat run pretrain` against nanochat's own
# training step (reference_nanochat.py: nanochat's classic GPT, Muon and AdamW restated in
# PyTorch, eager and torch.compile'd — the PyPI package nanochat 0.1.2 holds only rustbpe, so
# there is nothing of nanochat's model to import) in the same PyTorch 2.11.0 our LibTorch
# comes from. Depth 4/6/8 × fp32/bf16, one run at a time, ours and the reference
# alternating; prints tok/s, the ratio and MFU against the matmul peak measured in the same
# PyTorch. About 7 minutes on an idle 2-core machine once Inductor's cache is warm (the first
# torch.compile adds a few minutes per depth); several times longer on a loaded machine,
# whose runs the table flags (others' cores) — rerun those. bf16 rows are skipped on CPUs
# without a native bf16 matmul (BF16=on forces them: about a minute per step at depth 4).
#   bench/pretrain/run.sh [CORPUS]     (default ../shared/data/pretrain_gutenberg)
# Environment (defaults): NANOCHAT_BUILD_DIR (build), PYTHON (~/.cache/nanochat-cpp/
# torch-2.11.0/bin/python), WORK (a fresh temp dir; a given one keeps tokenizer + shards),
# DEPTHS ("4 6 8"), DTYPES ("fp32 bf16"), SEQ_LEN (512), BATCH (2), ACCUM (1), STEPS (8),
# WARMUP (2: steps 0-1 left out of the median), COMPILE (on|off), BF16 (auto: skipped on CPUs without native bf16 | on),
# FAITHFUL_NS (on|off).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${NANOCHAT_BUILD_DIR:-$root/build}"
corpus="${1:-$root/../shared/data/pretrain_gutenberg}"
python="${PYTHON:-$HOME/.cache/nanochat-cpp/torch-2.11.0/bin/python}"
work="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/nanochat-bench-pretrain.XXXXXX")}"
[ -x "$python" ] || { echo "no PyTorch interpreter at $python (set PYTHON)" >&2; exit 1; }
"$python" -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.11.0") else 1)' 2>/dev/null ||
  echo "warning: $python does not have PyTorch 2.11.0 (our LibTorch's version)" >&2
build_log="$(mktemp)"
cmake --build "$build" --target nanochat nanochat_stage_tokenizer nanochat_plugin_bpe nanochat_stage_data \
  nanochat_stage_pretrain nanochat_optimizer_muon nanochat_optimizer_adamw -j"$(nproc)" >"$build_log" 2>&1 ||
  { tail -n 30 "$build_log" >&2; echo "build failed (log: $build_log)" >&2; exit 1; }
rm -f "$build_log"
echo "uptime before: $(uptime)" >&2
start=$(date +%s)
# shellcheck disable=SC2086
"$python" "$here/bench.py" --build "$build" --corpus "$corpus" --python "$python" --work "$work" \
  --depths ${DEPTHS:-4 6 8} --dtypes ${DTYPES:-fp32 bf16} --seq-len "${SEQ_LEN:-512}" --batch "${BATCH:-2}" \
  --accum "${ACCUM:-1}" --steps "${STEPS:-8}" --warmup "${WARMUP:-2}" --compile "${COMPILE:-on}" \
  --bf16 "${BF16:-auto}" --faithful-ns "${FAITHFUL_NS:-on}"
echo "uptime after:  $(uptime); bench took $(( $(date +%s) - start )) s"
