//! Environment variables the project's settings read, given values from what Kovan derives for
//! each unit: `DATABASE_URL` to the unit's database, `REDIS_URL` and Celery's broker to the
//! workspace's Redis with a database number of the unit's own, the secret key to the unit's.
//! What Kovan cannot derive is a finding that names the line reading it.

use serde::Serialize;
use ts_rs::TS;

use super::probe::{EnvRead, SettingsScan};
use crate::workspace::{CacheBackend, DatabaseEngine, Instance, Workspace};

/// Variables Kovan writes itself into every env file: never a settings finding.
pub const KOVAN_VARIABLES: &[&str] = &[
    "DJANGO_SERVER_INSTANCE",
    "DJANGO_SERVER_PORT",
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "KOVAN_TOKEN",
    "DATABASE_NAME",
    "KOVAN_CACHE_SECRET_URL",
];

/// What a variable the settings read is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Derivation {
    /// The unit's database as a URL (django-environ's `env.db()` syntax).
    DatabaseUrl,
    /// The workspace's Redis, on the unit's own database number.
    UnitRedis,
    /// The instance's cache as a django-environ cache URL.
    CacheUrl,
    /// The unit's SECRET_KEY.
    SecretKey,
    /// The loopback names Kovan serves on: only when the settings have no default.
    AllowedHosts,
}

/// The one table of names Kovan knows how to fill.
const DERIVED: &[(&str, Derivation)] = &[
    ("DATABASE_URL", Derivation::DatabaseUrl),
    ("REDIS_URL", Derivation::UnitRedis),
    ("CELERY_BROKER_URL", Derivation::UnitRedis),
    ("CELERY_RESULT_BACKEND", Derivation::UnitRedis),
    ("BROKER_URL", Derivation::UnitRedis),
    ("CACHE_URL", Derivation::CacheUrl),
    ("DJANGO_SECRET_KEY", Derivation::SecretKey),
    ("ALLOWED_HOSTS", Derivation::AllowedHosts),
    ("DJANGO_ALLOWED_HOSTS", Derivation::AllowedHosts),
];

/// A variable the settings read that Kovan did not fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsFinding {
    pub instance: String,
    pub variable: String,
    /// The first place the settings read it.
    pub file: String,
    pub line: u32,
    pub how: String,
    pub message: String,
}

/// The values for one instance's env file, and what could not be given one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsEnv {
    pub values: Vec<(String, String)>,
    pub findings: Vec<SettingsFinding>,
}

/// The Redis database number of a unit's own data (Celery's broker and results, the project's
/// REDIS_URL): the cache's database + 1 + the unit's place in kovan.toml. None past the 16
/// databases a default redis-server has.
pub fn unit_redis_db(ws: &Workspace, instance: &Instance) -> Option<u32> {
    let redis = ws.redis.as_ref()?;
    let cache_db: u32 = redis
        .url()
        .path()
        .trim_start_matches('/')
        .parse()
        .unwrap_or(0);
    let index = ws.instances.iter().position(|i| i.name == instance.name)? as u32;
    let db = cache_db + 1 + index;
    (db < 16).then_some(db)
}

/// The unit's database as django-environ reads it: `sqlite:////abs/db_chat_main.sqlite3`,
/// `postgres:///context7_chat_main` (the server and credentials stay the project's own: Kovan's
/// settings take them from the project's DATABASES).
pub fn database_url(ws: &Workspace, instance: &Instance) -> String {
    match ws.database {
        DatabaseEngine::Sqlite => format!(
            "sqlite:///{}",
            ws.project
                .django_root
                .join(&instance.names.database)
                .display()
        ),
        DatabaseEngine::Postgresql => format!("postgres:///{}", instance.names.database),
    }
}

fn cache_url(ws: &Workspace, instance: &Instance) -> Option<String> {
    let location = instance.names.cache_location.as_deref().unwrap_or("");
    Some(match instance.cache {
        CacheBackend::Redis => ws.redis.as_ref()?.url().to_string(),
        CacheBackend::Locmem => format!("locmemcache://{location}"),
        CacheBackend::File => format!(
            "filecache://{}",
            ws.project.django_root.join(location).display()
        ),
        CacheBackend::Db => format!("dbcache://{location}"),
        CacheBackend::Dummy => "dummycache://".into(),
    })
}

fn redis_on(ws: &Workspace, db: u32) -> Option<String> {
    let mut url = ws.redis.as_ref()?.url().clone();
    url.set_path(&format!("/{db}"));
    Some(url.to_string())
}

/// Values for the variables `scan` reads, for `instance`, whose SECRET_KEY is `secret_key`.
/// `kept` are the values already in its env file: a variable Kovan cannot derive keeps the value
/// the user gave it there.
pub fn derive(
    ws: &Workspace,
    instance: &Instance,
    scan: &SettingsScan,
    secret_key: &str,
    kept: &dyn Fn(&str) -> Option<String>,
) -> SettingsEnv {
    let mut out = SettingsEnv::default();
    let mut first_reads: Vec<&EnvRead> = Vec::new();
    for read in &scan.reads {
        match first_reads.iter_mut().find(|r| r.name == read.name) {
            // A read without default anywhere makes the variable required.
            Some(r) if read.required && !r.required => *r = read,
            Some(_) => {}
            None => first_reads.push(read),
        }
    }
    for read in first_reads {
        let name = read.name.as_str();
        if KOVAN_VARIABLES.contains(&name) {
            continue;
        }
        let finding = |message: String| SettingsFinding {
            instance: instance.name.clone(),
            variable: name.to_string(),
            file: read.file.clone(),
            line: read.line,
            how: read.how.clone(),
            message,
        };
        let derivation = DERIVED.iter().find(|(n, _)| *n == name).map(|(_, d)| *d);
        let value = match derivation {
            Some(Derivation::DatabaseUrl) => Some(database_url(ws, instance)),
            Some(Derivation::SecretKey) => Some(secret_key.to_string()),
            Some(Derivation::CacheUrl) => cache_url(ws, instance),
            Some(Derivation::AllowedHosts) if read.required => {
                Some("localhost,127.0.0.1".to_string())
            }
            Some(Derivation::AllowedHosts) => None,
            Some(Derivation::UnitRedis) => match (&ws.redis, unit_redis_db(ws, instance)) {
                (None, _) => {
                    out.findings.push(finding(format!(
                        "{}:{} reads {name} ({}), a Redis URL, and kovan.toml has no [redis]: add [redis] with url = \"redis://127.0.0.1:6379/0\" so Kovan can give each instance its own Redis database.",
                        read.file, read.line, read.how
                    )));
                    None
                }
                (Some(_), None) => {
                    out.findings.push(finding(format!(
                        "{}:{} reads {name}; {} would need Redis database {} or higher, past the 16 a redis-server has by default: lower the database number in [redis] url.",
                        read.file, read.line, instance.name, 16
                    )));
                    None
                }
                (Some(_), Some(db)) => redis_on(ws, db),
            },
            None => None,
        };
        match value {
            Some(v) => out.values.push((name.to_string(), v)),
            None if derivation.is_none()
                || matches!(derivation, Some(Derivation::AllowedHosts)) =>
            {
                if let Some(given) = kept(name) {
                    out.values.push((name.to_string(), given));
                } else if read.required {
                    out.findings.push(finding(format!(
                        "{}:{} reads {name} ({}) with no default, and Kovan cannot derive it: add `{name}='…'` to {} (Kovan keeps it when it regenerates the file).",
                        read.file, read.line, read.how, instance.names.env_file
                    )));
                }
            }
            None => {}
        }
    }
    out
}
