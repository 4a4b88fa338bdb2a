//! Each doctor finding from a real fixture, and cleared by its fix.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;

use std::process::{Command, Stdio};

use kovan_core::doctor::{self, Context, Finding, FindingKind, FixAction};
use kovan_core::error::Classified;
use kovan_core::health::NameField;
use kovan_core::platform;
use kovan_core::store::{ProcessRecord, Store};
use kovan_core::Workspace;
use support::*;

fn kinds(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.kind.as_str()).collect()
}

fn find<'a>(findings: &'a [Finding], kind: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.kind.as_str() == kind)
}

/// Record a test's process group in the store as `instance`, as the supervisor would.
fn record(store: &Store, ws: &Workspace, instance: &str, group: &Group) {
    let pid = group.pgid();
    store
        .record_process(
            &ws.file,
            &ProcessRecord {
                instance: instance.into(),
                pid,
                pgid: pid,
                start_time: platform::start_time(pid).unwrap(),
                cmdline: "test".into(),
                port: ws.instance(instance).unwrap().port,
                started_at: 0,
                boot_id: platform::boot_id(),
                ready: true,
                stop_requested_by: None,
            },
        )
        .unwrap();
}

/// A process that runs `script` and waits until it prints "ready".
fn python_group(script: &str, wrapper: &[&str]) -> Group {
    let mut cmd = Command::new(wrapper.first().copied().unwrap_or("env"));
    cmd.args(wrapper.iter().skip(1))
        .arg(python())
        .args(["-c", script])
        .stdout(Stdio::piped());
    let mut group = Group::spawn(&mut cmd, "python fixture");
    let mut line = String::new();
    BufReader::new(group.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the fixture did not start");
    group
}

#[test]
fn files_findings_are_found_and_cleared_by_their_fixes() {
    let (dir, ws) = example_on_free_ports(None);
    assert_eq!(
        env_of(&ws, "chat_api")
            .into_iter()
            .find(|(k, _)| k == "SECRET_KEY"),
        env_of(&ws, "chat_websocket")
            .into_iter()
            .find(|(k, _)| k == "SECRET_KEY"),
        "a site's members sign with one key"
    );
    let root = dir.path();
    let clean = doctor::examine(&ws, &Context::default());
    // The example's two Redis instances share one database by design: said, as information.
    assert_eq!(kinds(&clean), ["redis-shared-database"], "{clean:#?}");
    assert!(clean[0].why.contains("FLUSHDB"));

    // An env file others can read.
    let env = root.join(".env.chat_main");
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    // The chat site's members share one SECRET_KEY by design (no finding above); the isolated
    // review copy given the site's key is one.
    let main_key = env_of(&ws, "chat_main")
        .into_iter()
        .find(|(k, _)| k == "SECRET_KEY")
        .unwrap()
        .1;
    let review_env = root.join(".env.review");
    let review_text = std::fs::read_to_string(&review_env).unwrap();
    let review_key = env_of(&ws, "review")
        .into_iter()
        .find(|(k, _)| k == "SECRET_KEY")
        .unwrap()
        .1;
    assert_ne!(review_key, main_key);
    std::fs::write(&review_env, review_text.replace(&review_key, &main_key)).unwrap();
    // Built-in RedisCache with django-redis's CLIENT_CLASS in the project's settings.
    let settings = root.join("dashboard_project/settings.py");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        format!("{original}\nCACHES = {{'sessions': {{'BACKEND': 'django.core.cache.backends.redis.RedisCache', 'OPTIONS': {{'CLIENT_CLASS': 'django_redis.client.DefaultClient'}}}}}}\n"),
    )
    .unwrap();
    // kovan.toml changed since the files were generated.
    let toml = std::fs::read_to_string(&ws.file).unwrap();
    std::fs::write(
        &ws.file,
        toml.replace("cache_timeout = 600", "cache_timeout = 900"),
    )
    .unwrap();
    let ws = kovan_core::workspace::load(&ws.file).unwrap();

    let found = doctor::examine(&ws, &Context::default());
    let readable = find(&found, "env-file-readable").expect("world-readable env file");
    assert_eq!(readable.instances, ["chat_main"]);
    let secret = find(&found, "shared-secret-key").expect("shared SECRET_KEY");
    assert_eq!(secret.instances, ["chat_main", "review"]);
    assert_eq!(
        find(&found, "redis-cache-with-django-redis-options")
            .unwrap()
            .severity,
        doctor::Severity::Error
    );
    let stale = find(&found, "generated-stale").expect("stale settings");
    assert!(
        stale.message.contains("multi_server_settings.py"),
        "{}",
        stale.message
    );
    assert_eq!(found[0].severity, doctor::Severity::Error, "errors first");

    for f in &found {
        if let Some(action) = &f.fix_action {
            doctor::apply_fix(&ws, action).unwrap_or_else(|e| panic!("{}: {e}", f.kind));
        }
    }
    std::fs::write(&settings, original).unwrap();
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let key = |i| {
        env_of(&ws, i)
            .into_iter()
            .find(|(k, _)| k == "SECRET_KEY")
            .unwrap()
            .1
    };
    assert_eq!(
        key("chat_main"),
        main_key,
        "only the isolated instance gets a new key"
    );
    assert_eq!(key("chat_api"), main_key, "the site keeps its key");
    assert_ne!(key("review"), main_key);
    let after = doctor::examine(&ws, &Context::default());
    assert_eq!(kinds(&after), ["redis-shared-database"], "{after:#?}");
    let restart = FixAction::Restart {
        instance: "chat_main".into(),
    };
    let refused = doctor::apply_fix(&ws, &restart).unwrap_err();
    assert_eq!(refused.kind().as_str(), "restart_by_caller");
}

