// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod state;

use tauri::Manager;

fn main() {
    let named = state::named_workspace(std::env::args_os());
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let file = named
                .clone()
                .unwrap_or_else(|| state::bundled_example(app.handle()));
            app.manage(state::AppState::open(file));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::workspace_view,
            commands::reload_workspace,
            commands::generator_plan,
            commands::generator_write,
            commands::export_env_files
        ])
        .run(tauri::generate_context!())
        .expect("Kovan could not start its window");
}
