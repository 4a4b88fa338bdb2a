//! The one managed state: the workspace the window shows and the supervisor that runs it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kovan_core::cache::{CacheProgress, Counter, Flusher};
use kovan_core::error::ErrorKind;
use kovan_core::health::feed::{self, FeedHandle, FeedOptions, HealthBatch, Seen};
use kovan_core::health::{self, InstanceHealth, PollerHandle, PollerOptions};
use kovan_core::recent::RecentWorkspaces;
use kovan_core::store::{Store, StoreTrouble};
use kovan_core::supervisor::lock::{LockError, Supervision, SupervisorLock};
use kovan_core::supervisor::{EventSink, InstanceState, Supervisor};
use kovan_core::{workspace, IpcError, Workspace, WorkspaceError, WorkspaceView};
use tauri::{AppHandle, Emitter, Manager};

/// An instance's state changed (payload: core's InstanceState); the window and the tray follow it.
pub const INSTANCE_STATUS: &str = "instance://status";
/// Health changes in batches (payload: core's HealthBatch); the cards follow them.
pub const INSTANCE_HEALTH: &str = "instance://health";
/// Kovan's store failed (payload: core's StoreTrouble); the window shows it in a banner.
pub const STORE_TROUBLE: &str = "store://trouble";
/// Another workspace is shown; the tray redraws its menu from it.
pub const WORKSPACE_SWITCHED: &str = "workspace://switched";
/// The window began or stopped supervising its workspace (payload: core's Supervision).
pub const SUPERVISION_CHANGED: &str = "supervision://changed";

/// How long "take over" waits for the supervisor it asks to let go.
const HAND_OVER_WAIT: std::time::Duration = std::time::Duration::from_secs(15);
/// How often the window looks for a request to hand over, or (observing) for the supervisor
/// having gone and for what changed.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

pub struct AppState {
    /// The kovan.toml shown; "Proje aç" switches it.
    file: RwLock<PathBuf>,
    app: AppHandle,
    workspace: RwLock<Result<Workspace, WorkspaceError>>,
    supervisor: RwLock<Option<Supervisor>>,
    /// Checks every instance's health while the workspace is loaded; replaced on reload.
    poller: Mutex<Option<PollerHandle>>,
    /// Between the poller and the window: only what changes on screen, in batches, nothing
    /// per-second while the window is hidden (core's health::feed).
    feed: FeedHandle,
    /// Whether the window has the focus and whether the page is visible (`set_window_visible`).
    focused: AtomicBool,
    visible: AtomicBool,
    store: Option<Arc<Store>>,
    /// What is wrong with the store (it could not be opened, cannot be written, was moved aside),
    /// from core: the window's banner asks for it and hears each new failure.
    store_trouble: Arc<Mutex<Option<StoreTrouble>>>,
    /// Cache counts: the timer's refresh skips while one runs.
    pub counter: Counter,
    /// The running flush, which `cancel_flush` reaches.
    pub flusher: Flusher,
    /// The user's choice for the panel's exit: leave the instances running (a later panel adopts them).
    pub leave_running: AtomicBool,
    /// The workspace's supervisor lock while this window supervises it, with the kovan.toml it is for.
    lock: Mutex<Option<(PathBuf, SupervisorLock)>>,
    /// Whether this window supervises its workspace or only looks at it.
    supervision: RwLock<Supervision>,
}

impl AppState {
    pub fn open(app: AppHandle, file: PathBuf) -> Self {
        let (store, trouble) = match Store::open_default() {
            Ok(store) => {
                let trouble = store.trouble();
                (Some(Arc::new(store)), trouble)
            }
            Err(e) => {
                let path = kovan_core::store::data_dir().join("kovan.sqlite3");
                (
                    None,
                    Some(StoreTrouble::unavailable(&path.display().to_string(), &e)),
                )
            }
        };
        if let Some(t) = &trouble {
            eprintln!("kovan: {}", t.line());
        }
        let store_trouble = Arc::new(Mutex::new(trouble));
        if let Some(store) = &store {
            let (app, now) = (app.clone(), store_trouble.clone());
            store.on_trouble(Arc::new(move |t: &StoreTrouble| {
                eprintln!("kovan: {}", t.line());
                *now.lock().unwrap_or_else(|e| e.into_inner()) = Some(t.clone());
                let _ = app.emit(STORE_TROUBLE, t);
            }));
        }
        let feed = {
            let _guard = tauri::async_runtime::handle().inner().enter();
            let app = app.clone();
            feed::start(FeedOptions::default(), move |batch: HealthBatch| {
                let _ = app.emit(INSTANCE_HEALTH, batch);
            })
        };
        let state = Self {
            file: RwLock::new(file),
            app,
            feed,
            focused: AtomicBool::new(true),
            visible: AtomicBool::new(true),
            workspace: RwLock::new(Err(WorkspaceError::NotFound {
                path: PathBuf::new(),
            })),
            supervisor: RwLock::new(None),
            poller: Mutex::new(None),
            store,
            store_trouble,
            counter: Counter::new(),
            flusher: Flusher::new(),
            leave_running: AtomicBool::new(false),
            lock: Mutex::new(None),
            supervision: RwLock::new(Supervision::Supervising),
        };
        state.reload();
        state
    }

