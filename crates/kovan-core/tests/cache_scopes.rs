//! What a flush takes of each instance's cache (the part: cache, sessions, all, a key group),
//! against a real redis-server: each part deletes exactly its keys and nothing else, a glob never
//! reaches outside the prefix, session rows are counted and deleted in SQLite, and the generated
//! `clear_cache --type` run by real Django agrees with Kovan on the same data.

mod support;

use std::collections::BTreeSet;

use kovan_core::cache::redis::glob_matches;
use kovan_core::cache::{
    self, CancelToken, DbSessions, FlushPart, FlushPreview, FlushReport, FlushScope, SessionEngine,
};
use kovan_core::Workspace;
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

/// Instances `a` (prefix `t_a`) and `b` (a prefix full of glob characters) on Redis at `url`;
/// `settings` becomes the project's settings module.
fn workspace(url: &str, database: &str, settings: Option<&str>) -> (tempfile::TempDir, Workspace) {
    let mut body = format!("[redis]\nurl = {}\n", toml_string(url));
    body.push_str(&format!("\n[database]\nengine = \"{database}\"\n"));
    for (i, (name, prefix)) in [("a", "t_a"), ("b", "t*b[1]\\?")].iter().enumerate() {
        body.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\ncache = \"redis\"\ncache_prefix = {}\n",
            21000 + i,
            toml_string(prefix)
        ));
    }
    let (dir, ws) = support::cache_workspace(&body);
    if let Some(text) = settings {
        std::fs::create_dir_all(dir.path().join("t")).unwrap();
        std::fs::write(dir.path().join("t/settings.py"), text).unwrap();
    }
    (dir, ws)
}

const CACHED_DB: &str = "SESSION_ENGINE = \"django.contrib.sessions.backends.cached_db\"\n";

/// What comes after `{prefix}:{version}:` in the key set: Django's own families, the project's,
/// sessions of both cache engines, and keys no glob or shell handles kindly.
fn tails() -> Vec<Vec<u8>> {
    let mut tails: Vec<Vec<u8>> = [
        &b"plain"[..],
        b"views.decorators.cache.cache_page.GET.abc",
        b"views.decorators.cache.cache_header.xyz",
        b"views.decorators.cacheX",
        b"template.cache.sidebar.1",
        b"a b c",
        b"quote\"'s",
        b"*",
        b"?",
        b"[x]",
        b"back\\slash",
        b"new\nline",
        b"\xff\xfe not utf-8",
        b"colon:inside",
        b"django.contrib.sessions.cacheabc123",
        b"django.contrib.sessions.cached_dbxyz789",
        b"django.contrib.sessions.cache",
        b"",
    ]
    .iter()
    .map(|t| t.to_vec())
    .collect();
    for i in 0..1500 {
        tails.push(format!("bulk.{i}").into_bytes());
    }
    for i in 0..300 {
        tails.push(format!("django.contrib.sessions.cache{i:032}").into_bytes());
    }
    tails
}

fn key(prefix: &[u8], version: &[u8], tail: &[u8]) -> Vec<u8> {
    [prefix, b":", version, b":", tail].concat()
}

/// Both instances' keys in versions 1 and 2, keys under the prefix that make_key did not write,
/// and other apps' keys that look like ours.
fn key_set() -> BTreeSet<Vec<u8>> {
    let mut keys = BTreeSet::new();
    for prefix in [&b"t_a"[..], b"t*b[1]\\?"] {
        for version in [&b"1"[..], b"2"] {
            for tail in tails() {
                keys.insert(key(prefix, version, &tail));
            }
        }
        let odd: [&[u8]; 5] = [
            b":x:django.contrib.sessions.cacheq",
            b":",
            b":views.decorators.cache.noversion",
            b"::plain",
            b":1x:plain",
        ];
        for tail in odd {
            keys.insert([prefix, tail].concat());
        }
    }
    for other in [
        &b"other_app:1:plain"[..],
        b"other_app:1:django.contrib.sessions.cacheabc",
        b"t_a_old:1:plain",
        b"t_a",
        b"t_aa:1:views.decorators.cache.x",
        b"t_b:1:plain",
        b"tXb1?:1:plain",
        b"t*b[1]\\:1:plain",
    ] {
        keys.insert(other.to_vec());
    }
    keys
}

