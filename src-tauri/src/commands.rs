//! The IPC surface: each command is a line or two into kovan-core.
//!
//! Commands are async unless trivial: Tauri runs a sync command on the main thread, which at start
//! is busy bringing up GTK and the webview, so the first `workspace_view` waited behind it.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use kovan_core::cache::{
    self, CacheCounts, CacheProgress, FlushPart, FlushPreview, FlushReport, FlushScope, KeyGroups,
};
use kovan_core::diagnostics::{self, DiagnosticLog};
use kovan_core::django::{self, InstallOutcome, MigrateOutcome};
use kovan_core::doctor::{self, Context, Finding, FixAction};
use kovan_core::error::ErrorKind;
use kovan_core::generate::{self, Plan, WriteReport};
use kovan_core::health::InstanceHealth;
use kovan_core::proposal::{self, Proposal};
use kovan_core::recent::RecentWorkspaces;
use kovan_core::services::database::{self, DatabaseReport, DatabaseStatus};
use kovan_core::services::redis_server::{self, RedisProbe};
use kovan_core::store::{EventRecord, HealthSample, StoreTrouble};
use kovan_core::supervisor::lock::Supervision;
use kovan_core::supervisor::{InstanceState, LogLine, MigrateFirst, StartOptions, StopReport};
use kovan_core::view::FrontDoorHealth;
use kovan_core::{IpcError, WorkspaceView};
use tauri::ipc::Channel;
use tauri::State;

use crate::state::AppState;

type Result<T> = std::result::Result<T, IpcError>;

#[tauri::command]
pub async fn workspace_view(state: State<'_, AppState>) -> Result<WorkspaceView> {
    Ok(state.view())
}

#[tauri::command]
pub async fn reload_workspace(state: State<'_, AppState>) -> Result<WorkspaceView> {
    Ok(state.reload())
}

#[tauri::command]
pub async fn generator_plan(state: State<'_, AppState>) -> Result<Plan> {
    state.with_workspace(|ws| Ok(generate::plan(ws)?))
}

/// Re-plans before writing, so a file edited since the preview is still backed up.
#[tauri::command]
pub async fn generator_write(
    state: State<'_, AppState>,
    paths: Vec<String>,
) -> Result<WriteReport> {
    state.with_workspace(|ws| Ok(generate::write(&generate::plan(ws)?, Some(&paths))?))
}

#[tauri::command]
pub async fn export_env_files(state: State<'_, AppState>, dir: PathBuf) -> Result<WriteReport> {
    state.with_workspace(|ws| Ok(generate::export_env_files(&generate::plan(ws)?, &dir)?))
}

#[tauri::command]
pub async fn instance_states(state: State<'_, AppState>) -> Result<Vec<InstanceState>> {
    Ok(state.supervisor()?.states())
}

/// Whether this window supervises its workspace, or only looks while another program does.
#[tauri::command]
pub async fn supervision(state: State<'_, AppState>) -> Result<Supervision> {
    Ok(state.supervision())
}

/// Ask the program supervising the workspace to hand it over; nothing running is stopped.
#[tauri::command]
pub async fn take_over(state: State<'_, AppState>) -> Result<WorkspaceView> {
    state.take_over().await
}

/// `migrate_first`: the user confirmed applying the migrations a start refused with
/// `migrations_pending`.
#[tauri::command]
pub async fn start_instance(
    state: State<'_, AppState>,
    instance: String,
    port: Option<u16>,
    migrate_first: Option<bool>,
) -> Result<InstanceState> {
    let migrate = migrate_choice(migrate_first);
    Ok(state
        .supervisor()?
        .start(&instance, StartOptions { port, migrate })
        .await?)
}

fn migrate_choice(migrate_first: Option<bool>) -> MigrateFirst {
    if migrate_first == Some(true) {
        MigrateFirst::Yes
    } else {
        MigrateFirst::Policy
    }
}

#[tauri::command]
pub async fn stop_instance(state: State<'_, AppState>, instance: String) -> Result<StopReport> {
    Ok(state.supervisor()?.stop(&instance).await?)
}

#[tauri::command]
pub async fn restart_instance(
    state: State<'_, AppState>,
    instance: String,
) -> Result<InstanceState> {
    Ok(state.supervisor()?.restart(&instance).await?)
}

