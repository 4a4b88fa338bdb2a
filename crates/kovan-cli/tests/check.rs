//! `kovan check` as a user runs it: exit codes, output, and how the workspace is found.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/context7")
}

fn kovan(args: &[&str], cwd: &Path, env_workspace: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kovan"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("KOVAN_WORKSPACE");
    if let Some(w) = env_workspace {
        cmd.env("KOVAN_WORKSPACE", w);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_valid_workspace_prints_every_derived_name_and_exits_0() {
    let out = kovan(
        &["check", "--workspace", example().to_str().unwrap()],
        Path::new("/"),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "context7",
        "db_chat.sqlite3",
        "db_review.sqlite3",
        "context7_chat_websocket",
        "sessionid_chat",
        "sessionid_review",
        "csrftoken_chat",
        ".env.chat_websocket",
        "logs/chat_main.log",
        "preset dev: chat_main, chat_api",
        "site chat: chat_main, chat_api, chat_websocket behind the front door http://127.0.0.1:8080/",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("chat_api "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row[..4], ["chat_api", "8001", "api", "redis"]);
    assert!(
        stdout.contains(&format!(
            "{}/kovan.toml",
            example().canonicalize().unwrap().display()
        )),
        "{stdout}"
    );
}

#[test]
fn json_output_has_the_shape_the_window_receives() {
    let out = kovan(&["check", "--json"], &example().join("chat"), None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "found from a subfolder upwards: {}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "loaded");
    let cookies: Vec<&str> = v["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["names"]["sessionCookie"].as_str().unwrap())
        .collect();
    // One cookie for the site's three members, another for the isolated review copy.
    assert_eq!(
        cookies,
        [
            "sessionid_chat",
            "sessionid_chat",
            "sessionid_chat",
            "sessionid_review"
        ]
    );
    assert_eq!(v["sites"][0]["name"], "chat");
    assert_eq!(v["sites"][0]["url"], "http://127.0.0.1:8080/");
    let scoped = |instance: &str, name: &str| {
        let card = v["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == instance)
            .unwrap()
            .clone();
        assert_eq!(
            card["unit"],
            if instance == "review" {
                "review"
            } else {
                "chat"
            }
        );
        card["scoped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap_or_else(|| panic!("{instance} has no {name}: {card}"))
            .clone()
    };
    for name in [
        "database",
        "secret_key",
        "session_cookie",
        "csrf_cookie",
        "session_store",
        "media_root",
        "channel_prefix",
    ] {
        let api = scoped("chat_api", name);
        assert_eq!(api["scope"], "shared", "{api}");
        assert_eq!(
            api["sharedWith"],
            serde_json::json!(["chat_main", "chat_websocket"])
        );
        assert_eq!(scoped("review", name)["scope"], "own");
    }
    for name in ["cache_prefix", "static_root", "env_file", "log_file"] {
        assert_eq!(scoped("chat_api", name)["scope"], "own");
    }
    assert_eq!(
        scoped("chat_main", "channel_prefix")["value"],
        "context7_chat"
    );
    assert_eq!(
        scoped("review", "channel_prefix")["value"],
        "context7_review"
    );
}

#[test]
fn an_invalid_workspace_exits_1_with_the_problems_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(
        dir.path().join("kovan.toml"),
        "[project]\nname = \"x\"\nsettings = \"s\"\n[[instance]]\nname = \"Chat\"\nport = 80\ncache = \"locmem\"\n",
    )
    .unwrap();
    let out = kovan(&["check"], Path::new("/"), Some(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("kovan.toml: 2 problems"), "{stderr}");
    assert!(
        stderr.contains("line 5, instance[1].name") && stderr.contains("line 6, instance[1].port"),
        "{stderr}"
    );

    let out = kovan(&["check", "--json"], Path::new("/"), Some(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["state"].as_str(), v["kind"].as_str()),
        (Some("invalid"), Some("workspace_invalid"))
    );
    assert_eq!(v["problems"].as_array().unwrap().len(), 2);
}

#[test]
fn no_workspace_anywhere_exits_1_and_says_how_to_name_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = kovan(&["check"], dir.path(), None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no kovan.toml") && stderr.contains("--workspace"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = kovan(&["check", "--no-such-flag"], Path::new("/"), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--no-such-flag"));
    assert_eq!(kovan(&[], Path::new("/"), None).status.code(), Some(2));
}

/// A copy of the example project (its generated files included) in a temporary folder.
fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(example().join("."))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".venv" || name.starts_with(".env.") || name.ends_with(".sqlite3") {
            let _ = std::fs::remove_dir_all(entry.path())
                .or_else(|_| std::fs::remove_file(entry.path()));
        }
    }
    dir
}

#[test]
fn gen_check_fails_until_gen_write_has_run() {
    let dir = example_copy();
    let ws = dir.path().to_str().unwrap();
    let out = kovan(&["gen", "--check", "--workspace", ws], Path::new("/"), None);
    assert_eq!(out.status.code(), Some(1), "env files are missing");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("stale: .env.chat_main is new") && stderr.contains("kovan gen --write"),
        "{stderr}"
    );

    let out = kovan(&["gen", "--workspace", ws], Path::new("/"), None);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("new        600  .env.chat_api"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        !dir.path().join(".env.chat_api").exists(),
        "a preview writes nothing"
    );

    let out = kovan(&["gen", "--write", "--workspace", ws], Path::new("/"), None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The four env files, and the settings: the copy has no virtualenv, so they are rendered for
    // Django 4.0, which every supported version runs (the example's own are for its venv's).
    assert!(
        text(&out.stdout).contains("5 written, 15 already up to date"),
        "{}",
        text(&out.stdout)
    );

    let out = kovan(
        &["gen", "--check", "--json", "--workspace", ws],
        Path::new("/"),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["upToDate"], true);

    let out = kovan(&["gen", "--json", "--workspace", ws], Path::new("/"), None);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = plan["files"].as_array().unwrap();
    // Env files, settings, the app (with scope.py, whole_cache.py, debug.py), nginx, Procfile,
    // .gitignore, manage.py.
    assert_eq!(files.len(), 20);
    assert!(files
        .iter()
        .all(|f| f["status"] == "unchanged" && f.get("contents").is_none()));
    let stdout = text(&out.stdout);
    let env = std::fs::read_to_string(dir.path().join(".env.chat_main")).unwrap();
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("SECRET_KEY='"))
        .unwrap()
        .trim_end_matches('\'');
    assert!(!stdout.contains(secret), "the secret reached --json output");
    assert!(
        stdout.contains("SECRET_KEY='***' (50 characters, hidden)"),
        "{stdout}"
    );
}

/// kovan.toml as an adversary leaves it: a link to /dev/zero, a FIFO, control characters in its
/// values. Each ends at once with its own message; nothing reaches the terminal raw.
#[test]
fn inputs_that_never_end_or_drive_the_terminal_are_refused_or_escaped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    let file = dir.path().join("kovan.toml");
    let check = || {
        let started = std::time::Instant::now();
        let out = kovan(
            &["check", "--workspace", dir.path().to_str().unwrap()],
            Path::new("/"),
            None,
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        (out.status.code(), text(&out.stderr), out.stderr)
    };

    std::os::unix::fs::symlink("/dev/zero", &file).unwrap();
    let (code, stderr, _) = check();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is a device, not a file"), "{stderr}");
    std::fs::remove_file(&file).unwrap();

    let c = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (code, stderr, _) = check();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is a FIFO (named pipe)"), "{stderr}");
    std::fs::remove_file(&file).unwrap();

    std::fs::write(
        &file,
        "[project]\nname = \"t\"\nsettings = \"\\u001b]0;PWNED\\u0007\"\n\n[[instance]]\nname = \"a\"\nport = 8000\ncache = \"locmem\"\n",
    )
    .unwrap();
    let (code, stderr, raw) = check();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!raw.contains(&0x1b) && !raw.contains(&0x07), "{stderr:?}");
    assert!(
        stderr.contains(r"`\u{1b}]0;PWNED\u{7}` is not a Python module path"),
        "{stderr}"
    );
}
