//! The Redis server Kovan starts itself when `[redis] managed = true` and nothing answers: on the
//! URL's port, loopback only, without persistence, data under Kovan's data dir.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use ts_rs::TS;

use crate::platform;
use crate::workspace::RedisConfig;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RedisProbe {
    pub ping_ms: f64,
    #[ts(type = "number")]
    pub dbsize: u64,
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// PING latency and DBSIZE of the workspace's Redis (authenticating and selecting its database),
/// or None when it does not answer within a second.
pub async fn probe(redis: &RedisConfig) -> Option<RedisProbe> {
    if redis.url().scheme() != "redis" {
        return None; // TLS servers are probed by the cache module's client.
    }
    let url = redis.url();
    let host = url.host_str()?.trim_matches(['[', ']']).to_string();
    let port = url.port().unwrap_or(6379);
    let attempt = async move {
        let stream = TcpStream::connect((host.as_str(), port)).await.ok()?;
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        if let Some(password) = url.password() {
            let password = percent_decode(password);
            let user = percent_decode(url.username());
            let auth = if user.is_empty() {
                resp(&["AUTH", &password])
            } else {
                resp(&["AUTH", &user, &password])
            };
            write.write_all(&auth).await.ok()?;
            lines
                .next_line()
                .await
                .ok()??
                .starts_with('+')
                .then_some(())?;
        }
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() && db != "0" {
            write.write_all(&resp(&["SELECT", db])).await.ok()?;
            lines.next_line().await.ok()??;
        }
        let started = Instant::now();
        write.write_all(&resp(&["PING"])).await.ok()?;
        let pong = lines.next_line().await.ok()??;
        let ping_ms = started.elapsed().as_secs_f64() * 1000.0;
        if pong != "+PONG" {
            return None;
        }
        write.write_all(&resp(&["DBSIZE"])).await.ok()?;
        let dbsize = lines
            .next_line()
            .await
            .ok()??
            .strip_prefix(':')?
            .parse()
            .ok()?;
        Some(RedisProbe { ping_ms, dbsize })
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .ok()
        .flatten()
}

/// Whether anything listens on the URL's host and port (it may still refuse our password).
pub async fn answers(redis: &RedisConfig) -> bool {
    let url = redis.url();
    let (Some(host), port) = (url.host_str(), url.port().unwrap_or(6379)) else {
        return false;
    };
    let host = host.trim_matches(['[', ']']).to_string();
    tokio::time::timeout(
        Duration::from_secs(1),
        TcpStream::connect((host.as_str(), port)),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.replace(' ', "+"))
        .unwrap_or_default()
}

/// Whether Kovan may start redis-server for this URL: loopback host, plain redis://.
pub fn can_manage(redis: &RedisConfig) -> Result<u16, String> {
    let url = redis.url();
    let local = matches!(
        url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    if !local || url.scheme() != "redis" {
        return Err(format!(
            "Kovan only starts Redis on this machine over plain redis:// (the URL is {}). Start that server yourself, or set managed = false.",
            redis.redacted()
        ));
    }
    if url.password().is_some() {
        return Err("the URL has a password, and a Redis that Kovan starts has none. Remove the password from the URL or start that server yourself.".into());
    }
    Ok(url.port().unwrap_or(6379))
}

/// `redis-server` from PATH, or how to install it.
pub fn server_binary() -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| "redis-server is not installed. Install it (Debian/Ubuntu: sudo apt install redis-server), or point [redis] url at a server you run.".to_string())
}

/// The arguments that run redis-server for Kovan: loopback, no persistence.
pub fn server_args(port: u16, dir: &std::path::Path) -> Vec<String> {
    vec![
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        "no".into(),
        "--dir".into(),
        dir.display().to_string(),
        // Redis rewrites its command line by default; kept, `ps` shows the port and data dir
        // Kovan gave it. (Recovery does not depend on it: it knows a process by PID and start time.)
        "--set-proc-title".into(),
        "no".into(),
    ]
}

/// Wait for a freshly started server to accept connections.
pub async fn wait_until_up(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !platform::port_is_free(port) && TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Instances of other workspaces that run now against the same Redis server (host and port) as
/// `redis`, found by the markers every process Kovan starts carries: "b (/p/kovan.toml)". A
/// redis-server Kovan manages is not stopped while this is not empty: two projects may say the
/// same `redis://127.0.0.1:6379/0` with `managed = true`.
pub fn users_elsewhere(ours: &std::path::Path, redis: &RedisConfig) -> Vec<String> {
    use crate::supervisor::group::{INSTANCE_MARKER, WORKSPACE_MARKER};
    let server = |r: &RedisConfig| {
        (
            r.url().host_str().unwrap_or("").to_string(),
            r.url().port().unwrap_or(6379),
        )
    };
    let mut users = std::collections::BTreeSet::new();
    let mut loaded: std::collections::HashMap<String, Option<RedisConfig>> = Default::default();
    for (pid, file) in crate::platform::processes_with_env(WORKSPACE_MARKER) {
        if std::path::Path::new(&file) == ours {
            continue;
        }
        let Some(instance) = crate::platform::environ_var(pid, INSTANCE_MARKER) else {
            continue;
        };
        if instance == super::REDIS_SERVICE {
            continue;
        }
        let theirs = loaded
            .entry(file.clone())
            .or_insert_with(|| {
                crate::workspace::load(std::path::Path::new(&file))
                    .ok()
                    .and_then(|ws| ws.redis)
            })
            .clone();
        if theirs.is_some_and(|t| server(&t) == server(redis)) {
            users.insert(format!("{instance} ({file})"));
        }
    }
    users.into_iter().collect()
}
