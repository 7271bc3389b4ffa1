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
work="$(mktemp -d /tmp/nanochat-lion-XXXXXX)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

step "install the SDK to $prefix"
cmake --install "$build_dir" --prefix "$prefix" > "$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }

step "build the lion optimizer out of tree"
cmake -S "$source_dir/tests/plugins/third_party_optimizer" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/build" > "$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build"; }
plugin="$work/build/libnanochat-optimizer-lion.so"
[ -f "$plugin" ] || fail "no $plugin"

export XDG_DATA_HOME="$work/xdg" NANOCHAT_BASE_DIR="$work/base" HOME="$work/home" OMP_NUM_THREADS=1
unset NANOCHAT_PLUGIN_PATH
mkdir -p "$HOME"
nanochat="$prefix/bin/nanochat"

step "nanochat plugins install, list, info"
"$nanochat" plugins install "$plugin"
"$nanochat" plugins list | tee "$work/list.txt"
grep -E "^optimizer +lion +0\.1\.0 +1\.[0-9]+ +$XDG_DATA_HOME/nanochat/plugins/libnanochat-optimizer-lion.so +ok$" \
  "$work/list.txt" > /dev/null || fail "lion is not listed as installed and ok"
"$nanochat" plugins info lion | tee "$work/info.txt"
grep -F "Options (--optimizer-option lion.NAME=VALUE):" "$work/info.txt" > /dev/null || fail "no options heading"
grep -E "^  beta1 +0\.9 +weight of the momentum in the update's sign \(in \[0, 1\)\)$" "$work/info.txt" > /dev/null \
  || fail "beta1 is not listed with its default and range"
grep -E "^  beta2 +0\.99 " "$work/info.txt" > /dev/null || fail "beta2 is not listed"

corpus="$shared_dir/data/pretrain_nltk_modern"
if [ ! -d "$corpus" ]; then
  echo "SKIPPED training with lion: no $corpus (the shared data folder is not beside the checkout)"
  exit 77
fi

step "a tiny tokenizer and token shards"
"$nanochat" run tokenizer --corpus "$corpus" --vocab-size 512 --max-chars 400000 > "$work/tokenizer.log" 2>&1 \
  || { cat "$work/tokenizer.log"; fail "run tokenizer"; }
"$nanochat" run data --corpus "$corpus" --max-chars 400000 > "$work/data.log" 2>&1 \
  || { cat "$work/data.log"; fail "run data"; }

step "nanochat run pretrain with lion for every group"
tiny=(--depth 1 --max-seq-len 64 --device-batch-size 4 --total-batch-size 256 --eval-every -1 --sample-every -1
      --device cpu --dtype fp32)
"$nanochat" run pretrain "${tiny[@]}" --num-iterations 40 --model-tag lion --log-file "$work/lion.jsonl" \
  --matrix-optimizer lion --embedding-optimizer lion --matrix-lr 0.002 --embedding-lr 0.01 --unembedding-lr 0.002 \
  --weight-decay 0.01 --optimizer-option lion.beta2=0.98 > "$work/pretrain.log" 2>&1 \
  || { cat "$work/pretrain.log"; fail "run pretrain with lion"; }
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
if "$nanochat" run pretrain "${tiny[@]}" --num-iterations 1 --model-tag lion-bad --matrix-optimizer lion \
    --optimizer-option lion.beta3=0.5 > "$work/bad.log" 2>&1; then
  fail "lion.beta3 was accepted"
fi
grep -F "lion has no option 'beta3' (it has: beta1, beta2)" "$work/bad.log" > /dev/null || { cat "$work/bad.log"; fail "wrong message"; }
echo "third-party optimizer: OK"
