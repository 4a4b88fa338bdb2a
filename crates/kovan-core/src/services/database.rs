//! A unit's database as one thing to clone, reset and restore: `kovan db clone TARGET --from
//! SOURCE`, `kovan db reset NAME` (snapshot, drop, create, migrate) and `kovan db restore NAME`
//! (back to the snapshot). PostgreSQL: `CREATE DATABASE … TEMPLATE`, refused while anybody is
//! connected to the databases involved, naming who; SQLite: the online backup API. Only on the
//! databases Kovan made: PostgreSQL databases carrying its mark, SQLite files at the names Kovan
//! derived.

use std::path::PathBuf;

use serde::Serialize;
use ts_rs::TS;

use super::postgres::{self, Holder, CREATED_MARK};
use crate::workspace::{DatabaseEngine, Instance, PostgresConfig, Workspace};

#[derive(Debug, Clone, thiserror::Error, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DatabaseError {
    #[error("`{name}` is neither an instance nor a site of this workspace.")]
    UnknownUnit { name: String },
    #[error("{database} is not a database Kovan created ({why}): Kovan does not clone over, reset or restore it.")]
    NotKovans { database: String, why: String },
    #[error("{database} is in use: {}. Stop them (kovan stop …) or close those sessions, then try again.", holders_text(holders))]
    InUse {
        database: String,
        holders: Vec<Holder>,
    },
    #[error("{database} has no snapshot to restore: a reset or a clone over it takes one.")]
    NoSnapshot { database: String },
    #[error("{what}: {why}")]
    Failed { what: String, why: String },
}

fn holders_text(holders: &[Holder]) -> String {
    holders
        .iter()
        .map(|h| {
            if h.application_name.is_empty() {
                format!("PID {}", h.pid)
            } else {
                format!("{} (PID {})", h.application_name, h.pid)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl crate::error::Classified for DatabaseError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Self::UnknownUnit { .. } => ErrorKind::UnknownUnit,
            Self::NotKovans { .. } => ErrorKind::NotKovansDatabase,
            Self::InUse { .. } => ErrorKind::DatabaseInUse,
            Self::NoSnapshot { .. } => ErrorKind::NoSnapshot,
            Self::Failed { .. } => ErrorKind::DatabaseFailed,
        }
    }

    fn detail(&self) -> Option<crate::error::ErrorDetail> {
        use crate::error::ErrorDetail;
        match self {
            Self::UnknownUnit { .. } | Self::Failed { .. } => None,
            Self::NotKovans { database, .. } | Self::NoSnapshot { database } => {
                Some(ErrorDetail::Database {
                    database: database.clone(),
                    holders: Vec::new(),
                })
            }
            Self::InUse { database, holders } => Some(ErrorDetail::Database {
                database: database.clone(),
                holders: holders.clone(),
            }),
        }
    }
}

fn failed(what: impl Into<String>) -> impl FnOnce(String) -> DatabaseError {
    let what = what.into();
    move |why| DatabaseError::Failed { what, why }
}

/// One unit's database: where it is and which instance stands for the unit (to migrate through).
#[derive(Debug, Clone)]
pub struct UnitDb<'a> {
    pub through: &'a Instance,
    pub place: Place,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    Postgres { database: String, role: String },
    Sqlite { path: PathBuf },
}

impl UnitDb<'_> {
    /// The database in words, for the confirmation: `context7_a (PostgreSQL on 127.0.0.1:54320)`.
    pub fn describe(&self, ws: &Workspace) -> String {
        match &self.place {
            Place::Postgres { database, .. } => format!(
                "{database} (PostgreSQL on {}:{})",
                ws.postgres.as_ref().map_or("?", |p| p.host.as_str()),
                ws.postgres.as_ref().map_or(0, |p| p.port)
            ),
            Place::Sqlite { path } => format!("{} (SQLite)", path.display()),
        }
    }

    /// The database's own name: what the user types to confirm a reset.
    pub fn name(&self) -> String {
        match &self.place {
            Place::Postgres { database, .. } => database.clone(),
            Place::Sqlite { path } => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

/// The database of the unit `name` names: an instance (its unit's) or a site.
pub fn unit<'a>(ws: &'a Workspace, name: &str) -> Result<UnitDb<'a>, DatabaseError> {
    let through = ws
        .instance(name)
        .or_else(|| {
            ws.site(name)
                .and_then(|s| s.instances.first())
                .and_then(|m| ws.instance(m))
        })
        .ok_or_else(|| DatabaseError::UnknownUnit { name: name.into() })?;
    let place = match ws.database {
        DatabaseEngine::Postgresql => {
            if ws.postgres.is_none() {
                return Err(DatabaseError::NotKovans {
                    database: through.names.database.clone(),
                    why: "[database] has neither managed = true nor a url, so the project's own server holds it".into(),
                });
            }
            Place::Postgres {
                database: through.names.database.clone(),
                role: through.names.database.clone(),
            }
        }
        DatabaseEngine::Sqlite => {
            let derived = format!("db_{}.sqlite3", through.names.unit);
            if through.names.database != derived {
                return Err(DatabaseError::NotKovans {
                    database: through.names.database.clone(),
                    why: format!("kovan.toml names it itself; Kovan's name would be {derived}"),
                });
            }
            Place::Sqlite {
                path: ws.project.django_root.join(&through.names.database),
            }
        }
    };
    Ok(UnitDb { through, place })
}

