//! The real app, driven like a user drives it: cards on the example workspace, the language switch,
//! and a broken kovan.toml shown in the window, then fixed and reloaded.

use std::path::Path;

use kovan_core::store::HistoryEvent;
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
    assert_eq!(app.text("[data-testid=status]").await.trim(), "Durdu");
    app.screenshot("cards-tr").await;

    app.wait_for("[data-testid=lang-toggle]")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(app.text("[data-testid=status]").await.trim(), "Stopped");
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
        let body = kovan_testsupport::web::http(port, "GET", "/health/", &[], "").body;
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
    // The history as a user scrolls down to it: the starts, the migrations' health change and the
    // crash, drawn from the typed events, in both languages.
    app.scroll_to("[data-testid=timeline]").await;
    app.screenshot("timeline").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=en]").await;
    app.scroll_to("[data-testid=timeline]").await;
    app.screenshot("timeline-en").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=tr]").await;

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

#[tokio::test]
async fn cache_temizle_on_chat_main_deletes_its_keys_and_nothing_else() {
    let redis = kovan_testsupport::RedisServer::start();
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
        .filter_map(|e| match e.event {
            HistoryEvent::Flush { deleted, part, .. } => Some((e.instance, deleted, part)),
            _ => None,
        })
        .collect();
    assert_eq!(
        flushes,
        [(Some("chat_main".to_string()), 40, "cache".to_string())]
    );
}

/// The `data-name` of each row of the key inspector, top to bottom.
async fn key_group_rows(app: &App) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for row in app.all("[data-testid=keys-group]").await {
        rows.push((
            row.attr("data-name").await.unwrap().unwrap_or_default(),
            row.attr("data-keys").await.unwrap().unwrap_or_default(),
        ));
    }
    rows
}

