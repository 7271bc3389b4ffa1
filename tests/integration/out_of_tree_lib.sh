# What the out-of-tree plugin tests share (template_plugin_test.sh, third_party_optimizer_test.sh,
# rl_template_test.sh): a temp folder, the SDK installed to a prefix in it, a plugin built
# against that prefix with only CMAKE_PREFIX_PATH, a private HOME/XDG/base dir, `nanochat
# plugins install` + `list`, and a tiny tokenizer, data and pretrained model on real text.
# Sourced by a test after `set -euo pipefail`:
#   source out_of_tree_lib.sh NAME    → $work (removed on exit), step, fail, run_logged, ...

work="$(mktemp -d "/tmp/nanochat-$1-XXXXXX")"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
nanochat="$prefix/bin/nanochat"

step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# run_logged LOG COMMAND...: runs COMMAND with its output in $work/LOG.log; on failure shows it and fails.
run_logged() {
  local log="$work/$1.log"
  shift
  "$@" > "$log" 2>&1 || { cat "$log"; fail "$*"; }
}

# install_sdk BUILD_DIR: `cmake --install` of the nanochat build tree to $prefix.
install_sdk() {
  step "install the SDK to $prefix"
  run_logged install cmake --install "$1" --prefix "$prefix"
}

# build_out_of_tree SOURCE KIND NAME: builds the plugin folder SOURCE against $prefix alone
# and sets $plugin to its libnanochat-KIND-NAME.so.
build_out_of_tree() {
  step "build $2/$3 out of tree"
  run_logged configure cmake -S "$1" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
  run_logged build cmake --build "$work/build"
  plugin="$work/build/libnanochat-$2-$3.so"
  [ -f "$plugin" ] || fail "no $plugin"
}

# use_private_home: HOME, XDG_DATA_HOME and NANOCHAT_BASE_DIR inside $work, no plugin path
# but the installed prefix and the user folder, one OpenMP thread.
use_private_home() {
  export XDG_DATA_HOME="$work/xdg" NANOCHAT_BASE_DIR="$work/base" HOME="$work/home" OMP_NUM_THREADS=1
  unset NANOCHAT_PLUGIN_PATH
  mkdir -p "$HOME" "$NANOCHAT_BASE_DIR"
}

# install_and_list KIND NAME VERSION: `nanochat plugins install $plugin`, then checks that
# `plugins list` shows it ok, from the user folder ($installed).
install_and_list() {
  step "nanochat plugins install, list"
  "$nanochat" plugins install "$plugin"
  installed="$XDG_DATA_HOME/nanochat/plugins/libnanochat-$1-$2.so"
  [ -f "$installed" ] || fail "not installed at $installed"
  "$nanochat" plugins list | tee "$work/list.txt"
  grep -E "^$1 +$2 +${3//./\\.} +1\.[0-9]+ +$installed +ok$" "$work/list.txt" > /dev/null \
    || fail "$1/$2 is not listed as installed from $installed and ok"
}

# require_corpus SHARED_DIR WHAT: sets $corpus to the shared pretraining text, or skips WHAT
# (exit 77) when the shared data folder is not beside the checkout.
require_corpus() {
  corpus="$1/data/pretrain_nltk_modern"
  if [ ! -d "$corpus" ]; then
    echo "SKIPPED $2: no $corpus (the shared data folder is not beside the checkout)"
    exit 77
  fi
}

# Flags of a depth-1 model on the CPU that pretrains in seconds.
tiny_pretrain=(--depth 1 --max-seq-len 64 --device-batch-size 4 --total-batch-size 256 --eval-every -1
               --sample-every -1 --device cpu --dtype fp32)

# tiny_tokenizer_and_data: a 512-token tokenizer and token shards from 400k chars of $corpus.
tiny_tokenizer_and_data() {
  step "a tiny tokenizer and token shards"
  run_logged tokenizer "$nanochat" run tokenizer --corpus "$corpus" --vocab-size 512 --max-chars 400000
  run_logged data "$nanochat" run data --corpus "$corpus" --max-chars 400000
}
