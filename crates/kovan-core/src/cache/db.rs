//! Database: Django's DatabaseCache keeps entries in a table of the instance's own database
//! (`cache_location`), rows of `cache_key`, `value`, `expires`. SQLite only for now.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::error::CacheError;
use super::redis::{Prefixes, Selection};
use crate::workspace::{DatabaseEngine, Instance, Workspace};

/// Writers (the running instance) hold the lock for milliseconds; wait for them that long at most.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Narrows the rows whose keys are read to those that may be sessions.
const SESSION_LIKE: &str = "%django.contrib.sessions.cache%";

/// Keys and cached sessions not yet expired, read with the database opened read-only.
pub fn count(ws: &Workspace, instance: &Instance) -> Result<(u64, u64), CacheError> {
    let table = Table::of(ws, instance)?;
    let conn = table.open(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let now = django_now();
    let keys: u64 = conn
        .query_row(
            &format!("SELECT COUNT(*) FROM \"{}\" WHERE expires > ?1", table.name),
            [&now],
            |row| row.get(0),
        )
        .map_err(|e| table.error(e))?;
    let sessions = table.sessions(&conn, Some(&now))?;
    Ok((keys, sessions))
}

/// Delete every row (expired ones too, as Django's `clear()` does); returns (rows, sessions).
pub fn flush(ws: &Workspace, instance: &Instance) -> Result<(u64, u64), CacheError> {
    let table = Table::of(ws, instance)?;
    let mut conn = table.open(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let tx = conn.transaction().map_err(|e| table.error(e))?;
    let sessions = table.sessions(&tx, None)?;
    let deleted = tx
        .execute(&format!("DELETE FROM \"{}\"", table.name), [])
        .map_err(|e| table.error(e))?;
    tx.commit().map_err(|e| table.error(e))?;
    Ok((deleted as u64, sessions))
}

/// Rows `selection` takes, unexpired ones: (rows, sessions among them).
pub fn count_selected(
    ws: &Workspace,
    instance: &Instance,
    selection: &Selection,
) -> Result<(u64, u64), CacheError> {
    let table = Table::of(ws, instance)?;
    let conn = table.open(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let keys = table.selected(&conn, selection, Some(&django_now()))?;
    Ok((
        keys.len() as u64,
        keys.iter().filter(|(_, s)| *s).count() as u64,
    ))
}

/// Delete the rows `selection` takes (expired ones too); returns (rows, sessions).
pub fn flush_selected(
    ws: &Workspace,
    instance: &Instance,
    selection: &Selection,
) -> Result<(u64, u64), CacheError> {
    if *selection == Selection::All {
        return flush(ws, instance);
    }
    let table = Table::of(ws, instance)?;
    let mut conn = table.open(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let tx = conn.transaction().map_err(|e| table.error(e))?;
    let keys = table.selected(&tx, selection, None)?;
    let (mut deleted, mut sessions) = (0, 0);
    {
        let sql = format!("DELETE FROM \"{}\" WHERE cache_key = ?1", table.name);
        let mut stmt = tx.prepare(&sql).map_err(|e| table.error(e))?;
        for (key, session) in &keys {
            let n = stmt.execute([key]).map_err(|e| table.error(e))? as u64;
            deleted += n;
            sessions += if *session { n } else { 0 };
        }
    }
    tx.commit().map_err(|e| table.error(e))?;
    Ok((deleted, sessions))
}

struct Table<'a> {
    instance: &'a Instance,
    path: PathBuf,
    /// Validated as an identifier when kovan.toml was loaded, so it can be quoted as it is.
    name: &'a str,
}

impl<'a> Table<'a> {
    fn of(ws: &Workspace, instance: &'a Instance) -> Result<Self, CacheError> {
        if ws.database == DatabaseEngine::Postgresql {
            return Err(CacheError::Unsupported {
                instance: instance.name.clone(),
                what: "counting and flushing a database cache on PostgreSQL".into(),
            });
        }
        let path = ws.project.django_root.join(&instance.names.database);
        if !path.is_file() {
            return Err(CacheError::NoDatabase {
                instance: instance.name.clone(),
                path,
            });
        }
        Ok(Self {
            instance,
            path,
            name: instance.names.cache_location.as_deref().unwrap_or_default(),
        })
    }

    fn open(&self, access: OpenFlags) -> Result<Connection, CacheError> {
        let conn =
            Connection::open_with_flags(&self.path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| self.error(e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| self.error(e))?;
        Ok(conn)
    }

    /// Rows whose key is a cached session of this instance (`{prefix}:{version}:django.contrib.
    /// sessions.cache…`), unexpired at `now` when given.
    fn sessions(&self, conn: &Connection, now: Option<&str>) -> Result<u64, CacheError> {
        let prefixes = Prefixes::new([self.instance.names.cache_prefix.as_str()]);
        let sql = format!(
            "SELECT cache_key FROM \"{}\" WHERE cache_key LIKE ?1 AND (?2 IS NULL OR expires > ?2)",
            self.name
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| self.error(e))?;
        let keys = stmt
            .query_map(rusqlite::params![SESSION_LIKE, now], |row| {
                row.get::<_, String>(0)
            })
            .map_err(|e| self.error(e))?;
        let mut sessions = 0;
        for key in keys {
            let key = key.map_err(|e| self.error(e))?;
            sessions += u64::from(prefixes.owner(key.as_bytes()).is_some_and(|o| o.session));
        }
        Ok(sessions)
    }

    /// Every key `selection` takes (unexpired at `now` when given), with whether it is a session.
    fn selected(
        &self,
        conn: &Connection,
        selection: &Selection,
        now: Option<&str>,
    ) -> Result<Vec<(String, bool)>, CacheError> {
        let prefixes = Prefixes::new([self.instance.names.cache_prefix.as_str()]);
        let sql = format!(
            "SELECT cache_key FROM \"{}\" WHERE ?1 IS NULL OR expires > ?1",
            self.name
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| self.error(e))?;
        let keys = stmt
            .query_map([now], |row| row.get::<_, String>(0))
            .map_err(|e| self.error(e))?;
        let mut out = Vec::new();
        for key in keys {
            let key = key.map_err(|e| self.error(e))?;
            if let Some(owner) = prefixes.selected(selection, key.as_bytes()) {
                out.push((key, owner.session));
            }
        }
        Ok(out)
    }

    fn error(&self, e: rusqlite::Error) -> CacheError {
        let detail = e.to_string();
        if detail.contains("no such table") {
            CacheError::NoCacheTable {
                instance: self.instance.name.clone(),
                table: self.name.to_string(),
                path: self.path.clone(),
            }
        } else {
            CacheError::Database {
                instance: self.instance.name.clone(),
                path: self.path.clone(),
                detail,
            }
        }
    }
}

/// Now as Django stores `expires` in SQLite: UTC (USE_TZ = True, Django's default) as text,
/// `YYYY-MM-DD HH:MM:SS.ffffff`, which compares correctly as text.
fn django_now() -> String {
    chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}
