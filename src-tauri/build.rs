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
        ]));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
