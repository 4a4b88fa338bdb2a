//! What can go wrong counting or flushing a cache, in words a developer can act on.
//!
//! Redis errors name the server by its redacted URL and never carry the password.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Classified, ErrorDetail, ErrorKind};
use crate::text::grouped;

/// How far a Redis operation got before it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reached {
    /// Keys SCAN had returned.
    pub scanned: u64,
    /// Keys Redis confirmed deleted (always 0 for a count).
    pub deleted: u64,
}

/// The Redis operation an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Connect,
    Count,
    Flush,
    /// Putting a flush's keys back (`kovan undo`).
    Undo,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("Redis at {url} refused the connection: nothing listens there. {}", refused_fix(*managed))]
    RedisRefused {
        url: String,
        /// `[redis] managed` in kovan.toml: the fix differs.
        managed: bool,
    },

    #[error("Redis at {url} rejected the login ({detail}). Check the user and password in [redis] url in kovan.toml.")]
    RedisAuthFailed { url: String, detail: String },

    #[error("TLS with Redis at {url} failed ({detail}). {}", problem.fix())]
    RedisTls {
        url: String,
        /// Which part failed: what the window words and the fix names.
        problem: crate::error::TlsProblem,
        detail: String,
    },

    #[error("Redis at {url} did not answer within {} s{}. It may be overloaded or busy with a long command; try again.", timeout.as_secs(), during(*operation, *reached))]
    RedisTimeout {
        url: String,
        timeout: Duration,
        operation: Operation,
        reached: Reached,
    },

    #[error("the connection to Redis at {url} was lost{} ({detail}). Keys already deleted stay deleted; run it again once Redis is back.", during(*operation, *reached))]
    RedisConnectionLost {
        url: String,
        operation: Operation,
        reached: Reached,
        detail: String,
    },

    #[error("Redis at {url}: {detail}")]
    Redis { url: String, detail: String },

    #[error("{instance} is not running: a LocMem cache lives in the process and is empty when it is stopped.")]
    NotRunning { instance: String },

    #[error("{instance} (port {port}) did not answer as expected: {detail}")]
    Health {
        instance: String,
        port: u16,
        detail: String,
    },

    #[error("{instance}: {detail}")]
    Token { instance: String, detail: String },

    #[error("{instance}: {} does not exist. Run `manage.py migrate` for {instance} (Kovan runs it when starting the instance), then `manage.py createcachetable`.", path.display())]
    NoDatabase { instance: String, path: PathBuf },

    #[error("{instance}: the cache table `{table}` is missing from {}. Run `manage.py createcachetable` for {instance}.", path.display())]
    NoCacheTable {
        instance: String,
        table: String,
        path: PathBuf,
    },

    #[error("{instance}: {}: {detail}", path.display())]
    Database {
        instance: String,
        path: PathBuf,
        detail: String,
    },

    #[error("{instance}: {}: {source}", path.display())]
    Io {
        instance: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{instance}: {what} is not supported yet.")]
    Unsupported { instance: String, what: String },

    #[error("{instance} uses cache = \"dummy\": Django's DummyCache stores nothing, so there is nothing to count or flush.")]
    NothingCached { instance: String },

    /// A key pattern (`--match`) refused before anything is counted or deleted.
    #[error("the key pattern {glob:?} {why}")]
    BadGlob { glob: String, why: String },

    #[error("`{name}` is not an instance of this workspace. Use one of: {known}.")]
    UnknownInstance { name: String, known: String },

    /// A site scope names no site of kovan.toml (`known` lists them, or says there are none).
    #[error("`{name}` is not a site of this workspace. {known}")]
    UnknownSite { name: String, known: String },

    /// `kovan flush --alias A` where no instance of the scope has the alias `A`.
    #[error("no instance of the flush has the cache alias `{alias}`. Its aliases: {known}.")]
    UnknownAlias { alias: String, known: String },

    #[error(
        "a flush is already running ({scope}). Wait for it to finish or cancel it, then try again."
    )]
    FlushRunning { scope: String },

    #[error("{}", undo_limit_text(detail, id, snapshot))]
    UndoLimit {
        detail: String,
        /// Empty when nothing was deleted (the limit holds not even one batch).
        id: String,
        snapshot: PathBuf,
    },

    #[error("the undo snapshot could not be written ({detail}); nothing was deleted after that. Free the disk or fix the data dir's permissions, or flush without undo (`kovan flush --no-undo`).")]
    UndoWrite { detail: String },

    #[error("{0}")]
    Undo(String),
}

/// What to do about a refused connection, worded from the config: never "set managed = true" to
/// someone who has.
fn refused_fix(managed: bool) -> &'static str {
    if managed {
        "kovan.toml says managed = true, so Kovan starts redis-server when it starts an instance that uses it: start one (`kovan up`, or Start in the window), or start redis-server yourself, then try again."
    } else {
        "Start redis-server (or set managed = true under [redis] in kovan.toml so Kovan starts it with the instances), then try again."
    }
}

