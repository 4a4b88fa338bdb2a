//! The tray icon: the presets, "Tümünü durdur" and each instance's state, within reach while the
//! window is hidden. Its words follow the window's language (the UI tells it with `set_language`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use kovan_core::supervisor::{InstanceState, MigrateFirst, RunStatus};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::Listener;
use tauri::{AppHandle, Manager, Wry};

use crate::state::{AppState, INSTANCE_STATUS, WORKSPACE_SWITCHED};

const TRAY_ID: &str = "kovan";

/// What the menu shows; kept here so a status event can redraw it without asking the supervisor.
#[derive(Default)]
pub struct TrayModel {
    language: String,
    states: BTreeMap<String, RunStatus>,
    menu: Option<Menu<Wry>>,
}

pub type TrayState = Mutex<TrayModel>;

/// Put the icon in the tray. A desktop without a tray (or without libayatana-appindicator) only
/// loses the icon, never the window.
pub fn install(app: &AppHandle) {
    app.manage(TrayState::default());
    // The tray follows the app's own events, so the state it shows never calls into the tray.
    let handle = app.clone();
    app.listen(INSTANCE_STATUS, move |event| {
        if let Ok(state) = serde_json::from_str::<InstanceState>(event.payload()) {
            status(&handle, &state);
        }
    });
    let handle = app.clone();
    app.listen(WORKSPACE_SWITCHED, move |_| redraw(&handle));
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> tauri::Result<()> {
        let menu = Menu::new(app)?;
        let mut builder = TrayIconBuilder::with_id(TRAY_ID)
            .menu(&menu)
            .tooltip("Kovan")
            .on_menu_event(|app, event| on_click(app, event.id().as_ref()));
        if let Some(icon) = app.default_window_icon() {
            builder = builder.icon(icon.clone());
        }
        builder.build(app)?;
        if let Some(tray) = app.try_state::<TrayState>() {
            tray.inner().lock().unwrap_or_else(|e| e.into_inner()).menu = Some(menu);
        }
        Ok(())
    }));
    match built {
        Ok(Ok(())) => redraw(app),
        Ok(Err(e)) => eprintln!("kovan: no tray icon: {e}"),
        Err(_) => eprintln!("kovan: no tray icon: this desktop has no tray support"),
    }
}

/// Change the model, then redraw; nothing before the tray and the app state exist.
fn update(app: &AppHandle, change: impl FnOnce(&mut TrayModel)) {
    let Some(tray) = app.try_state::<TrayState>() else {
        return;
    };
    change(&mut tray.inner().lock().unwrap_or_else(|e| e.into_inner()));
    redraw(app);
}

pub fn set_language(app: &AppHandle, language: &str) {
    update(app, |m| m.language = language.to_string());
}

/// Follow an instance's state change.
fn status(app: &AppHandle, state: &InstanceState) {
    update(app, |m| {
        m.states.insert(state.instance.clone(), state.status);
    });
}

