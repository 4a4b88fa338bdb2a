#!/usr/bin/env bash
# The package test: builds the .deb (scripts/package.sh), installs it with dpkg -i on this machine,
# checks what it installed (the CLI, the desktop entry, the icons, the example workspace), starts
# /usr/bin/kovan-desktop under its own Xvfb, takes a screenshot of the window
# (tests/screenshots/package-window.png), stops the app and removes the package again.
#
# Needs root (dpkg) and a Debian/Ubuntu machine; scripts/setup.sh test installs the tools it uses.
# KOVAN_PACKAGE_TEST_NO_BUILD=1 tests the packages already built instead of building them.
# Safe to run again: a Kovan package installed before is removed first, and this one is removed at
# the end, whatever happens in between. Everything the app writes goes to a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m--> %s\033[0m\n' "$*"; }
die() { printf 'package-test: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run it as root: it installs the package with dpkg -i and removes it after."
for tool in dpkg dpkg-deb Xvfb xdotool xprop xwd convert import identify desktop-file-validate pgrep; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh test"
done

# One package test at a time on a machine: two would install and remove the same package.
exec 9>/run/lock/kovan-package-test.lock
flock -w 1800 9 || die "another package test has held /run/lock/kovan-package-test.lock for 30 minutes"

started=$(date +%s)
if [ "${KOVAN_PACKAGE_TEST_NO_BUILD:-}" != 1 ]; then
  scripts/package.sh
fi
build_done=$(date +%s)

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
version=$(python3 -c 'import json; print(json.load(open("tauri.conf.json"))["version"])')
deb="$target_dir/release/bundle/deb/Kovan_${version}_amd64.deb"
rpm="$target_dir/release/bundle/rpm/Kovan-${version}-1.x86_64.rpm"
[ -f "$deb" ] || die "$deb is missing: run scripts/package.sh"
[ -f "$rpm" ] || die "$rpm is missing: run scripts/package.sh"
package=$(dpkg-deb -f "$deb" Package)

tmp=$(mktemp -d /tmp/kovan-package-test.XXXXXX)
xvfb_pid='' app_pid='' installed=''
cleanup() {
  local status=$?
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill -KILL -- "-$app_pid" 2>/dev/null || true
  fi
  if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; wait "$xvfb_pid" 2>/dev/null || true; fi
  if [ -n "$installed" ]; then
    dpkg -r "$package" >/dev/null || { echo "package-test: dpkg -r $package failed: remove it by hand" >&2; status=1; }
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "the package: $(basename "$deb") ($(stat -c %s "$deb") bytes), $(basename "$rpm") ($(stat -c %s "$rpm") bytes)"
dpkg-deb -f "$deb" Package Version Architecture Section Priority Installed-Size Depends Recommends
# Every dependency must be a package of this distribution (Debian 12 here), not only a file on disk.
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[ (].*//; s/^ *//' | grep .)
for dep in $depends; do
  apt-cache show --no-all-versions "$dep" >/dev/null 2>&1 ||
    die "Depends names $dep, which apt does not know on this machine: fix bundle.linux.deb.depends"
done

if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
  say "removing the $package package installed before"
  dpkg -r "$package" >/dev/null
fi
say "dpkg -i"
installed=yes
dpkg -i "$deb"

say "what it installed"
listing=$(dpkg -L "$package")
for path in /usr/bin/kovan-desktop /usr/bin/kovan /usr/share/applications/Kovan.desktop \
  /usr/lib/Kovan/examples/context7/kovan.toml /usr/lib/Kovan/examples/context7/kovan_django/views.py \
  /usr/share/bash-completion/completions/kovan /usr/share/zsh/vendor-completions/_kovan \
  /usr/share/fish/vendor_completions.d/kovan.fish; do
  grep -qx "$path" <<<"$listing" || die "the package does not install $path"
done
for size in 16 24 32 48 64 128 256 512; do
  icon="/usr/share/icons/hicolor/${size}x${size}/apps/kovan-desktop.png"
  grep -qx "$icon" <<<"$listing" || die "the package has no ${size}px icon ($icon)"
  [ "$(identify -format %wx%h "$icon")" = "${size}x${size}" ] || die "$icon is not ${size}x${size}"
done
for bin in /usr/bin/kovan-desktop /usr/bin/kovan; do
  if ldd "$bin" | grep -q 'not found'; then ldd "$bin" | grep 'not found' >&2; die "$bin needs libraries the package does not depend on"; fi
done
desktop=/usr/share/applications/Kovan.desktop
desktop-file-validate "$desktop" || die "$desktop is not a valid desktop entry"
for key in Name GenericName Comment 'Comment\[tr\]' Categories Keywords StartupWMClass; do
  grep -q "^$key=" "$desktop" || die "$desktop has no $key"
done
grep -qx 'Categories=Development;' "$desktop" || die "$desktop is not in the Development category"

say "kovan --version, kovan check on the installed example"
[ "$(/usr/bin/kovan --version)" = "kovan $version" ] || die "/usr/bin/kovan --version says '$(/usr/bin/kovan --version)', expected 'kovan $version'"
KOVAN_DATA_DIR="$tmp/data" /usr/bin/kovan check --workspace /usr/lib/Kovan/examples/context7 >/dev/null ||
  die "kovan check fails on the installed example /usr/lib/Kovan/examples/context7"

say "kovan-desktop under Xvfb"
display=99
while [ -e "/tmp/.X$display-lock" ] || [ -e "/tmp/.X11-unix/X$display" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x860x24 -br -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$display" ] || die "Xvfb did not start on :$display"
export DISPLAY=":$display"

# The app's own session (setsid): it and the WebKit processes it starts can be found and stopped
# together. Its data, caches and settings go to the temporary folder, not to this machine's $HOME.
mkdir -p "$tmp/data" "$tmp/xdg/data" "$tmp/xdg/cache" "$tmp/xdg/config"
(cd "$tmp" && exec env KOVAN_DATA_DIR="$tmp/data" XDG_DATA_HOME="$tmp/xdg/data" \
  XDG_CACHE_HOME="$tmp/xdg/cache" XDG_CONFIG_HOME="$tmp/xdg/config" \
  setsid /usr/bin/kovan-desktop >"$tmp/app.log" 2>&1) &
app_pid=$!
window=$(timeout 30 xdotool search --sync --onlyvisible --name '^Kovan$' | head -n1) ||
  { cat "$tmp/app.log" >&2; die "no window named Kovan appeared within 30 s"; }
python3 scripts/xframes.py rendered --display "$DISPLAY" --timeout 30 --settle 1 >/dev/null ||
  { cat "$tmp/app.log" >&2; die "the window did not draw its content within 30 s"; }
mkdir -p tests/screenshots
import -display "$DISPLAY" -window root tests/screenshots/package-window.png
echo "screenshot: $root/tests/screenshots/package-window.png"

wm_class=$(xprop -id "$window" WM_CLASS | sed -n 's/.*= "\([^"]*\)", "\([^"]*\)"/\1 \2/p')
startup_class=$(sed -n 's/^StartupWMClass=//p' "$desktop")
grep -qw -- "$startup_class" <<<"$wm_class" ||
  die "the window's WM_CLASS is '$wm_class' but $desktop says StartupWMClass=$startup_class"
[ -f "$tmp/data/kovan.sqlite3" ] || die "the app did not open its store in KOVAN_DATA_DIR ($tmp/data)"
kill -0 "$app_pid" 2>/dev/null || die "kovan-desktop exited on its own; its output: $(cat "$tmp/app.log")"

say "stopping the app"
kill -TERM "$app_pid"
for _ in $(seq 100); do pgrep -s "$app_pid" >/dev/null || break; sleep 0.1; done
if pgrep -s "$app_pid" >/dev/null; then
  left=$(pgrep -a -s "$app_pid")
  kill -KILL -- "-$app_pid" 2>/dev/null || true
  die "processes of the app were left 10 s after SIGTERM: $left"
fi
wait "$app_pid" 2>/dev/null || true
app_pid=''

say "dpkg -r"
dpkg -r "$package" >/dev/null
installed=''
[ ! -e /usr/bin/kovan ] && [ ! -e /usr/bin/kovan-desktop ] && [ ! -e /usr/lib/Kovan ] ||
  die "dpkg -r $package left files behind"

echo "package test passed: build $((build_done - started)) s, checks $(( $(date +%s) - build_done )) s"
