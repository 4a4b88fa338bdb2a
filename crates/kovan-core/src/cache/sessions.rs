//! Where an instance keeps its sessions, and the session rows of the `db` and `cached_db` engines.
//!
//! Cached sessions (`cache`, `cached_db`) are keys of the instance's cache, recognised by their
//! names ([`super::redis::Selection`]). Rows of `django_session` live in the instance's own
//! database: counted and deleted here, for SQLite (the derived database file).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::CacheError;
use crate::health::endpoint::sqlite_path;
use crate::workspace::{DatabaseEngine, Instance, Workspace};

const ENGINES: &str = "django.contrib.sessions.backends.";
/// Django's session model's table.
const TABLE: &str = "django_session";
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `SESSION_ENGINE` of an instance, as its settings say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "engine",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SessionEngine {
    /// `…backends.cache`: keys of the cache only.
    Cache,
    /// `…backends.cached_db`: keys of the cache and rows of the database.
    CachedDb,
    /// `…backends.db` (Django's default): rows of the database only.
    Db,
    /// file, signed_cookies or the project's own: neither in the cache nor in a table Kovan reads.
    Elsewhere { name: String },
    /// The settings do not say it in a way Kovan can read.
    Unknown { reason: String },
}

impl SessionEngine {
    /// Some of the sessions are keys of the cache.
    pub fn in_cache(&self) -> bool {
        matches!(self, Self::Cache | Self::CachedDb)
    }

    /// Some of the sessions are rows of the database.
    pub fn in_database(&self) -> bool {
        matches!(self, Self::CachedDb | Self::Db)
    }

    fn of_name(name: &str) -> Self {
        match name.strip_prefix(ENGINES) {
            Some("cache") => Self::Cache,
            Some("cached_db") => Self::CachedDb,
            Some("db") => Self::Db,
            _ => Self::Elsewhere { name: name.into() },
        }
    }

    /// Read from the project's settings module (the generated settings import it whole and do not
    /// set SESSION_ENGINE themselves): its last top-level `SESSION_ENGINE = "…"`. A module that
    /// never names it and imports no other settings has Django's default, `db`.
    pub fn of(ws: &Workspace) -> Self {
        let Some(path) = settings_file(ws) else {
            return Self::Unknown {
                reason: format!("the settings module {} was not found", ws.project.settings),
            };
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Self::Unknown {
                reason: format!("{} could not be read", path.display()),
            };
        };
        Self::of_settings(&text).unwrap_or_else(|reason| Self::Unknown {
            reason: format!("{}: {reason}", path.display()),
        })
    }

    fn of_settings(text: &str) -> Result<Self, String> {
        let mut found = None;
        let mut mentioned = false;
        let mut imports = false;
        for line in text.lines() {
            mentioned |= line.contains("SESSION_ENGINE");
            imports |= line.starts_with("from ") && line.contains(" import *");
            let Some(rest) = line.strip_prefix("SESSION_ENGINE") else {
                continue;
            };
            let Some(value) = rest.trim_start().strip_prefix('=') else {
                continue;
            };
            let value = value.split('#').next().unwrap_or_default().trim();
            let quoted = ['"', '\''].iter().find_map(|q| {
                value
                    .strip_prefix(*q)
                    .and_then(|v| v.strip_suffix(*q))
                    .filter(|v| !v.contains(['"', '\'']))
            });
            match quoted {
                Some(name) => found = Some(name.to_string()),
                None => {
                    return Err(format!(
                        "SESSION_ENGINE is set to {value}, not a plain string"
                    ))
                }
            }
        }
        match found {
            Some(name) => Ok(Self::of_name(&name)),
            None if mentioned => Err("SESSION_ENGINE is set in a way Kovan cannot read".into()),
            None if imports => Err("SESSION_ENGINE may come from the settings it imports".into()),
            None => Ok(Self::Db),
        }
    }
}

