//! The Redis cache against a real redis-server: counts equal a brute-force count, a flush deletes
//! exactly its instances' keys and nothing else, and failures say what happened and how far the
//! flush got.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use kovan_core::cache::{
    self, CacheCounts, CancelToken, Counter, DeleteCommand, FlushOutcome, FlushPart, FlushPreview,
    FlushReport, FlushScope, Flusher, KeyCount, RedisCache, RedisKeys, Timeouts,
};
use kovan_core::error::Classified;
use kovan_core::store::HistoryEvent;
use kovan_core::Workspace;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use redis::aio::MultiplexedConnection;
use support::Redis;

const SESSION: &[u8] = b"django.contrib.sessions.cache";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.into()).to_string()
}

/// A workspace whose instances `names` cache in Redis at `url` under `prefixes`.
fn workspace(url: &str, names: &[&str], prefixes: &[&str]) -> (tempfile::TempDir, Workspace) {
    let mut body = format!("[redis]\nurl = {}\n", toml_string(url));
    for (i, (name, prefix)) in names.iter().zip(prefixes).enumerate() {
        body.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\ncache = \"redis\"\ncache_prefix = {}\n",
            20000 + i,
            toml_string(prefix)
        ));
    }
    support::cache_workspace(&body)
}

/// The chat trio, all on Redis with their derived prefixes `t_chat_main`, `t_chat_api`, ….
fn chat_trio(url: &str) -> (tempfile::TempDir, Workspace) {
    let names = ["chat_main", "chat_api", "chat_websocket"];
    let prefixes = names.map(|n| format!("t_{n}"));
    workspace(url, &names, &prefixes.each_ref().map(String::as_str))
}

async fn connect(redis: &Redis) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn load(conn: &mut MultiplexedConnection, keys: impl IntoIterator<Item = Vec<u8>>) {
    let keys: Vec<Vec<u8>> = keys.into_iter().collect();
    for chunk in keys.chunks(2000) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("SET").arg(key).arg("v").ignore();
        }
        pipe.query_async::<()>(conn).await.unwrap();
    }
}

async fn all_keys(conn: &mut MultiplexedConnection) -> BTreeSet<Vec<u8>> {
    redis::cmd("KEYS").arg("*").query_async(conn).await.unwrap()
}

fn keys(prefix: &str, n: usize) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..n).map(move |i| format!("{prefix}:1:k{i}").into_bytes())
}

fn sessions(prefix: &str, n: usize) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..n).map(move |i| format!("{prefix}:1:django.contrib.sessions.cache{i}").into_bytes())
}

fn counted(counts: &CacheCounts, instance: &str) -> (u64, Option<u64>) {
    counts
        .instance(instance)
        .and_then(|i| i.count.counted())
        .unwrap_or_else(|| panic!("{instance} not counted: {counts:#?}"))
}

fn with_prefix(keys: &BTreeSet<Vec<u8>>, prefix: &str) -> usize {
    let start = format!("{prefix}:");
    keys.iter()
        .filter(|k| k.starts_with(start.as_bytes()))
        .count()
}

async fn flush(ws: &Workspace, scope: FlushScope) -> FlushReport {
    let preview = cache::preview_part(ws, scope, FlushPart::All, |_| {})
        .await
        .unwrap();
    cache::flush(ws, &preview, &CancelToken::new(), |_| {}).await
}

// ---- the property: exact counts, exact flushes ----

/// The brute-force reference: which prefix a key starts with, followed by `:`.
fn owner_of(prefixes: &[String], key: &[u8]) -> Option<usize> {
    prefixes
        .iter()
        .position(|p| key.len() > p.len() && key.starts_with(p.as_bytes()) && key[p.len()] == b':')
}

/// `{prefix}:{digits}:django.contrib.sessions.cache…`, checked by splitting on `:`.
fn is_session(prefix: &str, key: &[u8]) -> bool {
    let rest = &key[prefix.len() + 1..];
    let mut parts = rest.splitn(2, |&b| b == b':');
    let version = parts.next().unwrap_or_default();
    let after = parts.next();
    !version.is_empty()
        && version.iter().all(u8::is_ascii_digit)
        && after.is_some_and(|a| a.starts_with(SESSION))
}

/// Prefixes as kovan.toml accepts them together: distinct, and none the other followed by `:`.
fn valid_together(prefixes: &[String]) -> bool {
    prefixes.iter().enumerate().all(|(i, p)| {
        prefixes.iter().enumerate().all(|(j, q)| {
            i == j || (p != q && !q.as_bytes().starts_with(format!("{p}:").as_bytes()))
        })
    })
}

