//! The front door against the real nginx: routing by prefix and weight, the headers Django needs,
//! websocket upgrades, a reload that changes membership without dropping an open websocket, a
//! config nginx refuses, and the example's login form posted through it.

mod support;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kovan_core::services::nginx::{
    self, FrontDoor, NginxError, Paths, Route, Upstream, UpstreamServer,
};
use support::{free_port, python, request, wait_for_port, Group};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A member that answers every request with JSON naming itself and echoing the headers.
struct Echo {
    _group: Group,
    port: u16,
}

impl Echo {
    fn start(name: &str) -> Self {
        let port = free_port();
        let script = support::repo_root().join("crates/kovan-core/tests/fixtures/echo_server.py");
        let group = Group::spawn(
            Command::new(python())
                .arg(script)
                .arg(name)
                .arg(port.to_string())
                .stdout(Stdio::null()),
            name,
        );
        wait_for_port(port, name);
        Self {
            _group: group,
            port,
        }
    }
}

/// A websocket member: answers each text message with `{name}: {text}`, and reports the headers
/// of each handshake it accepted.
struct WsEcho {
    port: u16,
    handshakes: tokio::sync::mpsc::UnboundedReceiver<HashMap<String, String>>,
    task: tokio::task::JoinHandle<()>,
}

impl WsEcho {
    async fn start(name: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, handshakes) = tokio::sync::mpsc::unbounded_channel();
        let name = name.to_string();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (tx, name) = (tx.clone(), name.clone());
                tokio::spawn(async move {
                    // The callback's type is tungstenite's, large error variant included.
                    #[allow(clippy::result_large_err)]
                    let record =
                        |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                                .collect();
                            let _ = tx.send(headers);
                            Ok(resp)
                        };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, record).await
                    else {
                        return;
                    };
                    while let Some(Ok(msg)) = ws.next().await {
                        if let Message::Text(text) = msg {
                            let reply = format!("{name}: {text}");
                            if ws.send(Message::text(reply)).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Self {
            port,
            handshakes,
            task,
        }
    }
}

impl Drop for WsEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// nginx running a front door, its output in a file, killed with its group when dropped.
struct RunningDoor {
    group: Group,
    paths: Paths,
    _dir: tempfile::TempDir,
    binary: std::path::PathBuf,
    version: Option<(u32, u32, u32)>,
}

impl RunningDoor {
    async fn start(door: &FrontDoor) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::for_site(dir.path(), &dir.path().join("kovan.toml"), "t", &door.site);
        let binary = nginx::binary(&door.site).expect("nginx is installed (apt install nginx)");
        let version = nginx::version(&binary);
        nginx::prepare(&binary, door, &paths, version).unwrap();
        let argv = nginx::argv(&binary, &paths, version);
        let log = std::fs::File::create(dir.path().join("nginx.log")).unwrap();
        let group = Group::spawn(
            Command::new(&argv[0])
                .args(&argv[1..])
                .stdout(log.try_clone().unwrap())
                .stderr(log),
            "nginx",
        );
        nginx::wait_until_open(door, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{e}\n{}",
                    std::fs::read_to_string(dir.path().join("nginx.log")).unwrap_or_default()
                )
            });
        Self {
            group,
            paths,
            _dir: dir,
            binary,
            version,
        }
    }

    async fn reload(&self, door: &FrontDoor) {
        nginx::prepare(&self.binary, door, &self.paths, self.version).unwrap();
        let pid = self.group.pgid();
        let started = kovan_core::platform::start_time(pid).unwrap();
        nginx::reload(&door.site, pid, started, Duration::from_secs(10))
            .await
            .unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("nginx.log")).unwrap_or_default()
    }
}

fn server(instance: &str, port: u16, weight: u32) -> UpstreamServer {
    UpstreamServer {
        instance: instance.into(),
        port,
        weight,
    }
}

fn upstream(role: &str, servers: Vec<UpstreamServer>) -> Upstream {
    Upstream {
        role: role.into(),
        servers,
        stopped: Vec::new(),
    }
}

