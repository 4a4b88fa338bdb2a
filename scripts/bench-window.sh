#!/usr/bin/env bash
# Window speed (docs/PERFORMANCE.md): the release app under its own Xvfb, with the example's chat
# site running (started by `kovan up chat` on free loopback ports; the app adopts it), measured in
# the same run beside a minimal Tauri 2 app (scripts/bench-minimal-app: one static page, the same
# WebKitGTK) that the script builds itself:
#   1. launch -> cards drawn (the minimal app: its page drawn): each of KOVAN_BENCH_RUNS (5)
#      launches, their median and the first, read from the screen's pixels by scripts/xframes.py;
#   2. idle CPU of each app's processes (the app and the WebKit processes it starts) over
#      KOVAN_BENCH_IDLE_SECONDS (30) with its window focused, then as long with the focus on the
#      root window, from /proc/PID/stat, after the window has been up for 10 s;
#   3. their memory (RSS and PSS) at the end of the focused measure.
#
# Needs the release app: scripts/package.sh (or `ui/node_modules/.bin/tauri build --no-bundle`),
# the test venv (scripts/setup.sh test) and Xvfb, xwd, ImageMagick, xdotool (scripts/setup.sh test).
# KOVAN_BENCH_APP and KOVAN_BENCH_CLI point at other builds; KOVAN_BENCH_BEFORE at another
# kovan-desktop, measured in the same run too (before/after a change); KOVAN_BENCH_MINIMAL at a
# built minimal app (else it is built here, in the same target dir); KOVAN_BENCH_INSTANCES=0
# measures with no instance running, KOVAN_BENCH_RUNS=0 skips the launches.
# KOVAN_BENCH_MINIMAL=skip measures Kovan alone, and KOVAN_BENCH_MAX_IDLE="FOCUSED,UNFOCUSED" (percent of
# a core) makes the script fail when Kovan's idle CPU is over either: .ci/run's short version
# (scripts/bench-window-short.sh) fails at twice issue 17's goals that way.
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
before=${KOVAN_BENCH_BEFORE:-}
[ -z "$before" ] || [ -x "$before" ] || die "KOVAN_BENCH_BEFORE=$before is not an executable"
minimal=${KOVAN_BENCH_MINIMAL:-}
max_idle=${KOVAN_BENCH_MAX_IDLE:-}
if [ -n "$max_idle" ]; then
  [[ "$max_idle" =~ ^[0-9.]+,[0-9.]+$ ]] || die "KOVAN_BENCH_MAX_IDLE=$max_idle: give two percentages, focused and unfocused, as 6,2"
fi
if [ "$minimal" = skip ]; then
  :
elif [ -z "$minimal" ]; then
  echo "bench-window: building the minimal Tauri app (scripts/bench-minimal-app)" >&2
  cargo build --release --quiet --manifest-path scripts/bench-minimal-app/Cargo.toml --features custom-protocol ||
    die "the minimal app did not build"
  minimal=$target_dir/release/bench-minimal-app
fi
[ "$minimal" = skip ] || [ -x "$minimal" ] || die "$minimal is missing"
for tool in Xvfb xwd convert xdotool xwininfo redis-server nginx pgrep; do
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
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()
text = open(path).read()
text = re.sub(r'(?m)^python = .*$', f'python = "{python}"', text)
text = re.sub(r'redis://127\.0\.0\.1:\d+/', f'redis://127.0.0.1:{ports[0]}/', text)
for old, new in zip(("8000", "8001", "8002", "8003"), ports[1:5]):
    text = re.sub(rf'(?m)^port = {old}$', f'port = {new}', text)
# The site's front door (nginx) too: 8080 may be anybody's.
text = re.sub(r'(?m)^front_door = \d+$', f'front_door = {ports[5]}', text)
open(path, "w").write(text)
print("bench-window: instances on ports", *ports[1:4], "front door on", ports[5], "redis on", ports[0],
      file=sys.stderr)
EOF
export KOVAN_DATA_DIR="$tmp/data" XDG_DATA_HOME="$tmp/xdg/data" XDG_CACHE_HOME="$tmp/xdg/cache" \
  XDG_CONFIG_HOME="$tmp/xdg/config"
