//! The files Kovan generated: missing or stale, and instances started before them that need a restart.

use super::super::*;
use super::redis::project_settings_files;

pub(in crate::doctor) fn generated_files(ws: &Workspace, findings: &mut Vec<Finding>) {
    let Ok(plan) = generate::plan(ws) else { return };
    let stale: Vec<String> = plan
        .files
        .iter()
        .filter(|f| matches!(f.status, FileStatus::New | FileStatus::Changed))
        .map(|f| f.file.path.clone())
        .collect();
    if stale.is_empty() {
        return;
    }
    findings.push(
        Finding::new(
            FindingKind::GeneratedStale,
            Severity::Warning,
            Vec::new(),
            format!("{} generated file(s) are missing or older than kovan.toml: {}", stale.len(), stale.join(", ")),
        )
        .why("The instances run what is on disk: a change to kovan.toml does nothing until the files are written again.")
        .fix("Regenerate the config (Config Üreteci, or kovan gen --write), then restart the running instances.".into())
        .action(FixAction::Regenerate { paths: stale }),
    );
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

/// The env file is read when the group's leader starts; settings when the serving process starts
/// (runserver's autoreloader starts a new child on a .py change, so its newest member counts).
pub(in crate::doctor) fn restart_needed(
    ws: &Workspace,
    context: &Context,
    findings: &mut Vec<Finding>,
) {
    let root = &ws.project.django_root;
    let mut settings: Vec<PathBuf> = project_settings_files(ws);
    settings.push(root.join(generate::settings_path(ws)));
    for r in &context.running {
        let Some(i) = ws.instance(&r.instance) else {
            continue;
        };
        let started = |pid: &i32| platform::started_at(*pid);
        let leader = started(&r.pgid).or_else(|| r.members.iter().filter_map(started).min());
        let newest = r.members.iter().filter_map(started).max();
        let env = root.join(&i.names.env_file);
        let mut changed: Vec<String> = Vec::new();
        if let (Some(start), Some(m)) = (leader, modified(&env)) {
            if m > start {
                changed.push(i.names.env_file.clone());
            }
        }
        for file in &settings {
            if let (Some(start), Some(m)) = (newest, modified(file)) {
                if m > start {
                    changed.push(
                        file.strip_prefix(root)
                            .unwrap_or(file)
                            .display()
                            .to_string(),
                    );
                }
            }
        }
        if changed.is_empty() {
            continue;
        }
        findings.push(
            Finding::new(
                FindingKind::RestartNeeded,
                Severity::Warning,
                vec![r.instance.clone()],
                format!("{} was started before {} changed", r.instance, changed.join(" and ")),
            )
            .why("A running Django reads its environment and settings once: it still runs with the old values.")
            .fix(format!("Restart {} so that it reads them.", r.instance))
            .action(FixAction::Restart { instance: r.instance.clone() }),
        );
    }
}