#[tauri::command]
pub async fn stop_lost_instance(
    state: State<'_, AppState>,
    instance: String,
) -> Result<StopReport> {
    Ok(state.supervisor()?.stop_lost_instance(&instance).await?)
}

#[tauri::command]
pub async fn start_preset(
    state: State<'_, AppState>,
    preset: String,
    migrate_first: Option<bool>,
) -> Result<Vec<InstanceState>> {
    Ok(state
        .supervisor()?
        .start_preset(&preset, migrate_choice(migrate_first))
        .await?)
}

/// A site's members, then its front door once they answer (as `kovan up SITE`); `migrate_first`
/// as for [`start_instance`].
#[tauri::command]
pub async fn start_site(
    state: State<'_, AppState>,
    site: String,
    migrate_first: Option<bool>,
) -> Result<Vec<InstanceState>> {
    Ok(state
        .supervisor()?
        .start_site_with(&site, migrate_choice(migrate_first))
        .await?)
}

/// A site's front door, then its members.
#[tauri::command]
pub async fn stop_site(state: State<'_, AppState>, site: String) -> Result<Vec<StopReport>> {
    state
        .supervisor()?
        .stop_site(&site)
        .await?
        .into_iter()
        .map(|r| r.map_err(IpcError::from))
        .collect()
}

/// One look at a site's front door: nginx answers, and the members it routes to.
#[tauri::command]
pub async fn front_door_health(
    state: State<'_, AppState>,
    site: String,
) -> Result<FrontDoorHealth> {
    let sup = state.supervisor()?;
    let ws = sup.workspace();
    let s = ws.site(&site).ok_or_else(|| {
        IpcError::from(kovan_core::supervisor::SupervisorError::UnknownSite { site: site.clone() })
    })?;
    let running = s
        .instances
        .iter()
        .filter(|m| {
            sup.state(m)
                .is_some_and(|st| st.status == kovan_core::supervisor::RunStatus::Running)
        })
        .cloned()
        .collect();
    Ok(FrontDoorHealth::look(&site, s.front_door, running).await)
}

#[tauri::command]
pub async fn stop_all(state: State<'_, AppState>) -> Result<Vec<StopReport>> {
    state
        .supervisor()?
        .stop_all()
        .await
        .into_iter()
        .map(|r| r.map_err(IpcError::from))
        .collect()
}

/// The instance's ring now, then each new batch of lines, over one channel.
#[tauri::command]
pub fn subscribe_logs(
    state: State<'_, AppState>,
    instance: String,
    channel: Channel<Vec<LogLine>>,
) -> Result<()> {
    let sender = channel.clone();
    let snapshot = state.supervisor()?.subscribe_logs(
        &instance,
        Box::new(move |lines| sender.send(lines.to_vec()).is_ok()),
    )?;
    channel
        .send(snapshot)
        .map_err(|e| IpcError::new(ErrorKind::Channel, e.to_string()))
}

#[tauri::command]
pub async fn redis_probe(state: State<'_, AppState>) -> Result<Option<RedisProbe>> {
    let redis = state.with_workspace(|ws| Ok(ws.redis.clone()))?;
    Ok(match redis {
        Some(r) => redis_server::probe(&r).await,
        None => None,
    })
}

#[tauri::command]
pub fn set_leave_running(state: State<'_, AppState>, leave: bool) {
    state.leave_running.store(leave, Ordering::SeqCst);
}

/// Every instance's key count, or null when a count is already running (the timer's refresh).
#[tauri::command]
pub async fn cache_counts(state: State<'_, AppState>) -> Result<Option<CacheCounts>> {
    let ws = state.workspace()?;
    let progress = state.cache_progress(CacheProgress::Count);
    Ok(state.counter.count(&ws, progress).await)
}

/// What flushing `scope` would delete, and what stays: for the confirmation.
#[tauri::command]
pub async fn flush_preview(state: State<'_, AppState>, scope: FlushScope) -> Result<FlushPreview> {
    let ws = state.workspace()?;
    let progress = state.cache_progress(CacheProgress::Count);
    Ok(cache::preview(&ws, scope, progress).await?)
}

