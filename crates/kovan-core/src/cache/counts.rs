//! Counting every instance's cache at once: one `SCAN` pass for all the Redis instances together,
//! and each other backend its own way.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::CacheError;
use super::progress::CountProgress;
use super::redis::{KeyspaceCount, Prefixes, RedisCache};
use super::{db, dummy, file, locmem};
use crate::error::{Classified, ErrorDetail, ErrorKind};
use crate::workspace::{CacheBackend, Instance, Workspace};

/// Every instance's key count, as the cards and `kovan keys` show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CacheCounts {
    /// When the count finished (RFC 3339, UTC).
    pub counted_at: String,
    #[ts(type = "number")]
    pub duration_ms: u64,
    /// In kovan.toml's order.
    pub instances: Vec<InstanceKeys>,
    /// The Redis database the redis instances share; None when no instance uses Redis.
    pub redis: Option<RedisKeys>,
    /// Each site's channel layer, in kovan.toml's order: counted in the same pass, never flushed.
    #[serde(default)]
    pub sites: Vec<SiteKeys>,
}

/// A site's channel layer in the shared Redis: the keys channels_redis wrote under the site's
/// prefix (`{prefix}:group:…`, `{prefix}{channel}`). Its members' cache flushes leave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SiteKeys {
    pub site: String,
    /// channels_redis `prefix`, the site's.
    pub channel_prefix: String,
    /// None when the Redis pass did not run (no instance caches in Redis) or failed.
    #[ts(type = "number | null")]
    pub keys: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceKeys {
    pub instance: String,
    #[serde(with = "super::backend_name")]
    #[ts(as = "CacheBackend")]
    pub backend: CacheBackend,
    /// Its `default` cache alias (the instance's `cache`).
    pub count: KeyCount,
    /// Its other cache aliases (`[instance.caches.NAME]`), in kovan.toml's order; empty when it
    /// declares none.
    #[serde(default)]
    pub aliases: Vec<AliasKeys>,
}

/// One more cache alias of an instance, counted apart: its keys live under its own prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AliasKeys {
    pub alias: String,
    #[serde(with = "super::backend_name")]
    #[ts(as = "CacheBackend")]
    pub backend: CacheBackend,
    /// Its derived key prefix, `{the instance's prefix}.{alias}`.
    pub prefix: String,
    pub count: KeyCount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum KeyCount {
    Counted {
        /// Live keys (entries not yet expired).
        #[ts(type = "number")]
        keys: u64,
        /// Cached sessions among them, where the backend can tell (Redis, db); None for LocMem and
        /// file, whose keys do not show it.
        #[ts(type = "number | null")]
        sessions: Option<u64>,
    },
    /// cache = "dummy": nothing is ever stored, so there is nothing to count or flush.
    NothingCached { reason: String },
    /// A LocMem instance that is not running: its cache is empty, and there is nothing to flush.
    NotRunning { reason: String },
    /// The count failed; `kind` is the stable error kind, `detail` what the window words it from.
    Failed {
        kind: ErrorKind,
        message: String,
        detail: Option<ErrorDetail>,
    },
}

/// The shared Redis database as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RedisKeys {
    Counted {
        /// The URL with its password replaced.
        url: String,
        /// `DBSIZE` when the pass began.
        #[ts(type = "number")]
        dbsize: u64,
        /// Distinct keys the pass saw.
        #[ts(type = "number")]
        scanned: u64,
        /// Keys that belong to no instance and to no site's channel layer: other apps sharing the
        /// database. No flush touches them.
        #[ts(type = "number")]
        other_apps: u64,
    },
    Failed {
        url: String,
        kind: ErrorKind,
        message: String,
        detail: Option<ErrorDetail>,
    },
}

impl InstanceKeys {
    /// The count of one of its cache aliases (`default` is `count`).
    pub fn alias(&self, alias: &str) -> Option<&KeyCount> {
        if alias == crate::workspace::DEFAULT_ALIAS {
            return Some(&self.count);
        }
        self.aliases
            .iter()
            .find(|a| a.alias == alias)
            .map(|a| &a.count)
    }
}

