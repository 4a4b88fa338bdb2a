//! Undo benchmark: 300,000 keys of one instance (100-byte values, half with a TTL) in a
//! redis-server of its own. In the same run: a plain flush against a flush that saves an undo
//! snapshot first, the restore rate of `kovan undo`, and the key-group inspector's one pass
//! against a plain count.
//!
//!     cargo bench -p kovan-core --bench undo            # KOVAN_BENCH_RUNS=5 for 5 runs each
//!
//! Results and their reading: docs/PERFORMANCE.md.

use std::time::{Duration, Instant};

use kovan_core::cache::{self, CancelToken, FlushPart, FlushScope, Undo};
use kovan_core::Workspace;
use kovan_testsupport::RedisServer;
use redis::aio::MultiplexedConnection;

const KEYS: usize = 300_000;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("undo benchmark: run it with `cargo bench -p kovan-core --bench undo`");
        return;
    }
    let runs: usize = std::env::var("KOVAN_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(1);
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path(), &server.url());
    let snapshots = tempfile::tempdir().unwrap();
    let undo = Undo {
        dir: snapshots.path().to_path_buf(),
        limit_bytes: u64::MAX,
        keep_for: Duration::from_secs(3600),
        keep_last: 100,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut conn = rt.block_on(async {
        redis::Client::open(server.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    });
    let scope = FlushScope::Instances(vec!["chat_main".into()]);
    let preview = rt
        .block_on(async {
            load(&mut conn).await;
            cache::preview_part(&ws, scope, FlushPart::All, |_| {}).await
        })
        .unwrap();
    assert_eq!(preview.keys, KEYS as u64);

    let (mut plain, mut saving, mut restore, mut groups, mut count) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut bytes = 0;
    for _ in 0..runs {
        // Plain and with undo alternate, so both meet the same machine.
        rt.block_on(load(&mut conn));
        let t = Instant::now();
        let r = rt.block_on(cache::flush(&ws, &preview, &CancelToken::new(), |_| {}));
        plain.push(t.elapsed());
        assert_eq!(r.deleted, KEYS as u64);

        rt.block_on(load(&mut conn));
        let t = Instant::now();
        let r = rt.block_on(cache::flush_with(
            &ws,
            &preview,
            Some(&undo),
            &CancelToken::new(),
            |_| {},
        ));
        saving.push(t.elapsed());
        assert_eq!(r.deleted, KEYS as u64);
        let snapshot = r.undo.expect("a snapshot");
        bytes = snapshot.bytes;

        let t = Instant::now();
        let done = rt
            .block_on(cache::undo(&ws, &undo, Some(&snapshot.id)))
            .unwrap();
        restore.push(t.elapsed());
        assert_eq!(done.restored, KEYS as u64);

        let t = Instant::now();
        rt.block_on(cache::count(&ws, |_| {}));
        count.push(t.elapsed());
        let t = Instant::now();
        rt.block_on(cache::groups(&ws, "chat_main")).unwrap();
        groups.push(t.elapsed());
    }
    let (plain, saving, restore, count, groups) = (
        median(plain),
        median(saving),
        median(restore),
        median(count),
        median(groups),
    );
    println!("{KEYS} keys of one instance, {runs} runs each, medians:");
    println!(
        "  flush, plain          {:>7.0} ms",
        plain.as_secs_f64() * 1000.0
    );
    println!(
        "  flush, with undo      {:>7.0} ms  {:.2}x plain (goal: at most 2x); snapshot {:.1} MiB",
        saving.as_secs_f64() * 1000.0,
        saving.as_secs_f64() / plain.as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "  undo (restore)        {:>7.0} ms  {:.0} keys/s",
        restore.as_secs_f64() * 1000.0,
        KEYS as f64 / restore.as_secs_f64()
    );
    println!(
        "  count, plain          {:>7.0} ms",
        count.as_secs_f64() * 1000.0
    );
    println!(
        "  key groups (one pass) {:>7.0} ms  {:.2}x the count (goal: at most 1.3x)",
        groups.as_secs_f64() * 1000.0,
        groups.as_secs_f64() / count.as_secs_f64()
    );
}

fn workspace(dir: &std::path::Path, url: &str) -> Workspace {
    std::fs::write(dir.join("manage.py"), "").unwrap();
    let toml = format!(
        "[project]\nname = \"context7\"\nsettings = \"dashboard_project.settings\"\n\n[redis]\nurl = \"{url}\"\n\n[[instance]]\nname = \"chat_main\"\nport = 8000\n"
    );
    std::fs::write(dir.join("kovan.toml"), toml).unwrap();
    kovan_core::workspace::load(dir).unwrap()
}

/// FLUSHALL (the benchmark's own server), then the keys: names in a few groups, every other one
/// with a ten-minute TTL.
async fn load(conn: &mut MultiplexedConnection) {
    redis::cmd("FLUSHALL")
        .query_async::<()>(conn)
        .await
        .unwrap();
    let value = [b'x'; 100];
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(10_000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let key = format!("context7_chat_main:1:group{}.item{i}", i % 7);
            if i % 2 == 0 {
                pipe.cmd("SET")
                    .arg(key)
                    .arg(&value[..])
                    .arg("EX")
                    .arg(600)
                    .ignore();
            } else {
                pipe.cmd("SET").arg(key).arg(&value[..]).ignore();
            }
        }
        pipe.query_async::<()>(conn).await.unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