/// The name of a PostgreSQL database's snapshot: at most 63 bytes, as PostgreSQL keeps.
pub fn snapshot_name(database: &str) -> String {
    let keep = database.len().min(63 - "_snapshot".len());
    format!("{}_snapshot", &database[..keep])
}

fn sqlite_snapshot(path: &std::path::Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".kovan-snapshot");
    PathBuf::from(s)
}

/// What a clone, reset or restore did.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseReport {
    pub database: String,
    /// The snapshot taken first (restore takes none).
    pub snapshot: Option<String>,
    #[ts(type = "number")]
    pub millis: u64,
}

async fn pg_admin(
    ws: &Workspace,
) -> Result<(&PostgresConfig, tokio_postgres::Client), DatabaseError> {
    let pg = ws.postgres.as_ref().expect("checked by unit()");
    let client = postgres::connect_admin(pg, "postgres")
        .await
        .map_err(failed("logging in as Kovan's admin"))?;
    Ok((pg, client))
}

async fn require_kovans(
    client: &tokio_postgres::Client,
    database: &str,
) -> Result<bool, DatabaseError> {
    match postgres::kovan_created(client, database)
        .await
        .map_err(failed(database))?
    {
        Some(true) => Ok(true),
        Some(false) => Err(DatabaseError::NotKovans {
            database: database.into(),
            why: format!("its comment is not \"{CREATED_MARK}\""),
        }),
        None => Ok(false),
    }
}

async fn require_idle(
    client: &tokio_postgres::Client,
    database: &str,
) -> Result<(), DatabaseError> {
    let holders = postgres::holders(client, database)
        .await
        .map_err(failed(database))?;
    if holders.is_empty() {
        Ok(())
    } else {
        Err(DatabaseError::InUse {
            database: database.into(),
            holders,
        })
    }
}

async fn drop_database(
    client: &tokio_postgres::Client,
    database: &str,
) -> Result<(), DatabaseError> {
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {}",
            postgres::ident(database)
        ))
        .await
        .map_err(|e| DatabaseError::Failed {
            what: format!("DROP DATABASE {database}"),
            why: postgres::db_message(&e),
        })
}

/// Copy `database` into its snapshot (replacing an earlier one). PostgreSQL: a database owned
/// by Kovan's admin that the unit's role cannot reach.
async fn pg_snapshot(
    pg: &PostgresConfig,
    client: &tokio_postgres::Client,
    database: &str,
) -> Result<String, DatabaseError> {
    let snap = snapshot_name(database);
    match postgres::kovan_created(client, &snap)
        .await
        .map_err(failed(&snap))?
    {
        // A snapshot a stopped Kovan made but did not mark yet: on its own cluster, nobody
        // else makes databases of that name.
        Some(true) => drop_database(client, &snap).await?,
        Some(false) if pg.managed => drop_database(client, &snap).await?,
        Some(false) => require_kovans(client, &snap).await.map(|_| ())?,
        None => {}
    }
    let (admin, _) = postgres::admin(pg).map_err(failed(pg.redacted()))?;
    postgres::create_database(client, &snap, &admin, Some(database))
        .await
        .map_err(failed(format!("the snapshot of {database}")))?;
    Ok(snap)
}

/// Who has a SQLite file open (a running instance, a `manage.py shell`, a sqlite3 prompt), named
/// by the instance marker it runs under, else by its command name.
fn sqlite_holders(path: &std::path::Path) -> Vec<Holder> {
    sqlite_holders_each(&[path]).pop().unwrap_or_default()
}

