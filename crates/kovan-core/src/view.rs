//! What the window and `kovan check` show of a workspace: values core derived, ready to display.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

use crate::error::{Classified, ErrorKind};

use crate::workspace::{
    self, CacheBackend, DerivedNames, Problem, RestartPolicy, Role, Scope, Workspace,
    WorkspaceError,
};

/// The workspace as the window shows it: loaded, or why not.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum WorkspaceView {
    Loaded(WorkspaceOverview),
    Invalid(WorkspaceFault),
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceOverview {
    pub name: String,
    /// Absolute path of the kovan.toml.
    pub file: String,
    pub django_root: String,
    pub settings: String,
    /// The Redis URL with any password replaced by `***`.
    pub redis_url: Option<String>,
    pub redis_managed: bool,
    pub presets: Vec<PresetView>,
    /// Groups of instances that are one website, each behind its front door.
    pub sites: Vec<SiteView>,
    pub instances: Vec<InstanceCard>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SiteView {
    pub name: String,
    pub instances: Vec<String>,
    pub front_door: u16,
    /// The address a browser opens: `http://127.0.0.1:{front_door}/`.
    pub url: String,
    /// Path prefix and the role that answers it, longest prefix first.
    pub routes: Vec<RouteView>,
    /// What the members share, as one website: the unit's names (database, SECRET_KEY, session
    /// and CSRF cookies, session store, media root, channel-layer prefix).
    pub shares: Vec<SiteShare>,
    /// The site's companion processes (`[[process]]` with `site = …`).
    pub companions: Vec<CompanionView>,
}

/// A companion process (`[[process]]`) as its unit's card shows it; its run state comes with the
/// supervisor's status events, under its name.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CompanionView {
    pub name: String,
    pub command: String,
    /// The instance whose environment it runs with (a site's: its main-role member).
    pub runs_with: String,
    pub restart: RestartPolicy,
    /// Started when its unit is ready.
    pub autostart: bool,
    /// `logs/{name}.log`, relative to the Django root.
    pub log_file: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RouteView {
    pub prefix: String,
    pub role: Role,
    /// The site's members of that role, the upstream the door sends the path to.
    pub members: Vec<String>,
}

/// One name a site's members share.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SiteShare {
    /// `database`, `secret_key`, `session_cookie`, … as in [`ScopedName`].
    pub name: String,
    pub value: String,
}

/// One look at a site's front door, for its group header: does nginx answer, and which members
/// it routes to now.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FrontDoorHealth {
    pub site: String,
    pub url: String,
    /// nginx answered its own probe path (without asking a member).
    pub answers: bool,
    /// "front door of chat answers on …", "nothing listens on port 8080", ….
    pub detail: String,
    /// The members that run, which the door routes to.
    pub routes_to: Vec<String>,
}

impl FrontDoorHealth {
    /// Probe the door of `site` on `port`; `running` names the members that run now.
    pub async fn look(site: &str, port: u16, running: Vec<String>) -> Self {
        let look =
            crate::health::once::front_door(site, port, std::time::Duration::from_secs(2)).await;
        Self {
            site: site.into(),
            url: format!("http://127.0.0.1:{port}/"),
            answers: look.verdict == crate::health::once::Verdict::Ok,
            detail: look.detail,
            routes_to: running,
        }
    }
}

/// One derived name and whether the instance shares it with the other members of its site.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScopedName {
    /// `database`, `secret_key`, `session_cookie`, … (DerivedNames' fields, SECRET_KEY added).
    pub name: String,
    pub value: String,
    /// `shared`: the unit's, used by every member of the site; `own`: this instance's alone.
    pub scope: Sharing,
    /// The other instances that use the same value (empty when own).
    pub shared_with: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    Shared,
    Own,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PresetView {
    pub name: String,
    pub instances: Vec<String>,
}

/// One instance card.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCard {
    pub name: String,
    pub port: u16,
    pub role: Role,
    pub cache: CacheBackend,
    /// The Django backend class the cache maps to.
    pub cache_class: String,
    pub cache_timeout: u32,
    pub names: DerivedNames,
    /// The isolation unit: its site's name, or its own when isolated.
    pub unit: String,
    pub site: Option<String>,
    /// Every derived name, marked shared (with the site's other members) or own.
    pub scoped: Vec<ScopedName>,
    pub restart: RestartPolicy,
    /// Its companion processes (`[[process]]` with `instance = …`).
    pub companions: Vec<CompanionView>,
    /// Its cache aliases beside `default`, with their derived prefix and location.
    pub caches: Vec<CacheAliasView>,
}

/// One more cache alias of an instance, as its card names it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CacheAliasView {
    pub alias: String,
    pub backend: CacheBackend,
    pub cache_class: String,
    pub timeout: u32,
    /// Derived: `{the instance's prefix}.{alias}`.
    pub prefix: String,
    pub location: Option<String>,
}

