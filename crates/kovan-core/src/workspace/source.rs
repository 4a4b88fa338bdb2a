//! Reading kovan.toml's text: only a regular file, at most [`MAX_SIZE`], in UTF-8. A symlink to
//! /dev/zero, a FIFO or a huge file must end in an error, not in a hang or gigabytes of memory.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::error::{Problem, WorkspaceError};

/// Far above any real kovan.toml (the example's is 3 KiB).
pub const MAX_SIZE: u64 = 1024 * 1024;

pub fn read(file: &Path) -> Result<String, WorkspaceError> {
    let unreadable = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            WorkspaceError::NotFound {
                path: file.to_path_buf(),
            }
        } else {
            WorkspaceError::Unreadable {
                path: file.to_path_buf(),
                source,
            }
        }
    };
    // Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer.
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(file)
        .map_err(unreadable)?;
    let meta = f.metadata().map_err(unreadable)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a folder"
        } else if kind.is_fifo() {
            "a FIFO (named pipe)"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(WorkspaceError::NotAFile {
            path: file.to_path_buf(),
            what,
        });
    }
    if meta.len() > MAX_SIZE {
        return Err(WorkspaceError::TooLarge {
            path: file.to_path_buf(),
            size: meta.len(),
        });
    }
    // Bounded again while reading: the file may grow after the size was looked at.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut f)
        .take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(WorkspaceError::TooLarge {
            path: file.to_path_buf(),
            size: bytes.len() as u64,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        let column = at - bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        WorkspaceError::Invalid {
            path: file.to_path_buf(),
            problems: vec![Problem {
                field: "(file)".into(),
                line: Some(line),
                message: format!(
                    "byte {:#04x} at column {column} is not UTF-8: kovan.toml must be UTF-8 text.",
                    bytes[at]
                ),
                fix: "Save the file as UTF-8 in your editor (or re-type the characters on that line).".into(),
            }],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bounded_regular_utf8_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kovan.toml");

        std::os::unix::fs::symlink("/dev/zero", &file).unwrap();
        let e = read(&file).unwrap_err();
        assert!(e.to_string().contains("is a device"), "{e}");
        std::fs::remove_file(&file).unwrap();

        let fifo = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let e = read(&file).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        std::fs::remove_file(&file).unwrap();

        std::fs::write(&file, vec![b'#'; MAX_SIZE as usize + 1]).unwrap();
        let e = read(&file).unwrap_err();
        assert!(e.to_string().contains("1,048,577 bytes"), "{e}");

        std::fs::write(&file, b"[project]\nname = \"a\xffb\"\n").unwrap();
        let WorkspaceError::Invalid { problems, .. } = read(&file).unwrap_err() else {
            panic!("invalid UTF-8 is a problem with a line");
        };
        assert_eq!(problems[0].line, Some(2));
        assert!(
            problems[0].message.contains("0xff at column 10"),
            "{problems:?}"
        );

        std::fs::write(&file, "[project]\n").unwrap();
        assert_eq!(read(&file).unwrap(), "[project]\n");
    }
}
