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
