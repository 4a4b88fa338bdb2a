//! Counting every instance's keys in one `SCAN` pass over the database.

use super::keyspace::Prefixes;
use super::{scan_step, RedisCache, SCAN_COUNT};
use crate::cache::error::{CacheError, Operation, Reached};
use crate::cache::progress::{CountProgress, Throttle};

/// What one pass found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspaceCount {
    /// `DBSIZE` when the pass began.
    pub dbsize: u64,
    /// Distinct keys the pass saw.
    pub scanned: u64,
    /// Per prefix, in the order given: (keys, of which cached sessions).
    pub instances: Vec<(u64, u64)>,
    /// Keys that belong to no instance: other apps sharing the database.
    pub other: u64,
}

impl RedisCache {
    /// Count the keys of every prefix, their cached sessions and everyone else's keys, in one pass.
    pub async fn count(
        &self,
        prefixes: &Prefixes,
        mut on_progress: impl FnMut(CountProgress) + Send,
    ) -> Result<KeyspaceCount, CacheError> {
        let dbsize = self.dbsize().await?;
        let mut tally = Tally::new(prefixes, dbsize);
        let mut conn = self.conn.clone();
        let mut throttle = Throttle::default();
        let mut cursor = 0;
        let mut batch: Vec<Vec<u8>> = Vec::new();
        loop {
            // Sort the last batch into buckets while the server works on the next one.
            let (reply, ()) = tokio::join!(scan_step(&mut conn, cursor, None, SCAN_COUNT), async {
                tally.add(prefixes, std::mem::take(&mut batch))
            });
            let (next, keys) = reply.map_err(|e| {
                let reached = Reached {
                    scanned: tally.seen.len() as u64,
                    deleted: 0,
                };
                self.error(&e, Operation::Count, reached)
            })?;
            batch = keys;
            cursor = next;
            if cursor == 0 {
                tally.add(prefixes, std::mem::take(&mut batch));
                let count = tally.finish();
                on_progress(CountProgress {
                    scanned: count.scanned,
                    dbsize: count.dbsize,
                });
                return Ok(count);
            }
            if throttle.ready() {
                on_progress(tally.progress());
            }
        }
    }
}

/// The pass's running count. Each key is sorted into a slot: instance `i`'s plain keys are slot
/// `2i`, its sessions `2i + 1`, everyone else's the last.
struct Tally {
    slots: Vec<u64>,
    dbsize: u64,
    /// SCAN may return a key twice (when the server resizes its table mid-pass). Every key seen is
    /// kept as a 128-bit fingerprint with its slot in the low 16 bits; sorting them once at the end
    /// finds the repeats. Appending is far cheaper than a hash set's random inserts, and 16 bytes a
    /// key far smaller than the keys.
    seen: Vec<u128>,
}

const SLOT_BITS: u32 = 16;

impl Tally {
    fn new(prefixes: &Prefixes, dbsize: u64) -> Self {
        assert!(prefixes.len() < 1 << (SLOT_BITS - 2), "too many prefixes");
        Self {
            slots: vec![0; prefixes.len() * 2 + 1],
            dbsize,
            seen: Vec::with_capacity(usize::try_from(dbsize).unwrap_or(0).min(1 << 24)),
        }
    }

    fn add(&mut self, prefixes: &Prefixes, keys: Vec<Vec<u8>>) {
        let other = self.slots.len() - 1;
        for key in keys {
            let slot = prefixes
                .owner(&key)
                .map_or(other, |o| o.index * 2 + usize::from(o.session));
            self.slots[slot] += 1;
            let hash = xxhash_rust::xxh3::xxh3_128(&key) >> SLOT_BITS << SLOT_BITS;
            self.seen.push(hash | slot as u128);
        }
    }

    fn progress(&self) -> CountProgress {
        CountProgress {
            scanned: self.seen.len() as u64,
            dbsize: self.dbsize,
        }
    }

    /// Take the repeats out, then add up.
    fn finish(mut self) -> KeyspaceCount {
        self.seen.sort_unstable();
        let slot_mask = (1u128 << SLOT_BITS) - 1;
        let mut distinct = self.seen.len() as u64;
        for pair in self.seen.windows(2) {
            if pair[0] == pair[1] {
                self.slots[(pair[1] & slot_mask) as usize] -= 1;
                distinct -= 1;
            }
        }
        let other = self.slots.len() - 1;
        KeyspaceCount {
            dbsize: self.dbsize,
            scanned: distinct,
            instances: self.slots[..other]
                .chunks(2)
                .map(|pair| (pair[0] + pair[1], pair[1]))
                .collect(),
            other: self.slots[other],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_scan_returns_twice_is_counted_once_in_its_bucket() {
        let prefixes = Prefixes::new(["a", "b"]);
        let mut tally = Tally::new(&prefixes, 5);
        let key = |k: &str| k.as_bytes().to_vec();
        tally.add(
            &prefixes,
            vec![
                key("a:1:x"),
                key("b:1:django.contrib.sessions.cachez"),
                key("zz"),
            ],
        );
        tally.add(
            &prefixes,
            vec![
                key("b:1:django.contrib.sessions.cachez"),
                key("a:1:y"),
                key("zz"),
            ],
        );
        let count = tally.finish();
        assert_eq!(count.instances, vec![(2, 0), (1, 1)]);
        assert_eq!((count.other, count.scanned, count.dbsize), (1, 4, 5));
    }
}
