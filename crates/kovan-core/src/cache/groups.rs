//! The inspector: one instance's Redis keys grouped, in one `SCAN` pass over its prefix.
//!
//! Django's own families (cached pages, their headers, template fragments, sessions) are named as
//! such; the project's own keys are grouped by their name up to the first `:` or `.`. Each group has
//! its count, and from a sample of its keys (taken evenly over the pass) an estimate of its memory
//! (`MEMORY USAGE`) and the spread of its remaining lifetimes (`PTTL`). Each group that a glob
//! describes exactly names it, for `kovan flush NAME --match GLOB`.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::{CacheError, Operation, Reached};
use super::redis::keyspace::escape_glob;
use super::redis::{Prefixes, RedisCache};
use crate::workspace::{CacheBackend, Workspace};

/// Keys of each group whose memory and lifetime are measured.
pub const SAMPLE: usize = 64;
/// Past this many distinct names, the project's further names share one group.
const MAX_GROUPS: usize = 200;

/// One instance's keys by group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct KeyGroups {
    pub instance: String,
    pub prefix: String,
    /// Distinct keys under the prefix.
    #[ts(type = "number")]
    pub keys: u64,
    #[ts(type = "number")]
    pub duration_ms: u64,
    /// Largest first (by keys).
    pub groups: Vec<KeyGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct KeyGroup {
    /// "cached pages", "sessions", "user:*" ...
    pub name: String,
    /// The `--match` glob that takes exactly this group; None when no glob can (keys without a
    /// version or without a separator).
    pub glob: Option<String>,
    #[ts(type = "number")]
    pub keys: u64,
    /// Keys measured for memory and lifetime.
    #[ts(type = "number")]
    pub sampled: u64,
    /// `MEMORY USAGE` of the sample, scaled to the group; None when Redis has no MEMORY.
    #[ts(type = "number | null")]
    pub memory_bytes: Option<u64>,
    /// Of the sample: keys without an expiry.
    #[ts(type = "number")]
    pub persistent: u64,
    /// Of the sample's keys that expire: the shortest, median and longest remaining lifetime.
    #[ts(type = "number | null")]
    pub ttl_min_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub ttl_median_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub ttl_max_ms: Option<u64>,
}

const FAMILIES: [(&[u8], &str); 4] = [
    (b"views.decorators.cache.cache_page.", "cached pages"),
    (
        b"views.decorators.cache.cache_header.",
        "cached page headers",
    ),
    (b"template.cache.", "template fragments"),
    (b"django.contrib.sessions.cache", "sessions"),
];

/// What tells a key's group apart, borrowed from the key: no allocation per key. A project's
/// name (`user:`) is its own; Django's families and the catch-alls start with a 0 byte, which a
/// name ending at its first `:` or `.` and holding no 0 cannot be mistaken for.
fn group_key(rest: &[u8]) -> &[u8] {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b':') {
        return b"\0no version";
    }
    let tail = &rest[digits + 1..];
    for (start, _) in FAMILIES {
        if tail.starts_with(start) {
            return start;
        }
    }
    match tail.iter().position(|b| *b == b':' || *b == b'.') {
        Some(at) if at > 0 && !tail[..at].contains(&0) => match std::str::from_utf8(&tail[..at]) {
            Ok(_) => &tail[..=at],
            Err(_) => b"\0not utf-8",
        },
        _ => b"\0no separator",
    }
}

/// The group of a key, from what follows `{prefix}:`: its name and its exact glob.
fn group_of(rest: &[u8]) -> (String, Option<String>) {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b':') {
        return ("(not written by Django's cache: no version)".into(), None);
    }
    let tail = &rest[digits + 1..];
    for (start, name) in FAMILIES {
        if tail.starts_with(start) {
            let glob = format!("{}*", String::from_utf8_lossy(start));
            return (name.into(), Some(glob));
        }
    }
    match tail.iter().position(|b| *b == b':' || *b == b'.') {
        Some(at) if at > 0 && !tail[..at].contains(&0) => {
            let head = &tail[..=at];
            match std::str::from_utf8(head) {
                Ok(text) => {
                    let escaped = String::from_utf8(escape_glob(head)).unwrap_or_default();
                    (format!("{text}*"), Some(format!("{escaped}*")))
                }
                Err(_) => ("(names that are not UTF-8)".into(), None),
            }
        }
        _ => ("(names without : or .)".into(), None),
    }
}

