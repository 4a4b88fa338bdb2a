//! Sites benchmark on a copy of the example (the `chat` site: chat_main, chat_api, chat_websocket
//! behind a front door), with a redis-server of its own and every port free:
//!
//! 1. `kovan up chat` to the front door's first 200, against the slowest member's own readiness
//!    (its /health/ answering 200), timed from the same start;
//! 2. the front door's added latency: GET /api/me/ on chat_api directly and through the door,
//!    10,000 requests each on one keep-alive connection, interleaved in blocks, p50 and p99;
//! 3. three members writing the shared SQLite database at once (one process per member, with its
//!    own env file), 30 s: writes per second and "database is locked" errors.
//!
//!     cargo bench -p kovan-cli --bench sites     # KOVAN_BENCH_RUNS=5, KOVAN_BENCH_SECONDS=60
//!
//! It runs the example with KOVAN_TEST_PYTHON (scripts/setup.sh test makes it). Results and their
//! reading: docs/PERFORMANCE.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MEMBERS: [&str; 3] = ["chat_main", "chat_api", "chat_websocket"];
const REQUESTS: usize = 10_000;
const BLOCK: usize = 500;

fn main() {
    // `cargo test --benches` runs this too, without `--bench`: do nothing heavy then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("sites benchmark: run it with `cargo bench -p kovan-cli --bench sites`");
        return;
    }
    let runs = env_number("KOVAN_BENCH_RUNS", 3).max(1);
    let seconds = env_number("KOVAN_BENCH_SECONDS", 30).max(1);
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let site = Site::prepare(dir.path(), data.path(), &redis);

    // 1. Up to the first 200, `runs` times (the first one also migrates the shared database).
    let mut ups = Vec::new();
    for run in 1..=runs {
        let up = site.up();
        println!(
            "up run {run}: members ready at {} ms (slowest {}), front door's first 200 at {} ms: +{} ms",
            up.members
                .iter()
                .map(|(m, t)| format!("{m} {}", t.as_millis()))
                .collect::<Vec<_>>()
                .join(", "),
            up.slowest().0,
            up.door.as_millis(),
            up.door.saturating_sub(up.slowest().1).as_millis()
        );
        ups.push(up);
        if run < runs {
            site.stop();
        }
    }

    // 2. Latency, direct and through the door, in the same run.
    let api = site.port("chat_api");
    let (direct, door) = latencies(api, site.front_door, "/api/me/");
    let (d50, d99) = (quantile(&direct, 0.50), quantile(&direct, 0.99));
    let (f50, f99) = (quantile(&door, 0.50), quantile(&door, 0.99));
    println!("latency over {REQUESTS} requests each (GET /api/me/ on chat_api, keep-alive):");
    println!(
        "  direct        p50 {:.3} ms  p99 {:.3} ms",
        ms(d50),
        ms(d99)
    );
    println!(
        "  front door    p50 {:.3} ms  p99 {:.3} ms",
        ms(f50),
        ms(f99)
    );
    println!(
        "  added         p50 {:.3} ms  p99 {:.3} ms  (ratio p50 {:.2}x, p99 {:.2}x)",
        ms(f50.saturating_sub(d50)),
        ms(f99.saturating_sub(d99)),
        f50.as_secs_f64() / d50.as_secs_f64(),
        f99.as_secs_f64() / d99.as_secs_f64()
    );

    // 3. Three writers on the shared SQLite file.
    site.writers(seconds);

    let mut slowest: Vec<Duration> = ups.iter().map(|u| u.slowest().1).collect();
    let mut doors: Vec<Duration> = ups.iter().map(|u| u.door).collect();
    let mut gaps: Vec<Duration> = ups
        .iter()
        .map(|u| u.door.saturating_sub(u.slowest().1))
        .collect();
    println!(
        "up, median of {runs}: slowest member ready {} ms, front door first 200 {} ms, gap {} ms",
        median(&mut slowest).as_millis(),
        median(&mut doors).as_millis(),
        median(&mut gaps).as_millis()
    );
    site.stop();
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn python() -> PathBuf {
    let python = std::env::var_os("KOVAN_TEST_PYTHON").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/kovan/test-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup.sh test (or set KOVAN_TEST_PYTHON)",
        python.display()
    );
    python
}

/// A child leading its own process group, killed with the group when dropped.
struct Group(Child);

impl Group {
    fn spawn(cmd: &mut Command) -> Self {
        Self(cmd.process_group(0).spawn().unwrap())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: signalling the group this benchmark started.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

struct Redis {
    _group: Group,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let group = Group::spawn(
            Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null()),
        );
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            _group: group,
            port,
            _dir: dir,
        }
    }
}

