#!/usr/bin/env bash
# Builds Kovan's Linux packages: a .deb and an .rpm with the desktop app (/usr/bin/kovan-desktop),
# the `kovan` CLI (/usr/bin/kovan), its shell completions, the desktop entry, icons and the example
# workspace. Prints each package's path and size.
#
#   scripts/package.sh               # deb and rpm
#   KOVAN_BUNDLES=deb scripts/package.sh
#
# The AppImage is not built here: its bundler downloads linuxdeploy while building
# (see docs/PACKAGING.md). Run scripts/setup.sh once first on a new machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bundles=${KOVAN_BUNDLES:-deb,rpm}

die() { printf 'package: %s\n' "$*" >&2; exit 1; }
command -v cargo >/dev/null || die "cargo is missing: install Rust 1.88+ with rustup, or run scripts/setup.sh."
command -v npm >/dev/null || die "npm is missing: run scripts/setup.sh (the UI needs Node.js 20.19+)."
pkg-config --exists webkit2gtk-4.1 2>/dev/null ||
  die "WebKitGTK 4.1's development files are missing: run scripts/setup.sh (it installs libwebkit2gtk-4.1-dev)."

if [ ! -x ui/node_modules/.bin/tauri ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "package: npm ci in ui/" >&2
  npm ci --prefix ui --no-audit --no-fund
fi

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bundle_dir="$target_dir/release/bundle"
# Only this build's packages are printed (and found by scripts/package-test.sh).
rm -f "$bundle_dir"/deb/*.deb "$bundle_dir"/rpm/*.rpm

started=$(date +%s)
# The Tauri CLI builds the UI (beforeBuildCommand), the app in release mode, then runs
# scripts/stage-cli.sh (beforeBundleCommand: the release `kovan` CLI) and writes the packages.
# When ui/dist is newer than every UI source (scripts/test.sh has just built it), the UI is not
# built again: rewritten files would make cargo compile the app again for the same content.
config=()
if [ -f ui/dist/index.html ] && [ -z "$(find ui/src ui/public ui/index.html ui/package-lock.json \
  ui/vite.config.* ui/svelte.config.* ui/tsconfig*.json -newer ui/dist/index.html 2>/dev/null | head -n1)" ]; then
  echo "package: ui/dist is up to date, not building the UI again" >&2
  config=(--config '{"build": {"beforeBuildCommand": null}}')
fi
ui/node_modules/.bin/tauri build --ci --bundles "$bundles" "${config[@]}"

shopt -s nullglob
packages=("$bundle_dir"/deb/*.deb "$bundle_dir"/rpm/*.rpm)
[ ${#packages[@]} -gt 0 ] || die "tauri build finished but wrote no package under $bundle_dir"
echo
echo "packages (built in $(( $(date +%s) - started )) s):"
for p in "${packages[@]}"; do
  bytes=$(stat -c %s "$p")
  printf '  %s  %s bytes (%s MiB)\n' "$p" "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')"
done
for p in "${packages[@]}"; do
  case $p in
    *.deb) printf '  deb: Installed-Size %s KiB; Depends: %s\n' "$(dpkg-deb -f "$p" Installed-Size)" "$(dpkg-deb -f "$p" Depends)" ;;
  esac
done
