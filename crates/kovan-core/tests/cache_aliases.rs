//! Several cache aliases per instance (issue 18, item 2): `[instance.caches.NAME]` beside the
//! instance's own `default`, each under its own derived prefix, counted and flushed apart and
//! together, against a real redis-server and a real Django `runserver` (the test venv).

mod support;

use std::collections::BTreeSet;

use kovan_core::cache::{
    self, CacheCounts, CancelToken, FlushOutcome, FlushPart, FlushScope, KeyCount,
};
use kovan_core::error::Classified;
use kovan_core::workspace::{self, CacheBackend, WorkspaceError};
use kovan_core::Workspace;
use support::Redis;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn load(redis: &Redis, redis_aliases: &str) -> (tempfile::TempDir, Workspace) {
    support::cache_workspace(&format!(
        "[redis]\nurl = \"{}\"\n\n[[instance]]\nname = \"a\"\nport = 21100\n\n{redis_aliases}\n[[instance]]\nname = \"b\"\nport = 21101\n",
        redis.url()
    ))
}

fn set(redis: &Redis, keys: impl IntoIterator<Item = String>) {
    let mut script = String::new();
    for k in keys {
        script.push_str(&format!("SET {k} v\n"));
    }
    let mut cli = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    cli.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(cli.wait().unwrap().success());
}

fn keys_of(redis: &Redis) -> BTreeSet<String> {
    redis.keys().into_iter().collect()
}

fn counted(counts: &CacheCounts, instance: &str, alias: &str) -> Option<u64> {
    counts
        .alias(instance, alias)
        .and_then(|c| c.counted())
        .map(|(k, _)| k)
}

fn preview(
    ws: &Workspace,
    names: &[&str],
    aliases: &[&str],
) -> Result<cache::FlushPreview, cache::CacheError> {
    runtime().block_on(cache::preview_aliases(
        ws,
        FlushScope::Instances(names.iter().map(|s| s.to_string()).collect()),
        FlushPart::Cache,
        aliases.iter().map(|s| s.to_string()).collect(),
        |_| {},
    ))
}

