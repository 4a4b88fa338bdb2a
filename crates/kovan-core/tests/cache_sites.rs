//! A site's Redis keys against a real redis-server: the members' shared Channels layer is counted
//! apart (in the one SCAN pass) and no flush, of a member, of the whole site or of every instance,
//! ever deletes it; a site scope flushes exactly its members' keys.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use kovan_core::cache::{
    self, CacheCounts, CacheError, CancelToken, FlushPart, FlushReport, FlushScope, RedisKeys,
};
use kovan_core::error::{Classified, ErrorKind};
use kovan_core::Workspace;
use support::Redis;

const MEMBERS: [&str; 3] = ["chat_main", "chat_api", "chat_websocket"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Project `t`: the chat trio as site `chat` (channel prefix `t_chat`, cache prefixes
/// `t_chat_main`, …) and `review` isolated, all caching in Redis at `url`.
fn site_workspace(url: &str) -> (tempfile::TempDir, Workspace) {
    let mut body = format!("[redis]\nurl = \"{url}\"\n");
    let roles = ["main", "api", "websocket", "main"];
    for (i, name) in MEMBERS.iter().chain(&["review"]).enumerate() {
        body.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\nrole = \"{}\"\ncache = \"redis\"\n",
            22000 + i,
            roles[i]
        ));
    }
    body.push_str(&format!(
        "\n[site.chat]\ninstances = {MEMBERS:?}\nfront_door = {}\n",
        support::free_port()
    ));
    support::cache_workspace(&body)
}

/// Keys of the exact shapes channels_redis 4 writes under the site's prefix `t_chat`: a group
/// (a sorted set of channel names), a process's channel (its non-local part, up to the `!`) and a
/// named channel (sorted sets of messages).
const CHANNEL_KEYS: [&str; 4] = [
    "t_chat:group:room_lobby",
    "t_chat:group:room.2-b",
    "t_chatspecific.4b1f0c9e2d3a4f5e8a7b6c5d4e3f2a1b!",
    "t_chatchat.inbox",
];

/// 5 cache keys and 2 sessions per member, 4 of review's, 3 of another app's (one of them looks
/// like the layer's but is not of its shapes), and the channel-layer keys.
fn load(redis: &Redis) {
    let mut script = String::new();
    for m in MEMBERS.iter().chain(&["review"]) {
        for i in 0..5 {
            script.push_str(&format!("SET t_{m}:1:views.k{i} v\n"));
        }
        for i in 0..2 {
            script.push_str(&format!("SET t_{m}:1:django.contrib.sessions.cache{i} v\n"));
        }
    }
    script.push_str("SET other_app:1 v\nSET other_app:2 v\nSET t_chat:1:not_a_layer_key v\n");
    for key in CHANNEL_KEYS {
        script.push_str(&format!(
            "ZADD {key} 1 {}\n",
            if key.contains(":group:") {
                "specific.abc!def"
            } else {
                "msg"
            }
        ));
    }
    cli_script(redis, &script);
}

fn cli_script(redis: &Redis, script: &str) {
    use std::io::Write;
    let mut cli = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    cli.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(cli.wait().unwrap().success());
}

fn keys(redis: &Redis) -> BTreeSet<String> {
    redis.keys().into_iter().collect()
}

/// The keys under `t_chat` that are none of the members' cache keys (`t_chat_…:`) and not the
/// decoy: the channel layer's, found by brute force.
fn layer_keys(all: &BTreeSet<String>) -> BTreeSet<String> {
    all.iter()
        .filter(|k| {
            k.starts_with("t_chat")
                && !MEMBERS.iter().any(|m| k.starts_with(&format!("t_{m}:")))
                && !k.starts_with("t_chat:1:")
        })
        .cloned()
        .collect()
}

async fn flush(ws: &Workspace, scope: FlushScope, part: FlushPart) -> FlushReport {
    let preview = cache::preview_part(ws, scope, part, |_| {}).await.unwrap();
    cache::flush(ws, &preview, &CancelToken::new(), |_| {}).await
}

fn layer_count(counts: &CacheCounts) -> Option<u64> {
    let site = counts
        .site("chat")
        .expect("the site's layer is in the count");
    assert_eq!(site.channel_prefix, "t_chat");
    site.keys
}

