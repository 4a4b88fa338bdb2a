//! The instances' caches: count them and flush them, each with the backend kovan.toml names.
//!
//! - redis: every instance's keys counted in ONE `SCAN` pass over the shared database, bucketed
//!   by their exact `{prefix}:` start; a flush deletes by `SCAN` + batched `UNLINK` and never
//!   touches a key outside its prefixes (other instances', other apps').
//! - locmem: through the running instance's `/health/` and `/health/cache/clear/`.
//! - file: the `*.djcache` files in the instance's folder.
//! - db: the instance's cache table in its SQLite database.
//! - dummy: nothing is cached; shown as such, never flushed.
//!
//! A flush is previewed ([`preview`]), confirmed by the user, then run ([`flush`]) with progress and
//! a [`CancelToken`]; its [`FlushReport`] is what the store records. A panel runs flushes through
//! one [`Flusher`], which lets another call cancel the running one and records each in the history.

mod backend_name;
mod cancel;
mod counter;
mod counts;
mod db;
mod dummy;
pub mod error;
mod file;
mod flush;
mod flusher;
mod groups;
mod locmem;
mod progress;
pub mod redis;
pub mod sessions;
pub mod snapshot;
mod undo;

pub use cancel::CancelToken;
pub use counter::Counter;
pub use counts::{count, AliasKeys, CacheCounts, InstanceKeys, KeyCount, RedisKeys, SiteKeys};
pub use error::CacheError;
pub use flush::{
    flush, flush_with, preview, preview_aliases, preview_part, FlushOutcome, FlushPart,
    FlushPreview, FlushReport, FlushScope, InstanceFlush, InstancePart,
};
pub use flusher::{record, Flusher, FLUSH_EVENT};
pub use groups::{groups, KeyGroup, KeyGroups, SAMPLE as GROUP_SAMPLE};
pub use progress::{CacheProgress, CountProgress, FlushProgress};
pub use redis::{DeleteCommand, RedisCache, Selection, Timeouts};
pub use sessions::{DbSessions, SessionEngine};
pub use undo::{prune, snapshots, undo, SnapshotInfo, Undo, UndoReport};