#[test]
fn two_redis_aliases_of_one_instance_are_counted_and_flushed_apart_and_together() {
    let redis = Redis::start();
    let (_dir, ws) = load(
        &redis,
        "[instance.caches.pages]\nbackend = \"redis\"\ntimeout = 60\n",
    );
    let a = ws.instance("a").unwrap();
    assert_eq!(a.alias_names(), ["default", "pages"]);
    assert_eq!(a.caches[0].prefix, "t_a.pages");
    assert_eq!(a.caches[0].timeout, 60);

    // a's default (3 keys, a session among them), a's pages (5), b (4), another app (2), and a
    // key that only looks like a's: `t_a.pagesx` is neither alias.
    let mut keys: Vec<String> = (0..2).map(|i| format!("t_a:1:k{i}")).collect();
    keys.push("t_a:1:django.contrib.sessions.cacheabc".into());
    keys.extend((0..5).map(|i| format!("t_a.pages:1:p{i}")));
    keys.extend((0..4).map(|i| format!("t_b:1:k{i}")));
    keys.extend(["other:1".to_string(), "t_a.pagesx:1:z".to_string()]);
    set(&redis, keys);
    let before = keys_of(&redis);

    let counts = runtime().block_on(cache::count(&ws, |_| {}));
    assert_eq!(counted(&counts, "a", "default"), Some(3));
    assert_eq!(counted(&counts, "a", "pages"), Some(5));
    assert_eq!(counted(&counts, "b", "default"), Some(4));
    assert_eq!(counts.instance("a").unwrap().aliases[0].prefix, "t_a.pages");
    assert!(counts.instance("b").unwrap().aliases.is_empty());
    assert_eq!(counts.other_apps(), Some(2));

    // Apart: only `pages`, whole (it holds no sessions), with undo.
    let p = preview(&ws, &["a"], &["pages"]).unwrap();
    assert_eq!(p.parts.len(), 1);
    assert_eq!(p.parts[0].alias, "pages");
    assert_eq!(p.keys, 5);
    assert!(
        p.parts[0].summary.starts_with("5 cache keys of a (pages)"),
        "{}",
        p.parts[0].summary
    );
    let dir = tempfile::tempdir().unwrap();
    let undo = cache::Undo::of(&ws, dir.path());
    let report = runtime().block_on(cache::flush_with(
        &ws,
        &p,
        Some(&undo),
        &CancelToken::new(),
        |_| {},
    ));
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.instances.len(), 1);
    assert_eq!(
        (
            report.instances[0].alias.as_str(),
            report.instances[0].deleted
        ),
        ("pages", 5)
    );
    assert!(report.instances[0].undoable);
    let pages: BTreeSet<String> = (0..5).map(|i| format!("t_a.pages:1:p{i}")).collect();
    let left: BTreeSet<String> = before.difference(&pages).cloned().collect();
    assert_eq!(keys_of(&redis), left, "only pages' keys went");

    // Its undo puts exactly them back.
    let restored = runtime()
        .block_on(cache::undo(
            &ws,
            &undo,
            report.undo.as_ref().map(|u| u.id.as_str()),
        ))
        .unwrap();
    assert_eq!(restored.restored, 5, "{restored:#?}");
    assert_eq!(keys_of(&redis), before);

    // Together: both aliases of a (no --alias), the default keeping its session; b untouched.
    let p = preview(&ws, &["a"], &[]).unwrap();
    let aliases: Vec<&str> = p.parts.iter().map(|p| p.alias.as_str()).collect();
    assert_eq!(aliases, ["default", "pages"]);
    assert_eq!(p.keys, 2 + 5);
    let report = runtime().block_on(cache::flush(&ws, &p, &CancelToken::new(), |_| {}));
    assert!(report.succeeded(), "{report:#?}");
    let per: Vec<(&str, u64)> = report
        .instances
        .iter()
        .map(|i| (i.alias.as_str(), i.deleted))
        .collect();
    assert_eq!(per, [("default", 2), ("pages", 5)]);
    // The history has one event for a, its aliases added up.
    let store = kovan_core::store::Store::open(&dir.path().join("kovan.sqlite3")).unwrap();
    cache::record(&store, &ws.file, &report).unwrap();
    let flushes: Vec<(Option<String>, u64)> = store
        .events(&ws.file, 20)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            kovan_core::store::HistoryEvent::Flush { deleted, .. } => Some((e.instance, deleted)),
            _ => None,
        })
        .collect();
    assert_eq!(flushes, [(Some("a".to_string()), 7)]);
    let expected: BTreeSet<String> = [
        "t_a:1:django.contrib.sessions.cacheabc",
        "t_b:1:k0",
        "t_b:1:k1",
        "t_b:1:k2",
        "t_b:1:k3",
        "other:1",
        "t_a.pagesx:1:z",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys_of(&redis), expected);

    // An alias no instance of the flush has is refused, naming the ones there are.
    let e = preview(&ws, &["a", "b"], &["nope"]).unwrap_err();
    assert_eq!(e.kind(), kovan_core::error::ErrorKind::UnknownAlias);
    assert!(
        e.to_string().contains("Its aliases: default, pages."),
        "{e}"
    );
    // `pages` of a scope where only a has it: b is not in the flush.
    let p = preview(&ws, &["a", "b"], &["pages"]).unwrap();
    assert_eq!(p.parts.len(), 1);
}

