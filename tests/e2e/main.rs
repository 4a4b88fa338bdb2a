//! The real app, driven like a user drives it: cards on the example workspace, the language switch,
//! and a broken kovan.toml shown in the window, then fixed and reloaded.

use std::path::Path;

use kovan_e2e::App;
use kovan_testsupport::free_port;

#[tokio::test]
async fn the_example_workspace_shows_its_four_cards_in_turkish_then_english() {
    let app = App::launch(&[], &[]).await;
    app.wait_for("[data-testid=instance-card]").await;

    let mut cards = Vec::new();
    for card in app.all("[data-testid=instance-card]").await {
        let name = card.attr("data-instance").await.unwrap().unwrap();
        let port = card
            .find(fantoccini::Locator::Css("[data-testid=port]"))
            .await
            .unwrap();
        let port = port.attr("data-port").await.unwrap().unwrap();
        let cookie = card
            .find(fantoccini::Locator::Css("[data-testid=session-cookie]"))
            .await
            .unwrap();
        let csrf = card
            .find(fantoccini::Locator::Css("[data-testid=csrf-cookie]"))
            .await
            .unwrap();
        cards.push((
            name,
            port,
            cookie.text().await.unwrap(),
            csrf.text().await.unwrap(),
        ));
    }
    // The chat trio is the site `chat`: one session and CSRF cookie for its three members;
    // `review` is isolated and has its own.
    let expected: Vec<(String, String, String, String)> = [
        ("chat_main", "8000", "chat"),
        ("chat_api", "8001", "chat"),
        ("chat_websocket", "8002", "chat"),
        ("review", "8003", "review"),
    ]
    .iter()
    .map(|(n, p, unit)| {
        (
            n.to_string(),
            p.to_string(),
            format!("sessionid_{unit}"),
            format!("csrftoken_{unit}"),
        )
    })
    .collect();
    assert_eq!(cards, expected);

    assert_eq!(app.text("[data-testid=workspace-name]").await, "context7");
    let path = app
        .wait_for("[data-testid=workspace-path]")
        .await
        .attr("title")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(path.ends_with("examples/context7/kovan.toml"), "{path}");
    assert_eq!(app.text("[data-testid=status]").await, "Durduruldu");
    app.screenshot("cards-tr").await;

    app.wait_for("[data-testid=lang-toggle]")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(app.text("[data-testid=status]").await, "Stopped");
    let lang = app
        .client
        .execute("return document.documentElement.lang", vec![])
        .await
        .unwrap();
    assert_eq!(lang, "en");
    app.screenshot("cards-en").await;
    app.quit().await;
}

#[tokio::test]
async fn an_invalid_kovan_toml_is_shown_with_its_path_and_can_be_fixed_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    let file = dir.path().join("kovan.toml");
    let broken = "[project]\nname = \"shop\"\nsettings = \"shop.settings\"\n\n[[instance]]\nname = \"web\"\nport = 80\ncache = \"locmem\"\n";
    std::fs::write(&file, broken).unwrap();

    let app = App::launch(&["--workspace", dir.path().to_str().unwrap()], &[]).await;
    let panel = app.wait_for("[data-testid=workspace-error]").await;
    let text = panel.text().await.unwrap();
    assert!(
        text.contains(&file.display().to_string()),
        "the panel names the file: {text}"
    );
    assert!(
        text.contains("port 80 is below 1024"),
        "the panel gives the message: {text}"
    );
    assert_eq!(app.all("[data-testid=problem]").await.len(), 1);
    assert!(app.all("[data-testid=instance-card]").await.is_empty());
    app.screenshot("invalid-workspace").await;

    std::fs::write(&file, broken.replace("port = 80", "port = 8080")).unwrap();
    app.wait_for("[data-testid=reload]")
        .await
        .click()
        .await
        .unwrap();
    let card = app.wait_for("[data-testid=instance-card]").await;
    assert_eq!(
        card.attr("data-instance").await.unwrap().as_deref(),
        Some("web")
    );
    app.quit().await;
}

