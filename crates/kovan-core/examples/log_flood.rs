//! Log throughput of the supervisor: an instance prints N lines as fast as it can; how fast do they
//! reach the ring (and logs/{name}.log), and how much memory does the supervisor's process use?
//!
//!     cargo run --release -p kovan-core --example log_flood -- [LINES]
//!
//! Reports lines per second from spawn to the last line in the ring, and peak RSS (VmHWM).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kovan_core::supervisor::{StartOptions, Supervisor};

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let lines: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/health_server.py"
    );
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(dir.path().join(".env.loud"), "").unwrap();
    std::fs::write(
        dir.path().join("kovan.toml"),
        format!("[project]\nname = \"bench\"\nsettings = \"b.settings\"\n\n[[instance]]\nname = \"loud\"\nport = {port}\ncache = \"locmem\"\ncommand = \"python3 {server} {{port}} --flood {lines}\"\n"),
    )
    .unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    let sup = Supervisor::new(ws, None, Arc::new(|_| {}));
    let before = vm_hwm_kib();
    let started = Instant::now();
    sup.start("loud", StartOptions::default()).await.unwrap();
    let last = format!("flood line {} ", lines - 1);
    loop {
        if sup
            .logs("loud")
            .unwrap()
            .iter()
            .rev()
            .take(50)
            .any(|l| l.text.starts_with(&last))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let ring = sup.logs("loud").unwrap().len();
    sup.stop("loud").await.unwrap();
    let file_lines = std::fs::read_to_string(dir.path().join("logs/loud.log"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    println!("lines printed     {lines}");
    println!("time to the last  {secs:.2} s (spawn, Python start-up and readiness included)");
    println!("throughput        {:.0} lines/s", lines as f64 / secs);
    println!("ring holds        {ring} lines (bound 5000)");
    println!("log file holds    {file_lines} lines (rotated at 10 MiB, older parts in .1-.3)");
    println!(
        "peak RSS          {} MiB (before the flood {} MiB)",
        vm_hwm_kib() / 1024,
        before / 1024
    );
}