struct Site {
    root: PathBuf,
    data: PathBuf,
    ports: Vec<(String, u16)>,
    front_door: u16,
    up: std::cell::RefCell<Option<Group>>,
}

struct Up {
    members: Vec<(String, Duration)>,
    door: Duration,
}

impl Up {
    fn slowest(&self) -> (&str, Duration) {
        self.members
            .iter()
            .max_by_key(|(_, t)| *t)
            .map(|(m, t)| (m.as_str(), *t))
            .unwrap()
    }
}

impl Site {
    /// The example copied into `root` on free ports, its config generated.
    fn prepare(root: &Path, data: &Path, redis: &Redis) -> Self {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/context7");
        copy_tree(&example, root);
        let toml = root.join("kovan.toml");
        let mut text = std::fs::read_to_string(&toml).unwrap();
        text = text
            .replace(
                "python = \".venv/bin/python\"",
                &format!("python = {:?}", python().display().to_string()),
            )
            .replace(
                "redis://127.0.0.1:6379/0",
                &format!("redis://127.0.0.1:{}/0", redis.port),
            );
        let mut ports = Vec::new();
        for (name, port) in [
            ("chat_main", 8000),
            ("chat_api", 8001),
            ("chat_websocket", 8002),
            ("review", 8003),
        ] {
            let free = free_port();
            text = text.replace(&format!("port = {port}\n"), &format!("port = {free}\n"));
            ports.push((name.to_string(), free));
        }
        let front_door = free_port();
        text = text.replace("front_door = 8080", &format!("front_door = {front_door}"));
        std::fs::write(&toml, text).unwrap();
        let site = Self {
            root: root.to_path_buf(),
            data: data.to_path_buf(),
            ports,
            front_door,
            up: std::cell::RefCell::new(None),
        };
        site.kovan(&["gen", "--write"]);
        site
    }

    fn port(&self, instance: &str) -> u16 {
        self.ports.iter().find(|(n, _)| n == instance).unwrap().1
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kovan"));
        cmd.args(args)
            .arg("--workspace")
            .arg(&self.root)
            .env("KOVAN_DATA_DIR", &self.data)
            .env_remove("KOVAN_WORKSPACE");
        cmd
    }