#[tokio::test]
async fn a_workspace_named_by_the_environment_that_does_not_exist_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::launch(&[], &[("KOVAN_WORKSPACE", dir.path())]).await;
    let text = app
        .wait_for("[data-testid=workspace-error]")
        .await
        .text()
        .await
        .unwrap();
    let expected = Path::new(dir.path()).join("kovan.toml");
    assert!(text.contains(&expected.display().to_string()), "{text}");
    app.quit().await;
}

/// A copy of the example project without its env files, venv or databases.
fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    kovan_testsupport::copy_project(
        &kovan_e2e::repo_root().join("examples/context7"),
        dir.path(),
    );
    dir
}

#[tokio::test]
async fn the_generator_dialog_writes_the_env_files_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;

    let dir = example_copy();
    // A file the user edited: the generator must back it up before replacing it.
    let procfile = dir.path().join("Procfile.kovan");
    std::fs::write(&procfile, "web: my own command\n").unwrap();

    let app = App::launch(&["--workspace", dir.path().to_str().unwrap()], &[]).await;
    app.wait_for("[data-testid=open-generator]")
        .await
        .click()
        .await
        .unwrap();
    app.wait_for("[data-testid=generator-file]").await;
    let mut statuses = std::collections::BTreeMap::new();
    for row in app.all("[data-testid=generator-file]").await {
        let path = row.attr("data-path").await.unwrap().unwrap();
        statuses.insert(path, row.attr("data-status").await.unwrap().unwrap());
    }
    assert_eq!(statuses.len(), 18, "{statuses:?}");
    assert_eq!(statuses[".env.chat_main"], "new");
    assert_eq!(statuses["Procfile.kovan"], "edited");
    assert_eq!(statuses["nginx/kovan.conf"], "unchanged");
    app.screenshot("generator").await;

    app.wait_for("[data-testid=generator-write]")
        .await
        .click()
        .await
        .unwrap();
    let result = app.wait_for("[data-testid=generator-result]").await;
    let text = app.text("[data-testid=generator-result]").await;
    assert!(
        text.contains("Procfile.kovan.kovan-backup-"),
        "the backup is named: {text}"
    );
    drop(result);
    for name in ["chat_main", "chat_api", "chat_websocket", "review"] {
        let env = dir.path().join(format!(".env.{name}"));
        let mode = std::fs::metadata(&env)
            .unwrap_or_else(|e| panic!("{}: {e}", env.display()))
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{}", env.display());
        assert!(std::fs::read_to_string(&env)
            .unwrap()
            .contains(&format!("DJANGO_SERVER_INSTANCE='{name}'")));
    }
    assert!(std::fs::read_to_string(&procfile)
        .unwrap()
        .contains("chat_main: set -a"));
    let backups: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("Procfile.kovan.kovan-backup-")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read_to_string(backups[0].path()).unwrap(),
        "web: my own command\n"
    );
    app.screenshot("generator-written").await;

    // Export the env files to another folder, typed rather than picked: each arrives private.
    let share = tempfile::tempdir().unwrap();
    app.click("[data-testid=export-type]").await;
    app.wait_for("[data-testid=export-dir]")
        .await
        .send_keys(share.path().to_str().unwrap())
        .await
        .unwrap();
    app.click("[data-testid=export-go]").await;
    app.wait_for_secs("[data-testid=export-result]", 20).await;
    for name in ["chat_main", "chat_api", "chat_websocket", "review"] {
        let exported = share.path().join(format!(".env.{name}"));
        let mode = std::fs::metadata(&exported)
            .unwrap_or_else(|e| panic!("{}: {e}", exported.display()))
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{}", exported.display());
        assert_eq!(
            std::fs::read(&exported).unwrap(),
            std::fs::read(dir.path().join(format!(".env.{name}"))).unwrap(),
            "the export is the project's own env file"
        );
    }
    app.quit().await;
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The test venv's Python (Django and redis), as scripts/setup.sh test makes it.
fn test_python() -> String {
    std::env::var("KOVAN_TEST_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/kovan/test-venv/bin/python",
            std::env::var("HOME").unwrap()
        )
    })
}

