//! Where a TOML syntax or type error is: its line and the dotted key it is about.

use std::collections::HashMap;

use super::error::Problem;

/// The 1-based line of byte `offset` in `source`.
pub(super) fn line_at(source: &str, offset: usize) -> u32 {
    let offset = offset.min(source.len());
    u32::try_from(
        source.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1,
    )
    .unwrap_or(u32::MAX)
}

/// The dotted path of the key on the line at `offset`: `instance[2].prot`, `project.nme`.
fn field_at(source: &str, offset: usize) -> String {
    let target = line_at(source, offset) as usize;
    let mut table = String::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut key = String::new();
    for (i, line) in source.lines().enumerate().take(target) {
        let t = line.trim();
        let on_target = i + 1 == target;
        match table_header(t) {
            Some((true, h)) => {
                let n = counts.entry(h.clone()).or_default();
                *n += 1;
                table = format!("{h}[{n}]");
                key.clear();
            }
            Some((false, h)) => {
                table = h;
                key.clear();
            }
            // A malformed header: no table or key can be named with confidence.
            None if t.starts_with('[') && on_target => {
                table.clear();
                key.clear();
            }
            None if on_target => {
                key = t
                    .split('=')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_matches('"')
                    .to_string();
            }
            None => {}
        }
    }
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

/// `[name]` or `[[name]]` (is_array, name), ignoring a trailing comment.
fn table_header(line: &str) -> Option<(bool, String)> {
    let line = line.split('#').next().unwrap_or("").trim();
    let (array, inner) = match line.strip_prefix("[[") {
        Some(rest) => (true, rest.strip_suffix("]]")?),
        None => (false, line.strip_prefix('[')?.strip_suffix(']')?),
    };
    let inner = inner.trim();
    let valid = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | ' '));
    valid.then(|| (array, inner.to_string()))
}

/// A TOML error as a problem with its line and field.
pub(super) fn toml_problem(source: &str, e: &toml::de::Error) -> Problem {
    let message = plain_types(e.message().trim());
    let (line, field) = match e.span() {
        Some(span) => (
            Some(line_at(source, span.start)),
            field_at(source, span.start),
        ),
        None => (None, String::new()),
    };
    let fix = if message.starts_with("unknown field") {
        "Remove the key or correct its spelling; the keys allowed here are listed above."
    } else if message.starts_with("missing field") {
        "Add the missing key."
    } else if message.starts_with("invalid type") {
        "Give the value the type named above: numbers without quotes, text in quotes."
    } else {
        "Correct the TOML syntax at that line."
    };
    Problem {
        field: if field.is_empty() {
            "kovan.toml".into()
        } else {
            field
        },
        line,
        message: format!("{message}."),
        fix: fix.into(),
    }
}

/// Serde's Rust type names in the words of a kovan.toml ("expected i64" -> "expected a whole number").
pub(super) fn plain_types(message: &str) -> String {
    let mut out = message.to_string();
    for (rust, plain) in [
        ("expected i64", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected a sequence", "expected a list like [\"a\", \"b\"]"),
        ("invalid type: sequence", "invalid type: list"),
        ("invalid type: map", "invalid type: table"),
    ] {
        out = out.replace(rust, plain);
    }
    out
}