/// Why a workspace could not be shown, with the file it is about.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceFault {
    /// workspace_not_found, workspace_unreadable or workspace_invalid.
    pub kind: ErrorKind,
    pub file: String,
    /// The whole message, as `kovan check` prints it.
    pub message: String,
    pub problems: Vec<Problem>,
}

impl WorkspaceView {
    pub fn of(loaded: &Result<Workspace, WorkspaceError>) -> Self {
        match loaded {
            Ok(ws) => Self::Loaded(WorkspaceOverview::of(ws)),
            Err(e) => Self::Invalid(WorkspaceFault::of(e)),
        }
    }

    /// Load the kovan.toml at `path` (or in that folder) and describe it.
    pub fn open(path: &Path) -> Self {
        Self::of(&workspace::load(path))
    }
}

impl WorkspaceOverview {
    pub fn of(ws: &Workspace) -> Self {
        Self {
            name: ws.project.name.clone(),
            file: ws.file.display().to_string(),
            django_root: ws.project.django_root.display().to_string(),
            settings: ws.project.settings.clone(),
            redis_url: ws.redis.as_ref().map(|r| r.redacted()),
            redis_managed: ws.redis.as_ref().is_some_and(|r| r.managed),
            presets: ws
                .presets
                .iter()
                .map(|p| PresetView {
                    name: p.name.clone(),
                    instances: p.instances.clone(),
                })
                .collect(),
            sites: ws
                .sites
                .iter()
                .map(|s| SiteView {
                    name: s.name.clone(),
                    instances: s.instances.clone(),
                    front_door: s.front_door,
                    url: format!("http://127.0.0.1:{}/", s.front_door),
                    routes: s
                        .routes
                        .iter()
                        .map(|r| RouteView {
                            prefix: r.prefix.clone(),
                            role: r.role,
                            members: s
                                .instances
                                .iter()
                                .filter(|m| ws.instance(m).is_some_and(|i| i.role == r.role))
                                .cloned()
                                .collect(),
                        })
                        .collect(),
                    shares: s
                        .instances
                        .first()
                        .and_then(|m| ws.instance(m))
                        .map(|i| {
                            i.names
                                .scoped()
                                .into_iter()
                                .filter(|(_, _, scope)| *scope == Scope::Unit)
                                .map(|(name, value, _)| SiteShare {
                                    name: name.to_string(),
                                    value,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    companions: companions(ws, &s.name),
                })
                .collect(),
            instances: ws
                .instances
                .iter()
                .map(|i| InstanceCard {
                    name: i.name.clone(),
                    port: i.port,
                    role: i.role,
                    cache: i.cache,
                    cache_class: i.cache.django_class().to_string(),
                    cache_timeout: i.cache_timeout,
                    names: i.names.clone(),
                    unit: i.names.unit.clone(),
                    site: i.site.clone(),
                    scoped: scoped_names(ws, i),
                    restart: i.restart,
                    companions: companions(ws, &i.name),
                    caches: i
                        .caches
                        .iter()
                        .map(|c| CacheAliasView {
                            alias: c.name.clone(),
                            backend: c.backend,
                            cache_class: c.backend.django_class().to_string(),
                            timeout: c.timeout,
                            prefix: c.prefix.clone(),
                            location: c.location.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl WorkspaceFault {
    pub fn of(e: &WorkspaceError) -> Self {
        Self {
            kind: e.kind(),
            file: e.path().display().to_string(),
            message: e.to_string(),
            problems: e.problems(),
        }
    }
}

/// The companions declared on the unit `unit` (an instance's or a site's name), in the file's order.
fn companions(ws: &Workspace, unit: &str) -> Vec<CompanionView> {
    ws.processes
        .iter()
        .filter(|p| p.unit.name() == unit)
        .map(|p| CompanionView {
            name: p.name.clone(),
            command: p.command.clone(),
            runs_with: ws
                .process_instance(p)
                .map(|i| i.name.clone())
                .unwrap_or_default(),
            restart: p.restart,
            autostart: p.autostart,
            log_file: format!("logs/{}.log", p.name),
        })
        .collect()
}

/// The instance's derived names, each with the other members that share it.
fn scoped_names(ws: &Workspace, i: &workspace::Instance) -> Vec<ScopedName> {
    let others: Vec<String> = ws
        .unit_members(&i.name)
        .into_iter()
        .filter(|m| m.name != i.name)
        .map(|m| m.name.clone())
        .collect();
    i.names
        .scoped()
        .into_iter()
        .map(|(name, value, scope)| {
            let shared = scope == Scope::Unit && !others.is_empty();
            ScopedName {
                name: name.to_string(),
                value,
                scope: if shared {
                    Sharing::Shared
                } else {
                    Sharing::Own
                },
                shared_with: if shared { others.clone() } else { Vec::new() },
            }
        })
        .collect()
}