/// What flushing `part` (cache, sessions, all, a key pattern) of `scope` would delete, and what
/// stays; `aliases`: only these cache aliases of each instance (none: every alias).
#[tauri::command]
pub async fn flush_preview_part(
    state: State<'_, AppState>,
    scope: FlushScope,
    part: FlushPart,
    aliases: Option<Vec<String>>,
) -> Result<FlushPreview> {
    let ws = state.workspace()?;
    let progress = state.cache_progress(CacheProgress::Count);
    let aliases = aliases.unwrap_or_default();
    Ok(cache::preview_aliases(&ws, scope, part, aliases, progress).await?)
}

/// The instance's Redis keys by group, in one pass (the inspector; `kovan keys NAME --groups`).
#[tauri::command]
pub async fn key_groups(state: State<'_, AppState>, instance: String) -> Result<KeyGroups> {
    Ok(cache::groups(&state.workspace()?, &instance).await?)
}

/// Run the confirmed flush, with `cache://progress` events; recorded in the history.
#[tauri::command]
pub async fn flush_cache(state: State<'_, AppState>, preview: FlushPreview) -> Result<FlushReport> {
    let ws = state.workspace()?;
    let progress = state.cache_progress(CacheProgress::Flush);
    let store = state.store().map(|s| &**s);
    let undo = cache::Undo::of(&ws, &kovan_core::store::data_dir());
    Ok(state
        .flusher
        .run(&ws, &preview, Some(&undo), store, progress)
        .await?)
}

/// Put back the keys of a flush (`id`; none: the newest not undone yet).
#[tauri::command]
pub async fn undo_flush(
    state: State<'_, AppState>,
    id: Option<String>,
) -> Result<cache::UndoReport> {
    let ws = state.workspace()?;
    let undo = cache::Undo::of(&ws, &kovan_core::store::data_dir());
    Ok(cache::undo(&ws, &undo, id.as_deref()).await?)
}

/// Stop the running flush after its current batch; false when none runs.
#[tauri::command]
pub fn cancel_flush(state: State<'_, AppState>) -> bool {
    state.flusher.cancel()
}

/// The poller's last check of every instance (the cards' health before the next event).
#[tauri::command]
pub async fn health_latest(state: State<'_, AppState>) -> Result<Vec<InstanceHealth>> {
    Ok(state.health_latest())
}

/// The page became visible or hidden: a hidden window is sent no per-second health figures.
#[tauri::command]
pub fn set_window_visible(state: State<'_, AppState>, visible: bool) {
    state.set_window_visible(visible);
}

/// An instance's newest health samples, oldest first: its latency sparkline.
#[tauri::command]
pub async fn health_samples(
    state: State<'_, AppState>,
    instance: String,
    limit: usize,
) -> Result<Vec<HealthSample>> {
    Ok(state
        .history()?
        .recent_samples(&state.file(), &instance, limit)?)
}

/// The events timeline: newest first, filtered by instance (any when null) and kinds (any when empty).
#[tauri::command]
pub async fn event_history(
    state: State<'_, AppState>,
    instance: Option<String>,
    kinds: Vec<String>,
    limit: usize,
) -> Result<Vec<EventRecord>> {
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    Ok(state
        .history()?
        .events_filtered(&state.file(), instance.as_deref(), &kinds, limit)?)
}

/// The isolation doctor's findings now, from the files, the running groups and the last health checks.
#[tauri::command]
pub async fn doctor_findings(state: State<'_, AppState>) -> Result<Vec<Finding>> {
    state.with_workspace(|ws| {
        let mut context =
            Context::with_health(ws, state.store().map(|s| &**s), state.health_latest());
        // Also when the store could not be opened at all.
        context.store_trouble = state.store_trouble();
        Ok(doctor::examine(ws, &context))
    })
}

/// Make a finding's one-click fix; a restart goes through the supervisor, the rest through the doctor.
#[tauri::command]
pub async fn apply_fix(state: State<'_, AppState>, action: FixAction) -> Result<String> {
    if let FixAction::Restart { instance } = &action {
        state.supervisor()?.restart(instance).await?;
        return Ok(format!("{instance} restarted."));
    }
    Ok(doctor::apply_fix(&state.workspace()?, &action)?)
}

/// What is wrong with Kovan's store now (it could not be opened, cannot be written, or a damaged
/// file was moved aside at start); null when nothing is. Later failures come as `store://trouble`.
#[tauri::command]
pub async fn store_notice(state: State<'_, AppState>) -> Result<Option<StoreTrouble>> {
    Ok(state.store_trouble())
}