#[tokio::test]
async fn the_dev_pair_starts_green_a_killed_instance_turns_red_and_stop_all_frees_the_ports() {
    let dir = example_copy();
    let data = tempfile::tempdir().unwrap();
    let (main_port, api_port, ws_port, redis_port) =
        (free_port(), free_port(), free_port(), free_port());
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{redis_port}/0"),
        )
        .replace(
            "python = \".venv/bin/python\"",
            // migrate = "never": the preset starts without applying them, and the cards say so.
            &format!("python = {:?}\nmigrate = \"never\"", test_python()),
        )
        .replace("port = 8000", &format!("port = {main_port}"))
        .replace("port = 8001", &format!("port = {api_port}"))
        .replace("port = 8002", &format!("port = {ws_port}"));
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();

    // Kovan's data dir (store, managed Redis) stays inside the test; whatever happens, the groups
    // the app recorded there are stopped when the test ends.
    let _cleanup = StopRecorded(ws.clone(), data.path().to_path_buf());
    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    app.wait_for("[data-testid=preset-start][data-preset=dev]")
        .await
        .click()
        .await
        .unwrap();
    let clicked = std::time::Instant::now();
    for name in ["chat_main", "chat_api"] {
        app.wait_for_secs(&format!("[data-instance={name}][data-status=running]"), 90)
            .await;
    }
    let ready_after = clicked.elapsed();
    eprintln!(
        "dev pair ready {} ms after the click",
        ready_after.as_millis()
    );
    // A fresh copy has no tables yet: the cards say so; chat_main and chat_api are members of the
    // site chat and share its database, so one click on chat_main's card applies them for both.
    for name in ["chat_main", "chat_api"] {
        app.wait_for_secs(
            &format!("[data-instance={name}] [data-testid=migrations][data-phase=idle]"),
            20,
        )
        .await;
    }
    app.screenshot("migrations-not-applied").await;
    // The same cards in English, then back to Turkish for the rest of the test.
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=en]").await;
    app.screenshot("migrations-not-applied-en").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=tr]").await;
    app.click("[data-instance=chat_main] [data-testid=migrations-apply]")
        .await;
    for name in ["chat_main", "chat_api"] {
        // Applied, the next checks find the tables: the card turns green and the line goes.
        app.wait_for_secs(
            &format!("[data-instance={name}] [data-testid=health][data-verdict=healthy]"),
            60,
        )
        .await;
    }
    for port in [main_port, api_port] {
        let body = http_get(port, "/health/");
        assert!(body.contains("\"status\": \"ok\""), "{port}: {body}");
    }
    assert!(!port_is_free(redis_port), "Kovan started the managed Redis");
    assert!(
        port_is_free(ws_port),
        "chat_websocket is not in the dev pair"
    );
    // Green means running, answering /health/ and reporting exactly the derived names.
    for name in ["chat_main", "chat_api"] {
        app.wait_for_secs(
            &format!(
                "[data-instance={name}][data-health=up] [data-testid=health][data-verdict=healthy]"
            ),
            20,
        )
        .await;
    }
    app.wait_for("[data-instance=chat_main] [data-testid=sparkline]")
        .await;
    app.screenshot("dev-pair-running").await;

    // chat_main's log, as the drawer shows it: runserver's own lines (daphne's: a Channels project), live.
    app.click("[data-instance=chat_main] [data-testid=logs]")
        .await;
    app.wait_for("[data-testid=log-drawer]").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !app
        .text("[data-testid=log-drawer]")
        .await
        .contains("development server at")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "runserver's start line is not in the drawer"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.screenshot("logs").await;
    app.click("[data-testid=log-close]").await;

    // chat_api's whole process group dies from outside the app: its card turns red and the
    // timeline holds the crash, marked as worth a notification.
    let pid: i32 = app
        .wait_for("[data-instance=chat_api] [data-testid=pid]")
        .await
        .attr("data-pid")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        unsafe { libc::kill(-pid, libc::SIGKILL) },
        0,
        "kill group {pid}"
    );
    app.wait_for_secs("[data-instance=chat_api][data-status=crashed]", 20)
        .await;
    app.wait_for_secs(
        "[data-testid=event][data-kind=crash][data-instance=chat_api][data-alert=true]",
        20,
    )
    .await;
    app.wait_for("[data-instance=chat_main][data-status=running][data-health=up]")
        .await;
    app.screenshot("instance-killed").await;

    app.wait_for("[data-testid=stop-all]")
        .await
        .click()
        .await
        .unwrap();
    let clicked = std::time::Instant::now();
    app.wait_for_secs("[data-instance=chat_main][data-status=stopped]", 30)
        .await;
    eprintln!(
        "dev pair stopped {} ms after the click",
        clicked.elapsed().as_millis()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !(port_is_free(main_port) && port_is_free(api_port) && port_is_free(redis_port)) {
        assert!(
            std::time::Instant::now() < deadline,
            "ports still taken after Tümünü durdur"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.quit().await;
}

/// Stops every process group recorded in a Kovan store, as `kovan stop --all` would.
struct StopRecorded(kovan_core::Workspace, std::path::PathBuf);

impl Drop for StopRecorded {
    fn drop(&mut self) {
        let (ws, data) = (self.0.clone(), self.1.clone());
        // A runtime of its own: drop may run inside the test's runtime, which cannot block.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let store = std::sync::Arc::new(
                    kovan_core::store::Store::open(&data.join("kovan.sqlite3")).unwrap(),
                );
                let sup = kovan_core::supervisor::Supervisor::new(
                    ws,
                    Some(store),
                    std::sync::Arc::new(|_| {}),
                );
                sup.stop_all().await;
            });
        })
        .join()
        .unwrap();
    }
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A redis-server of the test's own on a free loopback port, without persistence; killed on drop.
struct RedisServer {
    port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/setup.sh test)");
        let server = Self {
            port,
            child,
            _dir: dir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while server.cli(&["PING"]).trim() != "PONG" {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not answer"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    /// One command through redis-cli; arguments go as they are, no shell in between.
    fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self) -> std::collections::BTreeSet<String> {
        self.cli(&["--scan"]).lines().map(str::to_owned).collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn cache_temizle_on_chat_main_deletes_its_keys_and_nothing_else() {
    let redis = RedisServer::start();
    let dir = example_copy();
    let data = tempfile::tempdir().unwrap();
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "redis://127.0.0.1:6379/0",
        &format!("redis://127.0.0.1:{}/0", redis.port),
    );
    std::fs::write(&toml, text).unwrap();

    // chat_main: 40 keys and 2 cached sessions; chat_api: 25 and 1; another app's 7 keys, plus
    // two that only look like chat_main's.
    let mut mset = vec!["MSET".to_string()];
    let mut put = |key: String| mset.extend([key, "v".to_string()]);
    for i in 0..40 {
        put(format!("context7_chat_main:1:page {i}"));
    }
    for i in 0..2 {
        put(format!(
            "context7_chat_main:1:django.contrib.sessions.cache{i}"
        ));
    }
    for i in 0..25 {
        put(format!("context7_chat_api:1:k{i}"));
    }
    put("context7_chat_api:1:django.contrib.sessions.cachez".into());
    for i in 0..7 {
        put(format!("otherapp:1:k{i}"));
    }
    put("context7_chat_main_extra:1:x".into());
    put("context7_chat_main".into());
    let args: Vec<&str> = mset.iter().map(String::as_str).collect();
    assert_eq!(redis.cli(&args).trim(), "OK");
    let before = redis.keys();
    assert_eq!(before.len(), 77);

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    let keys = |name: &str, n: u64| {
        format!("[data-instance={name}] [data-testid=cache-keys][data-keys=\"{n}\"]")
    };
    app.wait_for_secs(&keys("chat_main", 42), 20).await;
    app.wait_for(&keys("chat_api", 26)).await;
    assert_eq!(
        app.text("[data-instance=chat_main] [data-testid=session-count]")
            .await,
        "· 2 oturum"
    );

    app.wait_for("[data-instance=chat_main] [data-testid=flush]")
        .await
        .click()
        .await
        .unwrap();
    app.wait_for("[data-testid=flush-dialog][data-phase=confirm]")
        .await;
    assert_eq!(
        app.text("[data-testid=flush-line]").await,
        // The window flushes the cache part: the two sessions stay.
        "chat_main: 40 cache anahtarı silinecek; oturumlar korunur: 2 kullanıcı oturumda kalır"
    );
    // Other apps' 7 keys and `context7_chat_main_extra:1:x`; the bare `context7_chat_main` has
    // the shape of a channel-layer key of the site `chat` (`{prefix}{channel}`) and is counted
    // there: neither is ever flushed.
    let other = app.wait_for("[data-testid=flush-other-apps]").await;
    assert_eq!(
        other.attr("data-count").await.unwrap().as_deref(),
        Some("8")
    );
    app.screenshot("cache-confirm").await;

    app.wait_for("[data-testid=flush-confirm]")
        .await
        .click()
        .await
        .unwrap();
    let result = app.wait_for_secs("[data-testid=flush-result]", 20).await;
    assert_eq!(
        result.attr("data-deleted").await.unwrap().as_deref(),
        Some("40")
    );
    let undo = app.wait_for("[data-testid=flush-undo]").await;
    assert!(
        undo.text().await.unwrap().contains("40 anahtar"),
        "{}",
        undo.text().await.unwrap()
    );
    app.screenshot("cache-flushed").await;

    let after = redis.keys();
    let gone: Vec<&String> = before.difference(&after).collect();
    assert_eq!(gone.len(), 40, "{gone:?}");
    assert!(
        gone.iter().all(|k| k.starts_with("context7_chat_main:")),
        "{gone:?}"
    );
    for kept in [
        "otherapp:1:k0",
        "otherapp:1:k6",
        "context7_chat_main_extra:1:x",
        "context7_chat_main",
        "context7_chat_api:1:django.contrib.sessions.cachez",
        "context7_chat_main:1:django.contrib.sessions.cache0",
        "context7_chat_main:1:django.contrib.sessions.cache1",
    ] {
        assert!(after.contains(kept), "{kept} was deleted");
    }
    app.wait_for_secs(&keys("chat_main", 2), 20).await;
    app.wait_for(&keys("chat_api", 26)).await;

    // Undo: the 40 keys come back from the flush's snapshot, and the card counts them again.
    app.wait_for("[data-testid=flush-undo-button]")
        .await
        .click()
        .await
        .unwrap();
    let undone = app.wait_for_secs("[data-testid=flush-undo-done]", 20).await;
    assert_eq!(
        undone.attr("data-restored").await.unwrap().as_deref(),
        Some("40")
    );
    app.screenshot("cache-undone").await;
    assert_eq!(
        redis.keys(),
        before,
        "the undo did not put back exactly what went"
    );
    app.wait_for("[data-testid=flush-close]")
        .await
        .click()
        .await
        .unwrap();
    app.wait_for_secs(&keys("chat_main", 42), 20).await;
    app.quit().await;

    let store = kovan_core::store::Store::open(&data.path().join("kovan.sqlite3")).unwrap();
    let flushes: Vec<_> = store
        .events(&kovan_core::workspace::load(dir.path()).unwrap().file, 20)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "flush")
        .collect();
    assert_eq!(flushes.len(), 1, "{flushes:?}");
    assert_eq!(flushes[0].instance.as_deref(), Some("chat_main"));
    assert_eq!(flushes[0].detail["deleted"], 40);
    assert_eq!(flushes[0].detail["part"], "cache");
}

