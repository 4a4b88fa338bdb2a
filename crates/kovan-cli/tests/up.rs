//! `kovan up` killed with SIGKILL leaves its instances running; `kovan status` finds them through
//! the store and `kovan stop --all` stops them, nothing left behind.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kovan_core::store::HistoryEvent;
use kovan_testsupport::free_port;

fn server() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kovan-core/tests/fixtures/health_server.py")
        .display()
        .to_string()
}

fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let after: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        after[0] != "Z" && after[2].parse::<i32>().ok() == Some(pgid)
    })
}

#[test]
fn instances_outlive_a_killed_kovan_up_and_are_found_and_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    // With a Redis Kovan starts itself: it must be found and stopped with the instances.
    let redis_port = free_port();
    let mut toml = format!(
        "[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n[redis]\nurl = \"redis://127.0.0.1:{redis_port}/0\"\nmanaged = true\n"
    );
    let ports = [free_port(), free_port()];
    for ((name, cache), port) in [("a", "redis"), ("b", "locmem")].iter().zip(ports) {
        std::fs::write(dir.path().join(format!(".env.{name}")), "").unwrap();
        toml.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {port}\ncache = \"{cache}\"\ncommand = \"python3 {} {{port}} --report {}\"\n",
            server(),
            dir.path().join(format!("report_{name}.json")).display()
        ));
    }
    std::fs::write(dir.path().join("kovan.toml"), toml).unwrap();
    let kovan = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .arg("--workspace")
            .arg(dir.path())
            .env("KOVAN_DATA_DIR", data.path());
        c
    };
    // What each instance's /health/ reports: a with the names Kovan derived; b with Django's
    // default session cookie, as a b that runs with other settings would.
    let check: serde_json::Value =
        serde_json::from_slice(&kovan(&["check", "--json"]).output().unwrap().stdout).unwrap();
    for i in check["instances"].as_array().unwrap() {
        let (name, names) = (i["name"].as_str().unwrap(), &i["names"]);
        let session = if name == "b" {
            "sessionid"
        } else {
            names["sessionCookie"].as_str().unwrap()
        };
        let report = serde_json::json!({
            "status": "ok", "instance": name,
            "database": {"vendor": "sqlite", "ok": true, "name": dir.path().join(names["database"].as_str().unwrap())},
            "cache": {"backend": "x", "ok": true, "key_prefix": names["cachePrefix"]},
            "session_cookie": session, "csrf_cookie": names["csrfCookie"],
        });
        std::fs::write(
            dir.path().join(format!("report_{name}.json")),
            report.to_string(),
        )
        .unwrap();
    }
    // Whatever the assertions find, the groups recorded in this store are stopped at the end.
    let _cleanup = StopAllOnDrop(kovan(&["stop", "--all"]));

    let mut up = kovan(&["up", "a", "b"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(up.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.contains("a, b running") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "kovan up did not report both running"
        );
    }
    // SIGKILL: no chance to clean up.
    unsafe { libc::kill(up.id() as i32, libc::SIGKILL) };
    up.wait().unwrap();

    let out = kovan(&["status", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The window's health: a is ok; b answers but with another session cookie; the Redis is
    // asked with PING, not HTTP.
    let mut pids = Vec::new();
    for ((row, port), health) in rows
        .as_array()
        .unwrap()
        .iter()
        .zip(ports)
        .zip(["ok", "mismatch"])
    {
        assert_eq!(
            (
                row["status"].as_str(),
                row["health"].as_str(),
                row["port"].as_u64()
            ),
            (Some("running"), Some(health), Some(port as u64)),
            "{row}"
        );
        pids.push(row["pid"].as_i64().unwrap() as i32);
    }
    assert!(
        rows[1]["healthDetail"]
            .as_str()
            .unwrap()
            .contains(r#"reports session cookie "sessionid"; expected "sessionid_b""#),
        "{rows}"
    );
    let redis = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance"] == "redis-server")
        .expect("the managed Redis has a row");
    assert_eq!(redis["health"], "ok", "{redis}");
    assert!(
        redis["healthDetail"].as_str().unwrap().contains("PING"),
        "{redis}"
    );

    let out = kovan(&["stop", "--all"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a: terminated") && text.contains("b: terminated"),
        "{text}"
    );
    for (pid, port) in pids.into_iter().zip(ports) {
        assert!(!group_alive(pid), "group {pid} survived");
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} still taken"
        );
    }
    assert!(
        TcpListener::bind(("127.0.0.1", redis_port)).is_ok(),
        "the managed redis-server outlived kovan stop --all:\n{text}"
    );
    let out = kovan(&["status", "--json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "stopped"),
        "{rows}"
    );
}

struct StopAllOnDrop(Command);

impl Drop for StopAllOnDrop {
    fn drop(&mut self) {
        let _ = self.0.output();
    }
}

#[test]
fn up_refuses_an_unknown_name_with_the_choices() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/context7");
    let out = Command::new(env!("CARGO_BIN_EXE_kovan"))
        .args(["up", "nope", "--workspace"])
        .arg(&example)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`nope` is neither a preset (dev) nor an instance (chat_main, chat_api, chat_websocket, review) nor a site (chat)."), "{stderr}");
}

/// Lines a child writes to stderr, gathered on a thread so it never blocks on a full pipe.
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Lines {
    fn of(child: &mut std::process::Child) -> Self {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self(lines)
    }

    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }

    fn wait_for(&self, what: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.text().contains(what) {
            assert!(
                Instant::now() < deadline,
                "no {what:?} within {limit:?}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// examples/context7 in a temporary folder on Django 5.2, on free ports with a Redis of its own
/// (managed), its config generated.
fn example_copy(root: &Path) {
    let home = std::env::var("HOME").unwrap();
    let venv = Path::new(&home).join(".cache/kovan/django-5.2");
    assert!(
        venv.join("bin/python").is_file(),
        "run scripts/setup.sh test"
    );
    kovan_testsupport::copy_project(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/context7"),
        root,
    );
    std::os::unix::fs::symlink(&venv, root.join(".venv")).unwrap();
    let toml = root.join("kovan.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text = text.replace(
        "redis://127.0.0.1:6379/",
        &format!("redis://127.0.0.1:{}/", free_port()),
    );
    for port in ["8000", "8001", "8002"] {
        text = text.replace(
            &format!("port = {port}\n"),
            &format!("port = {}\n", free_port()),
        );
    }
    std::fs::write(&toml, text).unwrap();
}

#[test]
fn a_stop_from_another_kovan_is_a_stop_and_kovan_up_ends_saying_who() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let root = dir.path().join("context7");
    example_copy(&root);
    let kovan = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .current_dir(&root)
            .env("KOVAN_DATA_DIR", data.path())
            .env_remove("KOVAN_WORKSPACE")
            .stdin(Stdio::null());
        c
    };
    let _cleanup = StopAllOnDrop(kovan(&["stop", "--all"]));
    let gen = kovan(&["gen", "--write"]).output().unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );

    let mut up = kovan(&["up", "dev", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = Lines::of(&mut up);
    said.wait_for("running; Ctrl-C stops them", Duration::from_secs(120));

    let stop = kovan(&["stop", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stop_pid = stop.id();
    let stopped = stop.wait_with_output().unwrap();
    assert!(stopped.status.success(), "{stopped:?}");

    let status = wait_exit(&mut up, Duration::from_secs(15));
    let text = said.text();
    assert_eq!(
        status.map(|s| s.code()),
        Some(Some(0)),
        "kovan up did not end by itself once everything it supervised was stopped:\n{text}"
    );
    let who = format!(
        "kovan: chat_main, chat_api stopped by kovan stop, PID {stop_pid}; nothing left to supervise"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("nothing left"))
            .collect::<Vec<_>>(),
        [who.as_str()],
        "{text}"
    );
    for name in ["chat_main", "chat_api"] {
        assert_eq!(
            text.matches(&format!("kovan: {name} is starting")).count(),
            1,
            "{text}"
        );
        assert!(!text.contains(&format!("{name} {name}")), "{text}");
        assert!(
            text.contains(&format!(
                "kovan: {name} stopped by kovan stop, PID {stop_pid}"
            )),
            "{text}"
        );
        assert!(!text.contains(&format!("{name} crashed")), "{text}");
    }

    let ws = kovan_core::workspace::load(&root).unwrap();
    let store = kovan_core::store::Store::open(&data.path().join("kovan.sqlite3")).unwrap();
    let events = store.events(&ws.file, 100).unwrap();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e.instance.as_deref().unwrap_or("-"),
                e.event.kind()
            )
        })
        .collect();
    assert!(!kinds.iter().any(|k| k.ends_with(":crash")), "{kinds:?}");
    for name in ["chat_main", "chat_api"] {
        let by = events
            .iter()
            .filter(|e| e.instance.as_deref() == Some(name))
            .find_map(|e| match &e.event {
                HistoryEvent::Stop { by, .. } => Some(by.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no stop event for {name}: {kinds:?}"));
        assert_eq!(by, Some(format!("kovan stop, PID {stop_pid}")));
    }
}

#[test]
fn status_says_starting_until_it_answers_and_a_crash_names_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(dir.path().join(".env.a"), "").unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("kovan.toml"),
        format!(
            "[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n[[instance]]\nname = \"a\"\nport = {port}\ncache = \"locmem\"\ncommand = \"sh -c 'sleep 3; exec python3 {} {{port}}'\"\n",
            server()
        ),
    )
    .unwrap();
    let kovan = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .arg("--workspace")
            .arg(dir.path())
            .env("KOVAN_DATA_DIR", data.path())
            .stdin(Stdio::null());
        c
    };
    let _cleanup = StopAllOnDrop(kovan(&["stop", "--all"]));
    let mut up = kovan(&["up", "a"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = Lines::of(&mut up);
    said.wait_for("kovan: a is starting", Duration::from_secs(30));
    let row = || {
        let out = kovan(&["status", "--json"]).output().unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        rows[0].clone()
    };
    // Recorded right after the spawn; it answers only after its 3 s sleep.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut early = row();
    while early["pid"].is_null() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        early = row();
    }
    assert_eq!(early["status"], "starting", "{early}\n{}", said.text());
    said.wait_for("a running; Ctrl-C", Duration::from_secs(30));
    let later = row();
    assert_eq!(later["status"], "running", "{later}");

    // Killed by something that is not Kovan: a crash, said with the name once.
    let pid = later["pid"].as_i64().unwrap() as i32;
    // SAFETY: the instance this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    said.wait_for(
        "kovan: a crashed: killed by signal 15 (SIGTERM)",
        Duration::from_secs(10),
    );
    let text = said.text();
    assert!(!text.contains("a a "), "{text}");
    assert_eq!(text.matches("kovan: a is starting").count(), 1, "{text}");
    assert!(
        wait_exit(&mut up, Duration::from_millis(500)).is_none(),
        "a crash is not a stop"
    );
    // SAFETY: the kovan up this test started.
    unsafe { libc::kill(up.id() as i32, libc::SIGTERM) };
    assert_eq!(
        wait_exit(&mut up, Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
}

#[test]
fn a_second_kovan_up_is_told_who_supervises_and_observers_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    let mut toml = "[project]\nname = \"t\"\nsettings = \"t.settings\"\n".to_string();
    for name in ["a", "b"] {
        std::fs::write(dir.path().join(format!(".env.{name}")), "").unwrap();
        toml.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\ncache = \"locmem\"\ncommand = \"python3 {} {{port}}\"\n",
            free_port(),
            server()
        ));
    }
    std::fs::write(dir.path().join("kovan.toml"), toml).unwrap();
    let kovan = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .arg("--workspace")
            .arg(dir.path())
            .env("KOVAN_DATA_DIR", data.path())
            .stdin(Stdio::null());
        c
    };
    let _cleanup = StopAllOnDrop(kovan(&["stop", "--all"]));
    let mut up = kovan(&["up", "a"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = Lines::of(&mut up);
    said.wait_for("a running; Ctrl-C", Duration::from_secs(30));
    let supervisor = format!("kovan up, PID {}", up.id());

    let second = kovan(&["up", "a", "b"]).output().unwrap();
    let text = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("is already supervised by {supervisor}.")),
        "{text}"
    );
    assert!(!text.contains("is starting"), "nothing was started: {text}");

    // A record the supervisor would clean up itself (b's, of a process that is gone): observers
    // leave it, and everything else, as it is.
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    let store = kovan_core::store::Store::open(&data.path().join("kovan.sqlite3")).unwrap();
    let mut stale = store.process(&ws.file, "a").unwrap().unwrap();
    stale.instance = "b".into();
    stale.start_time += 1;
    store.record_process(&ws.file, &stale).unwrap();
    let snapshot = |store: &kovan_core::store::Store| {
        (
            store.processes(&ws.file).unwrap(),
            store.events(&ws.file, 1000).unwrap(),
        )
    };
    let before = snapshot(&store);
    let status = kovan(&["status"]).output().unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains(&format!("supervised by {supervisor}")),
        "{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("a ") && l.contains("running")),
        "{shown}"
    );
    kovan(&["status", "--json"]).output().unwrap();
    kovan(&["doctor", "--json"]).output().unwrap();
    assert_eq!(
        snapshot(&store),
        before,
        "kovan status or doctor wrote the store"
    );

    // SAFETY: the kovan up this test started.
    unsafe { libc::kill(up.id() as i32, libc::SIGTERM) };
    assert_eq!(
        wait_exit(&mut up, Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
    let after = kovan(&["status"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&after.stdout).contains("supervised by"));
    // Ctrl-C's stop is said once, by its report ("a terminated in 12 ms"), not also as a status.
    let text = said.text();
    let stop_lines: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "kovan: stopping")
        .filter(|l| l.starts_with("kovan: a "))
        .collect();
    assert_eq!(stop_lines.len(), 1, "{text}");
    assert!(stop_lines[0].starts_with("kovan: a terminated"), "{text}");
}

