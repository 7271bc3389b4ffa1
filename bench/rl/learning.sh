#!/usr/bin/env bash
# Does RL learn on the CPU? (issue 11) `nanochat run rl` with grpo and ppo on the synthetic
# letter-choice task, 2 seeds each, and a control with the learning rate at 0, all from the
# same chat model; prints each run's mean reward over its first and last 10 steps and
# writes the curves to learning.svg (learning.py).
#   bench/rl/learning.sh BASE_DIR   a base dir with tokenizer/ and chatsft_checkpoints/
#                                   (e.g. after `nanochat speedrun --preset tiny`)
# Environment (defaults): NANOCHAT_BUILD_DIR (build), OUT (a fresh temp dir), STEPS (40),
# PROMPTS (8 per step), SAMPLES (8 per prompt), NEW_TOKENS (4), LR_FRAC (0.5), TASK
# (letter-choice), SEEDS ("1 2"), PPO_OPTIONS ("epochs=2 minibatches=2").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${NANOCHAT_BUILD_DIR:-$root/build}"
source_base="$(cd "${1:?usage: bench/rl/learning.sh BASE_DIR}" && pwd)"
out="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/nanochat-rl-learning.XXXXXX")}"
[ -d "$source_base/chatsft_checkpoints" ] || { echo "$source_base has no chatsft_checkpoints/: run the tiny chain first" >&2; exit 1; }
mkdir -p "$out"
nanochat="$build/bin/nanochat"

# One run in a base dir of its own that shares the tokenizer and the SFT model.
run() {
  local name="$1" algo="$2" seed="$3" lr_frac="$4"; shift 4
  local base="$out/$name"
  rm -rf "$base" "$out/$name.jsonl" && mkdir -p "$base"
  ln -s "$source_base/tokenizer" "$base/tokenizer"
  ln -s "$source_base/chatsft_checkpoints" "$base/chatsft_checkpoints"
  echo "== $name: --algo $algo --seed $seed --init-lr-frac $lr_frac $*" >&2
  NANOCHAT_BASE_DIR="$base" "$nanochat" run rl --algo "$algo" --seed "$seed" --init-lr-frac "$lr_frac" \
    --task "${TASK:-letter-choice}" --eval-task "${TASK:-letter-choice}" --num-iterations "${STEPS:-40}" \
    --examples-per-step "${PROMPTS:-8}" --num-samples "${SAMPLES:-8}" --max-new-tokens "${NEW_TOKENS:-4}" \
    --device-batch-size "${SAMPLES:-8}" --eval-every -1 --eval-examples 100 --eval-samples 1 \
    --log-file "$out/$name.jsonl" "$@" > "$out/$name.log" 2>&1 || { tail -20 "$out/$name.log" >&2; exit 1; }
}

echo "uptime before: $(uptime)" >&2
start=$(date +%s)
for seed in ${SEEDS:-1 2}; do
  run "grpo-seed$seed" grpo "$seed" "${LR_FRAC:-0.5}"
  ppo_args=()
  for option in ${PPO_OPTIONS:-epochs=2 minibatches=2}; do ppo_args+=(--algo-option "$option"); done
  run "ppo-seed$seed" ppo "$seed" "${LR_FRAC:-0.5}" "${ppo_args[@]}"
done
run "control-lr0" grpo 1 0
python3 "$here/learning.py" --out "$out/learning.svg" "$out"/*.jsonl
echo "uptime after:  $(uptime); took $(( $(date +%s) - start )) s; runs in $out" >&2
