//! Files of the user's that Kovan changes in one marked place and leaves otherwise as they are:
//! the project's .gitignore (a block naming what must never be committed) and manage.py (its
//! DJANGO_SETTINGS_MODULE default, so the guide's `DJANGO_SERVER_INSTANCE=chat_main python
//! manage.py …` runs Kovan's settings from a plain shell).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde::Serialize;
use ts_rs::TS;

use super::{io_error, templates, GenerateError, GeneratedFile, Purpose};
use crate::workspace::{CacheBackend, DatabaseEngine, Workspace};

pub const GITIGNORE_BEGIN: &str =
    "# >>> kovan: secret and per-instance files, never to be committed (kovan gen keeps this block)";
pub const GITIGNORE_END: &str = "# <<< kovan";
const MANAGE_MARK: &str =
    "# Kovan: with DJANGO_SERVER_INSTANCE set, that instance's settings (kovan.toml).";

pub fn is_patch(purpose: Purpose) -> bool {
    matches!(purpose, Purpose::Gitignore | Purpose::ManagePy)
}

/// What the block ignores, anchored at the Django root: env files (secrets), SQLite files and
/// their journals, static, media and file-cache folders, logs, and Kovan's backups (of env files
/// too, so of secrets).
pub fn ignored_paths(ws: &Workspace) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    let mut add = |p: String| {
        if !paths.contains(&p) {
            paths.push(p);
        }
    };
    for i in &ws.instances {
        let n = &i.names;
        add(format!("/{}", n.env_file));
        if ws.database == DatabaseEngine::Sqlite {
            for suffix in ["", "-journal", "-wal", "-shm"] {
                add(format!("/{}{suffix}", n.database));
            }
        }
        add(format!("/{}/", n.static_root));
        add(format!("/{}/", n.media_root));
        if let (CacheBackend::File, Some(dir)) = (i.cache, &n.cache_location) {
            add(format!("/{dir}/"));
        }
        add(format!("/{}", n.log_file));
    }
    add("*.kovan-backup-*".into());
    paths
}

fn read_existing(path: &Path) -> Result<Option<(String, u32)>, GenerateError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mode = std::fs::metadata(path)
                .map_err(io_error(path))?
                .permissions()
                .mode()
                & 0o777;
            Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), mode)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// `text` with Kovan's block replaced by `block` (or added at the end); every other line kept.