#[tokio::test]
async fn the_key_inspector_lists_a_running_instances_groups_and_clears_one_with_undo() {
    use kovan_testsupport::web::{http, sign_up_and_log_in};
    use kovan_testsupport::{eventually, RedisServer};
    use std::time::Duration;

    let redis = RedisServer::start();
    let dir = example_copy();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{}/0", redis.port),
        )
        .replace(
            "python = \".venv/bin/python\"",
            &format!("python = {:?}\nmigrate = \"auto\"", test_python()),
        )
        .replace("port = 8003\n", &format!("port = {port}\n"));
    std::fs::write(&toml, text).unwrap();
    // cached_db: a login writes its session into Redis too, as Django's own cache key (review is
    // isolated: a site's members keep theirs in the database).
    let settings = dir.path().join("dashboard_project/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap().replace(
        "SESSION_ENGINE = \"django.contrib.sessions.backends.db\"",
        "SESSION_ENGINE = \"django.contrib.sessions.backends.cached_db\"",
    );
    assert!(text.contains("cached_db"));
    std::fs::write(&settings, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    let names = ws.instance("review").unwrap().names.clone();
    let prefix = names.cache_prefix.clone();
    let _cleanup = StopRecorded(ws.clone(), data.path().to_path_buf());

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    app.click("[data-instance=review] [data-testid=start]")
        .await;
    app.wait_for_secs(
        "[data-instance=review][data-health=up] [data-testid=health][data-verdict=healthy]",
        120,
    )
    .await;
    // Two users sign up and log in on the running instance: sessions Django itself wrote.
    eventually("the signup page", Duration::from_secs(20), || {
        let page = http(port, "GET", "/signup/", &[], "");
        if page.status == 200 && page.cookie(&names.csrf_cookie).is_some() {
            Ok(())
        } else {
            Err(format!("{} {:?}", page.status, page.headers))
        }
    });
    for user in ["ayse", "mehmet"] {
        sign_up_and_log_in(
            port,
            &names.csrf_cookie,
            &names.session_cookie,
            user,
            "uzun-bir-parola-42",
        );
    }
    let sessions: Vec<String> = redis
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(&format!("{prefix}:1:django.contrib.sessions.cache")))
        .collect();
    // Each signup logs its user in, then the login's own: sessions Django's cached_db left.
    assert!(sessions.len() >= 2, "{sessions:?} of {:?}", redis.keys());
    // The rest in Django's own shapes: 30 cached pages (10 min), 12 template fragments (1 min),
    // 20 of the project's `user:` keys with larger values and no expiry; chat_main's and another
    // app's keys beside them.
    let mut pipe = String::new();
    for i in 0..30 {
        pipe.push_str(&format!(
            "SET {prefix}:1:views.decorators.cache.cache_page..GET.{i:032x}.d41d8cd98f00b204e9800998ecf8427e.en-us.UTC v EX 600\n"
        ));
    }
    for i in 0..12 {
        pipe.push_str(&format!(
            "SET {prefix}:1:template.cache.sidebar.{i:032x} v EX 60\n"
        ));
    }
    let big = "x".repeat(2000);
    for i in 0..20 {
        pipe.push_str(&format!("SET {prefix}:1:user:{i}:profile {big}\n"));
    }
    for i in 0..5 {
        pipe.push_str(&format!(
            "SET context7_chat_main:1:views.decorators.cache.cache_page..GET.{i} v\n"
        ));
        pipe.push_str(&format!(
            "SET otherapp:1:views.decorators.cache.cache_page.{i} v\n"
        ));
    }
    for line in pipe.lines() {
        let args: Vec<&str> = line.split(' ').collect();
        assert_eq!(redis.cli(&args).trim(), "OK", "{line}");
    }
    let before = redis.keys();

    // The inspector, in Turkish: largest in memory first, each group counted exactly.
    app.click("[data-instance=review] [data-testid=inspect-keys]")
        .await;
    app.wait_for_secs("[data-testid=keys-dialog][data-phase=ready]", 20)
        .await;
    let rows = key_group_rows(&app).await;
    let row = |name: &str| {
        rows.iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k.as_str())
    };
    assert_eq!(rows[0].0, "user:*", "{rows:?}");
    assert_eq!(row("user:*"), Some("20"), "{rows:?}");
    assert_eq!(row("cached pages"), Some("30"), "{rows:?}");
    assert_eq!(row("template fragments"), Some("12"), "{rows:?}");
    assert_eq!(
        row("sessions"),
        Some(sessions.len().to_string().as_str()),
        "{rows:?}"
    );
    assert!(
        app.text("[data-testid=keys-groups]")
            .await
            .contains("Cache’lenmiş sayfalar"),
        "the families are worded in Turkish"
    );
    app.screenshot("keys-tr").await;
    app.click("[data-testid=keys-close]").await;

    // The same in English; the group of cached pages goes from there.
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=en]").await;
    app.click("[data-instance=review] [data-testid=inspect-keys]")
        .await;
    app.wait_for_secs("[data-testid=keys-dialog][data-phase=ready]", 20)
        .await;
    assert!(app
        .text("[data-testid=keys-groups]")
        .await
        .contains("Cached pages"));
    app.screenshot("keys-en").await;
    app.click(
        "[data-testid=keys-group][data-name=\"cached pages\"] [data-testid=keys-flush-group]",
    )
    .await;
    app.wait_for_secs("[data-testid=flush-dialog][data-phase=confirm]", 20)
        .await;
    app.wait_for("[data-testid=flush-part][data-choice=match]")
        .await;
    let words = app.text("[data-testid=flush-scope-words]").await;
    assert!(
        words.starts_with("30 keys matching views.decorators.cache.cache_page.*"),
        "{words}"
    );
    app.screenshot("keys-flush-group-en").await;
    app.click("[data-testid=flush-confirm]").await;
    let result = app.wait_for_secs("[data-testid=flush-result]", 20).await;
    assert_eq!(
        result.attr("data-deleted").await.unwrap().as_deref(),
        Some("30")
    );
    app.click("[data-testid=flush-close]").await;
    // Back in the inspector, read again: the group is gone, the others are kept.
    app.wait_for_secs("[data-testid=keys-dialog][data-phase=ready]", 20)
        .await;
    let after_rows = key_group_rows(&app).await;
    let names_after: Vec<&str> = after_rows.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names_after.contains(&"cached pages"), "{after_rows:?}");
    for kept in ["user:*", "template fragments", "sessions"] {
        assert!(names_after.contains(&kept), "{kept}: {after_rows:?}");
    }
    let after = redis.keys();
    let gone: Vec<&String> = before.difference(&after).collect();
    assert_eq!(gone.len(), 30, "{gone:?}");
    assert!(
        gone.iter()
            .all(|k| k.starts_with(&format!("{prefix}:1:views.decorators.cache.cache_page."))),
        "{gone:?}"
    );
    for kept in &sessions {
        assert!(after.contains(kept), "the session {kept} went");
    }
    assert_eq!(
        after
            .iter()
            .filter(|k| k.contains("views.decorators.cache.cache_page."))
            .count(),
        10,
        "chat_main's and the other app's pages are kept"
    );
    app.click("[data-testid=keys-close]").await;

    // The history holds the flush with its Undo, in English; Undo there puts the 30 back.
    let event = "[data-testid=event][data-kind=flush][data-instance=review]";
    app.wait_for_secs(&format!("{event} [data-testid=event-undo-button]"), 20)
        .await;
    let summary = app
        .text(&format!("{event} [data-testid=event-summary]"))
        .await;
    assert_eq!(
        summary,
        "30 keys deleted (review; only views.decorators.cache.cache_page.*)"
    );
    app.scroll_to(event).await;
    app.screenshot("history-undo-en").await;
    app.click(&format!("{event} [data-testid=event-undo-button]"))
        .await;
    let undone = app
        .wait_for_secs(&format!("{event} [data-testid=event-undo-done]"), 20)
        .await;
    assert_eq!(
        undone.attr("data-restored").await.unwrap().as_deref(),
        Some("30")
    );
    app.scroll_to(event).await;
    app.screenshot("history-undone-en").await;
    let restored = redis.keys();
    assert!(
        gone.iter().all(|k| restored.contains(*k)),
        "the undo did not put the group back"
    );
    app.quit().await;
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
/// the window only watches, says who supervises it in a banner, shows Start disabled with who
/// supervises as its tooltip, and takes over on a click once the holder lets go; then Start is
/// enabled and it starts what it is asked to.
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
    // Watching only: Start is disabled, its tooltip says who supervises.
    let start = app
        .wait_for("[data-testid=instance-card] [data-testid=start]")
        .await;
    assert!(
        start.attr("disabled").await.unwrap().is_some(),
        "Start is enabled while the window only watches"
    );
    assert_eq!(
        start.attr("title").await.unwrap().as_deref(),
        Some("Bu çalışma alanını kovan up, PID 4242 yönetiyor; pencere yalnızca izliyor. Başlatmak ya da durdurmak için yönetimi devralın.")
    );
    app.screenshot("supervised-elsewhere").await;
    app.click("[data-testid=lang-toggle]").await;
    assert_eq!(
        app.text("[data-testid=supervision-by]").await,
        "kovan up, PID 4242 supervises this workspace"
    );
    app.screenshot("supervised-elsewhere-en").await;

    let start = app
        .wait_for("[data-testid=instance-card] [data-testid=start]")
        .await;
    assert!(start.attr("disabled").await.unwrap().is_some());
    assert_eq!(
        start.attr("title").await.unwrap().as_deref(),
        Some("kovan up, PID 4242 supervises this workspace; the window only watches. Take over to start or stop.")
    );
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
    // Supervising: Start is enabled again, with its own tooltip.
    let start = app
        .wait_for("[data-testid=instance-card] [data-testid=start]:not([disabled])")
        .await;
    assert_eq!(
        start.attr("title").await.unwrap().as_deref(),
        Some("Starts it and waits until /health/ answers.")
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

/// How many sessions the site's database holds (django_session's rows), read with sqlite3.
fn session_rows(db: &Path) -> u64 {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg("SELECT count(*) FROM django_session")
        .output()
        .expect("sqlite3 (apt install sqlite3)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Issue 14 in the window: the site `chat` started with its group's Start site button is one
/// website through its front door (one login holds on chat_main, chat_api and chat_websocket; two
/// websocket tabs of a room talk over the shared channel layer on the managed Redis), while `review`
/// (started from its card) shares nothing with it: its socket in a room of the same name gets only
/// its own room's messages, and neither accepts the other's session. Cache Temizle on chat_api's card
/// then deletes chat_api's cache keys only: chat_main's keys, the channel layer's and the sessions
/// stay, and the user stays logged in. Stop site and Stop all free every port.
#[tokio::test]
async fn the_chat_site_started_in_the_window_is_one_website_and_review_stays_apart() {
    use kovan_testsupport::web::{http, next_json, post_form, say, sign_up_and_log_in, socket};
    use kovan_testsupport::{eventually, redis_cli, redis_keys};
    use std::time::Duration;

    let dir = example_copy();
    let data = tempfile::tempdir().unwrap();
    let [main_port, api_port, ws_port, review_port, door, redis_port] =
        [(); 6].map(|_| free_port());
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{redis_port}/0"),
        )
        // The site's shared database is migrated by Start site itself (migrate = "auto"); review
        // starts without its migrations (migrate = "never") and gets them from its card's Apply.
        .replace(
            "python = \".venv/bin/python\"",
            &format!("python = {:?}\nmigrate = \"auto\"", test_python()),
        )
        .replace("port = 8000\n", &format!("port = {main_port}\n"))
        .replace("port = 8001\n", &format!("port = {api_port}\n"))
        .replace("port = 8002\n", &format!("port = {ws_port}\n"))
        .replace(
            "port = 8003\n",
            &format!("port = {review_port}\nmigrate = \"never\"\n"),
        )
        .replace("front_door = 8080", &format!("front_door = {door}"));
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    let _cleanup = StopRecorded(ws.clone(), data.path().to_path_buf());

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    let group = "[data-testid=site-group][data-site=chat]";
    app.click(&format!("{group} [data-testid=site-start]"))
        .await;
    let clicked = std::time::Instant::now();
    app.wait_for_secs(&format!("{group}[data-door=running]"), 150)
        .await;
    app.wait_for_secs(
        &format!("{group} [data-testid=front-door][data-answers=true]"),
        30,
    )
    .await;
    eprintln!(
        "the site's door answered {} ms after Start site",
        clicked.elapsed().as_millis()
    );
    for name in ["chat_main", "chat_api", "chat_websocket"] {
        app.wait_for(&format!("[data-instance={name}][data-status=running]"))
            .await;
    }
    // The door answers as the site: its login page is chat_main's.
    eventually("the door's login page", Duration::from_secs(20), || {
        let page = http(door, "GET", "/login/", &[], "");
        (page.status == 200 && page.cookie("csrftoken_chat").is_some())
            .then_some(())
            .ok_or_else(|| format!("{} {}", page.status, page.body))
    });

    // review, isolated, from its own card: a database of its own, migrated with the card's button.
    app.click("[data-instance=review] [data-testid=start]")
        .await;
    app.wait_for_secs("[data-instance=review][data-status=running]", 90)
        .await;
    app.click("[data-instance=review] [data-testid=migrations-apply]")
        .await;
    app.wait_for_secs(
        "[data-instance=review] [data-testid=health][data-verdict=healthy]",
        90,
    )
    .await;

    // One login through the front door (real form POSTs with the CSRF token and the door's origin).
    let cookie = sign_up_and_log_in(
        door,
        "csrftoken_chat",
        "sessionid_chat",
        "ayse",
        "gizli-Parola-41",
    );
    // The same session cookie on chat_api, through the door's /api/ and on its own port.
    for (port, via) in [(door, "front door"), (api_port, "chat_api")] {
        let me = http(port, "GET", "/api/me/", &[("Cookie", &cookie)], "");
        assert_eq!(me.status, 200, "{via}: {}", me.body);
        let v: serde_json::Value = serde_json::from_str(&me.body).unwrap();
        assert_eq!(
            (&v["user"], &v["instance"]),
            (&"ayse".into(), &"chat_api".into()),
            "{via}: {v}"
        );
    }
    let page = http(door, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<strong data-user>ayse</strong>"),
        "{}",
        page.body
    );
    let room = post_form(door, "/", "csrftoken_chat", &cookie, "name=genel");
    assert_eq!(room.status, 302, "{}", room.body);

    // review: a user and a room `genel` of its own; neither accepts the other's session.
    let review_cookie = sign_up_and_log_in(
        review_port,
        "csrftoken_review",
        "sessionid_review",
        "deniz",
        "baska-Parola-73",
    );
    let review_room = post_form(
        review_port,
        "/",
        "csrftoken_review",
        &review_cookie,
        "name=genel",
    );
    assert_eq!(review_room.status, 302, "{}", review_room.body);
    let refused = http(review_port, "GET", "/api/me/", &[("Cookie", &cookie)], "");
    assert_eq!(
        refused.status, 401,
        "review took chat's session: {}",
        refused.body
    );
    let refused = http(door, "GET", "/api/me/", &[("Cookie", &review_cookie)], "");
    assert_eq!(
        refused.status, 401,
        "chat took review's session: {}",
        refused.body
    );

    // Two tabs in chat's room through the door, one in review's room of the same name.
    let mut a = socket(door, "/ws/rooms/genel/", &cookie);
    let mut b = socket(door, "/ws/rooms/genel/", &cookie);
    let mut r = socket(review_port, "/ws/rooms/genel/", &review_cookie);
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
    // review's tab: the first message it gets is the one said in its own room after chat's, not
    // chat's "merhaba" (which, leaked, would have come first).
    say(&mut r, "yalnız review");
    let own = next_json(&mut r);
    assert_eq!(
        (&own["user"], &own["text"], &own["instance"]),
        (
            &serde_json::json!("deniz"),
            &serde_json::json!("yalnız review"),
            &serde_json::json!("review")
        ),
        "review's tab got another room's message: {own}"
    );

    // chat_api's cache also holds a session the way a cache-backed session store keeps one: the
    // window's Cache Temizle keeps it.
    let api_session = "context7_chat_api:1:django.contrib.sessions.cachee2e";
    assert_eq!(
        redis_cli(redis_port, &["SET", api_session, "v"]).trim(),
        "OK"
    );
    let before = redis_keys(redis_port);
    let main_hits = "context7_chat_main:1:chat:hits";
    let api_hits = "context7_chat_api:1:chat:api-hits";
    let room_group = "context7_chat:group:room.genel";
    for key in [main_hits, api_hits, room_group, api_session] {
        assert!(before.contains(key), "{key} is not in Redis: {before:?}");
    }
    let api_cache: std::collections::BTreeSet<String> = before
        .iter()
        .filter(|k| k.starts_with("context7_chat_api:") && !k.contains("django.contrib.sessions"))
        .cloned()
        .collect();
    let db = dir.path().join("db_chat.sqlite3");
    let sessions = session_rows(&db);
    assert!(sessions >= 1, "the login's session is in the database");

    // The running site, in Turkish and English, once the window has counted these keys (its
    // counts refresh every 15 s): the members' own, and the channel layer's apart.
    let under = |prefix: &str| before.iter().filter(|k| k.starts_with(prefix)).count();
    for (name, prefix) in [
        ("chat_main", "context7_chat_main:"),
        ("chat_api", "context7_chat_api:"),
    ] {
        app.wait_for_secs(
            &format!(
                "[data-instance={name}] [data-testid=cache-keys][data-keys=\"{}\"]",
                under(prefix)
            ),
            40,
        )
        .await;
    }
    app.wait_for_secs(
        &format!("{group} [data-testid=site-channel-keys]:not([data-count=\"0\"])"),
        40,
    )
    .await;
    for name in ["chat_main", "chat_api", "chat_websocket", "review"] {
        app.wait_for_secs(
            &format!("[data-instance={name}] [data-testid=health][data-verdict=healthy]"),
            30,
        )
        .await;
    }
    // The group's header (door, routes, what the members share) with its cards beneath in view.
    let show_group = || async {
        app.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
                vec![format!("{group} [data-testid=front-door]").into()],
            )
            .await
            .unwrap();
    };
    show_group().await;
    app.screenshot("site-running").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=en]").await;
    show_group().await;
    app.screenshot("site-running-en").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=tr]").await;

    // Cache Temizle on chat_api's card, confirmed in the dialog.
    app.click("[data-instance=chat_api] [data-testid=flush]")
        .await;
    app.wait_for_secs("[data-testid=flush-dialog][data-phase=confirm]", 20)
        .await;
    let line = app.text("[data-testid=flush-line]").await;
    assert!(line.starts_with("chat_api: "), "{line}");
    app.wait_for("[data-testid=flush-channel-layer][data-site=chat]")
        .await;
    app.screenshot("site-cache-confirm").await;
    app.click("[data-testid=flush-confirm]").await;
    let result = app.wait_for_secs("[data-testid=flush-result]", 20).await;
    assert_eq!(
        result.attr("data-deleted").await.unwrap(),
        Some(api_cache.len().to_string()),
        "{api_cache:?}"
    );
    let after = redis_keys(redis_port);
    let gone: std::collections::BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(
        gone, api_cache,
        "Cache Temizle on chat_api deleted other keys"
    );
    for key in [main_hits, room_group, api_session] {
        assert!(after.contains(key), "{key} was deleted");
    }
    assert_eq!(session_rows(&db), sessions, "the site's sessions");
    app.click("[data-testid=flush-close]").await;

    // The user is still logged in, through the door on chat_main and chat_api, and the tabs opened
    // before the flush still talk over the channel layer.
    let page = http(door, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<strong data-user>ayse</strong>"),
        "{}",
        page.body
    );
    let me = http(door, "GET", "/api/me/", &[("Cookie", &cookie)], "");
    assert_eq!(me.status, 200, "{}", me.body);
    let v: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(v["user"], "ayse", "{v}");
    say(&mut b, "hâlâ burada");
    let got = next_json(&mut a);
    assert_eq!(
        (&got["user"], &got["text"]),
        (&"ayse".into(), &"hâlâ burada".into()),
        "{got}"
    );
    drop((a, b, r));

    // Stop site: the door and the members; then Stop all: review and the managed Redis.
    app.click(&format!("{group} [data-testid=site-stop]")).await;
    app.wait_for_secs(&format!("{group}[data-door=stopped]"), 60)
        .await;
    for name in ["chat_main", "chat_api", "chat_websocket"] {
        app.wait_for_secs(&format!("[data-instance={name}][data-status=stopped]"), 60)
            .await;
    }
    eventually("the site's ports free", Duration::from_secs(20), || {
        let taken: Vec<u16> = [door, main_port, api_port, ws_port]
            .into_iter()
            .filter(|&p| !port_is_free(p))
            .collect();
        taken.is_empty().then_some(()).ok_or(format!("{taken:?}"))
    });
    assert!(!port_is_free(review_port), "Stop site left review running");
    app.click("[data-testid=stop-all]").await;
    app.wait_for_secs("[data-instance=review][data-status=stopped]", 60)
        .await;
    eventually(
        "review's and Redis' ports free",
        Duration::from_secs(20),
        || {
            let taken: Vec<u16> = [review_port, redis_port]
                .into_iter()
                .filter(|&p| !port_is_free(p))
                .collect();
            taken.is_empty().then_some(()).ok_or(format!("{taken:?}"))
        },
    );
    app.quit().await;
}

