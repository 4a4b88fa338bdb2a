//! Redis cache benchmark: 1,000,000 keys in a redis-server of its own. Compares Kovan's count and
//! global flush with the redis-cli pipelines people use, measures how long another client waits
//! during a flush, and relates both to one bare SCAN pass (the floor).
//!
//!     cargo bench -p kovan-core --bench cache            # KOVAN_BENCH_RUNS=5 for 5 runs each
//!
//! Results and their reading: docs/PERFORMANCE.md.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kovan_core::cache::{self, CancelToken, FlushScope};
use kovan_core::Workspace;
use kovan_testsupport::RedisServer;
use redis::aio::MultiplexedConnection;

const INSTANCES: [&str; 3] = ["chat_main", "chat_api", "chat_websocket"];
const PER_INSTANCE: usize = 300_000;
const FOREIGN: usize = 100_000;
const VALUE: [u8; 100] = [b'x'; 100];

fn main() {
    // `cargo test --benches` runs this too, without `--bench`: do nothing heavy then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("cache benchmark: run it with `cargo bench -p kovan-core --bench cache`");
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

    let loaded = Instant::now();
    rt.block_on(load(&mut conn));
    println!(
        "loaded {} keys in {:.1} s; {runs} runs each, medians:",
        INSTANCES.len() * PER_INSTANCE + FOREIGN,
        loaded.elapsed().as_secs_f64()
    );

    // What the machine alone adds to a PING's wait: the server idle, same length as a flush.
    let idle = {
        let pinger = Pinger::start(server.port);
        std::thread::sleep(Duration::from_secs(2));
        pinger.stop()
    };
    // Every measure runs with the PING client beside it, so all share the same conditions.
    let floor = median(runs, || {
        let pinger = Pinger::start(server.port);
        let took = timed(|| rt.block_on(bare_scan(&mut conn)));
        pinger.stop();
        took
    });
    let (kovan_count, count_waits) = median_with_waits(runs, || {
        let pinger = Pinger::start(server.port);
        let (counted, took) = timed_value(|| rt.block_on(cache::count(&ws, |_| {})));
        for name in INSTANCES {
            let keys = counted.instance(name).unwrap().count.clone();
            assert_eq!(
                keys.counted(),
                Some((PER_INSTANCE as u64, Some(0))),
                "{keys:?}"
            );
        }
        (took, pinger.stop())
    });
    let cli_count = median(runs, || {
        let pinger = Pinger::start(server.port);
        let took = timed(|| {
            for name in INSTANCES {
                let n = shell(&format!(
                    "redis-cli -p {} --scan --pattern 'context7_{name}:*' | wc -l",
                    server.port
                ));
                assert_eq!(n.trim(), PER_INSTANCE.to_string());
            }
        });
        pinger.stop();
        took
    });

    let mut previews = Vec::new();
    let mut server_side = ServerSide::default();
    let (kovan_flush, flush_waits) = median_with_waits(runs, || {
        rt.block_on(load(&mut conn));
        // The preview is the count the user confirms; timed apart from the flush it precedes.
        let (preview, took) = timed_value(|| {
            rt.block_on(cache::preview(&ws, FlushScope::All, |_| {}))
                .unwrap()
        });
        previews.push(took);
        server_side.reset(&server.url());
        let pinger = Pinger::start(server.port);
        let (report, took) =
            timed_value(|| rt.block_on(cache::flush(&ws, &preview, &CancelToken::new(), |_| {})));
        let waits = pinger.stop();
        server_side.read(&server.url());
        assert!(report.succeeded(), "{report:#?}");
        assert_eq!(report.deleted, (INSTANCES.len() * PER_INSTANCE) as u64);
        assert_eq!(rt.block_on(dbsize(&mut conn)), FOREIGN as u64);
        (took, waits)
    });
    previews.sort();
    let preview = previews[previews.len() / 2];
    let (cli_flush, cli_flush_waits) = median_with_waits(runs, || {
        rt.block_on(load(&mut conn));
        let pinger = Pinger::start(server.port);
        let took = timed(|| {
            shell(&format!(
                "redis-cli -p {0} --scan --pattern 'context7_*' | xargs redis-cli -p {0} del",
                server.port
            ));
        });
        let waits = pinger.stop();
        assert_eq!(rt.block_on(dbsize(&mut conn)), FOREIGN as u64);
        (took, waits)
    });

    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let x = |a: Duration, b: Duration| format!("{:.1}x", a.as_secs_f64() / b.as_secs_f64());
    println!();
    println!("| measure | Kovan | redis-cli | Kovan faster by | Kovan / one bare SCAN pass |");
    println!("|---|---|---|---|---|");
    println!(
        "| count 3 instances | {} | {} | {} | {} |",
        s(kovan_count),
        s(cli_count),
        x(cli_count, kovan_count),
        x(kovan_count, floor)
    );
    println!(
        "| global flush | {} | {} | {} | {} |",
        s(kovan_flush),
        s(cli_flush),
        x(cli_flush, kovan_flush),
        x(kovan_flush, floor)
    );
    println!(
        "| preview count + global flush | {} | {} | {} | {} |",
        s(preview + kovan_flush),
        s(cli_flush),
        x(cli_flush, preview + kovan_flush),
        x(preview + kovan_flush, floor)
    );
    println!();
    println!(
        "one bare SCAN pass (COUNT 1000, keys parsed, nothing else): {}",
        s(floor)
    );
    println!();
    println!("another client's PING waits, all runs together:");
    println!("| while | median | 99th percentile | longest | over 10 ms |");
    println!("|---|---|---|---|---|");
    for (what, waits) in [
        ("Kovan's flush", &flush_waits),
        ("Kovan's count", &count_waits),
        ("redis-cli \\| xargs redis-cli del", &cli_flush_waits),
        ("nothing (server idle)", &idle),
    ] {
        println!("| {what} | {} |", waits.row());
    }
    println!();
    println!(
        "server side during Kovan's flushes: {} per command (INFO commandstats); longest command {} ms (LATENCY LATEST)",
        server_side.per_command, server_side.longest_ms
    );
}

