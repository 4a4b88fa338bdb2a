//! The one-click fixes that are safe to make without asking further: they touch only files Kovan
//! generated (backing up any the user edited) and never a running process.

use std::os::unix::fs::PermissionsExt;

use super::FixAction;
use crate::generate::{self, GenerateError, KeptSecrets};
use crate::workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error("{0}")]
    Generate(#[from] GenerateError),
    #[error("{path}: {source}. Check that you own the file.")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not an instance of this workspace: run the doctor again.")]
    UnknownInstance(String),
    #[error("Restarting {0} is the supervisor's job: call its restart, not apply_fix.")]
    RestartByCaller(String),
}

impl crate::error::Classified for DoctorError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Self::Generate(e) => e.kind(),
            Self::Io { .. } => ErrorKind::FixIo,
            Self::UnknownInstance(_) => ErrorKind::UnknownInstance,
            Self::RestartByCaller(_) => ErrorKind::RestartByCaller,
        }
    }

    fn detail(&self) -> Option<crate::error::ErrorDetail> {
        use crate::error::ErrorDetail;
        match self {
            Self::Generate(e) => e.detail(),
            Self::Io { path, .. } => Some(ErrorDetail::Path { path: path.clone() }),
            Self::UnknownInstance(instance) | Self::RestartByCaller(instance) => {
                Some(ErrorDetail::Instance {
                    instance: instance.clone(),
                })
            }
        }
    }
}

/// Make the fix; returns what was done, in English. `Restart` is refused: the caller restarts
/// through its supervisor.
pub fn apply_fix(ws: &Workspace, action: &FixAction) -> Result<String, DoctorError> {
    let instance = |name: &str| {
        ws.instance(name)
            .ok_or_else(|| DoctorError::UnknownInstance(name.into()))
    };
    match action {
        FixAction::RestrictEnvFile { instance: name, .. } => {
            // The path comes from kovan.toml, not from the action, so a forged action cannot
            // chmod anything else.
            let path = ws.project.django_root.join(&instance(name)?.names.env_file);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(
                |source| DoctorError::Io {
                    path: path.display().to_string(),
                    source,
                },
            )?;
            Ok(format!(
                "{} is now readable by you only (0600)",
                path.display()
            ))
        }
        FixAction::Regenerate { paths } => {
            let report = generate::write(&generate::plan(ws)?, Some(paths))?;
            Ok(format!("wrote {} file(s)", report.written.len()))
        }
        FixAction::NewSecretKey { instance: name } => {
            instance(name)?;
            // A site's members sign with one key: all of them get the new one.
            let members = ws.unit_members(name);
            let envs: Vec<String> = members.iter().map(|m| m.names.env_file.clone()).collect();
            let mut kept = KeptSecrets::read(ws)?;
            for m in &members {
                kept.forget(&m.name, "SECRET_KEY");
            }
            generate::write(&generate::plan_with(ws, &kept)?, Some(&envs))?;
            let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            Ok(format!(
                "{} {} a new SECRET_KEY; restart {}",
                envs.join(", "),
                if envs.len() == 1 { "has" } else { "have" },
                names.join(", ")
            ))
        }
        FixAction::Restart { instance: name } => Err(DoctorError::RestartByCaller(name.clone())),
    }
}
