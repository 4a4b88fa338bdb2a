//! The isolation doctor: what keeps the instances from being apart, found from kovan.toml, the
//! files Kovan generated, what the running instances report and what the kernel says they hold.
//!
//! What is reachable: a valid kovan.toml cannot give two instances the same port, database file,
//! cookie or key prefix ([`crate::workspace`] refuses such collisions), so those findings come
//! from what the running instances REPORT on `/health/` (a settings module that overrides the
//! generated names, a hand-edited multi_server_settings.py) and from the processes themselves (two
//! groups holding one SQLite file open, one instance listening on another's port).

mod checks;
mod fix;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use fix::{apply_fix, DoctorError};

use crate::generate::{self, env_file, FileStatus};
use crate::health::{self, endpoint, InstanceHealth, Mismatch, NameField};
use crate::platform;
use crate::running::{self, RunningInstance};
use crate::store::Store;
use crate::workspace::{CacheBackend, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// A fix Kovan can make with one click. `Restart` is the caller's: it maps to the supervisor's
/// restart; [`apply_fix`] does the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FixAction {
    /// chmod 0600 an instance's env file.
    RestrictEnvFile { instance: String, path: String },
    /// Write these generated files again (relative to the Django root).
    Regenerate { paths: Vec<String> },
    /// Give the instance a new SECRET_KEY in its env file (its users are logged out).
    NewSecretKey { instance: String },
    /// Restart the instance so it reads its changed env or settings.
    Restart { instance: String },
}

/// The kind of a finding: the CLI prints it, `--json` writes it and the window words it by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Runs without the multi-server settings Kovan generated.
    NotMultiServer,
    /// Reports a name (cookie, cache prefix, database) other than the one Kovan derived.
    NameMismatch,
    /// Two instances of different units use one session or CSRF cookie name.
    SharedCookie,
    /// Two instances use one cache prefix.
    SharedCachePrefix,
    /// Two units use one database.
    SharedDatabase,
    /// A site's members use an in-memory channel layer, which they cannot share.
    SiteInMemoryChannelLayer,
    /// A member reports a channel-layer prefix other than its site's.
    ChannelPrefixMismatch,
    /// Two sites use one channel-layer prefix.
    SharedChannelPrefix,
    /// An instance's port is served by another instance.
    PortHeldByInstance,
    /// An instance's port is held by a process that is not Kovan's.
    PortTaken,
    /// One SQLite file is open in several instances.
    SharedSqliteFile,
    /// An instance listens on every network interface.
    ListensOnAllInterfaces,
    /// Generated files are missing or differ from what Kovan would write.
    GeneratedStale,
    /// A running instance started before its env or settings changed.
    RestartNeeded,
    /// Several units use one Redis database without their own prefixes.
    RedisSharedDatabase,
    /// Django's built-in RedisCache was given a django-redis option.
    RedisCacheWithDjangoRedisOptions,
    /// An env file with secrets is readable by other users.
    EnvFileReadable,
    /// Two instances share a SECRET_KEY.
    SharedSecretKey,
    /// Kovan's own history database cannot be opened or written.
    StoreUnavailable,
    /// Kovan's own history database was damaged and moved aside.
    StoreRecovered,
}

