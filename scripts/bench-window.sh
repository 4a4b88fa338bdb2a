#!/usr/bin/env bash
# Window speed (docs/PERFORMANCE.md): the release app under its own Xvfb, with the example's three
# instances running (started by `kovan up chat` on free loopback ports; the app adopts them).
#   1. launch -> cards drawn: median of 5 launches (KOVAN_BENCH_RUNS), read from the screen's pixels
#      by scripts/xframes.py;
#   2. idle CPU of the app's processes (kovan-desktop and the WebKit processes it starts) over 30 s
#      (KOVAN_BENCH_IDLE_SECONDS), from /proc/PID/stat, after the window has been up for 10 s;
#   3. their memory (RSS and PSS) at the end of that.
#
# Needs the release app: scripts/package.sh (or `ui/node_modules/.bin/tauri build --no-bundle`),
# the test venv (scripts/setup.sh test) and xwd/Xvfb/ImageMagick (scripts/setup.sh test).
# KOVAN_BENCH_APP and KOVAN_BENCH_CLI point at other builds; KOVAN_BENCH_INSTANCES=0 measures with
# no instance running (for comparison), KOVAN_BENCH_RUNS=0 skips the launches.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
die() { printf 'bench-window: %s\n' "$*" >&2; exit 1; }

runs=${KOVAN_BENCH_RUNS:-5}
idle_seconds=${KOVAN_BENCH_IDLE_SECONDS:-30}
with_instances=${KOVAN_BENCH_INSTANCES:-1}
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
app=${KOVAN_BENCH_APP:-$target_dir/release/kovan-desktop}
cli=${KOVAN_BENCH_CLI:-$target_dir/release/kovan}
python=${KOVAN_TEST_PYTHON:-${KOVAN_TEST_VENV:-$HOME/.cache/kovan/test-venv}/bin/python}
[ -x "$app" ] || die "$app is missing: build the release app with scripts/package.sh first"
[ -x "$cli" ] || die "$cli is missing: cargo build --release -p kovan-cli (scripts/package.sh builds it)"
[ -x "$python" ] || die "$python is missing: run scripts/setup.sh test (it creates the test venv)"
for tool in Xvfb xwd convert redis-server pgrep; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh test"
done

