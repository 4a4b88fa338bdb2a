//! The inspector against a real redis-server: an instance's keys grouped in one pass, each group
//! counted exactly, with its memory and lifetimes, and a glob that flushes just that group.

mod support;

use std::time::{Duration, Instant};

use kovan_core::cache::{self, CancelToken, FlushPart, FlushScope, KeyGroups};
use kovan_core::error::Classified;
use kovan_core::Workspace;
use redis::aio::MultiplexedConnection;
use support::Redis;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn workspace(url: &str) -> (tempfile::TempDir, Workspace) {
    let mut body = format!("[redis]\nurl = \"{url}\"\n");
    for (i, (name, prefix)) in [("a", "t_a"), ("b", "t_b")].iter().enumerate() {
        body.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\ncache = \"redis\"\ncache_prefix = \"{prefix}\"\n",
            22000 + i
        ));
    }
    support::cache_workspace(&body)
}

async fn connect(redis: &Redis) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// `n` keys `{prefix}:1:{name}{i}`, expiring in `ttl` seconds (never when 0).
async fn load(conn: &mut MultiplexedConnection, prefix: &str, name: &str, n: usize, ttl: u64) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let key = format!("{prefix}:1:{name}{i}");
            if ttl == 0 {
                pipe.cmd("SET").arg(key).arg("value").ignore();
            } else {
                pipe.cmd("SET")
                    .arg(key)
                    .arg("value")
                    .arg("EX")
                    .arg(ttl)
                    .ignore();
            }
        }
        pipe.query_async::<()>(conn).await.unwrap();
    }
}

fn group<'g>(found: &'g KeyGroups, name: &str) -> &'g cache::KeyGroup {
    found
        .groups
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no group {name}: {found:#?}"))
}

#[test]
fn keys_are_grouped_counted_measured_and_a_group_flushes_alone() {
    let redis = Redis::start();
    let (_dir, ws) = workspace(&redis.url());
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        load(
            &mut conn,
            "t_a",
            "views.decorators.cache.cache_page.",
            1200,
            600,
        )
        .await;
        load(
            &mut conn,
            "t_a",
            "views.decorators.cache.cache_header.",
            30,
            600,
        )
        .await;
        load(&mut conn, "t_a", "template.cache.sidebar.", 40, 60).await;
        load(&mut conn, "t_a", "django.contrib.sessions.cache", 25, 3600).await;
        load(&mut conn, "t_a", "user:", 300, 0).await;
        load(&mut conn, "t_a", "plain", 7, 0).await;
        load(&mut conn, "t_b", "user:", 500, 0).await;
        load(&mut conn, "other", "user:", 50, 0).await;

        let found = cache::groups(&ws, "a").await.unwrap();
        assert_eq!(found.keys, 1200 + 30 + 40 + 25 + 300 + 7);
        let names: Vec<(&str, u64)> = found
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g.keys))
            .collect();
        assert_eq!(
            names,
            [
                ("cached pages", 1200),
                ("user:*", 300),
                ("template fragments", 40),
                ("cached page headers", 30),
                ("sessions", 25),
                ("(names without : or .)", 7),
            ]
        );
        let pages = group(&found, "cached pages");
        assert_eq!(pages.sampled, cache::GROUP_SAMPLE as u64);
        let (min, max) = (pages.ttl_min_ms.unwrap(), pages.ttl_max_ms.unwrap());
        assert!(590_000 <= min && max <= 600_000, "{pages:?}");
        assert!(pages.memory_bytes.unwrap() > 1200 * 8, "{pages:?}");
        let users = group(&found, "user:*");
        assert_eq!((users.persistent, users.ttl_max_ms), (64, None));
        assert_eq!(group(&found, "(names without : or .)").glob, None);

        // Flushing a group through its glob takes exactly that group.
        let glob = pages.glob.clone().unwrap();
        let preview = cache::preview_part(
            &ws,
            FlushScope::Instances(vec!["a".into()]),
            FlushPart::Match(glob),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(preview.keys, 1200);
        let report = cache::flush(&ws, &preview, &CancelToken::new(), |_| {}).await;
        assert_eq!(report.deleted, 1200);
        let after = cache::groups(&ws, "a").await.unwrap();
        assert_eq!(after.keys, found.keys - 1200);
        assert!(after.groups.iter().all(|g| g.name != "cached pages"));
        assert_eq!(cache::groups(&ws, "b").await.unwrap().keys, 500);

        let e = cache::groups(&ws, "nope").await.unwrap_err();
        assert_eq!(e.kind().as_str(), "unknown_instance");
    });
}