/// The example's env files and generated config, written as `kovan gen --write` does.
fn generated_copy(redis_port: u16, ports: [u16; 3]) -> (tempfile::TempDir, kovan_core::Workspace) {
    let dir = example_copy();
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{redis_port}/0"),
        )
        .replace("port = 8000", &format!("port = {}", ports[0]))
        .replace("port = 8001", &format!("port = {}", ports[1]))
        .replace("port = 8002", &format!("port = {}", ports[2]));
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    (dir, ws)
}

#[tokio::test]
async fn the_doctor_finds_real_isolation_problems_and_fixes_one_with_a_click() {
    use std::os::unix::fs::PermissionsExt;

    let ports = [free_port(), free_port(), free_port()];
    let (dir, _ws) = generated_copy(free_port(), ports);
    let data = tempfile::tempdir().unwrap();
    // Three real problems: chat_api's env file readable by everyone, the isolated `review` given
    // chat_main's SECRET_KEY (the site chat's members share theirs by design, review must not), and
    // a process that is no instance listening on chat_websocket's port.
    let env_api = dir.path().join(".env.chat_api");
    std::fs::set_permissions(&env_api, std::fs::Permissions::from_mode(0o644)).unwrap();
    let secret = |name: &str| {
        std::fs::read_to_string(dir.path().join(format!(".env.{name}")))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("SECRET_KEY="))
            .unwrap()
            .to_string()
    };
    let review_env = dir.path().join(".env.review");
    let replaced = std::fs::read_to_string(&review_env)
        .unwrap()
        .replace(&secret("review"), &secret("chat_main"));
    std::fs::write(&review_env, replaced).unwrap();
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", ports[2])).unwrap();

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    app.wait_for("[data-testid=open-doctor]")
        .await
        .click()
        .await
        .unwrap();
    for kind in ["env-file-readable", "shared-secret-key", "port-taken"] {
        app.wait_for_secs(
            &format!("[data-testid=doctor] [data-testid=finding][data-kind={kind}]"),
            20,
        )
        .await;
    }
    app.screenshot("doctor").await;

    app.click("[data-testid=finding][data-kind=env-file-readable] [data-testid=finding-fix]")
        .await;
    app.wait_for_secs("[data-testid=fix-result]", 20).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !app
        .all("[data-testid=finding][data-kind=env-file-readable]")
        .await
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the fixed finding stays listed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mode = std::fs::metadata(&env_api).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the one-click fix made the env file private");
    app.wait_for("[data-testid=finding][data-kind=shared-secret-key]")
        .await;
    app.quit().await;
}

