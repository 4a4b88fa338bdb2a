//! Every command with its stdout closed early, as `kovan … | head -1` closes it: no panic, the
//! documented status (141, as for a command SIGPIPE ended; docs/CLI.md), and nothing left running.
//! `kovan up` first stops every group it started, then ends.

#[path = "../../kovan-core/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::Redis;

const CLOSED_PIPE: i32 = 141;

/// The write end of a pipe whose read end is already closed: the first write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills both descriptors, which are then owned here.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

fn health_server() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kovan-core/tests/fixtures/health_server.py")
        .display()
        .to_string()
}

struct Setup {
    dir: tempfile::TempDir,
    data: tempfile::TempDir,
    ports: Vec<u16>,
    _redis: Redis,
}

impl Setup {
    /// Two instances (a on Redis, b on LocMem) run by the stand-in server, which prints 20 lines
    /// on starting; a Redis with keys of each kind.
    fn new() -> Self {
        let redis = Redis::start();
        for i in 0..50 {
            redis.cli(&["SET", &format!("t_a:1:k{i}"), "v"]);
        }
        redis.cli(&["SET", "other_app:1:x", "v"]);
        let dir = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manage.py"), "").unwrap();
        let mut toml = format!(
            "[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n[redis]\nurl = \"{}\"\n",
            redis.url()
        );
        let ports = vec![support::free_port(), support::free_port()];
        for ((name, cache), port) in [("a", "redis"), ("b", "locmem")].iter().zip(&ports) {
            // `up` wants an env file; an empty one (Kovan's own comes with `gen --write`).
            std::fs::write(dir.path().join(format!(".env.{name}")), "").unwrap();
            toml.push_str(&format!(
                "\n[[instance]]\nname = \"{name}\"\nport = {port}\ncache = \"{cache}\"\n\
                 cache_prefix = \"t_{name}\"\ncommand = \"python3 {} {{port}} --flood 20\"\n",
                health_server()
            ));
        }
        toml.push_str("\n[preset.dev]\ninstances = [\"a\", \"b\"]\n");
        std::fs::write(dir.path().join("kovan.toml"), toml).unwrap();
        Self {
            dir,
            data,
            ports,
            _redis: redis,
        }
    }

    fn kovan(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("KOVAN_WORKSPACE", self.dir.path())
            .env("KOVAN_DATA_DIR", self.data.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// Processes working in the workspace's folder (the instances run there), and ports held.
    fn left_behind(&self) -> Vec<String> {
        let root = self.dir.path().canonicalize().unwrap();
        let mut left: Vec<String> = processes_in(&root)
            .into_iter()
            .map(|(pid, cmd)| format!("process {pid} ({cmd}) still runs in the workspace"))
            .collect();
        for port in &self.ports {
            if TcpListener::bind(("127.0.0.1", *port)).is_err() {
                left.push(format!("port {port} is still held"));
            }
        }
        left
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        // Whatever the assertions found, nothing recorded in this store outlives the test.
        let _ = self.kovan(&["stop", "--all"]).output();
    }
}

fn processes_in(root: &Path) -> Vec<(i32, String)> {
    let mine = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|&pid| pid != mine)
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(root))
        })
        .filter(|pid| {
            // A zombie is already gone; its parent just has not reaped it yet.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| !s[s.rfind(')').unwrap_or(0) + 2..].starts_with('Z'))
        })
        .map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            (pid, cmd.trim().to_string())
        })
        .collect()
}

/// Wait for the child, at most `limit` (a command that never ends is a failure too), reading its
/// stderr meanwhile when it is piped.
fn finish(mut child: Child, limit: Duration, what: &str) -> (ExitStatus, String) {
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = e.read_to_string(&mut text);
            text
        })
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`kovan {what}` did not end within {limit:?} after its output closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status,
        stderr.map(|t| t.join().unwrap()).unwrap_or_default(),
    )
}

