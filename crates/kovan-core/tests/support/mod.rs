//! Real parts for the tests: a redis-server, Django processes, a copy of the example project.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub use kovan_testsupport::free_port;

/// The Python with Django, redis, python-dotenv, django-environ and honcho (scripts/setup.sh test).
pub fn python() -> PathBuf {
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

/// A copy of examples/context7 without its venv, databases or env files.
pub fn copy_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    kovan_testsupport::copy_project(&repo_root().join("examples/context7"), dir.path());
    dir
}

/// A process group started for a test and killed whole when dropped.
pub struct Group {
    pub child: Child,
    pub what: String,
}

impl Group {
    pub fn spawn(cmd: &mut Command, what: &str) -> Self {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        Self {
            child,
            what: what.into(),
        }
    }

    pub fn pgid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: signalling our own process group.
        unsafe { libc::kill(-self.pgid(), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Redis {
    _group: Group,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let group = Group::spawn(
            Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null()),
            "redis-server (apt install redis-server)",
        );
        wait_for_port(port, "redis-server");
        Self {
            _group: group,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// redis-cli with arguments; stdout as text.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.cli(&["--scan"]).lines().map(str::to_string).collect();
        keys.sort();
        keys
    }
}

/// A minimal HTTP/1.1 request over loopback; returns (status, body).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

// ---- for the cache tests ----

impl Redis {
    /// A redis-server with extra arguments: `--requirepass`, `--rename-command UNLINK ""`,
    /// `--appendonly yes` (the later ones win over `start`'s defaults).
    pub fn start_with(args: &[&str]) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let group = Self::spawn_server(port, dir.path(), args);
        Self {
            _group: group,
            port,
            _dir: dir,
        }
    }

    fn spawn_server(port: u16, dir: &Path, args: &[&str]) -> Group {
        let group = Group::spawn(
            Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .args(args)
                .arg("--dir")
                .arg(dir)
                .stdout(Stdio::null()),
            "redis-server (apt install redis-server)",
        );
        wait_for_port(port, "redis-server");
        group
    }

    /// SIGKILL, as a crash would: nothing is saved on the way out.
    pub fn kill(&mut self) {
        // SAFETY: signalling the test's own process group.
        unsafe { libc::kill(-self._group.pgid(), libc::SIGKILL) };
        let _ = self._group.child.wait();
    }

    /// Start again on the same port and folder; with `--appendonly yes` it reloads its data.
    pub fn restart(&mut self, args: &[&str]) {
        self._group = Self::spawn_server(self.port, self._dir.path(), args);
        // The port answers before an append-only file is loaded; PING says LOADING until then.
        let deadline = Instant::now() + Duration::from_secs(30);
        let pong = || {
            Command::new("redis-cli")
                .args(["-p", &self.port.to_string(), "PING"])
                .output()
                .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("PONG"))
        };
        while !pong() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not load its data"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A workspace in a temporary folder (with an empty manage.py): `[project]` named `t`, then `body`.
pub fn cache_workspace(body: &str) -> (tempfile::TempDir, kovan_core::Workspace) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    let text = format!("[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n{body}");
    std::fs::write(dir.path().join("kovan.toml"), &text).unwrap();
    let ws = kovan_core::workspace::load(dir.path())
        .unwrap_or_else(|e| panic!("kovan.toml does not load: {e}\n{text}"));
    (dir, ws)
}

// ---- TLS: certificates made by openssl, redis-server speaking TLS ----

/// `openssl ARGS` in `dir`, which must succeed.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Certificates for every way TLS can go wrong, made by `openssl` in `dir`: two CAs (`ca`, the
/// server's, and `other`), server certificates signed by `ca` for 127.0.0.1 (`good`), for another
/// name (`elsewhere`) and already expired (`expired`), and client certificates signed by each CA.
pub fn pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "other"] {
        openssl(
            dir,
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=Kovan test {ca}"),
                ],
            ]
            .concat(),
        );
    }
    // Every leaf gets an extension: without one openssl writes an X.509 v1 certificate, which
    // rustls refuses.
    let leaf = |name: &str, ca: &str, ext: &str, days: &str| {
        openssl(
            dir,
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    &format!("/CN={name}"),
                ],
            ]
            .concat(),
        );
        let mut args = vec![
            "x509".to_string(),
            "-req".into(),
            "-in".into(),
            format!("{name}.csr"),
            "-CA".into(),
            format!("{ca}.pem"),
            "-CAkey".into(),
            format!("{ca}.key"),
            "-CAcreateserial".into(),
            "-out".into(),
            format!("{name}.pem"),
            "-days".into(),
            days.into(),
        ];
        std::fs::write(dir.join(format!("{name}.ext")), format!("{ext}\n")).unwrap();
        args.extend(["-extfile".into(), format!("{name}.ext")]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        openssl(dir, &args);
    };
    leaf("good", "ca", "subjectAltName=IP:127.0.0.1", "2");
    leaf(
        "elsewhere",
        "ca",
        "subjectAltName=DNS:redis.kovan.invalid",
        "2",
    );
    // -days -1: its notAfter is a day ago.
    leaf("expired", "ca", "subjectAltName=IP:127.0.0.1", "-1");
    leaf("client", "ca", "extendedKeyUsage=clientAuth", "2");
    leaf("stranger", "other", "extendedKeyUsage=clientAuth", "2");
}

