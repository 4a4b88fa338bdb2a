//! The config generator against the programs that read its files: python-dotenv, django-environ,
//! a POSIX shell, honcho and nginx. Needs the test venv (scripts/setup.sh test) and nginx.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use kovan_core::error::Classified;
use kovan_core::generate::{self, FileStatus, GenerateError, Purpose};
use kovan_core::workspace::{self, Workspace};

fn load(dir: &Path) -> Workspace {
    workspace::load(dir).unwrap()
}

fn write_all(ws: &Workspace) -> generate::WriteReport {
    generate::write(&generate::plan(ws).unwrap(), None).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn env_vars(path: &Path) -> BTreeMap<String, String> {
    generate::env_file::parse(&std::fs::read_to_string(path).unwrap())
        .into_iter()
        .collect()
}

/// Replace one variable's value in an env file, keeping Kovan's quoting.
fn set_var(path: &Path, key: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let replaced: String = text
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key}=")) {
                format!("{key}='{value}'\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(path, replaced).unwrap();
}

fn run_python(code: &str, args: &[&str]) -> String {
    let out = Command::new(support::python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn as_map(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap()
}

#[test]
fn every_env_reader_reads_back_the_same_values_tricky_secrets_included() {
    let dir = support::copy_example();
    let ws = load(dir.path());
    write_all(&ws);
    let env = dir.path().join(".env.chat_main");
    let tricky = "k3y $HOME #not-a-comment \"quoted\" (x) = & * ; end";
    set_var(&env, "SECRET_KEY", tricky);
    // Regenerating keeps the hand-set secret (the edited file is backed up).
    write_all(&ws);
    let expected = env_vars(&env);
    assert_eq!(expected["SECRET_KEY"], tricky);
    assert_eq!(expected.len(), 8, "{expected:?}");
    let keys: Vec<&str> = expected.keys().map(String::as_str).collect();
    let keys_json = serde_json::to_string(&keys).unwrap();

    let dotenv = run_python("import json,sys; from dotenv import dotenv_values; print(json.dumps(dotenv_values(sys.argv[1])))", &[env.to_str().unwrap()]);
    assert_eq!(as_map(&dotenv), expected, "python-dotenv");

    let environ = run_python(
        "import json,os,sys,environ; environ.Env.read_env(sys.argv[1], overwrite=True); e = environ.Env(); print(json.dumps({k: e.str(k) for k in json.loads(sys.argv[2])}))",
        &[env.to_str().unwrap(), &keys_json],
    );
    assert_eq!(as_map(&environ), expected, "django-environ");

    let dump = "import json,os,sys; print(json.dumps({k: os.environ[k] for k in json.loads(sys.argv[1])}))";
    let out = Command::new("sh")
        .arg("-c")
        .arg("set -a; . \"$1\"; set +a; exec \"$2\" -c \"$3\" \"$4\"")
        .args([
            "sh",
            env.to_str().unwrap(),
            support::python().to_str().unwrap(),
            dump,
            &keys_json,
        ])
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        as_map(&String::from_utf8(out.stdout).unwrap()),
        expected,
        "POSIX sh"
    );

    let honcho = support::python().with_file_name("honcho");
    let out = Command::new(&honcho)
        .args([
            "run",
            "-e",
            env.to_str().unwrap(),
            support::python().to_str().unwrap(),
            "-c",
            dump,
            &keys_json,
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "honcho: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        as_map(&String::from_utf8(out.stdout).unwrap()),
        expected,
        "honcho"
    );
}

#[test]
fn secrets_are_per_instance_and_survive_regeneration() {
    let dir = support::copy_example();
    let ws = load(dir.path());
    let report = write_all(&ws);
    // The copy has no virtualenv, so its settings are rendered for Django 4.0 (changed) and
    // manage.py and .gitignore are the project's own (patched): the env files are new.
    assert!(
        report
            .written
            .iter()
            .filter(|w| w.path.starts_with(".env."))
            .all(|w| w.status == FileStatus::New)
            && report
                .written
                .iter()
                .filter(|w| w.path.starts_with(".env."))
                .count()
                == 4,
        "{:?}",
        report.written
    );
    let read = |name: &str| env_vars(&dir.path().join(format!(".env.{name}")));
    let (main, api, review) = (read("chat_main"), read("chat_api"), read("review"));
    assert_eq!(main["SECRET_KEY"].len(), 50);
    // One key for the chat site's members (one login holds on all three), another for review.
    assert_eq!(main["SECRET_KEY"], api["SECRET_KEY"]);
    assert_eq!(main["SECRET_KEY"], read("chat_websocket")["SECRET_KEY"]);
    assert_ne!(main["SECRET_KEY"], review["SECRET_KEY"]);
    assert_eq!(review["SECRET_KEY"].len(), 50);
    // The token that guards each instance's clear endpoint stays its own.
    assert_ne!(main["KOVAN_TOKEN"], api["KOVAN_TOKEN"]);
    // The site's members reach one channel layer on the workspace's Redis; review needs none.
    assert_eq!(
        main["KOVAN_CHANNEL_LAYER_SECRET_URL"],
        "redis://127.0.0.1:6379/0"
    );
    assert!(!review.contains_key("KOVAN_CHANNEL_LAYER_SECRET_URL"));
    assert_eq!(
        main["DJANGO_SETTINGS_MODULE"],
        "dashboard_project.multi_server_settings"
    );
    assert_eq!(main["KOVAN_CACHE_SECRET_URL"], "redis://127.0.0.1:6379/0");
    assert!(
        !read("chat_websocket").contains_key("KOVAN_CACHE_SECRET_URL"),
        "locmem needs no Redis"
    );

    let again = write_all(&ws);
    assert!(again.written.is_empty(), "{:?}", again.written);
    assert_eq!(read("chat_main"), main);
    assert_eq!(read("review"), review);

    // A new port rewrites the env file (as Kovan's, not the user's) and keeps the secrets.
    let toml = dir.path().join("kovan.toml");
    std::fs::write(
        &toml,
        std::fs::read_to_string(&toml)
            .unwrap()
            .replace("port = 8000", "port = 8100"),
    )
    .unwrap();
    let ws = load(dir.path());
    let plan = generate::plan(&ws).unwrap();
    let status = |p: &str| plan.files.iter().find(|f| f.file.path == p).unwrap().status;
    assert_eq!(status(".env.chat_main"), FileStatus::Changed);
    assert_eq!(status(".env.chat_api"), FileStatus::Unchanged);
    assert_eq!(status("nginx/kovan.conf"), FileStatus::Changed);
    generate::write(&plan, None).unwrap();
    let after = read("chat_main");
    assert_eq!(
        (
            after["SECRET_KEY"].as_str(),
            after["DJANGO_SERVER_PORT"].as_str()
        ),
        (main["SECRET_KEY"].as_str(), "8100")
    );
}

#[test]
fn files_get_their_modes_and_a_loosened_env_file_is_tightened() {
    let dir = support::copy_example();
    let ws = load(dir.path());
    write_all(&ws);
    let env = dir.path().join(".env.chat_api");
    assert_eq!(mode(&env), 0o600);
    assert_eq!(
        mode(
            &dir.path()
                .join("dashboard_project/multi_server_settings.py")
        ),
        0o644
    );
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    let plan = generate::plan(&ws).unwrap();
    let pending: Vec<&str> = plan.pending().map(|f| f.file.path.as_str()).collect();
    assert_eq!(pending, [".env.chat_api"]);
    generate::write(&plan, None).unwrap();
    assert_eq!(mode(&env), 0o600);
}

#[test]
fn a_file_the_user_edited_is_backed_up_before_it_is_replaced() {
    let dir = support::copy_example();
    let ws = load(dir.path());
    write_all(&ws);
    let conf = dir.path().join("nginx/kovan.conf");
    let edited = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("fail_timeout=10s", "fail_timeout=99s");
    std::fs::write(&conf, &edited).unwrap();

    let plan = generate::plan(&ws).unwrap();
    let planned = plan
        .files
        .iter()
        .find(|f| f.file.path == "nginx/kovan.conf")
        .unwrap();
    assert_eq!(planned.status, FileStatus::Edited);
    let diff = planned.diff.as_deref().unwrap();
    assert!(
        diff.contains("-    server 127.0.0.1:8000 weight=3 max_fails=3 fail_timeout=99s"),
        "{diff}"
    );

    let report = generate::write(&plan, Some(&["nginx/kovan.conf".to_string()])).unwrap();
    assert_eq!(report.written.len(), 1);
    let backup = dir.path().join(report.written[0].backup.as_ref().unwrap());
    assert!(backup
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("kovan.conf.kovan-backup-"));
    assert_eq!(std::fs::read_to_string(backup).unwrap(), edited);
    assert!(!std::fs::read_to_string(&conf).unwrap().contains("99s"));
}

#[test]
fn a_file_kovan_did_not_write_counts_as_edited_and_is_kept_in_a_backup() {
    let dir = support::copy_example();
    std::fs::write(dir.path().join("Procfile.kovan"), "web: gunicorn x\n").unwrap();
    let ws = load(dir.path());
    let plan = generate::plan(&ws).unwrap();
    assert_eq!(
        plan.files
            .iter()
            .find(|f| f.file.path == "Procfile.kovan")
            .unwrap()
            .status,
        FileStatus::Edited
    );
    let report = generate::write(&plan, None).unwrap();
    let w = report
        .written
        .iter()
        .find(|w| w.path == "Procfile.kovan")
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join(w.backup.as_ref().unwrap())).unwrap(),
        "web: gunicorn x\n"
    );
}

#[test]
fn nothing_is_written_outside_the_project() {
    let dir = support::copy_example();
    let outside = tempfile::tempdir().unwrap();
    let _ = std::fs::remove_dir_all(dir.path().join("nginx"));
    std::os::unix::fs::symlink(outside.path(), dir.path().join("nginx")).unwrap();
    let ws = load(dir.path());
    let err = generate::plan(&ws).unwrap_err();
    assert!(matches!(err, GenerateError::OutsideRoot { .. }), "{err}");
    assert!(err.to_string().contains("nginx/kovan.conf"), "{err}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

    let toml = dir.path().join("kovan.toml");
    std::fs::remove_file(dir.path().join("nginx")).unwrap();
    std::fs::write(
        &toml,
        std::fs::read_to_string(&toml).unwrap().replace(
            "name = \"chat_api\"",
            "name = \"chat_api\"\nenv_file = \"../.env.chat_api\"",
        ),
    )
    .unwrap();
    let err = workspace::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("instance.chat_api.env_file") && err.contains("leaves the Django root"),
        "{err}"
    );
}

#[test]
fn previews_never_show_secrets_or_the_redis_password() {
    let dir = support::copy_example();
    let toml = dir.path().join("kovan.toml");
    std::fs::write(
        &toml,
        std::fs::read_to_string(&toml)
            .unwrap()
            .replace("redis://127.0.0.1", "redis://kovan:hunter2@127.0.0.1"),
    )
    .unwrap();
    let ws = load(dir.path());
    write_all(&ws);
    let secret = env_vars(&dir.path().join(".env.chat_main"))["SECRET_KEY"].clone();
    set_var(
        &dir.path().join(".env.chat_main"),
        "DJANGO_SERVER_PORT",
        "1",
    );
    let plan = generate::plan(&ws).unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    assert!(
        !json.contains("hunter2") && !json.contains(&secret),
        "a secret reached the preview"
    );
    let env = plan
        .files
        .iter()
        .find(|f| f.file.path == ".env.chat_main")
        .unwrap();
    assert!(env
        .diff
        .as_deref()
        .unwrap()
        .contains("+DJANGO_SERVER_PORT='8000'"));
    assert_eq!(
        env_vars(&dir.path().join(".env.chat_main"))["KOVAN_CACHE_SECRET_URL"],
        "redis://kovan:hunter2@127.0.0.1:6379/0"
    );
}

#[test]
fn nginx_accepts_the_generated_config() {
    let dir = support::copy_example();
    let ws = load(dir.path());
    write_all(&ws);
    let conf = std::fs::read_to_string(dir.path().join("nginx/kovan.conf")).unwrap();
    for route in [
        "location /ws/",
        "location /api/",
        "location / ",
        "upstream kovan_context7_chat_websocket",
        "weight=3",
    ] {
        assert!(conf.contains(route), "{route} missing:\n{conf}");
    }
    let main = dir.path().join("nginx-main.conf");
    std::fs::write(
        &main,
        format!(
            "pid {0}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {0}/tmp;\n  include {0}/nginx/kovan.conf;\n}}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = Command::new("nginx")
        .args(["-t", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&main)
        .output()
        .expect("nginx is not installed: apt install nginx (scripts/setup.sh test does)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("test is successful"),
        "nginx -t:\n{stderr}\n{conf}"
    );
}

#[test]
fn honcho_reads_the_procfile() {
    let dir = support::copy_example();
    let ws = load(dir.path());
    write_all(&ws);
    let honcho = support::python().with_file_name("honcho");
    let out = Command::new(honcho)
        .args(["check", "-f", "Procfile.kovan"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("chat_main, chat_api, chat_websocket"),
        "{text}"
    );
}

#[test]
fn the_example_project_holds_exactly_what_kovan_generates() {
    let example = support::repo_root().join("examples/context7");
    let ws = load(&example);
    let plan = generate::plan(&ws).unwrap();
    for f in plan
        .files
        .iter()
        .filter(|f| f.file.purpose != Purpose::EnvFile)
    {
        assert_eq!(
            f.status,
            FileStatus::Unchanged,
            "examples/context7/{} differs from what Kovan generates: run `cargo run -p kovan-cli -- gen --write --workspace examples/context7`\n{}",
            f.file.path,
            f.diff.as_deref().unwrap_or("")
        );
    }
}

// ---- links, one file under two names, a full disk (issue 12, items 10 and 11) ----

#[test]
fn an_env_file_linked_to_another_instances_is_refused_and_neither_is_written() {
    let dir = support::copy_example();
    let ws = load(dir.path());
    write_all(&ws);
    let main = dir.path().join(".env.chat_main");
    let api = dir.path().join(".env.chat_api");
    let main_before = std::fs::read(&main).unwrap();
    std::fs::remove_file(&api).unwrap();
    // `ln -s .env.chat_main .env.chat_api`: a write through it put chat_main's secrets in chat_api.
    std::os::unix::fs::symlink(".env.chat_main", &api).unwrap();
    let toml = dir.path().join("kovan.toml");
    std::fs::write(
        &toml,
        std::fs::read_to_string(&toml)
            .unwrap()
            .replace("port = 8000", "port = 8100"),
    )
    .unwrap();
    let ws = load(dir.path());
    let err = generate::plan(&ws).unwrap_err();
    assert_eq!(err.kind().as_str(), "symlink", "{err}");
    let text = err.to_string();
    assert!(
        text.contains(".env.chat_api is a symbolic link (to .env.chat_main)")
            && text.contains("rm .env.chat_api"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&main).unwrap(),
        main_before,
        "nothing written"
    );

    // A hard link instead: one file under two names.
    std::fs::remove_file(&api).unwrap();
    std::fs::hard_link(&main, &api).unwrap();
    let err = generate::plan(&ws).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(".env.chat_main and .env.chat_api are one file on disk"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&main).unwrap(),
        main_before,
        "nothing written"
    );
}

/// A tmpfs mounted for one test (root only), unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Result<Self, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not running as root, so no tmpfs can be mounted".into());
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs refused: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self(dir))
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.0.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap().flatten() {
            let shown = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string();
            if entry.file_type().unwrap().is_dir() {
                out.insert(format!("{shown}/"), Vec::new());
                stack.push(entry.path());
            } else {
                out.insert(shown, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn on_a_full_64_kib_tmpfs_nothing_is_half_written_and_the_error_lists_every_file() {
    let disk = match Tmpfs::mount("64k") {
        Ok(disk) => disk,
        Err(why) => {
            // The same guarantees are proven with an injected full disk in generate::write's tests.
            println!("skipped: {why}");
            return;
        }
    };
    let root = disk.0.path();
    std::fs::write(root.join("manage.py"), "").unwrap();
    std::fs::copy(
        support::repo_root().join("examples/context7/kovan.toml"),
        root.join("kovan.toml"),
    )
    .unwrap();
    std::fs::write(root.join("Procfile.kovan"), "web: my own line\n").unwrap();
    let ws = load(root);
    let plan = generate::plan(&ws).unwrap();
    let before = tree(root);

    let err = generate::write(&plan, None).unwrap_err();
    assert_eq!(err.kind().as_str(), "write_incomplete", "{err}");
    let text = err.to_string();
    assert!(
        text.contains("(the disk is full)")
            && text.contains("Nothing was changed")
            && text.contains("Not written: "),
        "{text}"
    );
    for f in &plan.files {
        assert!(
            text.contains(&f.file.path),
            "{} unlisted: {text}",
            f.file.path
        );
    }
    assert_eq!(
        tree(root),
        before,
        "no temporary file, 0-byte backup or new folder may remain"
    );

    // Room enough, the same plan writes whole, the user's Procfile kept in a verified backup.
    disk.resize("2m");
    let report = generate::write(&plan, None).unwrap();
    assert_eq!(report.written.len(), plan.files.len());
    let procfile = report
        .written
        .iter()
        .find(|w| w.path == "Procfile.kovan")
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join(procfile.backup.as_ref().unwrap())).unwrap(),
        "web: my own line\n"
    );
    assert!(generate::plan(&ws).unwrap().pending().next().is_none());
}

/// `[database] managed = true`: each unit's role and password in its members' env files (one
/// password per unit, hidden in previews), and settings that read them with only options Django
/// and psycopg have: the pool where Django has it, CONN_MAX_AGE otherwise, never MAX_CONNS.
#[test]
fn a_managed_postgresql_gives_each_unit_a_role_and_valid_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(
        dir.path().join("kovan.toml"),
        "[project]\nname = \"shop\"\nsettings = \"shop.settings\"\n\n[database]\nengine = \"postgresql\"\nmanaged = true\nport = 54999\n\n[[instance]]\nname = \"main\"\nport = 8000\ncache = \"locmem\"\n\n[[instance]]\nname = \"api\"\nport = 8001\ncache = \"locmem\"\n\n[[instance]]\nname = \"solo\"\nport = 8002\ncache = \"locmem\"\n\n[site.web]\ninstances = [\"main\", \"api\"]\nfront_door = 8080\n",
    )
    .unwrap();
    let ws = load(dir.path());
    let facts = |v: &str| kovan_core::django::ProjectFacts::for_version(Some(v.parse().unwrap()));
    let (files, _) =
        generate::render_with(&ws, &generate::KeptSecrets::default(), &facts("5.2.0")).unwrap();
    let file = |p: &str| files.iter().find(|f| f.path == p).unwrap();
    let vars = |p: &str| -> BTreeMap<String, String> {
        generate::env_file::parse(&file(p).contents)
            .into_iter()
            .collect()
    };
    let (main, api, solo) = (vars(".env.main"), vars(".env.api"), vars(".env.solo"));
    assert_eq!(main["KOVAN_DATABASE_USER"], "shop_web");
    assert_eq!(main["KOVAN_DATABASE_PORT"], "54999");
    assert_eq!(main["KOVAN_DATABASE_HOST"], "127.0.0.1");
    assert_eq!(solo["KOVAN_DATABASE_USER"], "shop_solo");
    assert_eq!(
        main["KOVAN_DATABASE_PASSWORD"], api["KOVAN_DATABASE_PASSWORD"],
        "one per unit"
    );
    assert_ne!(
        main["KOVAN_DATABASE_PASSWORD"],
        solo["KOVAN_DATABASE_PASSWORD"]
    );
    assert!(main["KOVAN_DATABASE_PASSWORD"].len() >= 32);
    assert!(!file(".env.main")
        .preview
        .contains(&main["KOVAN_DATABASE_PASSWORD"]));
    let settings = &file("shop/multi_server_settings.py").contents;
    for needle in [
        "\"ENGINE\": \"django.db.backends.postgresql\"",
        "_env(\"KOVAN_DATABASE_PASSWORD\")",
        "\"application_name\"",
        "_kovan_db_options[\"pool\"] = True",
        "\"CONN_MAX_AGE\": _kovan_conn_max_age",
    ] {
        assert!(settings.contains(needle), "{needle} missing:\n{settings}");
    }
    assert!(!settings.contains("MAX_CONNS"));
    // Django 4.2 has no pool: persistent connections only.
    let (files, _) =
        generate::render_with(&ws, &generate::KeptSecrets::default(), &facts("4.2.0")).unwrap();
    let settings = &files
        .iter()
        .find(|f| f.path == "shop/multi_server_settings.py")
        .unwrap()
        .contents;
    assert!(!settings.contains("\"pool\""), "{settings}");
    // Valid Python, both.
    let path = dir.path().join("settings_check.py");
    std::fs::write(&path, settings).unwrap();
    let out = Command::new(support::python())
        .args(["-m", "py_compile"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