/// Build the menu's items again from the workspace and the states known.
pub fn redraw(app: &AppHandle) {
    let (Some(tray), Some(state)) = (app.try_state::<TrayState>(), app.try_state::<AppState>())
    else {
        return;
    };
    let view = state.view();
    let (language, states, menu) = {
        let model = tray.inner().lock().unwrap_or_else(|e| e.into_inner());
        (
            model.language.clone(),
            model.states.clone(),
            model.menu.clone(),
        )
    };
    let Some(menu) = menu else { return };
    let words = Words::of(&language);
    let result = (|| -> tauri::Result<()> {
        // Linux keeps a tray's first menu: its items are replaced instead.
        for item in menu.items()? {
            menu.remove(&item)?;
        }
        if let kovan_core::WorkspaceView::Loaded(ws) = &view {
            menu.append(&MenuItem::with_id(
                app,
                "title",
                format!("Kovan — {}", ws.name),
                false,
                None::<&str>,
            )?)?;
            for i in &ws.instances {
                let status = states.get(&i.name).copied().unwrap_or(RunStatus::Stopped);
                let text = format!("{} {}: {}", dot(status), i.name, words.status(status));
                menu.append(&MenuItem::with_id(
                    app,
                    format!("instance:{}", i.name),
                    text,
                    false,
                    None::<&str>,
                )?)?;
            }
            menu.append(&PredefinedMenuItem::separator(app)?)?;
            for p in &ws.presets {
                let id = format!("preset:{}", p.name);
                menu.append(&MenuItem::with_id(
                    app,
                    id,
                    words.preset(&p.name),
                    true,
                    None::<&str>,
                )?)?;
            }
            menu.append(&MenuItem::with_id(
                app,
                "stop-all",
                words.stop_all,
                true,
                None::<&str>,
            )?)?;
            menu.append(&PredefinedMenuItem::separator(app)?)?;
        }
        menu.append(&MenuItem::with_id(
            app,
            "show",
            words.show,
            true,
            None::<&str>,
        )?)?;
        menu.append(&MenuItem::with_id(
            app,
            "quit",
            words.quit,
            true,
            None::<&str>,
        )?)?;
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("kovan: the tray menu could not be updated: {e}");
    }
}

fn on_click(app: &AppHandle, id: &str) {
    let app = app.clone();
    match id {
        "show" => {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.show();
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }
        // The exit handler stops what runs (unless "leave running" is on).
        "quit" => app.exit(0),
        "stop-all" => {
            tauri::async_runtime::spawn(async move {
                if let Ok(s) = app.state::<AppState>().supervisor() {
                    s.stop_all().await;
                }
            });
        }
        other => {
            if let Some(preset) = other.strip_prefix("preset:").map(str::to_owned) {
                tauri::async_runtime::spawn(async move {
                    if let Ok(s) = app.state::<AppState>().supervisor() {
                        // As kovan.toml's `migrate` says: "ask" is refused here (nobody is asked
                        // in a tray menu); the window's banner offers the yes.
                        if let Err(e) = s.start_preset(&preset, MigrateFirst::Policy).await {
                            eprintln!("kovan: {preset}: {e}");
                        }
                    }
                });
            }
        }
    }
}

fn dot(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "●",
        RunStatus::Crashed | RunStatus::FailedToStart => "✕",
        RunStatus::Starting | RunStatus::Stopping => "◐",
        RunStatus::Stopped => "○",
    }
}

/// The tray's words in the window's two languages (Turkish by default, like the window).
struct Words {
    english: bool,
    stop_all: &'static str,
    show: &'static str,
    quit: &'static str,
}

impl Words {
    fn of(language: &str) -> Self {
        let english = language == "en";
        Self {
            english,
            stop_all: if english {
                "Stop all"
            } else {
                "Tümünü durdur"
            },
            show: if english {
                "Show Kovan"
            } else {
                "Kovan’ı göster"
            },
            quit: if english {
                "Quit (stops what Kovan started)"
            } else {
                "Çık (Kovan’ın başlattıklarını durdurur)"
            },
        }
    }

    fn preset(&self, name: &str) -> String {
        match (name, self.english) {
            ("dev", false) => "Dev çiftini başlat".into(),
            ("dev", true) => "Start the dev pair".into(),
            ("chat", false) => "Chat üçlüsünü başlat".into(),
            ("chat", true) => "Start the chat trio".into(),
            (other, false) => format!("“{other}” hazır ayarını başlat"),
            (other, true) => format!("Start preset “{other}”"),
        }
    }

    fn status(&self, status: RunStatus) -> &'static str {
        match (status, self.english) {
            (RunStatus::Stopped, false) => "Durduruldu",
            (RunStatus::Starting, false) => "Başlatılıyor",
            (RunStatus::Running, false) => "Çalışıyor",
            (RunStatus::Stopping, false) => "Durduruluyor",
            (RunStatus::Crashed, false) => "Çöktü",
            (RunStatus::FailedToStart, false) => "Başlatılamadı",
            (RunStatus::Stopped, true) => "Stopped",
            (RunStatus::Starting, true) => "Starting",
            (RunStatus::Running, true) => "Running",
            (RunStatus::Stopping, true) => "Stopping",
            (RunStatus::Crashed, true) => "Crashed",
            (RunStatus::FailedToStart, true) => "Failed to start",
        }
    }
}
