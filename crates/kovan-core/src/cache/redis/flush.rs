//! Deleting instances' keys: `SCAN` then `UNLINK` in small batches, the next `SCAN` already on its
//! way while a batch is deleted. Never `FLUSHDB`: only keys a SCAN matched are deleted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use redis::aio::MultiplexedConnection;
use redis::RedisError;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use ts_rs::TS;

use super::keyspace::{Prefixes, Selection};
use super::{is_unknown_command, scan_step, RedisCache, SCAN_COUNT};
use crate::cache::cancel::CancelToken;
use crate::cache::error::{CacheError, Operation, Reached};
use crate::cache::snapshot::{DumpedKey, SnapshotError, SnapshotWriter};

/// The undo snapshot of a flush, written by whichever batch has its keys dumped first.
pub type SharedSnapshot = Arc<Mutex<SnapshotWriter>>;

/// Delete batches sent and not yet answered, at most. Redis runs a connection's queued commands
/// back to back, so this bounds how long other clients wait: about this many batches' work.
const IN_FLIGHT: usize = 2;
/// With an undo snapshot each batch waits for its DUMP before its UNLINK: more batches under way
/// keep the server busy through that wait (each command still takes well under a millisecond).
const IN_FLIGHT_SAVING: usize = 8;

/// How the keys were deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum DeleteCommand {
    /// Frees memory in the background, so a large value does not block the server.
    Unlink,
    /// For servers without UNLINK (before Redis 4) or where it is renamed away.
    Del,
}

/// Keys deleted for one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deleted {
    pub keys: u64,
    pub sessions: u64,
}

/// The outcome of one deleting pass, complete or not.
#[derive(Debug)]
pub struct DeletePass {
    /// Per prefix, in the order given. Only deletions Redis confirmed are counted, so after an
    /// error these are never more than what is really gone.
    pub instances: Vec<Deleted>,
    pub scanned: u64,
    pub command: DeleteCommand,
    pub cancelled: bool,
    pub error: Option<CacheError>,
}

impl DeletePass {
    pub fn deleted(&self) -> Deleted {
        self.instances
            .iter()
            .fold(Deleted::default(), |sum, d| Deleted {
                keys: sum.keys + d.keys,
                sessions: sum.sessions + d.sessions,
            })
    }
}

/// One batch's keys grouped by (instance, session or not): one UNLINK each, so Redis' replies say
/// exactly whose keys and how many sessions went.
struct Batch {
    groups: Vec<Vec<Vec<u8>>>,
}

impl Batch {
    fn sort(prefixes: &Prefixes, selection: &Selection, keys: Vec<Vec<u8>>) -> Option<Self> {
        let mut groups = vec![Vec::new(); prefixes.len() * 2];
        let mut any = false;
        for key in keys {
            // Checked even under MATCH: a key is only ever deleted for the prefix it starts with,
            // and only when the selection takes it (the server's MATCH is never trusted for that).
            if let Some(owner) = prefixes.selected(selection, &key) {
                groups[owner.index * 2 + usize::from(owner.session)].push(key);
                any = true;
            }
        }
        any.then_some(Self { groups })
    }

    /// Delete the batch, its keys saved to the snapshot first when there is one; the batch comes
    /// back with the outcome, for a retry with DEL.
    async fn delete(
        self,
        mut conn: MultiplexedConnection,
        command: DeleteCommand,
        snapshot: Option<SharedSnapshot>,
    ) -> BatchResult {
        if let Some(snapshot) = &snapshot {
            if let Err(e) = self.save(&mut conn, snapshot).await {
                return (self, Err(e));
            }
        }
        let name = match command {
            DeleteCommand::Del => "DEL",
            DeleteCommand::Unlink => "UNLINK",
        };
        // A pipeline, not MULTI/EXEC: nothing to roll back, and a transaction would hold off
        // every other client for the whole batch.
        let mut pipe = redis::pipe();
        for group in self.groups.iter().filter(|g| !g.is_empty()) {
            pipe.cmd(name).arg(group);
        }
        let replies: Result<Vec<u64>, RedisError> = pipe.query_async(&mut conn).await;
        let counted = replies.map(|replies| {
            let mut replies = replies.into_iter();
            let mut out = vec![Deleted::default(); self.groups.len() / 2];
            for (slot, group) in self.groups.iter().enumerate() {
                if group.is_empty() {
                    continue;
                }
                let n = replies.next().unwrap_or(0);
                out[slot / 2].keys += n;
                if slot % 2 == 1 {
                    out[slot / 2].sessions += n;
                }
            }
            out
        });
        (self, counted.map_err(BatchFailure::Redis))
    }

