//! The fixture projects (fixtures/, examples/context7) on every Django version this machine's
//! Python runs, as a new user meets them: `kovan init && kovan gen --write && kovan up --all
//! --yes`, then every instance's pages and /health/ answer 200 with its migrations applied. Each
//! version's venv is made by scripts/setup.sh test ($HOME/.cache/kovan/django-X.Y).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kovan_testsupport::free_port;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The venv of one Django version: in $HOME/.cache/kovan, or in KOVAN_DJANGO_VENVS when set (a
/// branch whose fixtures need other packages than the machine's venvs have).
fn venv(django: &str) -> PathBuf {
    let base = std::env::var_os("KOVAN_DJANGO_VENVS").map_or_else(
        || Path::new(&std::env::var("HOME").unwrap()).join(".cache/kovan"),
        PathBuf::from,
    );
    let dir = base.join(format!("django-{django}"));
    assert!(
        dir.join("bin/python").is_file(),
        "{} is missing: run scripts/setup.sh test",
        dir.display()
    );
    dir
}

/// A fixture copied into a temporary folder, its `.venv` the given Django version's, with its
/// own Kovan store; everything `kovan up` started is stopped when it is dropped.
struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: tempfile::TempDir,
    up: Option<Child>,
}

impl Project {
    fn new(fixture: &str, django: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let name = Path::new(fixture).file_name().unwrap();
        let root = dir.path().join(name);
        kovan_testsupport::copy_project(&repo().join(fixture), &root);
        std::os::unix::fs::symlink(venv(django), root.join(".venv")).unwrap();
        Self {
            _dir: dir,
            root,
            data: tempfile::tempdir().unwrap(),
            up: None,
        }
    }

    fn kovan(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .current_dir(&self.root)
            .env("KOVAN_DATA_DIR", self.data.path())
            .env_remove("KOVAN_WORKSPACE")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.kovan(args).output().unwrap();
        let text = both(&out);
        assert!(out.status.success(), "kovan {args:?} failed:\n{text}");
        text
    }

    /// Free ports for the instances and a Redis of the test's own (Kovan starts it: managed).
    fn on_free_ports(&self) -> u16 {
        let toml = self.root.join("kovan.toml");
        let mut text = std::fs::read_to_string(&toml).unwrap();
        let redis = free_port();
        text = text.replace(
            "redis://127.0.0.1:6379/",
            &format!("redis://127.0.0.1:{redis}/"),
        );
        for port in ["8000", "8001", "8002", "8003"] {
            text = text.replace(
                &format!("port = {port}\n"),
                &format!("port = {}\n", free_port()),
            );
        }
        text = text.replace(
            "front_door = 8080\n",
            &format!("front_door = {}\n", free_port()),
        );
        std::fs::write(&toml, text).unwrap();
        redis
    }