/// [`sqlite_holders`] of several files, in one pass over the processes.
fn sqlite_holders_each(paths: &[&std::path::Path]) -> Vec<Vec<Holder>> {
    crate::platform::holders_of_each(paths)
        .into_iter()
        .map(|pids| {
            pids.into_iter()
                .map(|pid| Holder {
                    pid,
                    application_name: crate::platform::environ_var(pid, "KOVAN_INSTANCE")
                        .or_else(|| {
                            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                                .ok()
                                .map(|c| c.trim().to_string())
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .collect()
}

/// A SQLite file replaced under a process that has it open keeps that process on the old data
/// (its descriptor points at the deleted file): refused, naming who, as PostgreSQL refuses.
fn require_sqlite_idle(path: &std::path::Path) -> Result<(), DatabaseError> {
    let holders = sqlite_holders(path);
    if holders.is_empty() {
        Ok(())
    } else {
        Err(DatabaseError::InUse {
            database: path.display().to_string(),
            holders,
        })
    }
}

fn sqlite_copy(from: &std::path::Path, to: &std::path::Path) -> Result<(), String> {
    let src =
        rusqlite::Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("{}: {e}", from.display()))?;
    let mut dst = rusqlite::Connection::open(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let backup = rusqlite::backup::Backup::new(&src, &mut dst).map_err(|e| e.to_string())?;
    backup
        .run_to_completion(256, std::time::Duration::from_millis(5), None)
        .map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))
}

/// Replace `target`'s database with a copy of `source`'s, taking a snapshot of the target first.
pub async fn clone(
    ws: &Workspace,
    target: &str,
    source: &str,
) -> Result<DatabaseReport, DatabaseError> {
    let started = std::time::Instant::now();
    let (t, s) = (unit(ws, target)?, unit(ws, source)?);
    if t.place == s.place {
        return Err(DatabaseError::Failed {
            what: format!("db clone {target} --from {source}"),
            why: "both name the same database".into(),
        });
    }
    match (&t.place, &s.place) {
        (
            Place::Postgres { database, role },
            Place::Postgres {
                database: from,
                role: from_role,
            },
        ) => {
            let (pg, client) = pg_admin(ws).await?;
            if !require_kovans(&client, from).await? {
                return Err(DatabaseError::Failed {
                    what: from.clone(),
                    why: "it does not exist yet: start its instance once".into(),
                });
            }
            require_idle(&client, from).await?;
            let exists = require_kovans(&client, database).await?;
            let snapshot = if exists {
                require_idle(&client, database).await?;
                let snap = pg_snapshot(pg, &client, database).await?;
                drop_database(&client, database).await?;
                Some(snap)
            } else {
                None
            };
            postgres::create_database(&client, database, role, Some(from))
                .await
                .map_err(failed(format!("the clone of {from}")))?;
            // The copy's tables belong to the source's role: hand them to the target's.
            reassign(pg, database, from_role, role).await?;
            Ok(DatabaseReport {
                database: database.clone(),
                snapshot,
                millis: started.elapsed().as_millis() as u64,
            })
        }
        (Place::Sqlite { path }, Place::Sqlite { path: from }) => {
            if !from.is_file() {
                return Err(DatabaseError::Failed {
                    what: from.display().to_string(),
                    why: "it does not exist yet: start its instance once".into(),
                });
            }
            require_sqlite_idle(path)?;
            let snapshot = if path.is_file() {
                let snap = sqlite_snapshot(path);
                let _ = std::fs::remove_file(&snap);
                sqlite_copy(path, &snap).map_err(failed("the snapshot"))?;
                Some(snap.display().to_string())
            } else {
                None
            };
            tokio::task::block_in_place(|| sqlite_copy(from, path)).map_err(failed("the clone"))?;
            Ok(DatabaseReport {
                database: path.display().to_string(),
                snapshot,
                millis: started.elapsed().as_millis() as u64,
            })
        }
        _ => unreachable!("one workspace has one engine"),
    }
}

/// In the clone `database`, make `role` own what the source's role owned there: tables (with the
/// sequences of their columns), views, sequences of their own and schemas. (REASSIGN OWNED would
/// also hand over the source database itself, a shared object.)
async fn reassign(
    pg: &PostgresConfig,
    database: &str,
    from_role: &str,
    role: &str,
) -> Result<(), DatabaseError> {
    let client = postgres::connect_admin(pg, database)
        .await
        .map_err(failed(database))?;
    let body = format!(
        r#"DO $kovan$ DECLARE r record; BEGIN
FOR r IN SELECT c.relkind, n.nspname, c.relname FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relowner = {from}::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
LOOP
    EXECUTE format('ALTER %s %I.%I OWNER TO %I',
        CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
            WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
        r.nspname, r.relname, {to});
END LOOP;
FOR r IN SELECT n.nspname, c.relname FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relowner = {from}::regrole AND c.relkind = 'S'
LOOP
    EXECUTE format('ALTER SEQUENCE %I.%I OWNER TO %I', r.nspname, r.relname, {to});
END LOOP;
FOR r IN SELECT nspname FROM pg_namespace WHERE nspowner = {from}::regrole
LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.nspname, {to});
END LOOP;
END $kovan$"#,
        from = postgres::literal(from_role),
        to = postgres::literal(role),
    );
    client
        .batch_execute(&body)
        .await
        .map_err(|e| DatabaseError::Failed {
            what: format!("handing {database}'s tables to {role}"),
            why: postgres::db_message(&e),
        })
}

/// Snapshot, drop and create the unit's database empty; then the caller migrates it
/// ([`reset`] does all of it).
pub async fn empty(ws: &Workspace, name: &str) -> Result<DatabaseReport, DatabaseError> {
    let started = std::time::Instant::now();
    let u = unit(ws, name)?;
    match &u.place {
        Place::Postgres { database, role } => {
            let (pg, client) = pg_admin(ws).await?;
            if !require_kovans(&client, database).await? {
                return Err(DatabaseError::Failed {
                    what: database.clone(),
                    why: "it does not exist yet: start its instance once".into(),
                });
            }
            require_idle(&client, database).await?;
            let snap = pg_snapshot(pg, &client, database).await?;
            drop_database(&client, database).await?;
            postgres::create_database(&client, database, role, None)
                .await
                .map_err(failed(database.clone()))?;
            Ok(DatabaseReport {
                database: database.clone(),
                snapshot: Some(snap),
                millis: started.elapsed().as_millis() as u64,
            })
        }
        Place::Sqlite { path } => {
            require_sqlite_idle(path)?;
            let snapshot = if path.is_file() {
                let snap = sqlite_snapshot(path);
                let _ = std::fs::remove_file(&snap);
                sqlite_copy(path, &snap).map_err(failed("the snapshot"))?;
                Some(snap.display().to_string())
            } else {
                None
            };
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                match std::fs::remove_file(PathBuf::from(&p)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(DatabaseError::Failed {
                            what: PathBuf::from(p).display().to_string(),
                            why: e.to_string(),
                        })
                    }
                }
            }
            Ok(DatabaseReport {
                database: path.display().to_string(),
                snapshot,
                millis: started.elapsed().as_millis() as u64,
            })
        }
    }
}

/// `kovan db reset`: snapshot, drop, create, migrate (through the unit's first member), each
/// line of `migrate` passed to `on_line`.
pub async fn reset(
    ws: &Workspace,
    name: &str,
    on_line: impl FnMut(&str),
) -> Result<DatabaseReport, DatabaseError> {
    let started = std::time::Instant::now();
    let mut report = empty(ws, name).await?;
    let through = unit(ws, name)?.through;
    tokio::task::block_in_place(|| crate::django::migrations::migrate_unit(ws, through, on_line))
        .map_err(|e| DatabaseError::Failed {
        what: format!("migrate {}", report.database),
        why: e.to_string(),
    })?;
    report.millis = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// `kovan db restore`: the unit's database as its snapshot holds it (the snapshot is kept).
pub async fn restore(ws: &Workspace, name: &str) -> Result<DatabaseReport, DatabaseError> {
    let started = std::time::Instant::now();
    let u = unit(ws, name)?;
    match &u.place {
        Place::Postgres { database, role } => {
            let (_, client) = pg_admin(ws).await?;
            let snap = snapshot_name(database);
            if !require_kovans(&client, &snap).await? {
                return Err(DatabaseError::NoSnapshot {
                    database: database.clone(),
                });
            }
            if require_kovans(&client, database).await? {
                require_idle(&client, database).await?;
                drop_database(&client, database).await?;
            }
            postgres::create_database(&client, database, role, Some(&snap))
                .await
                .map_err(failed(format!("{database} from {snap}")))?;
            Ok(DatabaseReport {
                database: database.clone(),
                snapshot: None,
                millis: started.elapsed().as_millis() as u64,
            })
        }
        Place::Sqlite { path } => {
            let snap = sqlite_snapshot(path);
            if !snap.is_file() {
                return Err(DatabaseError::NoSnapshot {
                    database: path.display().to_string(),
                });
            }
            require_sqlite_idle(path)?;
            tokio::task::block_in_place(|| sqlite_copy(&snap, path))
                .map_err(failed("the restore"))?;
            Ok(DatabaseReport {
                database: path.display().to_string(),
                snapshot: None,
                millis: started.elapsed().as_millis() as u64,
            })
        }
    }
}

/// One instance's database as the card shows it: which unit's it is, its size, who is connected,
/// whether a snapshot can undo the last reset or clone, and why Kovan keeps its hands off it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    pub instance: String,
    /// The isolation unit (the instance, or its site) whose database this is.
    pub unit: String,
    /// The database's own name (PostgreSQL) or file name (SQLite): what a reset is confirmed with.
    pub name: String,
    pub engine: DatabaseEngine,
    /// Where it is, in words: `db_main.sqlite3 (SQLite)`, `context7_main (PostgreSQL on …)`.
    pub shown: String,
    /// None: it does not exist yet (the instance never ran) or could not be measured.
    #[ts(type = "number | null")]
    pub size_bytes: Option<i64>,
    /// Sessions on it: PostgreSQL's pg_stat_activity, or the processes that have the SQLite
    /// file open.
    pub connections: Vec<Holder>,
    /// `kovan db restore` has something to put back.
    pub snapshot: bool,
    /// Set when this is not a database Kovan created: why clone, reset and restore are refused.
    pub not_kovans: Option<String>,
}

/// The database of every instance of the workspace (site members share their site's), for the
/// cards. One PostgreSQL session for all of them; a server that does not answer is an error.
pub async fn status(ws: &Workspace) -> Result<Vec<DatabaseStatus>, DatabaseError> {
    let mut pg_names = Vec::new();
    let mut sqlite_files: Vec<(usize, PathBuf)> = Vec::new();
    let mut out = Vec::new();
    for instance in &ws.instances {
        let base = DatabaseStatus {
            instance: instance.name.clone(),
            unit: instance.names.unit.clone(),
            name: instance.names.database.clone(),
            engine: ws.database,
            shown: instance.names.database.clone(),
            size_bytes: None,
            connections: Vec::new(),
            snapshot: false,
            not_kovans: None,
        };
        let row = match unit(ws, &instance.name) {
            Err(DatabaseError::NotKovans { why, .. }) => DatabaseStatus {
                not_kovans: Some(why),
                // The project's own SQLite file is still measured; its server's databases are not.
                size_bytes: match ws.database {
                    DatabaseEngine::Sqlite => {
                        std::fs::metadata(ws.project.django_root.join(&instance.names.database))
                            .ok()
                            .map(|m| m.len() as i64)
                    }
                    DatabaseEngine::Postgresql => None,
                },
                ..base
            },
            Err(e) => return Err(e),
            Ok(u) => {
                let shown = u.describe(ws);
                let name = u.name();
                match &u.place {
                    Place::Sqlite { path } => {
                        // Who has it open is looked up for every file at once, below.
                        sqlite_files.push((out.len(), path.clone()));
                        DatabaseStatus {
                            shown,
                            name,
                            size_bytes: std::fs::metadata(path).ok().map(|m| m.len() as i64),
                            snapshot: sqlite_snapshot(path).is_file(),
                            ..base
                        }
                    }
                    Place::Postgres { database, .. } => {
                        pg_names.push(database.clone());
                        pg_names.push(snapshot_name(database));
                        DatabaseStatus {
                            shown,
                            name,
                            ..base
                        }
                    }
                }
            }
        };
        out.push(row);
    }
    let paths: Vec<&std::path::Path> = sqlite_files.iter().map(|(_, p)| p.as_path()).collect();
    for ((row, _), holders) in sqlite_files.iter().zip(sqlite_holders_each(&paths)) {
        out[*row].connections = holders;
    }
    if !pg_names.is_empty() {
        pg_names.sort();
        pg_names.dedup();
        let pg = ws.postgres.as_ref().expect("checked by unit()");
        let stats = postgres::stats(pg, &pg_names)
            .await
            .map_err(failed(pg.redacted()))?;
        for row in out.iter_mut().filter(|r| r.not_kovans.is_none()) {
            let snap = snapshot_name(&row.name);
            if let Some(s) = stats.iter().find(|s| s.name == row.name) {
                row.size_bytes = Some(s.size_bytes);
                row.connections = s.connections.clone();
            }
            row.snapshot = stats.iter().any(|s| s.name == snap);
        }
    }
    Ok(out)
}