#[test]
fn an_alias_is_validated_on_its_line_and_files_without_aliases_load_as_before() {
    let bad = |aliases: &str| -> Vec<(String, Option<u32>, String)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manage.py"), "").unwrap();
        let text = format!(
            "[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n[[instance]]\nname = \"a\"\nport = 21100\ncache = \"locmem\"\n{aliases}"
        );
        std::fs::write(dir.path().join("kovan.toml"), text).unwrap();
        match workspace::load(dir.path()) {
            Err(WorkspaceError::Invalid { problems, .. }) => problems
                .into_iter()
                .map(|p| (p.field, p.line, p.message))
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let problems = bad("\n[instance.caches.default]\nbackend = \"locmem\"\n");
    assert_eq!(problems[0].0, "instance.a.caches.default");
    assert_eq!(problems[0].1, Some(10));
    assert!(problems[0]
        .2
        .contains("`default` is the instance's own cache"));

    let problems = bad("\n[instance.caches.Local]\nbackend = \"locmem\"\n");
    assert_eq!(problems[0].0, "instance.a.caches.Local");
    assert!(problems[0].2.contains("upper-case"), "{problems:?}");

    let problems = bad("\n[instance.caches.local]\nbackend = \"memcached\"\ntimeout = -1\n");
    let fields: Vec<(&str, Option<u32>)> = problems.iter().map(|p| (p.0.as_str(), p.1)).collect();
    assert_eq!(
        fields,
        [
            ("instance.a.caches.local.backend", Some(11)),
            ("instance.a.caches.local.timeout", Some(12)),
        ],
        "{problems:?}"
    );

    let problems = bad("\n[instance.caches.local]\ntimout = 60\n");
    assert!(
        problems
            .iter()
            .any(|p| p.2.contains("unknown field `timout`") && p.2.contains("`timeout`")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.2.contains("missing field `backend`")),
        "{problems:?}"
    );

    // A Redis alias needs [redis] like a Redis instance.
    let problems = bad("\n[instance.caches.shared]\nbackend = \"redis\"\n");
    assert!(
        problems[0].2.contains("a use cache = \"redis\""),
        "{problems:?}"
    );

    // `[caches.NAME]`: every instance's alias; an instance's own of that name wins; its
    // problems are said once, on its line, under `caches.NAME`.
    let (_dir, ws) = support::cache_workspace(
        "[caches.local]\nbackend = \"locmem\"\ntimeout = 30\n\n[[instance]]\nname = \"a\"\nport = 21100\ncache = \"locmem\"\n\n[[instance]]\nname = \"b\"\nport = 21101\ncache = \"locmem\"\n\n[instance.caches.local]\nbackend = \"dummy\"\ntimeout = 5\n",
    );
    let a = &ws.instance("a").unwrap().caches;
    assert_eq!(
        (
            a[0].name.as_str(),
            a[0].backend,
            a[0].timeout,
            a[0].prefix.as_str()
        ),
        ("local", CacheBackend::Locmem, 30, "t_a.local")
    );
    assert_eq!(a[0].location.as_deref(), Some("t_a.local"));
    let b = &ws.instance("b").unwrap().caches;
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].backend, b[0].timeout, b[0].prefix.as_str()),
        (CacheBackend::Dummy, 5, "t_b.local")
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(
        dir.path().join("kovan.toml"),
        "[project]\nname = \"t\"\nsettings = \"t.settings\"\n\n[caches.local]\nbackend = \"memcached\"\n\n[[instance]]\nname = \"a\"\nport = 21100\ncache = \"locmem\"\n\n[[instance]]\nname = \"b\"\nport = 21101\ncache = \"locmem\"\n",
    )
    .unwrap();
    match workspace::load(dir.path()) {
        Err(WorkspaceError::Invalid { problems, .. }) => {
            let fields: Vec<(&str, Option<u32>)> = problems
                .iter()
                .map(|p| (p.field.as_str(), p.line))
                .collect();
            assert_eq!(fields, [("caches.local.backend", Some(6))], "{problems:?}");
        }
        other => panic!("{other:?}"),
    }

    // The same kovan.toml without aliases: the instance has only `default`.
    let (_dir, ws) =
        support::cache_workspace("[[instance]]\nname = \"a\"\nport = 21100\ncache = \"locmem\"\n");
    let a = ws.instance("a").unwrap();
    assert!(a.caches.is_empty());
    assert_eq!(a.alias_names(), ["default"]);
    assert!(a.is_default_alias());
}

