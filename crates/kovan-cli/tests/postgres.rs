//! The managed PostgreSQL (Debian's postgresql, found under /usr/lib/postgresql/*/bin): the first
//! `kovan up` makes the cluster and one database and role per unit, Django migrates into them; a
//! second workspace shares the server, and stopping one leaves it running for the other; `kovan
//! db clone`, `reset` and `restore` with migrations; a wrong password, a port taken by another
//! process and a missing driver each refuse with their reason. Real servers on free loopback
//! ports, stopped (and the cluster removed) at the end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kovan_core::services::postgres::Cluster;
use kovan_testsupport::free_port;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn test_python() -> PathBuf {
    std::env::var_os("KOVAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var("HOME").unwrap()).join(".cache/kovan/test-venv/bin/python")
        })
}

/// A copy of the django42 fixture (a shop: a catalog table with two starter products from a data
/// migration) with a kovan.toml on the managed PostgreSQL of `data` at `pg_port`.
struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
}

impl Project {
    fn new(name: &str, instances: &[&str], database: &str, python: &Path, data: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(name);
        kovan_testsupport::copy_project(&repo().join("fixtures/django42"), &root);
        let mut toml = format!(
            "[project]\nname = \"{name}\"\nsettings = \"shop.settings\"\npython = \"{}\"\n\n[database]\n{database}\n",
            python.display()
        );
        for i in instances {
            toml.push_str(&format!(
                "\n[[instance]]\nname = \"{i}\"\nport = {}\ncache = \"locmem\"\n",
                free_port()
            ));
        }
        std::fs::write(root.join("kovan.toml"), toml).unwrap();
        let p = Self {
            _dir: dir,
            root,
            data: data.to_path_buf(),
        };
        p.ok(&["gen", "--write"]);
        p
    }

