//! What is wrong with a kovan.toml: each problem names the file, the field, the line and the fix.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use ts_rs::TS;

/// One thing wrong in a kovan.toml, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The field, as a path into the file: `instance[2].port`, `preset.dev.instances`.
    pub field: String,
    /// 1-based line in the file, when the problem has one.
    pub line: Option<u32>,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}, {}: {}", self.field, self.message)?,
            None => write!(f, "{}: {}", self.field, self.message)?,
        }
        write!(f, " Fix: {}", self.fix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("{}: no kovan.toml here. Create one in your Django project's root, or point Kovan at it with --workspace PATH or KOVAN_WORKSPACE.", path.display())]
    NotFound { path: PathBuf },

    #[error("{}: cannot be read ({source}). Check that the file exists and that you may read it.", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: is {what}, not a file Kovan can read as its kovan.toml. Put a regular kovan.toml file there.", path.display())]
    NotAFile { path: PathBuf, what: &'static str },

    #[error("{}: is {} bytes; a kovan.toml is at most {} bytes. Point Kovan at your project's own kovan.toml.", path.display(), crate::text::grouped(*size), crate::text::grouped(super::source::MAX_SIZE))]
    TooLarge { path: PathBuf, size: u64 },

    #[error("{}: {}", path.display(), summarize(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl WorkspaceError {
    pub fn path(&self) -> &PathBuf {
        match self {
            Self::NotFound { path }
            | Self::Unreadable { path, .. }
            | Self::NotAFile { path, .. }
            | Self::TooLarge { path, .. }
            | Self::Invalid { path, .. } => path,
        }
    }

    /// The problems to list one by one; a single synthetic one for errors that are not about fields.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Self::Invalid { problems, .. } => problems.clone(),
            _ => Vec::new(),
        }
    }

    /// A stable name for the kind of error, for `--json` and the window.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "workspace_not_found",
            // For the window these are one kind: a kovan.toml there that cannot be read.
            Self::Unreadable { .. } | Self::NotAFile { .. } | Self::TooLarge { .. } => {
                "workspace_unreadable"
            }
            Self::Invalid { .. } => "workspace_invalid",
        }
    }
}

fn summarize(problems: &[Problem]) -> String {
    let mut out = match problems.len() {
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    };
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string());
    }
    out
}

impl From<&WorkspaceError> for crate::IpcError {
    fn from(e: &WorkspaceError) -> Self {
        Self {
            kind: e.kind().into(),
            message: e.to_string(),
        }
    }
}