/// Run `script` with Python's sqlite3 on `db` and print the result (a list of rows).
fn sqlite(db: &Path, script: &str) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); r = c.execute(sys.argv[2]).fetchall(); c.commit(); print(r)")
        .arg(db)
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The Database dialog on a real SQLite file migrated by a real Django: a reset is refused while
/// another process has the file open (naming it), then, confirmed by the name, takes a snapshot,
/// empties the file and migrates it again; Restore brings the old rows back.
#[tokio::test]
async fn a_database_is_reset_from_its_card_and_restored_from_its_snapshot() {
    let dir = example_copy();
    let data = tempfile::tempdir().unwrap();
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{}/0", free_port()),
        )
        .replace(
            "python = \".venv/bin/python\"",
            &format!("python = {:?}", test_python()),
        )
        .replace("port = 8000", &format!("port = {}", free_port()))
        .replace("port = 8001", &format!("port = {}", free_port()))
        .replace("port = 8002", &format!("port = {}", free_port()))
        .replace("port = 8003", &format!("port = {}", free_port()));
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    kovan_core::django::migrate_named(&ws, "review", |_| {}).unwrap();
    let db = dir.path().join("db_review.sqlite3");
    sqlite(&db, "CREATE TABLE kept (x)");
    sqlite(&db, "INSERT INTO kept VALUES ('before the reset')");

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    let line = app
        .wait_for("[data-instance=review] [data-testid=database-line]")
        .await;
    let size: u64 = line
        .attr("data-size")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        size > 50_000,
        "a migrated Django database, got {size} bytes"
    );

    // Somebody else has the file open: the reset is refused and says who.
    let mut holder = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT 1 FROM kept').fetchall(); print('held', flush=True); time.sleep(120)")
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut said,
    )
    .unwrap();
    assert_eq!(said.trim(), "held");
    app.click("[data-instance=review] [data-testid=database-open]")
        .await;
    app.wait_for("[data-testid=database-dialog]").await;
    let typed = app.wait_for("[data-testid=database-typed]").await;
    typed.send_keys("db_review.sqlite3").await.unwrap();
    app.click("[data-testid=database-confirm]").await;
    let refused = app
        .wait_for("[data-testid=database-status][data-result=failed]")
        .await;
    assert_eq!(
        refused.attr("data-kind").await.unwrap().as_deref(),
        Some("database_in_use")
    );
    let words = refused.text().await.unwrap();
    assert!(
        words.contains(&format!("PID {}", holder.id())) && words.contains("kullanımda"),
        "{words}"
    );
    assert_eq!(sqlite(&db, "SELECT x FROM kept"), "[('before the reset',)]");
    holder.kill().unwrap();
    holder.wait().unwrap();

    // Let go, the same confirmation resets it: a snapshot first, then a freshly migrated file.
    let typed = app.wait_for("[data-testid=database-typed]").await;
    typed.send_keys("db_review.sqlite3").await.unwrap();
    app.click("[data-testid=database-confirm]").await;
    app.wait_for_secs("[data-testid=database-status][data-result=done]", 90)
        .await;
    // Folded away once done; its text is still migrate's.
    let output = app
        .wait_for("[data-testid=database-output]")
        .await
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(output.contains("Applying"), "{output}");
    assert!(
        sqlite(
            &db,
            "SELECT count(*) FROM sqlite_master WHERE name = 'kept'"
        ) == "[(0,)]",
        "the reset emptied the file"
    );
    assert!(
        sqlite(&db, "SELECT count(*) FROM django_migrations") != "[(0,)]",
        "and migrated it again"
    );
    app.wait_for("[data-instance=review] [data-testid=database-snapshot]")
        .await;
    app.screenshot("database-reset").await;
    // The dialog is modal: English is chosen with it closed.
    app.click("[data-testid=database-close]").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=en]").await;

    // Restore, offered now that a snapshot waits, brings the rows back.
    app.click("[data-instance=review] [data-testid=database-open]")
        .await;
    app.click("[data-testid=database-choice][data-action=restore]")
        .await;
    let typed = app.wait_for("[data-testid=database-typed]").await;
    typed.send_keys("db_review.sqlite3").await.unwrap();
    app.screenshot("database-restore-en").await;
    app.click("[data-testid=database-confirm]").await;
    app.wait_for_secs("[data-testid=database-status][data-result=done]", 30)
        .await;
    assert_eq!(sqlite(&db, "SELECT x FROM kept"), "[('before the reset',)]");
    app.click("[data-testid=database-close]").await;
    app.screenshot("database-card-en").await;
    app.quit().await;
}

