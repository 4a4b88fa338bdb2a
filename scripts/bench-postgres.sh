#!/usr/bin/env bash
# How long `kovan up` takes to have the managed PostgreSQL accepting logins: from nothing (initdb,
# then the server) and from the cluster an earlier run left (the server alone). Each run uses a
# fresh data dir and a free port; the instance is the supervisor tests' stand-in server, so only
# Kovan and PostgreSQL are timed. docs/PERFORMANCE.md has the command and the figures.
#   scripts/bench-postgres.sh            # 3 runs; BENCH_RUNS=5 for more
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p kovan-cli
kovan=${CARGO_TARGET_DIR:-target}/debug/kovan
exec python3 - "$kovan" "${BENCH_RUNS:-3}" <<'EOF'
import os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

kovan, runs = os.path.abspath(sys.argv[1]), int(sys.argv[2])
server = os.path.abspath("crates/kovan-core/tests/fixtures/health_server.py")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def up_until_postgres(env, root):
    """Seconds from `kovan up a` to "postgresql-server is running"; then kovan up is killed
    (what it started stays) and the initdb line, if any, returned too."""
    started = time.monotonic()
    p = subprocess.Popen([kovan, "up", "a"], cwd=root, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen, initdb = None, False
    for line in p.stdout:
        initdb = initdb or "initdb made the cluster" in line
        if "postgresql-server is running" in line and seen is None:
            seen = time.monotonic() - started
        if "a running" in line or line.startswith("error"):
            break
    p.send_signal(signal.SIGKILL)
    p.wait()
    if seen is None:
        sys.exit(f"kovan up did not start PostgreSQL (last line: {line!r})")
    return seen, initdb

fresh, existing = [], []
for n in range(runs):
    with tempfile.TemporaryDirectory() as tmp:
        root, data = os.path.join(tmp, "p"), os.path.join(tmp, "data")
        os.makedirs(root)
        open(os.path.join(root, "manage.py"), "w").close()
        pg = free_port()
        with open(os.path.join(root, "kovan.toml"), "w") as f:
            f.write(f'[project]\nname = "bench"\nsettings = "t.settings"\n\n'
                    f'[database]\nengine = "postgresql"\nmanaged = true\nport = {pg}\n\n'
                    f'[[instance]]\nname = "a"\nport = {free_port()}\ncache = "locmem"\n'
                    f'command = "python3 {server} {{port}}"\n')
        env = dict(os.environ, KOVAN_DATA_DIR=data)
        env.pop("KOVAN_WORKSPACE", None)
        subprocess.run([kovan, "gen", "--write"], cwd=root, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            t, made = up_until_postgres(env, root)
            assert made, "the first run did not initdb"
            fresh.append(t)
            subprocess.run([kovan, "stop", "--all"], cwd=root, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            t, made = up_until_postgres(env, root)
            assert not made, "the second run made a cluster again"
            existing.append(t)
        finally:
            subprocess.run([kovan, "stop", "--all"], cwd=root, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # As root the cluster lives under /var/tmp (docs/POSTGRESQL.md): remove it too.
            if os.geteuid() == 0:
                import hashlib
                h = hashlib.sha256(data.encode()).hexdigest()[:12]
                shutil.rmtree(f"/var/tmp/kovan-postgresql-root/{h}", ignore_errors=True)
        print(f"run {n + 1}: from nothing {fresh[-1]:.2f} s, from the existing cluster {existing[-1]:.2f} s",
              flush=True)

fmt = lambda xs: f"{statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f})"
print(f"managed PostgreSQL accepting logins, median of {runs}:")
print(f"  from nothing (initdb + start): {fmt(fresh)}")
print(f"  from an existing cluster:      {fmt(existing)}")
EOF
