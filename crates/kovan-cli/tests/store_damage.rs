//! A damaged, deleted or unwritable store loses no running instance and is never silent: with
//! `kovan up dev` running (examples/context7 on Django 5.2, its managed Redis), the store is
//! damaged each way below; `kovan status` still shows both instances running and warns on stderr,
//! `kovan stop --all` stops the four runserver processes and frees the ports, and an unrelated
//! `setsid sleep` started from the same folder is left alone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kovan_testsupport::free_port;

const MEMBERS: [&str; 2] = ["chat_main", "chat_api"];

/// examples/context7 in a temporary folder on Django 5.2, on free ports with a Redis of its own.
fn example_copy(root: &Path) {
    let home = std::env::var("HOME").unwrap();
    let venv = Path::new(&home).join(".cache/kovan/django-5.2");
    assert!(
        venv.join("bin/python").is_file(),
        "run scripts/setup.sh test"
    );
    kovan_testsupport::copy_project(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/context7"),
        root,
    );
    std::os::unix::fs::symlink(&venv, root.join(".venv")).unwrap();
    let toml = root.join("kovan.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text = text.replace(
        "redis://127.0.0.1:6379/",
        &format!("redis://127.0.0.1:{}/", free_port()),
    );
    for port in ["8000", "8001", "8002", "8003"] {
        text = text.replace(
            &format!("port = {port}\n"),
            &format!("port = {}\n", free_port()),
        );
    }
    std::fs::write(&toml, text).unwrap();
}

