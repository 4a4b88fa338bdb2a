//! The generated settings, health endpoint and clear command, run by real Django against a real
//! redis-server. Needs the test venv (scripts/setup.sh test) and redis-server.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use kovan_core::Workspace;
use support::{env_of, manage, Group, Redis};

fn project(redis: &Redis) -> (tempfile::TempDir, Workspace) {
    support::example_on_free_ports(Some(&redis.url()))
}

fn ok(out: Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// `runserver` with its autoreloader, as developers run it.
fn runserver(ws: &Workspace, instance: &str) -> Group {
    support::runserver(ws, instance, true)
}

fn health(ws: &Workspace, instance: &str) -> serde_json::Value {
    let (status, body) = support::http(ws.instance(instance).unwrap().port, "GET", "/health/", &[]);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn manage_py_check_passes_for_every_instance_and_a_missing_secret_stops_it() {
    let redis = Redis::start();
    let (_dir, ws) = project(&redis);
    for i in &ws.instances {
        ok(
            manage(&ws, &i.name, &["check"]),
            &format!("manage.py check for {}", i.name),
        );
    }
    // The settings load the env file themselves: a SECRET_KEY missing from it stops them.
    let env_file = ws.project.django_root.join(".env.chat_api");
    let text = std::fs::read_to_string(&env_file).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("SECRET_KEY="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&env_file, without).unwrap();
    let out = Command::new(support::python())
        .args(["manage.py", "check"])
        .current_dir(&ws.project.django_root)
        .envs(
            env_of(&ws, "chat_api")
                .into_iter()
                .filter(|(k, _)| k != "SECRET_KEY"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("SECRET_KEY is not set: .env.chat_api"),
        "{stderr}"
    );
}

#[test]
fn instances_answer_health_with_their_derived_names_and_keep_their_cache_keys_apart() {
    let redis = Redis::start();
    let (_dir, ws) = project(&redis);
    let _main = runserver(&ws, "chat_main");
    let _api = runserver(&ws, "chat_api");
    let _ws = runserver(&ws, "chat_websocket");

    // The chat site's members (review, isolated, is not started here).
    for i in ws.instances.iter().filter(|i| i.site.is_some()) {
        let h = health(&ws, &i.name);
        assert_eq!(h["status"], "ok", "{h}");
        assert_eq!(h["instance"], i.name.as_str());
        assert_eq!(h["session_cookie"], i.names.session_cookie.as_str());
        assert_eq!(h["csrf_cookie"], i.names.csrf_cookie.as_str());
        assert_eq!(h["cache"]["key_prefix"], i.names.cache_prefix.as_str());
        assert_eq!(h["cache"]["backend"], i.cache.django_class());
        let db = ws.project.django_root.join(&i.names.database);
        assert_eq!(Path::new(h["database"]["name"].as_str().unwrap()), db);
        assert_eq!(h["database"]["vendor"], "sqlite");
        assert!(h["pid"].as_u64().unwrap() > 1);
    }

    // The chat page needs a login. The site's members share the database, SECRET_KEY and session
    // cookie, so one session made through chat_main is valid on all three.
    let cookie = support::chat_session(&ws, "chat_main");
    // The chat page caches through Django: each instance's keys land under its own prefix.
    for name in ["chat_main", "chat_api", "chat_websocket"] {
        let i = ws.instance(name).unwrap();
        let (status, body) = support::http(i.port, "GET", "/", &[("Cookie", &cookie)]);
        assert_eq!(status, 200, "{name}: {body}");
    }
    redis.cli(&["SET", "other_app:1:x", "foreign"]);
    redis.cli(&["SET", "context7_chat_main:1:a b", "spaces"]);
    redis.cli(&["SET", "context7_chat_main:1:*", "glob"]);
    let keys = redis.keys();
    let under = |prefix: &str| {
        keys.iter()
            .filter(|k| k.starts_with(&format!("{prefix}:1:")))
            .count()
    };
    assert!(
        under("context7_chat_main") >= 3 && under("context7_chat_api") >= 1,
        "{keys:?}"
    );
    assert_eq!(
        under("context7_chat_websocket"),
        0,
        "the locmem instance must not write to Redis: {keys:?}"
    );
    let websocket = health(&ws, "chat_websocket");
    assert!(
        websocket["cache"]["keys"].as_u64().unwrap() >= 1,
        "LocMem keys are counted: {websocket}"
    );
    assert!(health(&ws, "chat_main")["cache"]["keys"].is_null());

    // clear_cache for chat_main leaves chat_api's keys and the foreign key alone.
    let api_keys: Vec<String> = keys
        .iter()
        .filter(|k| k.starts_with("context7_chat_api:"))
        .cloned()
        .collect();
    let out = ok(
        manage(&ws, "chat_main", &["clear_cache", "--type=cache"]),
        "clear_cache",
    );
    assert!(out.contains("chat_main"), "{out}");
    let after = redis.keys();
    assert!(
        after.iter().all(|k| !k.starts_with("context7_chat_main:")),
        "{after:?}"
    );
    assert!(after.contains(&"other_app:1:x".to_string()), "{after:?}");
    assert_eq!(
        after
            .iter()
            .filter(|k| k.starts_with("context7_chat_api:"))
            .cloned()
            .collect::<Vec<_>>(),
        api_keys
    );

    // The clear endpoint wants the instance's own token.
    let api_port = ws.instance("chat_api").unwrap().port;
    let token = env_of(&ws, "chat_api")
        .into_iter()
        .find(|(k, _)| k == "KOVAN_TOKEN")
        .unwrap()
        .1;
    let main_token = env_of(&ws, "chat_main")
        .into_iter()
        .find(|(k, _)| k == "KOVAN_TOKEN")
        .unwrap()
        .1;
    for headers in [
        vec![],
        vec![("X-Kovan-Token", "wrong")],
        vec![("X-Kovan-Token", main_token.as_str())],
    ] {
        let (status, body) = support::http(api_port, "POST", "/health/cache/clear/", &headers);
        assert_eq!(status, 403, "{headers:?}: {body}");
    }
    assert_eq!(redis.keys(), after, "a refused clear deletes nothing");
    let (status, body) = support::http(
        api_port,
        "POST",
        "/health/cache/clear/",
        &[("X-Kovan-Token", &token)],
    );
    assert_eq!(status, 200, "{body}");
    let cleared: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        cleared["deleted"].as_u64().unwrap() as usize,
        api_keys.len(),
        "{cleared}"
    );
    assert_eq!(redis.keys(), ["other_app:1:x"]);
}

/// A project whose own settings put another Redis backend in place after Kovan's (django-redis, or
/// here a fixture with the same FLUSHDB clear()): the generated command and endpoint refuse to clear
/// it whole, and the other app's key in that database stays.
#[test]
fn generated_code_never_clears_a_cache_whole_unless_it_is_the_instances_own() {
    let redis = Redis::start();
    let (_dir, ws) = project(&redis);
    let root = &ws.project.django_root;
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flushing_cache.py"),
        root.join("flushing_cache.py"),
    )
    .unwrap();
    std::fs::write(
        root.join("override_settings.py"),
        "import os\n\
         from dashboard_project.multi_server_settings import *  # noqa: F403\n\
         ALLOWED_HOSTS = ['*']\n\
         CACHES = {'default': {'BACKEND': 'flushing_cache.FlushingRedisCache',\n\
         \x20   'LOCATION': os.environ['KOVAN_CACHE_SECRET_URL']}}\n",
    )
    .unwrap();
    let token = env_of(&ws, "chat_main")
        .into_iter()
        .find(|(k, _)| k == "KOVAN_TOKEN")
        .unwrap()
        .1;
    let run = |args: &[&str]| {
        Command::new(support::python())
            .arg("manage.py")
            .args(args)
            .current_dir(root)
            .envs(env_of(&ws, "chat_main"))
            .env("DJANGO_SETTINGS_MODULE", "override_settings")
            .output()
            .unwrap()
    };
    redis.cli(&["SET", "other_app:1:x", "foreign"]);

    let out = run(&["clear_cache", "--type=cache"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "clear_cache cleared it: {stderr}");
    assert!(
        stderr.contains("flushing_cache.FlushingRedisCache is not cleared"),
        "{stderr}"
    );
    assert_eq!(redis.keys(), ["other_app:1:x"]);

    let script = format!(
        "from django.test import Client\n\
         r = Client().post('/health/cache/clear/', headers={{'X-Kovan-Token': {token:?}}})\n\
         print(r.status_code, r.content.decode())"
    );
    let out = run(&["shell", "-c", &script]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && shown.contains("409 {") && shown.contains("is not cleared"),
        "{shown}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(redis.keys(), ["other_app:1:x"]);
}

/// The generated settings speak to a redis-server that asks for a client certificate, with
/// kovan.toml's CA and client certificate: /health/ finds the cache and the site's channel layer
/// working, and the keys land under the instance's prefix; Kovan counts them over the same TLS.
#[test]
fn the_generated_settings_use_the_private_ca_and_client_certificate_of_kovan_toml() {
    let certs = tempfile::tempdir().unwrap();
    support::pki(certs.path());
    let (redis, tls_port) = support::tls_server(certs.path(), "good", true);
    let (dir, _) =
        support::example_on_free_ports(Some(&format!("rediss://127.0.0.1:{tls_port}/0")));
    let toml = dir.path().join("kovan.toml");
    let path = |name: &str| certs.path().join(name).display().to_string();
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "managed = true",
        &format!(
            "ca_file = {:?}\ncert_file = {:?}\nkey_file = {:?}",
            path("ca.pem"),
            path("client.pem"),
            path("client.key")
        ),
    );
    std::fs::write(&toml, text).unwrap();
    let ws = kovan_core::workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();

    let _server = runserver(&ws, "chat_main");
    let port = ws.instance("chat_main").unwrap().port;
    let answer: serde_json::Value = kovan_testsupport::eventually(
        "chat_main's /health/ to answer 200 over TLS to Redis",
        std::time::Duration::from_secs(30),
        || match support::http(port, "GET", "/health/", &[]) {
            (200, body) => serde_json::from_str(&body).map_err(|e| e.to_string()),
            (status, body) => Err(format!("{status}: {body}")),
        },
    );
    assert_eq!(answer["cache"]["ok"], true, "{answer}");
    assert_eq!(answer["channels"]["ok"], true, "{answer}");
    ok(
        support::manage(
            &ws,
            "chat_main",
            &[
                "shell",
                "-c",
                "from django.core.cache import cache; cache.set('over_tls', 1, 60)",
            ],
        ),
        "cache.set through the generated settings",
    );
    let keys = redis.cli(&["--scan", "--pattern", "context7_chat_main:*"]);
    assert!(
        keys.contains("over_tls"),
        "chat_main's key in Redis: {keys}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let counts = rt.block_on(kovan_core::cache::count(&ws, |_| {}));
    assert!(
        counts
            .instance("chat_main")
            .and_then(|c| c.count.counted())
            .is_some(),
        "{counts:#?}"
    );
}
