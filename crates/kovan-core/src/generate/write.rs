//! Writing generated files so that a failure leaves nothing half-done (issue 12, items 10 and 11).
//!
//! Every file is first written to a temporary file in its own folder and fsynced. A file the user
//! edited is copied to a backup beside it, fsynced and read back (size and SHA-256) before anything
//! is replaced. Only when every file is staged are the temporary files renamed over their targets,
//! which needs no space and cannot leave a file half-written. A failure before the renames changes
//! nothing and leaves nothing new behind (no temporary file, no backup, no folder); a failure during
//! them leaves every file either old or new. The error lists what was written and what was not.
//!
//! Before any of it, the targets are checked: none may be, or lie under, a symbolic link, and no
//! two may be one file (a hard link, or two outputs configured to one path).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::TempPath;

use super::GenerateError;

/// The file system operations a write goes through: the seam where tests inject a full disk.
pub(crate) trait Disk {
    fn write(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        file.write_all(bytes)
    }

    fn sync(&self, file: &File) -> io::Result<()> {
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
}

/// The real disk.
pub(crate) struct RealDisk;

impl Disk for RealDisk {}

/// One file to write.
pub(crate) struct Output<'a> {
    pub target: PathBuf,
    /// How reports and errors name it (relative to the Django root where it is inside it).
    pub shown: String,
    pub bytes: &'a [u8],
    pub mode: u32,
    /// Back up what is at `target` first: a file the user edited.
    pub backup: bool,
}

/// A file whose mode alone is corrected.
pub(crate) struct ModeFix {
    pub target: PathBuf,
    pub shown: String,
    pub mode: u32,
}

/// One file written, and where the user's version was saved.
pub(crate) struct Written {
    pub shown: String,
    pub backup: Option<PathBuf>,
}

