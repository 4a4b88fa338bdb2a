//! The error as it crosses into the window or onto `--json`: a kind from one closed list, core's
//! English sentence (for the CLI and the log), and typed detail the window acts on and words in its
//! own language. Each error type says its kind and detail beside its own definition
//! ([`Classified`]), so this module imports none of them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::platform::PortOwner;

/// Declares [`ErrorKind`] with its list and its names from one table, so they cannot disagree.
macro_rules! error_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Every kind of error Kovan reports, in one list. The snake_case names are the strings
        /// `--json` prints and the window branches on; they are stable.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorKind {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ErrorKind] = &[$(Self::$variant,)*];

            /// The stable name (serde writes the same; a test holds them together).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

error_kinds! {
    // kovan.toml
    WorkspaceNotFound = "workspace_not_found",
    WorkspaceUnreadable = "workspace_unreadable",
    WorkspaceInvalid = "workspace_invalid",
    WorkspaceExists = "workspace_exists",
    WorkspaceUnwritable = "workspace_unwritable",
    ProposalInvalid = "proposal_invalid",
    // Finding the Django project (kovan init, the first-run screen)
    DetectNoFolder = "detect_no_folder",
    DetectNoManagePy = "detect_no_manage_py",
    DetectSeveralManagePy = "detect_several_manage_py",
    // Names the user gave
    UnknownInstance = "unknown_instance",
    UnknownPreset = "unknown_preset",
    UnknownFile = "unknown_file",
    // Starting and stopping
    AlreadyRunning = "already_running",
    PortInUse = "port_in_use",
    Missing = "missing",
    NotRunnable = "not_runnable",
    SpawnFailed = "spawn_failed",
    StuckGroup = "stuck_group",
    RedisUnavailable = "redis_unavailable",
    PreflightFailed = "preflight_failed",
    UnknownSite = "unknown_site",
    /// A flush names a cache alias none of its instances declares.
    UnknownAlias = "unknown_alias",
    FrontDoor = "front_door",
    SiteNotMigrated = "site_not_migrated",
    /// A start found migrations not applied, with migrate = "ask" and nobody asked.
    MigrationsPending = "migrations_pending",
    PostgresUnavailable = "postgres_unavailable",
    /// The interpreter lacks a package the instance's configuration needs (`redis` for a Redis
    /// cache): nothing was started; the detail carries the pip command that installs it.
    PackagesMissing = "packages_missing",
    // One supervisor per workspace
    /// Another program (`kovan up`, another window) supervises the workspace: this one only looks.
    SupervisedElsewhere = "supervised_elsewhere",
    /// Asked to hand the workspace over, the supervisor did not let go in time.
    NotHandedOver = "not_handed_over",
    /// The supervisor lock file could not be used.
    SupervisorLock = "supervisor_lock",
    // kovan db
    UnknownUnit = "unknown_unit",
    NotKovansDatabase = "not_kovans_database",
    DatabaseInUse = "database_in_use",
    NoSnapshot = "no_snapshot",
    DatabaseFailed = "database_failed",
    // Counting and flushing caches
    RedisRefused = "redis_refused",
    RedisAuthFailed = "redis_auth_failed",
    RedisTlsFailed = "redis_tls_failed",
    RedisTimeout = "redis_timeout",
    RedisConnectionLost = "redis_connection_lost",
    RedisError = "redis_error",
    InstanceNotRunning = "instance_not_running",
    InstanceHealth = "instance_health",
    CacheToken = "cache_token",
    CacheDatabaseMissing = "cache_database_missing",
    CacheTableMissing = "cache_table_missing",
    CacheDatabase = "cache_database",
    CacheIo = "cache_io",
    CacheUnsupported = "cache_unsupported",
    NothingCached = "nothing_cached",
    FlushRunning = "flush_running",
    UndoLimit = "undo_limit",
    UndoWriteFailed = "undo_write_failed",
    UndoFailed = "undo_failed",
    /// A `--match` key pattern that cannot be what was meant (empty, a class left open).
    BadGlob = "bad_glob",
    // Migrations
    NoEnvFile = "no_env_file",
    PythonFailed = "python_failed",
    DjangoSetupFailed = "django_setup_failed",
    DatabaseUnreadable = "database_unreadable",
    MigrateFailed = "migrate_failed",
    // Installing what the interpreter lacks (the window's Install button)
    /// A requirement that is not a plain package name with extras and versions (`redis>=5`).
    BadRequirement = "bad_requirement",
    /// The interpreter is not a virtualenv's: pip would change the system's Python.
    NotAVirtualenv = "not_a_virtualenv",
    /// `python -m pip install` exited with an error.
    InstallFailed = "install_failed",
    // Generated files
    GenerateIo = "generate_io",
    OutsideRoot = "outside_root",
    Symlink = "symlink",
    SameFile = "same_file",
    WriteIncomplete = "write_incomplete",
    UnquotableValue = "unquotable_value",
    Template = "template",
    UnsupportedDjango = "unsupported_django",
    // The doctor's fixes
    FixIo = "fix_io",
    RestartByCaller = "restart_by_caller",
    // Kovan's own files
    Store = "store",
    StoreUnavailable = "store_unavailable",
    RecentUnwritable = "recent_unwritable",
    // The window's shell and page
    /// A channel to the page closed while a command still sent on it.
    Channel = "channel",
    /// A task of the shell failed (a panic in a blocking job): a bug in Kovan.
    Internal = "internal",
    /// The page is not inside the Kovan window (ui/dist opened in a browser); only the page says it.
    IpcUnavailable = "ipc_unavailable",
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong in a kovan.toml, with where it is and what to do about it: the field errors of
/// [`ErrorDetail::Fields`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The field, as a path into the file: `instance[2].port`, `preset.dev.instances`.
    pub field: String,
    /// 1-based line in the file, when the problem has one.
    pub line: Option<u32>,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}, {}: {}", self.field, self.message)?,
            None => write!(f, "{}: {}", self.field, self.message)?,
        }
        write!(f, " Fix: {}", self.fix)
    }
}

