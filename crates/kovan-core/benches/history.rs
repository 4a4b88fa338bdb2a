//! Health history benchmark: a day of 2-second samples for 10 instances (432,000 samples) written
//! one at a time, as the poller writes them, with retention applied as it goes. Prints the store's
//! file size and the write cost per sample.
//!
//!     cargo bench -p kovan-core --bench history
//!
//! Results: docs/PERFORMANCE.md.

use std::path::Path;
use std::time::Instant;

use kovan_core::store::{HealthSample, Store};

const INSTANCES: usize = 10;
const STEP_MS: i64 = 2_000;
const DAY_MS: i64 = 24 * 3_600_000;

fn main() {
    // `cargo test --benches` runs this too, without `--bench`: do nothing heavy then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("history benchmark: run it with `cargo bench -p kovan-core --bench history`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kovan.sqlite3");
    let store = Store::open(&path).unwrap();
    let ws = Path::new("/bench/kovan.toml");
    let names: Vec<String> = (0..INSTANCES).map(|i| format!("instance_{i}")).collect();
    let start = 1_700_000_000_000i64;
    let mut written = 0u64;
    let mut slowest = std::time::Duration::ZERO;
    let began = Instant::now();
    let mut at = start;
    while at < start + DAY_MS {
        for (i, name) in names.iter().enumerate() {
            let one = Instant::now();
            store
                .record_health_sample(
                    ws,
                    &HealthSample {
                        instance: name.clone(),
                        at: at + i as i64,
                        up: true,
                        latency_ms: Some(2.0 + (at % 7) as f64),
                        cpu: Some(1.5),
                        rss: Some(60_000_000),
                    },
                )
                .unwrap();
            slowest = slowest.max(one.elapsed());
            written += 1;
        }
        at += STEP_MS;
    }
    let total = began.elapsed();
    let kept = store.sample_count().unwrap();
    drop(store);
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = size(&dir.path().join("kovan.sqlite3-wal"));
    println!(
        "{written} samples ({INSTANCES} instances, one day at {} s) in {:.1} s: {:.1} µs per sample on average, slowest {:.1} ms (a retention pass)",
        STEP_MS / 1000,
        total.as_secs_f64(),
        total.as_secs_f64() * 1e6 / written as f64,
        slowest.as_secs_f64() * 1e3
    );
    println!(
        "kept {kept} samples; store file {:.1} MiB (+ WAL {:.1} MiB before checkpoint at close)",
        size(&path) as f64 / 1048576.0,
        wal as f64 / 1048576.0
    );
}
