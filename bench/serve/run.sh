#!/usr/bin/env bash
# Serving benchmark (issue 5): time to first token, prefill tok/s, decode tok/s at batch 1
# and with 8 concurrent streams, through real HTTP against `nanochat run serve`, beside the
# memory-bandwidth bound for the model size (weights per token ÷ measured copy bandwidth),
# then the step broken down without HTTP (nanochat_bench_decode_step).
#   bench/serve/run.sh [DEPTH]   (default 8)
# Environment: NANOCHAT_BUILD_DIR (default build), CORPUS (default ../shared/data/pretrain_gutenberg),
# DEVICE (default cpu), THREADS (default: every core), VOCAB (default 65536).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${NANOCHAT_BUILD_DIR:-$root/build}"
python="${XDG_CACHE_HOME:-$HOME/.cache}/nanochat-cpp/torch-2.11.0/bin/python"  # made by packaging/setup.sh
cmake --build "$build" --target nanochat nanochat_stage_tokenizer nanochat_plugin_bpe nanochat_stage_data \
  nanochat_stage_pretrain nanochat_optimizer_muon nanochat_optimizer_adamw nanochat_stage_serve \
  nanochat_bench_decode_step >/dev/null
exec "$python" "$here/bench.py" --host "$build/bin/nanochat" --depth "${1:-8}" \
  --corpus "${CORPUS:-$root/../shared/data/pretrain_gutenberg}" --device "${DEVICE:-cpu}" \
  --threads "${THREADS:-$(nproc)}" --vocab-size "${VOCAB:-65536}" --step-breakdown "$build/bin/nanochat_bench_decode_step"
