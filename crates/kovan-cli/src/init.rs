//! `kovan init`: detect a Django project and propose (or write) its kovan.toml.
//!
//! stdout carries the result (the proposed text, the path written, or the JSON); what was detected
//! and what could not be goes to stderr, so `kovan init --dry-run > kovan.toml` keeps only the file.

use std::path::Path;
use std::process::ExitCode;

use kovan_core::detect::{DjangoAnswer, FailedStage, SettingsSource};
use kovan_core::proposal::{self, Proposal, ProposalError};
use kovan_core::recent::RecentWorkspaces;
use kovan_core::workspace;
use kovan_core::IpcError;

pub fn init(dir: &Path, dry_run: bool, json: bool) -> ExitCode {
    // Refused before Django is asked: the answer would not be used.
    let target = std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .join(workspace::FILE_NAME);
    if !dry_run && target.symlink_metadata().is_ok() {
        return fail(ProposalError::Exists { path: target }.into(), json);
    }
    let proposal = match proposal::propose(dir) {
        Ok(p) => p,
        Err(e) => return fail(IpcError::from(e), json),
    };
    if !json {
        describe(&proposal);
    }
    // Why a site or isolated instances, in one line (also `reason` in the JSON).
    errln!("{}", proposal.reason);
    let written = if dry_run {
        if proposal.exists {
            errln!(
                "note: {} already exists; `kovan init` would not replace it.",
                proposal.file
            );
        }
        None
    } else {
        match proposal::write(&proposal) {
            Ok(path) => {
                if let Err(e) = RecentWorkspaces::open_default().remember(&path) {
                    errln!("warning: {e}");
                }
                Some(path)
            }
            Err(e) => return fail(IpcError::from(e), json),
        }
    };
    if json {
        let mut value = serde_json::to_value(&proposal).expect("proposals serialize");
        value["written"] = serde_json::json!(written.as_ref().map(|p| p.display().to_string()));
        outln!("{value:#}");
    } else if let Some(path) = written {
        outln!("wrote {}", path.display());
        errln!("next: `kovan check` shows every instance's names; `kovan gen --write` writes their config.");
    } else {
        out!("{}", proposal.text);
    }
    ExitCode::SUCCESS
}

/// The error on stderr; with --json also as `{"kind", "message"}` on stdout.
fn fail(e: IpcError, json: bool) -> ExitCode {
    if json {
        outln!("{:#}", serde_json::to_value(&e).expect("errors serialize"));
    }
    errln!("error: {}", e.message);
    ExitCode::from(1)
}

/// What was detected, then what could not be.
fn describe(p: &Proposal) {
    let d = &p.detection;
    errln!(
        "project      {}  (manage.py in {})",
        d.folder,
        d.django_root
    );
    let from = match d.settings_source {
        SettingsSource::ManagePy => "manage.py's default",
        SettingsSource::SettingsFile => "the only settings.py",
        SettingsSource::NotFound => "not found",
    };
    errln!(
        "settings     {}  ({from})",
        d.settings.as_deref().unwrap_or("?")
    );
    let python = if d.virtualenv {
        "the project's virtualenv"
    } else {
        "from PATH"
    };
    errln!("python       {}  ({python})", d.python);
    match &d.django {
        DjangoAnswer::Read(s) => {
            errln!("django       {}, settings imported", s.django_version);
            for c in &s.caches {
                let location = if c.location.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", c.location.join(", "))
                };
                let prefix = if c.key_prefix.is_empty() {
                    String::new()
                } else {
                    format!(", KEY_PREFIX {}", c.key_prefix)
                };
                errln!(
                    "cache        {}: {}{location}{prefix}",
                    c.alias,
                    c.backend.as_deref().unwrap_or("?")
                );
            }
            errln!(
                "database     {}  {}",
                s.database.engine.as_deref().unwrap_or("?"),
                s.database.name.as_deref().unwrap_or("")
            );
            errln!("cookies      {}, {}", s.session_cookie, s.csrf_cookie);
        }
        DjangoAnswer::Failed { stage, .. } => {
            let what = match stage {
                FailedStage::Python => "the interpreter did not answer",
                FailedStage::Django => "Django did not import",
                FailedStage::Settings => "the settings did not import",
            };
            errln!("django       not asked: {what}");
        }
    }
    errln!("name         {}", p.name);
    if !p.undetected.is_empty() {
        errln!("\ncould not detect:");
        for u in &p.undetected {
            errln!("  - {u}");
        }
    }
    errln!();
}
