// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod launch;
mod state;
mod tray;

use tauri::Manager;

fn main() {
    kovan_core::diagnostics::start_log(kovan_core::diagnostics::Program::Window, false);
    tracing::info!("Kovan's window {} starting", env!("CARGO_PKG_VERSION"));
    launch::before_the_window(std::env::args_os());
    let named = state::named_workspace(std::env::args_os());
    let app = tauri::Builder::default()
        // First: a second launch only focuses the panel that already runs the instances.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        // Size and position come back where the user left them.
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .setup(move |app| {
            let file = named
                .clone()
                .unwrap_or_else(|| state::bundled_example(app.handle()));
            app.manage(state::AppState::open(app.handle().clone(), file));
            state::AppState::watch_supervision(app.handle().clone());
            tray::install(app.handle());
            Ok(())
        })
        // An unfocused window is sent the live health figures less often (core's health::feed).
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Focused(focused) = event {
                if let Some(state) = window.try_state::<state::AppState>() {
                    state.set_window_focused(*focused);
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::workspace_view,
            commands::reload_workspace,
            commands::generator_plan,
            commands::generator_write,
            commands::export_env_files,
            commands::instance_states,
            commands::supervision,
            commands::take_over,
            commands::start_instance,
            commands::stop_instance,
            commands::restart_instance,
            commands::stop_lost_instance,
            commands::start_preset,
            commands::start_site,
            commands::stop_site,
            commands::front_door_health,
            commands::stop_all,
            commands::subscribe_logs,
            commands::redis_probe,
            commands::set_leave_running,
            commands::cache_counts,
            commands::flush_preview,
            commands::flush_preview_part,
            commands::key_groups,
            commands::flush_cache,
            commands::undo_flush,
            commands::cancel_flush,
            commands::health_latest,
            commands::health_samples,
            commands::set_window_visible,
            commands::event_history,
            commands::doctor_findings,
            commands::apply_fix,
            commands::store_notice,
            commands::open_workspace,
            commands::recent_workspaces,
            commands::propose_workspace,
            commands::create_workspace,
            commands::migrate_instance,
            commands::install_requirements,
            commands::database_status,
            commands::database_reset,
            commands::database_restore,
            commands::database_clone,
            commands::set_language,
            commands::diagnostic_log
        ])
        .build(tauri::generate_context!())
        .expect("Kovan could not start its window");
    app.run(|app, event| {
        if let tauri::RunEvent::Exit = event {
            tracing::info!("Kovan's window closing");
            app.state::<state::AppState>().shutdown();
        }
    });
}