    fn kovan(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "kovan {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kovan up chat`, timing each member's first 200 on /health/ and the door's on /login/.
    fn up(&self) -> Up {
        let started = Instant::now();
        let mut child = self.command(&["up", "chat", "--yes"]);
        child.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut group = Group::spawn(&mut child);
        let stderr = group.0.stderr.take().unwrap();
        // Drained so `kovan up` never blocks on a full pipe; kept for a failure's message.
        let lines = std::thread::spawn(move || {
            BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        let mut members: Vec<(String, Option<Duration>)> =
            MEMBERS.iter().map(|m| (m.to_string(), None)).collect();
        let mut door = None;
        let deadline = started + Duration::from_secs(120);
        while door.is_none() || members.iter().any(|(_, t)| t.is_none()) {
            if Instant::now() > deadline || group.0.try_wait().unwrap().is_some() {
                drop(group);
                panic!(
                    "the site did not come up: {:?}\n{}",
                    members,
                    lines.join().unwrap().join("\n")
                );
            }
            for (m, t) in members.iter_mut().filter(|(_, t)| t.is_none()) {
                if status(self.port(m), "/health/") == Some(200) {
                    *t = Some(started.elapsed());
                }
            }
            if door.is_none() && status(self.front_door, "/login/") == Some(200) {
                door = Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        *self.up.borrow_mut() = Some(group);
        Up {
            members: members.into_iter().map(|(m, t)| (m, t.unwrap())).collect(),
            door: door.unwrap(),
        }
    }

    fn stop(&self) {
        if let Some(mut group) = self.up.borrow_mut().take() {
            // SAFETY: SIGTERM to the `kovan up` this benchmark started; it stops the site.
            unsafe { libc::kill(group.0.id() as i32, libc::SIGTERM) };
            let _ = group.0.wait();
        }
    }

    fn env_of(&self, instance: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.root.join(format!(".env.{instance}"))).unwrap();
        kovan_core::generate::env_file::parse(&text)
            .into_iter()
            .collect()
    }

    /// One writer process per member on the shared database, all at once.
    fn writers(&self, seconds: usize) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sqlite_writer.py");
        let setup = Command::new(python())
            .args(["manage.py", "shell", "-c"])
            .arg(
                "from django.contrib.auth import get_user_model\n\
                 from chat.models import Room\n\
                 u, _ = get_user_model().objects.get_or_create(username='bench')\n\
                 Room.objects.get_or_create(name='bench', defaults={'created_by': u})\n",
            )
            .current_dir(&self.root)
            .envs(self.env_of("chat_main"))
            .output()
            .unwrap();
        assert!(
            setup.status.success(),
            "{}",
            String::from_utf8_lossy(&setup.stderr)
        );
        let children: Vec<(String, Child)> = MEMBERS
            .iter()
            .map(|m| {
                let child = Command::new(python())
                    .arg(&script)
                    .args([&seconds.to_string(), "bench", "bench"])
                    .current_dir(&self.root)
                    .envs(self.env_of(m))
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap();
                (m.to_string(), child)
            })
            .collect();
        let mut total = 0u64;
        let mut locked = 0u64;
        println!("three writers on the shared SQLite file, {seconds} s:");
        for (member, child) in children {
            let mut out = String::new();
            child.stdout.unwrap().read_to_string(&mut out).unwrap();
            let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
            total += v["writes"].as_u64().unwrap();
            locked += v["locked"].as_u64().unwrap();
            println!(
                "  {member:<15} {} writes ({:.0}/s), {} locked, {} other errors, journal {}, write p50 {} ms p99 {} ms max {} ms",
                v["writes"],
                v["writes"].as_f64().unwrap() / seconds as f64,
                v["locked"],
                v["other_errors"],
                v["journal_mode"],
                v["p50_ms"],
                v["p99_ms"],
                v["max_ms"]
            );
        }
        println!(
            "  together       {total} writes ({:.0}/s), {locked} \"database is locked\"",
            total as f64 / seconds as f64
        );
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches!(name.as_str(), ".venv" | "__pycache__" | "logs")
            || name.starts_with(".env.")
            || name.contains(".sqlite3")
            || name.starts_with("staticfiles_")
            || name.starts_with("media_")
        {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The status of one `GET path` on its own connection; None when nothing answers.
fn status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 32];
    let n = stream.read(&mut head).ok()?;
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    String::from_utf8_lossy(&head[..n])
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A keep-alive HTTP/1.1 client reading Content-Length or chunked bodies. When the server ends the
/// connection (nginx after `keepalive_requests`, `Connection: close`), it connects again; a request
/// the closing connection lost is sent again and timed anew.
struct KeepAlive {
    port: u16,
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
}

impl KeepAlive {
    fn new(port: u16, path: &str) -> Self {
        Self {
            port,
            reader: Self::connect(port),
            request: format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").into_bytes(),
        }
    }

    fn connect(port: u16) -> BufReader<TcpStream> {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        BufReader::new(stream)
    }

    /// One request, timed from the write to the last byte of the body.
    fn time(&mut self) -> Duration {
        for _ in 0..3 {
            let started = Instant::now();
            match self.once() {
                Ok(close) => {
                    let took = started.elapsed();
                    if close {
                        self.reader = Self::connect(self.port);
                    }
                    return took;
                }
                Err(_) => self.reader = Self::connect(self.port),
            }
        }
        panic!("three requests in a row failed on port {}", self.port);
    }

    /// Whether the server said it closes the connection after this answer.
    fn once(&mut self) -> std::io::Result<bool> {
        self.reader.get_mut().write_all(&self.request)?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse::<usize>().ok();
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = v.eq_ignore_ascii_case("chunked");
                } else if k.eq_ignore_ascii_case("connection") {
                    close = v.eq_ignore_ascii_case("close");
                }
            }
        }
        if chunked {
            // daphne answers without Content-Length; nginx passes the chunks on.
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
                let mut chunk = vec![0u8; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
            }
        } else {
            let mut body = vec![0u8; length.expect("a Content-Length or chunks")];
            self.reader.read_exact(&mut body)?;
        }
        Ok(close)
    }
}

fn latencies(direct_port: u16, door_port: u16, path: &str) -> (Vec<Duration>, Vec<Duration>) {
    let mut direct = KeepAlive::new(direct_port, path);
    let mut door = KeepAlive::new(door_port, path);
    for _ in 0..200 {
        direct.time();
        door.time();
    }
    let (mut a, mut b) = (Vec::with_capacity(REQUESTS), Vec::with_capacity(REQUESTS));
    // Interleaved blocks: whatever else the machine does falls on both alike.
    while a.len() < REQUESTS {
        for _ in 0..BLOCK {
            a.push(direct.time());
        }
        for _ in 0..BLOCK {
            b.push(door.time());
        }
    }
    (a, b)
}

fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}
