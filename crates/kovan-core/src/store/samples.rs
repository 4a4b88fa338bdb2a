//! Health samples, and the retention that thins them: every sample for the recent hours, then one a
//! minute, then one per ten minutes, then none.

use std::path::Path;

use rusqlite::params;
use serde::Serialize;
use ts_rs::TS;

use super::{Store, StoreError};

/// How long health samples are kept, and how finely: every sample for the recent hours, then one a
/// minute, then one per ten minutes, then none. Bounds the table at about 12,700 rows per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Milliseconds of full detail.
    pub full_ms: i64,
    /// Older than `full_ms` and younger than this: one sample per minute per instance.
    pub per_minute_ms: i64,
    /// Older than `per_minute_ms` and younger than this: one per ten minutes; older: dropped.
    pub keep_ms: i64,
    /// Retention runs when the newest sample is this much younger than at the last run.
    pub every_ms: i64,
}

const HOUR_MS: i64 = 3_600_000;

impl Default for Retention {
    fn default() -> Self {
        Self {
            full_ms: 6 * HOUR_MS,
            per_minute_ms: 24 * HOUR_MS,
            keep_ms: 7 * 24 * HOUR_MS,
            every_ms: 60_000,
        }
    }
}

/// One health check of one instance, as history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HealthSample {
    pub instance: String,
    /// Unix milliseconds.
    #[ts(type = "number")]
    pub at: i64,
    /// The card's state after this check (hysteresis applied).
    pub up: bool,
    /// None when the check failed.
    pub latency_ms: Option<f64>,
    /// Percent of one core, summed over the process group.
    pub cpu: Option<f64>,
    #[ts(type = "number | null")]
    pub rss: Option<u64>,
}

impl Store {
    /// Keep one health sample; retention runs once a minute of sample time.
    pub fn record_health_sample(
        &self,
        workspace: &Path,
        sample: &HealthSample,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO health_samples (workspace, instance, at, up, latency_ms, cpu, rss)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                workspace.to_string_lossy(),
                sample.instance,
                sample.at,
                sample.up,
                sample.latency_ms,
                sample.cpu,
                sample.rss.map(|r| r as i64)
            ])
            .map(|_| ())
        })?;
        let due = {
            let mut last = self.retained_at.lock().unwrap_or_else(|e| e.into_inner());
            let due = sample.at.saturating_sub(*last) >= self.retention.every_ms;
            if due {
                *last = sample.at;
            }
            due
        };
        if due {
            self.apply_retention(sample.at)?;
        }
        Ok(())
    }

    /// Thin and drop health samples as of `now` (Unix ms): full detail for `full_ms`, then the
    /// worst sample (down before up) per minute, then per ten minutes, then nothing.
    pub fn apply_retention(&self, now: i64) -> Result<(), StoreError> {
        let r = self.retention;
        self.with(|c| {
            c.execute(
                "DELETE FROM health_samples WHERE at < ?1",
                params![now - r.keep_ms],
            )?;
            for (from, to, bucket) in [
                (now - r.per_minute_ms, now - r.full_ms, 60_000i64),
                (now - r.keep_ms, now - r.per_minute_ms, 600_000),
            ] {
                // SQLite returns the id of the row MIN() chose: a down sample wins its bucket.
                c.execute(
                    "DELETE FROM health_samples WHERE at >= ?1 AND at < ?2 AND id NOT IN (
                        SELECT id FROM (
                            SELECT id, MIN(up) FROM health_samples WHERE at >= ?1 AND at < ?2
                            GROUP BY workspace, instance, at / ?3))",
                    params![from, to, bucket],
                )?;
            }
            Ok(())
        })
    }

    /// The newest `limit` health samples of one instance, oldest first: a card's sparkline.
    pub fn recent_samples(
        &self,
        workspace: &Path,
        instance: &str,
        limit: usize,
    ) -> Result<Vec<HealthSample>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT instance, at, up, latency_ms, cpu, rss FROM health_samples
                 WHERE workspace = ?1 AND instance = ?2 ORDER BY at DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![workspace.to_string_lossy(), instance, limit as i64],
                |r| {
                    Ok(HealthSample {
                        instance: r.get(0)?,
                        at: r.get(1)?,
                        up: r.get(2)?,
                        latency_ms: r.get(3)?,
                        cpu: r.get(4)?,
                        rss: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                    })
                },
            )?;
            let mut samples = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            samples.reverse();
            Ok(samples)
        })
    }

    /// Health samples kept, over every workspace.
    pub fn sample_count(&self) -> Result<u64, StoreError> {
        self.with(|c| c.query_row("SELECT COUNT(*) FROM health_samples", [], |r| r.get(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_a_day_of_samples_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
        let ws = Path::new("/p/kovan.toml");
        let start = 1_000_000_000_000i64;
        let step = 2_000;
        let day = 24 * HOUR_MS;
        // A day and a half of 2-second samples; the instance is down for one sample at hour 10.
        let mut at = start;
        while at < start + day + day / 2 {
            let down = at == start + 10 * HOUR_MS;
            store
                .record_health_sample(
                    ws,
                    &HealthSample {
                        instance: "a".into(),
                        at,
                        up: !down,
                        latency_ms: Some(3.0),
                        cpu: None,
                        rss: None,
                    },
                )
                .unwrap();
            at += step;
        }
        let now = at - step;
        store.apply_retention(now).unwrap();
        let full = 6 * HOUR_MS / step;
        let per_minute = 18 * 60;
        let per_ten = (12 * HOUR_MS) / 600_000;
        let kept = store.sample_count().unwrap() as i64;
        assert!(
            (kept - (full + per_minute + per_ten)).abs() <= 3,
            "kept {kept}, expected about {}",
            full + per_minute + per_ten
        );
        // The one down sample, 26 hours old, survived thinning as its bucket's representative.
        let down: i64 = store
            .with(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM health_samples WHERE up = 0",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(down, 1);
        let recent = store.recent_samples(ws, "a", 5).unwrap();
        assert_eq!(recent.len(), 5);
        assert_eq!(recent[4].at, now);
    }
}