/// Refuse targets that are, or lie under, a symbolic link below `root` (when given; otherwise
/// only the file itself is checked), and targets that are one file.
pub(crate) fn check_targets(
    root: Option<&Path>,
    targets: &[(&str, &Path)],
) -> Result<(), GenerateError> {
    let mut seen: HashMap<Identity, &str> = HashMap::new();
    for &(shown, target) in targets {
        let below: Vec<PathBuf> = match root.and_then(|r| target.strip_prefix(r).ok()) {
            Some(relative) => {
                let root = root.expect("checked");
                let mut at = root.to_path_buf();
                relative
                    .components()
                    .filter(|c| matches!(c, Component::Normal(_)))
                    .map(|c| {
                        at.push(c);
                        at.clone()
                    })
                    .collect()
            }
            None => vec![target.to_path_buf()],
        };
        for part in &below {
            let Ok(meta) = part.symlink_metadata() else {
                break;
            };
            if meta.file_type().is_symlink() {
                let link = match root {
                    Some(r) => part.strip_prefix(r).unwrap_or(part).display().to_string(),
                    None => part.display().to_string(),
                };
                let points_to = std::fs::read_link(part)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "?".into());
                return Err(GenerateError::Symlink {
                    path: shown.to_string(),
                    link,
                    points_to,
                });
            }
        }
        let identity = match target.metadata() {
            Ok(meta) => Identity::Inode(meta.dev(), meta.ino()),
            Err(_) => Identity::Path(normalized(target)),
        };
        if let Some(first) = seen.insert(identity, shown) {
            return Err(GenerateError::SameFile {
                first: first.to_string(),
                second: shown.to_string(),
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Identity {
    Inode(u64, u64),
    Path(PathBuf),
}

fn normalized(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Write `outputs`, then correct `modes`; see the module's comment for the order and guarantees.
pub(crate) fn write_all(
    disk: &dyn Disk,
    outputs: &[Output],
    modes: &[ModeFix],
) -> Result<Vec<Written>, GenerateError> {
    let mut created: Vec<PathBuf> = Vec::new();
    let mut staged: Vec<Staged> = Vec::with_capacity(outputs.len());
    for output in outputs {
        match stage(disk, output, &mut created) {
            Ok(s) => staged.push(s),
            Err(source) => {
                undo(staged, &created);
                return Err(GenerateError::Incomplete {
                    failed: output.shown.clone(),
                    source,
                    written: Vec::new(),
                    not_written: outputs.iter().map(|o| o.shown.clone()).collect(),
                });
            }
        }
    }

    // Nothing has changed so far. From here each rename replaces one file whole.
    let mut written: Vec<Written> = Vec::with_capacity(staged.len());
    let mut staged = staged.into_iter().zip(outputs).peekable();
    while let Some((s, output)) = staged.next() {
        if let Err(source) = disk.rename(s.temp.as_ref(), &output.target) {
            let mut not_written = vec![output.shown.clone()];
            let mut rest = vec![s];
            for (s, output) in staged {
                not_written.push(output.shown.clone());
                rest.push(s);
            }
            undo(rest, &[]);
            return Err(GenerateError::Incomplete {
                failed: output.shown.clone(),
                source,
                written: shown_with_backups(&written),
                not_written,
            });
        }
        // Renamed: the temporary name is gone, nothing to delete.
        let _ = s.temp.keep();
        written.push(Written {
            shown: output.shown.clone(),
            backup: s.backup,
        });
    }
    let mut folders: Vec<&Path> = outputs.iter().filter_map(|o| o.target.parent()).collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        // The renames themselves are durable only once their folder is.
        let _ = File::open(folder).and_then(|f| f.sync_all());
    }
    for (i, fix) in modes.iter().enumerate() {
        if let Err(source) =
            std::fs::set_permissions(&fix.target, std::fs::Permissions::from_mode(fix.mode))
        {
            return Err(GenerateError::Incomplete {
                failed: fix.shown.clone(),
                source,
                written: shown_with_backups(&written),
                not_written: modes[i..].iter().map(|m| m.shown.clone()).collect(),
            });
        }
    }
    Ok(written)
}

fn shown_with_backups(written: &[Written]) -> Vec<String> {
    written
        .iter()
        .map(|w| match &w.backup {
            Some(b) => format!(
                "{} (your version saved as {})",
                w.shown,
                b.file_name().unwrap_or_default().to_string_lossy()
            ),
            None => w.shown.clone(),
        })
        .collect()
}

/// A file ready to be renamed into place, and the backup already made of what it replaces.
struct Staged {
    temp: TempPath,
    backup: Option<PathBuf>,
}

fn stage(disk: &dyn Disk, output: &Output, created: &mut Vec<PathBuf>) -> io::Result<Staged> {
    let dir = output.target.parent().unwrap_or(Path::new("."));
    create_folders(dir, created)?;
    let backup = if output.backup {
        Some(back_up(disk, &output.target, dir)?)
    } else {
        None
    };
    let staged = (|| {
        let temp = temp_file(disk, dir, output.bytes, output.mode)?;
        Ok(Staged {
            temp,
            backup: backup.clone(),
        })
    })();
    if staged.is_err() {
        if let Some(b) = &backup {
            let _ = std::fs::remove_file(b);
        }
    }
    staged
}

/// `bytes` in a new temporary file in `dir`, with `mode` set before any byte lands, fsynced.
fn temp_file(disk: &dyn Disk, dir: &Path, bytes: &[u8], mode: u32) -> io::Result<TempPath> {
    let tmp = tempfile::Builder::new()
        .prefix(".kovan-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    let (mut file, path) = tmp.into_parts();
    disk.write(&mut file, bytes)?;
    disk.sync(&file)?;
    // Permissions given at creation are masked by the umask; set them exactly.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
    Ok(path)
}

/// Copy `target` to `{file}.kovan-backup-{timestamp}` beside it, keeping its mode: written to a
/// temporary file, fsynced, read back and compared (size and SHA-256), and only then given its name.
fn back_up(disk: &dyn Disk, target: &Path, dir: &Path) -> io::Result<PathBuf> {
    let original = std::fs::read(target)?;
    let mode = target.metadata()?.permissions().mode() & 0o7777;
    let temp = temp_file(disk, dir, &original, mode)?;
    let copy = std::fs::read(&temp)?;
    if copy.len() != original.len() || Sha256::digest(&copy) != Sha256::digest(&original) {
        return Err(io::Error::other(format!(
            "the backup read back differs from the original ({} of {} bytes, or different bytes)",
            copy.len(),
            original.len()
        )));
    }
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let mut named = target.with_file_name(format!("{name}.kovan-backup-{stamp}"));
    let mut n = 1;
    while named.symlink_metadata().is_ok() {
        n += 1;
        named = target.with_file_name(format!("{name}.kovan-backup-{stamp}-{n}"));
    }
    disk.rename(&temp, &named)?;
    let _ = temp.keep();
    File::open(dir)?.sync_all()?;
    Ok(named)
}

/// Create `dir` and its missing parents, noting each one created (outermost first).
fn create_folders(dir: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while at.symlink_metadata().is_err() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    for folder in missing.into_iter().rev() {
        std::fs::create_dir(&folder)?;
        created.push(folder);
    }
    Ok(())
}

/// Take back what staging did: temporary files, backups, folders created (innermost first).
fn undo(staged: Vec<Staged>, created: &[PathBuf]) {
    for s in staged {
        if let Some(b) = &s.backup {
            let _ = std::fs::remove_file(b);
        }
        drop(s.temp);
    }
    for folder in created.iter().rev() {
        let _ = std::fs::remove_dir(folder);
    }
}

#[cfg(test)]
mod tests {
    //! The writer against a disk that fills up, lies about a write, or fails a rename, at every
    //! point a write can fail. (tests/generate.rs runs it on a real 64 KiB tmpfs too.)

    use std::cell::Cell;
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Default)]
    struct FaultyDisk {
        /// Bytes that still fit; None: unlimited.
        room: Cell<Option<usize>>,
        /// A write that does not fit writes what fits and says it succeeded.
        lies: bool,
        /// The rename (counting from 0) that fails.
        failing_rename: Option<usize>,
        renames: Cell<usize>,
    }

    impl Disk for FaultyDisk {
        fn write(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
            let Some(room) = self.room.get() else {
                return file.write_all(bytes);
            };
            let fits = bytes.len().min(room);
            file.write_all(&bytes[..fits])?;
            self.room.set(Some(room - fits));
            if fits < bytes.len() && !self.lies {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            Ok(())
        }

        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            let n = self.renames.get();
            self.renames.set(n + 1);
            if self.failing_rename == Some(n) {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            std::fs::rename(from, to)
        }
    }

    /// Every file under `dir`: contents and mode.
    fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(at) = stack.pop() {
            for entry in std::fs::read_dir(&at).unwrap().flatten() {
                let path = entry.path();
                let shown = path.strip_prefix(dir).unwrap().display().to_string();
                if entry.file_type().unwrap().is_dir() {
                    out.insert(format!("{shown}/"), (Vec::new(), 0));
                    stack.push(path);
                } else {
                    let mode = entry.metadata().unwrap().permissions().mode() & 0o7777;
                    out.insert(shown, (std::fs::read(&path).unwrap(), mode));
                }
            }
        }
        out
    }

    struct Case {
        dir: tempfile::TempDir,
        contents: Vec<(String, Vec<u8>, bool)>,
    }

    /// An edited file (backed up), a file Kovan wrote before, a new file in a new folder.
    fn case() -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("edited.conf"),
            "the user's own lines\n".repeat(40),
        )
        .unwrap();
        std::fs::set_permissions(
            dir.path().join("edited.conf"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        std::fs::write(dir.path().join(".env.a"), "OLD=1\n").unwrap();
        Case {
            dir,
            contents: vec![
                (
                    "edited.conf".into(),
                    b"kovan's edited.conf\n".repeat(30),
                    true,
                ),
                (".env.a".into(), b"SECRET_KEY='new'\n".repeat(10), false),
                (
                    "nginx/deep/kovan.conf".into(),
                    b"server {}\n".repeat(50),
                    false,
                ),
            ],
        }
    }

    impl Case {
        fn outputs(&self) -> Vec<Output<'_>> {
            self.contents
                .iter()
                .map(|(name, bytes, backup)| Output {
                    target: self.dir.path().join(name),
                    shown: name.clone(),
                    bytes,
                    mode: 0o600,
                    backup: *backup,
                })
                .collect()
        }

        /// What the writer needs: the backup's copy and every new file.
        fn bytes_needed(&self) -> usize {
            let backup = std::fs::metadata(self.dir.path().join("edited.conf"))
                .unwrap()
                .len() as usize;
            backup + self.contents.iter().map(|c| c.1.len()).sum::<usize>()
        }
    }

    #[test]
    fn a_full_disk_at_any_byte_changes_nothing_and_leaves_nothing_behind() {
        let case = case();
        let before = snapshot(case.dir.path());
        let needed = case.bytes_needed();
        for room in (0..needed).step_by(7).chain([needed - 1]) {
            let disk = FaultyDisk {
                room: Cell::new(Some(room)),
                ..FaultyDisk::default()
            };
            let err = match write_all(&disk, &case.outputs(), &[]) {
                Err(e) => e,
                Ok(_) => panic!("{room} of {needed} bytes were enough"),
            };
            let GenerateError::Incomplete {
                written,
                not_written,
                ..
            } = &err
            else {
                panic!("{err}");
            };
            assert!(written.is_empty(), "{err}");
            assert_eq!(not_written.len(), 3, "{err}");
            let text = err.to_string();
            assert!(
                text.contains("(the disk is full)") && text.contains("Nothing was changed"),
                "{text}"
            );
            assert_eq!(
                snapshot(case.dir.path()),
                before,
                "with room for {room} bytes"
            );
        }

        let disk = FaultyDisk {
            room: Cell::new(Some(needed)),
            ..FaultyDisk::default()
        };
        let written = write_all(&disk, &case.outputs(), &[]).unwrap();
        let backup = written[0]
            .backup
            .as_ref()
            .expect("the edited file's backup");
        assert_eq!(
            (
                std::fs::read(backup).unwrap(),
                std::fs::metadata(backup).unwrap().permissions().mode() & 0o777
            ),
            (before["edited.conf"].0.clone(), 0o640),
            "the backup is the user's file, mode kept"
        );
        for (name, bytes, _) in &case.contents {
            assert_eq!(&std::fs::read(case.dir.path().join(name)).unwrap(), bytes);
        }
    }

    #[test]
    fn a_backup_that_reads_back_short_stops_the_write_before_anything_is_replaced() {
        let case = case();
        let before = snapshot(case.dir.path());
        let disk = FaultyDisk {
            room: Cell::new(Some(100)),
            lies: true,
            ..FaultyDisk::default()
        };
        let err = write_all(&disk, &case.outputs(), &[])
            .err()
            .expect("refused");
        assert!(
            err.to_string()
                .contains("the backup read back differs from the original (100 of 840 bytes"),
            "{err}"
        );
        assert_eq!(snapshot(case.dir.path()), before);
    }

    #[test]
    fn a_rename_failing_part_way_leaves_each_file_old_or_new_and_says_which() {
        let before = snapshot(case().dir.path());
        // Renames: the backup's, then one per file.
        for failing in 0..4 {
            let case = case();
            let disk = FaultyDisk {
                failing_rename: Some(failing),
                ..FaultyDisk::default()
            };
            let err = write_all(&disk, &case.outputs(), &[])
                .err()
                .expect("failed");
            let GenerateError::Incomplete {
                written,
                not_written,
                ..
            } = &err
            else {
                panic!("{err}");
            };
            let after = snapshot(case.dir.path());
            assert!(
                after
                    .keys()
                    .all(|k| !k.contains(".kovan-") || k.contains(".kovan-backup-")),
                "a temporary file was left: {after:?}"
            );
            let backups: Vec<&String> = after
                .keys()
                .filter(|k| k.contains(".kovan-backup-"))
                .collect();
            for (name, bytes, _) in &case.contents {
                let now = after.get(name.as_str()).map(|(b, _)| b);
                if written.iter().any(|w| w.starts_with(name.as_str())) {
                    assert_eq!(now, Some(bytes), "{name} is listed written: {err}");
                } else {
                    assert!(not_written.contains(name), "{name} unlisted: {err}");
                    assert_eq!(
                        now,
                        before.get(name.as_str()).map(|(b, _)| b),
                        "{name}: {err}"
                    );
                }
            }
            // The user's version is kept exactly when it was replaced.
            let replaced_edited = written.iter().any(|w| w.starts_with("edited.conf"));
            assert_eq!(
                backups.len(),
                usize::from(replaced_edited),
                "{err}: {after:?}"
            );
            assert_eq!(written.len() + not_written.len(), 3, "{err}");
            assert_eq!(written.len(), failing.saturating_sub(1), "{err}");
        }
    }

    #[test]
    fn links_and_one_file_under_two_names_are_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(".env.main"), "SECRET_KEY='main'\n").unwrap();
        std::os::unix::fs::symlink(".env.main", root.join(".env.api")).unwrap();
        let (main, api) = (root.join(".env.main"), root.join(".env.api"));
        let err = check_targets(Some(root), &[(".env.main", &main), (".env.api", &api)])
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with(".env.api: .env.api is a symbolic link (to .env.main)"),
            "{err}"
        );

        std::fs::remove_file(&api).unwrap();
        std::fs::hard_link(&main, &api).unwrap();
        let err = check_targets(Some(root), &[(".env.main", &main), (".env.api", &api)])
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with(".env.main and .env.api are one file on disk"),
            "{err}"
        );

        // A folder on the way that is a link, even one pointing inside the project.
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join("app")).unwrap();
        let views = root.join("app/views.py");
        let err = check_targets(Some(root), &[("app/views.py", &views)])
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("app/views.py: app is a symbolic link (to real)"),
            "{err}"
        );

        // Two outputs named alike before either exists.
        let a = root.join("new/x");
        let b = root.join("new/./x");
        let err = check_targets(Some(root), &[("new/x", &a), ("new/./x", &b)])
            .err()
            .unwrap();
        assert!(matches!(err, GenerateError::SameFile { .. }), "{err}");
    }
}