// ---- `default` on Redis and `local` in memory, in a real runserver (the guide's chat_main) ----

/// A view the test adds to the copied example: `POST /fill/ALIAS/N/` writes N keys to that cache.
const FILL_VIEW: &str = r#"

from django.core.cache import caches as _kovan_test_caches
from django.http import JsonResponse as _KovanTestJson
from django.views.decorators.csrf import csrf_exempt as _kovan_test_exempt


@_kovan_test_exempt
def _kovan_test_fill(request, alias, n):
    for i in range(n):
        _kovan_test_caches[alias].set(f"fill{i}", i)
    return _KovanTestJson({"alias": alias, "set": n})


urlpatterns.append(path("fill/<str:alias>/<int:n>/", _kovan_test_fill))
"#;

#[test]
fn default_on_redis_and_local_in_memory_are_counted_and_flushed_apart_and_together() {
    let redis = Redis::start();
    let dir = support::copy_example();
    let toml = dir.path().join("kovan.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    // chat_main gets a LocMem tier beside its Redis cache, as in the guide's table.
    let text = text.replacen(
        "weight = 3\n",
        "weight = 3\n\n[instance.caches.local]\nbackend = \"locmem\"\ntimeout = 60\n",
        1,
    );
    std::fs::write(&toml, text).unwrap();
    let urls = dir.path().join("dashboard_project/urls.py");
    let mut py = std::fs::read_to_string(&urls).unwrap();
    py.push_str(FILL_VIEW);
    std::fs::write(&urls, py).unwrap();
    let ws = support::example_on_free_ports_in(&dir, Some(&redis.url()));
    let main = ws.instance("chat_main").unwrap();
    assert_eq!(main.caches[0].backend, CacheBackend::Locmem);
    assert_eq!(main.caches[0].prefix, "context7_chat_main.local");

    // The generated CACHES has both aliases, each with its prefix and timeout.
    let shown = support::manage(
        &ws,
        "chat_main",
        &[
            "shell",
            "-c",
            "from django.conf import settings as s; import json; print(json.dumps({a: [c['BACKEND'], c['KEY_PREFIX'], c['TIMEOUT']] for a, c in s.CACHES.items()}))",
        ],
    );
    // The shell may say what it imported first: the JSON is the last line.
    let said = String::from_utf8_lossy(&shown.stdout);
    let caches: serde_json::Value = serde_json::from_str(said.lines().last().unwrap_or(""))
        .unwrap_or_else(|_| {
            panic!(
                "{}{}",
                String::from_utf8_lossy(&shown.stdout),
                String::from_utf8_lossy(&shown.stderr)
            )
        });
    assert_eq!(
        caches["default"],
        serde_json::json!([
            "django.core.cache.backends.redis.RedisCache",
            "context7_chat_main",
            3600
        ])
    );
    assert_eq!(
        caches["local"],
        serde_json::json!([
            "django.core.cache.backends.locmem.LocMemCache",
            "context7_chat_main.local",
            60
        ])
    );

    let port = main.port;
    let server = support::runserver(&ws, "chat_main", false);
    let fill = |alias: &str, n: u32| {
        let (status, body) = support::http(port, "POST", &format!("/fill/{alias}/{n}/"), &[]);
        assert_eq!(status, 200, "{body}");
    };
    fill("default", 7);
    fill("local", 4);
    // A second instance's keys, and another app's.
    set(
        &redis,
        (0..3)
            .map(|i| format!("context7_chat_api:1:k{i}"))
            .chain(["other:1".to_string()]),
    );
    let redis_before = keys_of(&redis);
    let main_keys = |keys: &BTreeSet<String>| -> BTreeSet<String> {
        keys.iter()
            .filter(|k| k.starts_with("context7_chat_main:"))
            .cloned()
            .collect()
    };
    assert_eq!(main_keys(&redis_before).len(), 7);

    let counts = runtime().block_on(cache::count(&ws, |_| {}));
    assert_eq!(counted(&counts, "chat_main", "default"), Some(7));
    assert_eq!(counted(&counts, "chat_main", "local"), Some(4));
    assert_eq!(counted(&counts, "chat_api", "default"), Some(3));
    // Django's own clear_cache says each alias apart, and agrees on the Redis one.
    let said = support::manage(
        &ws,
        "chat_main",
        &["clear_cache", "--type=cache", "--dry-run"],
    );
    let said = String::from_utf8_lossy(&said.stdout).into_owned();
    assert!(
        said.contains("default: 7 cache keys would be deleted (prefix context7_chat_main;")
            && said.contains("local: cache not cleared: LocMemCache lives in the server"),
        "{said}"
    );
    let refused = support::manage(&ws, "chat_main", &["clear_cache", "--alias", "nope"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("no cache alias 'nope'; this instance has default, local"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Apart: `local` only; every Redis key stays exactly. No undo for LocMem.
    let p = preview(&ws, &["chat_main"], &["local"]).unwrap();
    assert_eq!(p.keys, 4);
    let dir_undo = tempfile::tempdir().unwrap();
    let undo = cache::Undo::of(&ws, dir_undo.path());
    let report = runtime().block_on(cache::flush_with(
        &ws,
        &p,
        Some(&undo),
        &CancelToken::new(),
        |_| {},
    ));
    assert!(report.succeeded(), "{report:#?}");
    let i = &report.instances[0];
    assert_eq!(
        (i.alias.as_str(), i.backend, i.deleted),
        ("local", CacheBackend::Locmem, 4)
    );
    assert!(!i.undoable);
    assert!(report.undo.is_none());
    assert_eq!(keys_of(&redis), redis_before);
    let counts = runtime().block_on(cache::count(&ws, |_| {}));
    assert_eq!(counted(&counts, "chat_main", "local"), Some(0));
    assert_eq!(counted(&counts, "chat_main", "default"), Some(7));

    // Apart the other way: `default` only; the LocMem tier keeps its keys.
    fill("local", 4);
    let p = preview(&ws, &["chat_main"], &["default"]).unwrap();
    let report = runtime().block_on(cache::flush(&ws, &p, &CancelToken::new(), |_| {}));
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.deleted, 7);
    let counts = runtime().block_on(cache::count(&ws, |_| {}));
    assert_eq!(counted(&counts, "chat_main", "local"), Some(4));
    assert_eq!(counted(&counts, "chat_main", "default"), Some(0));
    let untouched: BTreeSet<String> = redis_before
        .difference(&main_keys(&redis_before))
        .cloned()
        .collect();
    assert_eq!(keys_of(&redis), untouched);

    // Together: both, said per alias; chat_api and the other app stay.
    fill("default", 2);
    let p = preview(&ws, &["chat_main"], &[]).unwrap();
    assert_eq!(p.keys, 2 + 4);
    let report = runtime().block_on(cache::flush(&ws, &p, &CancelToken::new(), |_| {}));
    let per: Vec<(&str, u64)> = report
        .instances
        .iter()
        .map(|i| (i.alias.as_str(), i.deleted))
        .collect();
    assert_eq!(per, [("default", 2), ("local", 4)], "{report:#?}");
    assert_eq!(keys_of(&redis), untouched);
    let counts = runtime().block_on(cache::count(&ws, |_| {}));
    assert_eq!(counted(&counts, "chat_main", "local"), Some(0));
    assert_eq!(counted(&counts, "chat_api", "default"), Some(3));

    // Stopped: the LocMem alias is empty, and a flush of it is skipped, saying why.
    drop(server);
    let counts = runtime().block_on(cache::count(&ws, |_| {}));
    assert!(matches!(
        counts.alias("chat_main", "local"),
        Some(KeyCount::NotRunning { .. })
    ));
    let p = preview(&ws, &["chat_main"], &["local"]).unwrap();
    let report = runtime().block_on(cache::flush(&ws, &p, &CancelToken::new(), |_| {}));
    assert!(matches!(
        report.instances[0].outcome,
        FlushOutcome::Skipped { .. }
    ));
}
