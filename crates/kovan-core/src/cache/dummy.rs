//! Dummy: Django's DummyCache stores nothing. Nothing to count, nothing to flush.

use super::error::CacheError;
use crate::workspace::Instance;

/// Why there is nothing to count or flush, as the refusal the window and the CLI show.
pub fn refusal(instance: &Instance) -> CacheError {
    CacheError::NothingCached {
        instance: instance.name.clone(),
    }
}
