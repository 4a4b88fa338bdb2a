//! Kovan never signals a process group it did not start: a group's number given to an unrelated
//! process after Kovan's group died is left alone (in a PID namespace, where the test decides which
//! PID comes next), and `kovan up` killed at any moment leaves nothing `kovan stop --all` misses.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kovan-core/tests/fixtures/health_server.py")
        .display()
        .to_string()
}

/// A workspace of health-server instances `names` (locmem, no restarts); `redis_for` uses a
/// managed Redis on a port of its own.
fn workspace(dir: &Path, names: &[&str], redis_for: Option<&str>) -> Vec<u16> {
    std::fs::write(dir.join("manage.py"), "").unwrap();
    let mut toml = "[project]\nname = \"t\"\nsettings = \"t.settings\"\n".to_string();
    if redis_for.is_some() {
        toml.push_str(&format!(
            "\n[redis]\nurl = \"redis://127.0.0.1:{}/0\"\nmanaged = true\n",
            free_port()
        ));
    }
    let mut ports = Vec::new();
    for name in names {
        let port = free_port();
        ports.push(port);
        let cache = if Some(*name) == redis_for {
            "redis"
        } else {
            "locmem"
        };
        std::fs::write(dir.join(format!(".env.{name}")), "").unwrap();
        toml.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {port}\ncache = \"{cache}\"\ncommand = \"python3 {} {{port}}\"\n",
            server()
        ));
    }
    std::fs::write(dir.join("kovan.toml"), toml).unwrap();
    ports
}

fn redis_port(dir: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(dir.join("kovan.toml")).unwrap();
    let rest = text.split("redis://127.0.0.1:").nth(1)?;
    rest.split('/').next()?.parse().ok()
}

/// The scenario, run as PID 1 of a new PID namespace. MODE=crash kills instance a's group from
/// outside; MODE=outside stops a with another `kovan stop a`. Either way a's group number is then
/// given to an unrelated `setsid sleep 300` (ns_last_pid), and `kovan up` is sent SIGTERM (its
/// Ctrl-C): it stops b, and the sleep must survive.
const SCENARIO: &str = r#"
set -u
LOG="$TMP/up.log"
"$KOVAN" up a b --workspace "$WS" >"$LOG" 2>&1 &
UP=$!
i=0
until grep -q "running; Ctrl-C stops them" "$LOG"; do
  i=$((i+1)); [ $i -gt 300 ] && { echo "NOT-UP"; cat "$LOG"; exit 2; }; sleep 0.1
done
PGID=$(sed -n 's/^a *| kovan: started .*(PID \([0-9]*\), port.*/\1/p' "$LOG" | head -1)
[ -n "$PGID" ] || { echo "NO-PGID"; cat "$LOG"; exit 2; }
if [ "$MODE" = crash ]; then
  kill -KILL "-$PGID"
  WANT="killed by signal 9"
else
  "$KOVAN" stop a --workspace "$WS" >"$TMP/stop.log" 2>&1
  WANT="a"
fi
i=0
until grep -q "$WANT" "$LOG" && ! [ -d "/proc/$PGID" ]; do
  i=$((i+1)); [ $i -gt 300 ] && { echo "NOT-GONE"; cat "$LOG"; exit 2; }; sleep 0.1
done
sleep 0.3
S=""
t=0
while [ $t -lt 100 ]; do
  t=$((t+1))
  echo $((PGID-1)) > /proc/sys/kernel/ns_last_pid
  setsid sleep 300 &
  S=$!
  [ "$S" = "$PGID" ] && break
  kill -KILL "$S" 2>/dev/null
done
[ "$S" = "$PGID" ] || { echo "NO-REUSE $S $PGID"; exit 3; }
# setsid(2) runs in the child a moment after the fork.
i=0
until [ "$(cut -d' ' -f5 "/proc/$S/stat")" = "$PGID" ]; do
  i=$((i+1)); [ $i -gt 100 ] && { echo "NOT-LEADER $(cat "/proc/$S/stat")"; exit 3; }; sleep 0.02
done
kill -TERM "$UP"
wait "$UP"
echo "UP-EXIT $?"
sleep 0.2
if kill -0 "$S" 2>/dev/null; then echo "SLEEP-SURVIVED"; else echo "SLEEP-KILLED"; fi
echo "--- kovan up said:"
cat "$LOG"
"#;

