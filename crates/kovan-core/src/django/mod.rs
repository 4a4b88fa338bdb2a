//! The project's Django as it really is: its version (and what that version accepts in generated
//! settings), the packages its interpreter has, the environment variables its settings read, its
//! migrations, and manage.py or any command under an instance's environment.

pub mod environment;
mod known_packages;
pub mod migrations;
pub mod packages;
pub mod pip;
pub mod probe;
pub mod python;
pub mod settings_env;
pub mod version;

pub use environment::{EnvironmentError, Launch};
pub use migrations::{
    migrate_named, migrate_unit, MigrateOutcome, MigrationError, MigrationStatus,
};
pub use packages::{DependencyReport, MissingPackage};
pub use pip::{InstallError, InstallOutcome};
pub use probe::{EnvRead, Probe, ProbeError, SettingsScan};
pub use settings_env::SettingsFinding;
pub use version::{DjangoVersion, Feature, FeatureChoice, Support};

use crate::workspace::{CacheBackend, DatabaseEngine, Workspace};

/// What the generator needs to know of the project, found with one probe of its interpreter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectFacts {
    /// None when the interpreter could not be asked or has no Django.
    pub django: Option<DjangoVersion>,
    /// Why the version is not known.
    pub django_unknown: Option<String>,
    /// None when the settings could not be scanned.
    pub scan: Option<SettingsScan>,
}

impl ProjectFacts {
    /// Probe the workspace's interpreter (cached; see [`probe::probe`]).
    pub fn gather(ws: &Workspace) -> Self {
        match probe::probe(ws) {
            Ok(p) => Self::from_probe(ws, &p),
            Err(e) => Self {
                django: None,
                django_unknown: Some(e.to_string()),
                scan: None,
            },
        }
    }

    pub fn from_probe(ws: &Workspace, probe: &Probe) -> Self {
        let django = probe.version_of("django").map(str::parse::<DjangoVersion>);
        let (django, django_unknown) = match django {
            Some(Ok(v)) => (Some(v), None),
            Some(Err(e)) => (None, Some(e.to_string())),
            None if probe.has("django") => {
                (None, Some("Django's version could not be read".into()))
            }
            None => (
                None,
                Some(format!(
                    "{} has no Django: {}",
                    ws.python(),
                    packages::pip_install(&ws.python(), &["Django>=4.2".into()])
                )),
            ),
        };
        Self {
            django,
            django_unknown,
            scan: probe.settings.clone(),
        }
    }

    /// Facts for a rendering that asks nothing (tests, previews of a project without a venv).
    pub fn for_version(django: Option<DjangoVersion>) -> Self {
        Self {
            django,
            ..Self::default()
        }
    }
}

/// The version-dependent settings a workspace's configuration would use, when its Django
/// accepts them.
pub fn wanted_features(ws: &Workspace) -> Vec<Feature> {
    let mut wanted = vec![Feature::Storages];
    if ws.instances.iter().any(|i| i.cache == CacheBackend::Redis) {
        wanted.push(Feature::RedisCachePoolOptions);
    }
    match ws.database {
        DatabaseEngine::Sqlite => wanted.push(Feature::SqliteTransactionMode),
        DatabaseEngine::Postgresql => {
            wanted.push(Feature::ConnHealthChecks);
            wanted.push(Feature::PostgresPool);
        }
    }
    wanted
}