/// An instance whose virtualenv lacks `redis` (its cache is Redis): Start is refused before
/// anything runs, with the pip command on the card; the card's Install runs it for real (PyPI),
/// then Start goes on (to the migrations question, answered with Apply and start) and /health/
/// answers.
#[tokio::test]
async fn a_missing_package_is_named_with_its_command_and_installed_with_a_click() {
    use kovan_testsupport::eventually;
    use kovan_testsupport::web::http;
    use std::time::{Duration, Instant};

    let began = Instant::now();
    let dir = example_copy();
    let data = tempfile::tempdir().unwrap();
    let python = kovan_testsupport::venv_without(Path::new(&test_python()), dir.path(), &["redis"]);
    let imports_redis = || {
        std::process::Command::new(&python)
            .args(["-c", "import redis"])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(!imports_redis(), "the venv made without redis has it");
    let [review_port, redis_port] = [(); 2].map(|_| free_port());
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{redis_port}/0"),
        )
        .replace("port = 8003\n", &format!("port = {review_port}\n"));
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    let _cleanup = StopRecorded(ws.clone(), data.path().to_path_buf());

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    let review = "[data-instance=review]";
    app.click(&format!("{review} [data-testid=start]")).await;
    let refused = format!("{review} [data-testid=card-error][data-kind=packages_missing]");
    app.wait_for_secs(&refused, 30).await;
    let command = ".venv/bin/python -m pip install 'redis>=5'";
    assert_eq!(
        app.text(&format!("{refused} [data-testid=packages-command]"))
            .await,
        command
    );
    assert_eq!(
        app.text(&format!("{refused} [data-testid=card-error-message]"))
            .await,
        ".venv/bin/python içinde redis yok; bu yapılandırmanın buna ihtiyacı var. Hiçbir şey başlatılmadı."
    );
    assert_eq!(
        app.text(&format!("{refused} [data-testid=packages-install]"))
            .await,
        "Kur"
    );
    // Refused before anything ran: neither the instance nor the managed Redis.
    assert!(port_is_free(review_port) && port_is_free(redis_port));
    /// review's card from its top, below the window's sticky header.
    async fn show_card(app: &App) {
        let element = app
            .wait_for("[data-instance=review][data-testid=instance-card]")
            .await;
        app.client
            .execute(
                "arguments[0].style.scrollMarginTop = '64px'; arguments[0].scrollIntoView({block: 'start'})",
                vec![serde_json::to_value(&element).unwrap()],
            )
            .await
            .unwrap();
    }
    eprintln!("refused {} ms into the test", began.elapsed().as_millis());
    show_card(&app).await;
    app.screenshot("packages-missing-tr").await;
    app.click("[data-testid=lang-toggle]").await;
    assert_eq!(
        app.text(&format!("{refused} [data-testid=packages-install]"))
            .await,
        "Install"
    );
    show_card(&app).await;
    app.screenshot("packages-missing-en").await;

    let clicked = Instant::now();
    app.click(&format!("{refused} [data-testid=packages-install]"))
        .await;
    app.wait_for_secs(
        &format!("{refused} [data-testid=packages-fix][data-phase=done]"),
        120,
    )
    .await;
    eprintln!(
        "pip install redis took {} ms in the window",
        clicked.elapsed().as_millis()
    );
    assert!(imports_redis(), "redis is not importable after Install");
    assert_eq!(
        app.text(&format!("{refused} [data-testid=packages-installed]"))
            .await,
        "Installed: redis. You can start it now."
    );
    // pip's lines, folded away once it succeeded: read whole, not as shown.
    let output = app
        .client
        .execute(
            "return document.querySelector(arguments[0]).textContent",
            vec![format!("{refused} [data-testid=packages-output]").into()],
        )
        .await
        .unwrap();
    assert!(
        output
            .as_str()
            .is_some_and(|o| o.contains("Successfully installed redis")),
        "{output}"
    );
    show_card(&app).await;
    app.screenshot("packages-installed-en").await;

    // Start again: past the packages now, to the migrations question (migrate = "ask").
    app.click(&format!("{refused} [data-testid=packages-start]"))
        .await;
    eprintln!(
        "Start clicked {} ms into the test",
        began.elapsed().as_millis()
    );
    let pending = format!("{review} [data-testid=card-error][data-kind=migrations_pending]");
    app.wait_for_secs(&pending, 60).await;
    eprintln!(
        "migrations_pending {} ms into the test",
        began.elapsed().as_millis()
    );
    show_card(&app).await;
    app.screenshot("migrations-pending-en").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for(&format!("{pending} [data-testid=migrate-and-start]"))
        .await;
    show_card(&app).await;
    app.screenshot("migrations-pending-tr").await;
    app.click(&format!("{pending} [data-testid=migrate-and-start]"))
        .await;
    eprintln!(
        "Apply and start clicked {} ms into the test",
        began.elapsed().as_millis()
    );
    app.wait_for_secs(&format!("{review}[data-status=running]"), 90)
        .await;
    eprintln!("running {} ms into the test", began.elapsed().as_millis());
    eventually("review's /health/", Duration::from_secs(30), || {
        let health = http(review_port, "GET", "/health/", &[], "");
        (health.status == 200)
            .then_some(())
            .ok_or_else(|| format!("{} {}", health.status, health.body))
    });
    show_card(&app).await;
    app.screenshot("packages-then-running-tr").await;
    eprintln!("the whole test took {} ms", began.elapsed().as_millis());
    app.quit().await;
}

