//! Undo of a flush against a real redis-server: what the flush deleted comes back with its
//! lifetime, keys written since are never overwritten, what expired stays gone, and a snapshot
//! that would pass its limit stops the flush with nothing lost.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use kovan_core::cache::{
    self, CacheError, CancelToken, FlushOutcome, FlushPart, FlushReport, FlushScope, Undo,
};
use kovan_core::Workspace;
use redis::aio::MultiplexedConnection;
use support::Redis;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn workspace(url: &str) -> (tempfile::TempDir, Workspace) {
    let mut body = format!("[redis]\nurl = \"{url}\"\n");
    for (i, name) in ["a", "b"].iter().enumerate() {
        body.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\ncache = \"redis\"\ncache_prefix = \"t_{name}\"\n",
            20000 + i
        ));
    }
    support::cache_workspace(&body)
}

fn undo_in(dir: &Path, limit_bytes: u64) -> Undo {
    Undo {
        dir: dir.to_path_buf(),
        limit_bytes,
        keep_for: Duration::from_secs(3600),
        keep_last: 5,
    }
}

async fn connect(redis: &Redis) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn flush_a(ws: &Workspace, undo: &Undo) -> FlushReport {
    let scope = FlushScope::Instances(vec!["a".into()]);
    let preview = cache::preview_part(ws, scope, FlushPart::All, |_| {})
        .await
        .unwrap();
    cache::flush_with(ws, &preview, Some(undo), &CancelToken::new(), |_| {}).await
}

async fn dbsize(conn: &mut MultiplexedConnection) -> u64 {
    redis::cmd("DBSIZE").query_async(conn).await.unwrap()
}

