//! `kovan up chat` on a copy of the example: the site's members start, its shared database is
//! migrated once, then its front door (nginx, run by Kovan) opens. Through the door a user signs up
//! and logs in with real form POSTs (CSRF token, Origin of the door), and the session holds on
//! chat_api (through the door's /api/ route and on chat_api's own port); SIGTERM closes the door
//! first, then stops the members.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn python() -> PathBuf {
    std::env::var_os("KOVAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var("HOME").unwrap()).join(".cache/kovan/test-venv/bin/python")
        })
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| {
                let (k, rest) = v.split_once('=')?;
                (k.trim() == name).then(|| rest.split(';').next().unwrap_or("").to_string())
            })
    }
}

fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A form POST as a browser on `port` sends it: the CSRF cookie and token from the form's page,
/// the page's origin.
fn post_form(port: u16, path: &str, csrf: &str, cookies: &str, fields: &str) -> Answer {
    let page = http(port, "GET", path, &[("Cookie", cookies)], "");
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    let token = page
        .cookie(csrf)
        .unwrap_or_else(|| panic!("no {csrf} cookie from {path}: {:?}", page.headers));
    let origin = format!("http://127.0.0.1:{port}");
    let cookie = format!("{csrf}={token}");
    http(
        port,
        "POST",
        path,
        &[
            ("Origin", &origin),
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("{fields}&csrfmiddlewaretoken={token}"),
    )
}

struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Up {
    /// Lines until one contains `needle` (or the deadline), all of them kept.
    fn wait_for(&mut self, needle: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.seen.contains(needle) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(_) => return false,
            }
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // SAFETY: SIGTERM to the kovan up this test started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn kovan_up_chat_opens_the_front_door_and_one_login_holds_on_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let root = dir.path().join("context7");
    kovan_testsupport::copy_project(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/context7"),
        &root,
    );
    let toml = root.join("kovan.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap().replace(
        "python = \".venv/bin/python\"",
        &format!("python = {:?}", python().display().to_string()),
    );
    // A Redis of the test's own, which Kovan starts (managed).
    text = text.replace(
        "redis://127.0.0.1:6379/0",
        &format!("redis://127.0.0.1:{}/0", free_port()),
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
        ports.push((name, free));
    }
    let door = free_port();
    text = text.replace("front_door = 8080", &format!("front_door = {door}"));
    std::fs::write(&toml, text).unwrap();
    let kovan = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .current_dir(&root)
            .env("KOVAN_DATA_DIR", data.path())
            .env_remove("KOVAN_WORKSPACE")
            .stdin(Stdio::null());
        c
    };
    let gen = kovan(&["gen", "--write"]).output().unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );

    let mut child = kovan(&["up", "chat", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut up = Up {
        child,
        lines,
        seen: String::new(),
    };
    let opened = format!("the front door of chat is open: http://127.0.0.1:{door}/");
    assert!(up.wait_for(&opened, 120), "{}", up.seen);
    // The shared database was migrated once, through the first member.
    assert_eq!(
        up.seen.matches("| migrate | Running migrations").count(),
        1,
        "{}",
        up.seen
    );
    assert!(
        !up.seen.contains("review"),
        "review is not a member: {}",
        up.seen
    );

    let (csrf, session) = ("csrftoken_chat", "sessionid_chat");
    let signed_up = post_form(
        door,
        "/signup/",
        csrf,
        "",
        "username=ayse&password1=gizli-Parola-41&password2=gizli-Parola-41",
    );
    assert_eq!(signed_up.status, 302, "{}", signed_up.body);
    let login = post_form(
        door,
        "/login/",
        csrf,
        "",
        "username=ayse&password=gizli-Parola-41",
    );
    assert_eq!(login.status, 302, "{}", login.body);
    let key = login.cookie(session).expect("a session cookie");
    let cookie = format!("{session}={key}");
    // Through the door's /api/ route, and on chat_api's own port: the same user.
    let api_port = ports.iter().find(|(n, _)| *n == "chat_api").unwrap().1;
    for (port, via) in [(door, "front door"), (api_port, "chat_api")] {
        let me = http(port, "GET", "/api/me/", &[("Cookie", &cookie)], "");
        assert_eq!(me.status, 200, "{via}: {}", me.body);
        let v: serde_json::Value = serde_json::from_str(&me.body).unwrap();
        assert_eq!(v["user"], "ayse", "{via}: {v}");
        assert_eq!(v["instance"], "chat_api", "{via}: {v}");
    }
    // The main page through the door is chat_main's, logged in.
    let page = http(door, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(page.status, 200, "{}", page.body);

    // SIGTERM: the door closes first, then the members stop.
    // SAFETY: SIGTERM to the kovan up this test started.
    unsafe { libc::kill(up.child.id() as i32, libc::SIGTERM) };
    // Every line up to the end of kovan up (its stderr closes when it exits).
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(line) = up
        .lines
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        up.seen.push_str(&line);
        up.seen.push('\n');
    }
    for member in ["chat_main", "chat_api", "chat_websocket"] {
        assert!(
            up.seen.contains(&format!("{member} terminated")),
            "{}",
            up.seen
        );
    }
    let closed = up
        .seen
        .find("the front door of chat closed")
        .expect("closed");
    let stopped = up.seen.find("chat_main terminated").expect("stopped");
    assert!(closed < stopped, "{}", up.seen);
    assert!(
        TcpListener::bind(("127.0.0.1", door)).is_ok(),
        "the front door's port is free again"
    );
}
