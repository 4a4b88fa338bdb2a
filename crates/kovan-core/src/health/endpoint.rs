//! One `GET /health/` of an instance, and what it reports compared with what Kovan derived.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::http;
use crate::workspace::{DatabaseEngine, Instance, Workspace};

/// What an instance's `/health/` says about itself (the generated `kovan_django` view), with the
/// endpoint's own snake_case field names.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct Reported {
    pub status: String,
    pub instance: String,
    pub pid: Option<i32>,
    pub django: Option<String>,
    pub database: ReportedDatabase,
    pub cache: ReportedCache,
    pub session_cookie: String,
    pub csrf_cookie: String,
    /// Why it answered 503: each failing part ("database", "cache", "migrations", "channels")
    /// with its message.
    pub failures: Vec<ReportedFailure>,
    /// The default channel layer; None when the project defines none.
    pub channels: Option<ReportedChannels>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct ReportedFailure {
    pub part: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct ReportedChannels {
    pub backend: String,
    /// channels_redis' key prefix; None for a layer without one (in memory).
    pub prefix: Option<String>,
    pub ok: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct ReportedDatabase {
    pub vendor: String,
    pub name: String,
    pub ok: bool,
    /// Migrations `migrate` would apply; None when the instance could not tell.
    pub unapplied_migrations: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct ReportedCache {
    pub backend: String,
    pub key_prefix: String,
    pub ok: bool,
}

/// Which derived name an instance reports differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum NameField {
    Instance,
    SessionCookie,
    CsrfCookie,
    CachePrefix,
    Database,
}

impl NameField {
    pub fn what(self) -> &'static str {
        match self {
            Self::Instance => "instance name",
            Self::SessionCookie => "session cookie",
            Self::CsrfCookie => "CSRF cookie",
            Self::CachePrefix => "cache key prefix",
            Self::Database => "database",
        }
    }
}

/// A name the instance reports that is not the one Kovan derived. The UI words it from the fields
/// ("chat_api, sessionid döndürüyor; beklenen sessionid_chat_api"); `message` is the English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Mismatch {
    pub instance: String,
    pub field: NameField,
    pub expected: String,
    pub actual: String,
    pub message: String,
}

/// Why a check failed, as data: the window words it in its language (core's English sentence is
/// `Check::error`, for the CLI and the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CheckFailure {
    /// No answer within the check's timeout.
    Timeout {
        #[ts(type = "number")]
        ms: u64,
    },
    /// The connection was refused: nothing listens on the port.
    NothingListens { port: u16 },
    /// Another failure of the connection.
    Unreachable,
    /// It answered with Kovan's health report, but not 200: the parts that fail, as the instance
    /// names them (`database`, `cache`, `migrations`, `channels`, …).
    Failing { status: u16, parts: Vec<String> },
    /// It answered without Kovan's report: not running the multi-server settings.
    NoReport { status: u16 },
}