async fn connect(redis: &Redis) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The database holds exactly `keys` (this test's own server).
async fn reload(conn: &mut MultiplexedConnection, keys: &BTreeSet<Vec<u8>>) {
    redis::cmd("FLUSHDB").query_async::<()>(conn).await.unwrap();
    let keys: Vec<&Vec<u8>> = keys.iter().collect();
    for chunk in keys.chunks(2000) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("SET").arg(key.as_slice()).arg("v").ignore();
        }
        pipe.query_async::<()>(conn).await.unwrap();
    }
}

async fn all_keys(conn: &mut MultiplexedConnection) -> BTreeSet<Vec<u8>> {
    redis::cmd("KEYS").arg("*").query_async(conn).await.unwrap()
}

/// The tails among `tails` that Redis itself matches with `glob`: set as keys of database 9, then
/// KEYS. The reference for the key groups, independent of Kovan's matcher.
async fn redis_matches(
    conn: &mut MultiplexedConnection,
    tails: &BTreeSet<Vec<u8>>,
    glob: &[u8],
) -> BTreeSet<Vec<u8>> {
    redis::cmd("SELECT")
        .arg(9)
        .query_async::<()>(conn)
        .await
        .unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(conn).await.unwrap();
    let mut pipe = redis::pipe();
    for tail in tails {
        pipe.cmd("SET").arg(tail.as_slice()).arg("v").ignore();
    }
    pipe.query_async::<()>(conn).await.unwrap();
    let matched: BTreeSet<Vec<u8>> = redis::cmd("KEYS")
        .arg(glob)
        .query_async(conn)
        .await
        .unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(conn).await.unwrap();
    redis::cmd("SELECT")
        .arg(0)
        .query_async::<()>(conn)
        .await
        .unwrap();
    matched
}

/// `{prefix}:{digits}:` then the rest, or None.
fn split<'k>(prefix: &[u8], key: &'k [u8]) -> Option<(bool, Option<&'k [u8]>)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix(b":")?;
    let colon = rest.iter().position(|&b| b == b':');
    let tail = colon
        .filter(|&c| c > 0 && rest[..c].iter().all(u8::is_ascii_digit))
        .map(|c| &rest[c + 1..]);
    Some((tail.is_some_and(|t| t.starts_with(SESSION)), tail))
}

/// The brute-force reference: the keys of instance `a` the part takes.
async fn expected(
    conn: &mut MultiplexedConnection,
    keys: &BTreeSet<Vec<u8>>,
    part: &FlushPart,
) -> BTreeSet<Vec<u8>> {
    let prefix = b"t_a";
    let glob_tails = match part {
        FlushPart::Match(glob) => {
            let tails: BTreeSet<Vec<u8>> = keys
                .iter()
                .filter_map(|k| split(prefix, k).and_then(|(_, t)| t).map(<[u8]>::to_vec))
                .collect();
            Some(redis_matches(conn, &tails, glob.as_bytes()).await)
        }
        _ => None,
    };
    keys.iter()
        .filter(|k| match (split(prefix, k), part) {
            (None, _) => false,
            (Some(_), FlushPart::All) => true,
            (Some((session, _)), FlushPart::Cache) => !session,
            (Some((session, _)), FlushPart::Sessions) => session,
            (Some((_, tail)), FlushPart::Match(_)) => {
                tail.is_some_and(|t| glob_tails.as_ref().unwrap().contains(t))
            }
        })
        .cloned()
        .collect()
}