fn pgid_reuse(mode: &str) {
    let probe = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "this test needs `unshare --pid --fork --mount-proc` (root, or a user namespace)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ports = workspace(dir.path(), &["a", "b"], None);
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c", SCENARIO])
        .env("KOVAN", env!("CARGO_BIN_EXE_kovan"))
        .env("WS", dir.path())
        .env("TMP", tmp.path())
        .env("MODE", mode)
        .env("KOVAN_DATA_DIR", data.path())
        .env_remove("KOVAN_WORKSPACE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("SLEEP-SURVIVED"),
        "kovan up signalled a group it did not start:\n{text}"
    );
    assert!(text.contains("UP-EXIT 0"), "{text}");
    assert!(
        text.contains("kovan: b terminated in"),
        "b was still stopped:\n{text}"
    );
    for port in ports {
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok(), "{text}");
    }
    eprintln!("{text}");
}

#[test]
fn a_crashed_groups_number_given_to_another_process_is_not_signalled() {
    pgid_reuse("crash");
}

#[test]
fn a_group_stopped_by_another_kovan_is_not_signalled_after_its_number_is_reused() {
    pgid_reuse("outside");
}

/// Processes whose working directory is under one of `roots` (the instances run from the Django
/// root, the managed Redis from the data dir).
fn processes_under(roots: &[&Path]) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s[s.rfind(')').unwrap_or(0)..].starts_with(") Z"))
            .unwrap_or(true);
        if !zombie && roots.iter().any(|r| cwd.starts_with(r)) {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
        }
    }
    found
}

/// xorshift: moments that differ from run to run, printed so a failure can be read back.
fn moments(n: usize) -> Vec<Duration> {
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(x % 3000)
        })
        .collect()
}

/// One lane of the SIGKILL trials: its own workspace, data dir and ports, so that two lanes run
/// side by side without one's `kovan stop --all` seeing the other's processes.
fn sigkill_lane(lane: usize, at: &[Duration]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let ports = workspace(dir.path(), &["a", "b"], Some("a"));
    let redis = redis_port(dir.path()).unwrap();
    let kovan = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .arg("--workspace")
            .arg(dir.path())
            .env("KOVAN_DATA_DIR", data.path())
            .env_remove("KOVAN_WORKSPACE")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let roots: Vec<PathBuf> = vec![dir.path().to_path_buf(), data.path().to_path_buf()];
    let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    let mut failures = Vec::new();
    for (n, moment) in at.iter().enumerate() {
        let mut up = kovan(&["up", "a", "b"]).spawn().unwrap();
        std::thread::sleep(*moment);
        // SAFETY: the kovan up this test started.
        unsafe { libc::kill(up.id() as i32, libc::SIGKILL) };
        up.wait().unwrap();
        let stop = kovan(&["stop", "--all"]).status().unwrap();
        // A probe or a server that was being spawned at the kill ends on its own, or is found.
        let deadline = Instant::now() + Duration::from_secs(3);
        let (left, held) = loop {
            let left = processes_under(&roots);
            let held: Vec<u16> = ports
                .iter()
                .chain([&redis])
                .copied()
                .filter(|p| TcpListener::bind(("127.0.0.1", *p)).is_err())
                .collect();
            if (left.is_empty() && held.is_empty()) || Instant::now() >= deadline {
                break (left, held);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if !stop.success() || !left.is_empty() || !held.is_empty() {
            failures.push(format!(
                "lane {lane} trial {n}, killed after {} ms: stop {stop}, left {left:?}, ports held {held:?}",
                moment.as_millis()
            ));
            // Clean up by PID for the next trial: only processes of this lane's folders.
            for (pid, _) in left {
                // SAFETY: a process running from this test's own temporary folders.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    failures
}

#[test]
fn kovan_up_killed_at_any_moment_leaves_nothing_kovan_stop_all_misses() {
    let trials: usize = std::env::var("KOVAN_CHAOS_UP_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let at = moments(trials);
    let clock = Instant::now();
    // Two lanes at once keep CI's time near half; each trial still kills one `kovan up`.
    let half = trials.div_ceil(2);
    let failures: Vec<String> = std::thread::scope(|s| {
        let lanes: Vec<_> = at
            .chunks(half.max(1))
            .enumerate()
            .map(|(lane, moments)| s.spawn(move || sigkill_lane(lane, moments)))
            .collect();
        lanes.into_iter().flat_map(|l| l.join().unwrap()).collect()
    });
    eprintln!(
        "{trials} SIGKILLs of kovan up at {:?} ms, in {:.1} s: {} left something behind",
        at.iter().map(Duration::as_millis).collect::<Vec<_>>(),
        clock.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