/// Kovan's own log: the window writes `window.<date>.log` in the data dir's logs/, and the footer
/// names it and, once a start was refused (the copy has no virtualenv), that warning, in both
/// languages.
#[tokio::test]
async fn the_footer_names_kovans_log_and_its_last_warning() {
    let ports = [free_port(), free_port(), free_port()];
    let (dir, _ws) = generated_copy(free_port(), ports);
    let data = tempfile::tempdir().unwrap();
    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    app.wait_for("[data-testid=diagnostic-log-path]").await;
    let path = app.text("[data-testid=diagnostic-log-path]").await;
    let logs = data.path().join("logs");
    assert!(
        path.starts_with(&format!("{}/window.", logs.display())) && path.ends_with(".log"),
        "{path}"
    );
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains("INFO kovan_desktop: Kovan's window"),
        "{written}"
    );
    assert!(app
        .all("[data-testid=diagnostic-last-trouble]")
        .await
        .is_empty());

    app.click("[data-instance=chat_main] [data-testid=start]")
        .await;
    let trouble = app
        .wait_for_secs("[data-testid=diagnostic-last-trouble] code", 20)
        .await
        .attr("title")
        .await
        .unwrap()
        .unwrap_or_default();
    app.scroll_to("[data-testid=diagnostic-log]").await;
    app.screenshot("footer-log").await;
    assert!(
        trouble.contains(" WARN kovan_core") && trouble.contains("chat_main"),
        "{trouble}"
    );
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains(trouble.as_str()));
    app.click("[data-testid=lang-toggle]").await;
    app.scroll_to("[data-testid=diagnostic-log]").await;
    app.screenshot("footer-log-en").await;
    app.quit().await;
}

