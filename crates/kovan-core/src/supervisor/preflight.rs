//! Why an instance cannot start, checked before anything is started: the interpreter, manage.py,
//! the env file, the port (with who holds it, and whether that is a lost instance of ours), and
//! the packages the configuration needs from the interpreter (with the pip command).

use super::*;

impl Supervisor {
    /// Why `instance` cannot start now, checked without starting anything.
    pub fn preflight(&self, instance: &str, options: StartOptions) -> Result<(), SupervisorError> {
        self.preflight_process(instance, options)?;
        self.packages_preflight(&[instance.to_string()])
    }

    /// What the interpreter lacks for `members` together (one probe of the workspace's
    /// interpreter, cached until it or its site-packages change; one report naming each package
    /// once): `packages_missing` with the pip command. Only what Kovan knows how to install, or a
    /// Django too old, refuses: an import of the settings Kovan knows no package for may be an
    /// optional one (`try: import sentry_sdk`), left to the start itself. A probe that cannot
    /// run refuses nothing here; the start says what is wrong.
    pub(super) fn packages_preflight(&self, members: &[String]) -> Result<(), SupervisorError> {
        use crate::django::packages;
        let ws = &self.inner.ws;
        let Some(first) = members.iter().find(|m| {
            ws.instance(m)
                .is_some_and(|i| packages::runs_django(i.command.as_deref()))
        }) else {
            return Ok(());
        };
        let Ok(probe) = crate::django::probe::probe(ws) else {
            return Ok(());
        };
        let mut report = packages::check_members(ws, &probe, members);
        report.missing.retain(|m| m.requirement.is_some());
        if report.ok() {
            return Ok(());
        }
        Err(SupervisorError::PackagesMissing {
            instance: first.clone(),
            report: Box::new(report),
        })
    }

    /// The checks of [`Self::preflight`] but the packages.
    pub(super) fn preflight_process(
        &self,
        instance: &str,
        options: StartOptions,
    ) -> Result<(), SupervisorError> {
        let i = self.instance(instance)?;
        if let Some(state) = self.state(instance) {
            if matches!(
                state.status,
                RunStatus::Starting | RunStatus::Running | RunStatus::Stopping
            ) {
                return Err(SupervisorError::AlreadyRunning {
                    instance: instance.into(),
                    state: format!("{:?}", state.status).to_lowercase(),
                });
            }
        }
        let root = &self.inner.ws.project.django_root;
        if i.command.is_none() {
            let python = self.python_path();
            if python.components().count() > 1 {
                interpreter_runnable(instance, &python)?;
            }
            if !root.join("manage.py").is_file() {
                return Err(SupervisorError::Missing {
                    instance: instance.into(),
                    what: "manage.py".into(),
                    path: root.join("manage.py").display().to_string(),
                    fix: "Set [project] django_root to the folder with manage.py.".into(),
                });
            }
        }
        let env = root.join(&i.names.env_file);
        if !env.is_file() {
            return Err(SupervisorError::Missing {
                instance: instance.into(),
                what: "its env file".into(),
                path: env.display().to_string(),
                fix: "Generate the config first (Config generator, or kovan gen --write).".into(),
            });
        }
        let port = options.port.unwrap_or(i.port);
        if !platform::port_is_free(port) {
            return Err(self.port_conflict(instance, port));
        }
        Ok(())
    }

    pub(super) fn port_conflict(&self, instance: &str, port: u16) -> SupervisorError {
        let owner = platform::port_owner(port);
        let root = &self.inner.ws.project.django_root;
        // A lost instance: a process of this workspace's Django root serving this instance's port.
        let lost_instance = owner.as_ref().is_some_and(|o| {
            let pgid = pgid_of(o.pid);
            let leader = pgid
                .and_then(platform::cmdline)
                .map(|a| a.join(" "))
                .unwrap_or_default();
            platform::cwd(o.pid).as_deref() == Some(root.as_path())
                && (o.command.contains(&format!(":{port}")) || leader.contains(&format!(":{port}")))
        });
        let taken: Vec<u16> = self.inner.ws.instances.iter().map(|i| i.port).collect();
        SupervisorError::PortInUse {
            instance: instance.into(),
            port,
            owner,
            lost_instance,
            next_free: port
                .checked_add(1)
                .and_then(|p| platform::next_free_port(p, &taken)),
        }
    }

    /// Stop the process that holds `instance`'s port, only when it is that instance, left running
    /// by an earlier Kovan and no longer tracked.
    pub async fn stop_lost_instance(&self, instance: &str) -> Result<StopReport, SupervisorError> {
        self.refuse_if_observer()?;
        let port = self.instance(instance)?.port;
        match self.port_conflict(instance, port) {
            SupervisorError::PortInUse {
                lost_instance: true,
                owner: Some(owner),
                ..
            } => {
                // Named now, by the start time its leader has now: a group found running, not
                // one recorded earlier.
                let pgid = pgid_of(owner.pid).unwrap_or(owner.pid);
                let group = self.identity(instance, pgid);
                let report = self.stop_group(instance, &group, port).await?;
                if let Some(store) = self.writable_store() {
                    let _ = store.forget_process(&self.inner.ws.file, instance);
                }
                Ok(report)
            }
            other => Err(other),
        }
    }

    pub(super) fn python_path(&self) -> PathBuf {
        let python = PathBuf::from(self.inner.ws.python());
        if python.components().count() > 1 && python.is_relative() {
            self.inner.ws.project.django_root.join(python)
        } else {
            python
        }
    }
}

/// The interpreter is there and this user may run it; each way it is not gets its own words (a
/// virtualenv whose system Python was removed is a dangling link, not a missing file).
fn interpreter_runnable(instance: &str, python: &std::path::Path) -> Result<(), SupervisorError> {
    let recreate = "Recreate the virtualenv (python3 -m venv .venv and install the requirements), or set [project] python in kovan.toml.";
    let path = python.display().to_string();
    if !python.exists() {
        let dangling = std::fs::read_link(python).ok();
        return Err(match dangling {
            Some(target) => SupervisorError::NotRunnable {
                instance: instance.into(),
                path,
                why: format!("it links to {}, which does not exist (the Python the virtualenv was made with is gone)", target.display()),
                fix: recreate.into(),
            },
            None => SupervisorError::Missing {
                instance: instance.into(),
                what: "the Python interpreter".into(),
                path,
                fix: "Create the virtualenv (python3 -m venv .venv and install the requirements), or set [project] python in kovan.toml.".into(),
            },
        });
    }
    if !python.is_file() {
        return Err(SupervisorError::NotRunnable {
            instance: instance.into(),
            path,
            why: "it is not a file".into(),
            fix: "Point [project] python in kovan.toml at the interpreter itself (…/bin/python)."
                .into(),
        });
    }
    let c_path = std::ffi::CString::new(python.as_os_str().as_encoded_bytes()).map_err(|_| {
        SupervisorError::NotRunnable {
            instance: instance.into(),
            path: path.clone(),
            why: "its path holds a NUL byte".into(),
            fix: recreate.into(),
        }
    })?;
    // SAFETY: a valid NUL-terminated path; access() only reads it.
    if unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(SupervisorError::NotRunnable {
            instance: instance.into(),
            path: path.clone(),
            why: format!("this user may not run it ({e})"),
            fix: format!(
                "Make it runnable (chmod u+rx {path}) or fix the permissions of its folders, or {}",
                recreate.to_lowercase()
            ),
        });
    }
    Ok(())
}
