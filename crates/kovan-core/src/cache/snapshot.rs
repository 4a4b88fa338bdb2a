//! An undo snapshot: the keys a flush deletes, each as Redis' own `DUMP` of it with its remaining
//! lifetime, written to a 0600 file in Kovan's data dir before the key is deleted.
//!
//! The file is a stream, so a flush killed halfway leaves every key it deleted so far in it (the
//! batch being written when it died is cut off and skipped when read):
//!
//! ```text
//! KOVANSNAP1\n  u32 header length  header (JSON)  { u32 key length, key, u32 dump length, dump,
//!                                                   i64 PTTL in ms (-1: none), u64 dumped at (unix ms) }*
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const MAGIC: &[u8] = b"KOVANSNAP1\n";
/// A header or a record field longer than this is not one Kovan wrote.
const MAX_FIELD: u32 = 512 * 1024 * 1024;

/// What a snapshot is of: written first, read by `kovan undo` to check it is undone where it was
/// taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotHeader {
    pub id: String,
    /// The kovan.toml of the workspace flushed.
    pub workspace: PathBuf,
    /// The Redis URL, its password masked.
    pub redis: String,
    pub instances: Vec<String>,
    /// The part flushed, as `kovan flush --scope` spells it.
    pub part: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// One deleted key, as Redis gave it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedKey {
    pub key: Vec<u8>,
    /// `DUMP`'s serialized value, which `RESTORE` takes back.
    pub dump: Vec<u8>,
    /// `PTTL` when dumped: milliseconds left, or -1 when the key does not expire.
    pub pttl_ms: i64,
    /// When it was dumped, unix milliseconds: the lifetime left counts down from here.
    pub dumped_at_ms: u64,
}

impl DumpedKey {
    fn size(&self) -> u64 {
        (self.key.len() + self.dump.len() + 4 + 4 + 8 + 8) as u64
    }
}