/// How a run went wrong, if it did: a panic, a signal, an unexpected status.
fn judge(what: &str, status: ExitStatus, stderr: &str, allowed: &[i32]) -> Option<String> {
    if stderr.contains("panicked") || stderr.contains("Broken pipe") {
        return Some(format!(
            "`kovan {what}` panicked or reported the pipe:\n{stderr}"
        ));
    }
    match status.code() {
        Some(code) if allowed.contains(&code) => None,
        Some(code) => Some(format!(
            "`kovan {what}` exited {code}, expected one of {allowed:?}:\n{stderr}"
        )),
        None => Some(format!("`kovan {what}` was killed by a signal: {status:?}")),
    }
}

/// Each command, and the statuses it may end with when stdout is closed before it writes: 141
/// once it writes, or its own status when it fails before writing to stdout.
fn commands(init_dir: &Path) -> Vec<(Vec<String>, Vec<i32>)> {
    let init = init_dir.display().to_string();
    let table: Vec<(Vec<&str>, Vec<i32>)> = vec![
        (vec!["--help"], vec![CLOSED_PIPE]),
        (vec!["--version"], vec![CLOSED_PIPE]),
        (vec!["help", "flush"], vec![CLOSED_PIPE]),
        (vec!["completions", "bash"], vec![CLOSED_PIPE]),
        (vec!["init", "--dry-run", &init], vec![CLOSED_PIPE]),
        (
            vec!["init", "--dry-run", "--json", &init],
            vec![CLOSED_PIPE],
        ),
        (vec!["check"], vec![CLOSED_PIPE]),
        (vec!["check", "--json"], vec![CLOSED_PIPE]),
        (vec!["gen"], vec![CLOSED_PIPE]),
        (vec!["gen", "--diff"], vec![CLOSED_PIPE]),
        (vec!["gen", "--json"], vec![CLOSED_PIPE]),
        (vec!["gen", "--check"], vec![CLOSED_PIPE]),
        (vec!["gen", "--check", "--json"], vec![CLOSED_PIPE]),
        (vec!["env", "a"], vec![CLOSED_PIPE]),
        (vec!["env", "a", "--format", "json"], vec![CLOSED_PIPE]),
        (vec!["status"], vec![CLOSED_PIPE]),
        (vec!["status", "--json"], vec![CLOSED_PIPE]),
        (vec!["keys"], vec![CLOSED_PIPE]),
        (vec!["keys", "--json"], vec![CLOSED_PIPE]),
        (vec!["flush", "--all", "--dry-run"], vec![CLOSED_PIPE]),
        (vec!["flush", "a", "--dry-run", "--json"], vec![CLOSED_PIPE]),
        (vec!["doctor"], vec![CLOSED_PIPE, 1]),
        (vec!["doctor", "--json"], vec![CLOSED_PIPE, 1]),
        // Nothing is running: nothing to say.
        (vec!["stop", "--all"], vec![0]),
        (vec!["flush", "a", "--yes"], vec![CLOSED_PIPE]),
        (vec!["flush", "a", "--yes", "--json"], vec![CLOSED_PIPE]),
        (vec!["gen", "--write"], vec![CLOSED_PIPE]),
        (vec!["help", "db"], vec![CLOSED_PIPE]),
        // SQLite databases are listed too (size, holders): it writes.
        (vec!["db", "status"], vec![CLOSED_PIPE]),
        (vec!["db", "status", "--json"], vec![CLOSED_PIPE]),
    ];
    table
        .into_iter()
        .map(|(args, codes)| (args.into_iter().map(String::from).collect(), codes))
        .collect()
}

fn init_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("manage.py"),
        "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"site_a.settings\")\n",
    )
    .unwrap();
    dir
}

