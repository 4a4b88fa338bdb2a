//! What is wrong with the store, said everywhere it matters: on stderr by every command that
//! touches it, as a doctor finding, and as a banner in the window. The store is a record, not the
//! only truth: running instances are still found from the process table by their markers.

use serde::Serialize;
use ts_rs::TS;

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StoreTroubleKind {
    /// It cannot be opened or read at all: Kovan runs without it.
    Unavailable,
    /// It opens but cannot be written (immutable, read-only, permission, disk full).
    Unwritable,
    /// It was damaged and moved aside; a new one is in its place.
    Recovered,
}

/// A store failure, in words for the user: what failed, the file, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StoreTrouble {
    pub kind: StoreTroubleKind,
    /// The store's file.
    pub path: String,
    /// Where the damaged file now is (`Recovered`).
    pub moved_to: Option<String>,
    /// What SQLite or the system said.
    pub reason: String,
}

const FOUND_BY_MARKERS: &str = "running instances are found from the process table by their markers (KOVAN_WORKSPACE, KOVAN_INSTANCE)";

impl StoreTrouble {
    pub fn unavailable(path: &str, error: &StoreError) -> Self {
        Self {
            kind: StoreTroubleKind::Unavailable,
            path: path.into(),
            moved_to: None,
            reason: error.reason(),
        }
    }

    /// What failed and on which file.
    pub fn message(&self) -> String {
        let path = &self.path;
        let reason = &self.reason;
        match self.kind {
            StoreTroubleKind::Unavailable => {
                format!("Kovan's history database {path} cannot be opened ({reason})")
            }
            StoreTroubleKind::Unwritable => {
                format!("Kovan's history database {path} cannot be written ({reason})")
            }
            StoreTroubleKind::Recovered => format!(
                "Kovan's history database {path} could not be read ({reason}); it was moved aside to {} and a new one created",
                self.moved_to.as_deref().unwrap_or("?")
            ),
        }
    }

    /// What it means for what runs.
    pub fn consequence(&self) -> String {
        match self.kind {
            StoreTroubleKind::Unavailable | StoreTroubleKind::Unwritable => {
                format!("nothing Kovan starts or stops is recorded; {FOUND_BY_MARKERS}")
            }
            StoreTroubleKind::Recovered => format!(
                "its history stays in the file moved aside; {FOUND_BY_MARKERS} and recorded again"
            ),
        }
    }

    /// What to do.
    pub fn fix(&self) -> String {
        let dir = std::path::Path::new(&self.path)
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        match self.kind {
            StoreTroubleKind::Unavailable | StoreTroubleKind::Unwritable => format!(
                "Make {} and {dir} writable (chattr -i, chmod u+w, free disk space), or move the file aside; {} puts Kovan's data elsewhere.",
                self.path,
                super::DATA_DIR_VAR
            ),
            StoreTroubleKind::Recovered => format!(
                "Nothing to do to keep working; delete {} once its history is not needed.",
                self.moved_to.as_deref().unwrap_or("the file moved aside")
            ),
        }
    }

    /// The one line a command prints on stderr.
    pub fn line(&self) -> String {
        format!(
            "warning: {}: {}. {}",
            self.message(),
            self.consequence(),
            self.fix()
        )
    }
}

impl StoreError {
    /// What SQLite or the system said, without the file's name.
    pub fn reason(&self) -> String {
        match self {
            StoreError::Sqlite { source, .. } => source.to_string(),
            StoreError::Io { source, .. } => source.to_string(),
        }
    }

    /// Whether this says the file is not a usable database (rather than locked, unreadable or
    /// unwritable): only then is it set aside.
    pub(super) fn is_damage(&self, path: &std::path::Path) -> bool {
        use rusqlite::ffi::ErrorCode::*;
        match self {
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => match e.code {
                NotADatabase | DatabaseCorrupt => true,
                // Something that is not a file where the store should be (a folder).
                CannotOpen => path.exists() && !path.is_file(),
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether this says the file cannot be written (rather than read).
    pub(super) fn is_unwritable(&self) -> bool {
        use rusqlite::ffi::ErrorCode::*;
        match self {
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => matches!(
                e.code,
                ReadOnly | DiskFull | PermissionDenied | CannotOpen | SystemIoFailure
            ),
            StoreError::Sqlite { .. } => false,
            StoreError::Io { .. } => true,
        }
    }
}