#[test]
fn the_count_attributes_the_sites_channel_layer_keys_to_the_site_not_to_other_apps() {
    let redis = Redis::start();
    load(&redis);
    let (_dir, ws) = site_workspace(&redis.url());
    let counts = runtime().block_on(cache::count(&ws, |_| {}));
    assert_eq!(layer_count(&counts), Some(CHANNEL_KEYS.len() as u64));
    for m in MEMBERS.iter().chain(&["review"]) {
        assert_eq!(
            counts.instance(m).and_then(|i| i.count.counted()),
            Some((7, Some(2))),
            "{m}"
        );
    }
    // other_app:1, other_app:2 and the decoy t_chat:1:…
    assert_eq!(counts.other_apps(), Some(3));
    match &counts.redis {
        Some(RedisKeys::Counted {
            dbsize, scanned, ..
        }) => {
            assert_eq!(*dbsize, 4 * 7 + 3 + CHANNEL_KEYS.len() as u64);
            assert_eq!(scanned, dbsize);
        }
        other => panic!("{other:?}"),
    }
    // As the window and `kovan keys --json` get it.
    let json = serde_json::to_value(&counts).unwrap();
    assert_eq!(
        json["sites"],
        serde_json::json!([{ "site": "chat", "channelPrefix": "t_chat", "keys": 4 }])
    );
}

#[test]
fn no_flush_of_a_member_of_the_site_or_of_everything_deletes_a_channel_layer_key() {
    let redis = Redis::start();
    let (_dir, ws) = site_workspace(&redis.url());
    let rt = runtime();
    let scopes = MEMBERS
        .iter()
        .map(|m| FlushScope::Instances(vec![m.to_string()]))
        .chain([FlushScope::Site("chat".into()), FlushScope::All]);
    for scope in scopes {
        for part in [
            FlushPart::All,
            FlushPart::Cache,
            FlushPart::Match("*".into()),
        ] {
            redis.cli(&["FLUSHALL"]);
            load(&redis);
            let before = keys(&redis);
            let report = rt.block_on(flush(&ws, scope.clone(), part.clone()));
            assert!(report.succeeded(), "{scope:?} {part:?}: {report:#?}");
            assert!(report.deleted > 0, "{scope:?} {part:?}");
            let after = keys(&redis);
            assert_eq!(
                layer_keys(&after),
                CHANNEL_KEYS.iter().map(|k| k.to_string()).collect(),
                "{scope:?} {part:?}"
            );
            assert!(after.contains("t_chat:1:not_a_layer_key"));
            assert_eq!(
                before.len() - after.len(),
                report.deleted as usize,
                "{scope:?} {part:?}"
            );
        }
    }
}

#[test]
fn a_site_flush_deletes_exactly_its_members_keys_and_keeps_their_sessions_with_scope_cache() {
    let redis = Redis::start();
    load(&redis);
    let (_dir, ws) = site_workspace(&redis.url());
    let rt = runtime();
    let before = keys(&redis);

    let preview = rt
        .block_on(cache::preview(&ws, FlushScope::Site("chat".into()), |_| {}))
        .unwrap();
    assert_eq!(preview.instances, MEMBERS.map(String::from).to_vec());
    assert_eq!((preview.keys, preview.sessions), (15, 0));
    let report = rt.block_on(cache::flush(&ws, &preview, &CancelToken::new(), |_| {}));
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.scope, FlushScope::Site("chat".into()));
    assert_eq!(report.deleted, 15);

    let after = keys(&redis);
    let gone: BTreeSet<&String> = before.difference(&after).collect();
    let expected: BTreeSet<String> = MEMBERS
        .iter()
        .flat_map(|m| (0..5).map(move |i| format!("t_{m}:1:views.k{i}")))
        .collect();
    assert_eq!(gone, expected.iter().collect());
    // Their sessions, review's keys, other apps' and the layer stay.
    for m in MEMBERS {
        assert!(after.contains(&format!("t_{m}:1:django.contrib.sessions.cache0")));
    }
    assert_eq!(
        after.iter().filter(|k| k.starts_with("t_review:")).count(),
        7
    );
    assert!(after.contains("other_app:1") && after.contains("other_app:2"));
    assert_eq!(layer_keys(&after).len(), CHANNEL_KEYS.len());

    // The count after: the members hold only their sessions, the layer is whole.
    let counts = rt.block_on(cache::count(&ws, |_| {}));
    assert_eq!(
        counts.instance("chat_api").and_then(|i| i.count.counted()),
        Some((2, Some(2)))
    );
    assert_eq!(layer_count(&counts), Some(CHANNEL_KEYS.len() as u64));
}

