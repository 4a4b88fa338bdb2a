//! A project folder copied for a test without what running it leaves behind, one skip list for
//! every test: env files, SQLite databases, backups, static and media roots, logs, the venv and
//! bytecode. (The copy is the project as checked in; the test generates the rest.)

use std::path::Path;

/// Whether `name` (a file or folder in the project) is something running it makes.
fn is_generated(name: &str) -> bool {
    name.starts_with(".env.")
        || name.ends_with(".sqlite3")
        || name.ends_with(".sqlite3-wal")
        || name.ends_with(".sqlite3-shm")
        || name.contains(".kovan-backup-")
        || name.starts_with("staticfiles_")
        || name.starts_with("media_")
        || matches!(name, ".venv" | "__pycache__" | "logs")
}

/// Copy the tree at `from` into `to` (created), leaving out what running the project made.
pub fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_generated(&name) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_project(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_copied_without_what_running_it_made() {
        let from = tempfile::tempdir().unwrap();
        for f in [
            "manage.py",
            "app/models.py",
            ".env.a",
            "db_a.sqlite3",
            "logs/a.log",
            ".venv/bin/python",
        ] {
            let p = from.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let to = tempfile::tempdir().unwrap();
        copy_project(from.path(), to.path());
        assert!(to.path().join("manage.py").is_file() && to.path().join("app/models.py").is_file());
        for gone in [".env.a", "db_a.sqlite3", "logs", ".venv"] {
            assert!(!to.path().join(gone).exists(), "{gone}");
        }
    }
}
