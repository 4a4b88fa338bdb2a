//! One count at a time: the window refreshes counts on a timer, and a refresh that comes while a
//! count is still running is skipped instead of starting a second pass over the database.

use std::sync::atomic::{AtomicBool, Ordering};

use super::counts::{count, CacheCounts};
use super::progress::CountProgress;
use crate::workspace::Workspace;

#[derive(Debug, Default)]
pub struct Counter {
    running: AtomicBool,
}

impl Counter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Count every instance's cache, or return None at once when a count is already running.
    pub async fn count(
        &self,
        ws: &Workspace,
        on_progress: impl FnMut(CountProgress) + Send,
    ) -> Option<CacheCounts> {
        let _running = Running::claim(&self.running)?;
        Some(count(ws, on_progress).await)
    }

    pub fn is_counting(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }
}

/// Held while a count runs; released however the count ends (done, failed, or dropped).
struct Running<'a>(&'a AtomicBool);

impl<'a> Running<'a> {
    fn claim(flag: &'a AtomicBool) -> Option<Self> {
        flag.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Self(flag))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
