#!/usr/bin/env bash
# Installs what Kovan needs on Debian/Ubuntu, as root (or with sudo). Safe to run again: it skips
# what is there. `setup.sh app` sets up building and running the app; `setup.sh test` adds what the
# tests use (WebKitWebDriver, tauri-driver, Xvfb, redis-server, nginx, PostgreSQL and psycopg).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-app}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=(build-essential pkg-config curl file libwebkit2gtk-4.1-dev libssl-dev libxdo-dev
  libayatana-appindicator3-dev librsvg2-dev python3 python3-venv)
if [ "$what" = test ]; then
  apt_packages+=(webkit2gtk-driver xvfb xauth redis-server nginx postgresql imagemagick openssl util-linux
    xdotool x11-utils x11-apps desktop-file-utils)  # the last four: scripts/package-test.sh, bench-window.sh
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt: installing ${missing[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -q
  # Tests start redis-server and nginx themselves on free ports: keep the packages' own services
  # from starting (policy-rc.d exit 101 = "not allowed"), and put back whatever policy was there.
  policy=/usr/sbin/policy-rc.d
  [ -e "$policy" ] && as_root cp -p "$policy" "$policy.kovan-saved"
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy"
  status=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" || status=$?
  if [ -e "$policy.kovan-saved" ]; then as_root mv "$policy.kovan-saved" "$policy"; else as_root rm -f "$policy"; fi
  [ "$status" = 0 ] || die "apt-get install failed (exit $status)"
fi

command -v cargo >/dev/null || die "cargo is missing: install Rust (1.88 or newer) with rustup, then run this again."

# Vite 8 needs Node.js 20.19 or newer; Debian 12's own nodejs is 18.
if ! command -v node >/dev/null; then
  say "apt: installing nodejs and npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q nodejs npm
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js $(node --version) is too old: the UI needs 20.19 or newer (install it from NodeSource or nvm)."

if [ ! -x ui/node_modules/.bin/vite ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  say "npm: installing the UI's packages"
  npm ci --prefix ui --no-audit --no-fund
fi

venv=examples/context7/.venv
if [ ! -x "$venv/bin/python" ] || [ examples/context7/requirements.txt -nt "$venv/.kovan-installed" ]; then
  say "python: creating $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r examples/context7/requirements.txt
  touch "$venv/.kovan-installed"
fi

# The example's generated files come from Kovan itself (env files with fresh secrets, kept after).
say "kovan gen --write: the example's development config"
cargo run -q --locked -p kovan-cli -- gen --write --workspace examples/context7 >/dev/null

if [ "$what" = test ]; then
  # The Rust tests drive Django and the env-file readers from this venv, kept outside the clone.
  test_venv=${KOVAN_TEST_VENV:-$HOME/.cache/kovan/test-venv}
  if [ ! -x "$test_venv/bin/python" ] || ! cmp -s tests/requirements.txt "$test_venv/.kovan-requirements"; then
    say "python: creating the test venv $test_venv"
    rm -rf "$test_venv"
    python3 -m venv "$test_venv"
    "$test_venv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt "$test_venv/.kovan-requirements"
  fi
fi

if [ "$what" = test ]; then
  # One venv per Django version the fixture projects are tested on (docs/DJANGO.md). Django 6.x
  # needs Python 3.12; with an older python3 its venv is not made, and docs/DJANGO.md says so.
  for django in 4.0 4.2 5.1 5.2; do
    venv=$HOME/.cache/kovan/django-$django
    stamp="Django~=$django.0 $(cat tests/requirements-django.txt)"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.kovan-requirements" 2>/dev/null)" != "$stamp" ]; then
      say "python: creating $venv (Django $django)"
      rm -rf "$venv"
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q --disable-pip-version-check "Django~=$django.0" -r tests/requirements-django.txt
      printf '%s' "$stamp" > "$venv/.kovan-requirements"
    fi
  done
  # Django without redis, for the tests of a missing dependency (their venvs point here).
  bare=$HOME/.cache/kovan/django-bare
  if [ ! -f "$bare/.kovan-installed" ]; then
    say "python: Django without redis in $bare"
    rm -rf "$bare"
    "$HOME/.cache/kovan/django-5.2/bin/pip" install -q --disable-pip-version-check --target "$bare" "Django~=5.2.0"
    touch "$bare/.kovan-installed"
  fi
fi

if [ "$what" = test ] && ! command -v tauri-driver >/dev/null; then
  say "cargo: installing tauri-driver"
  cargo install tauri-driver --locked
fi