#[test]
fn a_foreign_listener_on_an_instance_port_is_named() {
    let port = free_port();
    let (_dir, ws) = cache_workspace(&format!(
        "[[instance]]\nname = \"a\"\nport = {port}\ncache = \"locmem\"\n"
    ));
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let found = doctor::examine(&ws, &Context::default());
    let taken = find(&found, "port-taken").expect("foreign listener");
    assert!(
        taken.message.contains(&std::process::id().to_string()),
        "{}",
        taken.message
    );
    assert_eq!(taken.severity, doctor::Severity::Error);
    drop(listener);
    assert!(find(&doctor::examine(&ws, &Context::default()), "port-taken").is_none());
}

#[test]
fn one_sqlite_file_open_in_two_instances() {
    let (dir, ws) = cache_workspace(&format!(
        "[[instance]]\nname = \"a\"\nport = {}\ncache = \"locmem\"\n\n[[instance]]\nname = \"b\"\nport = {}\ncache = \"locmem\"\n",
        free_port(),
        free_port()
    ));
    let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
    let shared = dir.path().join("db_a.sqlite3");
    let script = format!(
        "import sqlite3, time\nc = sqlite3.connect({:?})\nc.execute('CREATE TABLE IF NOT EXISTS t (x)')\nc.commit()\nprint('ready', flush=True)\ntime.sleep(120)\n",
        shared.display().to_string()
    );
    let a = python_group(&script, &[]);
    let b = python_group(&script, &[]);
    record(&store, &ws, "a", &a);
    record(&store, &ws, "b", &b);
    let context = Context::with_health(&ws, Some(&store), Vec::new());
    assert_eq!(context.running.len(), 2, "{:?}", context.running);
    let found = doctor::examine(&ws, &context);
    let f = find(&found, "shared-sqlite-file").expect("one file in two instances");
    assert_eq!(f.instances, ["a", "b"]);
    assert!(f.message.contains("db_a.sqlite3"));
    drop(b);
    let context = Context::with_health(&ws, Some(&store), Vec::new());
    assert!(find(&doctor::examine(&ws, &context), "shared-sqlite-file").is_none());
}

/// In a network namespace of its own (loopback only, nothing reachable from outside), a process
/// listens on 0.0.0.0: the doctor reads its sockets through /proc/PID/net.
#[test]
fn an_instance_listening_on_all_interfaces() {
    let port = free_port();
    let (dir, ws) = cache_workspace(&format!(
        "[[instance]]\nname = \"a\"\nport = {port}\ncache = \"locmem\"\n"
    ));
    let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
    let script = |address: &str| {
        format!("import socket, time\ns = socket.socket()\ns.bind(({address:?}, {port}))\ns.listen()\nprint('ready', flush=True)\ntime.sleep(120)\n")
    };
    let wide = python_group(
        &script("0.0.0.0"),
        &["unshare", "--user", "--map-root-user", "--net"],
    );
    record(&store, &ws, "a", &wide);
    let context = Context::with_health(&ws, Some(&store), Vec::new());
    let found = doctor::examine(&ws, &context);
    assert!(
        find(&found, "listens-on-all-interfaces").is_some(),
        "{found:#?}"
    );
    drop(wide);
    let narrow = python_group(
        &script("127.0.0.1"),
        &["unshare", "--user", "--map-root-user", "--net"],
    );
    record(&store, &ws, "a", &narrow);
    let context = Context::with_health(&ws, Some(&store), Vec::new());
    assert_eq!(context.running.len(), 1);
    assert!(find(&doctor::examine(&ws, &context), "listens-on-all-interfaces").is_none());
}

