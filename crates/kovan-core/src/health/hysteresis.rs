//! Up after M successes in a row, down after N failures in a row: one slow answer does not flap a card.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum HealthState {
    /// Not enough checks yet to say.
    Unknown,
    Up,
    Down,
}

#[derive(Debug, Clone)]
pub struct Hysteresis {
    up_after: u32,
    down_after: u32,
    successes: u32,
    failures: u32,
    state: HealthState,
}

impl Hysteresis {
    pub fn new(up_after: u32, down_after: u32) -> Self {
        Self {
            up_after: up_after.max(1),
            down_after: down_after.max(1),
            successes: 0,
            failures: 0,
            state: HealthState::Unknown,
        }
    }

    pub fn state(&self) -> HealthState {
        self.state
    }

    /// Count one check; the state after it.
    pub fn observe(&mut self, ok: bool) -> HealthState {
        if ok {
            self.successes += 1;
            self.failures = 0;
            if self.successes >= self.up_after {
                self.state = HealthState::Up;
            }
        } else {
            self.failures += 1;
            self.successes = 0;
            if self.failures >= self.down_after {
                self.state = HealthState::Down;
            }
        }
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternating_answers_do_not_flap() {
        let mut h = Hysteresis::new(1, 3);
        assert_eq!(h.observe(true), HealthState::Up);
        for ok in [false, true, false, false, true, false] {
            assert_eq!(h.observe(ok), HealthState::Up, "after {ok}");
        }
        h.observe(false);
        h.observe(false);
        assert_eq!(h.observe(false), HealthState::Down);
        assert_eq!(h.observe(true), HealthState::Up);
    }
}
