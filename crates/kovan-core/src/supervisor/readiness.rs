//! Is an instance ready? The port accepts and `GET /health/` answers 200 (through the health
//! module's one check, which reads the whole answer: closing early would make runserver log a
//! broken pipe).

use std::time::Duration;

/// Ready (`GET /health/` answered 200), or what it answered instead: the failing parts of a 503
/// in the instance's own words, "nothing listens on port 8001", …. Any 200 is ready, with Kovan's
/// report or without (an instance with its own `command` may serve another health page).
///
/// A 503 whose only failing part is migrations not applied is ready too: the server runs and
/// answers; its health stays red, and the card and `kovan migrate` apply them. Stopping it after
/// the start timeout would leave nothing to apply them to.
pub async fn look(port: u16) -> Result<(), String> {
    let check = crate::health::endpoint::check(port, Duration::from_secs(2)).await;
    let only_migrations = check.reported.as_ref().is_some_and(|r| {
        !r.failures.is_empty() && r.failures.iter().all(|f| f.part == "migrations")
    });
    if check.status == Some(200) || only_migrations {
        Ok(())
    } else {
        Err(check.error.unwrap_or_else(|| "no answer".into()))
    }
}