fn prefix() -> impl Strategy<Value = String> {
    let pieces = vec![
        "chat", "_main", ":main", "main", ":", "*", "?", "[", "]", "\\", "\"", "'", "é", "x",
    ];
    prop::collection::vec(prop::sample::select(pieces), 1..4).prop_map(|p| p.concat())
}

fn prefixes() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        1 => Just(vec!["chat".to_string(), "chat_main".to_string()]),
        1 => Just(vec!["chat_main".to_string(), "chat:main".to_string(), "chat".to_string() + "_api"]),
        4 => prop::collection::vec(prefix(), 1..=4),
    ]
    .prop_filter("prefixes kovan.toml accepts together", |p| valid_together(p))
}

fn tail() -> impl Strategy<Value = Vec<u8>> {
    let tricky = prop::sample::select(b" \"'\n\r\t*?[]\\:\0\xff\xc3".to_vec());
    prop_oneof![
        12 => prop::collection::vec(prop_oneof![any::<u8>(), tricky], 0..16),
        1 => prop::collection::vec(any::<u8>(), 10_000),
    ]
}

/// How a key is made from the prefixes: (shape, instance, version, tail).
type KeySpec = (u8, usize, u16, Vec<u8>);

fn build_key(prefixes: &[String], (shape, instance, version, tail): &KeySpec) -> Vec<u8> {
    let prefix = prefixes[instance % prefixes.len()].as_bytes();
    let mut key = Vec::new();
    match shape % 6 {
        // An instance's key: `{prefix}:{version}:{tail}`.
        0 | 1 => key.extend_from_slice(format!(":{version}:").as_bytes()),
        // A cached session.
        2 => {
            key.extend_from_slice(format!(":{version}:").as_bytes());
            key.extend_from_slice(SESSION);
        }
        // Another app's key, anything at all.
        3 => {}
        // Near misses: the prefix without its colon, or the prefix shortened by a byte.
        4 => key.extend_from_slice(b"_"),
        _ => key.extend_from_slice(b"#"),
    }
    let mut out = match shape % 6 {
        3 => Vec::new(),
        5 => prefix[..prefix.len() - 1].to_vec(),
        _ => prefix.to_vec(),
    };
    out.extend_from_slice(&key);
    out.extend_from_slice(tail);
    out
}

#[derive(Debug, Clone)]
struct Case {
    prefixes: Vec<String>,
    keys: Vec<KeySpec>,
    /// Which instances to flush; all of them as `FlushScope::All` when `all`.
    flush: Vec<bool>,
    all: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let spec = (any::<u8>(), any::<usize>(), 0u16..1000, tail());
    (
        prefixes(),
        prop::collection::vec(spec, 0..60),
        prop::collection::vec(any::<bool>(), 4),
        any::<bool>(),
    )
        .prop_map(|(prefixes, keys, flush, all)| Case {
            prefixes,
            keys,
            flush,
            all,
        })
}