async fn preview(ws: &Workspace, instances: &[&str], part: FlushPart) -> FlushPreview {
    let scope = FlushScope::Instances(instances.iter().map(|s| s.to_string()).collect());
    cache::preview_part(ws, scope, part, |_| {}).await.unwrap()
}

async fn run(ws: &Workspace, preview: &FlushPreview) -> FlushReport {
    let report = cache::flush(ws, preview, &CancelToken::new(), |_| {}).await;
    assert!(report.succeeded(), "{report:#?}");
    report
}

fn printable(keys: &BTreeSet<Vec<u8>>) -> Vec<String> {
    keys.iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

#[test]
fn each_part_deletes_exactly_its_keys_and_a_glob_never_leaves_the_prefix() {
    let redis = Redis::start();
    let (_dir, ws) = workspace(&redis.url(), "sqlite", Some(CACHED_DB));
    let keys = key_set();
    let globs = [
        "views.decorators.cache.*",
        "*",
        "*:*",
        "?",
        "\\*",
        "[x]",
        "*\n*",
        "*[^a-z]*",
        "django.contrib.sessions.*",
        "bulk.1[0-4]?",
        "../*",
        "\\",
        "[",
        "*]",
        "1:*",
        "t_a:*",
        "*\u{1}",
    ];
    let mut parts = vec![FlushPart::Cache, FlushPart::Sessions, FlushPart::All];
    parts.extend(globs.iter().map(|g| FlushPart::Match(g.to_string())));
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        for part in parts {
            reload(&mut conn, &keys).await;
            if part.check().is_err() {
                // A glob nobody can mean (a lone `\\`, an open `[`) is refused before anything is
                // counted, and nothing is deleted.
                let scope = FlushScope::Instances(vec!["a".into()]);
                let refused = cache::preview_part(&ws, scope, part.clone(), |_| {}).await;
                assert!(refused.is_err(), "{part:?} was not refused");
                assert_eq!(all_keys(&mut conn).await, keys, "{part:?}");
                continue;
            }
            let want = expected(&mut conn, &keys, &part).await;
            let sessions = want
                .iter()
                .filter(|k| split(b"t_a", k).is_some_and(|(s, _)| s))
                .count() as u64;
            let shown = preview(&ws, &["a"], part.clone()).await;
            assert_eq!(
                (shown.keys, shown.sessions),
                (want.len() as u64, sessions),
                "{part:?}: {:#?}",
                shown.parts
            );
            let report = run(&ws, &shown).await;
            assert_eq!(report.part, part);
            assert_eq!(
                (report.deleted, report.sessions_deleted),
                (want.len() as u64, sessions),
                "{part:?}"
            );
            let left = all_keys(&mut conn).await;
            let gone: BTreeSet<Vec<u8>> = keys.difference(&left).cloned().collect();
            assert_eq!(printable(&gone), printable(&want), "{part:?}");
            assert!(
                gone.iter().all(|k| k.starts_with(b"t_a:")),
                "{part:?} reached outside the prefix"
            );
        }
        // The named groups really are what the test says they are.
        reload(&mut conn, &keys).await;
        let group = expected(
            &mut conn,
            &keys,
            &FlushPart::Match("views.decorators.cache.*".into()),
        )
        .await;
        assert_eq!(group.len(), 4, "{:?}", printable(&group));
        let everything = expected(&mut conn, &keys, &FlushPart::Match("*".into())).await;
        assert_eq!(
            everything.len(),
            2 * tails().len(),
            "every versioned key of a"
        );
    });
}

