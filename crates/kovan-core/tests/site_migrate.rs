//! Starting a site as the window does (`Supervisor::start_site`) on a copy of fixtures/wsgisite,
//! real Django through the test venv: the members' shared SQLite database is migrated once, the
//! migrate output goes to the site's log, then the members start and the front door opens. A
//! migration that fails stops the start with `site_not_migrated` and starts no member. The
//! policy (`migrate` in kovan.toml): "auto" migrates then starts; "ask" (the default) refuses with
//! `migrations_pending` until the user says yes; "never" starts them up but not ready, saying
//! how many are missing. migrate's lines also reach the member's logs/{name}.log.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use kovan_core::error::Classified;
use kovan_core::supervisor::{RunStatus, Supervisor, SupervisorError, SupervisorEvent};
use kovan_core::workspace::{self, Workspace};
use support::free_port;

const MEMBERS: [&str; 3] = ["board_main", "board_api", "board_websocket"];

/// The front door's files go to a data dir of this test binary's own.
fn data_dir() {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("KOVAN_DATA_DIR", dir.path());
        dir
    });
}

/// fixtures/wsgisite copied, the site `board` of three members on free ports, its config
/// generated; no database yet, so every migration is unapplied. `migrate`: the project's policy
/// line, when given.
fn board(extra_migration: Option<&str>, migrate: Option<&str>) -> (tempfile::TempDir, Workspace) {
    data_dir();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    kovan_testsupport::copy_project(&support::repo_root().join("fixtures/wsgisite"), root);
    if let Some(source) = extra_migration {
        std::fs::write(root.join("notes/migrations/0002_more.py"), source).unwrap();
    }
    let mut toml = format!(
        "[project]\nname = \"board\"\nsettings = \"board.settings\"\npython = {:?}\n",
        support::python().display().to_string()
    );
    if let Some(policy) = migrate {
        toml.push_str(&format!("migrate = \"{policy}\"\n"));
    }
    for (name, role) in MEMBERS.iter().zip(["main", "api", "websocket"]) {
        toml.push_str(&format!(
            "\n[[instance]]\nname = \"{name}\"\nport = {}\nrole = \"{role}\"\ncache = \"locmem\"\n",
            free_port()
        ));
    }
    toml.push_str(&format!(
        "\n[site.board]\ninstances = [\"board_main\", \"board_api\", \"board_websocket\"]\nfront_door = {}\n",
        free_port()
    ));
    std::fs::write(root.join("kovan.toml"), toml).unwrap();
    let ws = workspace::load(root).unwrap();
    kovan_core::generate::write(&kovan_core::generate::plan(&ws).unwrap(), None).unwrap();
    (dir, ws)
}

/// Kills what the supervisor still runs when a test ends early (a failed assertion).
struct KillOnDrop(Supervisor);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for s in self.0.states() {
            if let Some(pid) = s.pid {
                // SAFETY: signalling a process group this test's supervisor started.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        }
    }
}

fn supervisor(ws: Workspace) -> (Supervisor, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    // The site's log lines as the window receives them: through the event sink.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let sink = std::sync::Arc::new(move |e: SupervisorEvent| {
        if let SupervisorEvent::Log { instance, lines } = e {
            if instance == "board" {
                s.lock().unwrap().extend(lines.into_iter().map(|l| l.text));
            }
        }
    });
    (Supervisor::new(ws, None, sink), seen)
}