/// The inspector's pass against a plain count of the same 300,000 keys. Run with
/// `cargo test -p kovan-core --test cache_groups -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: 300,000 keys"]
fn the_inspectors_pass_against_a_plain_count_on_300000_keys() {
    let redis = Redis::start();
    let (_dir, ws) = workspace(&redis.url());
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        load(
            &mut conn,
            "t_a",
            "views.decorators.cache.cache_page.",
            150_000,
            600,
        )
        .await;
        load(&mut conn, "t_a", "user:", 100_000, 0).await;
        load(
            &mut conn,
            "t_a",
            "django.contrib.sessions.cache",
            20_000,
            3600,
        )
        .await;
        load(&mut conn, "t_b", "user:", 30_000, 0).await;
        let best = |mut times: Vec<Duration>| {
            times.sort();
            times[0]
        };
        let mut counts = Vec::new();
        let mut inspections = Vec::new();
        for _ in 0..3 {
            let clock = Instant::now();
            let counted = cache::count(&ws, |_| {}).await;
            counts.push(clock.elapsed());
            assert!(counted.instance("a").unwrap().count.counted().is_some());
            let clock = Instant::now();
            let found = cache::groups(&ws, "a").await.unwrap();
            inspections.push(clock.elapsed());
            assert_eq!(found.keys, 270_000);
        }
        let (count, inspect) = (best(counts), best(inspections));
        eprintln!(
            "300,000 keys: plain count {:.0} ms, inspector {:.0} ms, ratio {:.2}",
            count.as_secs_f64() * 1000.0,
            inspect.as_secs_f64() * 1000.0,
            inspect.as_secs_f64() / count.as_secs_f64()
        );
    });
}

/// `{prefix}:{version}:` then the rest of a key, when it has that shape.
fn tail_of<'k>(prefix: &str, key: &'k [u8]) -> Option<&'k [u8]> {
    let rest = key.strip_prefix(prefix.as_bytes())?.strip_prefix(b":")?;
    let colon = rest.iter().position(|&b| b == b':')?;
    (colon > 0 && rest[..colon].iter().all(u8::is_ascii_digit)).then(|| &rest[colon + 1..])
}