async fn check(redis: &Redis, case: Case) -> Result<(), TestCaseError> {
    let mut conn = connect(redis).await;
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    load(
        &mut conn,
        case.keys.iter().map(|spec| build_key(&case.prefixes, spec)),
    )
    .await;
    let names: Vec<String> = (0..case.prefixes.len()).map(|i| format!("i{i}")).collect();
    let (_dir, ws) = workspace(
        &redis.url(),
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
        &case.prefixes.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    // Counts equal a brute-force count over KEYS *.
    let before = all_keys(&mut conn).await;
    let mut expected = vec![(0u64, 0u64); case.prefixes.len()];
    let mut other = 0;
    for key in &before {
        match owner_of(&case.prefixes, key) {
            Some(i) => {
                expected[i].0 += 1;
                expected[i].1 += u64::from(is_session(&case.prefixes[i], key));
            }
            None => other += 1,
        }
    }
    let counts = cache::count(&ws, |_| {}).await;
    for (i, name) in names.iter().enumerate() {
        prop_assert_eq!(
            &counts.instance(name).unwrap().count,
            &KeyCount::Counted {
                keys: expected[i].0,
                sessions: Some(expected[i].1)
            },
            "{} with prefix {:?}",
            name,
            case.prefixes[i]
        );
    }
    let total = before.len() as u64;
    prop_assert_eq!(
        counts.redis.clone().unwrap(),
        RedisKeys::Counted {
            url: redis.url(),
            dbsize: total,
            scanned: total,
            other_apps: other
        }
    );

    // A flush deletes exactly the chosen instances' keys.
    let chosen: Vec<usize> = (0..names.len())
        .filter(|&i| case.all || case.flush[i])
        .collect();
    let scope = if case.all {
        FlushScope::All
    } else {
        FlushScope::Instances(chosen.iter().map(|&i| names[i].clone()).collect())
    };
    let preview = cache::preview_part(&ws, scope, FlushPart::All, |_| {})
        .await
        .unwrap();
    let to_delete: u64 = chosen.iter().map(|&i| expected[i].0).sum();
    let sessions: u64 = chosen.iter().map(|&i| expected[i].1).sum();
    prop_assert_eq!((preview.keys, preview.sessions), (to_delete, sessions));
    let report = cache::flush(&ws, &preview, &CancelToken::new(), |_| {}).await;
    prop_assert!(report.succeeded(), "{:#?}", report);
    prop_assert_eq!(
        (report.deleted, report.sessions_deleted),
        (to_delete, sessions)
    );
    for &i in &chosen {
        let flushed = &report.instances.iter().find(|f| f.instance == names[i]);
        prop_assert_eq!(flushed.unwrap().deleted, expected[i].0);
    }
    let after = all_keys(&mut conn).await;
    let kept: BTreeSet<Vec<u8>> = before
        .into_iter()
        .filter(|k| owner_of(&case.prefixes, k).is_none_or(|i| !chosen.contains(&i)))
        .collect();
    prop_assert_eq!(after, kept);
    Ok(())
}

#[test]
fn counts_match_a_brute_force_count_and_a_flush_deletes_exactly_its_instances_keys() {
    let redis = Redis::start();
    let rt = runtime();
    // Few cases keep the suite fast; PROPTEST_CASES=1000 searches harder.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(), |case| rt.block_on(check(&redis, case)))
        .unwrap();
}

// ---- scale, sessions, other apps ----

#[test]
fn one_pass_counts_many_batches_and_a_global_flush_leaves_other_apps_alone() {
    let redis = Redis::start();
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        for name in ["chat_main", "chat_api", "chat_websocket"] {
            let prefix = format!("t_{name}");
            load(&mut conn, keys(&prefix, 3000).chain(sessions(&prefix, 300))).await;
        }
        // Other apps, some looking almost like ours.
        load(&mut conn, keys("other_app", 1500)).await;
        load(&mut conn, keys("t_chat_main_old", 300)).await;
        load(&mut conn, keys("t_chat", 200)).await;
        let (_dir, ws) = chat_trio(&redis.url());

        let mut reports = Vec::new();
        let counts = cache::count(&ws, |p| reports.push(p)).await;
        for name in ["chat_main", "chat_api", "chat_websocket"] {
            assert_eq!(counted(&counts, name), (3300, Some(300)), "{name}");
        }
        assert_eq!(counts.other_apps(), Some(2000));
        let last = reports.last().unwrap();
        assert_eq!((last.scanned, last.dbsize), (11_900, 11_900));

        let preview = cache::preview_part(&ws, FlushScope::All, FlushPart::All, |_| {})
            .await
            .unwrap();
        assert_eq!((preview.keys, preview.sessions), (9900, 900));
        // The window sends the preview it showed back to be flushed.
        let json = serde_json::to_value(&preview).unwrap();
        assert_eq!(json["scope"], "all");
        assert_eq!(
            serde_json::from_value::<FlushPreview>(json).unwrap(),
            preview
        );
        let mut progress = Vec::new();
        let report = cache::flush(&ws, &preview, &CancelToken::new(), |p| progress.push(p)).await;
        assert!(report.succeeded(), "{report:#?}");
        assert_eq!((report.deleted, report.sessions_deleted), (9900, 900));
        assert!(report
            .instances
            .iter()
            .all(|i| i.method == Some(DeleteCommand::Unlink) && i.deleted == 3300));
        let last = progress.last().unwrap();
        assert_eq!((last.deleted, last.expected), (9900, 9900));

        let left = all_keys(&mut conn).await;
        assert_eq!(left.len(), 2000);
        assert_eq!(with_prefix(&left, "other_app"), 1500);
        assert_eq!(with_prefix(&left, "t_chat_main_old"), 300);
    });
}

