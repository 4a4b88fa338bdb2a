//! 10,000 mutated kovan.toml files through `workspace::parse`: no panic, no hang, and every problem
//! reported either carries a line in the file or says why it has none.
//!
//! The mutations start from real workspaces (the example, a site, a minimal one) and do what hands
//! and editors do: delete, duplicate, swap and cut lines, misspell keys, put wrong values (out of
//! range, wrong type, control characters, far-off Unicode), and drop stray TOML punctuation.
//! `KOVAN_FUZZ_CASES` changes the count (10,000 when unset: CI's value).

use std::cell::Cell;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kovan_core::{workspace, Problem, WorkspaceError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const EXAMPLE: &str = include_str!("../../../examples/context7/kovan.toml");

const MINIMAL: &str = r#"[project]
name = "shop"
settings = "shop.settings"

[[instance]]
name = "web"
port = 8000
"#;

const SITE: &str = r#"[project]
name = "chat"
settings = "chat.settings"

[redis]
url = "rediss://user:p%40ss@redis.example:6380/2"

[supervisor]
stop_grace = 5
start_timeout = 60

[[instance]]
name = "main"
port = 8000
role = "main"
cache = "redis"
restart = "on-failure"
max_restarts = 3
database = "db_main.sqlite3"
cache_prefix = "chat_main"
session_cookie = "sid_main"
command = "daphne -b 127.0.0.1 -p {port} chat.asgi:application"

[[instance]]
name = "api"
port = 8001
role = "api"
cache = "file"
cache_location = "cache/api"
env_file = ".env.api"
log_file = "logs/api.log"

[preset.all]
instances = ["main", "api"]
"#;

/// Values that go wrong in interesting ways wherever they land.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "99999",
    "65536",
    "9223372036854775807",
    "-9223372036854775808",
    "1e400",
    "nan",
    "inf",
    "true",
    "\"\"",
    "\"boss\"",
    "\"\\u001b]0;PWNED\\u0007\"",
    "\"a\\u0000b\"",
    "\"../../etc/passwd\"",
    "\"/abs/path\"",
    "\"ğüşiöç ÇĞİÖŞÜ 漢字 🙂\"",
    "\"\\ud800\"",
    "[1, 2]",
    "[]",
    "{}",
    "{ a = 1 }",
    "'''multi\nline'''",
    "\"redis://:secret@[::1]:99999/0\"",
    "\"redis://\"",
    "\"x\" \"y\"",
    "2026-12-03T10:00:00Z",
];

const KEYS: &[&str] = &[
    "name",
    "port",
    "role",
    "cache",
    "settings",
    "django_root",
    "python",
    "url",
    "managed",
    "instances",
    "weight",
    "cache_timeout",
    "porrt",
    "settngs",
    "front_door",
    "engine",
    "stop_grace",
    "",
    "\"quoted key\"",
    "a.b.c",
];