/// What the window needs to act on an error and to word it in its own language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ErrorDetail {
    /// A start refused because the port is taken.
    PortInUse {
        instance: String,
        port: u16,
        /// Who listens there, when the kernel shows it.
        holder: Option<PortOwner>,
        /// The holder is this instance, left running by an earlier Kovan: "Stop it" may end it.
        lost_instance: bool,
        /// The next port nobody listens on, to offer instead.
        next_free: Option<u16>,
    },
    /// kovan.toml's problems, each with its field path, line and fix.
    Fields {
        file: String,
        problems: Vec<Problem>,
    },
    /// The Redis the workspace uses could not be reached or used.
    Redis {
        /// Redacted: never the password.
        url: String,
        /// `[redis] managed` in kovan.toml, when the error knows it: the fix differs.
        managed: Option<bool>,
    },
    /// TLS with the workspace's Redis failed, and which part of it.
    RedisTls {
        /// Redacted: never the password.
        url: String,
        problem: TlsProblem,
    },
    /// The error is about one instance (named by the user, or the one acted on).
    Instance { instance: String },
    /// A preset name that is not in kovan.toml.
    Preset { preset: String },
    /// The error is about one file or folder.
    Path { path: String },
    /// Several instances' problems found before starting any of them.
    Preflight { problems: Vec<IpcError> },
    /// Who supervises the workspace ("kovan up, PID 4242").
    Supervisor { by: String },
    /// A database Kovan would not clone over, reset or restore now: who has it open (empty when
    /// the refusal is for another reason).
    Database {
        database: String,
        holders: Vec<Holder>,
    },
    /// A unit's database lacks migrations: which unit, the member it is migrated through, how many.
    Migrations {
        unit: String,
        instance: String,
        unapplied: u32,
    },
    /// A start refused because the interpreter lacks packages (boxed: the largest detail).
    Packages(Box<PackagesDetail>),
}

/// What a start refused for packages the interpreter lacks carries: what is missing and why,
/// and the command that installs it (the window's Install runs exactly `requirements`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PackagesDetail {
    /// The instance to install through (its interpreter): the first that needs them.
    pub instance: String,
    /// As run from the Django root: `.venv/bin/python`.
    pub python: String,
    pub missing: Vec<MissingPackage>,
    /// What pip installs: `redis>=5`; empty when Kovan knows no package for what is missing.
    pub requirements: Vec<String>,
    /// `.venv/bin/python -m pip install 'redis>=5'`, None when `requirements` is empty.
    pub command: Option<String>,
}

/// Who is connected to a database now, in the words of a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    pub pid: i32,
    /// The instance's name in its settings' OPTIONS (`{project}_{instance}`), or the client's.
    pub application_name: String,
}

/// Which part of TLS failed: each has its own fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TlsProblem {
    /// The server's certificate is signed by a CA this machine (or `ca_file`) does not hold.
    UnknownCa,
    /// The certificate is good but names another host than the URL's.
    Hostname,
    Expired,
    NotYetValid,
    /// The server asks for a client certificate and Kovan has none (`cert_file`).
    ClientCertificateRequired,
    /// The server refused the client certificate Kovan sent.
    ClientCertificateRefused,
    /// `ca_file`, `cert_file` or `key_file` could not be read or is not PEM.
    Files,
    /// The server took the connection but never answered the handshake (a plain port).
    NoHandshake,
    Other,
}

