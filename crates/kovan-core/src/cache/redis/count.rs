//! Counting every instance's keys in one `SCAN` pass over the database.

use super::keyspace::{Prefixes, Selection};
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
    /// Per channel-layer prefix, in the order given: channels_redis's keys under it.
    pub channels: Vec<u64>,
    /// Keys that belong to no instance and no channel layer: other apps sharing the database.
    pub other: u64,
}

impl RedisCache {
    /// Count the keys of every prefix, their cached sessions, the channel layers' keys and everyone
    /// else's keys, in one pass.
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

impl RedisCache {
    /// Count the keys of every prefix that `selection` takes, in one pass: per prefix, (keys, of
    /// which cached sessions). For a selection the whole count cannot tell (a key group).
    pub async fn count_selected(
        &self,
        prefixes: &Prefixes,
        selection: &Selection,
    ) -> Result<Vec<(u64, u64)>, CacheError> {
        let mut seen: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        let mut out = vec![(0u64, 0u64); prefixes.len()];
        let pattern = prefixes.scan_pattern_for(selection);
        let mut conn = self.conn.clone();
        let mut cursor = 0;
        loop {
            let (next, keys) = scan_step(&mut conn, cursor, pattern.as_deref(), SCAN_COUNT)
                .await
                .map_err(|e| {
                    let reached = Reached {
                        scanned: seen.len() as u64,
                        deleted: 0,
                    };
                    self.error(&e, Operation::Count, reached)
                })?;
            for key in keys {
                if let Some(owner) = prefixes.selected(selection, &key) {
                    // SCAN may return a key twice.
                    if seen.insert(key) {
                        out[owner.index].0 += 1;
                        out[owner.index].1 += u64::from(owner.session);
                    }
                }
            }
            cursor = next;
            if cursor == 0 {
                return Ok(out);
            }
        }
    }
}

/// The pass's running count. Each key is sorted into a slot: instance `i`'s plain keys are slot
/// `2i`, its sessions `2i + 1`, channel layer `c`'s keys `2n + c` (n instances), everyone else's
/// the last.
struct Tally {
    slots: Vec<u64>,
    /// How many cache prefixes (the slots before the channel layers' are theirs, two each).
    instances: usize,
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
        let slots = prefixes.len() * 2 + prefixes.channel_len() + 1;
        assert!(slots < 1 << SLOT_BITS, "too many prefixes");
        Self {
            slots: vec![0; slots],
            instances: prefixes.len(),
            dbsize,
            seen: Vec::with_capacity(usize::try_from(dbsize).unwrap_or(0).min(1 << 24)),
        }
    }

    fn add(&mut self, prefixes: &Prefixes, keys: Vec<Vec<u8>>) {
        let other = self.slots.len() - 1;
        let layers = prefixes.len() * 2;
        for key in keys {
            let slot = match prefixes.owner(&key) {
                Some(o) => o.index * 2 + usize::from(o.session),
                None => prefixes.channel_owner(&key).map_or(other, |c| layers + c),
            };
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
        let layers = self.instances * 2;
        KeyspaceCount {
            dbsize: self.dbsize,
            scanned: distinct,
            instances: self.slots[..layers]
                .chunks(2)
                .map(|pair| (pair[0] + pair[1], pair[1]))
                .collect(),
            channels: self.slots[layers..other].to_vec(),
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

    #[test]
    fn channel_layer_keys_have_slots_of_their_own_between_the_instances_and_the_rest() {
        let prefixes = Prefixes::new(["c_main", "c_api"]).with_channels(["c", "d"]);
        let mut tally = Tally::new(&prefixes, 9);
        let key = |k: &str| k.as_bytes().to_vec();
        tally.add(
            &prefixes,
            vec![
                key("c_main:1:x"),
                key("c:group:room"),
                key("cspecific.ab!"),
                key("c:group:room"),
                key("d:group:x"),
                key("c_api:1:django.contrib.sessions.cachez"),
                key("c_other:1:x"),
            ],
        );
        let count = tally.finish();
        assert_eq!(count.instances, vec![(1, 0), (1, 1)]);
        assert_eq!(count.channels, vec![2, 1]);
        assert_eq!((count.other, count.scanned), (1, 6));
    }
}
