//! Flushing one instance's cache, several, or all: previewed first, cancellable, reported.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::cancel::CancelToken;
use super::counts::{self, blocking, now_rfc3339, CacheCounts};
use super::error::CacheError;
use super::progress::{CountProgress, FlushProgress, Throttle};
use super::redis::{DeleteCommand, Prefixes, RedisCache, Selection};
use super::sessions::{self, DbSessions, SessionEngine};
use super::snapshot::{SnapshotHeader, SnapshotWriter};
use super::undo::{self, SnapshotInfo, Undo};
use super::{db, dummy, file, locmem};
use crate::error::{Classified, ErrorDetail, ErrorKind};
use crate::text::grouped;
use crate::workspace::{CacheBackend, Instance, Workspace, DEFAULT_ALIAS};

/// Whose cache a flush deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum FlushScope {
    /// Every instance of the workspace. Other apps' keys in a shared Redis are never touched.
    All,
    /// These instances, by name.
    Instances(Vec<String>),
    /// A site's members, each under its own cache prefix ("Cache Temizle" on the site's header).
    /// The site's channel layer and every other unit's keys stay.
    Site(String),
}

/// What of each instance's cache a flush deletes (while [`FlushScope`] says whose).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum FlushPart {
    /// Everything but the sessions: users stay logged in.
    #[default]
    Cache,
    /// Only the sessions, cached (`cache`, `cached_db` engines) and rows (`db`, `cached_db`):
    /// everyone is logged out, the cache stays.
    Sessions,
    /// Everything under the prefix, and the session rows.
    All,
    /// A key group: the keys whose part after `{prefix}:{version}:` matches this Redis glob.
    /// The prefix itself is never part of the glob, so no glob reaches outside it.
    Match(String),
}

impl FlushPart {
    /// The keys of a Redis or db cache it takes.
    pub fn selection(&self) -> Selection {
        match self {
            Self::Cache => Selection::NotSessions,
            Self::Sessions => Selection::Sessions,
            Self::All => Selection::All,
            Self::Match(glob) => Selection::Matching(glob.as_bytes().to_vec()),
        }
    }

    /// Whether session rows go too.
    pub fn takes_session_rows(&self) -> bool {
        matches!(self, Self::Sessions | Self::All)
    }

    /// Refuses a key pattern that cannot be what was meant: empty, a `[` class left open or a
    /// `\\` with nothing after it (Redis would quietly read those otherwise).
    pub fn check(&self) -> Result<(), CacheError> {
        let Self::Match(glob) = self else {
            return Ok(());
        };
        let bad = |why: &str| {
            Err(CacheError::BadGlob {
                glob: glob.clone(),
                why: why.into(),
            })
        };
        if glob.trim().is_empty() {
            return bad("is empty: give the part of the key names after `{prefix}:{version}:`, e.g. 'views.decorators.cache.*', or `*` for every key");
        }
        let bytes = glob.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if i + 1 == bytes.len() => {
                    return bad("ends in a lone `\\`: escape it as `\\\\` or remove it")
                }
                b'\\' => i += 1,
                b'[' => {
                    let mut j = i + 1;
                    if bytes.get(j) == Some(&b'^') {
                        j += 1;
                    }
                    loop {
                        match bytes.get(j) {
                            None => {
                                return bad("leaves a `[` class open: close it with `]`, or write `\\[` for a literal `[`")
                            }
                            Some(b']') => break,
                            Some(b'\\') => j += 2,
                            Some(_) => j += 1,
                        }
                    }
                    i = j;
                }
                _ => {}
            }
            i += 1;
        }
        Ok(())
    }

    /// As `kovan flush --scope` spells it.
    pub fn name(&self) -> String {
        match self {
            Self::Cache => "cache".into(),
            Self::Sessions => "sessions".into(),
            Self::All => "all".into(),
            Self::Match(glob) => format!("match {glob:?}"),
        }
    }
}

/// What the part takes of one instance, counted for the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstancePart {
    pub instance: String,
    /// The cache alias this part is of (`default`: the instance's `cache`).
    #[serde(default = "default_alias")]
    pub alias: String,
    /// Cache keys that go; None when not counted (or the backend cannot tell them apart).
    #[ts(type = "number | null")]
    pub keys: Option<u64>,
    /// Cached sessions among them.
    #[ts(type = "number | null")]
    pub sessions: Option<u64>,
    /// Of this instance's cache, the keys that stay.
    #[ts(type = "number | null")]
    pub kept_keys: Option<u64>,
    /// Cached sessions among the keys that stay.
    #[ts(type = "number | null")]
    pub kept_sessions: Option<u64>,
    pub engine: SessionEngine,
    pub db_sessions: DbSessions,
    /// Why the cache of this instance is left alone by this part (a LocMem or file cache cannot
    /// keep sessions apart from the rest; only Redis and db caches can pick out a key group).
    pub refused: Option<String>,
    /// The preview in words: "3,412 cache keys of chat_main; sessions are kept: 57 sessions stay".
    pub summary: String,
}

