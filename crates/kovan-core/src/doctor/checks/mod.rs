//! The doctor's checks, one file per family; each adds its findings to the list `examine` sorts.

pub(super) mod generated;
pub(super) mod processes;
pub(super) mod redis;
pub(super) mod reported;
pub(super) mod secrets;
pub(super) mod store;