async fn pttl(conn: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

#[test]
fn an_undo_puts_back_what_the_flush_deleted_with_its_lifetime_and_never_over_a_newer_key() {
    let redis = Redis::start();
    let (_dir, ws) = workspace(&redis.url());
    let snapshots = tempfile::tempdir().unwrap();
    let undo = undo_in(snapshots.path(), 256 * 1024 * 1024);
    let rt = runtime();
    rt.block_on(async {
        let mut conn = connect(&redis).await;
        // 100,000 of a's keys: half expire in ten minutes, half never; values of every byte;
        // five that expire between the flush and the undo; b's keys and another app's stay out of it all.
        for chunk in (0..100_000).collect::<Vec<u32>>().chunks(5000) {
            let mut pipe = redis::pipe();
            for i in chunk {
                let key = format!("t_a:1:k{i}");
                let value: Vec<u8> = (0..=255u8).chain(i.to_le_bytes()).collect();
                if i % 2 == 0 {
                    pipe.cmd("SET")
                        .arg(&key)
                        .arg(value)
                        .arg("PX")
                        .arg(600_000)
                        .ignore();
                } else {
                    pipe.cmd("SET").arg(&key).arg(value).ignore();
                }
            }
            pipe.query_async::<()>(&mut conn).await.unwrap();
        }
        let mut pipe = redis::pipe();
        for i in 0..5 {
            pipe.cmd("SET")
                .arg(format!("t_a:1:soon{i}"))
                .arg("x")
                .arg("PX")
                .arg(1500)
                .ignore();
        }
        for i in 0..1000 {
            pipe.cmd("SET").arg(format!("t_b:1:k{i}")).arg("b").ignore();
        }
        pipe.cmd("SET").arg("other_app:1").arg("o").ignore();
        pipe.query_async::<()>(&mut conn).await.unwrap();

        let report = flush_a(&ws, &undo).await;
        assert!(report.succeeded(), "{report:?}");
        assert_eq!(report.deleted, 100_005);
        let snapshot = report.undo.clone().expect("a snapshot");
        assert_eq!(snapshot.keys, Some(100_005));
        let file = snapshots.path().join(format!("{}.snap", snapshot.id));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the snapshot is readable by others");
        assert_eq!(dbsize(&mut conn).await, 1001);

        // Written again since the flush: these ten stay as they are now.
        let mut pipe = redis::pipe();
        for i in 0..10 {
            pipe.cmd("SET")
                .arg(format!("t_a:1:k{i}"))
                .arg("new")
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await.unwrap();
        // The five short-lived ones run out.
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let flushed_at = std::time::Instant::now();

        let done = cache::undo(&ws, &undo, None).await.unwrap();
        assert_eq!(done.id, snapshot.id);
        assert_eq!(
            (done.restored, done.skipped, done.expired, done.failed),
            (99_990, 10, 5, 0),
            "{done:?}"
        );
        assert!(!done.cut_off);
        assert_eq!(dbsize(&mut conn).await, 1001 + 99_990 + 10);
        for i in 0..10 {
            let now: String = redis::cmd("GET")
                .arg(format!("t_a:1:k{i}"))
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(now, "new", "a key written since the flush was overwritten");
        }
        let back: Vec<u8> = redis::cmd("GET")
            .arg("t_a:1:k77")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            back,
            (0..=255u8).chain(77u32.to_le_bytes()).collect::<Vec<u8>>()
        );
        // The lifetime left, within a second of what it would have been.
        let left = pttl(&mut conn, "t_a:1:k100").await;
        let expected = 600_000 - flushed_at.elapsed().as_millis() as i64;
        assert!(
            left <= 600_000 && left > expected - 60_000,
            "{left} ms left"
        );
        let elapsed_since_set = 600_000 - left;
        assert!(elapsed_since_set < 60_000, "{left}");
        assert_eq!(pttl(&mut conn, "t_a:1:k101").await, -1);

        // Nothing left to undo: said, nothing touched.
        let again = cache::undo(&ws, &undo, None).await.unwrap_err();
        assert!(
            matches!(&again, CacheError::Undo(m) if m.contains("no flush")),
            "{again}"
        );
        let listed = cache::snapshots(&ws, &undo);
        assert_eq!(listed.len(), 1);
        assert!(listed[0].restored);
    });
}

#[test]
fn a_snapshot_that_would_pass_its_limit_stops_the_flush_and_nothing_is_lost() {
    let redis = Redis::start();
    let (_dir, ws) = workspace(&redis.url());
    let snapshots = tempfile::tempdir().unwrap();
    // 3 MiB, for 8,000 keys of 1 KiB each (batches of 1,000).
    let undo = undo_in(snapshots.path(), 3 * 1024 * 1024);
    let rt = runtime();
    rt.block_on(async {
        let mut conn = connect(&redis).await;
        // Values that do not compress: DUMP would shrink repeated bytes.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut pipe = redis::pipe();
        for i in 0..8000 {
            let value: Vec<u8> = (0..1024)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    (seed >> 56) as u8
                })
                .collect();
            pipe.cmd("SET")
                .arg(format!("t_a:1:k{i}"))
                .arg(value)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await.unwrap();

        let report = flush_a(&ws, &undo).await;
        let a = &report.instances[0];
        let FlushOutcome::Failed { kind, message, .. } = &a.outcome else {
            panic!("{report:?}");
        };
        assert_eq!(kind.as_str(), "undo_limit");
        assert!(message.contains("limit of 3 MiB"), "{message}");
        assert!(message.contains("kovan undo"), "{message}");
        assert!(a.deleted > 0 && a.deleted < 8000, "{a:?}");
        let snapshot = report.undo.clone().expect("what went is undoable");
        assert_eq!(snapshot.keys, Some(a.deleted));
        assert_eq!(dbsize(&mut conn).await, 8000 - a.deleted);

        let done = cache::undo(&ws, &undo, Some(&snapshot.id)).await.unwrap();
        assert_eq!(done.restored, a.deleted);
        assert_eq!(dbsize(&mut conn).await, 8000);

        // A limit smaller than one batch: nothing is deleted, and it says what to do.
        let tiny = undo_in(snapshots.path(), 1024);
        let report = flush_a(&ws, &tiny).await;
        let FlushOutcome::Failed { kind, message, .. } = &report.instances[0].outcome else {
            panic!("{report:?}");
        };
        assert_eq!(kind.as_str(), "undo_limit");
        assert!(message.contains("nothing was deleted"), "{message}");
        assert!(!message.contains("kovan undo"), "{message}");
        assert!(report.undo.is_none());
        assert_eq!(dbsize(&mut conn).await, 8000);
    });
}

#[test]
fn a_snapshot_of_another_redis_is_not_restored_into_this_one() {
    let redis = Redis::start();
    let other = Redis::start();
    let (_dir, ws) = workspace(&redis.url());
    let snapshots = tempfile::tempdir().unwrap();
    let undo = undo_in(snapshots.path(), u64::MAX);
    let rt = runtime();
    rt.block_on(async {
        let mut conn = connect(&redis).await;
        redis::cmd("SET")
            .arg("t_a:1:k")
            .arg("v")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
        let report = flush_a(&ws, &undo).await;
        let id = report.undo.unwrap().id;
        let moved = ws.file.parent().unwrap().join("kovan.toml");
        let text = std::fs::read_to_string(&moved)
            .unwrap()
            .replace(&redis.url(), &other.url());
        std::fs::write(&moved, text).unwrap();
        let ws = kovan_core::workspace::load(&moved).unwrap();
        let e = cache::undo(&ws, &undo, Some(&id)).await.unwrap_err();
        assert!(e.to_string().contains("was taken from"), "{e}");
        let mut other_conn = connect(&other).await;
        assert_eq!(dbsize(&mut other_conn).await, 0);
    });
}
