//! `kovan up chat` on a copy of the example: the site's members start, its shared database is
//! migrated once, then its front door (nginx, run by Kovan) opens. Through the door a user signs up
//! and logs in with real form POSTs (CSRF token, Origin of the door), and the session holds on
//! chat_api (through the door's /api/ route and on chat_api's own port). A room is created, two
//! websocket clients in it talk through the door over the real channel layer on the real Redis.
//! `kovan status` shows the site as a line with its members beneath; `kovan stop chat_api` alone
//! makes the door reload and answer /api/ with its 502 page while the open websockets keep
//! talking; `kovan stop chat` closes the door first, then stops the members.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kovan_testsupport::free_port;
use kovan_testsupport::web::{http, next_json, post_form, say, sign_up_and_log_in, socket};

fn python() -> PathBuf {
    std::env::var_os("KOVAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var("HOME").unwrap()).join(".cache/kovan/test-venv/bin/python")
        })
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
    let cookie = sign_up_and_log_in(door, csrf, session, "ayse", "gizli-Parola-41");
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
    say(&mut a, "merhaba");
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
    say(&mut b, "hâlâ burada");
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