/// (app, name) of every applied migration of `app` in the SQLite file.
fn applied(db: &Path, app: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM django_migrations WHERE app = ?1 ORDER BY id")
        .unwrap();
    let names = stmt
        .query_map([app], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names
}

fn count(lines: &[String], text: &str) -> usize {
    lines.iter().filter(|l| l.contains(text)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_site_migrates_its_shared_database_once_then_starts_its_members() {
    let (_dir, ws) = board(None, Some("auto"));
    let db = ws.project.django_root.join("db_board.sqlite3");
    let log_file = ws.project.django_root.join("logs/board_main.log");
    assert!(!db.exists(), "a fresh copy has no database");
    let ports: Vec<u16> = MEMBERS
        .iter()
        .map(|m| ws.instance(m).unwrap().port)
        .collect();
    let (sup, seen) = supervisor(ws);
    let _guard = KillOnDrop(sup.clone());

    let states = sup.start_site("board").await.unwrap();
    let running: Vec<(&str, RunStatus)> = states
        .iter()
        .map(|s| (s.instance.as_str(), s.status))
        .collect();
    assert_eq!(
        running,
        [
            ("board_main", RunStatus::Running),
            ("board_api", RunStatus::Running),
            ("board_websocket", RunStatus::Running),
            ("board", RunStatus::Running),
        ],
        "{states:#?}"
    );
    // One database for the three, with the app's migration applied once.
    assert_eq!(applied(&db, "notes"), ["0001_initial"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let table: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'notes_note'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(table, 1);
    // Every member reads that database (the note count comes from the shared table).
    for port in &ports {
        let (status, body) = support::http(*port, "GET", "/", &[]);
        assert_eq!((status, body.trim()), (200, "0 notes"), "port {port}");
    }

    // The migrate output reached the site's log once: in its ring and through the sink.
    let log: Vec<String> = sup
        .logs("board")
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(
        count(
            &log,
            "migrating the database of board_main, board_api, board_websocket once, through board_main: 1"
        ),
        1,
        "{log:#?}"
    );
    assert_eq!(
        count(&log, "Applying notes.0001_initial... OK"),
        1,
        "{log:#?}"
    );
    assert_eq!(count(&log, "Running migrations:"), 1, "{log:#?}");
    let streamed = seen.lock().unwrap().clone();
    assert_eq!(
        count(&streamed, "Applying notes.0001_initial... OK"),
        1,
        "{streamed:#?}"
    );
    // And to the log file of the member it ran through, beside that member's own output.
    let file: Vec<String> = std::fs::read_to_string(&log_file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        count(&file, "Applying notes.0001_initial... OK"),
        1,
        "{file:#?}"
    );
    assert_eq!(
        count(
            &file,
            "kovan: manage.py migrate --noinput under board_main's environment"
        ),
        1,
        "{file:#?}"
    );
    assert_eq!(count(&file, "kovan: migrate done"), 1, "{file:#?}");

    // Started again, nothing is left to apply: no second migrate.
    for r in sup.stop_site("board").await.unwrap() {
        r.unwrap();
    }
    let states = sup.start_site("board").await.unwrap();
    assert!(
        states.iter().all(|s| s.status == RunStatus::Running),
        "{states:#?}"
    );
    let log: Vec<String> = sup
        .logs("board")
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(count(&log, "Running migrations:"), 1, "{log:#?}");
    assert_eq!(applied(&db, "notes"), ["0001_initial"]);
    for r in sup.stop_site("board").await.unwrap() {
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_that_fails_starts_no_member_and_says_so() {
    let broken = "from django.db import migrations\n\n\n\
                  def refuse(apps, schema_editor):\n    raise RuntimeError('the notes table is locked by policy')\n\n\n\
                  class Migration(migrations.Migration):\n    dependencies = [('notes', '0001_initial')]\n    operations = [migrations.RunPython(refuse)]\n";
    let (_dir, ws) = board(Some(broken), Some("auto"));
    let db = ws.project.django_root.join("db_board.sqlite3");
    let ports: Vec<u16> = MEMBERS
        .iter()
        .map(|m| ws.instance(m).unwrap().port)
        .collect();
    let (sup, _seen) = supervisor(ws);
    let _guard = KillOnDrop(sup.clone());

    let err = sup.start_site("board").await.unwrap_err();
    assert!(
        matches!(&err, SupervisorError::SiteNotMigrated { site, .. } if site == "board"),
        "{err:?}"
    );
    assert_eq!(err.kind().as_str(), "site_not_migrated");
    let message = err.to_string();
    assert!(
        message.contains("none of its members was started")
            && message.contains("RuntimeError: the notes table is locked by policy"),
        "{message}"
    );
    for m in MEMBERS {
        let state = sup.state(m).unwrap();
        assert_eq!(state.status, RunStatus::Stopped, "{m}: {state:?}");
        assert_eq!(state.pid, None, "{m}");
    }
    for port in ports {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "nothing listens on {port}"
        );
    }
    assert_eq!(sup.state("board").unwrap().status, RunStatus::Stopped);
    // The first migration went in before the second refused; the second is not recorded.
    assert_eq!(applied(&db, "notes"), ["0001_initial"]);
    let log: Vec<String> = sup
        .logs("board")
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(
        count(&log, "RuntimeError: the notes table is locked by policy"),
        2,
        "the traceback's line and the note saying nothing started: {log:#?}"
    );
}

fn ring(sup: &Supervisor, name: &str) -> Vec<String> {
    sup.logs(name)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect()
}

/// The default policy, "ask": the window's Start does not migrate behind the user's back. It
/// refuses with `migrations_pending` (which unit, through whom, how many), starts nothing and
/// applies nothing; the same start with the user's yes migrates once and starts the site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_refuses_a_start_with_migrations_pending_until_the_user_says_yes() {
    use kovan_core::error::{ErrorDetail, IpcError};
    use kovan_core::supervisor::{MigrateFirst, StartOptions};
    let (_dir, ws) = board(None, None);
    assert_eq!(
        ws.migrate_policy("board_api"),
        workspace::MigratePolicy::Ask
    );
    let db = ws.project.django_root.join("db_board.sqlite3");
    let (sup, _seen) = supervisor(ws);
    let _guard = KillOnDrop(sup.clone());

    let err = sup.start_site("board").await.unwrap_err();
    assert_eq!(err.kind().as_str(), "migrations_pending", "{err:?}");
    let ipc = IpcError::of(&err);
    assert_eq!(
        ipc.detail,
        Some(ErrorDetail::Migrations {
            unit: "board".into(),
            instance: "board_main".into(),
            unapplied: 16,
        }),
        "{ipc:?}"
    );
    assert!(
        ipc.message.contains("16 migrations not applied (")
            && ipc.message.contains("kovan migrate board_main"),
        "{}",
        ipc.message
    );
    for m in MEMBERS {
        assert_eq!(sup.state(m).unwrap().status, RunStatus::Stopped, "{m}");
    }
    assert!(
        !db.exists() || applied(&db, "notes").is_empty(),
        "nothing applied"
    );
    assert_eq!(
        count(
            &ring(&sup, "board"),
            "kovan: not started: board_main: 16 migrations not applied"
        ),
        1
    );

    // One member alone: the same refusal, for the site's database.
    let err = sup
        .start("board_api", StartOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "migrations_pending", "{err:?}");
    assert_eq!(sup.state("board_api").unwrap().status, RunStatus::Stopped);

    // Started as it is (as `kovan up` does after its terminal's no), then restarted: a restart
    // under "ask" does not ask again, so the instance comes back instead of being stopped and then
    // refused.
    let as_it_is = StartOptions {
        migrate: MigrateFirst::Decided,
        ..StartOptions::default()
    };
    let state = sup.start("board_api", as_it_is).await.unwrap();
    assert_eq!(
        (state.status, state.unapplied_migrations),
        (RunStatus::Running, Some(16)),
        "{state:?}"
    );
    let state = sup.restart("board_api").await.unwrap();
    assert_eq!(
        (state.status, state.unapplied_migrations),
        (RunStatus::Running, Some(16)),
        "{state:?}"
    );
    sup.stop("board_api").await.unwrap();

    // The user said yes (the window's confirm): migrated once, then started.
    let states = sup
        .start_site_with("board", MigrateFirst::Yes)
        .await
        .unwrap();
    assert!(
        states
            .iter()
            .all(|s| s.status == RunStatus::Running && s.unapplied_migrations.is_none()),
        "{states:#?}"
    );
    assert_eq!(applied(&db, "notes"), ["0001_initial"]);
    for r in sup.stop_site("board").await.unwrap() {
        r.unwrap();
    }
}

/// "never": a start applies nothing; the member serves, is up but not ready, and says how many
/// migrations are missing (not "did not answer within 30 s"). Applied from outside (the card's
/// Apply), it no longer says so, and migrate's lines are in its log file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_starts_without_migrating_up_but_not_ready_with_the_count() {
    use kovan_core::supervisor::StartOptions;
    let (_dir, ws) = board(None, Some("never"));
    let root = ws.project.django_root.clone();
    let port = ws.instance("board_main").unwrap().port;
    let (sup, _seen) = supervisor(ws.clone());
    let _guard = KillOnDrop(sup.clone());

    let begun = std::time::Instant::now();
    let state = sup
        .start("board_main", StartOptions::default())
        .await
        .unwrap();
    assert_eq!(state.status, RunStatus::Running, "{state:?}");
    assert_eq!(state.unapplied_migrations, Some(16), "{state:?}");
    let detail = state.detail.clone().unwrap_or_default();
    assert!(
        detail.contains("16 migrations not applied") && !detail.contains("within"),
        "{detail}"
    );
    assert!(
        begun.elapsed() < ws.supervisor.start_timeout,
        "it did not wait for the start timeout"
    );
    let log = ring(&sup, "board_main");
    assert_eq!(
        count(&log, "not applied (migrate = \"never\")"),
        1,
        "{log:#?}"
    );
    assert_eq!(
        count(&log, "kovan: up, not ready: 16 migrations not applied"),
        1,
        "{log:#?}"
    );
    assert_eq!(
        count(&log, "Running migrations:"),
        0,
        "nothing applied: {log:#?}"
    );
    // Not green: /health/ answers 503 for the migrations.
    let (status, _) = support::http(port, "GET", "/health/", &[]);
    assert_eq!(status, 503);

    // Applied as the card's Apply does: the state no longer says pending, /health/ is 200.
    kovan_core::django::migrate_named(&ws, "board_main", |_| {}).unwrap();
    sup.migrations_applied("board_main");
    let state = sup.state("board_main").unwrap();
    assert_eq!(
        (
            state.status,
            state.unapplied_migrations,
            state.detail.clone()
        ),
        (RunStatus::Running, None, None)
    );
    let (status, body) = support::http(port, "GET", "/health/", &[]);
    assert_eq!(status, 200, "{body}");
    let file = std::fs::read_to_string(root.join("logs/board_main.log")).unwrap();
    assert!(
        file.contains("Applying notes.0001_initial... OK") && file.contains("kovan: migrate done"),
        "{file}"
    );
    sup.stop("board_main").await.unwrap();
}