#[test]
fn the_parts_in_words_and_the_parts_of_two_instances_together() {
    let redis = Redis::start();
    let (_dir, ws) = workspace(&redis.url(), "sqlite", Some(CACHED_DB));
    let keys = key_set();
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        reload(&mut conn, &keys).await;
        let shown = preview(&ws, &["a"], FlushPart::Cache).await;
        // Per version: 1,500 bulk + 14 others + the empty tail; 302 sessions. Then the five odd.
        let cache_keys = 2 * (1500 + 15) + 5;
        let sessions = 2 * 303;
        assert_eq!(
            shown.parts[0].summary,
            format!(
                "3,035 cache keys of a; sessions are kept: {} sessions stay",
                sessions
            )
        );
        assert_eq!(shown.keys, cache_keys);
        assert_eq!(shown.parts[0].db_sessions, DbSessions::NotInScope);
        assert_eq!(shown.parts[0].engine, SessionEngine::CachedDb);
        let json = serde_json::to_value(&shown).unwrap();
        assert_eq!(json["part"], "cache");
        assert_eq!(serde_json::from_value::<FlushPreview>(json).unwrap(), shown);
        let grouped = preview(&ws, &["a"], FlushPart::Match("bulk.*".into())).await;
        assert_eq!(
            serde_json::to_value(&grouped).unwrap()["part"]["match"],
            "bulk.*"
        );

        // Both instances: one pass, each its own part.
        let both = preview(&ws, &["a", "b"], FlushPart::Sessions).await;
        assert_eq!(both.keys, 2 * sessions);
        let report = run(&ws, &both).await;
        assert_eq!(report.deleted, 2 * sessions);
        let left = all_keys(&mut conn).await;
        assert_eq!(left.len() as u64, keys.len() as u64 - 2 * sessions);
        let sessions_of_both: BTreeSet<Vec<u8>> = keys
            .iter()
            .filter(|k| {
                [&b"t_a"[..], b"t*b[1]\\?"]
                    .iter()
                    .any(|p| split(p, k).is_some_and(|(session, _)| session))
            })
            .cloned()
            .collect();
        let gone: BTreeSet<Vec<u8>> = keys.difference(&left).cloned().collect();
        assert_eq!(printable(&gone), printable(&sessions_of_both));
    });
}

#[test]
fn an_older_preview_without_a_part_flushes_the_cache_and_keeps_sessions() {
    let redis = Redis::start();
    let (_dir, ws) = workspace(&redis.url(), "sqlite", None);
    let keys = key_set();
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        reload(&mut conn, &keys).await;
        // The window as it was: a scope only, and the preview sent back as it came.
        let old = cache::preview(&ws, FlushScope::Instances(vec!["a".into()]), |_| {})
            .await
            .unwrap();
        let mut json = serde_json::to_value(&old).unwrap();
        for field in ["part", "parts", "dbSessions"] {
            json.as_object_mut().unwrap().remove(field);
        }
        let sent: FlushPreview = serde_json::from_value(json).unwrap();
        assert_eq!(sent.part, FlushPart::Cache);
        let report = run(&ws, &sent).await;
        assert_eq!(report.sessions_deleted, 0);
        let left = all_keys(&mut conn).await;
        let want = expected(&mut conn, &keys, &FlushPart::Cache).await;
        assert_eq!(keys.len() - left.len(), want.len());
        // No settings module: the engine is unknown, and the preview says what was not counted.
        let sessions = preview(&ws, &["a"], FlushPart::Sessions).await;
        assert!(
            matches!(&sessions.parts[0].db_sessions, DbSessions::NotCounted { reason } if reason.contains("unknown")),
            "{:#?}",
            sessions.parts[0]
        );
        assert!(
            sessions.parts[0].summary.contains("db sessions not counted"),
            "{}",
            sessions.parts[0].summary
        );
    });
}

fn session_rows(ws: &Workspace, instance: &str, rows: usize) -> std::path::PathBuf {
    let path = ws
        .project
        .django_root
        .join(&ws.instance(instance).unwrap().names.database);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS django_session (session_key varchar(40) NOT NULL PRIMARY KEY, \
         session_data text NOT NULL, expire_date datetime NOT NULL); DELETE FROM django_session;",
    )
    .unwrap();
    for i in 0..rows {
        conn.execute(
            "INSERT INTO django_session VALUES (?1, 'e30:x', '2000-01-01 00:00:00')",
            [format!("s{i:039}")],
        )
        .unwrap();
    }
    path
}

