//! Percentiles over seeds. Nearest-rank, so every percentile is a value some seed
//! really produced (a count of VMs stays a whole number), and the result does not depend
//! on the order the runs finished in.

/// The `p`-th percentile (0–100) of `values` by the nearest-rank method: the smallest
/// value with at least `p` % of the values at or below it. `None` when `values` is empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(nearest_rank(&sorted, p))
}

/// [`percentile`] on values already sorted ascending and free of NaN.
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// The summary statistics of one metric over seeds, as the tables show them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Distribution {
    /// How many seeds had a value (`recovery_s` can be absent).
    pub count: usize,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

impl Distribution {
    pub fn of(values: &[Option<f64>]) -> Self {
        let mut present: Vec<f64> = values.iter().flatten().copied().collect();
        present.retain(|v| !v.is_nan());
        present.sort_by(f64::total_cmp);
        let at = |p: f64| (!present.is_empty()).then(|| nearest_rank(&present, p));
        Distribution {
            count: present.len(),
            p50: at(50.0),
            p95: at(95.0),
            max: present.last().copied(),
        }
    }
}

/// Per sample time, the p5, p50 and p95 over seeds of one column. Every seed's series
/// must be as long as the time axis (all seeds of a scenario sample the same times).
pub fn band_over_seeds(series_per_seed: &[&[i64]], samples: usize) -> [Vec<f64>; 3] {
    let mut band = [
        Vec::with_capacity(samples),
        Vec::with_capacity(samples),
        Vec::with_capacity(samples),
    ];
    let mut column = Vec::with_capacity(series_per_seed.len());
    for index in 0..samples {
        column.clear();
        column.extend(series_per_seed.iter().map(|series| series[index] as f64));
        column.sort_by(f64::total_cmp);
        for (slot, p) in band.iter_mut().zip([5.0, 50.0, 95.0]) {
            slot.push(if column.is_empty() {
                f64::NAN
            } else {
                nearest_rank(&column, p)
            });
        }
    }
    band
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_observed_values() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&values, 5.0), Some(1.0));
        assert_eq!(percentile(&values, 50.0), Some(10.0));
        assert_eq!(percentile(&values, 95.0), Some(19.0));
        assert_eq!(percentile(&values, 100.0), Some(20.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn order_of_input_does_not_matter() {
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 50.0), Some(2.0));
    }

    #[test]
    fn distribution_skips_absent_values() {
        let d = Distribution::of(&[Some(4.0), None, Some(2.0)]);
        assert_eq!(d.count, 2);
        assert_eq!(d.p50, Some(2.0));
        assert_eq!(d.max, Some(4.0));
        assert_eq!(Distribution::of(&[None]).p95, None);
    }

    #[test]
    fn band_is_per_sample_time() {
        let a = [1, 5];
        let b = [3, 5];
        let c = [2, 0];
        let [p5, p50, p95] = band_over_seeds(&[&a, &b, &c], 2);
        assert_eq!(p5, vec![1.0, 0.0]);
        assert_eq!(p50, vec![2.0, 5.0]);
        assert_eq!(p95, vec![3.0, 5.0]);
    }
}
