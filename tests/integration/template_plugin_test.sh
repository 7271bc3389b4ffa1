#!/usr/bin/env bash
# The third-party plugin path, for real: install the SDK to a temp prefix, build
# plugins/template out of tree against it with only CMAKE_PREFIX_PATH, install the plugin
# (as a .so and as a .tar.gz package) with the installed `nanochat`, list it and run it.
set -euo pipefail
build_dir="$1"
source_dir="$2"
work="$(mktemp -d /tmp/nanochat-template-XXXXXX)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

step "install the SDK to $prefix"
cmake --install "$build_dir" --prefix "$prefix" > "$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }

step "build plugins/template out of tree"
cmake -S "$source_dir/plugins/template" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/build" > "$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build"; }
plugin="$work/build/libnanochat-stage-artifacts.so"
[ -f "$plugin" ] || fail "no $plugin"

export XDG_DATA_HOME="$work/xdg" NANOCHAT_BASE_DIR="$work/base" HOME="$work/home"
unset NANOCHAT_PLUGIN_PATH
mkdir -p "$NANOCHAT_BASE_DIR/tokenizer" "$HOME"
echo "ranks" > "$NANOCHAT_BASE_DIR/tokenizer/tokenizer.txt"
nanochat="$prefix/bin/nanochat"

step "nanochat plugins install (.so)"
"$nanochat" plugins install "$plugin"
installed="$XDG_DATA_HOME/nanochat/plugins/libnanochat-stage-artifacts.so"
[ -f "$installed" ] || fail "not installed at $installed"

step "nanochat plugins list"
"$nanochat" plugins list | tee "$work/list.txt"
grep -E "^stage +artifacts +0\.1\.0 +1\.[0-9]+ +$installed +ok$" "$work/list.txt" > /dev/null \
  || fail "the user-installed plugin is not listed first and ok"

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
