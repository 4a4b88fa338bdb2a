//! The supervisor with real process trees: groups stopped whole, runserver's autoreloader,
//! SIGTERM-ignoring trees, crashes and restarts, port conflicts, recovery, log floods.

mod support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kovan_core::error::Classified;
use kovan_core::platform;
use kovan_core::store::Store;
use kovan_core::supervisor::{
    MigrateFirst, RunStatus, StartOptions, StopHow, Supervisor, SupervisorError, SupervisorEvent,
};
use kovan_core::workspace::{self, Workspace};

fn server_script() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/health_server.py")
        .display()
        .to_string()
}

/// A workspace whose instances run `commands` (name, command with {port}), env files present.
fn workspace(dir: &Path, supervisor: &str, instances: &[(&str, &str, &str)]) -> Workspace {
    std::fs::write(dir.join("manage.py"), "").unwrap();
    let mut toml = format!(
        "[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n[supervisor]\n{supervisor}\n"
    );
    for (name, command, extra) in instances {
        std::fs::write(dir.join(format!(".env.{name}")), "").unwrap();
        toml.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\ncache = \"locmem\"\ncommand = {command:?}\n{extra}\n",
            support::free_port()
        ));
    }
    std::fs::write(dir.join("kovan.toml"), toml).unwrap();
    workspace::load(dir).unwrap()
}

struct Events(Arc<Mutex<Vec<SupervisorEvent>>>);

impl Events {
    fn sink() -> (Self, kovan_core::supervisor::EventSink) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let e = events.clone();
        (Self(events), Arc::new(move |ev| e.lock().unwrap().push(ev)))
    }

    fn statuses(&self, instance: &str) -> Vec<RunStatus> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                SupervisorEvent::Status(s) if s.instance == instance => Some(s.status),
                _ => None,
            })
            .collect()
    }
}

fn supervisor(ws: Workspace) -> (Supervisor, Events) {
    let (events, sink) = Events::sink();
    (Supervisor::new(ws, None, sink), events)
}