impl TlsProblem {
    /// What to do, in the words of core's sentence.
    pub fn fix(self) -> &'static str {
        match self {
            Self::UnknownCa => "Set [redis] ca_file to the PEM file of the CA that signed the server's certificate.",
            Self::Hostname => "Connect by a name the certificate holds, or set [redis] verify = \"ca\" to check the chain only.",
            Self::Expired => "The server's certificate has expired: renew it on the server.",
            Self::NotYetValid => "The server's certificate is not valid yet: check this machine's clock and the server's.",
            Self::ClientCertificateRequired => "The server asks for a client certificate: set [redis] cert_file and key_file.",
            Self::ClientCertificateRefused => "Give [redis] cert_file a certificate signed by a CA the server trusts (its tls-ca-cert-file).",
            Self::Files => "Check that ca_file, cert_file and key_file in [redis] are readable PEM files.",
            Self::NoHandshake => "Check that the port is the server's TLS port (rediss:// needs one, redis:// a plain one).",
            Self::Other => "Check that the server speaks TLS on that port and that its certificate is trusted.",
        }
    }
}

/// Something the configuration needs from the interpreter that it does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MissingPackage {
    /// The import name: `redis`.
    pub import: String,
    /// What pip installs: `redis>=5`; None when Kovan does not know which package provides it.
    pub requirement: Option<String>,
    /// What in the configuration needs it: `chat_main has cache = "redis"`.
    pub needed_by: String,
}

/// A core error that knows its kind and the detail the window acts on.
pub trait Classified: std::error::Error {
    fn kind(&self) -> ErrorKind;
    fn detail(&self) -> Option<ErrorDetail> {
        None
    }
}

/// An error as it crosses into the window or onto `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IpcError {
    pub kind: ErrorKind,
    /// Core's English sentence: what the CLI prints and the log keeps; the window shows it as the
    /// detail under its own words.
    pub message: String,
    pub detail: Option<ErrorDetail>,
}

impl IpcError {
    /// An error of the shell's own, with no detail.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        log_said(kind, &message);
        Self {
            kind,
            message,
            detail: None,
        }
    }

    /// Any core error, by reference.
    pub fn of<E: Classified + ?Sized>(e: &E) -> Self {
        let (kind, message) = (e.kind(), e.to_string());
        log_said(kind, &message);
        Self {
            kind,
            message,
            detail: e.detail(),
        }
    }
}

/// Every error said to the user (the window, `--json`) is kept in Kovan's log too; the same one
/// again within a minute (a command the window repeats on a timer) only once.
fn log_said(kind: ErrorKind, message: &str) {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static LAST: Mutex<Option<(String, Instant)>> = Mutex::new(None);
    let line = format!("{}: {message}", kind.as_str());
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if matches!(&*last, Some((said, at)) if *said == line && at.elapsed() < Duration::from_secs(60))
    {
        return;
    }
    tracing::warn!("{line}");
    *last = Some((line, Instant::now()));
}

impl<E: Classified> From<E> for IpcError {
    fn from(e: E) -> Self {
        Self::of(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_snake_case_name() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            let name = kind.as_str();
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name} is not snake_case"
            );
            assert!(seen.insert(name), "{name} twice");
            let back: ErrorKind = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(back, *kind);
        }
    }

    #[test]
    fn the_strings_stay_what_json_printed_before() {
        for (kind, name) in [
            (ErrorKind::WorkspaceNotFound, "workspace_not_found"),
            (ErrorKind::WorkspaceExists, "workspace_exists"),
            (ErrorKind::PortInUse, "port_in_use"),
            (ErrorKind::RedisRefused, "redis_refused"),
            (ErrorKind::RedisTlsFailed, "redis_tls_failed"),
            (ErrorKind::InstanceNotRunning, "instance_not_running"),
            (ErrorKind::DetectNoManagePy, "detect_no_manage_py"),
            (ErrorKind::NothingCached, "nothing_cached"),
            (ErrorKind::SpawnFailed, "spawn_failed"),
            (ErrorKind::IpcUnavailable, "ipc_unavailable"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
    }

    #[test]
    fn an_error_crosses_with_its_kind_message_and_detail() {
        let e = IpcError {
            kind: ErrorKind::PortInUse,
            message: "port 8000 is taken".into(),
            detail: Some(ErrorDetail::PortInUse {
                instance: "chat_main".into(),
                port: 8000,
                holder: None,
                lost_instance: false,
                next_free: Some(8003),
            }),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({
                "kind": "port_in_use",
                "message": "port 8000 is taken",
                "detail": {
                    "type": "portInUse", "instance": "chat_main", "port": 8000, "holder": null,
                    "lostInstance": false, "nextFree": 8003,
                },
            })
        );
    }
}