/// `a.b.settings` as `{django_root}/a/b/settings.py` (or `…/settings/__init__.py`).
fn settings_file(ws: &Workspace) -> Option<PathBuf> {
    let module: PathBuf = ws.project.settings.split('.').collect();
    let base = ws.project.django_root.join(module);
    [base.with_extension("py"), base.join("__init__.py")]
        .into_iter()
        .find(|p| p.is_file())
}

/// The session rows of an instance's database: counted, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum DbSessions {
    /// Not part of this flush: the scope keeps sessions, or the engine keeps none in a database.
    NotInScope,
    Counted {
        #[ts(type = "number")]
        rows: u64,
    },
    NotCounted {
        reason: String,
    },
}

/// Where the rows are, or why they cannot be reached.
fn database(ws: &Workspace, instance: &Instance) -> Result<PathBuf, String> {
    if ws.database == DatabaseEngine::Postgresql {
        return Err(
            "db sessions on PostgreSQL are not counted or deleted yet (not supported)".into(),
        );
    }
    sqlite_path(ws, instance).ok_or_else(|| "the database is not SQLite".into())
}

/// Every row of `django_session` (expired ones too, as `clear_cache` counts them).
pub fn count_rows(ws: &Workspace, instance: &Instance) -> DbSessions {
    let path = match database(ws, instance) {
        Ok(path) => path,
        Err(reason) => return DbSessions::NotCounted { reason },
    };
    if !path.is_file() {
        // Not migrated yet: no sessions.
        return DbSessions::Counted { rows: 0 };
    }
    let counted = open(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).and_then(|conn| {
        conn.query_row(&format!("SELECT COUNT(*) FROM {TABLE}"), [], |row| {
            row.get::<_, u64>(0)
        })
    });
    match counted {
        Ok(rows) => DbSessions::Counted { rows },
        Err(e) if no_table(&e) => DbSessions::Counted { rows: 0 },
        Err(e) => DbSessions::NotCounted {
            reason: format!("{}: {e}", path.display()),
        },
    }
}

/// Delete every row of `django_session`; returns how many went.
pub fn delete_rows(ws: &Workspace, instance: &Instance) -> Result<u64, CacheError> {
    let path = database(ws, instance).map_err(|what| CacheError::Unsupported {
        instance: instance.name.clone(),
        what,
    })?;
    if !path.is_file() {
        return Ok(0);
    }
    let error = |e: rusqlite::Error| CacheError::Database {
        instance: instance.name.clone(),
        path: path.clone(),
        detail: e.to_string(),
    };
    let conn = open(&path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(error)?;
    match conn.execute(&format!("DELETE FROM {TABLE}"), []) {
        Ok(n) => Ok(n as u64),
        Err(e) if no_table(&e) => Ok(0),
        Err(e) => Err(error(e)),
    }
}

fn open(path: &Path, access: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

fn no_table(e: &rusqlite::Error) -> bool {
    e.to_string().contains("no such table")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_is_read_from_a_plain_assignment_or_is_djangos_default() {
        let of = |text: &str| SessionEngine::of_settings(text);
        assert_eq!(
            of("X = 1\nSESSION_ENGINE = \"django.contrib.sessions.backends.cache\"  # fast\n"),
            Ok(SessionEngine::Cache)
        );
        assert_eq!(
            of("SESSION_ENGINE='django.contrib.sessions.backends.db'\nSESSION_ENGINE = 'django.contrib.sessions.backends.cached_db'\n"),
            Ok(SessionEngine::CachedDb)
        );
        assert_eq!(of("DEBUG = True\n"), Ok(SessionEngine::Db));
        assert_eq!(
            of("SESSION_ENGINE = \"django.contrib.sessions.backends.signed_cookies\"\n"),
            Ok(SessionEngine::Elsewhere {
                name: "django.contrib.sessions.backends.signed_cookies".into()
            })
        );
        assert!(of("SESSION_ENGINE = env('ENGINE')\n").is_err());
        assert!(of("if X:\n    SESSION_ENGINE = 'a'\n").is_err());
        assert!(of("from .base import *\n").is_err());
    }
}