/// A group's running tally: its count and an even sample of its keys (reservoir sampling).
struct Tally {
    name: String,
    glob: Option<String>,
    keys: u64,
    sample: Vec<Vec<u8>>,
}

impl Tally {
    fn new(name: String, glob: Option<String>) -> Self {
        Self {
            name,
            glob,
            keys: 0,
            sample: Vec::new(),
        }
    }
}

/// A small deterministic generator for the reservoir: the same data gives the same sample.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Group the keys of `instance` (a Redis instance) in one pass.
pub async fn groups(ws: &Workspace, instance: &str) -> Result<KeyGroups, CacheError> {
    let Some(member) = ws.instance(instance) else {
        let known: Vec<&str> = ws.instances.iter().map(|i| i.name.as_str()).collect();
        return Err(CacheError::UnknownInstance {
            name: instance.into(),
            known: known.join(", "),
        });
    };
    if member.cache != CacheBackend::Redis {
        return Err(CacheError::Unsupported {
            instance: instance.into(),
            what: format!(
                "grouping the keys of a {} cache (the inspector reads Redis)",
                member.cache
            ),
        });
    }
    let Some(config) = ws.redis.as_ref() else {
        return Err(CacheError::Redis {
            url: "(none)".into(),
            detail: "kovan.toml has no [redis] url".into(),
        });
    };
    let started = Instant::now();
    let redis = RedisCache::connect(config).await?;
    let prefix = member.names.cache_prefix.clone();
    let prefixes = Prefixes::new([prefix.as_str()]);
    let start_len = prefix.len() + 1;

    let mut tallies: Vec<Tally> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    // SCAN may return a key twice: fingerprints with the group in the low bits, sorted at the end.
    let mut seen: Vec<u128> = Vec::new();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut further: Option<usize> = None;
    let mut sort = |keys: Vec<Vec<u8>>| {
        for key in keys {
            if prefixes.owner(&key).is_none() {
                continue;
            }
            let rest = &key[start_len..];
            let slot = match index.get(group_key(rest)) {
                Some(&slot) => slot,
                None if index.len() >= MAX_GROUPS => *further.get_or_insert_with(|| {
                    tallies.push(Tally::new("(further names)".into(), None));
                    tallies.len() - 1
                }),
                None => {
                    let (name, glob) = group_of(rest);
                    tallies.push(Tally::new(name, glob));
                    index.insert(group_key(rest).to_vec(), tallies.len() - 1);
                    tallies.len() - 1
                }
            };
            let hash = xxhash_rust::xxh3::xxh3_128(&key) >> 16 << 16;
            seen.push(hash | slot as u128);
            let tally = &mut tallies[slot];
            tally.keys += 1;
            if tally.sample.len() < SAMPLE {
                tally.sample.push(key);
            } else {
                let at = rng.below(tally.keys) as usize;
                if at < SAMPLE {
                    tally.sample[at] = key;
                }
            }
        }
    };
    redis.scan_prefix(&prefixes, &mut sort).await?;
    seen.sort_unstable();
    let mut distinct = seen.len() as u64;
    for pair in seen.windows(2) {
        if pair[0] == pair[1] {
            tallies[(pair[1] & 0xffff) as usize].keys -= 1;
            distinct -= 1;
        }
    }

    let mut groups = Vec::new();
    for mut tally in tallies {
        tally.sample.sort();
        tally.sample.dedup();
        let measured = redis.measure(&tally.sample).await?;
        groups.push(summarise(tally, &measured));
    }
    groups.sort_by(|a, b| b.keys.cmp(&a.keys).then_with(|| a.name.cmp(&b.name)));
    Ok(KeyGroups {
        instance: instance.into(),
        prefix,
        keys: distinct,
        duration_ms: started.elapsed().as_millis() as u64,
        groups,
    })
}

