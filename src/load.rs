//! The offered load: CPU demand on the pool's Service, in cores, as a piecewise
//! linear curve (scenario `load` points with optional `rampOver`, and `setLoad` events).

use crate::engine::SimTime;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadPoint {
    pub at: SimTime,
    pub cores: f64,
    /// The change from the previous level happens linearly over this long.
    pub ramp_over_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadCurve {
    points: Vec<LoadPoint>,
}

impl LoadCurve {
    /// Points must be sorted by time (the scenario loader checks it).
    pub fn new(points: Vec<LoadPoint>) -> Self {
        LoadCurve { points }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Demand in cores at `t`.
    pub fn cores_at(&self, t: SimTime) -> f64 {
        let mut level = 0.0;
        for point in &self.points {
            if point.at > t {
                break;
            }
            let elapsed = t.since(point.at);
            if point.ramp_over_ms > 0 && elapsed < point.ramp_over_ms {
                let fraction = elapsed as f64 / point.ramp_over_ms as f64;
                level += (point.cores - level) * fraction;
            } else {
                level = point.cores;
            }
        }
        level
    }

    /// A `setLoad` event: from `now` on, move to `cores` over `ramp_over_ms`.
    pub fn set_from(&mut self, now: SimTime, cores: f64, ramp_over_ms: u64) {
        let start_level = self.cores_at(now);
        self.points.retain(|p| p.at < now);
        self.points.push(LoadPoint {
            at: now,
            cores: start_level,
            ramp_over_ms: 0,
        });
        self.points.push(LoadPoint {
            at: now,
            cores,
            ramp_over_ms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_are_linear_and_steps_are_immediate() {
        let curve = LoadCurve::new(vec![
            LoadPoint {
                at: SimTime(0),
                cores: 1.0,
                ramp_over_ms: 0,
            },
            LoadPoint {
                at: SimTime(10_000),
                cores: 3.0,
                ramp_over_ms: 10_000,
            },
        ]);
        assert_eq!(curve.cores_at(SimTime(5_000)), 1.0);
        assert!((curve.cores_at(SimTime(15_000)) - 2.0).abs() < 1e-9);
        assert_eq!(curve.cores_at(SimTime(25_000)), 3.0);
    }

    #[test]
    fn set_load_starts_from_the_current_level() {
        let mut curve = LoadCurve::new(vec![LoadPoint {
            at: SimTime(0),
            cores: 2.0,
            ramp_over_ms: 0,
        }]);
        curve.set_from(SimTime(60_000), 0.0, 20_000);
        assert_eq!(curve.cores_at(SimTime(60_000)), 2.0);
        assert!((curve.cores_at(SimTime(70_000)) - 1.0).abs() < 1e-9);
        assert_eq!(curve.cores_at(SimTime(90_000)), 0.0);
    }
}