fn undo_limit_text(detail: &str, id: &str, snapshot: &std::path::Path) -> String {
    let fix = "flush without undo (`kovan flush --no-undo`, or \"without undo\" in the window), or raise the limit (`[undo] limit_mib` in kovan.toml)";
    if id.is_empty() {
        format!("{detail}: it cannot hold even the first batch of keys, so nothing was deleted. To go on, {fix}.")
    } else {
        format!(
            "{detail}; nothing more was deleted, and every key deleted before is in the snapshot ({}). Undo it with `kovan undo {id}`, or {fix}.",
            snapshot.display()
        )
    }
}

fn during(operation: Operation, reached: Reached) -> String {
    match operation {
        Operation::Connect => " while connecting".into(),
        Operation::Count => format!(
            " during the count, after {} keys scanned",
            grouped(reached.scanned)
        ),
        Operation::Flush => format!(
            " during the flush, after {} keys scanned and {} deleted",
            grouped(reached.scanned),
            grouped(reached.deleted)
        ),
        Operation::Undo => " during the undo".into(),
    }
}

impl Classified for CacheError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::RedisRefused { .. } => ErrorKind::RedisRefused,
            Self::RedisAuthFailed { .. } => ErrorKind::RedisAuthFailed,
            Self::RedisTls { .. } => ErrorKind::RedisTlsFailed,
            Self::RedisTimeout { .. } => ErrorKind::RedisTimeout,
            Self::RedisConnectionLost { .. } => ErrorKind::RedisConnectionLost,
            Self::Redis { .. } => ErrorKind::RedisError,
            Self::NotRunning { .. } => ErrorKind::InstanceNotRunning,
            Self::Health { .. } => ErrorKind::InstanceHealth,
            Self::Token { .. } => ErrorKind::CacheToken,
            Self::NoDatabase { .. } => ErrorKind::CacheDatabaseMissing,
            Self::NoCacheTable { .. } => ErrorKind::CacheTableMissing,
            Self::Database { .. } => ErrorKind::CacheDatabase,
            Self::Io { .. } => ErrorKind::CacheIo,
            Self::Unsupported { .. } => ErrorKind::CacheUnsupported,
            Self::NothingCached { .. } => ErrorKind::NothingCached,
            Self::UnknownInstance { .. } => ErrorKind::UnknownInstance,
            Self::UnknownSite { .. } => ErrorKind::UnknownSite,
            Self::UnknownAlias { .. } => ErrorKind::UnknownAlias,
            Self::FlushRunning { .. } => ErrorKind::FlushRunning,
            Self::UndoLimit { .. } => ErrorKind::UndoLimit,
            Self::UndoWrite { .. } => ErrorKind::UndoWriteFailed,
            Self::Undo(_) => ErrorKind::UndoFailed,
            Self::BadGlob { .. } => ErrorKind::BadGlob,
        }
    }

    fn detail(&self) -> Option<ErrorDetail> {
        let instance = |instance: &String| ErrorDetail::Instance {
            instance: instance.clone(),
        };
        Some(match self {
            Self::RedisRefused { url, managed } => ErrorDetail::Redis {
                url: url.clone(),
                managed: Some(*managed),
            },
            Self::RedisTls { url, problem, .. } => ErrorDetail::RedisTls {
                url: url.clone(),
                problem: *problem,
            },
            Self::RedisAuthFailed { url, .. }
            | Self::RedisTimeout { url, .. }
            | Self::RedisConnectionLost { url, .. }
            | Self::Redis { url, .. } => ErrorDetail::Redis {
                url: url.clone(),
                managed: None,
            },
            Self::NotRunning { instance: i }
            | Self::Health { instance: i, .. }
            | Self::Token { instance: i, .. }
            | Self::NoDatabase { instance: i, .. }
            | Self::NoCacheTable { instance: i, .. }
            | Self::Database { instance: i, .. }
            | Self::Io { instance: i, .. }
            | Self::Unsupported { instance: i, .. }
            | Self::NothingCached { instance: i } => instance(i),
            Self::UnknownInstance { name, .. } => instance(name),
            Self::UnknownSite { .. }
            | Self::UnknownAlias { .. }
            | Self::FlushRunning { .. }
            | Self::UndoLimit { .. }
            | Self::UndoWrite { .. }
            | Self::Undo(_)
            | Self::BadGlob { .. } => return None,
        })
    }
}

impl CacheError {
    /// How far the Redis operation got, for errors that stopped one part-way.
    pub fn reached(&self) -> Option<Reached> {
        match self {
            Self::RedisTimeout { reached, .. } | Self::RedisConnectionLost { reached, .. } => {
                Some(*reached)
            }
            _ => None,
        }
    }
}