fn route(prefix: &str, role: &str) -> Route {
    Route {
        prefix: prefix.into(),
        role: role.into(),
        long_lived: role == "websocket",
    }
}

fn door(port: u16, upstreams: Vec<Upstream>) -> FrontDoor {
    let has = |role: &str| upstreams.iter().any(|u| u.role == role);
    let mut routes = Vec::new();
    if has("websocket") {
        routes.push(route("/ws/", "websocket"));
    }
    if has("api") {
        routes.push(route("/api/", "api"));
    }
    routes.push(route("/", "main"));
    FrontDoor {
        site: "chat".into(),
        project: "t".into(),
        port,
        upstreams,
        routes,
    }
}

fn served_by(port: u16, path: &str) -> String {
    let r = request(port, "GET", path, &[], "");
    assert_eq!(r.status, 200, "{path}: {r:?}");
    r.json()["server"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_prefix_and_weight_with_the_port_in_every_forwarded_header() {
    let (a, b, api, ws) = (
        Echo::start("main_a"),
        Echo::start("main_b"),
        Echo::start("api"),
        Echo::start("websocket"),
    );
    let port = free_port();
    let door = door(
        port,
        vec![
            upstream(
                "main",
                vec![server("main_a", a.port, 3), server("main_b", b.port, 1)],
            ),
            upstream("api", vec![server("api", api.port, 1)]),
            upstream("websocket", vec![server("websocket", ws.port, 1)]),
        ],
    );
    let running = RunningDoor::start(&door).await;

    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..40 {
        *counts.entry(served_by(port, "/rooms/")).or_default() += 1;
    }
    // One worker, smooth weighted round robin: exactly 3 to 1.
    assert_eq!(counts.get("main_a"), Some(&30), "{counts:?}");
    assert_eq!(counts.get("main_b"), Some(&10), "{counts:?}");
    assert_eq!(served_by(port, "/api/rooms/"), "api");
    assert_eq!(served_by(port, "/ws/rooms/genel/"), "websocket");
    assert!(
        served_by(port, "/apiary/").starts_with("main_"),
        "/api/ is a folder prefix, not a word prefix"
    );

    let r = request(
        port,
        "POST",
        "/api/rooms/?x=1",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "name=genel",
    );
    let echo = r.json();
    assert_eq!(echo["server"], "api");
    assert_eq!(
        echo["path"], "/api/rooms/?x=1",
        "the path reaches the member unchanged"
    );
    assert_eq!(echo["body"], "name=genel");
    let headers = &echo["headers"];
    let with_port = format!("127.0.0.1:{port}");
    assert_eq!(headers["host"], with_port.as_str(), "{headers}");
    assert_eq!(headers["x-forwarded-host"], with_port.as_str());
    assert_eq!(headers["x-forwarded-port"], port.to_string().as_str());
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-real-ip"], "127.0.0.1");
    assert!(headers.get("upgrade").is_none(), "{headers}");

    // A Host written as localhost:PORT is passed as written (it is what the browser's Origin says).
    let r = request(
        port,
        "GET",
        "/",
        &[("Host", &format!("localhost:{port}"))],
        "",
    );
    assert_eq!(
        r.json()["headers"]["host"],
        format!("localhost:{port}").as_str()
    );

    // nginx answers its own probe without a member.
    let probe = request(port, "GET", nginx::PROBE_PATH, &[], "");
    assert_eq!(probe.status, 200);
    assert_eq!(probe.json()["site"], "chat");

    // The access log names the upstream each request went to.
    let log = running.log();
    assert!(log.contains(&format!("-> 127.0.0.1:{}", api.port)), "{log}");
    assert!(
        !log.contains(nginx::PROBE_PATH),
        "probes stay out of the log: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_on_loopback_only() {
    let a = Echo::start("main_a");
    let port = free_port();
    let door = door(
        port,
        vec![upstream("main", vec![server("main_a", a.port, 1)])],
    );
    let running = RunningDoor::start(&door).await;
    let listeners: Vec<_> = kovan_core::platform::listeners_seen_by(running.group.pgid())
        .into_iter()
        .filter(|l| l.port == port)
        .collect();
    assert!(!listeners.is_empty());
    assert!(
        listeners.iter().all(|l| l.address.is_loopback()),
        "{listeners:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_upgrade_and_an_open_one_survives_a_reload_that_changes_membership() {
    let (a, b, c) = (
        Echo::start("main_a"),
        Echo::start("main_b"),
        Echo::start("main_c"),
    );
    let mut ws = WsEcho::start("ws1").await;
    let port = free_port();
    let before = door(
        port,
        vec![
            upstream(
                "main",
                vec![server("main_a", a.port, 1), server("main_b", b.port, 1)],
            ),
            upstream("websocket", vec![server("ws1", ws.port, 1)]),
        ],
    );
    let running = RunningDoor::start(&before).await;

    let mut req = format!("ws://127.0.0.1:{port}/ws/rooms/genel/")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Origin",
        format!("http://127.0.0.1:{port}").parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(req.clone()).await.unwrap();
    assert_eq!(response.status(), 101);
    let handshake = ws.handshakes.recv().await.unwrap();
    assert_eq!(handshake["host"], format!("127.0.0.1:{port}"));
    assert_eq!(handshake["upgrade"].to_lowercase(), "websocket");
    assert_eq!(handshake["origin"], format!("http://127.0.0.1:{port}"));
    socket.send(Message::text("merhaba")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("ws1: merhaba")
    );

    // main_b leaves, main_c joins.
    let after = door(
        port,
        vec![
            upstream(
                "main",
                vec![server("main_a", a.port, 1), server("main_c", c.port, 1)],
            ),
            upstream("websocket", vec![server("ws1", ws.port, 1)]),
        ],
    );
    let workers_before = nginx::workers(running.group.pgid());
    running.reload(&after).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..10 {
        *seen.entry(served_by(port, "/")).or_default() += 1;
    }
    assert_eq!(seen.get("main_a"), Some(&5), "{seen:?}");
    assert_eq!(seen.get("main_c"), Some(&5), "{seen:?}");

    // The websocket opened before the reload still talks, through the old worker.
    socket.send(Message::text("hâlâ burada")).await.unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("the open websocket answers after the reload")
            .unwrap()
            .unwrap(),
        Message::text("ws1: hâlâ burada")
    );
    assert!(
        workers_before
            .iter()
            .any(|w| nginx::workers(running.group.pgid()).contains(w)),
        "the old worker stays while it holds the websocket"
    );
    // And a new one opens through the new worker.
    let (mut second, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    second.send(Message::text("yeni")).await.unwrap();
    assert_eq!(
        second.next().await.unwrap().unwrap(),
        Message::text("ws1: yeni")
    );
    socket.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_nginx_refuses_is_reported_in_its_words_and_the_running_one_is_kept() {
    let a = Echo::start("main_a");
    let port = free_port();
    let good = door(
        port,
        vec![upstream("main", vec![server("main_a", a.port, 1)])],
    );
    let running = RunningDoor::start(&good).await;
    let kept = std::fs::read_to_string(running.paths.config()).unwrap();

    // A route prefix nginx cannot parse (kovan.toml's validation keeps these out; nginx is the
    // last word on its own syntax).
    let mut bad = good.clone();
    bad.routes.push(route("/a b/", "main"));
    let err = nginx::prepare(&running.binary, &bad, &running.paths, running.version).unwrap_err();
    match &err {
        NginxError::Config { site, message } => {
            assert_eq!(site, "chat");
            assert!(message.contains("location"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(running.paths.config()).unwrap(),
        kept
    );
    assert_eq!(served_by(port, "/"), "main_a", "the door still serves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_refuses_a_process_that_is_not_the_nginx_it_started() {
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = sleeper.id() as i32;
    let started = kovan_core::platform::start_time(pid).unwrap();
    let err = nginx::reload("chat", pid, started + 1, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, NginxError::NotOurs { .. }), "{err}");
    assert!(sleeper.try_wait().unwrap().is_none(), "not signalled");
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

/// The example's login form through the door: the POST passes Django's origin check because the
/// door keeps the port in Host; straight to the member it passes as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_login_form_posts_through_the_door() {
    // chat_websocket caches in LocMem, but its channel layer (the site's) is on Redis.
    let redis = support::Redis::start();
    let (_dir, ws) = support::example_on_free_ports(Some(&redis.url()));
    let member_port = ws.instance("chat_websocket").unwrap().port;
    let made = support::manage(&ws, "chat_websocket", &["migrate", "--noinput"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let user = Command::new(python())
        .args([
            "manage.py",
            "createsuperuser",
            "--noinput",
            "--username",
            "ayse",
            "--email",
            "a@example.com",
        ])
        .current_dir(&ws.project.django_root)
        .envs(support::env_of(&ws, "chat_websocket"))
        .env("DJANGO_SUPERUSER_PASSWORD", "gizli-parola-1")
        .output()
        .unwrap();
    assert!(
        user.status.success(),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );
    let _server = support::runserver(&ws, "chat_websocket", false);

    let port = free_port();
    let door = door(
        port,
        vec![upstream(
            "main",
            vec![server("chat_websocket", member_port, 1)],
        )],
    );
    let _running = RunningDoor::start(&door).await;

    let csrf = ws
        .instance("chat_websocket")
        .unwrap()
        .names
        .csrf_cookie
        .clone();
    let session = ws
        .instance("chat_websocket")
        .unwrap()
        .names
        .session_cookie
        .clone();
    for (target, label) in [(port, "front door"), (member_port, "member")] {
        let form = request(target, "GET", "/login/", &[], "");
        assert_eq!(form.status, 200, "{label}: {form:?}");
        let token = form
            .cookie(&csrf)
            .unwrap_or_else(|| panic!("{label}: {form:?}"));
        let origin = format!("http://127.0.0.1:{target}");
        let cookie = format!("{csrf}={token}");
        let body = format!("username=ayse&password=gizli-parola-1&csrfmiddlewaretoken={token}");
        let posted = request(
            target,
            "POST",
            "/login/",
            &[
                ("Origin", &origin),
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &body,
        );
        assert_eq!(posted.status, 302, "{label}: {}", posted.body);
        assert_eq!(posted.header("location"), Some("/"));
        let logged_in = posted.cookie(&session).expect("a session cookie");
        let cookie = format!("{session}={logged_in}");
        let page = request(target, "GET", "/", &[("Cookie", &cookie)], "");
        assert_eq!(page.status, 200, "{label}");
        assert!(
            page.body.contains("data-user>ayse<"),
            "{label}: {}",
            page.body
        );
        // The host the page was built for, port included (what build_absolute_uri() uses).
        assert!(
            page.body
                .contains(&format!("<code>127.0.0.1:{target}</code>")),
            "{label}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_with_no_running_member_answers_502_with_a_page_naming_it() {
    let a = Echo::start("main_a");
    let port = free_port();
    let mut api = upstream("api", vec![]);
    api.stopped = vec!["chat_api".into()];
    let d = door(
        port,
        vec![upstream("main", vec![server("main_a", a.port, 1)]), api],
    );
    let running = RunningDoor::start(&d).await;
    let (status, body) = get(port, "/api/me/");
    assert_eq!(status, 502, "{body}");
    assert!(
        body.contains("no api member of this site is running (chat_api stopped)"),
        "{body}"
    );
    assert!(body.contains("kovan up chat"), "{body}");
    assert_eq!(served_by(port, "/"), "main_a");
    // A member in the config that does not answer: the door's page, not nginx's.
    drop(a);
    let (status, body) = get(port, "/");
    assert_eq!(status, 502, "{body}");
    assert!(
        body.contains("a member of this site does not answer"),
        "{body}"
    );
    drop(running);
}

fn get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (
        status,
        raw.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default(),
    )
}
