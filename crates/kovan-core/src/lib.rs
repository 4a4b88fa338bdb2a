//! Kovan's logic, free of Tauri: the desktop shell and the `kovan` CLI are thin layers over it.

pub mod bindings;
pub mod cache;
pub mod detect;
pub mod diagnostics;
pub mod django;
pub mod doctor;
pub mod error;
pub mod generate;
pub mod health;
mod http;
pub mod platform;
pub mod proposal;
pub mod recent;
pub mod redact;
pub mod running;
pub mod services;
pub mod store;
pub mod supervisor;
pub mod text;
pub mod view;
pub mod workspace;

pub use error::IpcError;
pub use view::WorkspaceView;
pub use workspace::{Problem, Workspace, WorkspaceError};
