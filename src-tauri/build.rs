fn main() {
    // Capabilities live beside the shell's sources, not at the root next to tauri.conf.json;
    // the app manifest turns each command into a permission that a capability must grant.
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(&[
            "workspace_view",
            "reload_workspace",
            "generator_plan",
            "generator_write",
            "export_env_files",
            "instance_states",
            "supervision",
            "take_over",
            "start_instance",
            "stop_instance",
            "restart_instance",
            "stop_lost_instance",
            "start_preset",
            "start_site",
            "stop_site",
            "front_door_health",
            "stop_all",
            "subscribe_logs",
            "redis_probe",
            "set_leave_running",
            "cache_counts",
            "flush_preview",
            "flush_preview_part",
            "flush_cache",
            "cancel_flush",
            "undo_flush",
            "health_latest",
            "health_samples",
            "set_window_visible",
            "event_history",
            "doctor_findings",
            "apply_fix",
            "store_notice",
            "open_workspace",
            "recent_workspaces",
            "propose_workspace",
            "create_workspace",
            "migrate_instance",
            "install_requirements",
            "set_language",
        ]));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