/// What a flush will delete, counted just before: shown for confirmation, then handed to [`flush`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FlushPreview {
    pub scope: FlushScope,
    /// What goes of each instance's cache; the window's older calls leave it out: `cache`.
    #[serde(default)]
    pub part: FlushPart,
    /// Per instance in the scope, in kovan.toml's order: what the part takes and what stays.
    #[serde(default)]
    pub parts: Vec<InstancePart>,
    /// The instances in the scope, in kovan.toml's order.
    pub instances: Vec<String>,
    /// The cache aliases it covers in each of them (`kovan flush --alias`); empty: every alias
    /// of each instance.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Keys that will be deleted: the scope's counted keys added up.
    #[ts(type = "number")]
    pub keys: u64,
    /// Cached sessions among them (Redis and db caches; the others cannot tell).
    #[ts(type = "number")]
    pub sessions: u64,
    /// Session rows of the instances' databases that will be deleted (SQLite; counted ones).
    #[serde(default)]
    #[ts(type = "number")]
    pub db_sessions: u64,
    /// The whole count, the instances outside the scope and other apps' Redis keys included:
    /// what stays.
    pub counts: CacheCounts,
}

/// What a flush did: for the window, `kovan flush --json` and the history in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FlushReport {
    pub scope: FlushScope,
    #[serde(default)]
    pub part: FlushPart,
    /// When the flush began (RFC 3339, UTC).
    pub started_at: String,
    #[ts(type = "number")]
    pub duration_ms: u64,
    /// Keys deleted, every instance together.
    #[ts(type = "number")]
    pub deleted: u64,
    /// Cached sessions among them, where the backend can tell.
    #[ts(type = "number")]
    pub sessions_deleted: u64,
    /// Session rows deleted from the instances' databases.
    #[serde(default)]
    #[ts(type = "number")]
    pub db_sessions_deleted: u64,
    /// Stopped by a [`CancelToken`]: what was deleted until then stays deleted.
    pub cancelled: bool,
    /// In kovan.toml's order.
    pub instances: Vec<InstanceFlush>,
    /// The snapshot that undoes it (`kovan undo ID`): the Redis keys it deleted. None when the
    /// flush ran without undo or deleted no Redis key.
    #[serde(default)]
    pub undo: Option<SnapshotInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceFlush {
    pub instance: String,
    /// The cache alias this is of (`default`: the instance's `cache`).
    #[serde(default = "default_alias")]
    pub alias: String,
    #[serde(with = "super::backend_name")]
    #[ts(as = "CacheBackend")]
    pub backend: CacheBackend,
    /// Keys deleted, also when the flush stopped part-way.
    #[ts(type = "number")]
    pub deleted: u64,
    /// Cached sessions among them; None where the backend cannot tell (LocMem, file).
    #[ts(type = "number | null")]
    pub sessions_deleted: Option<u64>,
    /// Session rows deleted from the instance's database; None when the part keeps them or the
    /// engine keeps none there.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub db_sessions_deleted: Option<u64>,
    /// How Redis keys were deleted; None for the other backends.
    pub method: Option<DeleteCommand>,
    pub outcome: FlushOutcome,
    /// Whether what it deleted is in the flush's undo snapshot: only Redis keys can be (a LocMem,
    /// file or db cache has no DUMP to take them back from).
    #[serde(default)]
    pub undoable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FlushOutcome {
    Done,
    Cancelled,
    /// Nothing to flush: a dummy cache, a LocMem instance that is not running.
    Skipped {
        reason: String,
    },
    Failed {
        kind: ErrorKind,
        message: String,
        detail: Option<ErrorDetail>,
    },
}

fn default_alias() -> String {
    DEFAULT_ALIAS.to_string()
}

/// The caches of `members` a flush of `aliases` covers (empty: every alias of each), as views,
/// each instance's `default` first. An alias that none of them has is refused.
pub(crate) fn alias_targets(
    members: &[&Instance],
    aliases: &[String],
) -> Result<Vec<Instance>, CacheError> {
    if let Some(unknown) = aliases
        .iter()
        .find(|a| members.iter().all(|i| i.through(a).is_none()))
    {
        let mut known: Vec<&str> = Vec::new();
        for i in members {
            for a in i.alias_names() {
                if !known.contains(&a) {
                    known.push(a);
                }
            }
        }
        return Err(CacheError::UnknownAlias {
            alias: unknown.clone(),
            known: known.join(", "),
        });
    }
    Ok(members
        .iter()
        .flat_map(|i| i.alias_views())
        .filter(|v| aliases.is_empty() || aliases.contains(&v.cache_alias))
        .collect())
}

impl FlushScope {
    /// The scope `kovan flush NAME…` means: a site's name alone is that site; among other names
    /// it stands for its members. Names that are neither stay, for [`FlushScope::resolve`] to refuse.
    pub fn named(ws: &Workspace, names: &[String]) -> Self {
        let site = |n: &String| ws.site(n).filter(|_| ws.instance(n).is_none());
        if let [one] = names {
            if site(one).is_some() {
                return Self::Site(one.clone());
            }
        }
        let mut out: Vec<String> = Vec::new();
        for name in names {
            let members = match site(name) {
                Some(s) => s.instances.clone(),
                None => vec![name.clone()],
            };
            for m in members {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        Self::Instances(out)
    }

    /// The instances in the scope, in kovan.toml's order.
    pub fn resolve<'w>(&self, ws: &'w Workspace) -> Result<Vec<&'w Instance>, CacheError> {
        match self {
            Self::All => Ok(ws.instances.iter().collect()),
            Self::Site(name) => {
                let site = ws.site(name).ok_or_else(|| unknown_site(ws, name))?;
                Ok(ws
                    .instances
                    .iter()
                    .filter(|i| site.instances.contains(&i.name))
                    .collect())
            }
            Self::Instances(names) => {
                if let Some(name) = names.iter().find(|n| ws.instance(n).is_none()) {
                    return Err(unknown_instance(ws, name));
                }
                Ok(ws
                    .instances
                    .iter()
                    .filter(|i| names.contains(&i.name))
                    .collect())
            }
        }
    }
}

fn unknown_instance(ws: &Workspace, name: &str) -> CacheError {
    let known: Vec<&str> = ws.instances.iter().map(|i| i.name.as_str()).collect();
    let sites: Vec<&str> = ws.sites.iter().map(|s| s.name.as_str()).collect();
    let mut known = known.join(", ");
    if !sites.is_empty() {
        known.push_str(&format!(", or a site: {}", sites.join(", ")));
    }
    CacheError::UnknownInstance {
        name: name.to_string(),
        known,
    }
}

fn unknown_site(ws: &Workspace, name: &str) -> CacheError {
    let sites: Vec<&str> = ws.sites.iter().map(|s| s.name.as_str()).collect();
    CacheError::UnknownSite {
        name: name.to_string(),
        known: if sites.is_empty() {
            "kovan.toml has no [site.*].".into()
        } else {
            format!("Its sites: {}.", sites.join(", "))
        },
    }
}

impl FlushReport {
    /// The instances whose flush failed, with the error kind and message.
    pub fn failures(&self) -> impl Iterator<Item = (&InstanceFlush, &str, &str)> {
        self.instances.iter().filter_map(|i| match &i.outcome {
            FlushOutcome::Failed { kind, message, .. } => {
                Some((i, kind.as_str(), message.as_str()))
            }
            _ => None,
        })
    }

    /// Every instance in the scope flushed (or had nothing to flush), none cancelled or failed.
    pub fn succeeded(&self) -> bool {
        !self.cancelled && self.failures().next().is_none()
    }
}

/// Count what flushing `scope` would delete, and what stays, with the default part (`cache`).
pub async fn preview(
    ws: &Workspace,
    scope: FlushScope,
    on_progress: impl FnMut(CountProgress) + Send,
) -> Result<FlushPreview, CacheError> {
    preview_part(ws, scope, FlushPart::default(), on_progress).await
}

/// What the part takes of a cache that cannot tell its keys apart (LocMem, file) or stores none.
enum Piece {
    /// Keys picked out one by one (Redis, db).
    Select(Selection),
    /// The whole cache: it holds nothing the part keeps.
    Whole,
    /// Nothing of the cache: it holds nothing the part takes.
    Nothing,
    /// The part cannot be done on this cache, and why.
    Refused(String),
}

fn piece(instance: &Instance, part: &FlushPart, engine: &SessionEngine) -> Piece {
    // Sessions live in the `default` alias (Django's SESSION_CACHE_ALIAS): another alias holds
    // none, so `sessions` takes nothing of it and `cache` may take it whole.
    if !instance.is_default_alias() {
        if *part == FlushPart::Sessions {
            return Piece::Nothing;
        }
        if matches!(instance.cache, CacheBackend::Locmem | CacheBackend::File)
            && *part == FlushPart::Cache
        {
            return Piece::Whole;
        }
    }
    let backend = match instance.cache {
        CacheBackend::Redis | CacheBackend::Db => return Piece::Select(part.selection()),
        CacheBackend::Dummy if *part == FlushPart::Sessions => return Piece::Nothing,
        CacheBackend::Dummy => return Piece::Whole,
        CacheBackend::Locmem => "LocMem",
        CacheBackend::File => "file",
    };
    match (part, engine) {
        (FlushPart::All, _) => Piece::Whole,
        (FlushPart::Match(_), _) => Piece::Refused(format!(
            "a {backend} cache cannot pick out a key group (only Redis and db caches can); use scope all to clear it whole"
        )),
        (FlushPart::Cache, SessionEngine::Unknown { reason }) => Piece::Refused(format!(
            "a {backend} cache cannot keep sessions apart from the rest, and whether sessions live in it is unknown ({reason}); use scope all to clear it whole"
        )),
        (FlushPart::Cache, e) if e.in_cache() => Piece::Refused(format!(
            "its sessions live in its {backend} cache, which cannot keep them apart from the rest; use scope all to clear it whole"
        )),
        (FlushPart::Cache, _) => Piece::Whole,
        (FlushPart::Sessions, e) if e.in_cache() => Piece::Refused(format!(
            "its cached sessions cannot be singled out in a {backend} cache; use scope all to clear it whole"
        )),
        (FlushPart::Sessions, _) => Piece::Nothing,
    }
}

/// A key group's count per instance, by name: (keys, sessions among them), or why not.
type GroupCount = (String, Result<(u64, u64), String>);

/// Count the keys of a group in the Redis and db caches of `members`.
async fn count_group(
    ws: &Workspace,
    members: &[Instance],
    selection: &Selection,
) -> Vec<GroupCount> {
    let mut out = Vec::new();
    let redis: Vec<&Instance> = members
        .iter()
        .filter(|i| i.cache == CacheBackend::Redis)
        .collect();
    if let (Some(config), false) = (ws.redis.as_ref(), redis.is_empty()) {
        let prefixes = Prefixes::new(redis.iter().map(|i| i.names.cache_prefix.as_str()));
        let found = match RedisCache::connect(config).await {
            Ok(conn) => conn.count_selected(&prefixes, selection).await,
            Err(e) => Err(e),
        };
        for (index, i) in redis.iter().enumerate() {
            let got = match &found {
                Ok(per) => Ok(per[index]),
                Err(e) => Err(e.to_string()),
            };
            out.push((i.cache_label(), got));
        }
    }
    for i in members.iter().filter(|i| i.cache == CacheBackend::Db) {
        let selection = selection.clone();
        let got = blocking(ws, i, move |ws, i| db::count_selected(ws, i, &selection)).await;
        out.push((i.cache_label(), got.map_err(|e| e.to_string())));
    }
    out
}

/// Count what flushing `part` of `scope`'s instances would delete, and what stays.
pub async fn preview_part(
    ws: &Workspace,
    scope: FlushScope,
    part: FlushPart,
    on_progress: impl FnMut(CountProgress) + Send,
) -> Result<FlushPreview, CacheError> {
    preview_aliases(ws, scope, part, Vec::new(), on_progress).await
}

/// [`preview_part`] of some cache aliases of each instance (`kovan flush --alias`); `aliases`
/// empty: every alias.
pub async fn preview_aliases(
    ws: &Workspace,
    scope: FlushScope,
    part: FlushPart,
    aliases: Vec<String>,
    on_progress: impl FnMut(CountProgress) + Send,
) -> Result<FlushPreview, CacheError> {
    part.check()?;
    let members = scope.resolve(ws)?;
    let names: Vec<String> = members.iter().map(|i| i.name.clone()).collect();
    let targets = alias_targets(&members, &aliases)?;
    let engine = SessionEngine::of(ws);
    let counts = counts::count(ws, on_progress).await;
    // A key group is counted in its own pass: the whole count cannot tell it.
    let matched = match &part {
        FlushPart::Match(_) => count_group(ws, &targets, &part.selection()).await,
        _ => Vec::new(),
    };
    let mut parts = Vec::new();
    for instance in &targets {
        let counted = counts
            .alias(&instance.name, &instance.cache_alias)
            .and_then(|c| c.counted());
        let piece = piece(instance, &part, &engine);
        let (keys, sessions, refused) = match (&piece, &part) {
            (Piece::Refused(why), _) => (None, None, Some(why.clone())),
            (Piece::Nothing, _) => (Some(0), Some(0), None),
            (Piece::Whole, _) => (counted.map(|c| c.0), counted.and_then(|c| c.1), None),
            (Piece::Select(_), FlushPart::Match(_)) => {
                match matched
                    .iter()
                    .find(|(n, _)| *n == instance.cache_label())
                    .map(|m| &m.1)
                {
                    Some(Ok((k, s))) => (Some(*k), Some(*s), None),
                    _ => (None, None, None),
                }
            }
            (Piece::Select(_), _) => match counted {
                Some((k, s)) => {
                    let s = s.unwrap_or(0);
                    match part {
                        FlushPart::Cache => (Some(k - s), Some(0), None),
                        FlushPart::Sessions => (Some(s), Some(s), None),
                        _ => (Some(k), Some(s), None),
                    }
                }
                None => (None, None, None),
            },
        };
        let (kept_keys, kept_sessions) = match (counted, keys) {
            (Some((all, all_sessions)), Some(k)) => (
                Some(all.saturating_sub(k)),
                all_sessions.map(|a| a.saturating_sub(sessions.unwrap_or(0))),
            ),
            (Some((all, all_sessions)), None) if refused.is_some() => (Some(all), all_sessions),
            _ => (None, None),
        };
        let db_sessions = if !instance.is_default_alias() {
            // The rows are the instance's, said once: on its `default` alias.
            DbSessions::NotInScope
        } else if part.takes_session_rows() && engine.in_database() {
            let counted = blocking(ws, instance, |ws, i| Ok(sessions::count_rows(ws, i))).await;
            counted.unwrap_or_else(|e| DbSessions::NotCounted {
                reason: e.to_string(),
            })
        } else if part.takes_session_rows() {
            match &engine {
                SessionEngine::Unknown { reason } => DbSessions::NotCounted {
                    reason: format!(
                        "the session engine is unknown ({reason}): only cached sessions in Redis are counted"
                    ),
                },
                _ => DbSessions::NotInScope,
            }
        } else {
            DbSessions::NotInScope
        };
        let mut line = InstancePart {
            instance: instance.name.clone(),
            alias: instance.cache_alias.clone(),
            keys,
            sessions,
            kept_keys,
            kept_sessions,
            engine: engine.clone(),
            db_sessions,
            refused,
            summary: String::new(),
        };
        line.summary = summary(
            &line,
            &part,
            counts.alias(&instance.name, &instance.cache_alias),
        );
        parts.push(line);
    }
    let keys = parts.iter().filter_map(|p| p.keys).sum();
    let sessions = parts.iter().filter_map(|p| p.sessions).sum();
    let db_sessions = parts
        .iter()
        .map(|p| match p.db_sessions {
            DbSessions::Counted { rows } => rows,
            _ => 0,
        })
        .sum();
    Ok(FlushPreview {
        scope,
        part,
        parts,
        instances: names,
        aliases,
        keys,
        sessions,
        db_sessions,
        counts,
    })
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// One instance's preview in words.
fn summary(p: &InstancePart, part: &FlushPart, count: Option<&counts::KeyCount>) -> String {
    use counts::KeyCount;
    let name = &if p.alias == DEFAULT_ALIAS {
        p.instance.clone()
    } else {
        format!("{} ({})", p.instance, p.alias)
    };
    let not_counted = || match count {
        Some(KeyCount::NothingCached { reason } | KeyCount::NotRunning { reason }) => {
            format!("nothing to flush: {reason}")
        }
        Some(KeyCount::Failed { message, .. }) => format!("could not be counted: {message}"),
        _ => "could not be counted".into(),
    };
    let mut text = match (&p.refused, p.keys) {
        (Some(why), _) => format!("{name}: cache kept: {why}"),
        (None, None) => format!("{name}: {}", not_counted()),
        (None, Some(keys)) => match part {
            FlushPart::Cache => {
                let stay = match p.kept_sessions {
                    Some(s) => format!(
                        "sessions are kept: {} stay",
                        plural(s, "session", "sessions")
                    ),
                    None => "sessions are kept".into(),
                };
                format!(
                    "{} of {name}; {stay}",
                    plural(keys, "cache key", "cache keys")
                )
            }
            FlushPart::Sessions => format!(
                "{} of {name}; the cache is kept: {} stay",
                plural(keys, "cached session", "cached sessions"),
                plural(p.kept_keys.unwrap_or(0), "key", "keys")
            ),
            FlushPart::All => format!(
                "{} of {name}, {} among them",
                plural(keys, "key", "keys"),
                plural(p.sessions.unwrap_or(0), "session", "sessions")
            ),
            FlushPart::Match(glob) => format!(
                "{} of {name} matching {glob:?}; {} stay",
                plural(keys, "key", "keys"),
                plural(p.kept_keys.unwrap_or(0), "other key", "other keys")
            ),
        },
    };
    match &p.db_sessions {
        DbSessions::NotInScope => {}
        DbSessions::Counted { rows } => {
            text.push_str(&format!("; db sessions: {}", plural(*rows, "row", "rows")))
        }
        DbSessions::NotCounted { reason } => {
            text.push_str(&format!("; db sessions not counted: {reason}"))
        }
    }
    text
}

/// Delete the caches of the preview's scope, without undo. Never stops at the first failure: each
/// instance reports its own outcome, with how many keys went before anything went wrong.
pub async fn flush(
    ws: &Workspace,
    preview: &FlushPreview,
    cancel: &CancelToken,
    on_progress: impl FnMut(FlushProgress) + Send,
) -> FlushReport {
    flush_with(ws, preview, None, cancel, on_progress).await
}

/// [`flush`], and with `undo` every Redis key is saved to a snapshot before it is deleted.
pub async fn flush_with(
    ws: &Workspace,
    preview: &FlushPreview,
    undo: Option<&Undo>,
    cancel: &CancelToken,
    on_progress: impl FnMut(FlushProgress) + Send,
) -> FlushReport {
    let started_at = now_rfc3339();
    let clock = Instant::now();
    let mut progress = Progress {
        report: on_progress,
        throttle: Throttle::default(),
        now: FlushProgress {
            deleted: 0,
            sessions_deleted: 0,
            expected: preview.keys,
        },
    };
    let members: Vec<&Instance> = ws
        .instances
        .iter()
        .filter(|i| preview.instances.contains(&i.name))
        .collect();
    let mut done: Vec<InstanceFlush> = Vec::new();
    // An alias that kovan.toml no longer declares is left out here, like an instance it no
    // longer has is reported below; the preview named what it covered.
    let views: Vec<Instance> = members
        .iter()
        .flat_map(|i| i.alias_views())
        .filter(|v| preview.aliases.is_empty() || preview.aliases.contains(&v.cache_alias))
        .collect();
    let scope: Vec<&Instance> = views.iter().collect();
    for name in &preview.instances {
        if ws.instance(name).is_none() {
            let e = unknown_instance(ws, name);
            // kovan.toml changed since the preview.
            let backend = preview
                .counts
                .instance(name)
                .map_or(CacheBackend::Dummy, |i| i.backend);
            done.push(outcome_of(name, DEFAULT_ALIAS, backend, Err(e)));
        }
    }
    let part = &preview.part;
    let read_engine = SessionEngine::of(ws);
    let engine_of = |name: &str| {
        preview
            .parts
            .iter()
            .find(|p| p.instance == name)
            .map_or(&read_engine, |p| &p.engine)
    };
    for instance in scope.iter().filter(|i| i.cache != CacheBackend::Redis) {
        let flushed = if cancel.is_cancelled() {
            cancelled(instance, None)
        } else {
            flush_one(
                ws,
                instance,
                piece(instance, part, engine_of(&instance.name)),
            )
            .await
        };
        progress.add(flushed.deleted, flushed.sessions_deleted.unwrap_or(0));
        done.push(flushed);
    }
    let redis_scope: Vec<&Instance> = scope
        .iter()
        .copied()
        .filter(|i| i.cache == CacheBackend::Redis)
        .collect();
    let mut snapshot = None;
    if !redis_scope.is_empty() {
        let selection = part.selection();
        let (flushed, saved) = flush_redis(
            ws,
            &redis_scope,
            &selection,
            undo,
            part,
            cancel,
            &mut progress,
        )
        .await;
        done.extend(flushed);
        snapshot = saved;
    }
    // The session rows, in each instance's own database.
    if part.takes_session_rows() {
        for flushed in done.iter_mut().filter(|f| f.alias == DEFAULT_ALIAS) {
            let Some(instance) = ws.instance(&flushed.instance) else {
                continue;
            };
            // Only where the preview counted them: rows it could not count (PostgreSQL, an
            // unknown engine) were shown as not counted, and are not touched.
            let counted = preview.parts.iter().any(|p| {
                p.instance == instance.name && matches!(p.db_sessions, DbSessions::Counted { .. })
            });
            if !counted
                || cancel.is_cancelled()
                || matches!(flushed.outcome, FlushOutcome::Failed { .. })
            {
                continue;
            }
            match blocking(ws, instance, sessions::delete_rows).await {
                Ok(rows) => flushed.db_sessions_deleted = Some(rows),
                Err(e) => flushed.outcome = failed(&e),
            }
        }
    }
    progress.finish();

    let order = |f: &InstanceFlush| {
        let at = ws.instances.iter().position(|i| i.name == f.instance);
        let alias = at.and_then(|at| {
            ws.instances[at]
                .alias_names()
                .iter()
                .position(|a| *a == f.alias)
        });
        (at, alias)
    };
    done.sort_by_key(order);
    FlushReport {
        scope: preview.scope.clone(),
        part: preview.part.clone(),
        started_at,
        duration_ms: clock.elapsed().as_millis() as u64,
        deleted: done.iter().map(|i| i.deleted).sum(),
        sessions_deleted: done.iter().filter_map(|i| i.sessions_deleted).sum(),
        db_sessions_deleted: done.iter().filter_map(|i| i.db_sessions_deleted).sum(),
        cancelled: done.iter().any(|i| i.outcome == FlushOutcome::Cancelled),
        instances: done,
        undo: snapshot,
    }
}

async fn flush_one(ws: &Workspace, instance: &Instance, piece: Piece) -> InstanceFlush {
    let result = match (piece, instance.cache) {
        (_, CacheBackend::Redis) => unreachable!("Redis instances are flushed together"),
        (Piece::Refused(reason), _) => {
            return InstanceFlush {
                instance: instance.name.clone(),
                alias: instance.cache_alias.clone(),
                backend: instance.cache,
                deleted: 0,
                sessions_deleted: None,
                db_sessions_deleted: None,
                method: None,
                outcome: FlushOutcome::Skipped { reason },
                undoable: false,
            }
        }
        (Piece::Nothing, CacheBackend::Db) => Ok((0, Some(0))),
        (Piece::Nothing, _) => Ok((0, None)),
        (Piece::Select(selection), CacheBackend::Db) => {
            blocking(ws, instance, move |ws, i| {
                db::flush_selected(ws, i, &selection).map(|(n, s)| (n, Some(s)))
            })
            .await
        }
        (_, CacheBackend::Locmem) => locmem::flush(ws, instance).await.map(|n| (n, None)),
        (_, CacheBackend::File) => {
            blocking(ws, instance, |ws, i| file::flush(ws, i).map(|n| (n, None))).await
        }
        (_, CacheBackend::Db) => {
            blocking(ws, instance, |ws, i| {
                db::flush(ws, i).map(|(n, s)| (n, Some(s)))
            })
            .await
        }
        (_, CacheBackend::Dummy) => Err(dummy::refusal(instance)),
    };
    outcome_of(
        &instance.name,
        &instance.cache_alias,
        instance.cache,
        result,
    )
}

fn outcome_of(
    name: &str,
    alias: &str,
    backend: CacheBackend,
    result: Result<(u64, Option<u64>), CacheError>,
) -> InstanceFlush {
    let (deleted, sessions_deleted, outcome) = match result {
        Ok((n, sessions)) => (n, sessions, FlushOutcome::Done),
        Err(e @ (CacheError::NotRunning { .. } | CacheError::NothingCached { .. })) => (
            0,
            None,
            FlushOutcome::Skipped {
                reason: e.to_string(),
            },
        ),
        Err(e) => (0, None, failed(&e)),
    };
    InstanceFlush {
        instance: name.to_string(),
        alias: alias.to_string(),
        backend,
        deleted,
        sessions_deleted,
        db_sessions_deleted: None,
        method: None,
        outcome,
        undoable: false,
    }
}

fn failed(e: &CacheError) -> FlushOutcome {
    FlushOutcome::Failed {
        kind: e.kind(),
        message: e.to_string(),
        detail: e.detail(),
    }
}

fn cancelled(instance: &Instance, method: Option<DeleteCommand>) -> InstanceFlush {
    InstanceFlush {
        instance: instance.name.clone(),
        alias: instance.cache_alias.clone(),
        backend: instance.cache,
        deleted: 0,
        sessions_deleted: (instance.cache != CacheBackend::File).then_some(0),
        db_sessions_deleted: None,
        method,
        outcome: FlushOutcome::Cancelled,
        undoable: false,
    }
}

/// The Redis instances of the scope, together: one deleting pass over their prefixes. Only keys
/// this pass's own SCAN matched are deleted, and only what Redis confirmed deleted is counted.
/// Never FLUSHDB, however empty of other keys the database looked: no check made before it can
/// stop another client writing a key the moment after (shared/DESIGN.md, "Never FLUSHDB").
async fn flush_redis<F: FnMut(FlushProgress) + Send>(
    ws: &Workspace,
    scope: &[&Instance],
    selection: &Selection,
    undo: Option<&Undo>,
    part: &FlushPart,
    cancel: &CancelToken,
    progress: &mut Progress<F>,
) -> (Vec<InstanceFlush>, Option<SnapshotInfo>) {
    let all_failed = |e: &CacheError| -> Vec<InstanceFlush> {
        scope
            .iter()
            .map(|i| InstanceFlush {
                instance: i.name.clone(),
                alias: i.cache_alias.clone(),
                backend: i.cache,
                deleted: 0,
                sessions_deleted: Some(0),
                db_sessions_deleted: None,
                method: None,
                outcome: failed(e),
                undoable: false,
            })
            .collect()
    };
    let Some(config) = ws.redis.as_ref() else {
        let e = CacheError::Redis {
            url: "(none)".into(),
            detail: "kovan.toml has no [redis] url".into(),
        };
        return (all_failed(&e), None);
    };
    let redis = match RedisCache::connect(config).await {
        Ok(redis) => redis,
        Err(e) => return (all_failed(&e), None),
    };
    if cancel.is_cancelled() {
        return (scope.iter().map(|i| cancelled(i, None)).collect(), None);
    }
    let writer = match undo {
        None => None,
        Some(undo) => {
            let header = SnapshotHeader {
                id: undo::new_id(),
                workspace: ws.file.clone(),
                redis: crate::redact::url(config.url()),
                instances: {
                    let mut names: Vec<String> = scope.iter().map(|i| i.name.clone()).collect();
                    names.dedup();
                    names
                },
                part: part.name(),
                created_at: now_rfc3339(),
            };
            match SnapshotWriter::create(&undo.dir, &header, undo.limit_bytes) {
                Ok(w) => Some((Arc::new(Mutex::new(w)), header)),
                Err(e) => {
                    let e = CacheError::UndoWrite {
                        detail: e.to_string(),
                    };
                    return (all_failed(&e), None);
                }
            }
        }
    };
    let report = |instance: &Instance, keys: u64, sessions: u64, method, outcome| InstanceFlush {
        instance: instance.name.clone(),
        alias: instance.cache_alias.clone(),
        backend: instance.cache,
        deleted: keys,
        sessions_deleted: Some(sessions),
        db_sessions_deleted: None,
        method: Some(method),
        outcome,
        undoable: false,
    };

    let prefixes = Prefixes::new(scope.iter().map(|i| i.names.cache_prefix.as_str()));
    let pass = redis
        .delete_keys(
            &prefixes,
            selection,
            writer.as_ref().map(|w| &w.0),
            cancel,
            |batch| progress.add(batch.keys, batch.sessions),
        )
        .await;
    let snapshot = match (writer, undo) {
        (Some((w, header)), Some(undo)) => {
            let w = w.lock().unwrap_or_else(|e| e.into_inner());
            let (keys, bytes) = (w.keys(), w.bytes());
            let path = w.path().to_path_buf();
            drop(w);
            if keys == 0 {
                // Nothing was deleted: nothing to undo.
                let _ = std::fs::remove_file(path);
                None
            } else {
                let _ = undo::finished(&undo.dir, &header.id, keys);
                undo::prune(undo);
                Some(SnapshotInfo {
                    id: header.id,
                    created_at: header.created_at,
                    instances: header.instances,
                    part: header.part,
                    keys: Some(keys),
                    bytes,
                    restored: false,
                })
            }
        }
        _ => None,
    };
    let undoable = snapshot.is_some();
    let outcome = match (&pass.error, pass.cancelled) {
        (Some(e), _) => failed(e),
        (None, true) => FlushOutcome::Cancelled,
        (None, false) => FlushOutcome::Done,
    };
    let flushed = scope
        .iter()
        .zip(&pass.instances)
        .map(|(i, d)| InstanceFlush {
            undoable,
            ..report(i, d.keys, d.sessions, pass.command, outcome.clone())
        })
        .collect();
    (flushed, snapshot)
}

/// Running totals, reported at most every 50 ms.
struct Progress<F> {
    report: F,
    throttle: Throttle,
    now: FlushProgress,
}

impl<F: FnMut(FlushProgress)> Progress<F> {
    fn add(&mut self, keys: u64, sessions: u64) {
        self.now.deleted += keys;
        self.now.sessions_deleted += sessions;
        if self.throttle.ready() {
            (self.report)(self.now);
        }
    }

    fn finish(&mut self) {
        (self.report)(self.now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(glob: &str) -> String {
        let err = FlushPart::Match(glob.into()).check().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadGlob, "{glob:?}");
        err.to_string()
    }

    #[test]
    fn key_patterns_that_cannot_be_meant_are_refused_in_words() {
        for ok in [
            "*",
            "views.decorators.cache.*",
            "user:[0-9]*",
            "a\\[b",
            "[^]]x",
            "[\\]]",
            "tail\\\\",
        ] {
            assert!(FlushPart::Match(ok.into()).check().is_ok(), "{ok:?}");
        }
        assert!(refused("").contains("is empty"));
        assert!(refused("  ").contains("is empty"));
        assert!(refused("user:[0-9*").contains("class open"));
        assert!(refused("[\\]").contains("class open"));
        assert!(refused("views\\").contains("lone `\\`"));
        for part in [FlushPart::Cache, FlushPart::Sessions, FlushPart::All] {
            assert!(part.check().is_ok());
        }
    }
}
