//! The env files: who may read them and whether two instances share a SECRET_KEY.

use super::super::*;

pub(in crate::doctor) fn env_files(ws: &Workspace, findings: &mut Vec<Finding>) {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in &ws.instances {
        let path = ws.project.django_root.join(&i.names.env_file);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            findings.push(
                Finding::new(
                    FindingKind::EnvFileReadable,
                    Severity::Warning,
                    vec![i.name.clone()],
                    format!("{} has mode {mode:04o}: other users can read it", i.names.env_file),
                )
                .why("It holds the instance's SECRET_KEY and Kovan token (and a Redis password, if any): whoever reads it can forge sessions.")
                .fix(format!("chmod 600 {}", i.names.env_file))
                .action(FixAction::RestrictEnvFile { instance: i.name.clone(), path: i.names.env_file.clone() }),
            );
        }
        if let Some(key) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| env_file::parse(&t).remove("SECRET_KEY"))
            .filter(|k| !k.is_empty())
        {
            by_key.entry(key).or_default().push(i.name.clone());
        }
    }
    let unit = |name: &str| ws.instance(name).map(|i| i.names.unit.clone());
    for who in by_key.into_values().filter(|w| w.len() > 1) {
        // A site's members share their key by design; a key that crosses units is the finding.
        for other in who[1..].iter().filter(|o| unit(o) != unit(&who[0])) {
            findings.push(
                Finding::new(
                    FindingKind::SharedSecretKey,
                    Severity::Error,
                    vec![who[0].clone(), other.clone()],
                    format!("{} and {} have the same SECRET_KEY", who[0], other),
                )
                .why("Sessions, password-reset links and signed cookies of one instance are valid on the other.")
                .fix(format!("Give {other} a new SECRET_KEY (its users are logged out), then restart it."))
                .action(FixAction::NewSecretKey { instance: other.clone() }),
            );
        }
    }
}
