//! `kovan keys` and `kovan flush` as a user runs them, against a real redis-server.

#[path = "../../kovan-core/tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::Redis;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The chat trio on Redis (prefixes `t_chat_main`, …) with these keys loaded: 1,234 of chat_main's
/// (2 of them sessions), 3 of chat_api's and 5 of another app's.
fn trio(redis: &Redis) -> tempfile::TempDir {
    let mut keys = String::new();
    for i in 0..1232 {
        keys.push_str(&format!("SET t_chat_main:1:k{i} v\n"));
    }
    for i in 0..2 {
        keys.push_str(&format!(
            "SET t_chat_main:1:django.contrib.sessions.cache{i} v\n"
        ));
    }
    for i in 0..3 {
        keys.push_str(&format!("SET \"t_chat_api:1:a {i}\" v\n"));
    }
    for i in 0..5 {
        keys.push_str(&format!("SET other_app:{i} v\n"));
    }
    let mut cli = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    cli.stdin
        .take()
        .unwrap()
        .write_all(keys.as_bytes())
        .unwrap();
    assert!(cli.wait().unwrap().success());

    let mut body = format!("[redis]\nurl = \"{}\"\n", redis.url());
    for (i, name) in ["chat_main", "chat_api", "chat_websocket"]
        .iter()
        .enumerate()
    {
        body.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\n",
            21000 + i
        ));
    }
    support::cache_workspace(&body).0
}

