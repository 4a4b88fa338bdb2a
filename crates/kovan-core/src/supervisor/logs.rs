//! An instance's output: a bounded ring in memory and `logs/{name}.log` on disk, rotated by size.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use ts_rs::TS;

/// Longer lines are cut: one runaway line must not defeat the ring's bound.
pub const MAX_LINE_BYTES: usize = 8 * 1024;
pub const LOG_FILE_MAX_BYTES: u64 = 10 * 1024 * 1024;
pub const LOG_FILES_KEPT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Stream {
    Stdout,
    Stderr,
    /// Kovan's own notes: started, stopped, crashed.
    Kovan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    /// Increases by one per line of this instance, so a subscriber can tell what it has seen.
    #[ts(type = "number")]
    pub seq: u64,
    pub stream: Stream,
    pub text: String,
}

/// The last `capacity` lines of one instance.
#[derive(Debug)]
pub struct LogRing {
    lines: VecDeque<LogLine>,
    capacity: usize,
    next_seq: u64,
}

impl LogRing {
    pub fn new(capacity: usize) -> Self {
        Self {
            lines: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            next_seq: 0,
        }
    }

    pub fn push(&mut self, stream: Stream, text: &str) -> LogLine {
        let mut text = text.trim_end_matches(['\n', '\r']).to_string();
        if text.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" …");
        }
        let line = LogLine {
            seq: self.next_seq,
            stream,
            text,
        };
        self.next_seq += 1;
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line.clone());
        line
    }

    pub fn snapshot(&self) -> Vec<LogLine> {
        self.lines.iter().cloned().collect()
    }

    pub fn last(&self, n: usize) -> Vec<String> {
        self.lines
            .iter()
            .rev()
            .take(n)
            .rev()
            .map(|l| l.text.clone())
            .collect()
    }
}

/// `logs/{name}.log`, rotated to `.1`, `.2`... when it passes [`LOG_FILE_MAX_BYTES`].
pub struct LogFile {
    path: PathBuf,
    file: Option<std::fs::File>,
    written: u64,
    max_bytes: u64,
}

impl LogFile {
    pub fn open(path: PathBuf) -> std::io::Result<Self> {
        Self::with_limit(path, LOG_FILE_MAX_BYTES)
    }

    pub fn with_limit(path: PathBuf, max_bytes: u64) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            file: Some(file),
            written,
            max_bytes,
        })
    }

    pub fn write_line(&mut self, text: &str) -> std::io::Result<()> {
        if self.written >= self.max_bytes {
            self.rotate()?;
        }
        if let Some(f) = &mut self.file {
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            self.written += text.len() as u64 + 1;
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        let _ = std::fs::remove_file(numbered(LOG_FILES_KEPT));
        for n in (1..LOG_FILES_KEPT).rev() {
            let _ = std::fs::rename(numbered(n), numbered(n + 1));
        }
        std::fs::rename(&self.path, numbered(1))?;
        self.file = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?,
        );
        self.written = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_last_lines_and_counts_on() {
        let mut ring = LogRing::new(3);
        for i in 0..10 {
            ring.push(Stream::Stdout, &format!("line {i}\n"));
        }
        let kept: Vec<(u64, String)> = ring
            .snapshot()
            .into_iter()
            .map(|l| (l.seq, l.text))
            .collect();
        assert_eq!(
            kept,
            [
                (7, "line 7".into()),
                (8, "line 8".into()),
                (9, "line 9".into())
            ]
        );
        let long = "é".repeat(MAX_LINE_BYTES);
        assert!(ring.push(Stream::Stderr, &long).text.len() <= MAX_LINE_BYTES + 4);
    }

    #[test]
    fn the_log_file_rotates_by_size_and_keeps_a_few() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/a.log");
        let mut file = LogFile::with_limit(path.clone(), 100).unwrap();
        for i in 0..100 {
            file.write_line(&format!("{i:0>20}")).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.log", "a.log.1", "a.log.2", "a.log.3"]);
        assert!(std::fs::metadata(&path).unwrap().len() <= 105);
    }
}