#[test]
fn a_flush_with_nothing_to_delete_succeeds_and_deletes_nothing() {
    let redis = Redis::start();
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        load(&mut conn, keys("other_app", 50)).await;
        let (_dir, ws) = chat_trio(&redis.url());
        let report = flush(&ws, FlushScope::Instances(vec!["chat_api".into()])).await;
        assert!(report.succeeded(), "{report:#?}");
        assert_eq!((report.deleted, report.cancelled), (0, false));
        assert_eq!(report.instances.len(), 1);
        assert_eq!(all_keys(&mut conn).await.len(), 50);

        // An empty database too.
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
        let report = flush(&ws, FlushScope::All).await;
        assert!(report.succeeded() && report.deleted == 0, "{report:#?}");
    });
}

/// The commands Redis ran so far, by name (`INFO commandstats`).
async fn commands_run(conn: &mut MultiplexedConnection) -> BTreeSet<String> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| l.strip_prefix("cmdstat_"))
        .filter_map(|l| l.split(':').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_flush_deletes_only_keys_its_scan_matched_even_when_the_database_holds_nothing_else() {
    let redis = Redis::start();
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        let (_dir, ws) = chat_trio(&redis.url());
        load(
            &mut conn,
            keys("t_chat_main", 2000).chain(sessions("t_chat_main", 10)),
        )
        .await;
        redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
        let report = flush(&ws, FlushScope::Instances(vec!["chat_main".into()])).await;
        assert!(report.succeeded(), "{report:#?}");
        assert_eq!(report.instances[0].method, Some(DeleteCommand::Unlink));
        assert_eq!((report.deleted, report.sessions_deleted), (2010, 10));
        assert!(all_keys(&mut conn).await.is_empty());
        // Not FLUSHDB, nor a script that could run it: a database that held only the scope's keys
        // at the preview may hold another client's key by the time a FLUSHDB would run.
        let ran = commands_run(&mut conn).await;
        for never in ["flushdb", "flushall", "eval", "evalsha", "fcall"] {
            assert!(!ran.contains(never), "the flush ran {never}: {ran:?}");
        }
        assert!(ran.contains("scan") && ran.contains("unlink"), "{ran:?}");
    });
}

#[test]
fn servers_without_unlink_get_del() {
    let redis = Redis::start_with(&["--rename-command", "UNLINK", ""]);
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        let (_dir, ws) = chat_trio(&redis.url());
        load(&mut conn, keys("t_chat_main", 2500)).await;
        let report = flush(&ws, FlushScope::Instances(vec!["chat_main".into()])).await;
        assert!(report.succeeded(), "{report:#?}");
        assert_eq!(report.instances[0].method, Some(DeleteCommand::Del));
        assert_eq!(report.deleted, 2500);
        assert!(all_keys(&mut conn).await.is_empty());
    });
}

// ---- cancel, crash, errors ----

#[test]
fn cancel_stops_between_batches_and_the_report_says_how_many_went() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let mut conn = connect(&redis).await;
        load(
            &mut conn,
            keys("t_chat_main", 20_000).chain(keys("other", 20_000)),
        )
        .await;
    });
    let (_dir, ws) = chat_trio(&redis.url());
    let cancel = CancelToken::new();
    // Spawned, as the desktop shell runs them: the futures are Send.
    let (ws, token) = (ws.clone(), cancel.clone());
    let report = rt
        .block_on(rt.spawn(async move {
            let scope = FlushScope::Instances(vec!["chat_main".into()]);
            let preview = cache::preview_part(&ws, scope, FlushPart::All, |_| {})
                .await
                .unwrap();
            cache::flush(&ws, &preview, &token, |_| token.cancel()).await
        }))
        .unwrap();
    assert!(report.cancelled, "{report:#?}");
    assert_eq!(report.instances[0].outcome, FlushOutcome::Cancelled);
    assert!(report.deleted > 0 && report.deleted < 20_000, "{report:#?}");
    let left = rt.block_on(async { all_keys(&mut connect(&redis).await).await });
    assert_eq!(
        with_prefix(&left, "t_chat_main") as u64,
        20_000 - report.deleted,
        "every deletion is counted, and none after the cancel"
    );
    assert_eq!(with_prefix(&left, "other"), 20_000);
}

