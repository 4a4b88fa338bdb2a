//! The error as it crosses into the window. Each error type says how it becomes one beside its own
//! definition (`From<…> for IpcError`), so this module imports none of them.

use serde::Serialize;
use ts_rs::TS;

/// An error as it crosses into the window: a stable kind to branch on and a message to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct IpcError {
    pub kind: String,
    pub message: String,
}