    fn ports(&self) -> Vec<(String, u16)> {
        let text = std::fs::read_to_string(self.root.join("kovan.toml")).unwrap();
        let mut out = Vec::new();
        let mut name = None;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("name = \"") {
                name = v.split('"').next().map(str::to_string);
            }
            if let (Some(v), Some(n)) = (line.strip_prefix("port = "), &name) {
                out.push((n.clone(), v.trim().parse().unwrap()));
            }
        }
        out
    }

    /// `kovan up --all --yes`, until it says every instance runs (or fails, with its output).
    fn up(&mut self) -> String {
        self.up_with(&["up", "--all", "--yes"])
    }

    /// `kovan ARGS` (an up), until it says every instance runs (or fails, with its output).
    fn up_with(&mut self, args: &[&str]) -> String {
        let mut child = self
            .kovan(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        self.up = Some(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                    // "main, api running; …", or "… running (with main_worker); …".
                    if line.contains("Ctrl-C stops them") {
                        // Keep draining, so kovan up never blocks on a full pipe.
                        std::thread::spawn(move || for _ in rx {});
                        return seen;
                    }
                }
                Err(_) => panic!("kovan up did not start every instance:\n{seen}"),
            }
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if let Some(mut up) = self.up.take() {
            // SAFETY: signalling the kovan up this test started.
            unsafe { libc::kill(up.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while up.try_wait().unwrap().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = up.kill();
            let _ = up.wait();
        }
        // Whatever was left (a killed kovan up), by the store's record.
        let _ = self.kovan(&["stop", "--all"]).output();
    }
}

fn both(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

struct Answer {
    status: u16,
    headers: String,
    body: String,
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
    Answer {
        status: head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        headers: head.to_string(),
        body: body.to_string(),
    }
}

fn get(port: u16, path: &str) -> Answer {
    http(port, "GET", path, &[], "")
}

/// init, gen --write, up --all --yes; then each instance's / and /health/.
fn starts_with_no_hand_edits(fixture: &str, django: &str, pages: &[&str]) -> Project {
    let mut p = Project::new(fixture, django);
    if !p.root.join("kovan.toml").exists() {
        p.run(&["init", "."]);
    }
    p.on_free_ports();
    let gen = p.run(&["gen", "--write"]);
    assert!(gen.contains(&format!("Django {django}.")), "{gen}");
    let up = p.up();
    assert!(
        up.contains("applying"),
        "the migrations were applied:\n{up}"
    );
    for (name, port) in p.ports() {
        let health = get(port, "/health/");
        assert_eq!(health.status, 200, "{name} /health/: {}", health.body);
        let h: serde_json::Value = serde_json::from_str(&health.body).unwrap();
        assert_eq!(h["database"]["unapplied_migrations"], 0, "{h}");
        assert!(
            h["django"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{django}.")),
            "{h}"
        );
        for page in pages {
            let answer = get(port, page);
            assert_eq!(answer.status, 200, "{name} {page}: {}", answer.body);
        }
    }
    p
}

#[test]
fn envsettings_on_django_4_0() {
    starts_with_no_hand_edits("fixtures/envsettings", "4.0", &["/"]);
}

#[test]
fn envsettings_on_django_4_2() {
    starts_with_no_hand_edits("fixtures/envsettings", "4.2", &["/"]);
}

#[test]
fn envsettings_on_django_5_1() {
    starts_with_no_hand_edits("fixtures/envsettings", "5.1", &["/"]);
}

#[test]
fn django42_fixture_on_django_4_2() {
    let p = starts_with_no_hand_edits("fixtures/django42", "4.2", &["/", "/admin/login/"]);
    let settings = std::fs::read_to_string(p.root.join("shop/multi_server_settings.py")).unwrap();
    assert!(
        !settings.contains("\"transaction_mode\"") && settings.contains("KOVAN_DJANGO = \"4.2\""),
        "4.2 does not accept transaction_mode"
    );
}

#[test]
fn the_example_on_django_4_0() {
    starts_with_no_hand_edits("examples/context7", "4.0", &["/login/", "/signup/"]);
}

#[test]
fn the_example_on_django_4_2() {
    starts_with_no_hand_edits("examples/context7", "4.2", &["/login/", "/signup/"]);
}

#[test]
fn the_example_on_django_5_1() {
    starts_with_no_hand_edits("examples/context7", "5.1", &["/login/", "/signup/"]);
}

/// The guide's own commands, from a plain shell with the venv first in PATH; the project's
/// Celery worker under an instance's environment, against the workspace's Redis.
#[test]
fn envsettings_on_django_5_2_runs_the_guides_commands_and_celery() {
    let p = starts_with_no_hand_edits("fixtures/envsettings", "5.2", &["/"]);
    let path = format!("{}:/usr/bin:/bin", p.root.join(".venv/bin").display());
    let plain = |script: &str| {
        Command::new("/bin/sh")
            .args(["-c", script])
            .current_dir(&p.root)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", std::env::var("HOME").unwrap())
            .output()
            .unwrap()
    };
    let out = plain("DJANGO_SERVER_INSTANCE=main python manage.py clear_cache --type=all");
    assert!(
        out.status.success() && both(&out).contains("main: 0 cache keys deleted"),
        "{}",
        both(&out)
    );
    let out = plain(
        "for instance in main api websocket; do DJANGO_SERVER_INSTANCE=$instance python manage.py clear_cache --type=all || exit 1; done",
    );
    assert!(out.status.success(), "{}", both(&out));

    // kovan env, as eval'd by a shell, is what the instance runs with.
    let kovan = env!("CARGO_BIN_EXE_kovan");
    let out = plain(&format!(
        "eval \"$(KOVAN_DATA_DIR=/nonexistent {kovan} env api)\" && echo \"$DJANGO_SERVER_INSTANCE $DATABASE_URL\""
    ));
    let printed = both(&out);
    assert!(
        printed.contains(&format!(
            "api sqlite:///{}/db_api.sqlite3",
            p.root.display()
        )),
        "{printed}"
    );

    // Celery: a worker of `main` and a task sent from `main`'s shell meet on main's broker db.
    let mut worker = p
        .kovan(&[
            "exec",
            "main",
            "--",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-l",
            "WARNING",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let sent = p
        .kovan(&[
            "manage", "main", "--", "shell", "-c",
            "from notes.models import Note; from notes.tasks import count_notes; Note.objects.create(text='a'); Note.objects.create(text='b'); print('counted', count_notes.delay().get(timeout=60))",
        ])
        .output()
        .unwrap();
    // SAFETY: the worker's group was started by this test.
    unsafe { libc::kill(-(worker.id() as i32), libc::SIGTERM) };
    let _ = worker.wait();
    assert!(both(&sent).contains("counted 2"), "{}", both(&sent));
    let main_port = p.ports()[0].1;
    let page = get(main_port, "/");
    assert!(
        page.body.contains("Counted by the Celery task: 2"),
        "{}",
        page.body
    );
    // api's broker is another Redis database: its page saw nothing of main's task.
    let api_port = p.ports()[1].1;
    assert!(get(api_port, "/").body.contains("not yet"));
}

use std::os::unix::process::CommandExt as _;

/// A process group the test started, killed whole when dropped.
struct Group(Child);

impl Group {
    fn spawn(cmd: &mut Command) -> Self {
        Self(cmd.process_group(0).spawn().unwrap())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: signalling the process group this test started.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

fn redis_server(port: u16, args: &[&str]) -> Group {
    let group = Group::spawn(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(args)
            .stdout(Stdio::null()),
    );
    wait_for_port(port);
    group
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn env_file(p: &Project, instance: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(p.root.join(format!(".env.{instance}"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// Django's technical 500 page of a failing view (DEBUG on) with a password-protected Redis:
/// neither the password nor a secret of the env file is on it, nor in the instance's log.
#[test]
fn no_secret_reaches_the_debug_page_or_the_log() {
    const PASSWORD: &str = "Rt7-sekret-hunter2";
    let mut p = Project::new("fixtures/envsettings", "5.2");
    p.run(&["init", "."]);
    let redis_port = p.on_free_ports();
    let toml = p.root.join("kovan.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        &format!("redis://127.0.0.1:{redis_port}/"),
        &format!("redis://:{PASSWORD}@127.0.0.1:{redis_port}/"),
    );
    std::fs::write(&toml, text.replace("managed = true", "managed = false")).unwrap();
    let _redis = redis_server(redis_port, &["--requirepass", PASSWORD]);
    p.run(&["gen", "--write"]);
    p.up();
    let (_, port) = p.ports()[0].clone();
    let page = get(port, "/oops/");
    assert_eq!(page.status, 500);
    assert!(
        page.body.contains("the page fails on purpose") && page.body.contains("REDIS_URL"),
        "the technical 500 page, with the request's environment: {}",
        &page.body[..page.body.len().min(2000)]
    );
    let env = env_file(&p, "main");
    let secrets: Vec<&str> = env
        .iter()
        .filter(|(k, _)| ["SECRET_KEY", "DJANGO_SECRET_KEY", "KOVAN_TOKEN"].contains(&k.as_str()))
        .map(|(_, v)| v.as_str())
        .chain([PASSWORD])
        .collect();
    assert_eq!(secrets.len(), 4, "{env:?}");
    // The page HTML-escapes what it shows: look for each secret as written and as escaped.
    let escaped = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    for secret in &secrets {
        assert!(
            !page.body.contains(secret) && !page.body.contains(&escaped(secret)),
            "a secret ({}…) is on the debug page",
            &secret[..4]
        );
    }
    assert!(page
        .body
        .contains("redis://:********************@127.0.0.1"));
    let log = std::fs::read_to_string(p.root.join("logs/main.log")).unwrap();
    for secret in &secrets {
        assert!(
            !log.contains(secret),
            "a secret ({}…) is in the log",
            &secret[..4]
        );
    }
}

/// An instance whose database is not migrated is not healthy: /health/ says why, and
/// `kovan migrate` repairs it.
#[test]
fn health_answers_503_until_kovan_migrate_applies_the_migrations() {
    let p = Project::new("fixtures/django42", "4.2");
    p.run(&["init", "."]);
    let redis_port = p.on_free_ports();
    let _redis = redis_server(redis_port, &[]);
    p.run(&["gen", "--write"]);
    let (name, port) = p.ports()[0].clone();
    let address = format!("127.0.0.1:{port}");
    let _server = Group::spawn(
        p.kovan(&["manage", &name, "--", "runserver", "--noreload", &address])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for_port(port);
    let health = get(port, "/health/");
    assert_eq!(health.status, 503, "{}", health.body);
    let h: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(h["failures"][0]["part"], "migrations", "{h}");
    let message = h["failures"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("migrations not applied (contenttypes.0001_initial, ")
            && message.contains(&format!("kovan migrate {name}")),
        "{message}"
    );
    assert!(h["database"]["unapplied_migrations"].as_u64().unwrap() >= 2);
    assert_eq!(get(port, "/").status, 500, "no such table");

    let check = p.kovan(&["migrate", "--check", &name]).output().unwrap();
    assert!(!check.status.success() && both(&check).contains("not applied"));
    let migrated = p.run(&["migrate", &name]);
    assert!(
        migrated.contains("Applying catalog.0002_starter_products... OK"),
        "{migrated}"
    );
    let health = get(port, "/health/");
    assert_eq!(health.status, 200, "{}", health.body);
    assert!(get(port, "/").body.contains("Bal"));
    p.run(&["migrate", "--check", &name]);
}

/// `migrate` in kovan.toml decides what `kovan up` without a terminal does with migrations not
/// applied: "ask" (the default) refuses with the hint and starts nothing; "auto" applies them
/// without --yes, each instance is then ready (/health/ 200, none unapplied), and migrate's
/// lines are in the instance's logs/{name}.log.
#[test]
fn up_without_a_terminal_follows_the_migrate_policy() {
    let mut p = Project::new("fixtures/django42", "4.2");
    p.run(&["init", "."]);
    p.on_free_ports();
    p.run(&["gen", "--write"]);
    let (name, port) = p.ports()[0].clone();

    let refused = p.kovan(&["up", "--all"]).output().unwrap();
    let text = both(&refused);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("error: {name}: "))
            && text.contains("migrations not applied (contenttypes.0001_initial, ")
            && text.contains("not applied without a terminal to ask on: run `kovan up --yes`")
            && text.contains(&format!("`kovan migrate {name}`"))
            && text.contains("error: nothing was started"),
        "{text}"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing started on {port}"
    );
    let check = p.kovan(&["migrate", "--check", &name]).output().unwrap();
    assert!(!check.status.success(), "nothing was applied");

    let toml = p.root.join("kovan.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replacen("[project]\n", "[project]\nmigrate = \"auto\"\n", 1),
    )
    .unwrap();
    let up = p.up_with(&["up", "--all"]);
    assert!(
        up.contains(&format!("kovan: {name}: applying ")),
        "auto applied them:\n{up}"
    );
    for (name, port) in p.ports() {
        let health = get(port, "/health/");
        assert_eq!(health.status, 200, "{name} /health/: {}", health.body);
        let h: serde_json::Value = serde_json::from_str(&health.body).unwrap();
        assert_eq!(h["database"]["unapplied_migrations"], 0, "{h}");
    }
    let log = std::fs::read_to_string(p.root.join(format!("logs/{name}.log"))).unwrap();
    assert!(
        log.contains("Applying catalog.0002_starter_products... OK")
            && log.contains("kovan: migrate done"),
        "{log}"
    );
}

fn cookie(answer: &Answer, name: &str) -> Option<String> {
    answer.headers.lines().find_map(|l| {
        // Django's header value starts with a space of its own: `Set-Cookie:  name=…`.
        let value = l
            .strip_prefix("Set-Cookie:")?
            .trim_start()
            .strip_prefix(&format!("{name}="))?;
        Some(value.split(';').next().unwrap_or("").to_string())
    })
}

fn hidden_csrf(body: &str) -> String {
    let at = body
        .find("name=\"csrfmiddlewaretoken\" value=\"")
        .expect("a CSRF field");
    let rest = &body[at + "name=\"csrfmiddlewaretoken\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The guide's "Cache Temizle" inside the project: /kovan/ is for staff only, shows the
/// instance's key count and clears its keys alone.
#[test]
fn the_console_page_is_staff_only_and_clears_this_instances_keys_alone() {
    let mut p = Project::new("fixtures/django42", "4.2");
    p.run(&["init", "."]);
    let redis_port = p.on_free_ports();
    p.run(&["gen", "--write"]);
    p.up();
    let (name, port) = p.ports()[0].clone();
    let (_, api_port) = p.ports()[1].clone();
    let created = p
        .kovan(&[
            "manage",
            &name,
            "--",
            "createsuperuser",
            "--noinput",
            "--username",
            "boss",
            "--email",
            "boss@example.com",
        ])
        .env("DJANGO_SUPERUSER_PASSWORD", "a long pass phrase 42")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", both(&created));

    let anonymous = get(port, "/kovan/");
    assert_eq!(anonymous.status, 302);
    assert!(
        anonymous
            .headers
            .contains("Location: /admin/login/?next=/kovan/"),
        "{}",
        anonymous.headers
    );

    // Log in through the admin, as a staff user does.
    let form = get(port, "/admin/login/");
    let csrf_cookie = cookie(&form, &format!("csrftoken_{name}"))
        .unwrap_or_else(|| panic!("the instance's CSRF cookie: {}", form.headers));
    let body = format!(
        "csrfmiddlewaretoken={}&username=boss&password=a+long+pass+phrase+42&next=/kovan/",
        hidden_csrf(&form.body)
    );
    let cookies = format!("csrftoken_{name}={csrf_cookie}");
    let login = http(
        port,
        "POST",
        "/admin/login/",
        &[
            ("Cookie", &cookies),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    );
    assert_eq!(login.status, 302, "{}", login.body);
    let session = cookie(&login, &format!("sessionid_{name}")).expect("a session");
    let cookies = format!("csrftoken_{name}={csrf_cookie}; sessionid_{name}={session}");

    // A key of this instance (the catalog's count), one of api's, and one of another app.
    assert_eq!(get(port, "/").status, 200);
    assert_eq!(get(api_port, "/").status, 200);
    let redis = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &redis_port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    redis(&["SET", "other_app:1:x", "1"]);
    let page = http(port, "GET", "/kovan/", &[("Cookie", &cookies)], "");
    assert_eq!(page.status, 200, "{}", page.body);
    // The project speaks Turkish (LANGUAGE_CODE = "tr").
    assert!(
        page.body
            .contains(&format!("shop_{name} önekinde 1 anahtar")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Cache Temizle"));

    let token = hidden_csrf(&page.body);
    let cleared = http(
        port,
        "POST",
        "/kovan/",
        &[
            ("Cookie", &cookies),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("csrfmiddlewaretoken={token}"),
    );
    assert_eq!(cleared.status, 302, "{}", cleared.body);
    assert!(
        cleared.headers.contains("Location: /kovan/?cleared=1"),
        "{}",
        cleared.headers
    );
    let after = http(
        port,
        "GET",
        "/kovan/?cleared=1",
        &[("Cookie", &cookies)],
        "",
    );
    assert!(after.body.contains("1 anahtar silindi"), "{}", after.body);
    let keys = redis(&["--scan"]);
    assert!(
        keys.contains("other_app:1:x") && keys.contains("shop_api:1:catalog:count"),
        "other instances' and other apps' keys stay: {keys}"
    );
    assert!(
        !keys.contains(&format!("shop_{name}:1:catalog:count")),
        "{keys}"
    );

    // Without the CSRF token the POST is refused and nothing is deleted.
    assert_eq!(get(port, "/").status, 200);
    let forged = http(port, "POST", "/kovan/", &[("Cookie", &cookies)], "");
    assert_eq!(forged.status, 403);
    assert!(redis(&["--scan"]).contains(&format!("shop_{name}:1:catalog:count")));
}

/// An interpreter that lacks what the configuration needs: `kovan up` refuses before starting
/// anything, naming the package, who needs it and the exact command that installs it.
#[test]
fn a_missing_redis_client_is_refused_with_the_pip_command() {
    let home = std::env::var("HOME").unwrap();
    let bare = Path::new(&home).join(".cache/kovan/django-bare");
    assert!(
        bare.join(".kovan-installed").is_file(),
        "{} is missing: run scripts/setup.sh test",
        bare.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("django42");
    kovan_testsupport::copy_project(&repo().join("fixtures/django42"), &root);
    // A venv of its own with Django (and no redis) from the bare folder.
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(root.join(".venv"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", both(&made));
    let purelib = Command::new(root.join(".venv/bin/python"))
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let purelib = String::from_utf8(purelib.stdout).unwrap();
    std::fs::write(
        Path::new(purelib.trim()).join("kovan-test-django.pth"),
        format!("{}\n", bare.display()),
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let kovan = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kovan"))
            .args(args)
            .current_dir(&root)
            .env("KOVAN_DATA_DIR", data.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    assert!(kovan(&["init", "."]).status.success());
    assert!(kovan(&["gen", "--write"]).status.success());
    let up = kovan(&["up", "--all", "--yes"]);
    let text = both(&up);
    assert_eq!(up.status.code(), Some(1), "{text}");
    assert!(
        text.contains("main: .venv/bin/python lacks `redis`, which main (cache = \"redis\": Django's RedisCache uses redis-py) needs")
            && text.contains("Install with: .venv/bin/python -m pip install 'redis>=5'"),
        "{text}"
    );
    assert!(!text.contains("is running"), "nothing was started: {text}");
}

/// The processes whose environment names this workspace (`KOVAN_WORKSPACE`), by PID and command line.
fn marked_processes(root: &Path) -> Vec<(i32, String)> {
    let root = root.canonicalize().unwrap().display().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let marked = environ.split(|b| *b == 0).any(|var| {
            String::from_utf8_lossy(var)
                .strip_prefix("KOVAN_WORKSPACE=")
                .is_some_and(|v| v.starts_with(&root))
        });
        if marked {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            out.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    out
}

/// The rows of `kovan status --json`, from stdout alone: a warning on stderr is not part of them.
fn status_json(p: &Project) -> Vec<serde_json::Value> {
    let out = p.kovan(&["status", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "kovan status --json failed:\n{}",
        both(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", both(&out)))
}

fn row<'a>(rows: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["instance"] == name)
        .unwrap_or_else(|| panic!("no row {name}: {rows:?}"))
}

/// A Celery worker as a companion process of `main` (`[[process]]`): started by `kovan up` once
/// main is ready, with main's environment (its broker database on the workspace's Redis), shown by
/// `kovan status` beneath main, restarted after a kill -9, and gone with `kovan stop --all`.
#[test]
fn a_celery_worker_companion_runs_tasks_restarts_and_stops_with_its_instance() {
    let mut p = Project::new("fixtures/envsettings", "5.2");
    p.run(&["init", "."]);
    p.on_free_ports();
    let toml = p.root.join("kovan.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(
        "\n[[process]]\nname = \"main_worker\"\ninstance = \"main\"\ncommand = \"celery -A config worker --pool=solo --concurrency=1 -l INFO\"\nrestart = \"on-failure\"\n",
    );
    std::fs::write(&toml, text).unwrap();
    p.run(&["gen", "--write"]);
    // It starts with its unit, not alone.
    let alone = p.kovan(&["up", "main_worker"]).output().unwrap();
    assert_eq!(alone.status.code(), Some(2), "{}", both(&alone));
    assert!(
        both(&alone).contains("`main_worker` is a companion process of main"),
        "{}",
        both(&alone)
    );
    let up = p.up();
    assert!(
        up.contains("kovan: main_worker is running") && up.contains("(with main_worker)"),
        "{up}"
    );

    // A task sent from main's shell, run by the companion against main's broker database.
    let count = |expected: &str| {
        let sent = p
            .kovan(&[
                "manage", "main", "--", "shell", "-c",
                "from notes.models import Note; from notes.tasks import count_notes; Note.objects.create(text='a'); print('counted', count_notes.delay().get(timeout=60))",
            ])
            .output()
            .unwrap();
        assert!(
            both(&sent).contains(&format!("counted {expected}")),
            "{}",
            both(&sent)
        );
    };
    count("1");
    let main_port = p.ports()[0].1;
    assert!(get(main_port, "/")
        .body
        .contains("Counted by the Celery task: 1"));

    let rows = status_json(&p);
    let worker = row(&rows, "main_worker");
    assert_eq!(worker["kind"], "process", "{worker}");
    assert_eq!(worker["unit"], "main", "{worker}");
    assert_eq!(worker["status"], "running", "{worker}");
    let first_pid = worker["pid"].as_i64().expect("a PID") as i32;
    // Beneath its unit in the table.
    let table = p.run(&["status"]);
    let lines: Vec<&str> = table.lines().collect();
    let main_at = lines.iter().position(|l| l.starts_with("main ")).unwrap();
    assert!(
        lines[main_at + 1].starts_with("  main_worker ")
            && lines[main_at + 1].contains("running")
            && lines[main_at + 1].contains("process of main"),
        "{table}"
    );
    // Its own log file, written by Kovan.
    let log = std::fs::read_to_string(p.root.join("logs/main_worker.log")).unwrap();
    assert!(log.contains(" ready."), "{log}");

    // kill -9: restarted by its policy, under a new PID, and it still runs tasks.
    // SAFETY: the worker's leader, which kovan up started for this test.
    assert_eq!(unsafe { libc::kill(first_pid, libc::SIGKILL) }, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let second_pid = loop {
        let rows = status_json(&p);
        let worker = row(&rows, "main_worker");
        if worker["status"] == "running" {
            if let Some(pid) = worker["pid"]
                .as_i64()
                .filter(|&pid| pid as i32 != first_pid)
            {
                break pid as i32;
            }
        }
        assert!(Instant::now() < deadline, "not restarted: {worker}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(second_pid > 0);
    count("2");
    // The second run's output follows the first's in the same log file.
    let log = std::fs::read_to_string(p.root.join("logs/main_worker.log")).unwrap();
    assert!(log.matches(" ready.").count() >= 2, "{log}");

    // Stopped with everything: nothing of the workspace is left in the process table.
    let stopped = p.run(&["stop", "--all"]);
    assert!(stopped.contains("main_worker: terminated"), "{stopped}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = marked_processes(&p.root);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "orphans: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(marked_processes(&p.root).len(), 0);
    let rows = status_json(&p);
    assert_eq!(row(&rows, "main_worker")["status"], "stopped");
}
