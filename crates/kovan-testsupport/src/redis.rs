//! A redis-server of a test's or benchmark's own, and redis-cli on any test's server.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A redis-server on a free loopback port, without persistence, killed by PID when dropped (also
/// on panic) and by the kernel if this process dies first.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGKILL the child with us.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .expect("redis-server (apt install redis-server)");
        let server = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// One command through redis-cli on this server.
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }

    /// Every key of this server's database 0.
    pub fn keys(&self) -> std::collections::BTreeSet<String> {
        redis_keys(self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One command through redis-cli on 127.0.0.1:`port`; arguments go as they are, no shell between.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (apt install redis-tools)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every key of the Redis on 127.0.0.1:`port` (database 0), by SCAN.
pub fn redis_keys(port: u16) -> std::collections::BTreeSet<String> {
    redis_cli(port, &["--scan"])
        .lines()
        .map(str::to_owned)
        .collect()
}