    /// Watch the supervision for as long as the app runs: hand over when another Kovan asks,
    /// and, while only looking, follow what the supervisor does and take over once it is gone.
    pub fn watch_supervision(app: AppHandle) {
        // A thread of its own: a look reads files and /proc, and reloading builds a supervisor.
        std::thread::spawn(move || {
            // Taken only when nobody holds the lock at two looks in a row: just after this window
            // handed over, the one that asked may not have taken it yet.
            let mut free_before = false;
            loop {
                std::thread::sleep(WATCH_EVERY);
                let state = app.state::<AppState>();
                free_before = state.watch_once(free_before);
            }
        });
    }

    /// One look of [`AppState::watch_supervision`]; returns whether the lock was free.
    fn watch_once(&self, free_before: bool) -> bool {
        if self
            .workspace
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_err()
        {
            return false;
        }
        match self.supervision() {
            Supervision::Supervising => {
                let asked = self
                    .lock
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                    .and_then(|(_, l)| l.hand_over_asked());
                if let Some(by) = asked {
                    self.hand_over(by);
                }
                false
            }
            Supervision::Observing { .. } => {
                let Ok(ws) = self.workspace() else {
                    return false;
                };
                match kovan_core::supervisor::lock::holder(&ws.file) {
                    None if free_before => {
                        self.reload();
                        self.announce_supervision();
                        false
                    }
                    None => true,
                    Some(by) => {
                        let now = Supervision::Observing { by: by.clone() };
                        let before = std::mem::replace(
                            &mut *self.supervision.write().unwrap_or_else(|e| e.into_inner()),
                            now.clone(),
                        );
                        if before != now {
                            // Another program took over from the one named: its refusals and the
                            // banner name the new one.
                            if let Ok(s) = self.supervisor() {
                                s.set_supervised_by(&by);
                            }
                            self.announce_supervision();
                        }
                        self.look_again();
                        false
                    }
                }
            }
        }
    }

    /// Another Kovan asked to take over: let go of the lock without stopping anything (what this
    /// window started keeps its output read here) and only look from now on.
    fn hand_over(&self, to: String) {
        eprintln!(
            "kovan: {to} took over {}; this window only looks now",
            self.file().display()
        );
        let previous = self
            .supervisor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(previous) = previous {
            previous.retire();
        }
        *self.lock.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Ok(ws) = self.workspace() {
            let observer = Supervisor::observe(ws, self.store.clone());
            observer.set_supervised_by(&to);
            self.show(observer);
        }
        *self.supervision.write().unwrap_or_else(|e| e.into_inner()) =
            Supervision::Observing { by: to };
        self.announce_supervision();
    }

    /// While only looking: when the store's rows of the workspace's processes or those processes
    /// changed (core's `Supervisor::look_again`: one small query, a /proc read per row), read
    /// them again and tell the window what changed; else nothing is read or sent.
    fn look_again(&self) {
        let current = self
            .supervisor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(fresh) = current.and_then(|s| s.look_again()) {
            self.show(fresh);
        }
    }

    /// Show `fresh` (an observer) in place of the supervisor before it: each state that differs is
    /// sent to the window.
    fn show(&self, fresh: Supervisor) {
        let before: Vec<InstanceState> = self
            .supervisor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(Supervisor::states)
            .unwrap_or_default();
        for state in fresh.states() {
            if !before.contains(&state) {
                let _ = self.app.emit(INSTANCE_STATUS, &state);
            }
        }
        *self.supervisor.write().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
    }

    fn announce_supervision(&self) {
        let _ = self.app.emit(SUPERVISION_CHANGED, self.supervision());
    }

