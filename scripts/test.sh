#!/usr/bin/env bash
# Sets up and runs every test: format and lint, the Rust workspace, the UI (type check and vitest),
# then the end-to-end test of the built app under Xvfb, then the packages (built, installed with
# dpkg -i, started, removed: scripts/package-test.sh). Prints the test counts at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh test
export KOVAN_TEST_PYTHON="${KOVAN_TEST_VENV:-$HOME/.cache/kovan/test-venv}/bin/python"

log=$(mktemp -d)/test.log
started=$(date +%s)
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "UI: type check, unit tests, build (the app embeds ui/dist)"
npm --prefix ui run check
npm --prefix ui test 2>&1 | tee -a "$log"
npm --prefix ui run build

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (core, CLI, bindings)"
cargo test --workspace --exclude kovan-e2e --locked 2>&1 | tee -a "$log"

step "end to end: the built app through tauri-driver under Xvfb"
cargo build -p kovan-desktop --locked
export KOVAN_APP="${CARGO_TARGET_DIR:-$root/target}/debug/kovan-desktop"
display=99
while [ -e "/tmp/.X$display-lock" ] || [ -e "/tmp/.X11-unix/X$display" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x860x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill "$xvfb_pid" 2>/dev/null; wait "$xvfb_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$display" ] || { echo "Xvfb did not start on :$display" >&2; exit 1; }
DISPLAY=":$display" cargo test -p kovan-e2e --locked 2>&1 | tee -a "$log"
echo "screenshots: $root/tests/screenshots/"

step "package: build the .deb and .rpm, install the .deb, start it under Xvfb, remove it"
package_started=$(date +%s)
if [ "$(id -u)" = 0 ]; then
  scripts/package-test.sh
else
  # dpkg needs root: build as this user, install and check through sudo.
  scripts/package.sh
  sudo env PATH="$PATH" HOME="$HOME" ${CARGO_TARGET_DIR:+CARGO_TARGET_DIR="$CARGO_TARGET_DIR"} \
    KOVAN_PACKAGE_TEST_NO_BUILD=1 scripts/package-test.sh
fi
echo "package step: $(( $(date +%s) - package_started )) s"

# One closing line over every runner: cargo's "test result:" lines and vitest's "Tests" line.
passed=0 failed=0
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/^ *Tests  *\([0-9]*\) passed.*/\1 0/p'
)
echo
echo "took $(( $(date +%s) - started )) s"
echo "$passed passed, $failed failed"