fn python_server(extra: &str) -> String {
    format!("python3 {} {{port}} {extra}", server_script())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_group_leaves_no_process_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!("sleep 600 & sleep 600 & {}", python_server(""));
    let ws = workspace(dir.path(), "", &[("tree", &format!("sh -c '{cmd}'"), "")]);
    let (sup, events) = supervisor(ws);
    let state = sup.start("tree", StartOptions::default()).await.unwrap();
    assert_eq!(state.status, RunStatus::Running, "{state:?}");
    let pgid = state.pid.unwrap();
    assert!(
        platform::group_members(pgid).len() >= 3,
        "sh, two sleeps and python share the group"
    );

    let report = sup.stop("tree").await.unwrap();
    assert_eq!(report.how, StopHow::Terminated);
    assert!(platform::group_members(pgid).is_empty());
    assert!(platform::port_is_free(state.port));
    assert_eq!(sup.state("tree").unwrap().status, RunStatus::Stopped);
    assert_eq!(
        events.statuses("tree"),
        [
            RunStatus::Starting,
            RunStatus::Starting,
            RunStatus::Running,
            RunStatus::Stopping,
            RunStatus::Stopped
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "trap \"\" TERM; sleep 600 & {}",
        python_server("--ignore-term")
    );
    let ws = workspace(
        dir.path(),
        "stop_grace = 1",
        &[("stubborn", &format!("sh -c '{cmd}'"), "")],
    );
    let (sup, _events) = supervisor(ws);
    let state = sup
        .start("stubborn", StartOptions::default())
        .await
        .unwrap();
    assert_eq!(state.status, RunStatus::Running);
    let started = Instant::now();
    let report = sup.stop("stubborn").await.unwrap();
    assert_eq!(report.how, StopHow::Killed);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited the grace period first"
    );
    assert!(platform::group_members(state.pid.unwrap()).is_empty());
    assert!(platform::port_is_free(state.port));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runserver_and_its_autoreloader_stop_together_and_free_the_port() {
    let redis = support::Redis::start();
    let dir = support::copy_example();
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("redis://127.0.0.1:6379/0", &redis.url())
        .replace(
            "python = \".venv/bin/python\"",
            &format!("python = {:?}", support::python().display().to_string()),
        )
        .replace("port = 8000", &format!("port = {}", support::free_port()));
    std::fs::write(&toml, text).unwrap();
    let ws = workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    // /health/ answers 503 while migrations are unapplied.
    kovan_core::django::migrations::migrate_unit(&ws, ws.instance("chat_main").unwrap(), |_| {})
        .unwrap();
    let (sup, _events) = supervisor(ws);
    let state = sup
        .start("chat_main", StartOptions::default())
        .await
        .unwrap();
    assert_eq!(
        state.status,
        RunStatus::Running,
        "{state:?}\n{:?}",
        sup.logs("chat_main").unwrap()
    );
    let pgid = state.pid.unwrap();
    let members = platform::group_members(pgid);
    assert!(
        members.len() >= 2,
        "the autoreloader's child runs the server in the same group: {members:?}"
    );
    // The output reached the ring (runserver, Django's or daphne's, prints its banner on stderr).
    assert!(sup
        .logs("chat_main")
        .unwrap()
        .iter()
        .any(|l| l.text.contains("development server at")));

    let report = sup.stop("chat_main").await.unwrap();
    assert!(platform::group_members(pgid).is_empty(), "{report:?}");
    assert!(platform::port_is_free(state.port));

    // The autoreloader's parent (the leader) killed from outside: its child serves on, carrying
    // the instance's markers, and is what Kovan then stops; nothing else is signalled.
    let state = sup
        .start("chat_main", StartOptions::default())
        .await
        .unwrap();
    let pgid = state.pid.unwrap();
    let child = platform::group_members(pgid)
        .into_iter()
        .find(|&p| p != pgid)
        .expect("the autoreloader's child");
    assert_eq!(
        platform::environ_var(child, "KOVAN_INSTANCE").as_deref(),
        Some("chat_main")
    );
    // SAFETY: the leader of the group this test started.
    unsafe { libc::kill(pgid, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(platform::group_members(pgid).is_empty() && platform::port_is_free(state.port)) {
        assert!(Instant::now() < deadline, "the child kept the port");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sup.state("chat_main").unwrap().status, RunStatus::Crashed);
    assert_eq!(
        sup.stop("chat_main").await.unwrap().how,
        StopHow::NotRunning
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_keeps_the_exit_code_and_last_lines_and_on_failure_restarts_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(
        dir.path(),
        "",
        &[
            ("once", &python_server("--exit-after 1 --code 3"), ""),
            (
                "again",
                &python_server("--exit-after 0.5 --code 3"),
                "restart = \"on-failure\"\nmax_restarts = 2",
            ),
        ],
    );
    let (sup, events) = supervisor(ws);
    assert_eq!(
        sup.start("once", StartOptions::default())
            .await
            .unwrap()
            .status,
        RunStatus::Running
    );
    let crashed = wait_for(&sup, "once", |s| s.status == RunStatus::Crashed).await;
    assert_eq!(crashed.exit_code, Some(3));
    assert!(
        crashed
            .last_lines
            .iter()
            .any(|l| l.contains("leaving with code 3")),
        "{:?}",
        crashed.last_lines
    );
    assert!(crashed
        .detail
        .as_deref()
        .unwrap()
        .contains("exited with code 3"));
    assert_eq!(crashed.restarts, 0, "policy never: no restart");

    sup.start("again", StartOptions::default()).await.unwrap();
    let last = wait_for(&sup, "again", |s| {
        s.status == RunStatus::Crashed && s.restarts == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled = sup.state("again").unwrap();
    assert_eq!(
        (settled.status, settled.restarts),
        (RunStatus::Crashed, 2),
        "no third try: {settled:?}"
    );
    assert_eq!(last.exit_code, Some(3));
    let runs = events
        .statuses("again")
        .iter()
        .filter(|s| **s == RunStatus::Running)
        .count();
    assert_eq!(runs, 3, "the first run and two restarts");
}

async fn wait_for(
    sup: &Supervisor,
    instance: &str,
    done: impl Fn(&kovan_core::supervisor::InstanceState) -> bool,
) -> kovan_core::supervisor::InstanceState {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = sup.state(instance).unwrap();
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{instance} never reached the expected state: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_listener_is_named_and_a_preset_with_it_starts_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(
        dir.path(),
        "",
        &[
            ("free", &python_server(""), ""),
            ("taken", &python_server(""), ""),
        ],
    );
    let taken_port = ws.instance("taken").unwrap().port;
    let free_port = ws.instance("free").unwrap().port;
    std::fs::write(
        dir.path().join("kovan.toml"),
        std::fs::read_to_string(dir.path().join("kovan.toml")).unwrap()
            + "\n[preset.both]\ninstances = [\"free\", \"taken\"]\n",
    )
    .unwrap();
    let ws = workspace::load(dir.path()).unwrap();
    let listener = std::net::TcpListener::bind(("127.0.0.1", taken_port)).unwrap();
    let (sup, _events) = supervisor(ws);

    let err = sup
        .start("taken", StartOptions::default())
        .await
        .unwrap_err();
    let SupervisorError::PortInUse {
        owner,
        lost_instance,
        next_free,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        owner.as_ref().unwrap().pid,
        std::process::id() as i32,
        "{err}"
    );
    assert!(!lost_instance);
    assert!(
        err.to_string().contains(&format!(
            "port {taken_port} is taken by PID {}",
            std::process::id()
        )),
        "{err}"
    );

    let err = sup
        .start_preset("both", MigrateFirst::Policy)
        .await
        .unwrap_err();
    assert!(matches!(err, SupervisorError::Preflight { .. }), "{err}");
    assert!(
        platform::port_is_free(free_port),
        "the free member was not started"
    );
    assert_eq!(sup.state("free").unwrap().status, RunStatus::Stopped);

    // The offered way out: the next free port.
    let state = sup
        .start(
            "taken",
            StartOptions {
                port: *next_free,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (state.status, Some(state.port)),
        (RunStatus::Running, *next_free)
    );
    sup.stop("taken").await.unwrap();
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_supervisor_adopts_recorded_groups_and_stops_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let ws = workspace(
        dir.path(),
        "",
        &[("a", &python_server(""), ""), ("b", &python_server(""), "")],
    );
    let store = Arc::new(Store::open(&data.path().join("k.sqlite3")).unwrap());
    let (_e1, first) = Events::sink();
    let sup = Supervisor::new(ws.clone(), Some(store.clone()), first);
    sup.start_many(&["a".into(), "b".into()], MigrateFirst::Policy)
        .await
        .unwrap();
    let pids: Vec<i32> = ["a", "b"]
        .iter()
        .map(|n| sup.state(n).unwrap().pid.unwrap())
        .collect();
    // The first panel vanishes without stopping anything (as after SIGKILL).
    std::mem::forget(sup);

    let (_e2, second) = Events::sink();
    let again = Supervisor::new(ws, Some(store), second);
    for (name, pid) in ["a", "b"].iter().zip(&pids) {
        let s = again.state(name).unwrap();
        assert_eq!(
            (s.status, s.pid, s.adopted),
            (RunStatus::Running, Some(*pid), true),
            "{s:?}"
        );
    }
    for r in again.stop_all().await {
        r.unwrap();
    }
    for pid in pids {
        assert!(platform::group_members(pid).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_the_store_lost_are_found_by_their_markers_stopped_and_recorded_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path(), "", &[("a", &python_server(""), "")]);
    let (_e1, first) = Events::sink();
    // Started with no store at all: nothing is recorded.
    let sup = Supervisor::new(ws.clone(), None, first);
    sup.start("a", StartOptions::default()).await.unwrap();
    let pid = sup.state("a").unwrap().pid.unwrap();
    std::mem::forget(sup);

    // An observer with an empty store sees it running, and writes nothing.
    let store = Arc::new(Store::open(&data.path().join("k.sqlite3")).unwrap());
    let look = Supervisor::observe(ws.clone(), Some(store.clone()));
    let s = look.state("a").unwrap();
    assert_eq!((s.status, s.pid), (RunStatus::Running, Some(pid)), "{s:?}");
    assert_eq!(look.found_by_markers(), ["a"]);
    assert!(!store.has_process(&ws.file, "a"));

    // A supervisor adopts it, records it again, and its stop ends every process of it.
    let (_e2, second) = Events::sink();
    let again = Supervisor::new(ws.clone(), Some(store.clone()), second);
    assert_eq!(again.state("a").unwrap().status, RunStatus::Running);
    let rec = store
        .process(&ws.file, "a")
        .unwrap()
        .expect("recorded again");
    assert_eq!(
        (rec.pid, Some(rec.start_time)),
        (pid, platform::start_time(pid))
    );
    let port = again.state("a").unwrap().port;
    again.stop("a").await.unwrap();
    assert!(platform::group_members(pid).is_empty());
    assert!(platform::port_is_free(port));
    assert!(!store.has_process(&ws.file, "a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_without_this_boots_id_is_not_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path(), "", &[("a", &python_server(""), "")]);
    let store = Arc::new(Store::open(&data.path().join("k.sqlite3")).unwrap());
    let (_e1, first) = Events::sink();
    let sup = Supervisor::new(ws.clone(), Some(store.clone()), first);
    sup.start("a", StartOptions::default()).await.unwrap();
    let rec = store.process(&ws.file, "a").unwrap().unwrap();
    assert_eq!(rec.boot_id, platform::boot_id());
    assert!(rec.ready);
    sup.stop("a").await.unwrap();
    // What another boot's PID names now: a process that is not Kovan's (no markers).
    let mut stranger = {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("sleep")
            .arg("300")
            .env_remove("KOVAN_WORKSPACE")
            .env_remove("KOVAN_INSTANCE")
            .process_group(0)
            .spawn()
            .unwrap()
    };
    let pid = stranger.id() as i32;
    // The same row as an older Kovan (no boot id) or another boot would have written it.
    for boot in [None, Some("another-boot".to_string())] {
        store
            .record_process(
                &ws.file,
                &kovan_core::store::ProcessRecord {
                    boot_id: boot.clone(),
                    pid,
                    pgid: pid,
                    start_time: platform::start_time(pid).unwrap(),
                    ..rec.clone()
                },
            )
            .unwrap();
        let (_e, sink) = Events::sink();
        let other = Supervisor::new(ws.clone(), Some(store.clone()), sink);
        assert_eq!(
            other.state("a").unwrap().status,
            RunStatus::Stopped,
            "{boot:?}"
        );
        assert_eq!(other.stop("a").await.unwrap().how, StopHow::NotRunning);
        assert!(!store.has_process(&ws.file, "a"));
    }
    assert!(stranger.try_wait().unwrap().is_none(), "not signalled");
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_leaves_the_ring_at_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(
        dir.path(),
        "log_lines = 1000",
        &[("loud", &python_server("--flood 100000"), "")],
    );
    let (sup, _events) = supervisor(ws);
    sup.start("loud", StartOptions::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = sup.logs("loud").unwrap();
        if logs.iter().any(|l| l.text.starts_with("flood line 99999 ")) {
            assert_eq!(logs.len(), 1000);
            assert!(logs.last().unwrap().seq >= 100_000);
            break;
        }
        assert!(Instant::now() < deadline, "the flood did not arrive");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let file = std::fs::read_to_string(dir.path().join("logs/loud.log")).unwrap();
    assert!(
        file.lines().count() >= 100_000,
        "every line also went to logs/loud.log"
    );
    sup.stop("loud").await.unwrap();
}

/// An interpreter that is there but cannot be run is not called missing: each case says what is
/// wrong with it, and nothing starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interpreter_that_cannot_run_says_why_not_that_it_is_missing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(dir.path().join(".env.a"), "").unwrap();
    let bin = dir.path().join("venv/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let python = bin.join("python");
    std::fs::write(
        dir.path().join("kovan.toml"),
        format!(
            "[project]\nname = \"t\"\nsettings = \"t.settings\"\npython = {:?}\n\n[[instance]]\nname = \"a\"\nport = {}\ncache = \"locmem\"\n",
            python.display().to_string(),
            support::free_port()
        ),
    )
    .unwrap();
    let (sup, _events) = supervisor(workspace::load(dir.path()).unwrap());
    let why = |sup: &Supervisor| {
        let e = sup.preflight("a", StartOptions::default()).unwrap_err();
        (e.kind().as_str(), e.to_string())
    };

    let (kind, text) = why(&sup);
    assert_eq!(kind, "missing", "{text}");

    std::os::unix::fs::symlink("/usr/bin/python-removed-by-an-upgrade", &python).unwrap();
    let (kind, text) = why(&sup);
    assert_eq!(kind, "not_runnable", "{text}");
    assert!(
        text.contains("links to /usr/bin/python-removed-by-an-upgrade, which does not exist"),
        "{text}"
    );

    std::fs::remove_file(&python).unwrap();
    std::fs::write(&python, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (kind, text) = why(&sup);
    assert_eq!(kind, "not_runnable", "{text}");
    assert!(
        text.contains("may not run it") && text.contains("chmod u+rx"),
        "{text}"
    );

    std::fs::remove_file(&python).unwrap();
    std::fs::create_dir(&python).unwrap();
    let (kind, text) = why(&sup);
    assert_eq!(kind, "not_runnable", "{text}");
    assert!(text.contains("it is not a file"), "{text}");
}

/// A start that never turns ready says what `/health/` answered, in the instance's own words (a
/// 503 with its failing parts). Migrations not applied do not stop a start: the server runs, its
/// health is red, and it says what to apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_times_out_says_what_health_answered() {
    let dir = tempfile::tempdir().unwrap();
    let report = |name: &str, failures: &str| {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(
            &path,
            format!(r#"{{"status": "degraded", "instance": "{name}", "failures": {failures}}}"#),
        )
        .unwrap();
        python_server(&format!("--status 503 --report {}", path.display()))
    };
    let cache_down = report(
        "a",
        r#"[{"part": "cache", "message": "ConnectionError: Error 111 connecting to 127.0.0.1:6390"}]"#,
    );
    let unmigrated = report(
        "b",
        r#"[{"part": "migrations", "message": "3 migrations not applied: kovan migrate b"}]"#,
    );
    let ws = workspace(
        dir.path(),
        "start_timeout = 3",
        &[("a", &cache_down, ""), ("b", &unmigrated, "")],
    );
    let (sup, _events) = supervisor(ws);
    let state = sup.start("a", StartOptions::default()).await.unwrap();
    assert_eq!(state.status, RunStatus::FailedToStart, "{state:?}");
    assert!(
        state.detail.as_deref().unwrap_or_default().ends_with(
            "within 3 s: /health/ answered 503: cache: ConnectionError: Error 111 connecting to 127.0.0.1:6390"
        ),
        "{state:?}"
    );
    // Only migrations missing: up (not stopped at the timeout) but not ready, and it says why.
    let state = sup.start("b", StartOptions::default()).await.unwrap();
    assert_eq!(state.status, RunStatus::Running, "{state:?}");
    assert_eq!(state.unapplied_migrations, Some(1), "{state:?}");
    assert_eq!(
        state.detail.as_deref(),
        Some("3 migrations not applied: kovan migrate b"),
        "{state:?}"
    );
    sup.stop("b").await.unwrap();

    // The example unmigrated, with a Redis that answers: migrate = "ask" (its default) and nobody
    // asked, the start is refused; started as the caller decided (kovan up after a "no"), it runs
    // up but not ready, and /health/ says what to apply.
    let redis = support::Redis::start();
    let (dir, _) = support::example_on_free_ports(Some(&redis.url()));
    let ws = workspace::load(dir.path()).unwrap();
    let port = ws.instance("chat_main").unwrap().port;
    let (sup, _events) = supervisor(ws);
    let err = sup
        .start("chat_main", StartOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        kovan_core::error::Classified::kind(&err).as_str(),
        "migrations_pending",
        "{err:?}"
    );
    assert_eq!(sup.state("chat_main").unwrap().status, RunStatus::Stopped);
    let state = sup
        .start(
            "chat_main",
            StartOptions {
                migrate: MigrateFirst::Decided,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(state.status, RunStatus::Running, "{state:?}");
    assert!(
        state.unapplied_migrations.is_some_and(|n| n > 0),
        "{state:?}"
    );
    let look = kovan_core::health::endpoint::check(port, Duration::from_secs(5)).await;
    let error = look.error.unwrap_or_default();
    assert!(
        error.contains("migrations: ") && error.contains("kovan migrate chat_main"),
        "{error}"
    );
    let unapplied = look.reported.unwrap().database.unapplied_migrations;
    assert!(unapplied.is_some_and(|n| n > 0), "{unapplied:?}");
    sup.stop("chat_main").await.unwrap();
}

/// (instance, status) of every status event, in the order they came.
fn status_order(events: &Events) -> Vec<(String, RunStatus)> {
    events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            SupervisorEvent::Status(s) => Some((s.instance.clone(), s.status)),
            _ => None,
        })
        .collect()
}

fn environ_var(pid: i32, key: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|b| *b == 0).find_map(|var| {
        String::from_utf8_lossy(var)
            .strip_prefix(&format!("{key}="))
            .map(str::to_string)
    })
}

/// A companion (`[[process]]`) runs with its instance's environment once the instance is ready,
/// in a group of its own marked with its own name; it is restarted by policy after a kill -9,
/// adopted by a later supervisor from the store, and stopped before its instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_companion_runs_with_its_instance_restarts_is_adopted_and_stops_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("companion.py"),
        "import os, time\nprint('companion of', os.environ['DJANGO_SERVER_INSTANCE'], flush=True)\ntime.sleep(600)\n",
    )
    .unwrap();
    let ws = workspace(
        dir.path(),
        "",
        &[(
            "a",
            &python_server(""),
            "\n[[process]]\nname = \"a_watch\"\ninstance = \"a\"\ncommand = \"sleep 600 & exec python3 companion.py\"\nrestart = \"on-failure\"\n",
        )],
    );
    let store = Arc::new(Store::open(&data.path().join("k.sqlite3")).unwrap());
    let (events, sink) = Events::sink();
    let sup = Supervisor::new(ws.clone(), Some(store.clone()), sink);
    let state = sup.start("a", StartOptions::default()).await.unwrap();
    assert_eq!(state.status, RunStatus::Running, "{state:?}");
    let watch = sup.state("a_watch").unwrap();
    assert_eq!(
        (watch.status, watch.port),
        (RunStatus::Running, 0),
        "{watch:?}"
    );
    let first = watch.pid.unwrap();
    assert!(
        watch.started_at.unwrap() - state.started_at.unwrap() >= 0,
        "started after its instance"
    );
    let order = status_order(&events);
    let a_running = order
        .iter()
        .position(|e| *e == ("a".into(), RunStatus::Running))
        .unwrap();
    let watch_starting = order.iter().position(|(n, _)| n == "a_watch").unwrap();
    assert!(a_running < watch_starting, "{order:?}");
    // Its own group, marked with its own name, with its instance's environment.
    assert_ne!(first, state.pid.unwrap());
    assert!(
        platform::group_members(first).len() >= 2,
        "python and sleep"
    );
    assert_eq!(
        environ_var(first, "KOVAN_INSTANCE").as_deref(),
        Some("a_watch")
    );
    assert_eq!(
        environ_var(first, "DJANGO_SERVER_INSTANCE").as_deref(),
        Some("a")
    );
    let log = dir.path().join("logs/a_watch.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("companion of a")) {
        assert!(Instant::now() < deadline, "its log file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // kill -9 of its leader: its group is cleaned up and it runs again by its policy.
    // SAFETY: the companion's leader, started by this test's supervisor.
    unsafe { libc::kill(first, libc::SIGKILL) };
    let again = wait_for(&sup, "a_watch", |s| {
        s.status == RunStatus::Running && s.pid.is_some_and(|p| p != first)
    })
    .await;
    assert_eq!(again.restarts, 1);
    assert!(
        platform::group_members(first).is_empty(),
        "the old sleep too"
    );
    let second = again.pid.unwrap();
    std::mem::forget(sup);

    // A later supervisor adopts both from the store; stopping the instance stops its companion first.
    let (events, sink) = Events::sink();
    let later = Supervisor::new(ws, Some(store), sink);
    let adopted = later.state("a_watch").unwrap();
    assert_eq!(
        (adopted.status, adopted.pid, adopted.adopted, adopted.port),
        (RunStatus::Running, Some(second), true, 0),
        "{adopted:?}"
    );
    let report = later.stop("a").await.unwrap();
    assert_eq!(report.how, StopHow::Terminated);
    assert!(platform::group_members(second).is_empty());
    assert!(platform::group_members(state.pid.unwrap()).is_empty());
    assert_eq!(later.state("a_watch").unwrap().status, RunStatus::Stopped);
    let order = status_order(&events);
    let watch_stopped = order
        .iter()
        .position(|e| *e == ("a_watch".into(), RunStatus::Stopped))
        .unwrap();
    let a_stopping = order
        .iter()
        .position(|e| *e == ("a".into(), RunStatus::Stopping))
        .unwrap();
    assert!(watch_stopped < a_stopping, "{order:?}");
}

/// A companion that exits within its first second failed to start; its instance runs on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_companion_that_exits_at_once_failed_to_start_and_its_instance_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(
        dir.path(),
        "",
        &[(
            "a",
            &python_server(""),
            "\n[[process]]\nname = \"broken\"\ninstance = \"a\"\ncommand = \"sh -c 'echo no broker; exit 3'\"\n",
        )],
    );
    let (sup, _events) = supervisor(ws);
    let state = sup.start("a", StartOptions::default()).await.unwrap();
    assert_eq!(state.status, RunStatus::Running);
    let broken = wait_for(&sup, "broken", |s| s.status == RunStatus::FailedToStart).await;
    assert_eq!(broken.exit_code, Some(3), "{broken:?}");
    assert!(
        broken.last_lines.iter().any(|l| l == "no broker"),
        "{broken:?}"
    );
    assert_eq!(sup.state("a").unwrap().status, RunStatus::Running);
    for r in sup.stop_all().await {
        r.unwrap();
    }
}

/// With no store, a companion is found by its markers like an instance: running, with no port
/// (it carries its instance's DJANGO_SERVER_PORT, which is not its own), and stopped at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_companion_the_store_lost_is_found_by_its_markers_without_its_instances_port() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(
        dir.path(),
        "stop_grace = 2",
        &[(
            "a",
            &python_server(""),
            "\n[[process]]\nname = \"a_watch\"\ninstance = \"a\"\ncommand = \"sleep 600\"\n",
        )],
    );
    let (_e1, first) = Events::sink();
    let sup = Supervisor::new(ws.clone(), None, first);
    sup.start("a", StartOptions::default()).await.unwrap();
    let pid = sup.state("a_watch").unwrap().pid.unwrap();
    std::mem::forget(sup);

    let (_e2, second) = Events::sink();
    let again = Supervisor::new(ws, None, second);
    let found = again.state("a_watch").unwrap();
    assert_eq!(
        (found.status, found.pid, found.port),
        (RunStatus::Running, Some(pid), 0),
        "{found:?}"
    );
    assert!(again.found_by_markers().contains(&"a_watch".to_string()));
    // Alone, while its instance keeps its port: terminated, not waiting for that port.
    let report = again.stop("a_watch").await.unwrap();
    assert_eq!(report.how, StopHow::Terminated, "{report:?}");
    assert!(report.millis < 1000, "{report:?}");
    assert!(platform::group_members(pid).is_empty());
    assert_eq!(again.state("a").unwrap().status, RunStatus::Running);
    for r in again.stop_all().await {
        r.unwrap();
    }
}

/// A site's companion runs with its main-role member's environment: started once that member is
/// ready, stopped before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sites_companion_follows_its_main_member() {
    let dir = tempfile::tempdir().unwrap();
    let site = format!(
        "\n[site.shop]\ninstances = [\"shop_api\", \"shop_main\"]\nfront_door = {}\n\n[[process]]\nname = \"shop_beat\"\nsite = \"shop\"\ncommand = \"sleep 600\"\n",
        support::free_port()
    );
    let ws = workspace(
        dir.path(),
        "",
        &[
            ("shop_api", &python_server(""), "role = \"api\""),
            (
                "shop_main",
                &python_server(""),
                &format!("role = \"main\"\n{site}"),
            ),
        ],
    );
    let (sup, _events) = supervisor(ws);
    sup.start("shop_api", StartOptions::default())
        .await
        .unwrap();
    assert_eq!(sup.state("shop_beat").unwrap().status, RunStatus::Stopped);
    sup.start("shop_main", StartOptions::default())
        .await
        .unwrap();
    let beat = sup.state("shop_beat").unwrap();
    assert_eq!(beat.status, RunStatus::Running, "{beat:?}");
    let pid = beat.pid.unwrap();
    assert_eq!(
        environ_var(pid, "DJANGO_SERVER_INSTANCE").as_deref(),
        Some("shop_main")
    );
    sup.stop("shop_main").await.unwrap();
    assert_eq!(sup.state("shop_beat").unwrap().status, RunStatus::Stopped);
    assert!(platform::group_members(pid).is_empty());
    assert_eq!(sup.state("shop_api").unwrap().status, RunStatus::Running);
    for r in sup.stop_all().await {
        r.unwrap();
    }
}

/// An observer (`kovan status`, a window while `kovan up` supervises) refuses every start and
/// stop with who supervises, before anything else is checked, and signals, spawns and records
/// nothing: the supervisor's running group is untouched, the stopped instance's port stays free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_refuses_every_start_and_stop_and_signals_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    workspace(
        dir.path(),
        "",
        &[
            (
                "a",
                &python_server(""),
                "\n[[process]]\nname = \"a_watch\"\ninstance = \"a\"\ncommand = \"sleep 600\"\n",
            ),
            ("b", &python_server(""), ""),
        ],
    );
    std::fs::write(
        dir.path().join("kovan.toml"),
        std::fs::read_to_string(dir.path().join("kovan.toml")).unwrap()
            + "\n[preset.both]\ninstances = [\"a\", \"b\"]\n",
    )
    .unwrap();
    let ws = workspace::load(dir.path()).unwrap();
    let store = Arc::new(Store::open(&data.path().join("k.sqlite3")).unwrap());
    let (events, sink) = Events::sink();
    let sup = Supervisor::new(ws.clone(), Some(store.clone()), sink);
    sup.start("a", StartOptions::default()).await.unwrap();
    let a = sup.state("a").unwrap();
    let watch = sup.state("a_watch").unwrap();
    assert_eq!(
        (a.status, watch.status),
        (RunStatus::Running, RunStatus::Running)
    );
    let (a_pid, watch_pid) = (a.pid.unwrap(), watch.pid.unwrap());
    let members = platform::group_members(a_pid);
    let watch_members = platform::group_members(watch_pid);
    let b_port = ws.instance("b").unwrap().port;
    let recorded = store.events(&ws.file, 1000).unwrap().len();
    let statuses = events.0.lock().unwrap().len();

    let look = Supervisor::observe(ws.clone(), Some(store.clone()));
    assert!(look.is_observer() && !sup.is_observer());
    assert_eq!(look.state("a").unwrap().status, RunStatus::Running);
    look.set_supervised_by("kovan up, PID 4242");
    let refusal = |what: &str, e: SupervisorError| {
        assert!(
            matches!(&e, SupervisorError::Observing { by } if by == "kovan up, PID 4242"),
            "{what}: {e:?}"
        );
        let ipc = kovan_core::IpcError::of(&e);
        assert_eq!(
            ipc.kind,
            kovan_core::error::ErrorKind::SupervisedElsewhere,
            "{what}"
        );
        assert_eq!(
            ipc.detail,
            Some(kovan_core::error::ErrorDetail::Supervisor {
                by: "kovan up, PID 4242".into()
            }),
            "{what}"
        );
    };
    let only_refusals = |what: &str, reports: Vec<Result<_, SupervisorError>>| {
        assert!(!reports.is_empty(), "{what}: no answer");
        for r in reports {
            refusal(what, r.unwrap_err());
        }
    };
    let default = StartOptions::default();
    refusal("start b", look.start("b", default).await.unwrap_err());
    refusal("start a", look.start("a", default).await.unwrap_err());
    refusal(
        "start_many",
        look.start_many(&["b".into()], MigrateFirst::Policy)
            .await
            .unwrap_err(),
    );
    refusal(
        "start_preset",
        look.start_preset("both", MigrateFirst::Policy)
            .await
            .unwrap_err(),
    );
    // Refused before the name is even looked up: an observer does nothing at all.
    refusal("start_site", look.start_site("nowhere").await.unwrap_err());
    refusal("open_door", look.open_door("nowhere").await.unwrap_err());
    refusal(
        "start_companion",
        look.start_companion("a_watch").await.unwrap_err(),
    );
    refusal("ensure_redis", look.ensure_redis().await.unwrap_err());
    refusal(
        "ensure_postgres",
        look.ensure_postgres(&["b".into()]).await.unwrap_err(),
    );
    refusal("stop", look.stop("a").await.unwrap_err());
    refusal("restart", look.restart("a").await.unwrap_err());
    refusal(
        "stop_lost_instance",
        look.stop_lost_instance("a").await.unwrap_err(),
    );
    refusal("stop_site", look.stop_site("nowhere").await.unwrap_err());
    refusal(
        "stop_redis_unless_used",
        look.stop_redis_unless_used().await.unwrap_err(),
    );
    refusal(
        "stop_postgres_unless_used",
        look.stop_postgres_unless_used().await.unwrap_err(),
    );
    only_refusals("stop_many", look.stop_many(&["a".into()]).await);
    only_refusals("stop_all", look.stop_all().await);
    only_refusals("stop_companions_of", look.stop_companions_of("a").await);
    look.shutdown(false).await;

    // Nothing was signalled, spawned or recorded.
    assert_eq!(platform::group_members(a_pid), members);
    assert_eq!(platform::group_members(watch_pid), watch_members);
    assert!(platform::port_is_free(b_port));
    assert_eq!(look.state("b").unwrap().status, RunStatus::Stopped);
    assert_eq!(sup.state("a").unwrap().status, RunStatus::Running);
    assert_eq!(look.state("a").unwrap().status, RunStatus::Running);
    assert_eq!(store.events(&ws.file, 1000).unwrap().len(), recorded);
    assert_eq!(events.0.lock().unwrap().len(), statuses);
    assert!(store.has_process(&ws.file, "a"));

    // Looking again costs a query and a /proc read while nothing changed, and builds nothing.
    assert!(
        look.look_again().is_none(),
        "nothing changed, yet it looked again"
    );
    assert!(
        sup.look_again().is_none(),
        "a supervisor does not look again"
    );

    // The supervisor itself still stops what it runs; the observer's next look sees it, and the
    // fresh observer refuses as it did, naming the same holder.
    sup.stop("a").await.unwrap();
    assert!(platform::group_members(a_pid).is_empty());
    assert!(platform::group_members(watch_pid).is_empty());
    let fresh = look
        .look_again()
        .expect("a stopped, yet nothing was looked at again");
    assert_eq!(fresh.state("a").unwrap().status, RunStatus::Stopped);
    assert_eq!(fresh.state("a_watch").unwrap().status, RunStatus::Stopped);
    assert!(fresh.look_again().is_none());
    refusal("fresh start", fresh.start("a", default).await.unwrap_err());
    assert!(platform::port_is_free(ws.instance("a").unwrap().port));
}
