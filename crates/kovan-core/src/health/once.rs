//! One look at an instance or at the Redis, as `kovan status` shows it: the same `/health/` check
//! and isolation comparison the window's poller makes (without hysteresis or history), and PING
//! for Redis, never HTTP (Redis logs an HTTP request as a "Possible SECURITY ATTACK").

use std::time::Duration;

use serde::Serialize;

use crate::workspace::{Instance, Workspace};

/// What one look found: a stable word for scripts and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Answered with Kovan's health report, every derived name as expected.
    Ok,
    /// Answered, but reports a name other than the derived one: it runs with other settings.
    Mismatch,
    /// No healthy answer.
    Failing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    pub verdict: Verdict,
    /// "ok", "reports session cookie \"sessionid\"; expected \"sessionid_chat_api\"", "nothing listens on port 8001".
    pub detail: String,
}

/// `/health/` of the instance on `port` (its configured one unless started elsewhere), compared
/// with the names Kovan derived for it.
pub async fn instance(ws: &Workspace, instance: &Instance, port: u16, timeout: Duration) -> Look {
    let check = super::endpoint::check(port, timeout).await;
    if let Some(error) = check.error {
        return Look {
            verdict: Verdict::Failing,
            detail: error,
        };
    }
    let mismatches = check
        .reported
        .as_ref()
        .map(|r| super::endpoint::mismatches(ws, instance, r))
        .unwrap_or_default();
    match mismatches.first() {
        None => Look {
            verdict: Verdict::Ok,
            detail: "ok".into(),
        },
        Some(m) => Look {
            verdict: Verdict::Mismatch,
            detail: format!(
                "reports {} {:?}; expected {:?}{}",
                m.field.what(),
                m.actual,
                m.expected,
                match mismatches.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                }
            ),
        },
    }
}

/// PING (and DBSIZE) of the workspace's Redis.
pub async fn redis(ws: &Workspace) -> Option<Look> {
    let redis = ws.redis.as_ref()?;
    Some(match super::probe_redis(redis).await {
        Ok(p) => Look {
            verdict: Verdict::Ok,
            detail: format!(
                "ok (PING {:.1} ms, {} keys)",
                p.ping_ms,
                crate::text::grouped(p.dbsize)
            ),
        },
        Err(why) => Look {
            verdict: Verdict::Failing,
            detail: why,
        },
    })
}

/// The front door of `site` on `port`: nginx answers its own probe path (without asking a
/// member), and which members the site routes to.
pub async fn front_door(site: &str, port: u16, timeout: Duration) -> Look {
    let answer = tokio::time::timeout(
        timeout,
        crate::http::request(port, "GET", crate::services::nginx::PROBE_PATH, &[]),
    )
    .await;
    match answer {
        Ok(Ok(r)) if r.status == 200 => Look {
            verdict: Verdict::Ok,
            detail: format!("front door of {site} answers on http://127.0.0.1:{port}/"),
        },
        Ok(Ok(r)) => Look {
            verdict: Verdict::Failing,
            detail: format!(
                "port {port} answers {} to the front door's probe: it is not this site's nginx",
                r.status
            ),
        },
        Ok(Err(e)) => Look {
            verdict: Verdict::Failing,
            detail: e.to_string(),
        },
        Err(_) => Look {
            verdict: Verdict::Failing,
            detail: format!("no answer on port {port} within {} s", timeout.as_secs()),
        },
    }
}

/// The units' databases on the workspace's PostgreSQL: name, size and open connections of each.
pub async fn postgres(ws: &Workspace) -> Option<Look> {
    let pg = ws.postgres.as_ref()?;
    let mut names: Vec<String> = ws
        .instances
        .iter()
        .map(|i| i.names.database.clone())
        .collect();
    names.dedup();
    Some(match crate::services::postgres::stats(pg, &names).await {
        Ok(stats) => Look {
            verdict: Verdict::Ok,
            detail: format!(
                "ok ({})",
                stats
                    .iter()
                    .map(|s| format!(
                        "{} {:.1} MB, {} connections",
                        s.name,
                        s.size_bytes as f64 / 1e6,
                        s.connections.len()
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        },
        Err(why) => Look {
            verdict: Verdict::Failing,
            detail: why,
        },
    })
}