/// The outcome of one check.
#[derive(Debug, Clone)]
pub struct Check {
    pub latency: Duration,
    pub status: Option<u16>,
    /// The parsed answer, when it was the Kovan health JSON.
    pub reported: Option<Reported>,
    /// Why the check failed; None when it answered 200 with the health JSON.
    pub error: Option<String>,
    /// The same, as data.
    pub failure: Option<CheckFailure>,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// `GET /health/` on 127.0.0.1:`port`, given `timeout` for the whole exchange.
pub async fn check(port: u16, timeout: Duration) -> Check {
    let started = Instant::now();
    let answer = tokio::time::timeout(timeout, http::request(port, "GET", "/health/", &[])).await;
    let latency = started.elapsed();
    let fail = |status, error: String, failure| Check {
        latency,
        status,
        reported: None,
        error: Some(error),
        failure: Some(failure),
    };
    match answer {
        Err(_) => fail(
            None,
            format!("no answer within {} ms", timeout.as_millis()),
            CheckFailure::Timeout {
                ms: timeout.as_millis() as u64,
            },
        ),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => fail(
            None,
            format!("nothing listens on port {port}"),
            CheckFailure::NothingListens { port },
        ),
        Ok(Err(e)) => fail(None, e.to_string(), CheckFailure::Unreachable),
        Ok(Ok(r)) => {
            let reported = serde_json::from_str::<Reported>(&r.body)
                .ok()
                .filter(|rep| !rep.instance.is_empty());
            match (r.status, reported) {
                (200, Some(rep)) => Check {
                    latency,
                    status: Some(200),
                    reported: Some(rep),
                    error: None,
                    failure: None,
                },
                (status, Some(rep)) => Check {
                    latency,
                    status: Some(status),
                    failure: Some(CheckFailure::Failing {
                        status,
                        parts: if rep.failures.is_empty() {
                            [("database", rep.database.ok), ("cache", rep.cache.ok)]
                                .into_iter()
                                .filter(|(_, ok)| !ok)
                                .map(|(part, _)| part.to_string())
                                .collect()
                        } else {
                            rep.failures.iter().map(|f| f.part.clone()).collect()
                        },
                    }),
                    // The instance's own words for what fails, where it gives them.
                    error: Some(if rep.failures.is_empty() {
                        format!(
                            "/health/ answered {status}: database ok {}, cache ok {}",
                            rep.database.ok, rep.cache.ok
                        )
                    } else {
                        let parts: Vec<String> = rep
                            .failures
                            .iter()
                            .map(|f| format!("{}: {}", f.part, f.message))
                            .collect();
                        format!("/health/ answered {status}: {}", parts.join("; "))
                    }),
                    reported: Some(rep),
                },
                (status, None) => fail(
                    Some(status),
                    format!("/health/ answered {status} without Kovan's health report: not running the multi-server settings?"),
                    CheckFailure::NoReport { status },
                ),
            }
        }
    }
}

/// The absolute path of an instance's SQLite file (None on PostgreSQL).
pub fn sqlite_path(ws: &Workspace, instance: &Instance) -> Option<std::path::PathBuf> {
    (ws.database == DatabaseEngine::Sqlite)
        .then(|| ws.project.django_root.join(&instance.names.database))
}

fn same_path(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    a == b || canon(a) == canon(b)
}

/// Every derived name the report contradicts.
pub fn mismatches(ws: &Workspace, instance: &Instance, reported: &Reported) -> Vec<Mismatch> {
    let names = &instance.names;
    let mut found = Vec::new();
    let mut compare = |field: NameField, expected: &str, actual: &str, equal: bool| {
        if !equal {
            found.push(Mismatch {
                instance: instance.name.clone(),
                field,
                expected: expected.to_string(),
                actual: actual.to_string(),
                message: format!(
                    "{} reports {} {actual:?}; expected {expected:?}",
                    instance.name,
                    field.what()
                ),
            });
        }
    };
    compare(
        NameField::Instance,
        &instance.name,
        &reported.instance,
        reported.instance == instance.name,
    );
    compare(
        NameField::SessionCookie,
        &names.session_cookie,
        &reported.session_cookie,
        reported.session_cookie == names.session_cookie,
    );
    compare(
        NameField::CsrfCookie,
        &names.csrf_cookie,
        &reported.csrf_cookie,
        reported.csrf_cookie == names.csrf_cookie,
    );
    compare(
        NameField::CachePrefix,
        &names.cache_prefix,
        &reported.cache.key_prefix,
        reported.cache.key_prefix == names.cache_prefix,
    );
    match sqlite_path(ws, instance) {
        Some(expected) => compare(
            NameField::Database,
            &expected.display().to_string(),
            &reported.database.name,
            same_path(&expected, Path::new(&reported.database.name)),
        ),
        None => compare(
            NameField::Database,
            &names.database,
            &reported.database.name,
            reported.database.name == names.database,
        ),
    }
    found
}
