//! What is wrong with a kovan.toml: each problem names the file, the field, the line and the fix.

use std::path::PathBuf;

use crate::error::{Classified, ErrorDetail, ErrorKind};

pub use crate::error::Problem;

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

    #[error("{}: is {} bytes; a kovan.toml is at most {} bytes. Point Kovan at your project's own kovan.toml.", path.display(), crate::text::grouped(*size), crate::text::grouped(*max))]
    TooLarge { path: PathBuf, size: u64, max: u64 },

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
}

impl Classified for WorkspaceError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound { .. } => ErrorKind::WorkspaceNotFound,
            // For the window these are one kind: a kovan.toml there that cannot be read.
            Self::Unreadable { .. } | Self::NotAFile { .. } | Self::TooLarge { .. } => {
                ErrorKind::WorkspaceUnreadable
            }
            Self::Invalid { .. } => ErrorKind::WorkspaceInvalid,
        }
    }

    fn detail(&self) -> Option<ErrorDetail> {
        Some(match self {
            Self::Invalid { path, problems } => ErrorDetail::Fields {
                file: path.display().to_string(),
                problems: problems.clone(),
            },
            _ => ErrorDetail::Path {
                path: self.path().display().to_string(),
            },
        })
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