pub fn with_block(text: &str, block: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let begin = lines.iter().position(|l| l.trim_end() == GITIGNORE_BEGIN);
    let end = begin.and_then(|b| {
        lines[b..]
            .iter()
            .position(|l| l.trim_end() == GITIGNORE_END)
            .map(|e| b + e)
    });
    let mut out = String::new();
    match (begin, end) {
        (Some(b), Some(e)) => {
            for l in &lines[..b] {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str(block);
            for l in &lines[e + 1..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        _ => {
            out.push_str(text);
            if !text.is_empty() && !text.ends_with('\n') {
                out.push('\n');
            }
            if !text.trim().is_empty() {
                out.push('\n');
            }
            out.push_str(block);
        }
    }
    out
}

/// The Django root's .gitignore with Kovan's block.
pub fn gitignore(ws: &Workspace) -> Result<Option<GeneratedFile>, GenerateError> {
    let path = ws.project.django_root.join(".gitignore");
    let (text, mode) = read_existing(&path)?.unwrap_or((String::new(), 0o644));
    let mut block = format!("{GITIGNORE_BEGIN}\n");
    for p in ignored_paths(ws) {
        block.push_str(&p);
        block.push('\n');
    }
    block.push_str(GITIGNORE_END);
    block.push('\n');
    let contents = with_block(&text, &block);
    Ok(Some(GeneratedFile {
        path: ".gitignore".into(),
        preview: contents.clone(),
        contents,
        mode,
        purpose: Purpose::Gitignore,
        instance: None,
    }))
}

/// The quoted module of `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "…")` on this line.
fn setdefault_module(line: &str) -> Option<String> {
    const KEY: &str = "DJANGO_SETTINGS_MODULE";
    let code = line.trim_start();
    if code.starts_with('#') || !code.contains("setdefault") {
        return None;
    }
    let after = &line[line.find(KEY)? + KEY.len()..];
    let after = after.strip_prefix(['"', '\'']).unwrap_or(after);
    let open = after.find(['"', '\''])?;
    let quote = &after[open..open + 1];
    let rest = &after[open + 1..];
    Some(rest[..rest.find(quote)?].to_string())
}

/// manage.py with three lines before its settings default, choosing Kovan's settings when
/// DJANGO_SERVER_INSTANCE is set; the project's own line stays as it is. None when manage.py names
/// no default Kovan can recognise (then nothing is changed).
pub fn manage_py(ws: &Workspace) -> Result<Option<GeneratedFile>, GenerateError> {
    let path = ws.project.django_root.join("manage.py");
    let Some((text, mode)) = read_existing(&path)? else {
        return Ok(None);
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let kovan = templates::settings_module(ws);
    let mark = lines.iter().position(|l| l.trim() == MANAGE_MARK);
    // Kovan's own lines (the mark, the `if`, its setdefault) come before the project's default.
    let search_from = mark.map_or(0, |m| (m + 3).min(lines.len()));
    let Some(own) = lines[search_from..]
        .iter()
        .position(|l| setdefault_module(l).is_some_and(|m| m != kovan))
        .map(|i| i + search_from)
    else {
        return Ok(None);
    };
    let indent: String = lines[own]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    let inserted = format!(
        "{indent}{MANAGE_MARK}\n{indent}if os.environ.get(\"DJANGO_SERVER_INSTANCE\"):\n{indent}    os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"{kovan}\")\n"
    );
    let mut contents = String::new();
    for l in &lines[..mark.unwrap_or(own)] {
        contents.push_str(l);
    }
    contents.push_str(&inserted);
    for l in &lines[own..] {
        contents.push_str(l);
    }
    Ok(Some(GeneratedFile {
        path: "manage.py".into(),
        preview: contents.clone(),
        contents,
        mode,
        purpose: Purpose::ManagePy,
        instance: None,
    }))
}

/// A file the block ignores that git already tracks: ignoring it changes nothing until it is
/// removed from the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TrackedFile {
    /// Relative to the Django root.
    pub path: String,
    /// `git rm --cached -- 'path'`: the file stays on disk, git forgets it.
    pub fix: String,
}

/// The files Kovan's block ignores that git tracks; empty outside a git work tree or without git.
pub fn tracked_ignored_files(ws: &Workspace) -> Vec<TrackedFile> {
    let root = &ws.project.django_root;
    let patterns: Vec<String> = ignored_paths(ws)
        .into_iter()
        .map(|p| {
            let p = p.trim_start_matches('/').trim_end_matches('/').to_string();
            let p = if p.starts_with('*') {
                format!("**/{p}")
            } else {
                p
            };
            format!(":(glob){p}")
        })
        .collect();
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--"])
        .args(&patterns)
        .output();
    let Ok(out) = out else { return Vec::new() };
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(|p| TrackedFile {
            path: p.to_string(),
            fix: format!(
                "git rm --cached -- {}",
                crate::django::packages::shell_quote(p)
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_replaces_itself_and_keeps_every_other_line() {
        let block = format!("{GITIGNORE_BEGIN}\n/.env.a\n{GITIGNORE_END}\n");
        let mine = "node_modules/\n# my comment\n*.pyc";
        let once = with_block(mine, &block);
        assert_eq!(
            once,
            format!("node_modules/\n# my comment\n*.pyc\n\n{block}")
        );
        let newer = format!("{GITIGNORE_BEGIN}\n/.env.b\n{GITIGNORE_END}\n");
        let with_after = format!("{once}after/\n");
        let twice = with_block(&with_after, &newer);
        assert_eq!(
            twice,
            format!("node_modules/\n# my comment\n*.pyc\n\n{newer}after/\n")
        );
        assert_eq!(with_block("", &block), block);
    }
}