const PUNCTUATION: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "#",
    "{",
    "}",
    ",",
    "\n",
    "\\",
    "\u{feff}",
    "\r",
    "\u{0}",
    "\u{1b}",
    "[project]",
    "[[instance]]",
    "[preset.x]",
    "[redis]",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    SetValue(usize, usize),
    RenameKey(usize, usize),
    Insert(usize, usize),
    DeleteChar(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = 0..10_000usize;
    prop_oneof![
        n.clone().prop_map(Mutation::DeleteLine),
        n.clone().prop_map(Mutation::DuplicateLine),
        (n.clone(), n.clone()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        n.clone().prop_map(Mutation::Truncate),
        (n.clone(), 0..VALUES.len()).prop_map(|(a, b)| Mutation::SetValue(a, b)),
        (n.clone(), 0..KEYS.len()).prop_map(|(a, b)| Mutation::RenameKey(a, b)),
        (n.clone(), 0..PUNCTUATION.len()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        n.prop_map(Mutation::DeleteChar),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let pick = |i: usize, len: usize| i % len.max(1);
    match *m {
        Mutation::DeleteLine(i) => {
            let i = pick(i, lines.len());
            lines.remove(i);
        }
        Mutation::DuplicateLine(i) => {
            let i = pick(i, lines.len());
            let line = lines[i].clone();
            lines.insert(i, line);
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (pick(a, lines.len()), pick(b, lines.len()));
            lines.swap(a, b);
        }
        Mutation::Truncate(at) => {
            let cut: String = text
                .chars()
                .take(pick(at, text.chars().count() + 1))
                .collect();
            return cut;
        }
        Mutation::SetValue(i, v) => {
            let i = pick(i, lines.len());
            if let Some((key, _)) = lines[i].split_once('=') {
                lines[i] = format!("{key}= {}", VALUES[v]);
            } else {
                lines[i] = format!("port = {}", VALUES[v]);
            }
        }
        Mutation::RenameKey(i, k) => {
            let i = pick(i, lines.len());
            if let Some((_, value)) = lines[i].split_once('=') {
                lines[i] = format!("{} ={value}", KEYS[k]);
            }
        }
        Mutation::Insert(at, p) => {
            let chars: Vec<char> = text.chars().collect();
            let at = pick(at, chars.len() + 1);
            let mut out: String = chars[..at].iter().collect();
            out.push_str(PUNCTUATION[p]);
            out.extend(&chars[at..]);
            return out;
        }
        Mutation::DeleteChar(at) => {
            let mut chars: Vec<char> = text.chars().collect();
            if !chars.is_empty() {
                let at = pick(at, chars.len());
                chars.remove(at);
            }
            return chars.into_iter().collect();
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A problem may go without a line only when it is about something the file lacks, so that there
/// is no line to point at: a missing table, no instance at all, a folder that is not on disk.
fn about_something_absent(problem: &Problem) -> bool {
    ["there is no", "declares no", "does not exist"]
        .iter()
        .any(|absent| problem.message.contains(absent))
}

/// What is wrong with a problem's placement, if anything: a line must exist in the file; a
/// problem without one must say why in its own words.
fn misplaced(problem: &Problem, source: &str) -> Option<String> {
    let lines = source.split('\n').count() as u32;
    match problem.line {
        Some(0) => Some(format!("line 0 (lines count from 1): {problem}")),
        Some(n) if n > lines => Some(format!("line {n} of a {lines}-line file: {problem}")),
        Some(_) => None,
        None if about_something_absent(problem) => None,
        None => Some(format!("no line and no reason: {problem}")),
    }
}

#[test]
fn ten_thousand_mutated_kovan_tomls_never_panic_hang_or_lose_their_line() {
    let cases: u32 = std::env::var("KOVAN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let (done, finished) = mpsc::channel();
    // The runner on its own thread: a parse that never returns is caught by the deadline below.
    // A real project folder, so that unmutated and lightly mutated files can be valid.
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("manage.py"), "").unwrap();
    let manifest = project.path().join("kovan.toml");
    let fuzz = std::thread::spawn(move || {
        let clock = Instant::now();
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let slowest = Cell::new(Duration::ZERO);
        let invalid = Cell::new(0u32);
        let strategy = (
            prop_oneof![Just(EXAMPLE), Just(MINIMAL), Just(SITE)],
            prop::collection::vec(mutation(), 1..6),
        );
        let result = runner.run(&strategy, |(seed, mutations)| {
            let source = mutations.iter().fold(seed.to_string(), |t, m| apply(&t, m));
            let started = Instant::now();
            let parsed = std::panic::catch_unwind(|| workspace::parse(&manifest, &source));
            let took = started.elapsed();
            slowest.set(slowest.get().max(took));
            let parsed =
                parsed.map_err(|_| TestCaseError::fail(format!("parse panicked on:\n{source}")))?;
            if took > Duration::from_secs(1) {
                return Err(TestCaseError::fail(format!(
                    "parse took {took:?} on:\n{source}"
                )));
            }
            if let Err(e) = parsed {
                invalid.set(invalid.get() + 1);
                let WorkspaceError::Invalid { problems, .. } = &e else {
                    return Err(TestCaseError::fail(format!("not an Invalid error: {e}")));
                };
                if problems.is_empty() {
                    return Err(TestCaseError::fail(format!(
                        "Invalid with no problem:\n{source}"
                    )));
                }
                for p in problems {
                    if let Some(why) = misplaced(p, &source) {
                        return Err(TestCaseError::fail(format!("{why}\n--- in:\n{source}")));
                    }
                }
            }
            Ok(())
        });
        let _ = done.send(());
        (result, clock.elapsed(), slowest.get(), invalid.get())
    });
    if finished.recv_timeout(Duration::from_secs(300)).is_err() {
        panic!("the fuzz run did not finish within 300 s: a parse hangs");
    }
    let (result, took, slowest, invalid) = fuzz.join().unwrap();
    println!(
        "fuzz workspace: {cases} mutated files in {:.1} s ({invalid} invalid), slowest parse {slowest:?}",
        took.as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
