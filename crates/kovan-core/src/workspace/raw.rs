//! kovan.toml as written: the serde structs it is read into, each value with its span so the
//! validator can name the line of what is wrong.
//!
//! Unknown keys are ignored and required keys fall back to an empty value here: `shape` reports
//! both over the whole file, so that every problem is said in one run, values included.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) project: RawProject,
    pub(super) redis: Option<RawRedis>,
    pub(super) database: Option<RawDatabase>,
    #[serde(default, rename = "instance")]
    pub(super) instances: Vec<RawInstance>,
    #[serde(default, rename = "preset")]
    pub(super) presets: IndexMap<String, Spanned<RawPreset>>,
    #[serde(default, rename = "site")]
    pub(super) sites: IndexMap<String, Spanned<RawSite>>,
    #[serde(default, rename = "process")]
    pub(super) processes: Vec<RawProcess>,
    pub(super) supervisor: Option<RawSupervisor>,
    pub(super) undo: Option<RawUndo>,
    /// `[caches.NAME]`: cache aliases every instance has beside `default` (an instance's own
    /// `[instance.caches.NAME]` of the same name wins).
    #[serde(default)]
    pub(super) caches: IndexMap<String, Spanned<RawCacheAlias>>,
}

#[derive(Deserialize)]
pub(super) struct RawUndo {
    pub(super) limit_mib: Option<Spanned<i64>>,
    pub(super) keep_hours: Option<Spanned<i64>>,
    pub(super) keep_last: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
pub(super) struct RawSupervisor {
    pub(super) stop_grace: Option<Spanned<i64>>,
    pub(super) start_timeout: Option<Spanned<i64>>,
    pub(super) log_lines: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
pub(super) struct RawProject {
    #[serde(default = "missing")]
    pub(super) name: Spanned<String>,
    pub(super) django_root: Option<Spanned<String>>,
    #[serde(default = "missing")]
    pub(super) settings: Spanned<String>,
    pub(super) python: Option<Spanned<String>>,
    /// "ask" | "auto" | "never": every instance's default.
    pub(super) migrate: Option<Spanned<String>>,
}

#[derive(Deserialize)]
pub(super) struct RawRedis {
    #[serde(default = "missing")]
    pub(super) url: Spanned<String>,
    #[serde(default)]
    pub(super) managed: bool,
    /// rediss://: the CA (PEM) the server's certificate is checked against, instead of the system's.
    pub(super) ca_file: Option<Spanned<String>>,
    /// rediss://: a client certificate and its key (PEM), for a server that asks for one.
    pub(super) cert_file: Option<Spanned<String>>,
    pub(super) key_file: Option<Spanned<String>>,
    /// rediss://: "full" (chain and host name), "ca" (chain only) or "none".
    pub(super) verify: Option<Spanned<String>>,
}

#[derive(Deserialize)]
pub(super) struct RawDatabase {
    #[serde(default = "missing")]
    pub(super) engine: Spanned<String>,
    /// PostgreSQL: Kovan runs its own server (a cluster under its data dir).
    pub(super) managed: Option<Spanned<bool>>,
    /// PostgreSQL: the port of the managed server.
    pub(super) port: Option<Spanned<i64>>,
    /// PostgreSQL: a server the user runs, with credentials that may create databases and roles.
    pub(super) url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
pub(super) struct RawInstance {
    #[serde(default = "missing")]
    pub(super) name: Spanned<String>,
    #[serde(default = "missing")]
    pub(super) port: Spanned<i64>,
    pub(super) command: Option<Spanned<String>>,
    pub(super) restart: Option<Spanned<String>>,
    pub(super) max_restarts: Option<Spanned<i64>>,
    /// "ask" | "auto" | "never", over `[project] migrate`.
    pub(super) migrate: Option<Spanned<String>>,
    pub(super) role: Option<Spanned<String>>,
    pub(super) cache: Option<Spanned<String>>,
    pub(super) cache_timeout: Option<Spanned<i64>>,
    pub(super) weight: Option<Spanned<i64>>,
    pub(super) database: Option<Spanned<String>>,
    pub(super) cache_prefix: Option<Spanned<String>>,
    pub(super) cache_location: Option<Spanned<String>>,
    pub(super) session_cookie: Option<Spanned<String>>,
    pub(super) csrf_cookie: Option<Spanned<String>>,
    pub(super) static_root: Option<Spanned<String>>,
    pub(super) media_root: Option<Spanned<String>>,
    pub(super) env_file: Option<Spanned<String>>,
    pub(super) log_file: Option<Spanned<String>>,
    /// `[instance.caches.NAME]`: more Django cache aliases beside `default` (which is `cache`).
    #[serde(default)]
    pub(super) caches: IndexMap<String, Spanned<RawCacheAlias>>,
}

/// `[instance.caches.NAME]`: one more cache alias of the instance.
#[derive(Deserialize)]
pub(super) struct RawCacheAlias {
    #[serde(default = "missing")]
    pub(super) backend: Spanned<String>,
    pub(super) timeout: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
pub(super) struct RawPreset {
    #[serde(default)]
    pub(super) instances: Vec<Spanned<String>>,
}

impl Default for RawProject {
    /// No `[project]` table at all (`shape` has said so).
    fn default() -> Self {
        Self {
            name: missing(),
            django_root: None,
            settings: missing(),
            python: None,
            migrate: None,
        }
    }
}

/// A required key that is not there (`shape` has said so): an empty value at the file's start.
fn missing<T: Default>() -> Spanned<T> {
    Spanned::new(0..0, T::default())
}

/// `[site.NAME]`: role servers that together are one website.
#[derive(Deserialize)]
pub(super) struct RawSite {
    #[serde(default)]
    pub(super) instances: Vec<Spanned<String>>,
    #[serde(default = "missing")]
    pub(super) front_door: Spanned<i64>,
    /// Path prefix -> role, over the default routing (`/ws/` websocket, `/api/` api, `/` main).
    #[serde(default)]
    pub(super) routes: IndexMap<String, Spanned<String>>,
}

/// `[[process]]`: a companion command run with an instance's or a site's environment.
#[derive(Deserialize)]
pub(super) struct RawProcess {
    #[serde(default = "missing")]
    pub(super) name: Spanned<String>,
    #[serde(default = "missing")]
    pub(super) command: Spanned<String>,
    pub(super) instance: Option<Spanned<String>>,
    pub(super) site: Option<Spanned<String>>,
    pub(super) restart: Option<Spanned<String>>,
    pub(super) max_restarts: Option<Spanned<i64>>,
    pub(super) autostart: Option<Spanned<bool>>,
}