    /// `DUMP` and `PTTL` of every key, written to the snapshot before any is deleted. A key gone
    /// since the SCAN has nothing to save (and its UNLINK counts nothing).
    async fn save(
        &self,
        conn: &mut MultiplexedConnection,
        snapshot: &SharedSnapshot,
    ) -> Result<(), BatchFailure> {
        let mut pipe = redis::pipe();
        for key in self.groups.iter().flatten() {
            pipe.cmd("DUMP").arg(key).cmd("PTTL").arg(key);
        }
        let replies: Vec<redis::Value> =
            pipe.query_async(conn).await.map_err(BatchFailure::Dump)?;
        let dumped_at_ms = unix_ms();
        let mut saved = Vec::with_capacity(replies.len() / 2);
        let mut replies = replies.into_iter();
        for key in self.groups.iter().flatten() {
            let (Some(redis::Value::BulkString(dump)), Some(redis::Value::Int(pttl_ms))) =
                (replies.next(), replies.next())
            else {
                continue;
            };
            // -2: it expired between the two commands.
            if pttl_ms == -2 {
                continue;
            }
            saved.push(DumpedKey {
                key: key.clone(),
                dump,
                pttl_ms,
                dumped_at_ms,
            });
        }
        snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(&saved)
            .map_err(BatchFailure::Snapshot)
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Why a batch was not deleted.
enum BatchFailure {
    Redis(RedisError),
    /// Redis did not give the keys' DUMP: they were left in place (and are never retried without
    /// their snapshot, as a refused UNLINK is retried as DEL).
    Dump(RedisError),
    /// Its keys could not be saved for undo, so they were left in place.
    Snapshot(SnapshotError),
}

type BatchResult = (Batch, Result<Vec<Deleted>, BatchFailure>);

impl RedisCache {
    /// Delete every key that starts with one of `prefixes` followed by `:` and that `selection`
    /// takes, and nothing else.
    ///
    /// One pass of `SCAN MATCH` over the database: `{prefix}:*` for one prefix, and for several
    /// the part their `{prefix}:` starts share (rather than a pass per prefix: each pass walks the
    /// whole database). Each key is checked against the prefixes here before it is deleted.
    ///
    /// Deletions go over a second connection, at most [`IN_FLIGHT`] batches at a time, so the
    /// server scans the next batch while this side sorts the last one, and always has work.
    ///
    /// With a `snapshot`, each batch's keys are dumped into it before they are deleted; a batch
    /// that cannot be saved (the snapshot's limit, a full disk) is not deleted and ends the pass.
    pub async fn delete_keys(
        &self,
        prefixes: &Prefixes,
        selection: &Selection,
        snapshot: Option<&SharedSnapshot>,
        cancel: &CancelToken,
        mut on_batch: impl FnMut(Deleted) + Send,
    ) -> DeletePass {
        let mut pass = DeletePass {
            instances: vec![Deleted::default(); prefixes.len()],
            scanned: 0,
            command: DeleteCommand::Unlink,
            cancelled: false,
            error: None,
        };
        let deleter = match self.another_connection().await {
            Ok(conn) => conn,
            Err(e) => {
                pass.error = Some(e);
                return pass;
            }
        };
        let pattern = prefixes.scan_pattern_for(selection);
        let mut scanner = self.conn.clone();
        let mut in_flight: VecDeque<JoinHandle<BatchResult>> = VecDeque::new();
        let mut failure: Option<BatchFailure> = None;
        let most = if snapshot.is_some() {
            IN_FLIGHT_SAVING
        } else {
            IN_FLIGHT
        };
        let mut cursor = 0;
        loop {
            let reply = scan_step(&mut scanner, cursor, pattern.as_deref(), SCAN_COUNT).await;
            let (next, keys) = match reply {
                Ok(reply) => reply,
                Err(e) => {
                    failure = Some(BatchFailure::Redis(e));
                    break;
                }
            };
            pass.scanned += keys.len() as u64;
            cursor = next;
            if cancel.is_cancelled() {
                // The keys just scanned are left alone; the batches already sent complete.
                pass.cancelled = true;
                break;
            }
            if let Some(batch) = Batch::sort(prefixes, selection, keys) {
                in_flight.push_back(tokio::spawn(batch.delete(
                    deleter.clone(),
                    pass.command,
                    snapshot.cloned(),
                )));
            }
            while in_flight.len() > most || (cursor == 0 && !in_flight.is_empty()) {
                let done = in_flight.pop_front().expect("not empty");
                if let Err(e) = pass.settle(done, &deleter, &mut on_batch).await {
                    failure = Some(e);
                    break;
                }
            }
            if failure.is_some() || cursor == 0 {
                break;
            }
        }
        // Whatever stopped the pass, every batch sent is accounted for.
        for done in in_flight {
            if let Err(e) = pass.settle(done, &deleter, &mut on_batch).await {
                failure = failure.or(Some(e));
            }
        }
        pass.error = failure.map(|failure| match failure {
            BatchFailure::Redis(e) => {
                let reached = Reached {
                    scanned: pass.scanned,
                    deleted: pass.deleted().keys,
                };
                self.error(&e, Operation::Flush, reached)
            }
            BatchFailure::Dump(e) if is_unknown_command(&e) => CacheError::Undo(format!(
                "Redis refused DUMP, which the undo snapshot needs ({}); nothing was deleted after that. Flush without undo (`kovan flush --no-undo`, or \"without undo\" in the window).",
                e.detail().unwrap_or("unknown command")
            )),
            BatchFailure::Dump(e) => {
                let reached = Reached {
                    scanned: pass.scanned,
                    deleted: pass.deleted().keys,
                };
                self.error(&e, Operation::Flush, reached)
            }
            BatchFailure::Snapshot(e @ SnapshotError::LimitReached { .. }) => {
                let snapshot = snapshot
                    .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()))
                    .filter(|s| s.keys() > 0)
                    .map(|s| (s.id().to_string(), s.path().to_path_buf()))
                    .unwrap_or_default();
                CacheError::UndoLimit {
                    detail: e.to_string(),
                    id: snapshot.0,
                    snapshot: snapshot.1,
                }
            }
            BatchFailure::Snapshot(e) => CacheError::UndoWrite {
                detail: e.to_string(),
            },
        });
        pass
    }
}

