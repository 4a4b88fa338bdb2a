//! A start whose interpreter lacks what the configuration needs is refused before anything
//! starts: `packages_missing`, with what is missing, the requirement and the exact pip command, no
//! port opened, no process spawned, no event sent. The interpreter is a real virtualenv: the test
//! venv's packages but `redis`, which the example's Redis-cached instances need.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use kovan_core::error::{Classified, ErrorDetail};
use kovan_core::platform;
use kovan_core::supervisor::{StartOptions, Supervisor, SupervisorError, SupervisorEvent};
use kovan_core::workspace;

/// The example copied, its kovan.toml's `.venv/bin/python` a virtualenv without redis, on free
/// ports, config generated.
fn example_without_redis() -> (tempfile::TempDir, kovan_core::Workspace) {
    let dir = support::copy_example();
    kovan_testsupport::venv_without(&support::python(), dir.path(), &["redis"]);
    let toml = dir.path().join("kovan.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    for port in ["8000", "8001", "8002", "8003"] {
        text = text.replace(
            &format!("port = {port}"),
            &format!("port = {}", support::free_port()),
        );
    }
    text = text
        .replace(
            "front_door = 8080",
            &format!("front_door = {}", support::free_port()),
        )
        // Nothing answers there: a start that got past the preflight would fail otherwise.
        .replace(
            "redis://127.0.0.1:6379/0",
            &format!("redis://127.0.0.1:{}/0", support::free_port()),
        );
    std::fs::write(&toml, text).unwrap();
    let ws = workspace::load(dir.path()).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    (dir, ws)
}

fn supervisor(ws: kovan_core::Workspace) -> (Supervisor, Arc<Mutex<Vec<SupervisorEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let sup = Supervisor::new(ws, None, Arc::new(move |e| sink.lock().unwrap().push(e)));
    (sup, events)
}

/// The refusal's typed detail, as the window reads it.
fn packages_detail(
    e: &SupervisorError,
) -> (String, String, Vec<String>, Option<String>, Vec<String>) {
    match e.detail() {
        Some(ErrorDetail::Packages(p)) => (
            p.instance,
            p.python,
            p.requirements,
            p.command,
            p.missing.into_iter().map(|m| m.import).collect(),
        ),
        other => panic!("not a packages detail: {other:?} ({e})"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_without_redis_in_the_venv_is_refused_with_the_pip_command_and_starts_nothing() {
    let (_dir, ws) = example_without_redis();
    let port = ws.instance("review").unwrap().port;
    let (sup, events) = supervisor(ws);

    let cold = Instant::now();
    let first = sup.preflight("review", StartOptions::default());
    let cold = cold.elapsed();
    let warm = Instant::now();
    let again = sup.preflight("review", StartOptions::default());
    let warm = warm.elapsed();
    eprintln!("preflight's package check: {cold:?} the first time, {warm:?} cached");
    assert_eq!(first.unwrap_err().kind().as_str(), "packages_missing");
    assert_eq!(again.unwrap_err().kind().as_str(), "packages_missing");

    let err = sup
        .start("review", StartOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "packages_missing", "{err}");
    let (instance, python, requirements, command, missing) = packages_detail(&err);
    assert_eq!(instance, "review");
    assert_eq!(python, ".venv/bin/python");
    assert_eq!(missing, ["redis"]);
    assert_eq!(requirements, ["redis>=5"]);
    assert_eq!(
        command.as_deref(),
        Some(".venv/bin/python -m pip install 'redis>=5'")
    );
    // As it crosses into the window: one flat object under its type.
    let crossed = serde_json::to_value(kovan_core::error::IpcError::of(&err)).unwrap();
    assert_eq!(crossed["kind"], "packages_missing");
    assert_eq!(crossed["detail"]["type"], "packages");
    assert_eq!(
        crossed["detail"]["command"],
        ".venv/bin/python -m pip install 'redis>=5'"
    );
    assert_eq!(crossed["detail"]["missing"][0]["import"], "redis");
    let text = err.to_string();
    assert!(
        text.contains("nothing was started") && text.contains("pip install 'redis>=5'"),
        "{text}"
    );

    assert!(platform::port_is_free(port), "review's port {port} opened");
    assert!(
        sup.states().iter().all(|s| s.pid.is_none()),
        "something was spawned: {:?}",
        sup.states()
    );
    let events = events.lock().unwrap();
    assert!(events.is_empty(), "events were sent: {events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_start_names_what_its_members_lack_once_and_starts_none() {
    let (_dir, ws) = example_without_redis();
    let ports: Vec<u16> = ["chat_main", "chat_api", "chat_websocket"]
        .iter()
        .map(|m| ws.instance(m).unwrap().port)
        .collect();
    let (sup, events) = supervisor(ws);
    let err = sup.start_site("chat").await.unwrap_err();
    let SupervisorError::Preflight { problems, .. } = &err else {
        panic!("not a preflight refusal: {err}");
    };
    let packages: Vec<&SupervisorError> = problems
        .iter()
        .filter(|p| p.kind().as_str() == "packages_missing")
        .collect();
    assert_eq!(packages.len(), 1, "{problems:?}");
    let (instance, _, requirements, command, missing) = packages_detail(packages[0]);
    // chat_main and chat_api both use the Redis cache: redis is named once.
    assert_eq!(instance, "chat_main");
    assert_eq!(missing, ["redis"]);
    assert_eq!(requirements, ["redis>=5"]);
    assert!(command.unwrap().ends_with("-m pip install 'redis>=5'"));
    for port in ports {
        assert!(platform::port_is_free(port), "port {port} opened");
    }
    assert!(sup.states().iter().all(|s| s.pid.is_none()));
    assert!(events.lock().unwrap().is_empty());
}
