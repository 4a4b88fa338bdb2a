//! The health poller against real servers: a test server that alternates slow and fast answers,
//! and the example project's runserver with the generated settings.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kovan_core::health::{self, HealthState, InstancePoller, PollerOptions, WriteLock};
use support::*;

/// A /health/ server on a free loopback port whose odd answers come after `slow`.
fn alternating_server(body: String, slow: Duration) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|r| r > 2) {
                    line.clear();
                }
                if n % 2 == 1 {
                    std::thread::sleep(slow);
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (port, served)
}

#[tokio::test]
async fn alternating_slow_and_fast_answers_do_not_flap() {
    let port = free_port();
    let (dir, ws) = cache_workspace(&format!(
        "[[instance]]\nname = \"a\"\nport = {port}\ncache = \"locmem\"\n"
    ));
    let db = dir.path().join("db_a.sqlite3");
    let body = serde_json::json!({
        "status": "ok", "instance": "a", "pid": 1, "django": "5.2",
        "database": {"vendor": "sqlite", "name": db.display().to_string(), "ok": true},
        "cache": {"backend": "django.core.cache.backends.locmem.LocMemCache", "key_prefix": "t_a", "ok": true, "keys": 0},
        "session_cookie": "sessionid_a", "csrf_cookie": "csrftoken_a"
    })
    .to_string();
    let (server_port, served) = alternating_server(body, Duration::from_millis(700));
    // The workspace names `port`; point the instance at the test server's.
    let text = std::fs::read_to_string(&ws.file)
        .unwrap()
        .replace(&format!("port = {port}"), &format!("port = {server_port}"));
    std::fs::write(&ws.file, text).unwrap();
    let ws = Arc::new(kovan_core::workspace::load(&ws.file).unwrap());
    let options = PollerOptions {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(300),
        up_after: 1,
        down_after: 3,
        ..Default::default()
    };
    let mut poller = InstancePoller::new(ws, "a", None, options);
    let mut states = Vec::new();
    let mut failed = 0;
    for _ in 0..8 {
        let h = poller.poll().await;
        assert!(h.mismatches.is_empty(), "{:?}", h.mismatches);
        if !h.check_ok {
            failed += 1;
            assert!(
                h.latency_ms >= 290.0,
                "a timed-out check took {}",
                h.latency_ms
            );
        }
        states.push(h.state);
    }
    assert!(served.load(Ordering::SeqCst) >= 8);
    assert_eq!(failed, 4, "every other answer was too slow: {states:?}");
    assert!(
        states.iter().all(|s| *s == HealthState::Up),
        "flapped: {states:?}"
    );
}