fn rows_left(path: &std::path::Path) -> u64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM django_session", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn session_rows_are_counted_and_deleted_with_the_sessions_and_kept_with_the_cache() {
    let redis = Redis::start();
    let (_dir, ws) = workspace(&redis.url(), "sqlite", Some(CACHED_DB));
    let keys = key_set();
    let db = session_rows(&ws, "a", 7);
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        reload(&mut conn, &keys).await;
        let kept = preview(&ws, &["a"], FlushPart::Cache).await;
        assert_eq!(kept.db_sessions, 0);
        run(&ws, &kept).await;
        assert_eq!(rows_left(&db), 7, "the cache part keeps the rows");

        let shown = preview(&ws, &["a"], FlushPart::Sessions).await;
        assert_eq!(shown.db_sessions, 7);
        assert_eq!(shown.parts[0].db_sessions, DbSessions::Counted { rows: 7 });
        assert!(
            shown.parts[0].summary.ends_with("; db sessions: 7 rows"),
            "{}",
            shown.parts[0].summary
        );
        let report = run(&ws, &shown).await;
        assert_eq!(report.db_sessions_deleted, 7);
        assert_eq!(report.instances[0].db_sessions_deleted, Some(7));
        assert_eq!(rows_left(&db), 0);

        session_rows(&ws, "a", 3);
        let all = preview(&ws, &["a"], FlushPart::All).await;
        assert_eq!(all.db_sessions, 3);
        run(&ws, &all).await;
        assert_eq!(rows_left(&db), 0);
        // Instance b has no database yet: no rows, nothing fails.
        let b = preview(&ws, &["b"], FlushPart::Sessions).await;
        assert_eq!(b.parts[0].db_sessions, DbSessions::Counted { rows: 0 });
    });

    // PostgreSQL: said, not pretended.
    let (_dir, pg) = workspace(&redis.url(), "postgresql", Some(CACHED_DB));
    runtime().block_on(async {
        let shown = preview(&pg, &["a"], FlushPart::Sessions).await;
        assert!(
            matches!(&shown.parts[0].db_sessions, DbSessions::NotCounted { reason } if reason.contains("PostgreSQL") && reason.contains("not supported")),
            "{:#?}",
            shown.parts[0]
        );
        let report = run(&pg, &shown).await;
        assert_eq!(report.instances[0].db_sessions_deleted, None, "{report:#?}");
    });
}

#[test]
fn kovans_glob_matcher_agrees_with_redis() {
    let redis = Redis::start();
    let pieces: [&[u8]; 11] = [
        b"a", b"b", b"*", b"?", b"[", b"]", b"^", b"-", b"\\", b":", b"\xff",
    ];
    // Every text of up to three pieces (the third from a few), patterns drawn from the pieces.
    let mut texts: BTreeSet<Vec<u8>> = BTreeSet::new();
    texts.insert(Vec::new());
    for a in pieces {
        texts.insert(a.to_vec());
        for b in pieces {
            texts.insert([a, b].concat());
            for c in [&b"a"[..], b"]", b"\\", b"-"] {
                texts.insert([a, b, c].concat());
            }
        }
    }
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        for _ in 0..400 {
            let len = (next() % 6) as usize;
            let pattern: Vec<u8> = (0..len)
                .flat_map(|_| pieces[(next() % pieces.len() as u64) as usize].to_vec())
                .collect();
            let by_redis = redis_matches(&mut conn, &texts, &pattern).await;
            let by_kovan: BTreeSet<Vec<u8>> = texts
                .iter()
                .filter(|t| glob_matches(&pattern, t))
                .cloned()
                .collect();
            assert_eq!(
                printable(&by_kovan),
                printable(&by_redis),
                "pattern {:?}",
                String::from_utf8_lossy(&pattern)
            );
        }
    });
}

