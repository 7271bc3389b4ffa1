#!/usr/bin/env bash
# A third-party optimizer, for real: install the SDK to a temp prefix, build
# tests/plugins/third_party_optimizer (`lion`) out of tree against it, install it with the
# installed `nanochat`, check that `plugins info` lists its declared options, then pretrain
# a tiny model on real text with lion for every parameter group and check that the loss
# falls. Without the shared data the training part is skipped (exit 77), saying so.
# usage: third_party_optimizer_test.sh BUILD_DIR SOURCE_DIR SHARED_DIR
set -euo pipefail
build_dir="$1"
source_dir="$2"
shared_dir="$3"
source "$(dirname "$0")/out_of_tree_lib.sh" lion

install_sdk "$build_dir"
build_out_of_tree "$source_dir/tests/plugins/third_party_optimizer" optimizer lion
use_private_home
install_and_list optimizer lion 0.1.0

step "nanochat plugins info lion"
"$nanochat" plugins info lion | tee "$work/info.txt"
grep -F "Options (--optimizer-option lion.NAME=VALUE):" "$work/info.txt" > /dev/null || fail "no options heading"
grep -E "^  beta1 +0\.9 +weight of the momentum in the update's sign \(in \[0, 1\)\)$" "$work/info.txt" > /dev/null \
  || fail "beta1 is not listed with its default and range"
grep -E "^  beta2 +0\.99 " "$work/info.txt" > /dev/null || fail "beta2 is not listed"

require_corpus "$shared_dir" "training with lion"
tiny_tokenizer_and_data

step "nanochat run pretrain with lion for every group"
run_logged pretrain "$nanochat" run pretrain "${tiny_pretrain[@]}" --num-iterations 40 --model-tag lion \
  --log-file "$work/lion.jsonl" --matrix-optimizer lion --embedding-optimizer lion --matrix-lr 0.002 \
  --embedding-lr 0.01 --unembedding-lr 0.002 --weight-decay 0.01 --optimizer-option lion.beta2=0.98
python3 - "$work/lion.jsonl" <<'PY' || fail "the loss did not fall with lion"
import json, sys
losses = [json.loads(line)["loss"] for line in open(sys.argv[1])]
print(f"lion: {len(losses)} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}")
sys.exit(0 if len(losses) == 40 and losses[-1] < losses[0] - 1.0 else 1)
PY
python3 - "$NANOCHAT_BASE_DIR/base_checkpoints/lion/optim_000040_rank0.safetensors" <<'PY' || fail "no lion state in the checkpoint"
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    names = set(json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))) - {"__metadata__"}
expected = {"lion/unembedding.0.exp_avg", "lion/embedding.0.exp_avg", "lion/matrix.0.exp_avg"}
print(f"checkpoint: {len(names)} optimizer tensors, e.g. {sorted(names)[:3]}")
sys.exit(0 if expected <= names and all(n.startswith("lion/") for n in names) else 1)
PY

step "an unknown lion option is refused, naming the flag and the known keys"
if "$nanochat" run pretrain "${tiny_pretrain[@]}" --num-iterations 1 --model-tag lion-bad --matrix-optimizer lion \
    --optimizer-option lion.beta3=0.5 > "$work/bad.log" 2>&1; then
  fail "lion.beta3 was accepted"
fi
grep -F "lion has no option 'beta3' (it has: beta1, beta2)" "$work/bad.log" > /dev/null || { cat "$work/bad.log"; fail "wrong message"; }
echo "third-party optimizer: OK"
