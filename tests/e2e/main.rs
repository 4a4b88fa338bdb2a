//! The real app, driven like a user drives it: cards on the example workspace, the language switch,
//! and a broken kovan.toml shown in the window, then fixed and reloaded.

use std::path::Path;

use kovan_e2e::App;

#[tokio::test]
async fn the_example_workspace_shows_three_cards_in_turkish_then_english() {
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
    let expected: Vec<(String, String, String, String)> = [
        ("chat_main", "8000"),
        ("chat_api", "8001"),
        ("chat_websocket", "8002"),
    ]
    .iter()
    .map(|(n, p)| {
        (
            n.to_string(),
            p.to_string(),
            format!("sessionid_{n}"),
            format!("csrftoken_{n}"),
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
    let example = kovan_e2e::repo_root().join("examples/context7");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(example.join("."))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".venv" || name == "logs" {
            std::fs::remove_dir_all(entry.path()).unwrap();
        } else if name.starts_with(".env.") || name.ends_with(".sqlite3") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
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
    assert_eq!(statuses.len(), 14, "{statuses:?}");
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
    for name in ["chat_main", "chat_api", "chat_websocket"] {
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
    app.quit().await;
}