#[test]
fn redis_killed_mid_flush_gives_a_clear_error_and_a_report_of_what_went() {
    let durable = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut redis = Redis::start_with(&durable);
    let rt = runtime();
    rt.block_on(async {
        let mut conn = connect(&redis).await;
        load(
            &mut conn,
            keys("t_chat_main", 30_000).chain(keys("other", 1000)),
        )
        .await;
    });
    let (_dir, ws) = chat_trio(&redis.url());
    let report = rt.block_on(async {
        let preview = cache::preview_part(
            &ws,
            FlushScope::Instances(vec!["chat_main".into()]),
            FlushPart::All,
            |_| {},
        )
        .await
        .unwrap();
        let mut killed = false;
        cache::flush(&ws, &preview, &CancelToken::new(), |_| {
            if !killed {
                redis.kill();
                killed = true;
            }
        })
        .await
    });
    assert!(!report.succeeded());
    let (flushed, kind, message) = report.failures().next().expect("a failure");
    assert_eq!(kind, "redis_connection_lost", "{message}");
    assert!(
        message.contains("was lost during the flush, after")
            && message.contains(&format!(
                "and {} deleted",
                kovan_core::text::grouped(flushed.deleted)
            )),
        "{message}"
    );
    assert!(report.deleted > 0, "{report:#?}");

    redis.restart(&durable);
    let left = rt.block_on(async { all_keys(&mut connect(&redis).await).await });
    let really_deleted = 30_000 - with_prefix(&left, "t_chat_main") as u64;
    assert!(
        report.deleted <= really_deleted,
        "reported {} deleted, {really_deleted} are gone",
        report.deleted
    );
    assert_eq!(with_prefix(&left, "other"), 1000);
}