#[test]
fn an_unknown_site_is_refused_naming_the_sites_there_are() {
    let redis = Redis::start();
    let (_dir, ws) = site_workspace(&redis.url());
    let e = runtime()
        .block_on(cache::preview(&ws, FlushScope::Site("shop".into()), |_| {}))
        .unwrap_err();
    assert!(matches!(e, CacheError::UnknownSite { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::UnknownSite);
    assert_eq!(
        e.to_string(),
        "`shop` is not a site of this workspace. Its sites: chat."
    );
    // A name that is neither an instance nor a site, among instance names.
    let e = FlushScope::named(&ws, &["chat_main".into(), "shop".into()])
        .resolve(&ws)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownInstance);
    assert!(e.to_string().ends_with("or a site: chat."), "{e}");
}

#[test]
fn a_sites_name_means_the_site_alone_and_its_members_among_other_names() {
    let redis = Redis::start();
    let (_dir, ws) = site_workspace(&redis.url());
    assert_eq!(
        FlushScope::named(&ws, &["chat".into()]),
        FlushScope::Site("chat".into())
    );
    assert_eq!(
        FlushScope::named(&ws, &["review".into(), "chat".into(), "chat_api".into()]),
        FlushScope::Instances(
            ["review", "chat_main", "chat_api", "chat_websocket"]
                .map(String::from)
                .to_vec()
        )
    );
}

// ---- channels_redis itself ----

/// Runs `code` under the test venv's Python with channels_redis, `URL` set to the server.
fn python(redis: &Redis, code: &str) -> String {
    let out = Command::new(support::python())
        .args(["-c", code])
        .env("URL", redis.url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const LAYER: &str = "
import os
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
layer = RedisChannelLayer(hosts=[os.environ['URL']], prefix='t_chat')
";

#[test]
fn keys_channels_redis_writes_are_counted_as_the_sites_and_outlive_every_flush() {
    let redis = Redis::start();
    load(&redis);
    cli_script(&redis, "DEL t_chat:group:room_lobby t_chat:group:room.2-b t_chatspecific.4b1f0c9e2d3a4f5e8a7b6c5d4e3f2a1b! t_chatchat.inbox\n");
    let (_dir, ws) = site_workspace(&redis.url());
    // A consumer's channel joins a group, a process-specific channel too; a message goes to the
    // group and one to the specific channel: every key shape channels_redis writes.
    python(
        &redis,
        &format!(
            "{LAYER}
specific = async_to_sync(layer.new_channel)()
async_to_sync(layer.group_add)('lobby', 'chat.inbox')
async_to_sync(layer.group_add)('lobby', specific)
async_to_sync(layer.group_send)('lobby', {{'type': 'chat.message', 'text': 'merhaba'}})
print(specific)
"
        ),
    );
    let before = keys(&redis);
    let written = layer_keys(&before);
    assert!(written.contains("t_chat:group:lobby"), "{written:?}");
    assert!(written.contains("t_chatchat.inbox"), "{written:?}");
    assert!(
        written
            .iter()
            .any(|k| k.starts_with("t_chatspecific.") && k.ends_with('!')),
        "{written:?}"
    );
    let rt = runtime();
    let counts = rt.block_on(cache::count(&ws, |_| {}));
    assert_eq!(
        layer_count(&counts),
        Some(written.len() as u64),
        "{written:?}"
    );
    assert_eq!(counts.other_apps(), Some(3));

    for scope in [
        FlushScope::Instances(vec!["chat_websocket".into()]),
        FlushScope::Site("chat".into()),
        FlushScope::All,
    ] {
        let report = rt.block_on(flush(&ws, scope.clone(), FlushPart::All));
        assert!(report.succeeded(), "{scope:?}: {report:#?}");
        assert_eq!(layer_keys(&keys(&redis)), written, "{scope:?}");
    }
    // The layer still works: the message sent before the flushes is received after them.
    let got = python(
        &redis,
        &format!(
            "{LAYER}
print(async_to_sync(layer.receive)('chat.inbox')['text'])
"
        ),
    );
    assert_eq!(got.trim(), "merhaba");
}
