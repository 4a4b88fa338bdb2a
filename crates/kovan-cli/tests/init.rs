//! `kovan init` as a user runs it on real Django projects, and the CLI-wide conventions
//! (help on every command, completions).

#[path = "../../kovan-core/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `kovan ARGS` in `cwd`, with its data dir (recent workspaces) in `data`.
fn kovan(args: &[&str], cwd: &Path, data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kovan"))
        .args(args)
        .current_dir(cwd)
        .env_remove("KOVAN_WORKSPACE")
        .env("KOVAN_DATA_DIR", data)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The test venv's folder, linked as the project's `.venv` so detection finds Django there.
fn link_test_venv(project: &Path) {
    let venv = support::python()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::os::unix::fs::symlink(venv, project.join(".venv")).unwrap();
}

/// `django-admin startproject NAME` in `parent`, with the test venv's django-admin.
fn startproject(parent: &Path, name: &str) -> PathBuf {
    let django_admin = support::python().with_file_name("django-admin");
    let out = Command::new(django_admin)
        .args(["startproject", name])
        .current_dir(parent)
        .output()
        .unwrap();
    assert!(out.status.success(), "startproject: {}", text(&out.stderr));
    parent.join(name)
}

/// `kovan check`, `kovan gen --write`, then `kovan gen --check` on a workspace, all exiting 0.
fn check_gen_write_check(project: &Path, data: &Path) {
    let ws = project.to_str().unwrap();
    for args in [
        vec!["check", "--workspace", ws],
        vec!["gen", "--write", "--workspace", ws],
        vec!["gen", "--check", "--workspace", ws],
    ] {
        let out = kovan(&args, Path::new("/"), data);
        assert_eq!(
            out.status.code(),
            Some(0),
            "kovan {args:?}:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

#[test]
fn the_example_without_its_kovan_toml_gets_a_proposal_from_django_itself() {
    let dir = support::copy_example();
    let project = dir.path();
    std::fs::remove_file(project.join("kovan.toml")).unwrap();
    link_test_venv(project);
    let data = tempfile::tempdir().unwrap();

    let out = kovan(&["init", "--json"], project, data.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = project.join("kovan.toml");
    assert_eq!(v["written"].as_str(), Some(file.to_str().unwrap()));
    let d = &v["detection"];
    assert_eq!(
        (
            d["djangoRoot"].as_str(),
            d["settings"].as_str(),
            d["python"].as_str()
        ),
        (
            Some("."),
            Some("dashboard_project.settings"),
            Some(".venv/bin/python")
        )
    );
    assert_eq!(d["django"]["state"], "read", "{d:#}");
    assert_eq!(
        d["django"]["caches"][0]["backend"],
        "django.core.cache.backends.locmem.LocMemCache"
    );
    assert_eq!(
        d["django"]["database"]["engine"],
        "django.db.backends.sqlite3"
    );
    assert_eq!(d["django"]["sessionCookie"], "sessionid");
    assert_eq!(v["undetected"], serde_json::json!([]), "{v:#}");
    assert_eq!(v["name"], "dashboard_project");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        v["text"].as_str().unwrap()
    );

    check_gen_write_check(project, data.path());

    let recent =
        kovan_core::recent::RecentWorkspaces::at(data.path().join(kovan_core::recent::FILE_NAME));
    assert_eq!(recent.list(), [file.canonicalize().unwrap()]);
}

#[test]
fn a_startproject_project_without_a_venv_falls_back_then_finds_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let project = startproject(dir.path(), "mysite");

    let out = kovan(&["init", "--dry-run"], &project, data.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("could not detect") && stderr.contains("no .venv or venv folder"),
        "{stderr}"
    );
    let proposed = text(&out.stdout);
    assert!(proposed.starts_with("# Kovan workspace"), "{proposed}");
    assert!(
        !project.join("kovan.toml").exists(),
        "--dry-run writes nothing"
    );
    kovan_core::workspace::parse(&project.join("kovan.toml"), &proposed)
        .unwrap_or_else(|e| panic!("the dry-run proposal does not validate: {e}\n{proposed}"));

    link_test_venv(&project);
    let out = kovan(&["init"], &project, data.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("wrote {}", project.join("kovan.toml").display())
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("settings imported") && !stderr.contains("could not detect"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(project.join("kovan.toml")).unwrap();
    assert!(
        written.contains("name = \"mysite\"") && written.contains("settings = \"mysite.settings\""),
        "{written}"
    );
    check_gen_write_check(&project, data.path());
}

#[test]
fn an_existing_kovan_toml_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let project = startproject(dir.path(), "mysite");
    let mine = "# my own kovan.toml, not valid yet\n";
    std::fs::write(project.join("kovan.toml"), mine).unwrap();

    let out = kovan(&["init"], &project, data.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("already there")
            && stderr.contains("never replaces")
            && stderr.contains("kovan init --dry-run"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(project.join("kovan.toml")).unwrap(),
        mine
    );

    let out = kovan(&["init", "--json"], &project, data.path());
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "workspace_exists");

    // A preview is still allowed, and says the file would stay.
    let out = kovan(&["init", "--dry-run"], &project, data.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("would not replace it"));
    assert_eq!(
        std::fs::read_to_string(project.join("kovan.toml")).unwrap(),
        mine
    );
}

#[test]
fn settings_that_fail_to_import_still_get_a_proposal_and_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let project = startproject(dir.path(), "mysite");
    link_test_venv(&project);
    let settings = project.join("mysite/settings.py");
    let mut source = std::fs::read_to_string(&settings).unwrap();
    source.push_str("\nraise RuntimeError('SECRET_KEY must come from the environment')\n");
    std::fs::write(&settings, source).unwrap();

    let out = kovan(&["init", "--json"], &project, data.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let django = &v["detection"]["django"];
    assert_eq!(
        (django["state"].as_str(), django["stage"].as_str()),
        (Some("failed"), Some("settings")),
        "{django:#}"
    );
    let message = "RuntimeError: SECRET_KEY must come from the environment";
    assert_eq!(django["message"], message);
    let undetected = v["undetected"].as_array().unwrap();
    assert!(
        undetected
            .iter()
            .any(|u| u.as_str().unwrap().contains(message)),
        "{undetected:?}"
    );
    let out = kovan(&["check"], &project, data.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_folder_without_manage_py_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = kovan(&["init"], dir.path(), dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no manage.py") && stderr.contains("django-admin startproject"),
        "{stderr}"
    );
    assert!(!dir.path().join("kovan.toml").exists());
}

#[test]
fn a_missing_workspace_points_at_kovan_init() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["check", "gen", "status"] {
        let out = kovan(&[command], dir.path(), dir.path());
        assert_eq!(out.status.code(), Some(1), "{command}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("no kovan.toml") && stderr.contains("`kovan init`"),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn manage_py_one_folder_down_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let project = startproject(dir.path(), "mysite");
    link_test_venv(&project);
    let out = kovan(&["init", "--dry-run", "--json"], dir.path(), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["detection"]["djangoRoot"], "mysite");
    assert_eq!(v["detection"]["django"]["state"], "read");
    assert_eq!(v["written"], serde_json::Value::Null);
    assert!(v["text"]
        .as_str()
        .unwrap()
        .contains("django_root = \"mysite\""));
}

#[test]
fn every_command_has_help_and_bash_completions_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        "init",
        "check",
        "gen",
        "up",
        "status",
        "stop",
        "keys",
        "flush",
        "completions",
    ] {
        let out = kovan(&[command, "--help"], dir.path(), dir.path());
        assert_eq!(out.status.code(), Some(0), "{command} --help");
        let help = text(&out.stdout);
        assert!(
            help.contains("Usage: kovan") && help.contains("Exit status"),
            "{command} --help lacks usage or exit status:\n{help}"
        );
    }
    let out = kovan(&["completions", "bash"], dir.path(), dir.path());
    assert_eq!(out.status.code(), Some(0));
    let script = text(&out.stdout);
    assert!(
        script.contains("complete") && script.contains("init") && script.contains("--dry-run"),
        "{script}"
    );
    let out = kovan(&["completions", "tcsh"], dir.path(), dir.path());
    assert_eq!(out.status.code(), Some(2));
}

/// A fixture copied into a temporary folder, the test venv as its `.venv`, its kovan.toml (if
/// any) removed.
fn fixture(path: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let name = Path::new(path).file_name().unwrap();
    let project = dir.path().join(name);
    kovan_testsupport::copy_project(&support::repo_root().join(path), &project);
    let _ = std::fs::remove_file(project.join("kovan.toml"));
    link_test_venv(&project);
    (dir, project)
}

/// `kovan init --dry-run --json`: the proposal as JSON, its text parsed, and the one line on
/// stderr (with --json the reason is all stderr says).
fn proposal_of(project: &Path) -> (serde_json::Value, kovan_core::Workspace, String) {
    let data = tempfile::tempdir().unwrap();
    let out = kovan(&["init", "--dry-run", "--json"], project, data.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ws = kovan_core::workspace::parse(&project.join("kovan.toml"), v["text"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("the proposal does not validate: {e}\n{}", v["text"]));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr}");
    let line = stderr.trim_end().to_string();
    assert_eq!(v["reason"].as_str(), Some(line.as_str()), "{v:#}");
    (v, ws, line)
}

/// (name, port, role, command) of each instance.
fn instances(ws: &kovan_core::Workspace) -> Vec<(String, u16, String, Option<String>)> {
    ws.instances
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                i.port,
                format!("{:?}", i.role).to_lowercase(),
                i.command.clone(),
            )
        })
        .collect()
}

#[test]
fn a_wsgi_project_with_one_nginx_upstream_over_three_servers_gets_a_site_on_those_ports() {
    let (_dir, project) = fixture("fixtures/wsgisite");
    let (v, ws, reason) = proposal_of(&project);
    assert_eq!(
        reason,
        "proposed the site `board`: nginx/site.conf has one upstream `board` over 3 servers (ports 9101, 9102, 9103)"
    );
    assert_eq!(
        v["detection"]["nginxUpstreams"],
        serde_json::json!([{"file": "nginx/site.conf", "name": "board", "ports": [9101, 9102, 9103]}])
    );
    assert_eq!(
        v["detection"]["django"]["asgiApplication"],
        serde_json::Value::Null
    );
    let members = instances(&ws);
    assert_eq!(
        members,
        [
            ("board_main".to_string(), 9101, "main".to_string(), None),
            ("board_api".to_string(), 9102, "api".to_string(), None),
            (
                "board_websocket".to_string(),
                9103,
                "websocket".to_string(),
                None
            ),
        ]
    );
    assert_eq!(ws.sites.len(), 1, "{}", v["text"]);
    let site = &ws.sites[0];
    assert_eq!(site.name, "board");
    assert_eq!(
        site.instances,
        ["board_main", "board_api", "board_websocket"]
    );
    assert!(
        ![9101, 9102, 9103, 6379].contains(&site.front_door),
        "{}",
        site.front_door
    );
    // The members share the unit's names; each keeps its own cache prefix.
    let units: Vec<&str> = ws.instances.iter().map(|i| i.names.unit.as_str()).collect();
    assert_eq!(units, ["board"; 3]);
    assert_eq!(v["undetected"], serde_json::json!([]), "{v:#}");

    // Written, it checks and generates as any proposal does.
    let data = tempfile::tempdir().unwrap();
    let out = kovan(&["init"], &project, data.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("proposed "))
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains(&reason), "{stderr}");
    check_gen_write_check(&project, data.path());
}

#[test]
fn a_channels_project_gets_the_site_chat_with_its_websocket_member_under_its_asgi_server() {
    let (_dir, project) = fixture("examples/context7");
    let (v, ws, reason) = proposal_of(&project);
    assert_eq!(
        reason,
        "proposed the site `chat`: the project uses Django Channels (ASGI_APPLICATION = dashboard_project.asgi.application)"
    );
    let django = &v["detection"]["django"];
    // The example has daphne in INSTALLED_APPS: its runserver speaks ASGI, so no command.
    assert_eq!(django["asgiServers"][0], "daphneRunserver", "{django:#}");
    assert_eq!(
        instances(&ws),
        [
            ("chat_main".to_string(), 8000, "main".to_string(), None),
            ("chat_api".to_string(), 8001, "api".to_string(), None),
            (
                "chat_websocket".to_string(),
                8002,
                "websocket".to_string(),
                None
            ),
        ]
    );
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .contains("daphne is in INSTALLED_APPS: its runserver speaks ASGI"),
        "{}",
        v["text"]
    );
    let site = ws.site("chat").expect("the site chat");
    assert_eq!(site.instances, ["chat_main", "chat_api", "chat_websocket"]);
    assert!(![8000, 8001, 8002, 6379].contains(&site.front_door));
    let presets: Vec<(&str, &[String])> = ws
        .presets
        .iter()
        .map(|p| (p.name.as_str(), p.instances.as_slice()))
        .collect();
    assert_eq!(
        presets,
        [(
            "dev",
            &["chat_main".to_string(), "chat_api".to_string()][..]
        )]
    );

    // Without daphne in INSTALLED_APPS the websocket member runs the daphne command.
    let settings = project.join("dashboard_project/settings.py");
    let source = std::fs::read_to_string(&settings).unwrap();
    let without = source.replacen("    \"daphne\",\n", "", 1);
    assert_ne!(
        without, source,
        "the example lists daphne in INSTALLED_APPS"
    );
    std::fs::write(&settings, without).unwrap();
    let (_, ws, _) = proposal_of(&project);
    assert_eq!(
        ws.instance("chat_websocket").unwrap().command.as_deref(),
        Some("{python} -m daphne -b 127.0.0.1 -p {port} dashboard_project.asgi:application")
    );
}

#[test]
fn a_project_without_channels_or_an_upstream_gets_isolated_instances_and_says_why() {
    let (_dir, project) = fixture("fixtures/django42");
    let (v, ws, reason) = proposal_of(&project);
    assert_eq!(
        reason,
        "proposed isolated instances: the project uses no Django Channels and has no nginx upstream over several servers"
    );
    assert!(ws.sites.is_empty(), "{}", v["text"]);
    let names: Vec<(String, u16)> = instances(&ws).into_iter().map(|i| (i.0, i.1)).collect();
    assert_eq!(
        names,
        [
            ("main".to_string(), 8000),
            ("api".to_string(), 8001),
            ("websocket".to_string(), 8002)
        ]
    );
    // Each its own unit: nothing shared.
    assert!(ws.instances.iter().all(|i| i.names.unit == i.name));
    assert_eq!(v["detection"]["nginxUpstreams"], serde_json::json!([]));
}