/// A sampled key's remaining lifetime (`PTTL`: -1 none, -2 gone) and `MEMORY USAGE`.
type Measured = Vec<(i64, Option<u64>)>;

fn summarise(tally: Tally, measured: &Measured) -> KeyGroup {
    let present: Vec<&(i64, Option<u64>)> = measured.iter().filter(|(t, _)| *t != -2).collect();
    let mut ttls: Vec<u64> = present
        .iter()
        .filter(|(t, _)| *t >= 0)
        .map(|(t, _)| *t as u64)
        .collect();
    ttls.sort_unstable();
    let sizes: Vec<u64> = present.iter().filter_map(|(_, m)| *m).collect();
    let memory = (!sizes.is_empty()).then(|| {
        let sum: u64 = sizes.iter().sum();
        (sum as f64 / sizes.len() as f64 * tally.keys as f64).round() as u64
    });
    KeyGroup {
        name: tally.name,
        glob: tally.glob,
        keys: tally.keys,
        sampled: present.len() as u64,
        memory_bytes: memory,
        persistent: present.iter().filter(|(t, _)| *t == -1).count() as u64,
        ttl_min_ms: ttls.first().copied(),
        ttl_median_ms: ttls.get(ttls.len() / 2).copied(),
        ttl_max_ms: ttls.last().copied(),
    }
}

impl RedisCache {
    /// One `SCAN MATCH {prefix}:*` pass; `on_batch` sorts each batch while the server works on
    /// the next one.
    async fn scan_prefix(
        &self,
        prefixes: &Prefixes,
        on_batch: &mut (impl FnMut(Vec<Vec<u8>>) + Send),
    ) -> Result<(), CacheError> {
        use super::redis::SCAN_COUNT;
        let pattern = prefixes.scan_pattern();
        let mut conn = self.connection();
        let mut cursor = 0u64;
        let mut scanned = 0u64;
        let mut batch: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor);
            if let Some(pattern) = &pattern {
                cmd.arg("MATCH").arg(pattern.as_slice());
            }
            cmd.arg("COUNT").arg(SCAN_COUNT);
            let last = std::mem::take(&mut batch);
            let (reply, ()) =
                tokio::join!(cmd.query_async::<(u64, Vec<Vec<u8>>)>(&mut conn), async {
                    on_batch(last)
                });
            let (next, keys) = reply.map_err(|e| {
                self.failure(
                    &e,
                    Operation::Count,
                    Reached {
                        scanned,
                        deleted: 0,
                    },
                )
            })?;
            scanned += keys.len() as u64;
            batch = keys;
            cursor = next;
            if cursor == 0 {
                on_batch(batch);
                return Ok(());
            }
        }
    }

    /// `PTTL` and `MEMORY USAGE … SAMPLES 0` of each key, in one pipeline. MEMORY is None
    /// throughout on a server without it.
    async fn measure(&self, keys: &[Vec<u8>]) -> Result<Measured, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.connection();
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("PTTL").arg(key.as_slice());
        }
        let ttls: Vec<i64> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failure(&e, Operation::Count, Reached::default()))?;
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("MEMORY")
                .arg("USAGE")
                .arg(key.as_slice())
                .arg("SAMPLES")
                .arg(0);
        }
        let memory: Vec<Option<u64>> = pipe
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|_| vec![None; keys.len()]);
        Ok(ttls.into_iter().zip(memory).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::group_of;

    #[test]
    fn keys_are_grouped_by_djangos_families_then_by_their_first_name() {
        let of = |rest: &[u8]| group_of(rest);
        assert_eq!(
            of(b"1:views.decorators.cache.cache_page.x.GET.abc"),
            (
                "cached pages".into(),
                Some("views.decorators.cache.cache_page.*".into())
            )
        );
        assert_eq!(of(b"2:django.contrib.sessions.cached_dbabc").0, "sessions");
        assert_eq!(
            of(b"1:user:42:profile"),
            ("user:*".into(), Some("user:*".into()))
        );
        assert_eq!(of(b"1:a*b.c"), ("a*b.*".into(), Some("a\\*b.*".into())));
        assert_eq!(of(b"1:plain").1, None);
        assert_eq!(of(b"x:plain").1, None);
    }
}