#[test]
fn every_command_ends_quietly_when_stdout_is_closed_before_it_writes() {
    let setup = Setup::new();
    let init = init_dir();
    let mut failures = Vec::new();
    let mut runs = 0;
    for (args, allowed) in commands(init.path()) {
        let what = args.join(" ");
        // stdout closed; stderr read, to see that nothing panicked.
        let child = setup
            .kovan(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (status, stderr) = finish(child, Duration::from_secs(60), &what);
        runs += 1;
        failures.extend(judge(&what, status, &stderr, &allowed));
        failures.extend(setup.left_behind());
    }
    // With stdout closed the preview cannot be shown, so a flush without --json deletes nothing;
    // with --json the preview is not printed, the flush runs, and only its report is lost.
    assert!(
        setup._redis.keys().contains(&"other_app:1:x".to_string()),
        "{:?}",
        setup._redis.keys()
    );
    println!(
        "closed stdout: {runs} commands run, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_command_ends_quietly_when_stdout_and_stderr_close_after_the_first_line() {
    let setup = Setup::new();
    let init = init_dir();
    let mut failures = Vec::new();
    for (args, allowed) in commands(init.path()) {
        let what = args.join(" ");
        // `kovan … 2>&1 | head -1`: both streams on one pipe, closed after a line.
        let (reader, writer) = std::io::pipe().unwrap();
        let mut cmd = setup.kovan(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let child = cmd
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .spawn()
            .unwrap();
        // Our copies of the write end go with the Command.
        drop(cmd);
        let mut first = String::new();
        let _ = BufReader::new(reader).read_line(&mut first);
        // The reader is dropped here: the pipe has no reader any more.
        let (status, _) = finish(child, Duration::from_secs(60), &what);
        // Whatever fitted in the pipe before it closed may have ended the command normally.
        let mut allowed = allowed.clone();
        allowed.extend([0, CLOSED_PIPE]);
        if args.first().is_some_and(|a| a == "gen") || args.first().is_some_and(|a| a == "doctor") {
            allowed.push(1);
        }
        failures.extend(judge(&what, status, &first, &allowed));
        failures.extend(setup.left_behind());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `kovan up` with stdout closed in three ways; each time every group it started is stopped before
/// it ends with 141, and `kovan status` finds nothing running.
#[test]
fn up_stops_what_it_started_when_its_output_closes_then_ends() {
    let setup = Setup::new();
    let status_all_stopped = |setup: &Setup| -> Result<(), String> {
        let out = setup.kovan(&["status", "--json"]).output().unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "status --json: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        match rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] != "stopped")
        {
            Some(r) => Err(format!("still recorded as {}: {r}", r["status"])),
            None => Ok(()),
        }
    };
    let mut failures = Vec::new();
    let mut took = Vec::new();

    // 1. stdout closed from the start.
    let child = setup
        .kovan(&["up", "dev"])
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = finish(child, Duration::from_secs(60), "up dev (stdout closed)");
    failures.extend(judge(
        "up dev (stdout closed)",
        status,
        &stderr,
        &[CLOSED_PIPE],
    ));
    if !stderr.contains("output closed; stopping what this command started") {
        failures.push(format!("up did not say why it stopped:\n{stderr}"));
    }
    failures.extend(setup.left_behind());
    failures.extend(status_all_stopped(&setup).err());

    // 2. `kovan up dev | head -3`: three lines read, then the reader goes while up prints
    // nothing more; the closed pipe is noticed without a further write.
    // 3. `kovan up dev 2>&1 | head -3`: the same with stderr on that pipe too.
    for both in [false, true] {
        let what = if both {
            "up dev 2>&1 | head -3"
        } else {
            "up dev | head -3"
        };
        let (reader, writer) = std::io::pipe().unwrap();
        let mut cmd = setup.kovan(&["up", "dev"]);
        cmd.stdout(writer.try_clone().unwrap());
        if both {
            cmd.stderr(writer);
        } else {
            drop(writer);
            cmd.stderr(Stdio::piped());
        }
        let child = cmd.spawn().unwrap();
        drop(cmd);
        let mut reader = BufReader::new(reader);
        for _ in 0..3 {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
        }
        // Both instances listening and done printing before the pipe closes: from then on up
        // writes nothing, so it must notice the closed pipe without a write.
        let deadline = Instant::now() + Duration::from_secs(30);
        while setup
            .ports
            .iter()
            .any(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        {
            assert!(
                Instant::now() < deadline,
                "{what}: the instances did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        let closed_at = Instant::now();
        drop(reader);
        let (status, stderr) = finish(child, Duration::from_secs(60), what);
        took.push(closed_at.elapsed());
        failures.extend(judge(what, status, &stderr, &[CLOSED_PIPE]));
        failures.extend(setup.left_behind());
        failures.extend(status_all_stopped(&setup).err());
    }
    println!("up after its output closed: ended in {took:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
