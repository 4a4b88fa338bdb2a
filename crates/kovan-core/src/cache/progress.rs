//! Progress reports while a count or a flush runs, for the `cache://progress` event.

use std::time::{Duration, Instant};

use serde::Serialize;
use ts_rs::TS;

/// How far a count's pass over the Redis database is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CountProgress {
    /// Distinct keys seen so far.
    #[ts(type = "number")]
    pub scanned: u64,
    /// `DBSIZE` when the pass began: about how many keys the pass will see.
    #[ts(type = "number")]
    pub dbsize: u64,
}

/// How far a flush is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FlushProgress {
    /// Keys deleted so far, every backend in the scope together.
    #[ts(type = "number")]
    pub deleted: u64,
    /// Cached sessions among them (where the backend can tell).
    #[ts(type = "number")]
    pub sessions_deleted: u64,
    /// What the preview counted in the scope; `deleted` can end a little off as keys come and go.
    #[ts(type = "number")]
    pub expected: u64,
}

/// Either progress, as one event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "operation", rename_all = "camelCase")]
pub enum CacheProgress {
    Count(CountProgress),
    Flush(FlushProgress),
}

/// Lets a report through at most every 50 ms (the first at once), so a million keys do not become
/// a thousand events.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    const EVERY: Duration = Duration::from_millis(50);

    pub(crate) fn ready(&mut self) -> bool {
        let now = Instant::now();
        let ready = self.last.is_none_or(|last| now - last >= Self::EVERY);
        if ready {
            self.last = Some(now);
        }
        ready
    }
}
