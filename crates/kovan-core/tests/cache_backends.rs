//! The caches that are not Redis: file and db written by real Django, dummy, and LocMem inside a
//! real `runserver`. Needs the test venv (scripts/setup.sh test).

mod support;

use std::path::Path;
use std::process::Command;

use kovan_core::cache::{self, CancelToken, FlushOutcome, FlushPart, FlushScope, KeyCount};
use kovan_core::error::Classified;
use kovan_core::Workspace;

const NOT_RUNNING: &str =
    "is not running: a LocMem cache lives in the process and is empty when it is stopped.";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// Django itself fills a file cache and a database cache (with a cached session) in `root`.
const DJANGO_WRITES: &str = r#"
import sys
import django
from django.conf import settings

root = sys.argv[1]
settings.configure(
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.sessions"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{root}/db_d.sqlite3"}},
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": f"{root}/cache_f",
            "KEY_PREFIX": "t_f",
        },
        "d": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "kovan_cache_d",
            "KEY_PREFIX": "t_d",
        },
    },
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    SESSION_CACHE_ALIAS="d",
)
django.setup()
from django.core.management import call_command
from django.core.cache import caches
from django.contrib.sessions.backends.cache import SessionStore

call_command("createcachetable", verbosity=0)
for alias in ("default", "d"):
    cache = caches[alias]
    cache.set("a", 1, 300)
    cache.set("b b", "two", None)
    cache.set("gone", 3, 0)  # expired at once, still on disk
session = SessionStore()
session["user"] = 1
session.save()
"#;

