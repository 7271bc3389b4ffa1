#!/usr/bin/env bash
# Runs the optimizer parity check: optimizer_parity_tool writes our optimizers' steps, and
# optimizer_parity.py replays them with nanochat's (in the torch venv) and compares. Without
# that venv the check is skipped (exit 77) with the reason, except under CI=true, where a
# missing venv is a failure: CI must have what packaging/setup.sh installs.
# usage: optimizer_parity.sh TOOL PYTHON SCRIPT
set -euo pipefail
tool="$1"
python="$2"
script="$3"

if ! "$python" -c "import torch, safetensors" > /dev/null 2>&1; then
  reason="no Python with torch and safetensors at $python (packaging/setup.sh installs them)"
  if [ "${CI:-}" = "true" ]; then
    echo "FAILED: $reason" >&2
    exit 1
  fi
  echo "SKIPPED: $reason"
  exit 77
fi

work="$(mktemp -d /tmp/nanochat-optimizer-parity-XXXXXX)"
trap 'rm -rf "$work"' EXIT
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" "$tool" "$work"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" "$python" "$script" "$work"