tmp=$(mktemp -d /tmp/kovan-bench-window.XXXXXX)
xvfb_pid='' up_pid='' app_pid=''
cleanup() {
  local status=$?
  if [ -n "$app_pid" ]; then kill -KILL -- "-$app_pid" 2>/dev/null || true; fi
  # `kovan up` stops the groups it started (and the Redis it started) on SIGTERM.
  if [ -n "$up_pid" ]; then kill -TERM "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; fi
  if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; wait "$xvfb_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A copy of the example: the test venv's Python, free loopback ports for the instances and Redis.
ws="$tmp/context7"
mkdir -p "$ws"
tar -C examples/context7 --exclude=./.venv --exclude='./db_*' --exclude=./logs --exclude='./.env.*' \
  --exclude='*/__pycache__' -cf - . | tar -C "$ws" -xf -
python3 - "$ws/kovan.toml" "$python" <<'EOF'
import re, socket, sys
path, python = sys.argv[1], sys.argv[2]
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()
text = open(path).read()
text = re.sub(r'(?m)^python = .*$', f'python = "{python}"', text)
text = re.sub(r'redis://127\.0\.0\.1:\d+/', f'redis://127.0.0.1:{ports[0]}/', text)
for old, new in zip(("8000", "8001", "8002"), ports[1:]):
    text = re.sub(rf'(?m)^port = {old}$', f'port = {new}', text)
open(path, "w").write(text)
print("bench-window: instances on ports", *ports[1:], "redis on", ports[0], file=sys.stderr)
EOF
export KOVAN_DATA_DIR="$tmp/data" XDG_DATA_HOME="$tmp/xdg/data" XDG_CACHE_HOME="$tmp/xdg/cache" \
  XDG_CONFIG_HOME="$tmp/xdg/config"
mkdir -p "$KOVAN_DATA_DIR" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"
"$cli" gen --write --workspace "$ws" >/dev/null

if [ "$with_instances" != 0 ]; then
echo "bench-window: kovan up chat" >&2
"$cli" up chat --workspace "$ws" >"$tmp/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 240); do
  running=$("$cli" status --json --workspace "$ws" |
    python3 -c 'import json, sys; print(sum(1 for i in json.load(sys.stdin) if i["status"] == "running"))')
  [ "$running" = 3 ] && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$tmp/up.log" >&2; die "kovan up chat exited"; }
  sleep 0.5
done
[ "$running" = 3 ] || {
  tail -n 40 "$tmp/up.log" >&2; "$cli" status --workspace "$ws" >&2 || true
  die "the three instances were not all running after 120 s (kovan up's last lines and kovan status above)"
}
fi

display=99
while [ -e "/tmp/.X$display-lock" ] || [ -e "/tmp/.X11-unix/X$display" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x860x24 -br -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$display" ] || die "Xvfb did not start on :$display"
export DISPLAY=":$display"

mkdir -p "$tmp/frames"
if [ "$runs" -gt 0 ]; then
  echo "bench-window: $runs launches of $app" >&2
  python3 scripts/xframes.py launch --display "$DISPLAY" --runs "$runs" --out "$tmp/frames" -- \
    "$app" --workspace "$ws" >"$tmp/launch.json"
  mkdir -p tests/screenshots
  cp "$tmp/frames/launch-1.png" tests/screenshots/bench-window.png
else
  echo '{"runs": []}' >"$tmp/launch.json"
fi

echo "bench-window: idle for ${idle_seconds} s" >&2
(cd "$tmp" && exec setsid "$app" --workspace "$ws" >"$tmp/app.log" 2>&1) &
app_pid=$!
python3 scripts/xframes.py rendered --display "$DISPLAY" --timeout 30 --settle 0.5 >/dev/null ||
  die "the window did not draw within 30 s"
sleep 10
python3 - "$app_pid" "$idle_seconds" >"$tmp/idle.json" <<'EOF'
import json, os, subprocess, sys, time
sid, seconds = int(sys.argv[1]), float(sys.argv[2])
tick = os.sysconf("SC_CLK_TCK")

def procs():
    out = subprocess.run(["pgrep", "-s", str(sid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

def name(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()

def memory(pid):
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss * 1024, pss * 1024

before = {p: cpu(p) for p in procs()}
t0 = time.monotonic()
time.sleep(seconds)
elapsed = time.monotonic() - t0
result = []
for p in procs():
    used = cpu(p) - before.get(p, 0.0)
    rss, pss = memory(p)
    result.append({"pid": p, "name": name(p), "cpu_percent": round(100 * used / elapsed, 2),
                   "rss": rss, "pss": pss, "new": p not in before})
print(json.dumps({"seconds": round(elapsed, 1), "processes": result}))
EOF
kill -TERM "$app_pid"
for _ in $(seq 100); do pgrep -s "$app_pid" >/dev/null || break; sleep 0.1; done
app_pid=''

[ "$with_instances" != 0 ] && running_text="three instances running" || running_text="no instance running"
python3 - "$tmp/launch.json" "$tmp/idle.json" "$running_text" <<'EOF'
import json, sys
launch = json.load(open(sys.argv[1]))
idle = json.load(open(sys.argv[2]))
mib = lambda b: b / 1048576
print()
print("launch -> window on screen / cards drawn, each run:")
for i, r in enumerate(launch["runs"], 1):
    print(f"  run {i}: {r['mapped']:.2f} s / {r['cards']:.2f} s")
if launch["runs"]:
    print(f"median: window on screen {launch['median_mapped']:.2f} s, cards drawn {launch['median_cards']:.2f} s")
print()
print(f"idle, {idle['seconds']} s, {sys.argv[3]}:")
print(f"  {'process':<20} {'CPU % of a core':>16} {'RSS MiB':>9} {'PSS MiB':>9}")
cpu = rss = pss = 0
for p in idle["processes"]:
    print(f"  {p['name']:<20} {p['cpu_percent']:>16.2f} {mib(p['rss']):>9.1f} {mib(p['pss']):>9.1f}")
    cpu += p["cpu_percent"]; rss += p["rss"]; pss += p["pss"]
print(f"  {'all':<20} {cpu:>16.2f} {mib(rss):>9.1f} {mib(pss):>9.1f}")
EOF
[ "$runs" -gt 0 ] && echo "the first launch's settled window: $root/tests/screenshots/bench-window.png"
exit 0