mkdir -p "$KOVAN_DATA_DIR" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"
"$cli" gen --write --workspace "$ws" >/dev/null

if [ "$with_instances" != 0 ]; then
echo "bench-window: kovan up chat --yes (the shared database migrated first)" >&2
"$cli" up chat --yes --workspace "$ws" >"$tmp/up.log" 2>&1 &
up_pid=$!
# Wait for kovan up's own word first: a `kovan status` run while instances are still starting can
# drop their records from the store (see docs/PERFORMANCE.md), and then the app would not adopt them.
for _ in $(seq 240); do
  grep -q 'running; Ctrl-C stops them' "$tmp/up.log" && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$tmp/up.log" >&2; die "kovan up chat exited"; }
  sleep 0.5
done
# Instances only: the rows of the front door and the managed redis-server are not instances.
running=$("$cli" status --json --workspace "$ws" |
  python3 -c 'import json, sys; print(sum(1 for i in json.load(sys.stdin) if i.get("kind", "instance") == "instance" and i["status"] == "running"))')
[ "$running" = 3 ] || {
  grep -v "GET /health/" "$tmp/up.log" | tail -n 40 >&2; "$cli" status --workspace "$ws" >&2 || true
  die "kovan status counts $running of the 3 instances running (kovan up's last lines and kovan status above)"
}
fi