#[tokio::test]
async fn a_card_with_two_cache_aliases_shows_each_count_and_the_flush_says_which_it_covers() {
    let redis = kovan_testsupport::RedisServer::start();
    let dir = example_copy();
    let data = tempfile::tempdir().unwrap();
    let toml = dir.path().join("kovan.toml");
    // The guide's chat_main: `default` on Redis and `local` in memory.
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{}/0", redis.port),
        )
        .replacen(
            "weight = 3\n",
            "weight = 3\n\n[instance.caches.local]\nbackend = \"locmem\"\ntimeout = 60\n",
            1,
        );
    std::fs::write(&toml, text).unwrap();
    let mut mset = vec!["MSET".to_string()];
    for i in 0..12 {
        mset.extend([format!("context7_chat_main:1:page {i}"), "v".into()]);
    }
    for i in 0..5 {
        mset.extend([format!("context7_chat_api:1:k{i}"), "v".into()]);
    }
    let args: Vec<&str> = mset.iter().map(String::as_str).collect();
    assert_eq!(redis.cli(&args).trim(), "OK");

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    let alias = |name: &str| {
        format!("[data-instance=chat_main] [data-testid=cache-alias][data-alias={name}]")
    };
    let default = app
        .wait_for_secs(&format!("{}[data-keys=\"12\"]", alias("default")), 20)
        .await;
    assert!(default.text().await.unwrap().contains("12 anahtar"));
    let local = app.wait_for(&alias("local")).await;
    assert_eq!(
        local.attr("data-state").await.unwrap().as_deref(),
        Some("notRunning")
    );
    // chat_api declares no alias: no list on its card.
    assert!(app
        .all("[data-instance=chat_api] [data-testid=cache-aliases]")
        .await
        .is_empty());
    app.screenshot("cache-aliases").await;

    app.wait_for("[data-instance=chat_main] [data-testid=flush]")
        .await
        .click()
        .await
        .unwrap();
    app.wait_for("[data-testid=flush-dialog][data-phase=confirm]")
        .await;
    let covered = app.wait_for("[data-testid=flush-aliases-covered]").await;
    assert_eq!(
        covered.attr("data-aliases").await.unwrap().as_deref(),
        Some("default,local")
    );
    app.screenshot("cache-aliases-dialog").await;
    app.click("[data-testid=flush-cancel]").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for(&format!("{}[data-keys=\"12\"]", alias("default")))
        .await;
    assert!(app.text(&alias("default")).await.contains("12 keys"));
    app.screenshot("cache-aliases-en").await;
    app.quit().await;
}

