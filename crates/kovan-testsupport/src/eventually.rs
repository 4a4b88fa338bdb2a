//! Waiting for a condition with a deadline, instead of a hand-written loop in every test.

use std::time::{Duration, Instant};

/// Poll `condition` every 50 ms until it gives a value or `timeout` passes; then panic naming
/// `what` was awaited, with the last state `condition` reported.
pub fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match condition() {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {timeout:?}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_once_true_and_names_what_it_waited_for_otherwise() {
        let mut n = 0;
        assert_eq!(
            eventually("three calls", Duration::from_secs(5), || {
                n += 1;
                if n == 3 {
                    Ok(n)
                } else {
                    Err(format!("{n} calls"))
                }
            }),
            3
        );
        let failed = std::panic::catch_unwind(|| {
            eventually("never", Duration::from_millis(120), || {
                Err::<(), _>("still no".to_string())
            })
        })
        .unwrap_err();
        let text = failed.downcast_ref::<String>().unwrap();
        assert!(
            text.contains("never: not within") && text.contains("still no"),
            "{text}"
        );
    }
}
