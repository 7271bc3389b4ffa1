#!/usr/bin/env bash
# Tokenizer benchmark (issue 3): our training (the whole `nanochat run tokenizer` process)
# against rustbpe and sentencepiece BPE at vocab 8192 and 32768, and our encode MB/s on one
# thread and on all cores against tiktoken with our own ranks. Peers live in a bench venv
# (setup_venv.sh), never in the product.
#   bench/tokenizer/run.sh [CORPUS]   (default ../shared/data/pretrain_gutenberg)
# Environment: NANOCHAT_BUILD_DIR (default build), THREADS (default: every core).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${NANOCHAT_BUILD_DIR:-$root/build}"
corpus="${1:-$root/../shared/data/pretrain_gutenberg}"
python="$("$here/setup_venv.sh" | tail -n 1)"
cmake --build "$build" --target nanochat nanochat_stage_tokenizer nanochat_plugin_bpe nanochat_bench_tokenizer_encode >/dev/null
exec "$python" "$here/bench.py" --build "$build" --corpus "$corpus" --threads "${THREADS:-$(nproc)}"