/// The example with six more isolated instances (ten in all, the chat site among them), each on a
/// free port, and `count` keys in the test Redis under each of a few instances' prefixes.
fn ten_instance_copy(redis_port: u16) -> (tempfile::TempDir, kovan_core::Workspace) {
    let dir = example_copy();
    let toml = dir.path().join("kovan.toml");
    let mut text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{redis_port}/0"),
        )
        .replace(
            "python = \".venv/bin/python\"",
            &format!("python = {:?}\nmigrate = \"auto\"", test_python()),
        );
    for old in [8000, 8001, 8002, 8003] {
        text = text.replace(
            &format!("port = {old}\n"),
            &format!("port = {}\n", free_port()),
        );
    }
    text = text.replace(
        "front_door = 8080",
        &format!("front_door = {}", free_port()),
    );
    for (name, cache) in [
        ("staging", "redis"),
        ("demo", "redis"),
        ("qa", "locmem"),
        ("perf", "redis"),
        ("docs", "locmem"),
        ("sandbox", "redis"),
    ] {
        text.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\nrole = \"main\"\ncache = \"{cache}\"\ncache_timeout = 300\n",
            free_port()
        ));
    }
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    (dir, ws)
}

/// Whether every card is inside the window (no scrolling to see one).
async fn every_card_on_screen(app: &App) -> bool {
    let script = "return [...document.querySelectorAll('[data-testid=instance-card]')]\
        .every((c) => c.getBoundingClientRect().bottom <= window.innerHeight)";
    app.client.execute(script, vec![]).await.unwrap() == serde_json::Value::Bool(true)
}

/// Scroll the window back to its top (a click scrolls its target into view).
async fn top(app: &App) {
    app.client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
}

/// Click the theme toggle until the window shows `theme`.
async fn show_theme(app: &App, theme: &str) {
    for _ in 0..3 {
        if !app
            .all(&format!("[data-testid=theme-toggle][data-theme={theme}]"))
            .await
            .is_empty()
        {
            return;
        }
        app.click("[data-testid=theme-toggle]").await;
    }
    app.wait_for(&format!("[data-testid=theme-toggle][data-theme={theme}]"))
        .await;
}