impl KeyCount {
    fn of(result: Result<(u64, Option<u64>), CacheError>) -> Self {
        match result {
            Ok((keys, sessions)) => Self::Counted { keys, sessions },
            Err(e @ CacheError::NotRunning { .. }) => Self::NotRunning {
                reason: e.to_string(),
            },
            Err(e @ CacheError::NothingCached { .. }) => Self::NothingCached {
                reason: e.to_string(),
            },
            Err(e) => Self::failed(&e),
        }
    }

    fn failed(e: &CacheError) -> Self {
        Self::Failed {
            kind: e.kind(),
            message: e.to_string(),
            detail: e.detail(),
        }
    }

    /// Keys and sessions, when counted.
    pub fn counted(&self) -> Option<(u64, Option<u64>)> {
        match self {
            Self::Counted { keys, sessions } => Some((*keys, *sessions)),
            _ => None,
        }
    }
}

impl CacheCounts {
    pub fn instance(&self, name: &str) -> Option<&InstanceKeys> {
        self.instances.iter().find(|i| i.instance == name)
    }

    /// The count of one cache alias of an instance (`default` is its `count`).
    pub fn alias(&self, name: &str, alias: &str) -> Option<&KeyCount> {
        self.instance(name).and_then(|i| i.alias(alias))
    }

    /// A site's channel layer, once counted.
    pub fn site(&self, name: &str) -> Option<&SiteKeys> {
        self.sites.iter().find(|s| s.site == name)
    }

    /// Keys in the Redis database that belong to no instance.
    pub fn other_apps(&self) -> Option<u64> {
        match &self.redis {
            Some(RedisKeys::Counted { other_apps, .. }) => Some(*other_apps),
            _ => None,
        }
    }
}

/// Every cache of the workspace: each instance's aliases as views ([`Instance::through`]),
/// `default` first, in kovan.toml's order.
pub(crate) fn targets(ws: &Workspace) -> Vec<Instance> {
    ws.instances
        .iter()
        .flat_map(Instance::alias_views)
        .collect()
}

/// The Redis caches among `targets`, and their prefixes in the same order, with the sites'
/// channel-layer prefixes in [`site_layers`]' order.
fn redis_targets<'t>(
    targets: &'t [Instance],
    layers: &[(&str, &str)],
) -> (Vec<&'t Instance>, Prefixes) {
    let members: Vec<&Instance> = targets
        .iter()
        .filter(|i| i.cache == CacheBackend::Redis)
        .collect();
    let prefixes = Prefixes::new(members.iter().map(|i| i.names.cache_prefix.as_str()))
        .with_channels(layers.iter().map(|(_, prefix)| *prefix));
    (members, prefixes)
}

/// Each site with its channel-layer prefix (its members' unit's), in kovan.toml's order.
fn site_layers(ws: &Workspace) -> Vec<(&str, &str)> {
    ws.sites
        .iter()
        .filter_map(|site| {
            let member = ws.instances.iter().find(|i| i.names.unit == site.name)?;
            Some((site.name.as_str(), member.names.channel_prefix.as_str()))
        })
        .collect()
}