/// A PING's waits for PONG, as measured by [`Pinger`].
#[derive(Default)]
struct Waits(Vec<Duration>);

impl Waits {
    fn row(&self) -> String {
        let mut all = self.0.clone();
        all.sort();
        let at = |q: f64| all[((all.len() - 1) as f64 * q) as usize];
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        let over = all
            .iter()
            .filter(|w| **w > Duration::from_millis(10))
            .count();
        format!(
            "{} | {} | {} | {over} of {}",
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0)),
            all.len()
        )
    }
}

/// What the server itself says about the flush: time per command, and its longest command.
#[derive(Default)]
struct ServerSide {
    per_command: String,
    longest_ms: u64,
}

impl ServerSide {
    fn reset(&self, url: &str) {
        let mut conn = redis::Client::open(url).unwrap();
        redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query::<()>(&mut conn)
            .unwrap();
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("latency-monitor-threshold")
            .arg(1)
            .query::<()>(&mut conn)
            .unwrap();
        redis::cmd("LATENCY")
            .arg("RESET")
            .query::<()>(&mut conn)
            .unwrap();
    }

    /// `usec_per_call` of SCAN and UNLINK since the reset, and the longest command (ms).
    fn read(&mut self, url: &str) {
        let mut conn = redis::Client::open(url).unwrap();
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut conn)
            .unwrap();
        self.per_command = info
            .lines()
            .filter(|l| l.starts_with("cmdstat_scan:") || l.starts_with("cmdstat_unlink:"))
            .filter_map(|l| {
                let (name, stats) = l.trim_start_matches("cmdstat_").split_once(':')?;
                let per_call = stats
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("usec_per_call="))?;
                Some(format!("{} {per_call} µs", name.to_uppercase()))
            })
            .collect::<Vec<_>>()
            .join(", ");
        // Rows of [event, time, latest ms, max ms, …]; "command" is the slow-command event.
        let latest: Vec<Vec<redis::Value>> = redis::cmd("LATENCY")
            .arg("LATEST")
            .query(&mut conn)
            .unwrap();
        let longest = latest
            .iter()
            .filter(|row| {
                redis::from_redis_value_ref::<String>(&row[0]).is_ok_and(|e| e == "command")
            })
            .filter_map(|row| redis::from_redis_value_ref::<u64>(&row[3]).ok())
            .max()
            .unwrap_or(0);
        self.longest_ms = self.longest_ms.max(longest);
    }
}