/// Rewrite an instance's env file to run `module` instead of the generated settings.
fn run_settings(ws: &Workspace, instance: &str, module: &str) {
    let path = ws
        .project
        .django_root
        .join(&ws.instance(instance).unwrap().names.env_file);
    let text = std::fs::read_to_string(&path).unwrap();
    let generated = kovan_core::generate::settings_module(ws);
    std::fs::write(&path, text.replace(&generated, module)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_override_is_a_mismatch_shared_by_two_and_a_restart_clears_it() {
    let redis = Redis::start();
    let (dir, ws) = example_on_free_ports(Some(&redis.url()));
    std::fs::write(
        dir.path()
            .join("dashboard_project/wrong_cookie_settings.py"),
        "from .multi_server_settings import *  # noqa\nSESSION_COOKIE_NAME = 'sessionid'\n",
    )
    .unwrap();
    for i in ["chat_main", "review"] {
        run_settings(&ws, i, "dashboard_project.wrong_cookie_settings");
    }
    let servers = [
        runserver(&ws, "chat_main", false),
        runserver(&ws, "review", false),
    ];
    let found = doctor::examine(&ws, &Context::observe(&ws, None).await);
    let mismatches: Vec<_> = found
        .iter()
        .filter(|f| f.kind == FindingKind::NameMismatch)
        .collect();
    assert_eq!(mismatches.len(), 2, "{found:#?}");
    let m = mismatches[0].mismatch.as_ref().unwrap();
    assert_eq!(m.field, NameField::SessionCookie);
    assert_eq!(
        (m.expected.as_str(), m.actual.as_str()),
        ("sessionid_chat", "sessionid")
    );
    let shared = find(&found, "shared-cookie").expect("one cookie name for two instances");
    assert_eq!(shared.instances, ["chat_main", "review"]);
    assert!(find(&found, "listens-on-all-interfaces").is_none());
    assert!(find(&found, "port-taken").is_none(), "{found:#?}");

    // Regenerate the env files (their fix), and the running ones need a restart.
    let paths = vec![".env.chat_main".to_string(), ".env.review".to_string()];
    std::thread::sleep(std::time::Duration::from_millis(20));
    doctor::apply_fix(&ws, &FixAction::Regenerate { paths }).unwrap();
    let found = doctor::examine(&ws, &Context::observe(&ws, None).await);
    let restarts: Vec<_> = found
        .iter()
        .filter(|f| f.kind == FindingKind::RestartNeeded)
        .collect();
    assert_eq!(restarts.len(), 2, "{found:#?}");
    assert!(matches!(
        restarts[0].fix_action,
        Some(FixAction::Restart { .. })
    ));

    drop(servers);
    let _servers = [
        runserver(&ws, "chat_main", false),
        runserver(&ws, "review", false),
    ];
    let found = doctor::examine(&ws, &Context::observe(&ws, None).await);
    assert_eq!(kinds(&found), ["redis-shared-database"], "{found:#?}");
}

/// Channel layers against the unit: the site's members must share the site's Redis prefix; a
/// member in memory cannot reach the others; one prefix across units mixes their groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_layers_are_held_against_the_unit() {
    let redis = Redis::start();
    let (dir, ws) = example_on_free_ports(Some(&redis.url()));
    let project = dir.path().join("dashboard_project");
    // channels_redis' default prefix, as a project of its own would set it, on the cache's Redis.
    std::fs::write(
        project.join("asgi_prefix_settings.py"),
        "import os\nfrom .multi_server_settings import *  # noqa\nCHANNEL_LAYERS = {'default': {'BACKEND': 'channels_redis.core.RedisChannelLayer', 'CONFIG': {'hosts': [os.environ['KOVAN_CACHE_SECRET_URL']], 'prefix': 'asgi'}}}\n",
    )
    .unwrap();
    std::fs::write(
        project.join("in_memory_settings.py"),
        "from .multi_server_settings import *  # noqa\nCHANNEL_LAYERS = {'default': {'BACKEND': 'channels.layers.InMemoryChannelLayer'}}\n",
    )
    .unwrap();
    for i in ["chat_main", "review"] {
        run_settings(&ws, i, "dashboard_project.asgi_prefix_settings");
    }
    run_settings(
        &ws,
        "chat_websocket",
        "dashboard_project.in_memory_settings",
    );
    let _servers = [
        runserver(&ws, "chat_main", false),
        runserver(&ws, "chat_websocket", false),
        runserver(&ws, "review", false),
    ];
    let found = doctor::examine(&ws, &Context::observe(&ws, None).await);
    let mismatch = find(&found, "channel-prefix-mismatch").expect("a prefix not the site's");
    assert_eq!(mismatch.instances, ["chat_main"]);
    assert!(
        mismatch.message.contains("context7_chat"),
        "{}",
        mismatch.message
    );
    let shared = find(&found, "shared-channel-prefix").expect("one prefix for two units");
    assert_eq!(shared.instances, ["chat_main", "review"]);
    let memory = find(&found, "site-in-memory-channel-layer").expect("a member in memory");
    assert_eq!(memory.instances, ["chat_websocket"]);
    assert!(memory.fix.contains("channels-redis"), "{}", memory.fix);
    // review in memory by itself, and the members on their site's prefix: nothing to say.
    assert!(
        !found
            .iter()
            .any(|f| f.kind.as_str().contains("channel") && f.instances == ["review"]),
        "{found:#?}"
    );
}