/// Why a batch was not written.
#[derive(Debug)]
pub enum SnapshotError {
    /// The snapshot would grow past its limit: the batch is not written, and must not be deleted.
    LimitReached {
        limit: u64,
        keys: u64,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LimitReached { limit, keys } => write!(
                f,
                "the undo snapshot reached its limit of {} MiB after {} keys",
                limit / (1024 * 1024),
                crate::text::grouped(*keys)
            ),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

/// Appends deleted keys to a new snapshot file.
pub struct SnapshotWriter {
    out: BufWriter<File>,
    /// Fingerprints of the keys written: SCAN may return a key twice, and two batches under way
    /// may both dump it before either deletes it; it is saved once.
    written: std::collections::HashSet<u128>,
    id: String,
    path: PathBuf,
    bytes: u64,
    limit: u64,
    keys: u64,
}

impl SnapshotWriter {
    /// A new file `{dir}/{id}.snap`, readable by its owner only; never an existing one.
    pub fn create(dir: &Path, header: &SnapshotHeader, limit: u64) -> Result<Self, SnapshotError> {
        let path = dir.join(format!("{}.snap", header.id));
        let io = |source| SnapshotError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|source| SnapshotError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        let mut out = BufWriter::new(file);
        let json = serde_json::to_vec(header).expect("a header serializes");
        out.write_all(MAGIC).map_err(io)?;
        out.write_all(&(json.len() as u32).to_le_bytes())
            .map_err(io)?;
        out.write_all(&json).map_err(io)?;
        out.flush().map_err(io)?;
        let bytes = (MAGIC.len() + 4 + json.len()) as u64;
        Ok(Self {
            out,
            written: std::collections::HashSet::new(),
            id: header.id.clone(),
            path,
            bytes,
            limit,
            keys: 0,
        })
    }

    /// Write a batch and hand it to the kernel before its keys are deleted (so a Kovan killed
    /// after the delete still has them on disk). Nothing of a batch that would pass the limit is
    /// written.
    pub fn append(&mut self, batch: &[DumpedKey]) -> Result<(), SnapshotError> {
        let fresh: Vec<&DumpedKey> = batch
            .iter()
            .filter(|k| !self.written.contains(&xxhash_rust::xxh3::xxh3_128(&k.key)))
            .collect();
        let size: u64 = fresh.iter().map(|k| k.size()).sum();
        if self.bytes + size > self.limit {
            return Err(SnapshotError::LimitReached {
                limit: self.limit,
                keys: self.keys,
            });
        }
        let path = &self.path;
        let io = |source| SnapshotError::Io {
            path: path.clone(),
            source,
        };
        for k in &fresh {
            self.out
                .write_all(&(k.key.len() as u32).to_le_bytes())
                .map_err(io)?;
            self.out.write_all(&k.key).map_err(io)?;
            self.out
                .write_all(&(k.dump.len() as u32).to_le_bytes())
                .map_err(io)?;
            self.out.write_all(&k.dump).map_err(io)?;
            self.out.write_all(&k.pttl_ms.to_le_bytes()).map_err(io)?;
            self.out
                .write_all(&k.dumped_at_ms.to_le_bytes())
                .map_err(io)?;
        }
        self.out.flush().map_err(io)?;
        self.bytes += size;
        self.keys += fresh.len() as u64;
        for k in fresh {
            self.written.insert(xxhash_rust::xxh3::xxh3_128(&k.key));
        }
        Ok(())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn keys(&self) -> u64 {
        self.keys
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a snapshot back, key by key.
pub struct SnapshotReader {
    input: BufReader<File>,
    pub header: SnapshotHeader,
    /// The file ended inside a record: the flush was killed while writing it.
    pub cut_off: bool,
}

impl SnapshotReader {
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut input = BufReader::new(File::open(path)?);
        let mut magic = [0u8; MAGIC.len()];
        input.read_exact(&mut magic)?;
        if magic != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a Kovan undo snapshot",
            ));
        }
        let len = read_u32(&mut input)?;
        if len > MAX_FIELD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the snapshot's header is damaged",
            ));
        }
        let mut json = vec![0; len as usize];
        input.read_exact(&mut json)?;
        let header = serde_json::from_slice(&json).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the snapshot's header is damaged: {e}"),
            )
        })?;
        Ok(Self {
            input,
            header,
            cut_off: false,
        })
    }

    /// The next key; None at the end, or where the file was cut off (then `cut_off` is set).
    pub fn next_key(&mut self) -> io::Result<Option<DumpedKey>> {
        match self.read_record() {
            Ok(k) => Ok(k),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.cut_off = true;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn read_record(&mut self) -> io::Result<Option<DumpedKey>> {
        let mut first = [0u8; 4];
        // A clean end falls between records.
        let n = self.input.read(&mut first)?;
        if n == 0 {
            return Ok(None);
        }
        self.input.read_exact(&mut first[n..])?;
        let key = read_field(&mut self.input, u32::from_le_bytes(first))?;
        let dump_len = read_u32(&mut self.input)?;
        let dump = read_field(&mut self.input, dump_len)?;
        let mut eight = [0u8; 8];
        self.input.read_exact(&mut eight)?;
        let pttl_ms = i64::from_le_bytes(eight);
        self.input.read_exact(&mut eight)?;
        let dumped_at_ms = u64::from_le_bytes(eight);
        Ok(Some(DumpedKey {
            key,
            dump,
            pttl_ms,
            dumped_at_ms,
        }))
    }
}

fn read_u32(input: &mut impl Read) -> io::Result<u32> {
    let mut four = [0u8; 4];
    input.read_exact(&mut four)?;
    Ok(u32::from_le_bytes(four))
}

fn read_field(input: &mut impl Read, len: u32) -> io::Result<Vec<u8>> {
    if len > MAX_FIELD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a record of the snapshot is damaged",
        ));
    }
    let mut field = vec![0; len as usize];
    input.read_exact(&mut field)?;
    Ok(field)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn header(id: &str) -> SnapshotHeader {
        SnapshotHeader {
            id: id.into(),
            workspace: "/p/kovan.toml".into(),
            redis: "redis://127.0.0.1:6379/0".into(),
            instances: vec!["a".into()],
            part: "cache".into(),
            created_at: "2026-12-03T09:00:00.000Z".into(),
        }
    }

    fn key(name: &[u8], pttl_ms: i64) -> DumpedKey {
        DumpedKey {
            key: name.to_vec(),
            dump: vec![0, 1, 2, 255],
            pttl_ms,
            dumped_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn keys_come_back_as_written_from_a_file_only_its_owner_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SnapshotWriter::create(dir.path(), &header("one"), u64::MAX).unwrap();
        let batch = vec![key(b"t:1:a b\n\"*", 1500), key(b"\xff\x00", -1)];
        w.append(&batch).unwrap();
        assert_eq!(w.keys(), 2);
        let mode = std::fs::metadata(w.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut r = SnapshotReader::open(w.path()).unwrap();
        assert_eq!(r.header, header("one"));
        assert_eq!(r.next_key().unwrap(), Some(batch[0].clone()));
        assert_eq!(r.next_key().unwrap(), Some(batch[1].clone()));
        assert_eq!(r.next_key().unwrap(), None);
        assert!(!r.cut_off);
        // Never over an existing snapshot.
        assert!(SnapshotWriter::create(dir.path(), &header("one"), u64::MAX).is_err());
    }

    #[test]
    fn a_key_dumped_twice_is_saved_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SnapshotWriter::create(dir.path(), &header("twice"), u64::MAX).unwrap();
        w.append(&[key(b"a", -1), key(b"b", -1)]).unwrap();
        w.append(&[key(b"b", -1), key(b"c", -1)]).unwrap();
        assert_eq!(w.keys(), 3);
        let mut r = SnapshotReader::open(w.path()).unwrap();
        let mut read = Vec::new();
        while let Some(k) = r.next_key().unwrap() {
            read.push(k.key);
        }
        assert_eq!(read, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn a_file_cut_off_mid_record_gives_what_was_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SnapshotWriter::create(dir.path(), &header("cut"), u64::MAX).unwrap();
        w.append(&[key(b"a", -1), key(b"b", -1)]).unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        let len = std::fs::metadata(&path).unwrap().len();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len - 5).unwrap();
        let mut r = SnapshotReader::open(&path).unwrap();
        assert_eq!(r.next_key().unwrap().unwrap().key, b"a");
        assert_eq!(r.next_key().unwrap(), None);
        assert!(r.cut_off);
    }

    #[test]
    fn a_batch_past_the_limit_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SnapshotWriter::create(dir.path(), &header("small"), 200).unwrap();
        w.append(&[key(b"a", -1)]).unwrap();
        let before = w.bytes();
        let big = vec![key(&[b'k'; 300], -1)];
        match w.append(&big) {
            Err(SnapshotError::LimitReached { keys: 1, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(w.bytes(), before);
        let mut r = SnapshotReader::open(w.path()).unwrap();
        assert!(r.next_key().unwrap().is_some());
        assert_eq!(r.next_key().unwrap(), None);
        assert!(!r.cut_off);
    }
}
