//! Django Channels as Kovan sees it: detected by asking Django itself.

mod support;

use std::path::Path;
use std::process::Command;

use kovan_core::detect::{self, AsgiServer, DjangoAnswer, DjangoSettings};

/// The test venv linked as the project's `.venv`, which detection looks for.
fn link_test_venv(project: &Path) {
    let venv = support::python()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::os::unix::fs::symlink(venv, project.join(".venv")).unwrap();
}

fn settings_of(folder: &Path) -> DjangoSettings {
    match detect::detect(folder).unwrap().django {
        DjangoAnswer::Read(s) => *s,
        failed => panic!("{failed:?}"),
    }
}

#[test]
fn the_example_is_detected_as_a_channels_project_with_daphnes_runserver() {
    let dir = support::copy_example();
    link_test_venv(dir.path());
    let s = settings_of(dir.path());
    assert!(s.uses_channels(), "{s:?}");
    assert_eq!(
        s.asgi_application.as_deref(),
        Some("dashboard_project.asgi.application")
    );
    assert!(
        s.channels_version
            .as_deref()
            .is_some_and(|v| v.starts_with('4')),
        "{s:?}"
    );
    assert_eq!(
        s.channel_layer_backend.as_deref(),
        Some("channels.layers.InMemoryChannelLayer")
    );
    assert!(s.channels_redis_installed);
    assert_eq!(
        s.asgi_servers,
        vec![AsgiServer::DaphneRunserver, AsgiServer::Daphne]
    );
}

#[test]
fn a_plain_project_does_not_use_channels_even_where_channels_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(support::python().with_file_name("django-admin"))
        .args(["startproject", "plain"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project = dir.path().join("plain");
    link_test_venv(&project);
    let s = settings_of(&project);
    assert_eq!(
        s.asgi_application, None,
        "startproject sets no ASGI_APPLICATION"
    );
    assert!(s.channels_version.is_some(), "installed in the test venv");
    assert!(!s.uses_channels(), "{s:?}");
    assert_eq!(s.channel_layer_backend, None);
    // daphne is installed but not in INSTALLED_APPS: the command, not its runserver.
    assert_eq!(s.asgi_servers, vec![AsgiServer::Daphne]);

    // Naming an ASGI application is what makes it a Channels project.
    let settings = project.join("plain/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("\nASGI_APPLICATION = 'plain.asgi.application'\nCHANNEL_LAYERS = {'default': {'BACKEND': 'channels_redis.core.RedisChannelLayer'}}\n");
    std::fs::write(&settings, text).unwrap();
    let s = settings_of(&project);
    assert!(s.uses_channels());
    assert_eq!(
        s.channel_layer_backend.as_deref(),
        Some("channels_redis.core.RedisChannelLayer")
    );
}
