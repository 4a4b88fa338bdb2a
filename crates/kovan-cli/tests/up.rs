//! `kovan up` killed with SIGKILL leaves its instances running; `kovan status` finds them through
//! the store and `kovan stop --all` stops them, nothing left behind.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kovan-core/tests/fixtures/health_server.py")
        .display()
        .to_string()
}

fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let after: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        after[0] != "Z" && after[2].parse::<i32>().ok() == Some(pgid)
    })
}

#[test]
fn instances_outlive_a_killed_kovan_up_and_are_found_and_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    // With a Redis Kovan starts itself: it must be found and stopped with the instances.
    let redis_port = free_port();
    let mut toml = format!(
        "[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n[redis]\nurl = \"redis://127.0.0.1:{redis_port}/0\"\nmanaged = true\n"
    );
    let ports = [free_port(), free_port()];
    for ((name, cache), port) in [("a", "redis"), ("b", "locmem")].iter().zip(ports) {
        std::fs::write(dir.path().join(format!(".env.{name}")), "").unwrap();
        toml.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {port}\ncache = \"{cache}\"\ncommand = \"python3 {} {{port}} --report {}\"\n",
            server(),
            dir.path().join(format!("report_{name}.json")).display()
        ));
    }
    std::fs::write(dir.path().join("kovan.toml"), toml).unwrap();
    let kovan = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .arg("--workspace")
            .arg(dir.path())
            .env("KOVAN_DATA_DIR", data.path());
        c
    };
    // What each instance's /health/ reports: a with the names Kovan derived; b with Django's
    // default session cookie, as a b that runs with other settings would.
    let check: serde_json::Value =
        serde_json::from_slice(&kovan(&["check", "--json"]).output().unwrap().stdout).unwrap();
    for i in check["instances"].as_array().unwrap() {
        let (name, names) = (i["name"].as_str().unwrap(), &i["names"]);
        let session = if name == "b" {
            "sessionid"
        } else {
            names["sessionCookie"].as_str().unwrap()
        };
        let report = serde_json::json!({
            "status": "ok", "instance": name,
            "database": {"vendor": "sqlite", "ok": true, "name": dir.path().join(names["database"].as_str().unwrap())},
            "cache": {"backend": "x", "ok": true, "key_prefix": names["cachePrefix"]},
            "session_cookie": session, "csrf_cookie": names["csrfCookie"],
        });
        std::fs::write(
            dir.path().join(format!("report_{name}.json")),
            report.to_string(),
        )
        .unwrap();
    }
    // Whatever the assertions find, the groups recorded in this store are stopped at the end.
    let _cleanup = StopAllOnDrop(kovan(&["stop", "--all"]));

    let mut up = kovan(&["up", "a", "b"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(up.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.contains("a, b running") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "kovan up did not report both running"
        );
    }
    // SIGKILL: no chance to clean up.
    unsafe { libc::kill(up.id() as i32, libc::SIGKILL) };
    up.wait().unwrap();

    let out = kovan(&["status", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The window's health: a is ok; b answers but with another session cookie; the Redis is
    // asked with PING, not HTTP.
    let mut pids = Vec::new();
    for ((row, port), health) in rows
        .as_array()
        .unwrap()
        .iter()
        .zip(ports)
        .zip(["ok", "mismatch"])
    {
        assert_eq!(
            (
                row["status"].as_str(),
                row["health"].as_str(),
                row["port"].as_u64()
            ),
            (Some("running"), Some(health), Some(port as u64)),
            "{row}"
        );
        pids.push(row["pid"].as_i64().unwrap() as i32);
    }
    assert!(
        rows[1]["healthDetail"]
            .as_str()
            .unwrap()
            .contains(r#"reports session cookie "sessionid"; expected "sessionid_b""#),
        "{rows}"
    );
    let redis = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance"] == "redis-server")
        .expect("the managed Redis has a row");
    assert_eq!(redis["health"], "ok", "{redis}");
    assert!(
        redis["healthDetail"].as_str().unwrap().contains("PING"),
        "{redis}"
    );

    let out = kovan(&["stop", "--all"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a: terminated") && text.contains("b: terminated"),
        "{text}"
    );
    for (pid, port) in pids.into_iter().zip(ports) {
        assert!(!group_alive(pid), "group {pid} survived");
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} still taken"
        );
    }
    assert!(
        TcpListener::bind(("127.0.0.1", redis_port)).is_ok(),
        "the managed redis-server outlived kovan stop --all:\n{text}"
    );
    let out = kovan(&["status", "--json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "stopped"),
        "{rows}"
    );
}

struct StopAllOnDrop(Command);

impl Drop for StopAllOnDrop {
    fn drop(&mut self) {
        let _ = self.0.output();
    }
}

#[test]
fn up_refuses_an_unknown_name_with_the_choices() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/context7");
    let out = Command::new(env!("CARGO_BIN_EXE_kovan"))
        .args(["up", "nope", "--workspace"])
        .arg(&example)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`nope` is neither a preset (dev) nor an instance (chat_main, chat_api, chat_websocket, review) nor a site (chat)."), "{stderr}");
}