/// Count every instance's cache. Never fails as a whole: what could not be counted says why.
pub async fn count(ws: &Workspace, on_progress: impl FnMut(CountProgress) + Send) -> CacheCounts {
    let started = Instant::now();
    let layers = site_layers(ws);
    let targets = targets(ws);
    let (redis_members, prefixes) = redis_targets(&targets, &layers);
    let redis = async {
        let config = ws.redis.as_ref()?;
        if redis_members.is_empty() {
            return None;
        }
        let counted = match RedisCache::connect(config).await {
            Ok(redis) => redis.count(&prefixes, on_progress).await,
            Err(e) => Err(e),
        };
        Some((config.redacted(), counted))
    };
    let others = async {
        let mut out = Vec::new();
        for (at, target) in targets.iter().enumerate() {
            if target.cache != CacheBackend::Redis {
                out.push((at, count_one(ws, target).await));
            }
        }
        out
    };
    let (redis, mut others) = tokio::join!(redis, others);

    let mut counted: Vec<KeyCount> = targets
        .iter()
        .enumerate()
        .map(|(at, target)| match target.cache {
            CacheBackend::Redis => {
                let index = redis_members.iter().position(|i| std::ptr::eq(*i, target));
                match (&redis, index) {
                    (Some((_, Ok(found))), Some(index)) => {
                        let (keys, sessions) = found.instances[index];
                        KeyCount::Counted {
                            keys,
                            sessions: Some(sessions),
                        }
                    }
                    (Some((_, Err(e))), _) => KeyCount::failed(e),
                    _ => KeyCount::failed(&CacheError::Redis {
                        url: "(none)".into(),
                        detail: "kovan.toml has no [redis] url".into(),
                    }),
                }
            }
            _ => {
                let found = others.iter().position(|(i, _)| *i == at);
                found
                    .map(|found| others.swap_remove(found).1)
                    .unwrap_or_else(|| KeyCount::failed(&dummy::refusal(target)))
            }
        })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    // Back in the targets' order, one instance's aliases after another's.
    let mut instances = Vec::new();
    for instance in &ws.instances {
        let count = counted.pop().expect("one count per alias");
        let aliases = instance
            .caches
            .iter()
            .map(|alias| AliasKeys {
                alias: alias.name.clone(),
                backend: alias.backend,
                prefix: alias.prefix.clone(),
                count: counted.pop().expect("one count per alias"),
            })
            .collect();
        instances.push(InstanceKeys {
            instance: instance.name.clone(),
            backend: instance.cache,
            count,
            aliases,
        });
    }
    let sites = layers
        .iter()
        .enumerate()
        .map(|(index, (site, prefix))| SiteKeys {
            site: site.to_string(),
            channel_prefix: prefix.to_string(),
            keys: match &redis {
                Some((_, Ok(found))) => found.channels.get(index).copied(),
                _ => None,
            },
        })
        .collect();
    CacheCounts {
        counted_at: now_rfc3339(),
        duration_ms: started.elapsed().as_millis() as u64,
        instances,
        sites,
        redis: redis.map(|(url, counted)| match counted {
            Ok(found) => redis_keys(url, &found),
            Err(e) => RedisKeys::Failed {
                url,
                kind: e.kind(),
                message: e.to_string(),
                detail: e.detail(),
            },
        }),
    }
}

fn redis_keys(url: String, found: &KeyspaceCount) -> RedisKeys {
    RedisKeys::Counted {
        url,
        dbsize: found.dbsize,
        scanned: found.scanned,
        other_apps: found.other,
    }
}

/// One instance that does not use Redis.
async fn count_one(ws: &Workspace, instance: &Instance) -> KeyCount {
    let result = match instance.cache {
        CacheBackend::Redis => unreachable!("Redis instances are counted together"),
        CacheBackend::Locmem => locmem::count(instance).await.map(|keys| (keys, None)),
        CacheBackend::File => {
            blocking(ws, instance, |ws, i| {
                file::count(ws, i).map(|keys| (keys, None))
            })
            .await
        }
        CacheBackend::Db => {
            blocking(ws, instance, |ws, i| {
                db::count(ws, i).map(|(k, s)| (k, Some(s)))
            })
            .await
        }
        CacheBackend::Dummy => Err(dummy::refusal(instance)),
    };
    KeyCount::of(result)
}

/// Filesystem and SQLite work, off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    ws: &Workspace,
    instance: &Instance,
    work: impl FnOnce(&Workspace, &Instance) -> Result<T, CacheError> + Send + 'static,
) -> Result<T, CacheError> {
    let (ws, instance) = (ws.clone(), instance.clone());
    tokio::task::spawn_blocking(move || work(&ws, &instance))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