/// Every choice of the flush dialog, as the window makes it: `flush_preview_part` (its preview sent
/// to the page as JSON and back), then `flush_cache` (the Flusher, saving for undo), then Undo.
/// Each part's preview count is exactly what its flush deletes, and the inspector's group of each
/// glob counted the same.
#[test]
fn each_choice_of_the_window_previews_exactly_what_its_flush_deletes() {
    use std::collections::BTreeSet;

    let redis = Redis::start();
    let (dir, ws) = workspace(&redis.url());
    std::fs::create_dir_all(dir.path().join("t")).unwrap();
    std::fs::write(
        dir.path().join("t/settings.py"),
        "SESSION_ENGINE = \"django.contrib.sessions.backends.cached_db\"\n",
    )
    .unwrap();
    let snapshots = tempfile::tempdir().unwrap();
    let undo = cache::Undo::of(&ws, snapshots.path());
    let flusher = cache::Flusher::new();
    runtime().block_on(async {
        let mut conn = connect(&redis).await;
        load(
            &mut conn,
            "t_a",
            "views.decorators.cache.cache_page..GET.",
            300,
            600,
        )
        .await;
        load(
            &mut conn,
            "t_a",
            "views.decorators.cache.cache_header..",
            50,
            600,
        )
        .await;
        load(&mut conn, "t_a", "template.cache.sidebar.", 40, 60).await;
        load(&mut conn, "t_a", "django.contrib.sessions.cache", 25, 3600).await;
        load(
            &mut conn,
            "t_a",
            "django.contrib.sessions.cached_db",
            15,
            3600,
        )
        .await;
        load(&mut conn, "t_a", "user:", 120, 0).await;
        load(&mut conn, "t_a", "cart.", 33, 900).await;
        load(&mut conn, "t_a", "plain", 7, 0).await;
        // Another version, keys no glob of a's may reach, b's and another app's.
        let mut pipe = redis::pipe();
        for i in 0..10 {
            pipe.cmd("SET")
                .arg(format!("t_a:2:user:{i}"))
                .arg("v")
                .ignore();
            pipe.cmd("SET")
                .arg(format!("t_a_old:1:user:{i}"))
                .arg("v")
                .ignore();
            pipe.cmd("SET")
                .arg(format!("other:1:user:{i}"))
                .arg("v")
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await.unwrap();
        load(&mut conn, "t_b", "user:", 100, 0).await;
        load(&mut conn, "t_b", "django.contrib.sessions.cache", 10, 0).await;
        let all_keys = |conn: &mut MultiplexedConnection| {
            let mut conn = conn.clone();
            async move {
                redis::cmd("KEYS")
                    .arg("*")
                    .query_async::<BTreeSet<Vec<u8>>>(&mut conn)
                    .await
                    .unwrap()
            }
        };
        let before = all_keys(&mut conn).await;
        let found = cache::groups(&ws, "a").await.unwrap();
        let globbed: Vec<&cache::KeyGroup> =
            found.groups.iter().filter(|g| g.glob.is_some()).collect();
        assert_eq!(globbed.len(), 6, "{found:#?}");

        let mut parts = vec![FlushPart::Cache, FlushPart::Sessions, FlushPart::All];
        parts.extend(
            globbed
                .iter()
                .map(|g| FlushPart::Match(g.glob.clone().unwrap())),
        );
        let mut seen = Vec::new();
        for part in parts {
            let scope = FlushScope::Instances(vec!["a".into()]);
            let shown = cache::preview_part(&ws, scope, part.clone(), |_| {})
                .await
                .unwrap();
            // The page holds the preview as JSON and sends it back with the confirmation.
            let sent: cache::FlushPreview =
                serde_json::from_str(&serde_json::to_string(&shown).unwrap()).unwrap();
            assert_eq!(sent, shown, "{part:?}");
            let report = flusher
                .run(&ws, &sent, Some(&undo), None, |_| {})
                .await
                .unwrap();
            let after = all_keys(&mut conn).await;
            let gone: BTreeSet<Vec<u8>> = before.difference(&after).cloned().collect();
            // What goes, worked out here from the key names alone.
            let session = |t: &[u8]| t.starts_with(b"django.contrib.sessions.cache");
            let want: BTreeSet<Vec<u8>> = before
                .iter()
                .filter(
                    |k| match (k.starts_with(b"t_a:"), tail_of("t_a", k), &part) {
                        (false, _, _) => false,
                        (true, _, FlushPart::All) => true,
                        (true, Some(t), FlushPart::Sessions) => session(t),
                        (true, t, FlushPart::Cache) => !t.is_some_and(session),
                        (true, Some(t), FlushPart::Match(glob)) => {
                            kovan_core::cache::redis::glob_matches(glob.as_bytes(), t)
                        }
                        (true, None, _) => false,
                    },
                )
                .cloned()
                .collect();
            assert_eq!(gone, want, "{part:?}");
            assert_eq!(
                (shown.keys, report.deleted),
                (gone.len() as u64, gone.len() as u64),
                "{part:?}"
            );
            assert!(report.succeeded(), "{report:#?}");
            if let FlushPart::Match(glob) = &part {
                let group = globbed
                    .iter()
                    .find(|g| g.glob.as_ref() == Some(glob))
                    .unwrap();
                assert_eq!(group.keys, shown.keys, "{part:?}: the inspector's count");
            }
            seen.push((part.clone(), shown.keys));
            // Undo puts the part back, so the next choice starts from the same keys.
            let snapshot = report
                .undo
                .as_ref()
                .expect("a Redis flush is saved")
                .id
                .clone();
            let undone = cache::undo(&ws, &undo, Some(&snapshot)).await.unwrap();
            assert_eq!(undone.restored, gone.len() as u64, "{part:?}");
            assert_eq!(all_keys(&mut conn).await, before, "{part:?}: undo");
        }
        eprintln!("each part's preview and flush: {seen:?}");
        // The set is what the test says: 600 keys of a in version 1 or 2, 40 sessions among them.
        assert_eq!(seen[2].1, 300 + 50 + 40 + 25 + 15 + 120 + 33 + 7 + 10);
        assert_eq!(seen[1].1, 40);
        assert_eq!(seen[0].1 + seen[1].1, seen[2].1);
    });
}