/// A redis-server speaking TLS with `cert` (signed by `ca`), asking clients for one when `clients`.
pub fn tls_server(dir: &Path, cert: &str, clients: bool) -> (Redis, u16) {
    let tls_port = free_port();
    let file = |name: &str| dir.join(name).display().to_string();
    let redis = Redis::start_with(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &file(&format!("{cert}.pem")),
        "--tls-key-file",
        &file(&format!("{cert}.key")),
        "--tls-ca-cert-file",
        &file("ca.pem"),
        "--tls-auth-clients",
        if clients { "yes" } else { "no" },
    ]);
    wait_for_port(tls_port, "redis-server's TLS port");
    redis.cli(&["SET", "t_chat_main:1:a", "x"]);
    (redis, tls_port)
}

// ---- Django projects for the tests ----

/// A copy of the example on free ports (pointed at `redis_url` when given), run by the test venv's
/// Python, with its config generated.
pub fn example_on_free_ports(
    redis_url: Option<&str>,
) -> (tempfile::TempDir, kovan_core::Workspace) {
    let dir = copy_example();
    let ws = example_on_free_ports_in(&dir, redis_url);
    (dir, ws)
}

/// [`example_on_free_ports`] of a copy the test has changed first.
pub fn example_on_free_ports_in(
    dir: &tempfile::TempDir,
    redis_url: Option<&str>,
) -> kovan_core::Workspace {
    let toml = dir.path().join("kovan.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap().replace(
        "python = \".venv/bin/python\"",
        &format!("python = {:?}", python().display().to_string()),
    );
    if let Some(url) = redis_url {
        text = text.replace("redis://127.0.0.1:6379/0", url);
    }
    for port in ["8000", "8001", "8002", "8003"] {
        text = text.replace(
            &format!("port = {port}"),
            &format!("port = {}", free_port()),
        );
    }
    text = text.replace(
        "front_door = 8080",
        &format!("front_door = {}", free_port()),
    );
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    ws
}

/// A logged-in session for the example's chat pages, made through `instance` (its database
/// migrated first): the `Cookie` header value under that instance's session cookie name.
pub fn chat_session(ws: &kovan_core::Workspace, instance: &str) -> String {
    let migrated = manage(ws, instance, &["migrate", "--noinput"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let made = manage(
        ws,
        instance,
        &[
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY\n\
             from django.contrib.sessions.backends.db import SessionStore\n\
             u, _ = get_user_model().objects.get_or_create(username='ayse')\n\
             s = SessionStore()\n\
             s[SESSION_KEY] = str(u.pk)\n\
             s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n\
             s[HASH_SESSION_KEY] = u.get_session_auth_hash()\n\
             s.create()\n\
             print('SESSION', s.session_key)",
        ],
    );
    let out = String::from_utf8_lossy(&made.stdout);
    let key = out
        .lines()
        .find_map(|l| l.strip_prefix("SESSION "))
        .unwrap_or_else(|| panic!("{out}{}", String::from_utf8_lossy(&made.stderr)))
        .trim()
        .to_string();
    let name = &ws.instance(instance).unwrap().names.session_cookie;
    format!("{name}={key}")
}

/// The variables of an instance's env file.
pub fn env_of(ws: &kovan_core::Workspace, instance: &str) -> Vec<(String, String)> {
    let path = ws
        .project
        .django_root
        .join(&ws.instance(instance).unwrap().names.env_file);
    kovan_core::generate::env_file::parse(&std::fs::read_to_string(path).unwrap())
        .into_iter()
        .collect()
}

/// `manage.py ARGS` for an instance, with its env file loaded.
pub fn manage(ws: &kovan_core::Workspace, instance: &str, args: &[&str]) -> std::process::Output {
    Command::new(python())
        .arg("manage.py")
        .args(args)
        .current_dir(&ws.project.django_root)
        .envs(env_of(ws, instance))
        .output()
        .unwrap()
}

/// Migrate, then `runserver` (with its autoreloader when `reload`), until /health/ answers 200.
pub fn runserver(ws: &kovan_core::Workspace, instance: &str, reload: bool) -> Group {
    let port = ws.instance(instance).unwrap().port;
    let migrated = manage(ws, instance, &["migrate", "--noinput"]);
    assert!(
        migrated.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let address = format!("127.0.0.1:{port}");
    let mut args = vec!["manage.py", "runserver", address.as_str()];
    if !reload {
        args.push("--noreload");
    }
    let group = Group::spawn(
        Command::new(python())
            .args(args)
            .current_dir(&ws.project.django_root)
            .envs(env_of(ws, instance))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        instance,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(TcpStream::connect(("127.0.0.1", port)).is_ok()
        && http(port, "GET", "/health/", &[]).0 == 200)
    {
        assert!(
            Instant::now() < deadline,
            "{instance} did not answer /health/ with 200 within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    group
}

/// An HTTP answer with its headers (names lower-cased, in order) and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name` among the Set-Cookie headers.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .find_map(|(_, v)| {
                let pair = v.split(';').next()?;
                let (k, value) = pair.split_once('=')?;
                (k.trim() == name).then(|| value.trim().to_string())
            })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// One request on its own connection (`Host: 127.0.0.1:PORT` unless `headers` gives one).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response {
        status,
        headers,
        body,
    }
}