/// `kovan up --take-over` beside a running `kovan up`: the first lets go without stopping
/// anything and exits 0 saying who took over; the second adopts the very same processes (same
/// PID, same port, nothing restarted) and its Ctrl-C then stops them: no orphan.
#[test]
fn kovan_up_take_over_adopts_what_runs_and_stops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(dir.path().join(".env.a"), "").unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("kovan.toml"),
        format!(
            "[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n[[instance]]\nname = \"a\"\nport = {port}\ncache = \"locmem\"\ncommand = \"python3 {} {{port}}\"\n",
            server()
        ),
    )
    .unwrap();
    let kovan = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .arg("--workspace")
            .arg(dir.path())
            .env("KOVAN_DATA_DIR", data.path())
            .stdin(Stdio::null());
        c
    };
    let _cleanup = StopAllOnDrop(kovan(&["stop", "--all"]));
    let mut first = kovan(&["up", "a"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_said = Lines::of(&mut first);
    first_said.wait_for("a running; Ctrl-C", Duration::from_secs(30));
    let server_pid = kovan_core::platform::port_owner(port)
        .expect("a listens")
        .pid;

    // Without --take-over, the second is refused and told how to take over.
    let refused = kovan(&["up", "a"]).output().unwrap();
    let text = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(text.contains("kovan up --take-over"), "{text}");

    let mut second = kovan(&["up", "--take-over", "a"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let second_said = Lines::of(&mut second);
    assert_eq!(
        wait_exit(&mut first, Duration::from_secs(20)).and_then(|s| s.code()),
        Some(0),
        "{}",
        first_said.text()
    );
    let handed = first_said.text();
    assert!(
        handed.contains(&format!("kovan up, PID {} took over", second.id())),
        "{handed}"
    );
    assert!(!handed.contains("kovan: stopping"), "{handed}");
    second_said.wait_for("a running; Ctrl-C", Duration::from_secs(30));
    // The same process serves, adopted rather than restarted.
    assert_eq!(
        kovan_core::platform::port_owner(port).map(|o| o.pid),
        Some(server_pid),
        "{}",
        second_said.text()
    );
    let status = kovan(&["status"]).output().unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains(&format!("supervised by kovan up, PID {}", second.id())),
        "{shown}"
    );

    // SAFETY: the kovan up this test started.
    unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
    assert_eq!(
        wait_exit(&mut second, Duration::from_secs(15)).and_then(|s| s.code()),
        Some(0),
        "{}",
        second_said.text()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while kovan_core::platform::port_owner(port).is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        kovan_core::platform::port_owner(port).is_none(),
        "the adopted server outlived the Ctrl-C of the one that took over: {}",
        second_said.text()
    );
    assert!(!kovan_core::platform::is_alive(server_pid));
}

/// Two projects whose kovan.toml both say the same Redis with `managed = true`: the one that
/// started it does not stop it while the other's instance runs against it; once that is gone, it
/// does.
#[test]
fn a_managed_redis_another_workspace_uses_is_left_running_until_it_is_not() {
    let redis_port = free_port();
    let project = |name: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manage.py"), "").unwrap();
        std::fs::write(dir.path().join(format!(".env.{name}")), "").unwrap();
        std::fs::write(
            dir.path().join("kovan.toml"),
            format!(
                "[project]\nname = \"p{name}\"\nsettings = \"t.settings\"\n\n[redis]\nurl = \"redis://127.0.0.1:{redis_port}/0\"\nmanaged = true\n\n[[instance]]\nname = \"{name}\"\nport = {}\ncache = \"redis\"\ncommand = \"python3 {} {{port}}\"\n",
                free_port(),
                server()
            ),
        )
        .unwrap();
        (dir, tempfile::tempdir().unwrap())
    };
    let (one, one_data) = project("a");
    let (two, two_data) = project("b");
    let kovan = |dir: &Path, data: &Path, args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .arg("--workspace")
            .arg(dir)
            .env("KOVAN_DATA_DIR", data);
        c
    };
    let _cleanup = [
        StopAllOnDrop(kovan(two.path(), two_data.path(), &["stop", "--all"])),
        StopAllOnDrop(kovan(one.path(), one_data.path(), &["stop", "--all"])),
    ];
    // Each `kovan up` until it runs its instance, then killed: its groups stay, recorded.
    let up = |dir: &Path, data: &Path, name: &str| {
        let mut child = kovan(dir, data, &["up", name])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        for line in stderr.lines() {
            if line.unwrap().contains(&format!("{name} running")) {
                break;
            }
            assert!(Instant::now() < deadline, "{name} did not start");
        }
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        child.wait().unwrap();
    };
    up(one.path(), one_data.path(), "a");
    assert!(
        TcpListener::bind(("127.0.0.1", redis_port)).is_err(),
        "one started the Redis"
    );
    up(two.path(), two_data.path(), "b");

    let out = kovan(one.path(), one_data.path(), &["stop", "--all"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = format!(
        "redis-server: left running: b ({}) use it",
        two.path().join("kovan.toml").display()
    );
    assert!(
        text.contains("a: terminated") && text.contains(&expected),
        "{text}"
    );
    assert!(
        TcpListener::bind(("127.0.0.1", redis_port)).is_err(),
        "the other project's Redis was stopped:\n{text}"
    );

    let out = kovan(two.path(), two_data.path(), &["stop", "--all"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("b: terminated"));
    let out = kovan(one.path(), one_data.path(), &["stop", "--all"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("redis-server: terminated"), "{text}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpListener::bind(("127.0.0.1", redis_port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the Redis outlived its last user:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
