#!/usr/bin/env bash
# The RL-algorithm template, for real: install the SDK to a temp prefix, build
# plugins/rl-template (`rloo`) out of tree against it with only CMAKE_PREFIX_PATH, install it
# with the installed `nanochat`, check `plugins list` and that `plugins info` lists its
# options, then pretrain a tiny model on real text and RL-train it with rloo for two steps
# (the `rl` stage on the `letter-choice` task), checking the step log and the checkpoint.
# Without the shared data the training part is skipped (exit 77), saying so.
# usage: rl_template_test.sh BUILD_DIR SOURCE_DIR SHARED_DIR
set -euo pipefail
build_dir="$1"
source_dir="$2"
shared_dir="$3"
source "$(dirname "$0")/out_of_tree_lib.sh" rloo

install_sdk "$build_dir"
build_out_of_tree "$source_dir/plugins/rl-template" rl rloo
use_private_home
install_and_list rl rloo 0.1.0

step "nanochat plugins info rloo"
"$nanochat" plugins info rloo | tee "$work/info.txt"
grep -E "^interface: +nanochat\.rl/1$" "$work/info.txt" > /dev/null || fail "rloo does not make nanochat.rl/1"
grep -F "Options (--algo-option NAME=VALUE):" "$work/info.txt" > /dev/null || fail "no options heading"
grep -E "^  std-scale +0 +1: divide each advantage by the std of its group's rewards \(a whole number in \[0, 1\]\)$" \
  "$work/info.txt" > /dev/null || fail "std-scale is not listed with its default and range"

require_corpus "$shared_dir" "training with rloo"
export NANOCHAT_DATA_DIR="$shared_dir/data"  # the tasks' data
tiny_tokenizer_and_data
step "nanochat run pretrain: a depth-1 base model"
run_logged pretrain "$nanochat" run pretrain "${tiny_pretrain[@]}" --num-iterations 4 --model-tag rloo

# Two steps of two prompts, four samples each, on the CPU in seconds.
tiny_rl=(--algo rloo --source base --task letter-choice --num-iterations 2 --examples-per-step 2 --num-samples 4
         --max-new-tokens 8 --device-batch-size 4 --eval-every -1 --eval-examples 2 --eval-samples 2)

step "nanochat run rl --algo rloo"
run_logged rl "$nanochat" run rl "${tiny_rl[@]}" --model-tag rloo
cat "$work/rl.log"
steps="$(grep -c "rl step" "$work/rl.log" || true)"
[ "$steps" = 2 ] || fail "the rl log shows $steps step lines (\"rl step\"), not 2"
checkpoint="$NANOCHAT_BASE_DIR/chatrl_checkpoints/rloo/meta_000002.json"
[ -f "$checkpoint" ] || fail "no $checkpoint"

step "an unknown rloo option is refused, naming the known ones"
if "$nanochat" run rl "${tiny_rl[@]}" --algo-option std-scal=1 --model-tag rloo > "$work/bad.log" 2>&1; then
  fail "std-scal was accepted"
fi
grep -F "rloo has no option 'std-scal' (it has: std-scale)" "$work/bad.log" > /dev/null || { cat "$work/bad.log"; fail "wrong message"; }
echo "rl template: OK"