#[tokio::test]
async fn three_failures_in_a_row_turn_it_down() {
    let port = free_port();
    let (_dir, ws) = cache_workspace(&format!(
        "[[instance]]\nname = \"a\"\nport = {port}\ncache = \"locmem\"\n"
    ));
    let mut poller = InstancePoller::new(Arc::new(ws), "a", None, PollerOptions::default());
    let mut states = Vec::new();
    for _ in 0..3 {
        states.push(poller.poll().await.state);
    }
    assert_eq!(
        states,
        [
            HealthState::Unknown,
            HealthState::Unknown,
            HealthState::Down
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_runserver_answers_with_the_derived_names() {
    // A member of the chat site: its channel layer is on Redis, which /health/ checks.
    let redis = support::Redis::start();
    let (_dir, ws) = example_on_free_ports(Some(&redis.url()));
    let _server = runserver(&ws, "chat_websocket", false);
    let sink_calls = Arc::new(AtomicUsize::new(0));
    let calls = sink_calls.clone();
    let store = Arc::new(kovan_core::store::Store::open(&_dir.path().join("k.sqlite3")).unwrap());
    let handle = health::start(
        ws.clone(),
        Some(store.clone()),
        PollerOptions {
            interval: Duration::from_millis(200),
            ..Default::default()
        },
        Arc::new(move |_| {
            calls.fetch_add(1, Ordering::SeqCst);
        }),
    );
    // Until it is up with three samples recorded, however slow the machine is today.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let latest = loop {
        let latest = handle.latest();
        let up = latest
            .iter()
            .any(|h| h.instance == "chat_websocket" && h.state == HealthState::Up);
        let sampled = store
            .recent_samples(&ws.file, "chat_websocket", 10)
            .map_or(0, |s| s.len());
        if (up && sampled >= 3) || std::time::Instant::now() > deadline {
            break latest;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(handle);
    let after_stop = sink_calls.load(Ordering::SeqCst);
    let h = latest
        .iter()
        .find(|h| h.instance == "chat_websocket")
        .expect("checked within 20 s");
    assert_eq!(h.state, HealthState::Up, "{h:?}");
    assert!(h.mismatches.is_empty(), "{:?}", h.mismatches);
    let reported = h.reported.as_ref().unwrap();
    // The site's cookie and its shared database, which runs in WAL mode.
    assert_eq!(reported.session_cookie, "sessionid_chat");
    let db = h.database.as_ref().unwrap();
    assert!(db.exists && db.size_bytes > 0, "{db:?}");
    assert_eq!(db.journal_mode.as_deref(), Some("wal"));
    assert_eq!(db.write_lock, WriteLock::None);
    let res = h.resources.as_ref().expect("its process group was found");
    assert!(res.rss_bytes > 10_000_000, "{res:?}");
    assert!(res.processes >= 1);
    // The stopped instances are not up, and the sparkline has the running one's samples.
    let other = latest.iter().find(|h| h.instance == "chat_api").unwrap();
    assert_ne!(other.state, HealthState::Up);
    let samples = store
        .recent_samples(&ws.file, "chat_websocket", 10)
        .unwrap();
    assert!(
        samples.len() >= 3 && samples.iter().all(|s| s.up),
        "{samples:?}"
    );
    assert!(samples.windows(2).all(|w| w[0].at <= w[1].at));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sink_calls.load(Ordering::SeqCst),
        after_stop,
        "dropping the handle stops it"
    );
}

/// A Python holding a SQLite connection, with a write transaction open when `write`.
fn sqlite_holder(path: &std::path::Path, wal: bool, write: bool) -> Group {
    let script = format!(
        "import sqlite3, sys, time\n\
         c = sqlite3.connect({path:?}, isolation_level=None)\n\
         {wal}\
         c.execute('CREATE TABLE IF NOT EXISTS t (x)')\n\
         {write}\
         c.execute('SELECT count(*) FROM t').fetchone()\n\
         print('ready', flush=True)\n\
         time.sleep(120)\n",
        path = path.display().to_string(),
        wal = if wal {
            "c.execute('PRAGMA journal_mode=WAL')\n"
        } else {
            ""
        },
        write = if write {
            "c.execute('BEGIN IMMEDIATE'); c.execute('INSERT INTO t VALUES (1)')\n"
        } else {
            ""
        },
    );
    let mut group = Group::spawn(
        std::process::Command::new(python())
            .args(["-c", &script])
            .stdout(std::process::Stdio::piped()),
        "python holding a SQLite file",
    );
    let mut line = String::new();
    let mut out = BufReader::new(group.child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    group
}

#[test]
fn a_write_lock_is_seen_without_opening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    for wal in [false, true] {
        let db = dir.path().join(format!("w{wal}.sqlite3"));
        let reader = sqlite_holder(&db, wal, false);
        let idle = health::sqlite::probe(&db);
        assert_eq!(idle.write_lock, WriteLock::None, "{idle:?}");
        assert_eq!(
            idle.journal_mode.as_deref(),
            Some(if wal { "wal" } else { "rollback" })
        );
        drop(reader);
        let writer = sqlite_holder(&db, wal, true);
        let busy = health::sqlite::probe(&db);
        assert_eq!(busy.write_lock, WriteLock::Reserved, "wal {wal}: {busy:?}");
        assert_eq!(busy.lock_holder, Some(writer.pgid()));
        drop(writer);
        assert_eq!(health::sqlite::probe(&db).write_lock, WriteLock::None);
    }
    let missing = health::sqlite::probe(&dir.path().join("none.sqlite3"));
    assert!(!missing.exists && missing.journal_mode.is_none());
}