fn kovan(args: &[&str], ws: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kovan"))
        .args(args)
        .arg("--workspace")
        .arg(ws)
        .env_remove("KOVAN_WORKSPACE")
        // The history and the undo snapshots of the test's own.
        .env("KOVAN_DATA_DIR", ws.join(".kovan-data"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Distinct keys matching `pattern` (SCAN may return a key twice while Redis resizes its table).
fn count(redis: &Redis, pattern: &str) -> usize {
    let keys = redis.cli(&["--scan", "--pattern", pattern]);
    keys.lines()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

#[test]
fn keys_prints_each_instances_keys_and_sessions_other_apps_and_dbsize() {
    let redis = Redis::start();
    let ws = trio(&redis);
    let out = kovan(&["keys"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let row = |name: &str| -> Vec<String> {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} row in:\n{stdout}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("chat_main")[..4], ["chat_main", "redis", "1,234", "2"]);
    assert_eq!(row("chat_api")[..4], ["chat_api", "redis", "3", "0"]);
    assert!(
        stdout.contains("other apps  5 keys") && stdout.contains("DBSIZE      1,242"),
        "{stdout}"
    );

    let out = kovan(&["keys", "--json"], ws.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"][0]["count"]["state"], "counted");
    assert_eq!(v["instances"][0]["count"]["keys"], 1234);
    assert_eq!(v["redis"]["otherApps"], 5);
}

#[test]
fn flush_asks_first_and_without_a_terminal_wants_yes() {
    let redis = Redis::start();
    let ws = trio(&redis);
    let out = kovan(&["flush", "chat_main"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    // The default scope keeps the sessions, and says so.
    assert!(
        stdout.contains("scope cache (everything but the sessions; users stay logged in), will be deleted:\n  1,232 cache keys of chat_main; sessions are kept: 2 sessions stay.\n"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("Pass --yes"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(count(&redis, "t_chat_main:*"), 1234, "nothing deleted");

    // On a terminal: "n" keeps everything, "y" flushes.
    let kovan_bin = env!("CARGO_BIN_EXE_kovan");
    let on_terminal = |answer: &str| {
        let command = format!(
            "{kovan_bin} flush chat_main --workspace {}",
            ws.path().display()
        );
        let mut script = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        script
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        script.wait_with_output().unwrap()
    };
    let out = on_terminal("n\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("Continue? [y/N]"));
    assert_eq!(count(&redis, "t_chat_main:*"), 1234);
    let out = on_terminal("y\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("chat_main: 1,232 keys deleted, 0 sessions among them."),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(count(&redis, "t_chat_main:*"), 2, "the sessions stay");
    assert_eq!(count(&redis, "t_chat_api:*"), 3);
    assert_eq!(count(&redis, "other_app:*"), 5);
}

#[test]
fn flush_yes_deletes_one_instance_all_or_nothing_with_dry_run() {
    let redis = Redis::start();
    let ws = trio(&redis);
    let out = kovan(&["flush", "chat_api", "--dry-run", "--json"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let preview: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(preview["keys"], 3);
    assert_eq!(preview["instances"], serde_json::json!(["chat_api"]));
    assert_eq!(count(&redis, "t_chat_api:*"), 3);

    let out = kovan(&["flush", "chat_api", "--yes"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("chat_api: 3 keys deleted"));
    assert_eq!(count(&redis, "t_chat_api:*"), 0);
    assert_eq!(count(&redis, "t_chat_main:*"), 1234);

    let out = kovan(
        &["flush", "--all", "--scope", "all", "--yes", "--json"],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scope"], "all");
    assert_eq!(report["part"], "all");
    assert_eq!(report["deleted"], 1234);
    assert_eq!(report["sessionsDeleted"], 2);
    assert_eq!(
        redis.cli(&["DBSIZE"]).trim(),
        "5",
        "only the other app's keys are left"
    );
}

#[test]
fn flush_scope_and_match_say_what_goes_and_take_only_that() {
    let redis = Redis::start();
    let ws = trio(&redis);
    let out = kovan(
        &["flush", "chat_main", "--scope", "sessions", "--dry-run"],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  2 cached sessions of chat_main; the cache is kept: 1,232 keys stay; db sessions not counted: the session engine is unknown"),
        "{stdout}"
    );

    // k1, k10…k19, k100…k199, k1000…k1231.
    let out = kovan(
        &[
            "flush",
            "chat_main",
            "--match",
            "k1*",
            "--dry-run",
            "--json",
        ],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let preview: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(preview["part"]["match"], "k1*");
    assert_eq!(preview["keys"], 343);
    assert_eq!(
        count(&redis, "t_chat_main:*"),
        1234,
        "a dry run deletes nothing"
    );

    let out = kovan(
        &["flush", "chat_main", "--match", "k1*", "--yes", "--json"],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["deleted"], 343);
    assert_eq!(count(&redis, "t_chat_main:1:k1*"), 0);
    assert_eq!(count(&redis, "t_chat_main:*"), 1234 - 343);

    // A glob of everything stays inside the prefix.
    let out = kovan(&["flush", "chat_main", "--match", "*", "--yes"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(count(&redis, "t_chat_main:*"), 0);
    assert_eq!(count(&redis, "t_chat_api:*"), 3);
    assert_eq!(count(&redis, "other_app:*"), 5);

    let out = kovan(
        &["flush", "chat_main", "--scope", "all", "--match", "x"],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(2), "--scope and --match together");
}

#[test]
fn keys_groups_lists_an_instances_groups_with_the_glob_that_flushes_each() {
    let redis = Redis::start();
    let ws = trio(&redis);
    redis.cli(&[
        "SET",
        "t_chat_main:1:views.decorators.cache.cache_page.x",
        "v",
        "EX",
        "600",
    ]);
    let out = kovan(&["keys", "chat_main", "--groups"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("GROUP"), "{stdout}");
    assert!(
        lines[1].starts_with("(names without : or .)  1,232"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("sessions")
            && lines[2].ends_with("--match 'django.contrib.sessions.cache*'"),
        "{stdout}"
    );
    // One key of 600 s: the spread is that key's remaining lifetime, said once.
    assert!(lines[3].starts_with("cached pages"), "{stdout}");
    assert!(
        [
            "9m59s–9m59s (median 9m59s)",
            "10m00s–10m00s (median 10m00s)"
        ]
        .iter()
        .any(|ttl| lines[3].contains(ttl)),
        "{stdout}"
    );
    assert!(
        stdout.contains("chat_main: 1,235 keys under t_chat_main:"),
        "{stdout}"
    );

    let out = kovan(&["keys", "chat_main", "--groups", "--json"], ws.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["keys"], 1235);
    assert_eq!(
        v["groups"][2]["glob"],
        "views.decorators.cache.cache_page.*"
    );

    let out = kovan(&["keys", "chat_main"], ws.path());
    assert_eq!(out.status.code(), Some(0), "a name alone: its counts");
    let out = kovan(&["keys", "chat_nope", "--groups"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`chat_nope` is not an instance"));
}

#[test]
fn wrong_names_a_stopped_redis_and_missing_arguments_fail_plainly() {
    let redis = Redis::start();
    let ws = trio(&redis);
    let out = kovan(&["flush", "chat_nope", "--yes"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("`chat_nope` is not an instance of this workspace"),
        "{}",
        text(&out.stderr)
    );

    let out = kovan(&["flush"], ws.path());
    assert_eq!(out.status.code(), Some(2), "INSTANCE or --all is required");

    let port = support::free_port();
    let toml = ws.path().join("kovan.toml");
    let text_toml = std::fs::read_to_string(&toml).unwrap().replace(
        &redis.url(),
        &format!("redis://:topsecret@127.0.0.1:{port}/0"),
    );
    std::fs::write(&toml, text_toml).unwrap();
    for args in [&["keys"][..], &["flush", "--all", "--yes"]] {
        let out = kovan(args, ws.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("refused the connection"), "{stderr}");
        assert!(stderr.contains("or set managed = true"), "{stderr}");
        assert!(
            !stderr.contains("topsecret") && !text(&out.stdout).contains("topsecret"),
            "{stderr}"
        );
    }

    // Said from the config: never "set managed = true" to a kovan.toml that already has it.
    let managed = std::fs::read_to_string(&toml).unwrap().replacen(
        "[redis]\n",
        "[redis]\nmanaged = true\n",
        1,
    );
    std::fs::write(&toml, managed).unwrap();
    let out = kovan(&["keys"], ws.path());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("refused the connection")
            && stderr.contains("kovan.toml says managed = true")
            && !stderr.contains("set managed = true"),
        "{stderr}"
    );
}

#[test]
fn a_flush_is_undone_by_kovan_undo_and_without_undo_says_there_is_nothing() {
    let redis = Redis::start();
    let ws = trio(&redis);
    let out = kovan(
        &["flush", "chat_main", "--scope", "all", "--yes"],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let id = said
        .lines()
        .find_map(|l| l.strip_prefix("undo: `kovan undo "))
        .and_then(|l| l.split('`').next())
        .unwrap_or_else(|| panic!("no undo line: {said}"))
        .to_string();
    assert_eq!(count(&redis, "t_chat_main:*"), 0);

    let out = kovan(&["undo", "--list"], ws.path());
    let listed = text(&out.stdout);
    assert!(
        listed.contains(&id) && listed.contains("1,234 keys of chat_main"),
        "{listed}"
    );
    let out = kovan(&["undo"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("{id}: 1,234 keys restored, 0 skipped")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(count(&redis, "t_chat_main:*"), 1234);
    assert_eq!(redis.cli(&["DBSIZE"]).trim(), "1242");

    // Without undo: nothing saved, and nothing left to undo.
    let out = kovan(&["flush", "chat_api", "--yes", "--no-undo"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("undo:"),
        "{}",
        text(&out.stdout)
    );
    let out = kovan(&["undo"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("there is no flush of"),
        "{}",
        text(&out.stderr)
    );
}

/// `kovan flush` killed with SIGKILL while it deletes: every key it deleted until then is in its
/// snapshot, and `kovan undo` puts them all back.
#[test]
fn a_flush_killed_halfway_leaves_a_snapshot_that_undoes_what_it_deleted() {
    let redis = Redis::start();
    let ws = trio(&redis);
    // 300,000 more of chat_main's keys, through the mass-insert protocol.
    let mut protocol = Vec::new();
    for i in 0..300_000 {
        let key = format!("t_chat_main:1:bulk{i}");
        protocol.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$5\r\nvalue\r\n",
                key.len()
            )
            .as_bytes(),
        );
    }
    let mut cli = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    cli.stdin.take().unwrap().write_all(&protocol).unwrap();
    assert!(cli.wait().unwrap().success());
    let total = 301_242;
    assert_eq!(redis.cli(&["DBSIZE"]).trim(), total.to_string());

    let mut flush = Command::new(env!("CARGO_BIN_EXE_kovan"))
        .args([
            "flush",
            "chat_main",
            "--scope",
            "all",
            "--yes",
            "--workspace",
        ])
        .arg(ws.path())
        .env_remove("KOVAN_WORKSPACE")
        .env("KOVAN_DATA_DIR", ws.path().join(".kovan-data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let size: u64 = redis.cli(&["DBSIZE"]).trim().parse().unwrap();
        if size < total - 30_000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the flush did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: the kovan flush this test started.
    unsafe { libc::kill(flush.id() as i32, libc::SIGKILL) };
    flush.wait().unwrap();
    let left: u64 = redis.cli(&["DBSIZE"]).trim().parse().unwrap();
    assert!(
        left > 8,
        "the flush finished before it was killed ({left} keys left)"
    );

    let listed = text(&kovan(&["undo", "--list"], ws.path()).stdout);
    assert!(
        listed.contains("keys of a flush that did not finish"),
        "{listed}"
    );
    let out = kovan(&["undo", "--json"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(
        redis.cli(&["DBSIZE"]).trim(),
        total.to_string(),
        "not every deleted key came back: {report}"
    );
}

/// The trio as the site `chat` (channel prefix `t_chat`) and `review` isolated, on Redis: 4 cache
/// keys and 1 session per instance, 2 of another app's, and 3 keys of the site's channel layer in
/// channels_redis's shapes.
fn site(redis: &Redis) -> tempfile::TempDir {
    let mut keys = String::new();
    for name in ["chat_main", "chat_api", "chat_websocket", "review"] {
        for i in 0..4 {
            keys.push_str(&format!("SET t_{name}:1:k{i} v\n"));
        }
        keys.push_str(&format!(
            "SET t_{name}:1:django.contrib.sessions.cachex v\n"
        ));
    }
    keys.push_str("SET other_app:1 v\nSET other_app:2 v\n");
    keys.push_str("ZADD t_chat:group:lobby 1 chat.inbox\nZADD t_chatchat.inbox 1 m\nZADD t_chatspecific.0a1b2c! 1 m\n");
    let mut cli = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    cli.stdin
        .take()
        .unwrap()
        .write_all(keys.as_bytes())
        .unwrap();
    assert!(cli.wait().unwrap().success());

    let mut body = format!("[redis]\nurl = \"{}\"\n", redis.url());
    let roles = ["main", "api", "websocket", "main"];
    for (i, name) in ["chat_main", "chat_api", "chat_websocket", "review"]
        .iter()
        .enumerate()
    {
        body.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\nrole = \"{}\"\n",
            21100 + i,
            roles[i]
        ));
    }
    body.push_str(&format!(
        "\n[site.chat]\ninstances = [\"chat_main\", \"chat_api\", \"chat_websocket\"]\nfront_door = {}\n",
        support::free_port()
    ));
    support::cache_workspace(&body).0
}

#[test]
fn keys_shows_a_sites_channel_layer_on_a_line_of_its_own_apart_from_other_apps() {
    let redis = Redis::start();
    let ws = site(&redis);
    let out = kovan(&["keys"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  site chat  channel layer t_chat: 3 keys (no flush touches them)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("other apps  2 keys"), "{stdout}");

    let out = kovan(&["keys", "--json"], ws.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["sites"],
        serde_json::json!([{ "site": "chat", "channelPrefix": "t_chat", "keys": 3 }])
    );
    assert_eq!(v["redis"]["otherApps"], 2);
}

#[test]
fn flush_of_a_sites_name_deletes_exactly_its_members_cache_keys() {
    let redis = Redis::start();
    let ws = site(&redis);
    let before: std::collections::BTreeSet<String> = redis.keys().into_iter().collect();

    let out = kovan(&["flush", "chat", "--dry-run"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("site chat: its members chat_main, chat_api, chat_websocket, each under its own cache prefix.\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("channel layer of chat (t_chat): 3 keys stay untouched."),
        "{stdout}"
    );

    let out = kovan(&["flush", "chat", "--yes", "--json"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scope"], serde_json::json!({ "site": "chat" }));
    assert_eq!(report["deleted"], 12);
    let after: std::collections::BTreeSet<String> = redis.keys().into_iter().collect();
    let gone: Vec<&String> = before.difference(&after).collect();
    let expected: Vec<String> = ["chat_api", "chat_main", "chat_websocket"]
        .iter()
        .flat_map(|m| (0..4).map(move |i| format!("t_{m}:1:k{i}")))
        .collect();
    assert_eq!(gone, expected.iter().collect::<Vec<_>>());
    for kept in [
        "t_chat:group:lobby",
        "t_chatchat.inbox",
        "t_chatspecific.0a1b2c!",
        "t_chat_main:1:django.contrib.sessions.cachex",
        "t_review:1:k0",
        "other_app:1",
    ] {
        assert!(after.contains(kept), "{kept} stays");
    }

    // An unknown site where a site is meant: the names there are.
    let out = kovan(&["flush", "shop", "--yes"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("`shop` is not an instance of this workspace. Use one of: chat_main, chat_api, chat_websocket, review, or a site: chat."),
        "{}",
        text(&out.stderr)
    );
    let help = text(&kovan(&["flush", "--help"], ws.path()).stdout);
    assert!(help.contains("INSTANCE|SITE"), "{help}");
    assert!(help.contains("kovan flush chat"), "{help}");
}

#[test]
fn keys_and_flush_speak_per_cache_alias() {
    let redis = Redis::start();
    redis.cli(&["SET", "t_a:1:k", "v"]);
    for i in 0..3 {
        redis.cli(&["SET", &format!("t_a.pages:1:p{i}"), "v"]);
    }
    redis.cli(&["SET", "t_b:1:k", "v"]);
    let body = format!(
        "[redis]\nurl = \"{}\"\n\n[[instance]]\nname = \"a\"\nport = 21100\n\n[instance.caches.pages]\nbackend = \"redis\"\ntimeout = 60\n\n[[instance]]\nname = \"b\"\nport = 21101\n",
        redis.url()
    );
    let ws = support::cache_workspace(&body).0;

    let out = kovan(&["keys"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .take(4)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["INSTANCE", "ALIAS", "CACHE", "KEYS", "SESSIONS"]);
    assert_eq!(rows[1], ["a", "default", "redis", "1", "0"]);
    assert_eq!(rows[2], ["a", "pages", "redis", "3", "0"]);
    assert_eq!(rows[3], ["b", "default", "redis", "1", "0"]);

    let out = kovan(&["keys", "a", "--json"], ws.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"].as_array().unwrap().len(), 1);
    assert_eq!(v["instances"][0]["count"]["keys"], 1);
    assert_eq!(v["instances"][0]["aliases"][0]["alias"], "pages");
    assert_eq!(v["instances"][0]["aliases"][0]["prefix"], "t_a.pages");
    assert_eq!(v["instances"][0]["aliases"][0]["count"]["keys"], 3);

    let out = kovan(&["flush", "a", "--alias", "nope", "--yes"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "no instance of the flush has the cache alias `nope`. Its aliases: default, pages."
        ),
        "{}",
        text(&out.stderr)
    );

    let out = kovan(&["flush", "a", "--alias", "pages", "--yes"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  3 cache keys of a (pages); sessions are kept"),
        "{stdout}"
    );
    assert!(stdout.contains("a (pages): 3 keys deleted"), "{stdout}");
    assert_eq!(count(&redis, "t_a.pages:*"), 0);
    assert_eq!(count(&redis, "t_a:*"), 1);
    assert_eq!(count(&redis, "t_b:*"), 1);

    let out = kovan(&["flush", "a", "--yes", "--json"], ws.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let per: Vec<(String, u64)> = v["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["alias"].as_str().unwrap().to_string(),
                i["deleted"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per, [("default".to_string(), 1), ("pages".to_string(), 0)]);
    assert_eq!(count(&redis, "t_b:*"), 1);
}