fn workspace(dir: &Path, url: &str) -> Workspace {
    std::fs::write(dir.join("manage.py"), "").unwrap();
    let mut toml = format!(
        "[project]\nname = \"context7\"\nsettings = \"dashboard_project.settings\"\n\n[redis]\nurl = \"{url}\"\n"
    );
    for (i, name) in INSTANCES.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\n",
            8000 + i
        ));
    }
    std::fs::write(dir.join("kovan.toml"), toml).unwrap();
    kovan_core::workspace::load(dir).unwrap()
}

/// FLUSHALL, then 3 x 300,000 instance keys and 100,000 foreign ones, with 100-byte values.
async fn load(conn: &mut MultiplexedConnection) {
    redis::cmd("FLUSHALL")
        .query_async::<()>(conn)
        .await
        .unwrap();
    let names = INSTANCES
        .iter()
        .flat_map(|name| (0..PER_INSTANCE).map(move |i| format!("context7_{name}:1:k{i}")))
        .chain((0..FOREIGN).map(|i| format!("other_app:1:k{i}")));
    let names: Vec<String> = names.collect();
    for chunk in names.chunks(20_000) {
        let mut pipe = redis::pipe();
        for batch in chunk.chunks(1000) {
            let mut mset = redis::cmd("MSET");
            for key in batch {
                mset.arg(key).arg(&VALUE[..]);
            }
            pipe.add_command(mset).ignore();
        }
        pipe.query_async::<()>(conn).await.unwrap();
    }
    assert_eq!(dbsize(conn).await, names.len() as u64);
}

async fn dbsize(conn: &mut MultiplexedConnection) -> u64 {
    redis::cmd("DBSIZE").query_async(conn).await.unwrap()
}

/// One SCAN pass, COUNT 1000, each reply parsed into keys and dropped: the least any count costs.
async fn bare_scan(conn: &mut MultiplexedConnection) {
    let mut cursor = 0u64;
    let mut seen = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        seen += keys.len();
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(seen >= INSTANCES.len() * PER_INSTANCE);
}

/// Another client: PING every millisecond on its own connection, recording each wait for PONG.
struct Pinger {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Duration>>,
}

impl Pinger {
    fn start(port: u16) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        let thread = std::thread::spawn(move || {
            let mut waits = Vec::new();
            let mut reply = [0u8; 7];
            while !stopped.load(Ordering::Relaxed) {
                let sent = Instant::now();
                stream.write_all(b"PING\r\n").unwrap();
                stream.read_exact(&mut reply).unwrap();
                assert_eq!(&reply, b"+PONG\r\n");
                waits.push(sent.elapsed());
                std::thread::sleep(Duration::from_millis(1));
            }
            waits
        });
        Self { stop, thread }
    }

    fn stop(self) -> Waits {
        self.stop.store(true, Ordering::Relaxed);
        Waits(self.thread.join().unwrap())
    }
}

fn shell(script: &str) -> String {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn timed(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

fn timed_value<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut all: Vec<Duration> = (0..runs).map(|_| f()).collect();
    all.sort();
    all[all.len() / 2]
}

/// The median time over the runs of `f`, and every run's waits together.
fn median_with_waits(runs: usize, mut f: impl FnMut() -> (Duration, Waits)) -> (Duration, Waits) {
    let mut times = Vec::new();
    let mut waits = Waits::default();
    for _ in 0..runs {
        let (took, run_waits) = f();
        times.push(took);
        waits.0.extend(run_waits.0);
    }
    times.sort();
    (times[times.len() / 2], waits)
}
