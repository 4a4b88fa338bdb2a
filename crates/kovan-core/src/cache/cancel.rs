//! Cancelling a flush from elsewhere (the window's Cancel button, Ctrl-C in the CLI).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared between the flush and whoever may cancel it. A flush checks it between batches: the batch
/// in flight completes, nothing after it starts, and the report says it was cancelled.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