impl DeletePass {
    /// Wait for a batch sent earlier and count what it deleted. A server without UNLINK gets the
    /// batch again as DEL, and DEL from then on.
    async fn settle(
        &mut self,
        sent: JoinHandle<BatchResult>,
        conn: &MultiplexedConnection,
        on_batch: &mut impl FnMut(Deleted),
    ) -> Result<(), BatchFailure> {
        let (batch, outcome) = sent
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        // The retry's keys are in the snapshot already.
        let counts = match outcome {
            Err(BatchFailure::Redis(e))
                if is_unknown_command(&e) && self.command == DeleteCommand::Unlink =>
            {
                self.command = DeleteCommand::Del;
                batch
                    .delete(conn.clone(), DeleteCommand::Del, None)
                    .await
                    .1?
            }
            // A batch sent as UNLINK before the switch, retried as DEL.
            Err(BatchFailure::Redis(e)) if is_unknown_command(&e) => {
                batch
                    .delete(conn.clone(), DeleteCommand::Del, None)
                    .await
                    .1?
            }
            other => other?,
        };
        let mut sum = Deleted::default();
        for (total, d) in self.instances.iter_mut().zip(&counts) {
            total.keys += d.keys;
            total.sessions += d.sessions;
            sum.keys += d.keys;
            sum.sessions += d.sessions;
        }
        on_batch(sum);
        Ok(())
    }
}
