//! File-based: Django's FileBasedCache keeps one `*.djcache` file per key in the instance's own
//! folder (`cache_location`, relative to the Django root).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::CacheError;
use crate::workspace::{Instance, Workspace};

const SUFFIX: &str = ".djcache";

/// Entries not yet expired. A folder that does not exist yet holds none: Django makes it on the
/// first write.
pub fn count(ws: &Workspace, instance: &Instance) -> Result<u64, CacheError> {
    let now = unix_now();
    let mut live = 0;
    for file in cache_files(ws, instance)? {
        // An entry whose expiry cannot be read still takes space: count it.
        if expiry(&file).is_none_or(|at| at.is_none_or(|at| at > now)) {
            live += 1;
        }
    }
    Ok(live)
}

/// Delete every cache file (expired ones too, as Django's `clear()` does); returns how many.
pub fn flush(ws: &Workspace, instance: &Instance) -> Result<u64, CacheError> {
    let mut deleted = 0;
    for file in cache_files(ws, instance)? {
        match std::fs::remove_file(&file) {
            Ok(()) => deleted += 1,
            // Expired and culled by Django meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(CacheError::Io {
                    instance: instance.name.clone(),
                    path: file,
                    source,
                })
            }
        }
    }
    Ok(deleted)
}

fn folder(ws: &Workspace, instance: &Instance) -> PathBuf {
    ws.project
        .django_root
        .join(instance.names.cache_location.as_deref().unwrap_or_default())
}

fn cache_files(ws: &Workspace, instance: &Instance) -> Result<Vec<PathBuf>, CacheError> {
    let dir = folder(ws, instance);
    let io = |source| CacheError::Io {
        instance: instance.name.clone(),
        path: dir.clone(),
        source,
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && entry.file_name().to_string_lossy().ends_with(SUFFIX) {
            files.push(entry.path());
        }
    }
    Ok(files)
}

/// The expiry Django pickled at the start of the file: `Some(None)` for never, `None` when
/// unreadable.
fn expiry(path: &Path) -> Option<Option<f64>> {
    let mut head = [0u8; 32];
    let mut file = std::fs::File::open(path).ok()?;
    let n = file.read(&mut head).ok()?;
    pickled_expiry(&head[..n])
}

/// Reads a pickle of a float or None, as `pickle.dumps(expiry)` writes it with protocol 2 or later:
/// PROTO, an optional FRAME, then BINFLOAT (8 bytes, big-endian) or NONE.
fn pickled_expiry(bytes: &[u8]) -> Option<Option<f64>> {
    const PROTO: u8 = 0x80;
    const FRAME: u8 = 0x95;
    const BINFLOAT: u8 = b'G';
    const NONE: u8 = b'N';
    let mut rest = bytes;
    if rest.first() == Some(&PROTO) {
        rest = rest.get(2..)?;
    }
    if rest.first() == Some(&FRAME) {
        rest = rest.get(9..)?;
    }
    match *rest.first()? {
        NONE => Some(None),
        BINFLOAT => Some(Some(f64::from_be_bytes(rest.get(1..9)?.try_into().ok()?))),
        _ => None,
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::pickled_expiry;

    #[test]
    fn reads_the_expiry_python_pickles() {
        // pickle.dumps(1700000000.5, 5) and pickle.dumps(None, 5)
        let float = b"\x80\x05\x95\x0a\x00\x00\x00\x00\x00\x00\x00GA\xd9T\xfc@ \x00\x00.";
        assert_eq!(pickled_expiry(float), Some(Some(1_700_000_000.5)));
        assert_eq!(pickled_expiry(b"\x80\x05N."), Some(None));
        assert_eq!(
            pickled_expiry(b"\x80\x02GA\xd9T\xfc@ \x00\x00."),
            Some(Some(1_700_000_000.5))
        );
        assert_eq!(pickled_expiry(b"garbage"), None);
    }
}
