#!/usr/bin/env bash
# The third-party plugin path, for real: install the SDK to a temp prefix, build
# plugins/template out of tree against it with only CMAKE_PREFIX_PATH, install the plugin
# (as a .so and as a .tar.gz package) with the installed `nanochat`, list it and run it.
# usage: template_plugin_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir="$1"
source_dir="$2"
source "$(dirname "$0")/out_of_tree_lib.sh" template

install_sdk "$build_dir"
build_out_of_tree "$source_dir/plugins/template" stage artifacts
use_private_home
mkdir -p "$NANOCHAT_BASE_DIR/tokenizer"
echo "ranks" > "$NANOCHAT_BASE_DIR/tokenizer/tokenizer.txt"
install_and_list stage artifacts 0.1.0

step "nanochat run artifacts"
"$nanochat" run artifacts | tee "$work/run.txt"
grep -E "tokenizer +1 files" "$work/run.txt" > /dev/null || fail "artifacts stage did not report tokenizer/"

step "nanochat plugins remove, then install as a .tar.gz package"
"$nanochat" plugins remove stage/artifacts
[ ! -f "$installed" ] || fail "remove left $installed"
mkdir "$work/pkg"
cp "$plugin" "$work/pkg/"
printf '{"name": "artifacts", "kind": "stage", "version": "0.1.0", "library": "libnanochat-stage-artifacts.so"}\n' \
  > "$work/pkg/manifest.json"
tar -czf "$work/artifacts.tar.gz" -C "$work/pkg" .
"$nanochat" plugins install "$work/artifacts.tar.gz"
[ -f "$installed" ] || fail "package not installed"
"$nanochat" run artifacts --all > /dev/null
echo "template plugin: OK"
