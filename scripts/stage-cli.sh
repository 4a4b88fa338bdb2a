#!/usr/bin/env bash
# Builds the `kovan` CLI in release mode and stages it, with its shell completions, where
# tauri.conf.json's bundle.linux.{deb,rpm}.files expect it (target/kovan-bundle/, relative to the
# repository root). The Tauri CLI runs this as build.beforeBundleCommand, after it has compiled the
# app and before it writes the packages, so `tauri build` alone makes packages with the CLI in them.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p kovan-cli
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cli="$target_dir/release/kovan"
[ -x "$cli" ] || { echo "stage-cli: $cli was not built; run 'cargo build --release -p kovan-cli' to see why" >&2; exit 1; }

stage=target/kovan-bundle
rm -rf "$stage"
install -D -m 755 "$cli" "$stage/kovan"
"$stage/kovan" completions bash >"$stage/kovan.bash"
"$stage/kovan" completions zsh >"$stage/_kovan"
"$stage/kovan" completions fish >"$stage/kovan.fish"
echo "stage-cli: staged $("$stage/kovan" --version) in $stage/" >&2