display=99
while [ -e "/tmp/.X$display-lock" ] || [ -e "/tmp/.X11-unix/X$display" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x860x24 -br -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$display" ] || die "Xvfb did not start on :$display"
export DISPLAY=":$display"

root_window=$(xwininfo -root | awk '/Window id:/ {print $4}')

# idle SESSION SECONDS: CPU of every process of the app's session over SECONDS, memory at the end.
idle() {
  python3 - "$1" "$2" <<'EOF'
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
}

# measure NAME COMMAND...: the launches, then the idle window focused and unfocused ($tmp/NAME-*.json).
measure() {
  local name=$1 window
  shift
  mkdir -p "$tmp/frames-$name"
  # WebKit's caches and the window's settings of each app apart: each first launch is a first one.
  export XDG_DATA_HOME="$tmp/xdg-$name/data" XDG_CACHE_HOME="$tmp/xdg-$name/cache" \
    XDG_CONFIG_HOME="$tmp/xdg-$name/config"
  mkdir -p "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"
  if [ "$runs" -gt 0 ]; then
    echo "bench-window: $name: $runs launches" >&2
    python3 scripts/xframes.py launch --display "$DISPLAY" --runs "$runs" --out "$tmp/frames-$name" -- "$@" \
      >"$tmp/$name-launch.json"
  else
    echo '{"runs": []}' >"$tmp/$name-launch.json"
  fi
  echo "bench-window: $name: idle, ${idle_seconds} s focused, then ${idle_seconds} s unfocused" >&2
  (cd "$tmp" && exec setsid "$@" >"$tmp/$name-app.log" 2>&1) &
  app_pid=$!
  python3 scripts/xframes.py rendered --display "$DISPLAY" --timeout 30 --settle 0.5 --min-ink 0.0005 >/dev/null ||
    die "$name: the window did not draw within 30 s"
  window=$(xdotool search --onlyvisible --pid "$app_pid" 2>/dev/null | tail -n 1)
  [ -n "$window" ] || die "$name: no window of PID $app_pid on $DISPLAY"
  sleep 10
  xdotool windowfocus "$window"
  sleep 2
  [ "$(xdotool getwindowfocus)" = "$window" ] || echo "bench-window: $name: the focus is not on its window" >&2
  idle "$app_pid" "$idle_seconds" >"$tmp/$name-focused.json"
  xdotool windowfocus "$root_window"
  sleep 2
  [ "$(xdotool getwindowfocus)" != "$window" ] || echo "bench-window: $name: its window kept the focus" >&2
  idle "$app_pid" "$idle_seconds" >"$tmp/$name-unfocused.json"
  kill -TERM "$app_pid"
  for _ in $(seq 100); do pgrep -s "$app_pid" >/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$app_pid" 2>/dev/null || true
  app_pid=''
}

apps=(kovan)
measure kovan "$app" --workspace "$ws"
if [ -n "$before" ]; then
  apps+=(before)
  measure before "$before" --workspace "$ws"
fi
if [ "$minimal" != skip ]; then
  apps+=(minimal)
  measure minimal "$minimal"
fi
if [ "$runs" -gt 0 ]; then
  mkdir -p tests/screenshots
  cp "$tmp/frames-kovan/launch-1.png" tests/screenshots/bench-window.png
fi

[ "$with_instances" != 0 ] && running_text="the chat site running" || running_text="no instance running"
python3 - "$tmp" "$running_text" "$max_idle" "${apps[@]}" <<'EOF'
import json, statistics, sys
tmp, running_text, max_idle, apps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
mib = lambda b: b / 1048576
rows = {}
for app in apps:
    launch = json.load(open(f"{tmp}/{app}-launch.json"))
    focused = json.load(open(f"{tmp}/{app}-focused.json"))
    unfocused = json.load(open(f"{tmp}/{app}-unfocused.json"))
    print(f"\n{app}: launch -> window on screen / drawn, each run:")
    for i, r in enumerate(launch["runs"], 1):
        print(f"  run {i}: {r['mapped']:.2f} s / {r['cards']:.2f} s")
    for label, idle in (("focused", focused), ("unfocused", unfocused)):
        print(f"{app}: idle {label}, {idle['seconds']} s:")
        print(f"  {'process':<22} {'CPU % of a core':>16} {'RSS MiB':>9} {'PSS MiB':>9}")
        for p in idle["processes"]:
            print(f"  {p['name']:<22} {p['cpu_percent']:>16.2f} {mib(p['rss']):>9.1f} {mib(p['pss']):>9.1f}")
    cards = [r["cards"] for r in launch["runs"]]
    rows[app] = {
        "focused": sum(p["cpu_percent"] for p in focused["processes"]),
        "unfocused": sum(p["cpu_percent"] for p in unfocused["processes"]),
        "median": statistics.median(cards) if cards else None,
        "first": cards[0] if cards else None,
        "pss": mib(sum(p["pss"] for p in focused["processes"])),
    }
fmt = lambda v, unit: "-" if v is None else f"{v:.2f}{unit}"
print(f"\nsummary (Kovan with {running_text}; the minimal app runs nothing):")
print(f"  {'':<10} {'idle focused':>13} {'idle unfocused':>15} {'to cards, median':>17} {'first launch':>13} {'PSS':>10}")
for app, r in rows.items():
    print(f"  {app:<10} {fmt(r['focused'], ' %'):>13} {fmt(r['unfocused'], ' %'):>15} {fmt(r['median'], ' s'):>17}"
          f" {fmt(r['first'], ' s'):>13} {r['pss']:>6.1f} MiB")
m = rows.get("minimal")
ratio = lambda a, b: "-" if a is None or not b else f"{a / b:.2f}x"
for app, r in rows.items():
    if app != "minimal" and m:
        print(f"  {app} / minimal: {ratio(r['focused'], m['focused'])} focused, "
              f"{ratio(r['unfocused'], m['unfocused'])} unfocused, {ratio(r['median'], m['median'])} to cards, "
              f"{ratio(r['pss'], m['pss'])} PSS")
print(json.dumps({"summary": rows}))
if max_idle:
    focused_max, unfocused_max = (float(v) for v in max_idle.split(","))
    k = rows["kovan"]
    over = [f"{label} {got:.2f} % of a core is over {limit:g} %"
            for label, got, limit in (("focused", k["focused"], focused_max),
                                      ("unfocused", k["unfocused"], unfocused_max)) if got > limit]
    if over:
        print("bench-window: Kovan's idle window costs too much: " + "; ".join(over)
              + " (docs/PERFORMANCE.md, 'The window', says how to find what repaints)", file=sys.stderr)
        sys.exit(1)
    print(f"bench-window: idle CPU within {focused_max:g} % focused and {unfocused_max:g} % unfocused")
EOF
[ "$runs" -gt 0 ] && echo "Kovan's first launch, settled: $root/tests/screenshots/bench-window.png"
exit 0
