//! Kovan's own diagnostic log: where it is kept and what it last said went wrong.
//!
//! The core emits [`tracing`] events (a start, a stop, a flush, an adoption, an error said to the
//! user). Each program calls [`start_log`] once, in its `main`: the `kovan` CLI writes
//! `cli.<date>.log`, the window `window.<date>.log`, both in [`log_dir`], rotated daily with
//! [`KEEP_FILES`] kept, at the level [`LEVEL_VAR`] names (`KOVAN_LOG=debug`; info by default).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

/// The variable that sets the log's level: off, error, warn, info (the default), debug, trace.
pub const LEVEL_VAR: &str = "KOVAN_LOG";
/// How many daily files of each program are kept.
pub const KEEP_FILES: usize = 7;
/// The `kovan` CLI's files: `cli.<date>.log`.
pub const CLI_PREFIX: &str = "cli";
/// The window's files: `window.<date>.log`.
pub const WINDOW_PREFIX: &str = "window";
pub const SUFFIX: &str = "log";
/// How much of the newest file is searched for the last warning (its end).
const TAIL_BYTES: u64 = 256 * 1024;

/// Which program writes the log: its file prefix, and the crate whose events it keeps besides the
/// core's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Cli,
    Window,
}

impl Program {
    fn prefix(self) -> &'static str {
        match self {
            Self::Cli => CLI_PREFIX,
            Self::Window => WINDOW_PREFIX,
        }
    }

    fn target(self) -> &'static str {
        match self {
            Self::Cli => "kovan",
            Self::Window => "kovan_desktop",
        }
    }
}

/// Kovan's log for this run of `program`: `<prefix>.<date>.log` in [`log_dir`], rotated daily, at
/// the level `KOVAN_LOG` names (info by default; `verbose` raises it to debug). Kovan's own events
/// only: what its libraries say stays out. Without a writable folder the run goes on without a log.
pub fn start_log(program: Program, verbose: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    let named = std::env::var(LEVEL_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let level = if verbose {
        named.max(LevelFilter::DEBUG)
    } else {
        named
    };
    // The folder first: tracing-appender looks for old files to prune before it makes one, and
    // says on stderr when it finds no folder.
    let dir = log_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(program.prefix())
        .filename_suffix(SUFFIX)
        .max_log_files(KEEP_FILES)
        .build(dir)
    else {
        return;
    };
    let only_kovan = Targets::new()
        .with_target(program.target(), level)
        .with_target("kovan_core", level);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(file)
                .with_filter(only_kovan),
        )
        .try_init();
}

/// `logs/` in Kovan's data dir ([`crate::store::data_dir`], which `KOVAN_DATA_DIR` moves).
pub fn log_dir() -> PathBuf {
    crate::store::data_dir().join("logs")
}

/// Where the window's log is and the last warning or error it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticLog {
    /// The newest file of the program (or the folder, while nothing was written yet).
    pub path: String,
    /// The last WARN or ERROR line, as written.
    pub last_trouble: Option<String>,
}

/// The log of the program whose files start with `prefix`, in `dir`.
pub fn look(dir: &Path, prefix: &str) -> DiagnosticLog {
    match newest(dir, prefix) {
        Some(file) => DiagnosticLog {
            last_trouble: last_trouble(&file),
            path: file.to_string_lossy().into_owned(),
        },
        None => DiagnosticLog {
            path: dir.to_string_lossy().into_owned(),
            last_trouble: None,
        },
    }
}

/// The newest `<prefix>.<date>.log` in `dir`: the dates sort as their names do.
pub fn newest(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let start = format!("{prefix}.");
    let end = format!(".{SUFFIX}");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&start) && name.ends_with(&end)
        })
        .map(|e| e.path())
        .max()
}

/// The last line of `file` (of its last [`TAIL_BYTES`]) whose level is WARN or ERROR.
pub fn last_trouble(file: &Path) -> Option<String> {
    let mut f = std::fs::File::open(file).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .ok()?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).ok()?;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .find(|line| {
            // `<time>  WARN <target>: <message>`, as tracing-subscriber's fmt writes it.
            matches!(line.split_whitespace().nth(1), Some("WARN" | "ERROR"))
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_warning_of_the_newest_file_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("window.2026-12-03.log"),
            "2026-12-03T10:00:00Z ERROR kovan_core: old\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("window.2026-12-04.log"),
            "2026-12-04T10:00:00Z  WARN kovan_core::error: port_in_use: port 8001 is taken\n\
             2026-12-04T10:00:01Z  INFO kovan_core::store: start web\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("cli.2026-12-05.log"), "").unwrap();
        let log = look(dir.path(), WINDOW_PREFIX);
        assert!(log.path.ends_with("window.2026-12-04.log"), "{}", log.path);
        assert_eq!(
            log.last_trouble.as_deref(),
            Some("2026-12-04T10:00:00Z  WARN kovan_core::error: port_in_use: port 8001 is taken")
        );
    }

    #[test]
    fn no_file_yet_names_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let log = look(dir.path(), WINDOW_PREFIX);
        assert_eq!(log.path, dir.path().to_string_lossy());
        assert_eq!(log.last_trouble, None);
    }
}