/// Lines a child writes to stderr, gathered on a thread so it never blocks on a full pipe.
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Lines {
    fn of(child: &mut Child) -> Self {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self(lines)
    }

    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }

    fn wait_for(&self, what: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.text().contains(what) {
            assert!(
                Instant::now() < deadline,
                "no {what:?} within {limit:?}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Live processes whose environment carries `KOVAN_WORKSPACE = workspace` and one of `instances`.
fn marked(workspace: &str, instances: &[&str]) -> Vec<i32> {
    let var = |pid: i32, key: &str| -> Option<String> {
        let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        let prefix = format!("{key}=");
        raw.split(|&b| b == 0)
            .find_map(|e| e.strip_prefix(prefix.as_bytes()))
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s[s.rfind(')').unwrap() + 2..].split_whitespace().next() != Some("Z"))
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            var(pid, "KOVAN_WORKSPACE").as_deref() == Some(workspace)
                && var(pid, "KOVAN_INSTANCE").is_some_and(|i| instances.contains(&i.as_str()))
                && alive(pid)
        })
        .collect()
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Damage {
    Truncated,
    RandomBytes,
    Deleted,
    Immutable,
}

struct Setup {
    root: PathBuf,
    data: PathBuf,
    /// KOVAN_WORKSPACE of the instances.
    marker: String,
    ports: Vec<u16>,
}

impl Setup {
    fn kovan(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kovan"));
        c.args(args)
            .current_dir(&self.root)
            .env("KOVAN_DATA_DIR", &self.data)
            .env_remove("KOVAN_WORKSPACE")
            .env_remove("KOVAN_INSTANCE")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.kovan(args).output().unwrap()
    }

    fn store(&self) -> PathBuf {
        self.data.join("kovan.sqlite3")
    }

    fn up(&self) -> (Child, Lines) {
        let mut up = self
            .kovan(&["up", "dev", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let said = Lines::of(&mut up);
        said.wait_for("running; Ctrl-C stops them", Duration::from_secs(60));
        (up, said)
    }

    fn damage(&self, how: Damage) -> bool {
        let store = self.store();
        let side = |s: &str| PathBuf::from(format!("{}{s}", store.display()));
        match how {
            Damage::Truncated => {
                std::fs::File::options()
                    .write(true)
                    .open(&store)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
            }
            Damage::RandomBytes => {
                for path in [store.clone(), side("-wal")] {
                    let len = std::fs::metadata(&path).map_or(8192, |m| m.len().max(8192));
                    let mut bytes = vec![0u8; len as usize];
                    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len;
                    for b in &mut bytes {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        *b = x as u8;
                    }
                    std::fs::write(&path, bytes).unwrap();
                }
            }
            Damage::Deleted => {
                for path in [store.clone(), side("-wal"), side("-shm")] {
                    let _ = std::fs::remove_file(path);
                }
            }
            Damage::Immutable => {
                let ok = Command::new("chattr")
                    .arg("+i")
                    .arg(&store)
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    return false;
                }
            }
        }
        true
    }

    fn undo(&self, how: Damage) {
        if how == Damage::Immutable {
            let _ = Command::new("chattr").arg("-i").arg(self.store()).status();
        }
    }

    /// `kovan status --json` says both members run; stderr warns (and says what it must).
    fn status_says_running(&self, how: Damage, warning: &str) {
        let out = self.run(&["status", "--json"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{how:?}: {stderr}");
        let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        for m in MEMBERS {
            let row = rows
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["instance"] == m)
                .unwrap();
            assert_eq!(row["status"], "running", "{how:?}: {m}: {rows}\n{stderr}");
        }
        assert!(
            stderr.contains("warning: ") && stderr.contains(warning),
            "{how:?}: status said nothing of the store ({warning:?}):\n{stderr}"
        );
    }

    /// `kovan stop --all` stops the four runserver processes and frees the ports; what it says of
    /// the store is on stderr.
    fn stop_all_stops_everything(&self, how: Damage) -> String {
        let before = marked(&self.marker, &MEMBERS);
        assert_eq!(
            before.len(),
            4,
            "{how:?}: runserver and its autoreloader, twice: {before:?}"
        );
        let out = self.run(&["stop", "--all"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{how:?}: {stdout}\n{stderr}");
        for m in MEMBERS {
            assert!(
                stdout.contains(&format!("{m}: terminated"))
                    || stdout.contains(&format!("{m}: killed")),
                "{how:?}: {stdout}\n{stderr}"
            );
        }
        let left = marked(&self.marker, &MEMBERS);
        assert!(
            left.is_empty(),
            "{how:?}: still running: {left:?}\n{stderr}"
        );
        for &port in &self.ports {
            assert!(port_free(port), "{how:?}: port {port} is still held");
        }
        stderr
    }
}

/// On the way out, pass or fail: the store writable again and nothing of the project left running.
struct CleanUp<'a>(&'a Setup);

impl Drop for CleanUp<'_> {
    fn drop(&mut self) {
        self.0.undo(Damage::Immutable);
        let _ = self.0.run(&["stop", "--all"]);
    }
}

#[test]
fn every_store_damage_leaves_running_instances_found_stoppable_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let root = dir.path().join("context7");
    example_copy(&root);
    let ws = kovan_core::workspace::load(&root).unwrap();
    let setup = Setup {
        marker: ws.file.display().to_string(),
        ports: MEMBERS
            .iter()
            .map(|m| ws.instance(m).unwrap().port)
            .collect(),
        root: root.clone(),
        data: data.path().to_path_buf(),
    };
    let _cleanup = CleanUp(&setup);
    let gen = setup.run(&["gen", "--write"]);
    assert!(gen.status.success(), "{}", text(&gen).1);
    // Something of the user's, from the same folder, in a session of its own: never Kovan's.
    let mut unrelated = Command::new("setsid")
        .args(["sleep", "300"])
        .current_dir(&root)
        .env_remove("KOVAN_WORKSPACE")
        .env_remove("KOVAN_INSTANCE")
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut figures = Vec::new();

    for how in [
        Damage::Truncated,
        Damage::RandomBytes,
        Damage::Deleted,
        Damage::Immutable,
    ] {
        let t = Instant::now();
        let (mut up, said) = setup.up();
        if !setup.damage(how) {
            eprintln!("{how:?}: chattr +i is not possible here; skipped");
            let _ = setup.run(&["stop", "--all"]);
            unsafe { libc::kill(up.id() as i32, libc::SIGTERM) };
            let _ = wait_exit(&mut up, Duration::from_secs(15));
            continue;
        }
        let warning = match how {
            // Found without a record, or the store still locked by the `kovan up` that has
            // the old file open: either way the line says where they were found.
            Damage::Truncated | Damage::Deleted => "from the process table",
            Damage::RandomBytes => "moved aside to",
            Damage::Immutable => "cannot be written",
        };
        setup.status_says_running(how, warning);
        if how == Damage::RandomBytes {
            // Moved aside once and said; the next look finds a working store without records.
            setup.status_says_running(how, "from the process table");
        }

        if how == Damage::Truncated {
            // A new `kovan up` (the first one gone without a word) adopts them by their markers
            // and records them again.
            let running = marked(&setup.marker, &MEMBERS);
            unsafe { libc::kill(up.id() as i32, libc::SIGKILL) };
            up.wait().unwrap();
            let (second, said_again) = setup.up();
            let text = said_again.text();
            let mut now = marked(&setup.marker, &MEMBERS);
            now.sort_unstable();
            let mut was = running.clone();
            was.sort_unstable();
            assert_eq!(now, was, "adopted, not started again:\n{text}");
            let store = kovan_core::store::Store::open(&setup.store()).unwrap();
            for m in MEMBERS {
                assert!(
                    store.has_process(&ws.file, m),
                    "{m} recorded again:\n{text}"
                );
            }
            up = second;
            let stderr = setup.stop_all_stops_everything(how);
            assert!(
                !stderr.contains("warning"),
                "the store works again: {stderr}"
            );
        } else {
            let stderr = setup.stop_all_stops_everything(how);
            assert!(stderr.contains("warning: "), "{how:?}: {stderr}");
        }
        assert!(
            unrelated.try_wait().unwrap().is_none(),
            "{how:?}: the unrelated sleep was signalled"
        );
        // The first `kovan up` ends (everything it ran was stopped from outside) or is told to.
        if wait_exit(&mut up, Duration::from_secs(3)).is_none() {
            unsafe { libc::kill(up.id() as i32, libc::SIGTERM) };
            assert!(
                wait_exit(&mut up, Duration::from_secs(15)).is_some(),
                "{how:?}: kovan up did not end:\n{}",
                said.text()
            );
        }
        // The managed Redis went with `stop --all` or with `kovan up`.
        assert!(
            marked(&setup.marker, &["redis-server"]).is_empty(),
            "{how:?}: redis-server left running"
        );

        if how == Damage::Immutable {
            // Nothing starts that the store cannot record, and it says why.
            let out = setup.run(&["up", "dev", "--yes"]);
            let (_, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains("nothing was started") && stderr.contains("cannot be written"),
                "{stderr}"
            );
            assert!(marked(&setup.marker, &MEMBERS).is_empty());
        }
        setup.undo(how);
        figures.push(format!("{how:?} {} ms", t.elapsed().as_millis()));
    }
    eprintln!(
        "store damage: {} in {} ms",
        figures.join(", "),
        started.elapsed().as_millis()
    );
    unrelated.kill().unwrap();
    unrelated.wait().unwrap();
    // Every damaged file was moved aside, never deleted.
    let aside = std::fs::read_dir(data.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"))
        .count();
    assert!(aside >= 1, "the random bytes were moved aside");
}