    fn kovan(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        // The nearest kovan.toml: `--workspace` after `manage a --` would be Django's.
        c.args(args)
            .current_dir(&self.root)
            .env("KOVAN_DATA_DIR", &self.data)
            .env_remove("KOVAN_WORKSPACE")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.kovan(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = both(&out);
        assert!(out.status.success(), "kovan {args:?} failed:\n{text}");
        text
    }

    /// `kovan up NAMES --yes` until they run, then SIGKILL: what it started stays, recorded.
    fn up(&self, names: &[&str]) -> String {
        let mut args = vec!["up"];
        args.extend(names);
        args.push("--yes");
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = self
            .kovan(&args)
            .stdout(log.reopen().unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut said = String::new();
        let want = format!("{} running", names.join(", "));
        for line in stderr.lines() {
            let line = line.unwrap();
            said.push_str(&line);
            said.push('\n');
            if line.contains(&want) {
                break;
            }
            assert!(
                Instant::now() < deadline && !line.starts_with("error:"),
                "kovan up {names:?}:\n{said}"
            );
        }
        assert!(said.contains(&want), "kovan up {names:?} ended:\n{said}");
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        child.wait().unwrap();
        said + &std::fs::read_to_string(log.path()).unwrap()
    }

    fn port(&self, instance: &str) -> u16 {
        let check: serde_json::Value =
            serde_json::from_str(&self.ok(&["check", "--json"])).unwrap();
        check["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == instance)
            .unwrap()["port"]
            .as_u64()
            .unwrap() as u16
    }

    fn health(&self, instance: &str) -> serde_json::Value {
        let body = get(self.port(instance), "/health/");
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"))
    }

    /// What a Django shell under the instance's environment prints.
    fn shell(&self, instance: &str, code: &str) -> String {
        let out = self.run(&["manage", instance, "--", "shell", "-c", code]);
        assert!(out.status.success(), "{}", both(&out));
        // The last line: Django 5.2's shell first says what it imported.
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_string()
    }
}

fn both(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// At the end, whatever failed: every workspace's `kovan stop --all` (last one first), then the
/// cluster's folder.
struct Cleanup<'a> {
    projects: Vec<&'a Project>,
    cluster: Cluster,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for _ in 0..2 {
            for p in self.projects.iter().rev() {
                let _ = p.run(&["stop", "--all"]);
            }
        }
        let _ = std::fs::remove_dir_all(&self.cluster.dir);
        // As root: the data dir's folder under /var/tmp, once empty.
        if let Some(parent) = self.cluster.dir.parent() {
            if parent.starts_with(kovan_core::services::postgres::ROOT_CLUSTERS) {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

const CATALOG_COUNT: &str = "from catalog.models import Product; print(Product.objects.count())";
const ADD_PRODUCT: &str =
    "from catalog.models import Product; Product.objects.create(name='kovan', price=1); print('added')";

#[test]
fn managed_postgres_is_made_shared_cloned_reset_and_stopped_when_nobody_uses_it() {
    let data = tempfile::tempdir().unwrap();
    let pg_port = free_port();
    let managed = format!("engine = \"postgresql\"\nmanaged = true\nport = {pg_port}");
    let python = test_python();
    let one = Project::new("one", &["a", "b"], &managed, &python, data.path());
    let two = Project::new("two", &["c"], &managed, &python, data.path());
    let wrong = Project::new(
        "wrong",
        &["w"],
        &format!("engine = \"postgresql\"\nurl = \"postgresql://kovan:not-the-password@127.0.0.1:{pg_port}/\""),
        &python,
        data.path(),
    );
    let cluster = Cluster::in_data_dir(data.path(), pg_port);
    let _cleanup = Cleanup {
        projects: vec![&one, &two],
        cluster: cluster.clone(),
    };
    // The env files (0600) hold each unit's role and its password.
    let env_a = std::fs::read_to_string(one.root.join(".env.a")).unwrap();
    assert!(env_a.contains("KOVAN_DATABASE_USER='one_a'"), "{env_a}");
    assert!(env_a.contains(&format!("KOVAN_DATABASE_PORT='{pg_port}'")));
    assert!(env_a.contains("KOVAN_DATABASE_PASSWORD='"));

    // First start: initdb, the server, both units' databases, Django's migrations in each.
    let started = Instant::now();
    let said = one.up(&["a", "b"]);
    let first_start = started.elapsed();
    assert!(said.contains("initdb made the cluster"), "{said}");
    assert!(
        cluster.initialized(),
        "no cluster in {}",
        cluster.dir.display()
    );
    let mode = std::fs::metadata(cluster.password_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the superuser password file");
    for (instance, database) in [("a", "one_a"), ("b", "one_b")] {
        let h = one.health(instance);
        assert_eq!(h["database"]["vendor"], "postgresql", "{h}");
        assert_eq!(h["database"]["name"], database, "{h}");
        assert_eq!(h["database"]["unapplied_migrations"], 0, "{h}");
    }
    assert_eq!(one.shell("a", CATALOG_COUNT), "2", "the data migration ran");
    // A connection under a's environment held open for the checks below (runserver's own close
    // with the request's thread, at a moment no test can choose).
    let mut holder = one
        .kovan(&[
            "manage",
            "a",
            "--",
            "shell",
            "-c",
            "import time; from django.db import connection; connection.ensure_connection(); print('held', flush=True); time.sleep(120)",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Django 5.2's shell first says what it imported.
    let mut said = String::new();
    for line in BufReader::new(holder.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        said.push_str(&line);
        if line.contains("held") {
            break;
        }
    }
    assert!(said.contains("held"), "{said}");
    // The card's figures: name, size, who is connected (each instance by its application_name).
    let status: serde_json::Value =
        serde_json::from_str(&one.ok(&["db", "status", "--json"])).unwrap();
    let rows = status.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{status}");
    assert!(rows
        .iter()
        .all(|r| r["sizeBytes"].as_i64().unwrap() > 1_000_000));
    let a_row = rows.iter().find(|r| r["name"] == "one_a").unwrap();
    assert!(
        a_row["connections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["applicationName"] == "one_a"),
        "{status}"
    );

    // A clone is refused while the source is in use, naming who holds it.
    let out = one.run(&["db", "clone", "b", "--from", "a"]);
    assert!(!out.status.success());
    let text = both(&out);
    assert!(
        text.contains("one_a is in use") && text.contains("one_a (PID"),
        "{text}"
    );
    // SAFETY: the kovan manage this test started; its shell ends with it.
    unsafe { libc::kill(holder.id() as i32, libc::SIGTERM) };
    holder.wait().unwrap();

    // A second workspace on the same port: no second initdb, its own database.
    let started = Instant::now();
    let said = two.up(&["c"]);
    let shared_start = started.elapsed();
    assert!(!said.contains("initdb"), "{said}");
    assert_eq!(two.health("c")["database"]["name"], "two_c");

    // A user of the server with a wrong password is refused with the server's reason.
    let out = wrong.run(&["up", "w", "--yes"]);
    let text = both(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("refused the password of `kovan`") && text.contains("[database] url"),
        "{text}"
    );

    // Stopping the first workspace leaves the server running for the second.
    let text = one.ok(&["stop", "--all"]);
    let expected = format!(
        "postgresql-server: left running: c ({}) use it",
        two.root.join("kovan.toml").display()
    );
    assert!(text.contains(&expected), "{text}");
    assert!(answers(pg_port));
    assert_eq!(two.health("c")["status"], "ok");

    // Clone (with its migrations' tables and rows), reset (empty, migrated again) and restore.
    assert_eq!(one.shell("a", ADD_PRODUCT), "added");
    let text = one.ok(&["db", "clone", "b", "--from", "a"]);
    assert!(
        text.contains("one_b: cloned") && text.contains("one_b_snapshot"),
        "{text}"
    );
    assert_eq!(one.shell("b", CATALOG_COUNT), "3", "b has a's rows");
    let out = one.run(&["db", "reset", "a"]);
    let text = both(&out);
    assert!(
        !out.status.success() && text.contains("reset one_a (PostgreSQL on 127.0.0.1"),
        "a reset without a terminal and without --yes:\n{text}"
    );
    let text = one.ok(&["db", "reset", "a", "--yes"]);
    assert!(text.contains("one_a: reset and migrated"), "{text}");
    assert_eq!(one.shell("a", CATALOG_COUNT), "2", "migrated afresh");
    one.ok(&["db", "restore", "a", "--yes"]);
    assert_eq!(one.shell("a", CATALOG_COUNT), "3", "the snapshot's rows");
    // Never on a database Kovan did not create: the other workspace's server-wide `postgres`.
    let out = one.run(&["db", "clone", "a", "--from", "nope"]);
    assert!(both(&out).contains("`nope` is neither an instance nor a site"));

    // The second workspace did not start the server; the first stops it once c is gone.
    two.ok(&["stop", "--all"]);
    assert!(
        answers(pg_port),
        "two did not start it, so two does not stop it"
    );
    let text = one.ok(&["stop", "--all"]);
    assert!(text.contains("postgresql-server: terminated"), "{text}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while answers(pg_port) {
        assert!(Instant::now() < deadline, "the server outlived its users");
        std::thread::sleep(Duration::from_millis(50));
    }
    // From an existing cluster: no initdb.
    let started = Instant::now();
    let said = one.up(&["a"]);
    let again = started.elapsed();
    assert!(!said.contains("initdb"), "{said}");
    assert_eq!(
        one.shell("a", CATALOG_COUNT),
        "3",
        "the data outlived the server"
    );
    eprintln!(
        "kovan up a b from nothing (initdb, migrations): {:.1} s; a second workspace: {:.1} s; a from the existing cluster: {:.1} s",
        first_start.as_secs_f64(),
        shared_start.as_secs_f64(),
        again.as_secs_f64()
    );
}

#[test]
fn a_port_taken_by_another_process_is_refused_naming_it() {
    let data = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let p = Project::new(
        "taken",
        &["a"],
        &format!("engine = \"postgresql\"\nmanaged = true\nport = {port}"),
        &test_python(),
        data.path(),
    );
    let _cleanup = Cleanup {
        projects: vec![&p],
        cluster: Cluster::in_data_dir(data.path(), port),
    };
    let out = p.run(&["up", "a", "--yes"]);
    let text = both(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "port {port} is taken by PID {}",
            std::process::id()
        )) && text.contains("not the PostgreSQL Kovan manages"),
        "{text}"
    );
    drop(taken);
}

#[test]
fn a_missing_driver_is_a_preflight_error_with_its_pip_command() {
    let data = tempfile::tempdir().unwrap();
    // Django without psycopg: the 5.2 venv of scripts/setup.sh test.
    let python =
        Path::new(&std::env::var("HOME").unwrap()).join(".cache/kovan/django-5.2/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup.sh test",
        python.display()
    );
    let port = free_port();
    let p = Project::new(
        "nodriver",
        &["a"],
        &format!("engine = \"postgresql\"\nmanaged = true\nport = {port}"),
        &python,
        data.path(),
    );
    let cluster = Cluster::in_data_dir(data.path(), port);
    let _cleanup = Cleanup {
        projects: vec![&p],
        cluster: cluster.clone(),
    };
    let out = p.run(&["up", "a", "--yes"]);
    let text = both(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("psycopg") && text.contains("pip install"),
        "{text}"
    );
    assert!(!cluster.dir.exists(), "nothing started before the refusal");
}

/// SQLite through the online backup API: clone copies the rows (a snapshot of the target first),
/// restore brings the target's back; a file kovan.toml names itself is not Kovan's to touch.
#[test]
fn sqlite_databases_are_cloned_and_restored_with_the_backup_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    std::fs::write(
        dir.path().join("kovan.toml"),
        format!(
            "[project]\nname = \"lite\"\nsettings = \"t.settings\"\n{}{}{}",
            "\n[[instance]]\nname = \"a\"\nport = 18501\ncache = \"locmem\"\n",
            "\n[[instance]]\nname = \"b\"\nport = 18502\ncache = \"locmem\"\n",
            "\n[[instance]]\nname = \"own\"\nport = 18503\ncache = \"locmem\"\ndatabase = \"mine.sqlite3\"\n"
        ),
    )
    .unwrap();
    let sql = |file: &str, script: &str| {
        let out = Command::new("python3")
            .arg("-c")
            .arg(
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); r = c.executescript(sys.argv[2]) if ';' in sys.argv[2] else c.execute(sys.argv[2]).fetchall(); c.commit(); print(r if isinstance(r, list) else '')",
            )
            .arg(dir.path().join(file))
            .arg(script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", both(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    sql(
        "db_a.sqlite3",
        "CREATE TABLE t (x); INSERT INTO t VALUES ('from a');",
    );
    sql(
        "db_b.sqlite3",
        "CREATE TABLE t (x); INSERT INTO t VALUES ('b before');",
    );
    let kovan = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kovan"))
            .args(args)
            .current_dir(dir.path())
            .env("KOVAN_DATA_DIR", data.path())
            .env_remove("KOVAN_WORKSPACE")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = kovan(&["db", "clone", "b", "--from", "a"]);
    assert!(out.status.success(), "{}", both(&out));
    assert!(
        both(&out).contains("db_b.sqlite3.kovan-snapshot"),
        "{}",
        both(&out)
    );
    assert_eq!(sql("db_b.sqlite3", "SELECT x FROM t"), "[('from a',)]");
    let out = kovan(&["db", "restore", "b", "--yes"]);
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(sql("db_b.sqlite3", "SELECT x FROM t"), "[('b before',)]");
    let out = kovan(&["db", "clone", "own", "--from", "a"]);
    assert!(!out.status.success());
    assert!(
        both(&out).contains("mine.sqlite3 is not a database Kovan created"),
        "{}",
        both(&out)
    );
    let out = kovan(&["db", "restore", "a", "--yes"]);
    assert!(both(&out).contains("has no snapshot"), "{}", both(&out));

    // The card's figures for SQLite: size, the snapshot, and who has the file open. A file held
    // open is not replaced under its holder: restore and clone are refused, naming the PID.
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT 1 FROM t').fetchall(); print('held', flush=True); time.sleep(60)")
        .arg(dir.path().join("db_b.sqlite3"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held");
    let pid = holder.id().to_string();
    let out = kovan(&["db", "status", "--json"]);
    assert!(out.status.success(), "{}", both(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance"] == "b")
        .unwrap();
    assert_eq!(b["name"], "db_b.sqlite3", "{rows}");
    assert!(b["sizeBytes"].as_i64().unwrap() > 0, "{rows}");
    assert_eq!(b["snapshot"], true, "{rows}");
    assert_eq!(b["connections"][0]["pid"].to_string(), pid, "{rows}");
    let own = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance"] == "own")
        .unwrap();
    assert!(
        own["notKovans"]
            .as_str()
            .unwrap()
            .contains("kovan.toml names it itself"),
        "{rows}"
    );
    for args in [
        &["db", "restore", "b", "--yes"][..],
        &["db", "clone", "b", "--from", "a"][..],
        &["db", "reset", "b", "--yes"][..],
    ] {
        let out = kovan(args);
        assert!(!out.status.success(), "{args:?}: {}", both(&out));
        assert!(
            both(&out).contains("is in use") && both(&out).contains(&format!("PID {pid}")),
            "{args:?}: {}",
            both(&out)
        );
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(sql("db_b.sqlite3", "SELECT x FROM t"), "[('b before',)]");
}