fn redis_failure(counts: &CacheCounts) -> (String, String) {
    match counts.redis.clone() {
        Some(RedisKeys::Failed { kind, message, .. }) => (kind.as_str().to_string(), message),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn errors_tell_refused_login_tls_and_timeout_apart_and_never_show_the_password() {
    let rt = runtime();
    let port = support::free_port();
    let (_dir, ws) = chat_trio(&format!("redis://:hunter2secret@127.0.0.1:{port}/0"));
    let counts = rt.block_on(cache::count(&ws, |_| {}));
    let (kind, message) = redis_failure(&counts);
    assert_eq!(kind, "redis_refused");
    assert!(
        message.contains(&format!("redis://:***@127.0.0.1:{port}/0"))
            && !message.contains("hunter2"),
        "{message}"
    );
    assert!(
        matches!(&counts.instance("chat_main").unwrap().count, KeyCount::Failed { kind, .. } if kind.as_str() == "redis_refused")
    );

    let password = "p@ss:w/rd%";
    let redis = Redis::start_with(&[
        "--requirepass",
        password,
        "--user",
        "alice",
        "on",
        ">alicepw",
        "~*",
        "&*",
        "+@all",
    ]);
    let encoded = "p%40ss%3Aw%2Frd%25";
    for url in [
        format!("redis://:wrongpass@127.0.0.1:{}/0", redis.port),
        format!("redis://alice:{encoded}@127.0.0.1:{}/0", redis.port),
        format!("redis://127.0.0.1:{}/0", redis.port),
    ] {
        let (_dir, ws) = chat_trio(&url);
        let (kind, message) = redis_failure(&rt.block_on(cache::count(&ws, |_| {})));
        assert_eq!(kind, "redis_auth_failed", "{url}: {message}");
        assert!(
            !message.contains("wrongpass")
                && !message.contains(encoded)
                && !message.contains(password),
            "{message}"
        );
    }
    // The right passwords, the default user's and a named user's, percent-encoded in the URL.
    for url in [
        format!("redis://:{encoded}@127.0.0.1:{}/0", redis.port),
        format!("redis://alice:alicepw@127.0.0.1:{}/0", redis.port),
    ] {
        let (_dir, ws) = chat_trio(&url);
        let counts = rt.block_on(cache::count(&ws, |_| {}));
        assert!(
            matches!(counts.redis, Some(RedisKeys::Counted { .. })),
            "{url}: {counts:#?}"
        );
    }

    // TLS to a server that does not speak it: it takes the connection and stays silent.
    let timeouts = Timeouts {
        connect: Duration::from_millis(500),
        response: Duration::from_millis(300),
    };
    let plain = Redis::start();
    let (_dir, ws) = chat_trio(&format!("rediss://127.0.0.1:{}/0", plain.port));
    let err = rt
        .block_on(RedisCache::connect_with(
            ws.redis.as_ref().unwrap(),
            timeouts,
        ))
        .err()
        .expect("a TLS failure");
    assert_eq!(err.kind().as_str(), "redis_tls_failed", "{err}");

    // A server that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || silent.accept().map(|(stream, _)| stream));
    let (_dir, ws) = chat_trio(&format!("redis://127.0.0.1:{silent_port}/0"));
    let err = rt
        .block_on(RedisCache::connect_with(
            ws.redis.as_ref().unwrap(),
            timeouts,
        ))
        .err()
        .expect("a timeout");
    assert_eq!(err.kind().as_str(), "redis_timeout", "{err}");
    assert!(err.to_string().contains("did not answer"), "{err}");
    drop(holder);
}

#[test]
fn the_database_index_in_the_url_is_the_one_counted() {
    let redis = Redis::start();
    runtime().block_on(async {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/3", redis.port)).unwrap();
        let mut db3 = client.get_multiplexed_async_connection().await.unwrap();
        load(&mut db3, keys("t_chat_main", 7)).await;
        load(&mut connect(&redis).await, keys("t_chat_main", 2)).await;
        for (db, expected) in [(0, 2), (3, 7)] {
            let (_dir, ws) = chat_trio(&format!("redis://127.0.0.1:{}/{db}", redis.port));
            let counts = cache::count(&ws, |_| {}).await;
            assert_eq!(
                counted(&counts, "chat_main"),
                (expected, Some(0)),
                "db {db}"
            );
        }
    });
}

#[test]
fn a_counter_skips_a_count_while_one_runs() {
    let redis = Redis::start();
    runtime().block_on(async {
        load(&mut connect(&redis).await, keys("t_chat_main", 5000)).await;
        let (_dir, ws) = chat_trio(&redis.url());
        let counter = Counter::new();
        // join! polls the first count (which claims the counter and waits on the network), then
        // the second, in the same poll.
        let (first, second) = tokio::join!(counter.count(&ws, |_| {}), async {
            (counter.is_counting(), counter.count(&ws, |_| {}).await)
        });
        assert_eq!(counted(&first.unwrap(), "chat_main"), (5000, Some(0)));
        assert_eq!(second, (true, None), "the overlapping count is skipped");
        assert!(!counter.is_counting());
        assert!(counter.count(&ws, |_| {}).await.is_some(), "free again");
    });
}

#[test]
fn a_flusher_runs_one_flush_at_a_time_cancels_it_from_outside_and_records_it() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let mut conn = connect(&redis).await;
        load(
            &mut conn,
            keys("t_chat_main", 30_000).chain(keys("t_chat_api", 10)),
        )
        .await;
    });
    let (dir, ws) = chat_trio(&redis.url());
    let store = kovan_core::store::Store::open(&dir.path().join("kovan.sqlite3")).unwrap();
    let flusher = Flusher::new();
    let (report, refused, cancelled) = rt.block_on(async {
        let preview = cache::preview_part(
            &ws,
            FlushScope::Instances(vec!["chat_main".into()]),
            FlushPart::All,
            |_| {},
        )
        .await
        .unwrap();
        let mut others = None;
        let report = flusher
            .run(&ws, &preview, None, Some(&store), |_| {
                // A second flush and a cancel arrive while the first reports progress, as two
                // more IPC calls would.
                if others.is_none() {
                    let again = futures_now(flusher.run(&ws, &preview, None, None, |_| {}));
                    others = Some((again, flusher.cancel()));
                }
            })
            .await
            .unwrap();
        let (refused, cancelled) = others.expect("progress was reported");
        (report, refused, cancelled)
    });
    let refused = refused
        .expect("the second flush returns at once")
        .unwrap_err();
    assert_eq!(refused.kind().as_str(), "flush_running", "{refused}");
    assert!(refused.to_string().contains("chat_main"), "{refused}");
    assert!(cancelled, "cancel reached the running flush");
    assert!(report.cancelled && report.deleted < 30_000, "{report:#?}");
    assert!(!flusher.is_running() && !flusher.cancel(), "free again");

    let events = store.events(&ws.file, 10).unwrap();
    assert_eq!(
        events.len(),
        1,
        "one event per instance in the scope: {events:#?}"
    );
    let event = &events[0];
    assert_eq!(event.instance.as_deref(), Some("chat_main"));
    match &event.event {
        HistoryEvent::Flush {
            deleted,
            scope,
            outcome,
            ..
        } => {
            assert_eq!(*deleted, report.deleted);
            assert_eq!(*scope, FlushScope::Instances(vec!["chat_main".into()]));
            assert_eq!(*outcome, FlushOutcome::Cancelled);
        }
        other => panic!("not a flush: {other:?}"),
    }
}

/// Poll a future once: its result when it is ready at once, None when it would wait.
fn futures_now<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::noop();
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
    {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}