fn django_fills(root: &Path) {
    let out = Command::new(support::python())
        .args(["-c", DJANGO_WRITES])
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const FOUR_BACKENDS: &str = r#"
[[instance]]
name = "f"
port = 9001
cache = "file"
cache_location = "cache_f"

[[instance]]
name = "d"
port = 9002
cache = "db"
cache_location = "kovan_cache_d"
cache_prefix = "t_d"

[[instance]]
name = "z"
port = 9003
cache = "dummy"

[[instance]]
name = "m"
port = PORT
cache = "locmem"
"#;

fn four_backends() -> (tempfile::TempDir, Workspace) {
    support::cache_workspace(&FOUR_BACKENDS.replace("PORT", &support::free_port().to_string()))
}

fn count_of(ws: &Workspace, instance: &str) -> KeyCount {
    let counts = runtime().block_on(cache::count(ws, |_| {}));
    counts.instance(instance).unwrap().count.clone()
}

#[test]
fn file_and_db_caches_django_wrote_are_counted_live_and_flushed_whole() {
    let (dir, ws) = four_backends();
    django_fills(dir.path());
    let db = dir.path().join("db_d.sqlite3");
    let db_before = std::fs::read(&db).unwrap();

    let counts = runtime().block_on(cache::count(&ws, |_| {}));
    let state = |name: &str| counts.instance(name).unwrap().count.clone();
    assert_eq!(
        state("f"),
        KeyCount::Counted {
            keys: 2,
            sessions: None
        },
        "the expired entry is not counted"
    );
    assert_eq!(
        state("d"),
        KeyCount::Counted {
            keys: 3,
            sessions: Some(1)
        }
    );
    assert!(
        matches!(state("z"), KeyCount::NothingCached { reason } if reason.contains("DummyCache stores nothing"))
    );
    assert!(
        matches!(state("m"), KeyCount::NotRunning { reason } if reason == format!("m {NOT_RUNNING}"))
    );
    assert!(counts.redis.is_none());
    assert_eq!(
        std::fs::read(&db).unwrap(),
        db_before,
        "counting only reads"
    );

    let rt = runtime();
    let preview = rt
        .block_on(cache::preview_part(
            &ws,
            FlushScope::All,
            FlushPart::All,
            |_| {},
        ))
        .unwrap();
    assert_eq!((preview.keys, preview.sessions), (5, 1));
    let report = rt.block_on(cache::flush(&ws, &preview, &CancelToken::new(), |_| {}));
    assert!(report.succeeded(), "{report:#?}");
    let flushed = |name: &str| {
        report
            .instances
            .iter()
            .find(|i| i.instance == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (flushed("f").deleted, flushed("f").sessions_deleted),
        (3, None)
    );
    assert_eq!(
        (flushed("d").deleted, flushed("d").sessions_deleted),
        (4, Some(1))
    );
    assert!(matches!(flushed("z").outcome, FlushOutcome::Skipped { .. }));
    assert!(
        matches!(&flushed("m").outcome, FlushOutcome::Skipped { reason } if reason.contains(NOT_RUNNING))
    );
    assert_eq!(report.deleted, 7);
    for name in ["f", "d"] {
        assert_eq!(count_of(&ws, name).counted().unwrap().0, 0, "{name}");
    }
}

#[test]
fn a_db_cache_table_with_djangos_schema_counts_rows_not_yet_expired() {
    let (dir, ws) = four_backends();
    let conn = rusqlite::Connection::open(dir.path().join("db_d.sqlite3")).unwrap();
    conn.execute_batch(
        "CREATE TABLE kovan_cache_d (cache_key varchar(255) NOT NULL PRIMARY KEY, value text NOT NULL, expires datetime NOT NULL);",
    )
    .unwrap();
    let utc = |offset: i64| {
        (chrono::Utc::now() + chrono::Duration::seconds(offset))
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string()
    };
    let rows = [
        ("t_d:1:a", utc(60)),
        ("t_d:1:django.contrib.sessions.cachexyz", utc(3600)),
        ("t_d:1:django.contrib.sessions.cacheold", utc(-60)),
        ("t_d:1:b", "9999-12-31 23:59:59.999999".to_string()),
        ("t_d:1:gone", utc(-1)),
        ("t_d:1:long gone", "2000-01-01 00:00:00".to_string()),
    ];
    for (key, expires) in &rows {
        conn.execute(
            "INSERT INTO kovan_cache_d VALUES (?1, 'v', ?2)",
            [key, expires.as_str()],
        )
        .unwrap();
    }
    drop(conn);
    assert_eq!(
        count_of(&ws, "d"),
        KeyCount::Counted {
            keys: 3,
            sessions: Some(1)
        }
    );
}

#[test]
fn a_missing_database_table_or_folder_is_said_plainly() {
    let (dir, ws) = four_backends();
    let failed = |count: KeyCount| match count {
        KeyCount::Failed { kind, message, .. } => (kind.as_str(), message),
        other => panic!("{other:?}"),
    };
    let (kind, message) = failed(count_of(&ws, "d"));
    assert_eq!(kind, "cache_database_missing");
    assert!(message.contains("db_d.sqlite3 does not exist"), "{message}");

    rusqlite::Connection::open(dir.path().join("db_d.sqlite3"))
        .unwrap()
        .execute_batch("CREATE TABLE unrelated (x)")
        .unwrap();
    let (kind, message) = failed(count_of(&ws, "d"));
    assert_eq!(kind, "cache_table_missing");
    assert!(
        message.contains("`kovan_cache_d`") && message.contains("createcachetable"),
        "{message}"
    );

    // A file cache folder Django has not made yet holds nothing.
    assert_eq!(count_of(&ws, "f").counted(), Some((0, None)));

    let (_dir, pg) = support::cache_workspace(
        "[database]\nengine = \"postgresql\"\n\n[[instance]]\nname = \"d\"\nport = 9002\ncache = \"db\"\n",
    );
    let (kind, message) = failed(count_of(&pg, "d"));
    assert_eq!(kind, "cache_unsupported");
    assert!(
        message.contains("PostgreSQL is not supported yet"),
        "{message}"
    );
}

#[test]
fn a_dummy_cache_is_never_flushed_and_says_why() {
    let (_dir, ws) = four_backends();
    let rt = runtime();
    let preview = rt
        .block_on(cache::preview(
            &ws,
            FlushScope::Instances(vec!["z".into()]),
            |_| {},
        ))
        .unwrap();
    assert_eq!(preview.keys, 0);
    let report = rt.block_on(cache::flush(&ws, &preview, &CancelToken::new(), |_| {}));
    assert_eq!(report.instances.len(), 1);
    assert!(
        matches!(&report.instances[0].outcome, FlushOutcome::Skipped { reason } if reason.contains("nothing to count or flush")),
        "{report:#?}"
    );

    let unknown = rt.block_on(cache::preview(
        &ws,
        FlushScope::Instances(vec!["nope".into()]),
        |_| {},
    ));
    let e = unknown.err().unwrap();
    assert_eq!(e.kind().as_str(), "unknown_instance");
    assert!(e.to_string().contains("Use one of: f, d, z, m."), "{e}");
}

// ---- LocMem, inside a real runserver ----

#[test]
fn locmem_is_counted_and_flushed_through_the_running_instance() {
    // A member of the chat site: its channel layer is on Redis, which /health/ checks.
    let redis = support::Redis::start();
    let (_dir, ws) = support::example_on_free_ports(Some(&redis.url()));
    let name = "chat_websocket";
    let port = ws.instance(name).unwrap().port;
    let cookie = support::chat_session(&ws, name);
    let server = support::runserver(&ws, name, false);

    // The chat page (logged in) caches through Django's LocMem.
    assert_eq!(
        support::http(port, "GET", "/", &[("Cookie", &cookie)]).0,
        200
    );
    let Some((keys, None)) = count_of(&ws, name).counted() else {
        panic!("{:?}", count_of(&ws, name));
    };
    assert!(keys >= 1);

    let rt = runtime();
    let scope = FlushScope::Instances(vec![name.into()]);
    let preview = rt
        .block_on(cache::preview(&ws, scope.clone(), |_| {}))
        .unwrap();
    assert_eq!(preview.keys, keys);
    let report = rt.block_on(cache::flush(&ws, &preview, &CancelToken::new(), |_| {}));
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.deleted, keys);
    assert_eq!(count_of(&ws, name).counted(), Some((0, None)));

    // A token that no longer matches the running server's.
    let env_file = ws
        .project
        .django_root
        .join(&ws.instance(name).unwrap().names.env_file);
    let text = std::fs::read_to_string(&env_file).unwrap();
    let token = support::env_of(&ws, name)
        .into_iter()
        .find(|(k, _)| k == "KOVAN_TOKEN")
        .unwrap()
        .1;
    std::fs::write(&env_file, text.replace(&token, "changed")).unwrap();
    let report = rt.block_on(cache::flush(&ws, &preview, &CancelToken::new(), |_| {}));
    let (_, kind, message) = report.failures().next().expect("refused");
    assert_eq!(kind, "cache_token");
    assert!(message.contains("Restart chat_websocket"), "{message}");

    drop(server);
    assert_eq!(
        count_of(&ws, name),
        KeyCount::NotRunning {
            reason: format!("{name} {NOT_RUNNING}")
        }
    );
    let report = rt.block_on(cache::flush(&ws, &preview, &CancelToken::new(), |_| {}));
    assert!(
        matches!(&report.instances[0].outcome, FlushOutcome::Skipped { reason } if reason.contains(NOT_RUNNING)),
        "{report:#?}"
    );
}
