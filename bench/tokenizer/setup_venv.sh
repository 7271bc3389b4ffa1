#!/usr/bin/env bash
# Creates the tokenizer benchmark's venv (rustbpe, sentencepiece, tiktoken) at
# ~/.cache/nanochat-cpp/bench-venv, or at $NANOCHAT_BENCH_VENV. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${NANOCHAT_BENCH_VENV:-$HOME/.cache/nanochat-cpp/bench-venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "$venv/bin/python"
