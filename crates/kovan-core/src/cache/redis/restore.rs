//! Putting dumped keys back: the undo of a flush.

use std::time::SystemTime;

use super::RedisCache;
use crate::cache::error::{CacheError, Operation, Reached};
use crate::cache::snapshot::DumpedKey;

/// What one batch of `RESTORE`s did.
#[derive(Debug, Default)]
pub struct Restored {
    pub restored: u64,
    /// BUSYKEY: written again since the flush, left as it is.
    pub skipped: u64,
    /// Its lifetime ran out since the flush: not sent.
    pub expired: u64,
    pub failed: u64,
    pub first_failure: Option<String>,
}

impl RedisCache {
    /// `RESTORE` each key with the lifetime it has left now, never `REPLACE`: a key written
    /// since the flush answers BUSYKEY and stays as it is.
    pub async fn restore(&self, batch: &[DumpedKey]) -> Result<Restored, CacheError> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut done = Restored::default();
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        let mut sent = 0;
        for k in batch {
            let ttl = if k.pttl_ms < 0 {
                0
            } else {
                let left = k.pttl_ms - (now - k.dumped_at_ms as i64);
                if left <= 0 {
                    done.expired += 1;
                    continue;
                }
                left
            };
            pipe.cmd("RESTORE").arg(&k.key).arg(ttl).arg(&k.dump);
            sent += 1;
        }
        if sent == 0 {
            return Ok(done);
        }
        let mut conn = self.conn.clone();
        let replies: Vec<redis::RedisResult<redis::Value>> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.error(&e, Operation::Undo, Reached::default()))?;
        for reply in replies {
            match reply {
                Ok(_) => done.restored += 1,
                Err(e) if e.code() == Some("BUSYKEY") => done.skipped += 1,
                Err(e) => {
                    done.failed += 1;
                    done.first_failure
                        .get_or_insert_with(|| self.server.scrub(e.to_string()));
                }
            }
        }
        Ok(done)
    }
}