    pub fn supervision(&self) -> Supervision {
        self.supervision
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Ask the program that supervises the workspace to hand it over, wait until it lets go, then
    /// supervise: what it ran is adopted, nothing is stopped.
    pub async fn take_over(&self) -> Result<WorkspaceView, IpcError> {
        let file = self.workspace()?.file;
        let who = window_name();
        let lock = {
            let file = file.clone();
            tauri::async_runtime::spawn_blocking(move || {
                SupervisorLock::take_over(&file, &who, HAND_OVER_WAIT)
            })
            .await
            .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))??
        };
        *self.lock.lock().unwrap_or_else(|e| e.into_inner()) = Some((file, lock));
        let view = self.reload();
        self.announce_supervision();
        Ok(view)
    }

    /// Supervise `file` when nobody else does: keep the lock already held for it, or take it.
    fn supervise(&self, file: &std::path::Path) -> Supervision {
        let mut held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if held.as_ref().is_some_and(|(f, _)| f == file) {
            return Supervision::Supervising;
        }
        // Another workspace's lock goes first: this window supervises one workspace at a time.
        *held = None;
        match SupervisorLock::acquire(file, &window_name()) {
            Ok(lock) => {
                *held = Some((file.to_path_buf(), lock));
                Supervision::Supervising
            }
            Err(LockError::Held { by }) => Supervision::Observing { by },
            Err(e) => {
                // Without the lock file the window still supervises, as before there was one; said.
                eprintln!("kovan: {e}; supervising without it");
                Supervision::Supervising
            }
        }
    }

    /// Core's events become window events; log lines go to the subscribers' channels instead.
    fn sink(&self) -> EventSink {
        let app = self.app.clone();
        Arc::new(move |event| {
            if let kovan_core::supervisor::SupervisorEvent::Status(state) = event {
                let _ = app.emit(INSTANCE_STATUS, state);
            }
        })
    }

    /// The page is visible or hidden (minimized, another workspace of the desktop): a hidden
    /// window is sent no per-second figures and fetches `health_latest` when shown again.
    pub fn set_window_visible(&self, visible: bool) {
        self.visible.store(visible, Ordering::SeqCst);
        self.tell_feed();
    }

    /// The window gained or lost the focus: the live figures slow down while it is not focused.
    pub fn set_window_focused(&self, focused: bool) {
        self.focused.store(focused, Ordering::SeqCst);
        self.tell_feed();
    }

    fn tell_feed(&self) {
        let seen = match (
            self.visible.load(Ordering::SeqCst),
            self.focused.load(Ordering::SeqCst),
        ) {
            (false, _) => Seen::Hidden,
            (true, true) => Seen::Focused,
            (true, false) => Seen::Unfocused,
        };
        // The poller first: shown or focused again, its next checks are due at once.
        if let Some(poller) = &*self.poller.lock().unwrap_or_else(|e| e.into_inner()) {
            poller.set_seen(seen);
        }
        self.feed.set_seen(seen, &self.health_latest());
    }

    /// The poller's last check of every instance checked so far.
    pub fn health_latest(&self) -> Vec<InstanceHealth> {
        self.poller
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(PollerHandle::latest)
            .unwrap_or_default()
    }

    /// A cache operation's progress (count or flush) as `cache://progress` events.
    pub fn cache_progress<P: 'static>(
        &self,
        wrap: fn(P) -> CacheProgress,
    ) -> impl FnMut(P) + Send + 'static {
        let app = self.app.clone();
        move |progress| {
            let _ = app.emit("cache://progress", wrap(progress));
        }
    }

    /// The loaded workspace, cloned for an async command (a lock guard cannot cross an await).
    pub fn workspace(&self) -> Result<Workspace, IpcError> {
        self.with_workspace(|ws| Ok(ws.clone()))
    }

    pub fn view(&self) -> WorkspaceView {
        WorkspaceView::of(&self.workspace.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Run `f` on the loaded workspace; an invalid one is the error.
    pub fn with_workspace<T>(
        &self,
        f: impl FnOnce(&Workspace) -> Result<T, IpcError>,
    ) -> Result<T, IpcError> {
        match &*self.workspace.read().unwrap_or_else(|e| e.into_inner()) {
            Ok(ws) => f(ws),
            Err(e) => Err(IpcError::of(e)),
        }
    }

    /// The workspace's supervisor. While another program supervises the workspace it is an
    /// observer, which core makes refuse every start and stop (`supervised_elsewhere`, naming
    /// who): the window's commands and the tray need no check of their own.
    pub fn supervisor(&self) -> Result<Supervisor, IpcError> {
        let loaded = self.workspace.read().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = &*loaded {
            return Err(IpcError::of(e));
        }
        Ok(self
            .supervisor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .expect("a loaded workspace has a supervisor"))
    }

    /// Read kovan.toml again, so a fix made in an editor shows without restarting the app. Running
    /// instances carry over: the new supervisor adopts them from the store.
    pub fn reload(&self) -> WorkspaceView {
        let loaded = workspace::load(&self.file());
        if loaded.is_ok() {
            // A convenience for the first-run screen; never a reason to fail the load.
            let _ = RecentWorkspaces::open_default().remember(&self.file());
        }
        let view = WorkspaceView::of(&loaded);
        // Entering the runtime lets the supervisor and the poller start their tasks.
        let _guard = tauri::async_runtime::handle().inner().enter();
        let supervision = loaded
            .as_ref()
            .map_or(Supervision::Supervising, |ws| self.supervise(&ws.file));
        *self.supervision.write().unwrap_or_else(|e| e.into_inner()) = supervision.clone();
        let next = loaded.as_ref().ok().map(|ws| {
            if let Supervision::Observing { by } = &supervision {
                let s = Supervisor::observe(ws.clone(), self.store.clone());
                s.set_supervised_by(by);
                s
            } else {
                let s = Supervisor::new(ws.clone(), self.store.clone(), self.sink());
                s.set_actor("the Kovan window");
                s
            }
        });
        // The old poller stops first; the window has been sent nothing of the new one.
        drop(self.poller.lock().unwrap_or_else(|e| e.into_inner()).take());
        self.feed.reset();
        let poller = loaded.as_ref().ok().map(|ws| {
            health::start(
                ws.clone(),
                self.store.clone(),
                PollerOptions::default(),
                self.feed.sink(),
            )
        });
        *self.poller.lock().unwrap_or_else(|e| e.into_inner()) = poller;
        // A poller made while the window is hidden or unfocused starts at that pace.
        self.tell_feed();
        let previous = std::mem::replace(
            &mut *self.supervisor.write().unwrap_or_else(|e| e.into_inner()),
            next,
        );
        if let Some(previous) = previous {
            previous.retire();
        }
        *self.workspace.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        view
    }

    /// On exit: stop what this panel runs, unless the user chose to leave it running; a window
    /// that only looks stops nothing.
    pub fn shutdown(&self) {
        if self.supervision() != Supervision::Supervising {
            return;
        }
        let supervisor = self
            .supervisor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(s) = supervisor {
            let leave = self.leave_running.load(Ordering::SeqCst);
            tauri::async_runtime::block_on(s.shutdown(leave));
        }
    }

    pub fn store(&self) -> Option<&Arc<Store>> {
        self.store.as_ref()
    }

    /// What is wrong with the store now, if anything.
    pub fn store_trouble(&self) -> Option<StoreTrouble> {
        self.store_trouble
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The store, or the error that says history is off.
    pub fn history(&self) -> Result<&Store, IpcError> {
        self.store.as_deref().ok_or_else(|| {
            IpcError::new(
                ErrorKind::StoreUnavailable,
                "Kovan's history is off: its database could not be opened (see the terminal Kovan was started from).",
            )
        })
    }

    pub fn file(&self) -> PathBuf {
        self.file.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Show another workspace. What the current one runs is stopped first, as on exit, unless the
    /// user chose to leave it running (a later panel adopts it from the store).
    pub async fn switch(&self, file: PathBuf) -> WorkspaceView {
        let current = if self.supervision() == Supervision::Supervising {
            self.supervisor
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        } else {
            None
        };
        if let Some(s) = current {
            s.shutdown(self.leave_running.load(Ordering::SeqCst)).await;
        }
        *self.file.write().unwrap_or_else(|e| e.into_inner()) = workspace::file_in(&file);
        let view = self.reload();
        let _ = self.app.emit(WORKSPACE_SWITCHED, ());
        view
    }
}

/// How this window names itself in the lock and in what it stops.
fn window_name() -> String {
    format!("the Kovan window, PID {}", std::process::id())
}

/// `--workspace PATH` (or `--workspace=PATH`) from the command line, else `KOVAN_WORKSPACE`.
pub fn named_workspace(args: impl Iterator<Item = OsString>) -> Option<PathBuf> {
    let mut args = args.skip(1);
    let mut explicit = None;
    while let Some(arg) = args.next() {
        if arg == "--workspace" {
            explicit = args.next().map(PathBuf::from);
        } else if let Some(v) = arg.to_str().and_then(|a| a.strip_prefix("--workspace=")) {
            explicit = Some(PathBuf::from(v));
        }
    }
    workspace::named(explicit.as_deref(), std::env::var_os(workspace::ENV_VAR))
}

/// The example project: from the source tree in a debug build, else the installed resources.
pub fn bundled_example(app: &AppHandle) -> PathBuf {
    let source = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/context7"));
    if cfg!(debug_assertions) && source.join(workspace::FILE_NAME).is_file() {
        return workspace::file_in(&source);
    }
    let installed = app
        .path()
        .resource_dir()
        .map(|dir| dir.join("examples/context7"))
        .unwrap_or(source);
    workspace::file_in(&installed)
}