/// Open another kovan.toml (or the folder holding one); what the current workspace runs stops first
/// unless "leave running" is on.
#[tauri::command]
pub async fn open_workspace(state: State<'_, AppState>, path: PathBuf) -> Result<WorkspaceView> {
    Ok(state.switch(path).await)
}

/// The kovan.toml files opened lately, most recent first (those still on disk).
#[tauri::command]
pub async fn recent_workspaces() -> Vec<PathBuf> {
    RecentWorkspaces::open_default().list()
}

/// Detect the Django project in `folder` (asking Django itself) and propose its kovan.toml.
#[tauri::command]
pub async fn propose_workspace(folder: PathBuf) -> Result<Proposal> {
    Ok(blocking(move || proposal::propose(&folder)).await??)
}

/// Write the proposal for `folder` (never over an existing kovan.toml) and open it.
#[tauri::command]
pub async fn create_workspace(
    state: State<'_, AppState>,
    folder: PathBuf,
) -> Result<WorkspaceView> {
    let file = blocking(move || proposal::write(&proposal::propose(&folder)?)).await??;
    Ok(state.switch(file).await)
}

/// Apply the instance's unapplied migrations (`manage.py migrate` under its environment), each
/// output line sent as it comes; the card's health shows the result at its next check.
#[tauri::command]
pub async fn migrate_instance(
    state: State<'_, AppState>,
    instance: String,
    on_line: Channel<String>,
) -> Result<MigrateOutcome> {
    let ws = state.workspace()?;
    let outcome = blocking(move || {
        django::migrate_named(&ws, &instance, |line| {
            let _ = on_line.send(line.to_string());
        })
    })
    .await??;
    if let Ok(sup) = state.supervisor() {
        sup.migrations_applied(&outcome.instance);
    }
    Ok(outcome)
}

/// `<interpreter> -m pip install <requirement>…` for what the preflight named missing (the
/// window's Install button; never run unasked), each output line sent as it comes.
#[tauri::command]
pub async fn install_requirements(
    state: State<'_, AppState>,
    instance: String,
    requirements: Vec<String>,
    on_line: Channel<String>,
) -> Result<InstallOutcome> {
    let ws = state.workspace()?;
    let outcome = blocking(move || {
        django::pip::install(&ws, &instance, &requirements, |line| {
            let _ = on_line.send(line.to_string());
        })
    })
    .await??;
    Ok(outcome)
}

/// Every instance's database for the cards: size, who has it open, whether a snapshot waits.
#[tauri::command]
pub async fn database_status(state: State<'_, AppState>) -> Result<Vec<DatabaseStatus>> {
    Ok(database::status(&state.workspace()?).await?)
}

/// Snapshot, empty and migrate the database of `instance`'s unit, migrate's lines sent as they come.
#[tauri::command]
pub async fn database_reset(
    state: State<'_, AppState>,
    instance: String,
    on_line: Channel<String>,
) -> Result<DatabaseReport> {
    let ws = state.workspace()?;
    Ok(database::reset(&ws, &instance, |line| {
        let _ = on_line.send(line.to_string());
    })
    .await?)
}

/// Put back the database of `instance`'s unit as its last snapshot holds it.
#[tauri::command]
pub async fn database_restore(
    state: State<'_, AppState>,
    instance: String,
) -> Result<DatabaseReport> {
    Ok(database::restore(&state.workspace()?, &instance).await?)
}

/// Replace `target`'s database with a copy of `source`'s (a snapshot of the target first).
#[tauri::command]
pub async fn database_clone(
    state: State<'_, AppState>,
    target: String,
    source: String,
) -> Result<DatabaseReport> {
    Ok(database::clone(&state.workspace()?, &target, &source).await?)
}

/// Detection runs the project's Python for up to 30 s: off the async runtime's workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))
}

/// The window's language, for the tray menu's words.
#[tauri::command]
pub async fn set_language(app: tauri::AppHandle, language: String) {
    crate::tray::set_language(&app, &language);
}

/// Where the window's log is and its last warning or error: the footer.
#[tauri::command]
pub async fn diagnostic_log() -> Result<DiagnosticLog> {
    Ok(diagnostics::look(
        &diagnostics::log_dir(),
        diagnostics::WINDOW_PREFIX,
    ))
}
