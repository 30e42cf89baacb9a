//! Simulated time: an integer number of milliseconds since the start of the run.
//!
//! Time is a value passed into every component; no model code reads the wall clock.

use std::fmt;
use std::ops::{Add, Sub};

/// A point in simulated time, in milliseconds since the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn from_secs(seconds: u64) -> SimTime {
        SimTime(seconds * 1000)
    }

    pub fn as_ms(self) -> u64 {
        self.0
    }

    /// Seconds as a float, for outputs only (never for ordering).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Saturating difference in milliseconds (`self - earlier`, 0 if earlier is later).
    pub fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The first point of the grid `phase + k * period` (k >= 0) at or after `self`.
    pub fn next_tick(self, phase_ms: u64, period_ms: u64) -> SimTime {
        debug_assert!(period_ms > 0);
        if self.0 <= phase_ms {
            return SimTime(phase_ms);
        }
        let periods = (self.0 - phase_ms).div_ceil(period_ms);
        SimTime(phase_ms + periods * period_ms)
    }
}

impl Add<u64> for SimTime {
    type Output = SimTime;
    fn add(self, ms: u64) -> SimTime {
        SimTime(self.0.saturating_add(ms))
    }
}

impl Sub<u64> for SimTime {
    type Output = SimTime;
    fn sub(self, ms: u64) -> SimTime {
        SimTime(self.0.saturating_sub(ms))
    }
}

impl fmt::Display for SimTime {
    /// `12.345s`: the form used in messages and event logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// Milliseconds in common units, so that timing constants read like their sources.
pub const SECOND_MS: u64 = 1000;
pub const MINUTE_MS: u64 = 60 * SECOND_MS;
pub const HOUR_MS: u64 = 60 * MINUTE_MS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tick_rounds_up_onto_the_grid() {
        assert_eq!(SimTime(0).next_tick(3, 5), SimTime(3));
        assert_eq!(SimTime(3).next_tick(3, 5), SimTime(3));
        assert_eq!(SimTime(4).next_tick(3, 5), SimTime(8));
        assert_eq!(SimTime(13).next_tick(3, 5), SimTime(13));
    }

    #[test]
    fn display_shows_milliseconds() {
        assert_eq!(SimTime(61_005).to_string(), "61.005s");
    }
}