#[tokio::test]
async fn ten_instances_fit_at_a_glance_in_both_languages_themes_and_layouts() {
    let redis = kovan_testsupport::RedisServer::start();
    let data = tempfile::tempdir().unwrap();
    let (dir, ws) = ten_instance_copy(redis.port);
    let _cleanup = StopRecorded(ws.clone(), data.path().to_path_buf());
    // Keys under a few instances' prefixes, so the cards count something.
    let mut mset = vec!["MSET".to_string()];
    for (name, n) in [("chat_main", 40), ("review", 12), ("staging", 7)] {
        for i in 0..n {
            mset.extend([format!("context7_{name}:1:k{i}"), "v".to_string()]);
        }
    }
    let args: Vec<&str> = mset.iter().map(String::as_str).collect();
    assert_eq!(redis.cli(&args).trim(), "OK");

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    app.client.set_window_size(1280, 800).await.unwrap();
    app.wait_for("[data-testid=instance-card]").await;
    assert_eq!(app.all("[data-testid=instance-card]").await.len(), 10);
    // Ten cards: compact by default.
    app.wait_for("[data-testid=layout-toggle][data-layout=compact]")
        .await;
    app.wait_for("[data-layout=compact] [data-testid=site-group]")
        .await;

    // Three running (one of them then killed from outside), the rest stopped: every colour shows.
    for name in ["review", "staging", "demo"] {
        app.click(&format!("[data-instance={name}] [data-testid=start]"))
            .await;
    }
    for name in ["review", "staging", "demo"] {
        app.wait_for_secs(&format!("[data-instance={name}][data-signal=healthy]"), 120)
            .await;
    }
    let pid: i32 = app
        .wait_for("[data-instance=demo][data-pid]")
        .await
        .attr("data-pid")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(unsafe { libc::kill(-pid, libc::SIGKILL) }, 0, "kill {pid}");
    app.wait_for_secs("[data-instance=demo][data-signal=failing]", 20)
        .await;
    app.wait_for_secs(
        "[data-instance=review] [data-testid=cache-keys][data-keys=\"12\"]",
        20,
    )
    .await;
    let size = app
        .client
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    eprintln!("window inner size {size}");

    // The keyboard: focus the first card, arrow right then down, F opens Cache Temizle on the
    // card in focus with "keep" focused; Escape closes it and gives the focus back to the card.
    app.client
        .execute(
            "document.querySelector('[data-instance=review]').focus()",
            vec![],
        )
        .await
        .unwrap();
    let focused = |app: &App| {
        let client = app.client.clone();
        async move {
            client
                .execute(
                    "return document.activeElement?.dataset?.instance ?? null",
                    vec![],
                )
                .await
                .unwrap()
        }
    };
    let review = app.wait_for("[data-instance=review]").await;
    review.send_keys("\u{E014}").await.unwrap(); // ArrowRight
    assert_eq!(focused(&app).await, "staging");
    assert!(every_card_on_screen(&app).await, "ten compact cards fit");

    top(&app).await;
    app.screenshot("glance-ten-compact-tr").await;
    let staging = app.wait_for("[data-instance=staging]").await;
    staging.send_keys("f").await.unwrap();
    app.wait_for("[data-testid=flush-dialog][data-phase=confirm]")
        .await;
    app.screenshot("glance-keyboard-flush").await;
    // The dialog still asks: the focus is inside it (on the part picker), never on the red button.
    let active = "const a = document.activeElement; \
        return [a?.closest('[data-testid=flush-dialog]') !== null, a?.dataset?.testid ?? a?.tagName]";
    let active = app.client.execute(active, vec![]).await.unwrap();
    assert_eq!(active[0], true, "{active}");
    assert_ne!(active[1], "flush-confirm", "{active}");
    app.click("[data-testid=flush-cancel]").await;
    app.client
        .wait()
        .at_most(std::time::Duration::from_secs(5))
        .for_element(fantoccini::Locator::Css("[data-instance=staging]:focus"))
        .await
        .expect("the focus back on the card");
    assert_eq!(redis.keys().len(), 59, "nothing was flushed");

    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=en]").await;
    top(&app).await;
    app.screenshot("glance-ten-compact-en").await;
    show_theme(&app, "dark").await;
    top(&app).await;
    app.screenshot("glance-ten-compact-en-dark").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=tr]").await;
    top(&app).await;
    app.screenshot("glance-ten-compact-tr-dark").await;
    show_theme(&app, "light").await;

    // Comfortable: every name on the card, and the window scrolls.
    app.click("[data-testid=layout-toggle]").await;
    app.wait_for("[data-testid=layout-toggle][data-layout=comfortable]")
        .await;
    assert!(!every_card_on_screen(&app).await);
    top(&app).await;
    app.screenshot("glance-ten-comfortable-tr").await;
    app.quit().await;

    // The choice is the workspace's: a new window on it opens comfortable.
    // (The profile is fresh per launch, so this is checked in vitest; here the default holds.)
}

#[tokio::test]
async fn three_instances_are_comfortable_in_both_languages_and_themes() {
    let redis = kovan_testsupport::RedisServer::start();
    let data = tempfile::tempdir().unwrap();
    let dir = example_copy();
    let toml = dir.path().join("kovan.toml");
    let mut text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{}/0", redis.port),
        )
        .replace(
            "python = \".venv/bin/python\"",
            &format!("python = {:?}\nmigrate = \"auto\"", test_python()),
        );
    // Three isolated instances: the example's project and Redis, without its site and preset.
    text.truncate(text.find("[[instance]]").unwrap());
    for (name, cache) in [
        ("review", "redis"),
        ("staging", "redis"),
        ("demo", "locmem"),
    ] {
        text.push_str(&format!(
            "[[instance]]\nname = \"{name}\"\nport = {}\nrole = \"main\"\ncache = \"{cache}\"\ncache_timeout = 300\n\n",
            free_port()
        ));
    }
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    let ws_names: Vec<&str> = ws.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(ws_names.len(), 3, "{ws_names:?}");
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    let _cleanup = StopRecorded(ws.clone(), data.path().to_path_buf());

    let app = App::launch(
        &["--workspace", dir.path().to_str().unwrap()],
        &[("KOVAN_DATA_DIR", data.path())],
    )
    .await;
    app.client.set_window_size(1280, 800).await.unwrap();
    app.wait_for("[data-testid=layout-toggle][data-layout=comfortable]")
        .await;
    app.click("[data-instance=review] [data-testid=start]")
        .await;
    app.wait_for_secs("[data-instance=review][data-signal=healthy]", 120)
        .await;
    app.wait_for("[data-instance=review] [data-testid=sparkline]")
        .await;
    top(&app).await;
    app.screenshot("glance-three-comfortable-tr").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=en]").await;
    top(&app).await;
    app.screenshot("glance-three-comfortable-en").await;
    show_theme(&app, "dark").await;
    top(&app).await;
    app.screenshot("glance-three-comfortable-en-dark").await;
    app.click("[data-testid=lang-toggle]").await;
    app.wait_for("html[lang=tr]").await;
    top(&app).await;
    app.screenshot("glance-three-comfortable-tr-dark").await;
    // Compact for three as well, chosen in the header.
    app.click("[data-testid=layout-toggle]").await;
    app.wait_for("[data-testid=layout-toggle][data-layout=compact]")
        .await;
    top(&app).await;
    app.screenshot("glance-three-compact-tr-dark").await;
    app.quit().await;
}