#[tokio::test]
async fn a_django_project_without_kovan_toml_is_opened_through_the_first_run_screen() {
    let dir = example_copy();
    std::fs::remove_file(dir.path().join("kovan.toml")).unwrap();
    // The project's own virtualenv: detection finds .venv and asks Django through it.
    let venv = std::path::Path::new(&test_python())
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::os::unix::fs::symlink(&venv, dir.path().join(".venv")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let missing = dir.path().join("kovan.toml");

    let app = App::launch(
        &[],
        &[
            ("KOVAN_DATA_DIR", data.path()),
            ("KOVAN_WORKSPACE", &missing),
        ],
    )
    .await;
    app.wait_for("[data-testid=first-run-open]")
        .await
        .click()
        .await
        .unwrap();
    let field = app.wait_for("[data-testid=project-folder]").await;
    field.send_keys(dir.path().to_str().unwrap()).await.unwrap();
    app.wait_for("[data-testid=project-detect]")
        .await
        .click()
        .await
        .unwrap();
    app.wait_for_secs("[data-testid=project-proposal][data-exists=false]", 60)
        .await;
    assert_eq!(
        app.text("[data-testid=project-name]").await,
        "dashboard_project"
    );
    app.screenshot("first-run-proposal").await;
    app.wait_for("[data-testid=project-create]")
        .await
        .click()
        .await
        .unwrap();
    // The example uses Channels: kovan init proposes the site `chat` with its three role members.
    for name in ["chat_main", "chat_api", "chat_websocket"] {
        app.wait_for_secs(
            &format!("[data-testid=instance-card][data-instance={name}]"),
            30,
        )
        .await;
    }
    assert!(missing.is_file(), "kovan.toml was written");
    kovan_core::workspace::load(&missing).expect("the written kovan.toml validates");

    // Language and theme: Ctrl+L switches the language; the theme button cycles system -> light -> dark.
    app.wait_for("html[lang=tr]").await;
    app.wait_for("body")
        .await
        .send_keys("\u{E009}l\u{E000}")
        .await
        .unwrap();
    app.wait_for_secs("html[lang=en]", 10).await;
    assert_eq!(
        app.text("[data-testid=preset-start][data-preset=dev]")
            .await
            .lines()
            .next()
            .unwrap()
            .trim(),
        "Start the dev pair"
    );
    let toggle = app.wait_for("[data-testid=theme-toggle]").await;
    toggle.click().await.unwrap();
    app.wait_for("[data-testid=theme-toggle][data-theme-choice=light]")
        .await;
    app.wait_for("html[data-theme=light]").await;
    toggle.click().await.unwrap();
    app.wait_for("html[data-theme=dark]").await;
    app.screenshot("dark-english").await;
    app.quit().await;
}

/// `kovan-desktop --help` prints its usage and ends, also where a display is there (the window
/// never opens); with no display, or one nobody serves, it says so in a sentence, no GTK panic.
#[test]
fn help_prints_usage_without_a_window_and_a_missing_display_is_said_plainly() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let run = |cmd: &mut Command| {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("kovan-desktop {cmd:?} did not end: it opened a window");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let app = kovan_e2e::app_binary();

    for flag in ["--help", "-h"] {
        let (code, stdout, stderr) = run(Command::new(&app).arg(flag));
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            stdout.starts_with("Usage: kovan-desktop [--workspace PATH]"),
            "{stdout}"
        );
    }
    let (code, stdout, _) = run(Command::new(&app).arg("--version"));
    assert_eq!(
        (code, stdout.trim()),
        (
            Some(0),
            concat!("kovan-desktop ", env!("CARGO_PKG_VERSION"))
        )
    );

    let (code, _, stderr) = run(Command::new(&app)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.starts_with(
            "kovan-desktop: there is no display (DISPLAY and WAYLAND_DISPLAY are unset)"
        ) && !stderr.contains("panicked")
            && !stderr.to_lowercase().contains("gtk"),
        "{stderr}"
    );

    let unused = (900..1000)
        .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .unwrap();
    let (code, _, stderr) = run(Command::new(&app)
        .env("DISPLAY", format!(":{unused}"))
        .env_remove("WAYLAND_DISPLAY"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("no X server answers on DISPLAY=:{unused}"))
            && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// A workspace another program supervises (here: this test, holding its lock as `kovan up` does):
/// the window only watches, says who supervises it in a banner, refuses to start, and takes over
/// on a click once the holder lets go; then it starts what it is asked to.
#[tokio::test]
async fn a_workspace_supervised_elsewhere_is_watched_and_taken_over_on_a_click() {
    use kovan_core::supervisor::lock::SupervisorLock;

    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(dir.path().join(".env.web"), "").unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("kovan.toml"),
        format!(
            "[project]\nname = \"shop\"\nsettings = \"shop.settings\"\n\n[[instance]]\nname = \"web\"\nport = {port}\ncache = \"locmem\"\ncommand = \"python3 {} {{port}}\"\n",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../crates/kovan-core/tests/fixtures/health_server.py")
                .display()
        ),
    )
    .unwrap();
    let file = kovan_core::workspace::load(dir.path()).unwrap().file;
    let held = SupervisorLock::acquire_in(data.path(), &file, "kovan up, PID 4242").unwrap();

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    let banner = app.wait_for("[data-testid=supervision-banner]").await;
    assert_eq!(
        app.text("[data-testid=supervision-by]").await,
        "Bu çalışma alanını kovan up, PID 4242 yönetiyor"
    );
    assert!(banner.text().await.unwrap().contains("Yönetimi devral"));
    app.screenshot("supervised-elsewhere").await;
    app.click("[data-testid=lang-toggle]").await;
    assert_eq!(
        app.text("[data-testid=supervision-by]").await,
        "kovan up, PID 4242 supervises this workspace"
    );
    app.screenshot("supervised-elsewhere-en").await;

    // Watching only: a start is refused with who supervises, and nothing listens on the port.
    app.click("[data-testid=instance-card] [data-testid=start]")
        .await;
    let refused = app.wait_for("[data-testid=card-error]").await;
    assert_eq!(
        refused.attr("data-kind").await.unwrap().as_deref(),
        Some("supervised_elsewhere")
    );
    let said = refused.text().await.unwrap();
    assert!(said.contains("kovan up, PID 4242"), "{said}");
    assert!(port_is_free(port));

    // "Take over": the holder sees the request and lets go; the window supervises.
    app.click("[data-testid=take-over]").await;
    let mut asked = None;
    for _ in 0..100 {
        asked = held.hand_over_asked();
        if asked.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let asked = asked.expect("the window asked to take over");
    assert!(asked.starts_with("the Kovan window, PID "), "{asked}");
    drop(held);
    for _ in 0..100 {
        if app.all("[data-testid=supervision-banner]").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(app.all("[data-testid=supervision-banner]").await.is_empty());
    assert_eq!(
        kovan_core::supervisor::lock::holder_in(data.path(), &file).as_deref(),
        Some(asked.as_str())
    );
    app.click("[data-testid=instance-card] [data-testid=start]")
        .await;
    for _ in 0..200 {
        if !port_is_free(port) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !port_is_free(port),
        "the window did not start web once it supervised"
    );
    app.wait_for_secs("[data-testid=instance-card][data-status=running]", 30)
        .await;
    // Supervising now, its Stop works too (the harness kills the app when the session ends, and
    // a killed panel leaves what runs running, so the test stops it here).
    app.click("[data-testid=instance-card] [data-testid=stop]")
        .await;
    for _ in 0..150 {
        if port_is_free(port) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(port_is_free(port), "the window's Stop left web running");
    app.quit().await;
}

/// Kovan's history database damaged before the window opens: it is moved aside, a new one made, and
/// the window says so in a banner, in both languages, with where the damaged file went.
#[tokio::test]
async fn a_damaged_store_is_said_in_a_banner_in_both_languages() {
    let data = tempfile::tempdir().unwrap();
    let damaged: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(data.path().join("kovan.sqlite3"), damaged).unwrap();
    let app = App::launch(&[], &[("KOVAN_DATA_DIR", data.path())]).await;
    let banner = app.wait_for("[data-testid=store-banner]").await;
    assert_eq!(
        banner.attr("data-kind").await.unwrap().as_deref(),
        Some("recovered")
    );
    let moved = std::fs::read_dir(data.path())
        .unwrap()
        .flatten()
        .map(|e| e.path().display().to_string())
        .find(|p| p.contains(".damaged-"))
        .expect("the damaged file was moved aside");
    let said = app.text("[data-testid=store-banner-message]").await;
    assert!(said.contains(&moved), "{said}");
    app.wait_for("[data-testid=instance-card]").await;
    app.screenshot("store-recovered").await;
    app.click("[data-testid=lang-toggle]").await;
    assert_eq!(
        app.text("[data-testid=store-banner] h2").await,
        "Kovan’s history database was damaged and moved aside"
    );
    app.screenshot("store-recovered-en").await;
    app.quit().await;
}

/// Every command the shell registers is in build.rs's app manifest and allowed by the window's
/// capability: one missing is refused by Tauri at run time, with nothing said at build time (the
/// site's Start, Stop and door probe were, until this test).
#[test]
fn every_registered_command_is_in_the_manifest_and_allowed_for_the_window() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let main = read("src-tauri/src/main.rs");
    let manifest = read("src-tauri/build.rs");
    let capability = read("src-tauri/capabilities/main-window.json");
    let registered: Vec<&str> = main
        .split("commands::")
        .skip(1)
        .filter_map(|rest| rest.split(',').next())
        .map(str::trim)
        .filter(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        .collect();
    assert!(registered.len() > 30, "{registered:?}");
    let unlisted: Vec<&&str> = registered
        .iter()
        .filter(|c| !manifest.contains(&format!("\"{c}\"")))
        .collect();
    assert!(
        unlisted.is_empty(),
        "not in src-tauri/build.rs: {unlisted:?}"
    );
    let refused: Vec<&&str> = registered
        .iter()
        .filter(|c| !capability.contains(&format!("\"allow-{}\"", c.replace('_', "-"))))
        .collect();
    assert!(
        refused.is_empty(),
        "not allowed in main-window.json: {refused:?}"
    );
}
