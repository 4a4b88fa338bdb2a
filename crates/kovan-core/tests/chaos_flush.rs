//! The flush under fire: a real redis-server, and a second client writing while Kovan previews and
//! flushes. It adds foreign keys (other apps, instances outside the scope, prefixes that only look
//! alike) and deletes and adds target keys. After every trial: no foreign key is gone, and the
//! report's count is exactly the number of keys the flush itself deleted, which the test knows
//! from the writer's own confirmed replies.
//!
//! `KOVAN_CHAOS_FLUSH_TRIALS` sets the number of trials (1,000 when unset: CI's value);
//! `KOVAN_CHAOS_SEED` replays a run (the seed is printed).

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kovan_core::cache::{self, CancelToken, FlushScope};
use kovan_core::Workspace;
use redis::aio::MultiplexedConnection;
use support::Redis;

/// A small, seedable generator: the trials are replayable from the printed seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn chat_trio(url: &str) -> (tempfile::TempDir, Workspace) {
    let mut body = format!("[redis]\nurl = \"{url}\"\n");
    for (i, name) in ["chat_main", "chat_api", "chat_websocket"]
        .iter()
        .enumerate()
    {
        body.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\ncache = \"redis\"\ncache_prefix = \"t_{name}\"\n",
            21000 + i
        ));
    }
    support::cache_workspace(&body)
}

/// Prefixes whose keys are never in any scope: other apps, and names that only start alike.
const FOREIGN: &[&str] = &[
    "otherapp",
    "t_chat_main_x",
    "t_chat_mainx",
    "t_chat",
    "t_chat_main\\",
];

/// What one trial's writer did, from Redis' own replies.
#[derive(Default)]
struct Writes {
    foreign: Vec<Vec<u8>>,
    /// Target keys the writer deleted itself (DEL replied 1).
    targets_deleted: u64,
    /// Target keys the writer added (SET NX replied OK).
    targets_added: Vec<Vec<u8>>,
}

struct Trial {
    /// Prefixes whose keys the flush may delete.
    in_scope: Vec<&'static str>,
    /// Instance prefixes outside the scope: their keys must stay too.
    out_of_scope: Vec<&'static str>,
    scope: FlushScope,
    keys: u64,
}

impl Trial {
    fn draw(rng: &mut Rng) -> Self {
        let all = ["t_chat_main", "t_chat_api", "t_chat_websocket"];
        let (scope, in_scope): (FlushScope, Vec<&str>) = match rng.below(3) {
            0 => (FlushScope::All, all.to_vec()),
            1 => (
                FlushScope::Instances(vec!["chat_main".into()]),
                vec!["t_chat_main"],
            ),
            _ => (
                FlushScope::Instances(vec!["chat_main".into(), "chat_websocket".into()]),
                vec!["t_chat_main", "t_chat_websocket"],
            ),
        };
        let out_of_scope = all.into_iter().filter(|p| !in_scope.contains(p)).collect();
        Self {
            scope,
            in_scope,
            out_of_scope,
            // A few hundred keys, sometimes more than one SCAN batch.
            keys: 100 + rng.below(1400),
        }
    }

    fn target(&self, i: u64) -> Vec<u8> {
        let prefix = self.in_scope[(i % self.in_scope.len() as u64) as usize];
        if i.is_multiple_of(7) {
            format!("{prefix}:1:django.contrib.sessions.cache{i}").into_bytes()
        } else {
            format!("{prefix}:1:k{i}").into_bytes()
        }
    }
}

async fn connect(redis: &Redis) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn set_all(conn: &mut MultiplexedConnection, keys: &[Vec<u8>]) {
    for chunk in keys.chunks(2000) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("SET").arg(key).arg("v").ignore();
        }
        pipe.query_async::<()>(conn).await.unwrap();
    }
}

async fn existing(conn: &mut MultiplexedConnection, keys: &[Vec<u8>]) -> BTreeSet<Vec<u8>> {
    let mut found = BTreeSet::new();
    for chunk in keys.chunks(2000) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("EXISTS").arg(key);
        }
        let replies: Vec<u8> = pipe.query_async(conn).await.unwrap();
        found.extend(
            chunk
                .iter()
                .zip(replies)
                .filter(|(_, n)| *n == 1)
                .map(|(k, _)| k.clone()),
        );
    }
    found
}

