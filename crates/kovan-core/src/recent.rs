//! The kovan.toml files opened last, most recent first, kept in a small JSON file in Kovan's data
//! dir so the first-run screen can offer them again.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store;
use crate::workspace;

pub const FILE_NAME: &str = "recent-workspaces.json";
/// How many are remembered.
pub const LIMIT: usize = 10;

#[derive(Debug, thiserror::Error)]
#[error("the list of recent workspaces {}: cannot be written ({source}). Check that Kovan's data folder is writable, or set KOVAN_DATA_DIR to one that is.", path.display())]
pub struct RecentError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl crate::error::Classified for RecentError {
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::RecentUnwritable
    }

    fn detail(&self) -> Option<crate::error::ErrorDetail> {
        Some(crate::error::ErrorDetail::Path {
            path: self.path.display().to_string(),
        })
    }
}

/// The file as stored; an object so fields can be added later.
#[derive(Serialize, Deserialize, Default)]
struct Stored {
    workspaces: Vec<PathBuf>,
}

/// The recent-workspaces list in one JSON file.
#[derive(Debug, Clone)]
pub struct RecentWorkspaces {
    path: PathBuf,
}

impl RecentWorkspaces {
    /// The list in Kovan's data dir (`KOVAN_DATA_DIR` moves it).
    pub fn open_default() -> Self {
        Self::at(store::data_dir().join(FILE_NAME))
    }

    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kovan.toml files still on disk, most recent first. A missing or unreadable list is empty:
    /// it is a convenience, never a reason to fail.
    pub fn list(&self) -> Vec<PathBuf> {
        self.read()
            .unwrap_or_default()
            .workspaces
            .into_iter()
            .filter(|p| p.is_file())
            .collect()
    }

    /// Put `file` (a kovan.toml or its folder) first, drop its older entry and files that are gone,
    /// keep [`LIMIT`]. Returns the new list.
    pub fn remember(&self, file: &Path) -> Result<Vec<PathBuf>, RecentError> {
        let file = workspace::file_in(file);
        let file = file.canonicalize().unwrap_or(file);
        let stored = match self.read() {
            Ok(stored) => stored,
            Err(ReadError::Damaged) => {
                // Kept beside, not overwritten: nothing the user had is lost silently.
                let aside = self.path.with_extension(format!(
                    "json.damaged-{}",
                    chrono::Local::now().format("%Y%m%d-%H%M%S")
                ));
                let _ = std::fs::rename(&self.path, aside);
                Stored::default()
            }
            Err(ReadError::Missing) => Stored::default(),
        };
        let mut workspaces = vec![file.clone()];
        workspaces.extend(
            stored
                .workspaces
                .into_iter()
                .filter(|p| *p != file && p.is_file()),
        );
        workspaces.truncate(LIMIT);
        self.save(&Stored { workspaces })?;
        Ok(self.list())
    }

    fn read(&self) -> Result<Stored, ReadError> {
        let text = std::fs::read_to_string(&self.path).map_err(|_| ReadError::Missing)?;
        serde_json::from_str(&text).map_err(|_| ReadError::Damaged)
    }

    /// Temporary file, then rename: a panel and a CLI writing at once leave one whole list.
    fn save(&self, stored: &Stored) -> Result<(), RecentError> {
        let failed = |source| RecentError {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(failed)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".recent-")
            .tempfile_in(dir)
            .map_err(failed)?;
        let json = serde_json::to_vec_pretty(stored).expect("paths serialize");
        tmp.write_all(&json).map_err(failed)?;
        tmp.persist(&self.path).map_err(|e| failed(e.error))?;
        Ok(())
    }
}

enum ReadError {
    Missing,
    Damaged,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_file(dir: &Path, name: &str) -> PathBuf {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join(workspace::FILE_NAME);
        std::fs::write(&file, "").unwrap();
        file.canonicalize().unwrap()
    }

    #[test]
    fn most_recent_first_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let recent = RecentWorkspaces::at(dir.path().join("data/recent.json"));
        assert!(recent.list().is_empty(), "no file yet is an empty list");
        let a = workspace_file(dir.path(), "a");
        let b = workspace_file(dir.path(), "b");
        recent.remember(&a).unwrap();
        recent.remember(&b).unwrap();
        // Its folder names the same kovan.toml: it moves to the front instead of being added twice.
        let list = recent.remember(a.parent().unwrap()).unwrap();
        assert_eq!(list, [a.clone(), b.clone()]);
        assert_eq!(RecentWorkspaces::at(recent.path()).list(), [a, b]);
    }

    #[test]
    fn keeps_the_last_ten() {
        let dir = tempfile::tempdir().unwrap();
        let recent = RecentWorkspaces::at(dir.path().join("recent.json"));
        let files: Vec<PathBuf> = (0..LIMIT + 2)
            .map(|n| workspace_file(dir.path(), &format!("w{n}")))
            .collect();
        for f in &files {
            recent.remember(f).unwrap();
        }
        let list = recent.list();
        assert_eq!(list.len(), LIMIT);
        assert_eq!(list[0], files[LIMIT + 1]);
        assert!(!list.contains(&files[0]) && !list.contains(&files[1]));
    }

    #[test]
    fn files_that_are_gone_are_dropped_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let recent = RecentWorkspaces::at(dir.path().join("recent.json"));
        let a = workspace_file(dir.path(), "a");
        let b = workspace_file(dir.path(), "b");
        recent.remember(&a).unwrap();
        recent.remember(&b).unwrap();
        std::fs::remove_file(&b).unwrap();
        assert_eq!(recent.list(), [a]);
    }

    #[test]
    fn a_damaged_list_is_set_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recent.json");
        std::fs::write(&path, "{not json").unwrap();
        let recent = RecentWorkspaces::at(&path);
        assert!(recent.list().is_empty());
        let a = workspace_file(dir.path(), "a");
        assert_eq!(recent.remember(&a).unwrap(), [a]);
        let aside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("recent.json.damaged-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(&aside[0])).unwrap(),
            "{not json"
        );
    }
}