impl FindingKind {
    /// Its stable spelling, e.g. "shared-sqlite-file".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotMultiServer => "not-multi-server",
            Self::NameMismatch => "name-mismatch",
            Self::SharedCookie => "shared-cookie",
            Self::SharedCachePrefix => "shared-cache-prefix",
            Self::SharedDatabase => "shared-database",
            Self::SiteInMemoryChannelLayer => "site-in-memory-channel-layer",
            Self::ChannelPrefixMismatch => "channel-prefix-mismatch",
            Self::SharedChannelPrefix => "shared-channel-prefix",
            Self::PortHeldByInstance => "port-held-by-instance",
            Self::PortTaken => "port-taken",
            Self::SharedSqliteFile => "shared-sqlite-file",
            Self::ListensOnAllInterfaces => "listens-on-all-interfaces",
            Self::GeneratedStale => "generated-stale",
            Self::RestartNeeded => "restart-needed",
            Self::RedisSharedDatabase => "redis-shared-database",
            Self::RedisCacheWithDjangoRedisOptions => "redis-cache-with-django-redis-options",
            Self::EnvFileReadable => "env-file-readable",
            Self::SharedSecretKey => "shared-secret-key",
            Self::StoreUnavailable => "store-unavailable",
            Self::StoreRecovered => "store-recovered",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub instances: Vec<String>,
    /// What is wrong (English).
    pub message: String,
    /// Why it matters.
    pub why: String,
    /// What to do.
    pub fix: String,
    pub fix_action: Option<FixAction>,
    /// For a name an instance reports differently: the structured difference.
    pub mismatch: Option<Mismatch>,
}

impl Finding {
    fn new(kind: FindingKind, severity: Severity, instances: Vec<String>, message: String) -> Self {
        Self {
            kind,
            severity,
            instances,
            message,
            why: String::new(),
            fix: String::new(),
            fix_action: None,
            mismatch: None,
        }
    }

    fn why(mut self, why: &str) -> Self {
        self.why = why.into();
        self
    }

    fn fix(mut self, fix: String) -> Self {
        self.fix = fix;
        self
    }

    fn action(mut self, action: FixAction) -> Self {
        self.fix_action = Some(action);
        self
    }
}

/// What the doctor looks at besides the files: the running groups and their last health checks.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub running: Vec<RunningInstance>,
    /// The last check of each instance (the poller's [`health::PollerHandle::latest`]).
    pub health: Vec<InstanceHealth>,
    /// What is wrong with Kovan's store, when something is (a store that could not be opened at
    /// all is set here by whoever tried).
    pub store_trouble: Option<crate::store::StoreTrouble>,
}

impl Context {
    /// Find the running instances and check each one's `/health/` once (the CLI's way).
    pub async fn observe(ws: &Workspace, store: Option<&Store>) -> Self {
        let running = running::find(ws, store);
        let mut health = Vec::new();
        for r in &running {
            let mut poller = health::InstancePoller::new(
                std::sync::Arc::new(ws.clone()),
                &r.instance,
                None,
                health::PollerOptions {
                    timeout: Duration::from_secs(2),
                    ..Default::default()
                },
            );
            health.push(poller.poll().await);
        }
        Self {
            running,
            health,
            store_trouble: store.and_then(Store::trouble),
        }
    }

    /// The running groups now, with health the poller already has (the desktop's way).
    pub fn with_health(ws: &Workspace, store: Option<&Store>, health: Vec<InstanceHealth>) -> Self {
        Self {
            running: running::find(ws, store),
            health,
            store_trouble: store.and_then(Store::trouble),
        }
    }

    fn is_running(&self, instance: &str) -> bool {
        self.running.iter().any(|r| r.instance == instance)
    }

    fn reports(&self) -> impl Iterator<Item = (&str, &endpoint::Reported)> {
        self.health
            .iter()
            .filter(|h| self.is_running(&h.instance))
            .filter_map(|h| Some((h.instance.as_str(), h.reported.as_ref()?)))
    }
}

/// Every finding for `ws`, errors first.
pub fn examine(ws: &Workspace, context: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    checks::reported::reported_names(ws, context, &mut findings);
    checks::processes::ports(ws, context, &mut findings);
    checks::processes::shared_sqlite_files(ws, context, &mut findings);
    checks::reported::channel_layers(ws, context, &mut findings);
    checks::processes::all_interfaces(ws, context, &mut findings);
    checks::redis::shared_redis(ws, &mut findings);
    checks::redis::redis_cache_with_client_class(ws, &mut findings);
    checks::secrets::env_files(ws, &mut findings);
    checks::generated::generated_files(ws, &mut findings);
    checks::generated::restart_needed(ws, context, &mut findings);
    checks::store::store(context, &mut findings);
    findings.sort_by_key(|f| f.severity);
    findings
}
