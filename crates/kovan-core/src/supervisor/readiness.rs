//! Is an instance ready? The port accepts, `GET /health/` answers 200 and no migration is left
//! to apply (through the health module's one check, which reads the whole answer: closing early
//! would make runserver log a broken pipe).

use std::time::Duration;

/// What one look at a starting instance found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// `GET /health/` answered 200 with no migration left to apply. Any 200 without Kovan's
    /// report is ready too (an instance with its own `command` may serve another health page).
    Ready,
    /// Up, not ready: it serves, and its only failing part is migrations not applied. It is not
    /// stopped for it (nothing would be left to apply them to): it runs, not green, until the
    /// card or `kovan migrate` applies them.
    MigrationsPending {
        /// Migrations /health/ reports not applied.
        unapplied: u32,
        /// Its own sentence ("3 migrations not applied (…); run kovan migrate chat_main").
        why: String,
    },
    /// Not up yet, or failing: the failing parts of a 503 in the instance's own words,
    /// "nothing listens on port 8001", ….
    NotYet(String),
}

impl Readiness {
    /// Up: ready, or serving with migrations to apply.
    pub fn is_up(&self) -> bool {
        !matches!(self, Self::NotYet(_))
    }
}

pub async fn look(port: u16) -> Readiness {
    let check = crate::health::endpoint::check(port, Duration::from_secs(2)).await;
    let unapplied = check
        .reported
        .as_ref()
        .and_then(|r| r.database.unapplied_migrations)
        .unwrap_or(0);
    let only_migrations = check.reported.as_ref().is_some_and(|r| {
        !r.failures.is_empty() && r.failures.iter().all(|f| f.part == "migrations")
    });
    match check.status {
        Some(200) if unapplied == 0 => Readiness::Ready,
        Some(200) | Some(503) if only_migrations || unapplied > 0 => {
            let why = check
                .reported
                .as_ref()
                .and_then(|r| r.failures.iter().find(|f| f.part == "migrations"))
                .map(|f| f.message.clone())
                .unwrap_or_else(|| crate::django::migrations::count_text(unapplied));
            Readiness::MigrationsPending {
                unapplied: unapplied.max(1),
                why,
            }
        }
        _ => Readiness::NotYet(check.error.unwrap_or_else(|| "no answer".into())),
    }
}