// ---- the generated clear_cache, run by real Django, on the same data ----

/// The number just before `what` in clear_cache's line, e.g. "12 cache keys".
fn number_before(text: &str, what: &str) -> Option<u64> {
    let at = text.find(what)?;
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

#[test]
fn clear_cache_and_kovan_flush_count_and_delete_the_same_keys_and_rows() {
    let redis = Redis::start();
    let (_dir, ws) = support::example_on_free_ports(Some(&redis.url()));
    // cached_db: sessions both in the cache and in the database.
    let settings = ws.project.django_root.join("dashboard_project/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap().replace(
        "SESSION_ENGINE = \"django.contrib.sessions.backends.db\"",
        "SESSION_ENGINE = \"django.contrib.sessions.backends.cached_db\"",
    );
    assert!(text.contains("cached_db"));
    std::fs::write(&settings, text).unwrap();
    let name = "chat_main";
    let migrated = support::manage(&ws, name, &["migrate", "--noinput"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let prefix = ws.instance(name).unwrap().names.cache_prefix.clone();
    let mut keys = key_set();
    for tail in tails() {
        for version in [&b"1"[..], b"2"] {
            keys.insert(key(prefix.as_bytes(), version, &tail));
        }
        keys.insert(key(b"context7_chat_api", b"1", &tail));
    }
    keys.insert(format!("{prefix}:x:django.contrib.sessions.cacheq").into_bytes());
    let rows = 5;
    let clear = |args: &[&str]| {
        let out = support::manage(&ws, name, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "clear_cache {args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let rt = runtime();
    for (kind, part) in [
        ("cache", FlushPart::Cache),
        ("sessions", FlushPart::Sessions),
        ("all", FlushPart::All),
    ] {
        let db = session_rows(&ws, name, rows);
        let (by_django, django_left, django_rows) = rt.block_on(async {
            let mut conn = connect(&redis).await;
            reload(&mut conn, &keys).await;
            let counted = clear(&["clear_cache", &format!("--type={kind}"), "--dry-run"]);
            let deleted = clear(&["clear_cache", &format!("--type={kind}")]);
            (
                (counted, deleted),
                all_keys(&mut conn).await,
                rows_left(&db),
            )
        });
        session_rows(&ws, name, rows);
        let (shown, report, kovan_left) = rt.block_on(async {
            let mut conn = connect(&redis).await;
            reload(&mut conn, &keys).await;
            let shown = preview(&ws, &[name], part.clone()).await;
            let report = run(&ws, &shown).await;
            (shown, report, all_keys(&mut conn).await)
        });
        let (counted, deleted) = by_django;
        let cached = match part {
            FlushPart::Sessions => " cached sessions",
            _ => " cache keys",
        };
        for said in [&counted, &deleted] {
            assert_eq!(
                number_before(said, cached),
                Some(shown.keys),
                "{kind}: {said}"
            );
            assert_eq!(
                number_before(said, " db sessions").unwrap_or(0),
                shown.db_sessions,
                "{kind}: {said}"
            );
        }
        assert_eq!(report.deleted, shown.keys, "{kind}");
        assert_eq!(report.db_sessions_deleted, shown.db_sessions, "{kind}");
        assert_eq!(
            printable(&kovan_left),
            printable(&django_left),
            "{kind}: the same keys are left"
        );
        assert_eq!(rows_left(&db), django_rows, "{kind}");
        let expected_rows = if part == FlushPart::Cache { rows } else { 0 } as u64;
        assert_eq!(django_rows, expected_rows, "{kind}");
        assert!(shown.keys > 0, "{kind}");
        let rows_shown = if part == FlushPart::Cache { 0 } else { rows } as u64;
        assert_eq!(shown.db_sessions, rows_shown, "{kind}");
        eprintln!("{kind}: {}", deleted.trim());
    }
}
