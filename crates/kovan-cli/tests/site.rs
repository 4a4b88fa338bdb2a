//! `kovan up chat` on a copy of the example: the site's members start, its shared database is
//! migrated once, then its front door (nginx, run by Kovan) opens. Through the door a user signs up
//! and logs in with real form POSTs (CSRF token, Origin of the door), and the session holds on
//! chat_api (through the door's /api/ route and on chat_api's own port). A room is created, two
//! websocket clients in it talk through the door over the real channel layer on the real Redis.
//! `kovan status` shows the site as a line with its members beneath; `kovan stop chat_api` alone
//! makes the door reload and answer /api/ with its 502 page while the open websockets keep
//! talking; `kovan stop chat` closes the door first, then stops the members.

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
    let cookie = if cookies.is_empty() {
        format!("{csrf}={token}")
    } else {
        format!("{cookies}; {csrf}={token}")
    };
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

    // A room, created on chat_main through the door (a form POST with the session).
    let room = post_form(door, "/", csrf, &cookie, "name=genel");
    assert_eq!(room.status, 302, "{}", room.body);
    // Two tabs in it, their websockets through the door to chat_websocket.
    let mut a = socket(door, "/ws/rooms/genel/", &cookie);
    let mut b = socket(door, "/ws/rooms/genel/", &cookie);
    a.send(tungstenite::Message::text(r#"{"message": "merhaba"}"#))
        .unwrap();
    let got = next_json(&mut b);
    assert_eq!(
        (&got["user"], &got["text"], &got["room"], &got["instance"]),
        (
            &serde_json::json!("ayse"),
            &serde_json::json!("merhaba"),
            &serde_json::json!("genel"),
            &serde_json::json!("chat_websocket")
        ),
        "{got}"
    );
    assert_eq!(next_json(&mut a)["text"], "merhaba", "the sender's tab too");

    // kovan status: the site's line (its front door routing to all three), its members beneath.
    let status = kovan(&["status"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    let site_line = text
        .lines()
        .find(|l| l.starts_with("site chat "))
        .unwrap_or_else(|| panic!("no site line: {text}"));
    assert!(site_line.contains("running"), "{text}");
    assert!(
        site_line.contains("routes to chat_main, chat_api, chat_websocket"),
        "{text}"
    );
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {text}"))
    };
    assert!(at("site chat ") < at("\n  chat_main ") && at("\n  chat_websocket ") < at("\nreview "));
    let rows = status_json(&kovan);
    let door_row = rows.iter().find(|r| r["kind"] == "frontDoor").unwrap();
    assert_eq!(door_row["instance"], "chat");
    assert_eq!(door_row["health"], "ok", "{door_row}");
    assert_eq!(door_row["url"], format!("http://127.0.0.1:{door}/"));
    assert_eq!(
        door_row["routesTo"],
        serde_json::json!(["chat_main", "chat_api", "chat_websocket"])
    );
    let member = rows.iter().find(|r| r["instance"] == "chat_api").unwrap();
    assert_eq!(
        (&member["kind"], &member["site"]),
        (&"instance".into(), &"chat".into())
    );

    // chat_api stopped alone: the door reloads without it, and /api/ gets the door's own page.
    let stopped = kovan(&["stop", "chat_api"]).output().unwrap();
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let api = http(door, "GET", "/api/me/", &[("Cookie", &cookie)], "");
    assert_eq!(api.status, 502, "{}", api.body);
    assert!(
        api.body
            .contains("no api member of this site is running (chat_api stopped)"),
        "{}",
        api.body
    );
    // The rest still answers, and the websockets opened before the reload still talk.
    assert_eq!(
        http(door, "GET", "/", &[("Cookie", &cookie)], "").status,
        200
    );
    b.send(tungstenite::Message::text(r#"{"message": "hâlâ burada"}"#))
        .unwrap();
    assert_eq!(next_json(&mut a)["text"], "hâlâ burada");
    let rows = status_json(&kovan);
    let door_row = rows.iter().find(|r| r["kind"] == "frontDoor").unwrap();
    assert_eq!(
        door_row["routesTo"],
        serde_json::json!(["chat_main", "chat_websocket"])
    );
    drop((a, b));

    // kovan stop chat: the door first, then the members; kovan up sees them stopped and ends.
    let stopped = kovan(&["stop", "chat"]).output().unwrap();
    let said = String::from_utf8_lossy(&stopped.stdout).into_owned();
    assert!(
        stopped.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let closed = said
        .find("front door of chat: terminated")
        .unwrap_or_else(|| panic!("{said}"));
    let main_stopped = said
        .find("chat_main: terminated")
        .unwrap_or_else(|| panic!("{said}"));
    assert!(closed < main_stopped, "{said}");
    assert!(said.contains("chat_websocket: terminated"), "{said}");
    assert!(!said.contains("chat_api"), "already stopped: {said}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(line) = up
        .lines
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        up.seen.push_str(&line);
        up.seen.push('\n');
    }
    assert!(up.seen.contains("stopped by kovan stop"), "{}", up.seen);
    assert!(
        TcpListener::bind(("127.0.0.1", door)).is_ok(),
        "the front door's port is free again"
    );
    let rows = status_json(&kovan);
    assert!(rows.iter().all(|r| r["status"] == "stopped"), "{rows:?}");
}

fn status_json(kovan: &dyn Fn(&[&str]) -> Command) -> Vec<serde_json::Value> {
    let out = kovan(&["status", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A websocket as a browser tab opens it: the page's origin and the session cookie.
fn socket(port: u16, path: &str, cookie: &str) -> tungstenite::WebSocket<TcpStream> {
    use tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Origin",
        format!("http://127.0.0.1:{port}").parse().unwrap(),
    );
    req.headers_mut().insert("Cookie", cookie.parse().unwrap());
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let (ws, response) = tungstenite::client(req, stream).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(response.status(), 101);
    ws
}

fn next_json(ws: &mut tungstenite::WebSocket<TcpStream>) -> serde_json::Value {
    loop {
        match ws.read().expect("a message within 15 s") {
            tungstenite::Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            tungstenite::Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}