/// The second client: from a random moment on, until told to stop, a mix of writes, each one's
/// effect known from its reply. Some are MULTI blocks that add a foreign key and delete a target
/// key at once (the pair that kept DBSIZE equal to a count and fooled a size check before).
async fn writer(
    mut conn: MultiplexedConnection,
    trial: Arc<Trial>,
    mut rng: Rng,
    stop: Arc<AtomicBool>,
    tag: u64,
) -> Writes {
    let mut writes = Writes::default();
    tokio::time::sleep(Duration::from_millis(rng.below(4))).await;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let foreign = || {
            let prefix = FOREIGN[(n as usize) % FOREIGN.len()];
            format!("{prefix}:{tag}:w{n}").into_bytes()
        };
        match rng.below(5) {
            0 | 1 => {
                let key = foreign();
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("SET")
                    .arg(&key)
                    .arg("v")
                    .ignore()
                    .cmd("DEL")
                    .arg(trial.target(rng.below(trial.keys)));
                let (deleted,): (u64,) = pipe.query_async(&mut conn).await.unwrap();
                writes.foreign.push(key);
                writes.targets_deleted += deleted;
            }
            2 => {
                let key = foreign();
                redis::cmd("SET")
                    .arg(&key)
                    .arg("v")
                    .query_async::<()>(&mut conn)
                    .await
                    .unwrap();
                writes.foreign.push(key);
            }
            3 => {
                let deleted: u64 = redis::cmd("DEL")
                    .arg(trial.target(rng.below(trial.keys)))
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                writes.targets_deleted += deleted;
            }
            _ => {
                // A target key that did not exist at the start: the flush may or may not see it.
                let key = trial.target(trial.keys + n);
                let added: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg("v")
                    .arg("NX")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                if added.is_some() {
                    writes.targets_added.push(key);
                }
            }
        }
        // Tokio's timer counts in milliseconds: mostly just let the flush's tasks run between writes.
        if rng.chance(10) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    writes
}

#[test]
fn a_thousand_flushes_under_a_concurrent_writer_delete_no_foreign_key_and_count_exactly() {
    let trials = env_number("KOVAN_CHAOS_FLUSH_TRIALS", 1000);
    let seed = env_number(
        "KOVAN_CHAOS_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1,
    );
    println!("chaos flush: {trials} trials, seed {seed} (KOVAN_CHAOS_SEED={seed} replays it)");
    let redis = Redis::start();
    let (_dir, ws) = chat_trio(&redis.url());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rng = Rng(seed);
    let clock = Instant::now();
    let (mut foreign_written, mut foreign_lost, mut miscounted, mut deleted_total) =
        (0u64, 0u64, 0u64, 0u64);
    let mut writer_deleted = 0u64;
    let mut failures: Vec<String> = Vec::new();
    rt.block_on(async {
        let mut conn = connect(&redis).await;
        for t in 0..trials {
            let trial = Arc::new(Trial::draw(&mut rng));
            redis::cmd("FLUSHALL")
                .query_async::<()>(&mut conn)
                .await
                .unwrap();
            let targets: Vec<Vec<u8>> = (0..trial.keys).map(|i| trial.target(i)).collect();
            set_all(&mut conn, &targets).await;
            // Keys that are there from the start in some trials: outside instances and other apps.
            let mut standing: Vec<Vec<u8>> = Vec::new();
            if rng.chance(30) {
                for (i, prefix) in trial.out_of_scope.iter().chain(FOREIGN).enumerate() {
                    standing.push(format!("{prefix}:1:s{i}").into_bytes());
                }
                set_all(&mut conn, &standing).await;
            }

            let stop = Arc::new(AtomicBool::new(false));
            let writing = tokio::spawn(writer(
                connect(&redis).await,
                trial.clone(),
                Rng(rng.next() | 1),
                stop.clone(),
                t,
            ));
            let preview = cache::preview(&ws, trial.scope.clone(), |_| {})
                .await
                .unwrap();
            let report = cache::flush(&ws, &preview, &CancelToken::new(), |_| {}).await;
            stop.store(true, Ordering::Relaxed);
            let writes = writing.await.unwrap();

            let every_target: Vec<Vec<u8>> = targets
                .iter()
                .chain(&writes.targets_added)
                .cloned()
                .collect();
            let remaining = existing(&mut conn, &every_target).await.len() as u64;
            // Everything that went, less what the writer itself deleted: what the flush deleted.
            let really_deleted = every_target.len() as u64 - remaining - writes.targets_deleted;
            let foreign: Vec<Vec<u8>> = writes.foreign.iter().chain(&standing).cloned().collect();
            let lost = foreign.len() as u64 - existing(&mut conn, &foreign).await.len() as u64;
            foreign_written += foreign.len() as u64;
            foreign_lost += lost;
            deleted_total += really_deleted;
            writer_deleted += writes.targets_deleted;
            if !report.succeeded() {
                failures.push(format!("trial {t}: the flush did not succeed: {report:?}"));
            }
            if report.deleted != really_deleted {
                miscounted += 1;
                failures.push(format!(
                    "trial {t}: the report says {} deleted, {really_deleted} really went",
                    report.deleted
                ));
            }
            if lost > 0 {
                failures.push(format!(
                    "trial {t}: {lost} of {} foreign keys deleted",
                    foreign.len()
                ));
            }
        }
    });
    let took = clock.elapsed();
    println!(
        "chaos flush: {trials} trials in {:.1} s; {deleted_total} keys deleted by flushes, \
         {writer_deleted} target keys deleted by the writer meanwhile; {foreign_written} foreign \
         keys written, {foreign_lost} deleted; {miscounted} reports miscounted",
        took.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failing trials (seed {seed}):\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
