//! `poolsim compare`: one scenario under several algorithms on the same seeds. Files
//! under `<out>/<name>/compare/`:
//!
//! - `compare.csv`: `algorithm`, `seed`, then every numeric summary metric
//!   ([`Summary::NUMERIC_METRICS`]), one row per algorithm and seed.
//! - `comparison.csv`: the printed table. One seed: one row per algorithm with the
//!   [`COMPARED_METRICS`]. Several seeds: three rows per algorithm (`p50`, `p95`,
//!   `max` over seeds, nearest rank).
//! - `comparison.json`: that table and the gate checks, as `--json` prints them.
//! - `overlay.svg`/`overlay.png`: `vms_ready` and `guests_running` over time, one colour
//!   per algorithm (with several seeds, the per-sample-time median over seeds).
//! - `report.html`: the overlay, the tables and the gate as one interactive page
//!   (`output::report`).
//!
//! The gate (`--baseline A --fail-if-worse METRIC[:MARGIN],..`) compares each other
//! algorithm's p50 over seeds (its only value with one seed) to the baseline's.

use super::stats::{band_over_seeds, Distribution};
use super::table::{format_number, format_optional, RowStatus, Table};
use super::Runs;
use crate::output::files::{write_file, Summary, WriteError};
use crate::output::ownership::Destination;
use crate::output::plot::{self, Overlay, Series};
use crate::output::report;

/// The metrics of the comparison table, in order. Lower is better for every one of
/// them, which is what the gate assumes:
/// - `max_overshoot`: the most guests running above `desired_replicas` at once;
/// - `overshoot_vm_minutes`: the integral of that overshoot over time;
/// - `minutes_under_ready`: time with fewer ready VMs than desired;
/// - `vms_created`: VMs the pool created (churn: each is a boot, maybe a disk clone);
/// - `recovery_s`: seconds from the first failure until readiness is back (absent:
///   never back, which the gate counts as worse than any value);
/// - `max_uncontrolled_overshoot`, `uncontrolled_overshoot_vm_minutes`: the same two
///   for the guests beyond desired that no one is stopping (a scale-in's graceful
///   shutdowns left out); appended so the earlier columns keep their places.
pub const COMPARED_METRICS: &[&str] = &[
    "max_overshoot",
    "overshoot_vm_minutes",
    "minutes_under_ready",
    "vms_created",
    "recovery_s",
    "max_uncontrolled_overshoot",
    "uncontrolled_overshoot_vm_minutes",
];

/// All runs of a comparison, algorithms in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareData {
    pub scenario: String,
    pub seeds: Vec<u64>,
    pub algorithms: Vec<(String, Runs)>,
    /// The scenario's events, marked on the overlay plot.
    pub events: Vec<plot::EventMarker>,
}

/// How much worse than the baseline a candidate may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Margin {
    /// In the metric's own unit.
    Absolute(f64),
    /// A fraction of the baseline's value (`10%` is 0.1).
    Relative(f64),
}

/// One `METRIC[:MARGIN]` of `--fail-if-worse`.
#[derive(Debug, Clone, PartialEq)]
pub struct GateRule {
    pub metric: String,
    pub margin: Margin,
}

/// Parses `--fail-if-worse`: `METRIC[:MARGIN]` separated by commas; a margin is a
/// number in the metric's unit (`max_overshoot:0`) or a percentage of the baseline
/// (`minutes_under_ready:10%`); no margin means 0.
pub fn parse_gate(spec: &str) -> Result<Vec<GateRule>, String> {
    let mut rules = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (metric, margin_text) = match part.split_once(':') {
            Some((metric, margin)) => (metric.trim(), Some(margin.trim())),
            None => (part, None),
        };
        if !COMPARED_METRICS.contains(&metric) {
            return Err(format!(
                "--fail-if-worse: unknown metric {metric:?}; valid (lower is better for each): {}",
                COMPARED_METRICS.join(", ")
            ));
        }
        let bad_margin = |text: &str| {
            format!(
                "--fail-if-worse {part:?}: margin {text:?} is not a number >= 0 or a percentage like 10%"
            )
        };
        let margin = match margin_text {
            None => Margin::Absolute(0.0),
            Some(text) => {
                let (number, relative) = match text.strip_suffix('%') {
                    Some(number) => (number.trim(), true),
                    None => (text, false),
                };
                let value: f64 = number
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| bad_margin(text))?;
                if relative {
                    Margin::Relative(value / 100.0)
                } else {
                    Margin::Absolute(value)
                }
            }
        };
        rules.push(GateRule {
            metric: metric.to_string(),
            margin,
        });
    }
    if rules.is_empty() {
        return Err(
            "--fail-if-worse names no metric; e.g. max_overshoot:0,minutes_under_ready:10%".into(),
        );
    }
    Ok(rules)
}

/// The result of one gate rule for one candidate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GateCheck {
    pub candidate: String,
    pub metric: String,
    #[serde(serialize_with = "crate::output::files::serialize_optional_number")]
    pub candidate_value: Option<f64>,
    pub baseline: String,
    #[serde(serialize_with = "crate::output::files::serialize_optional_number")]
    pub baseline_value: Option<f64>,
    /// The largest candidate value that still passes (absent when the baseline never
    /// recovered: anything passes).
    #[serde(serialize_with = "crate::output::files::serialize_optional_number")]
    pub limit: Option<f64>,
    pub passed: bool,
}

fn p50_of(runs: &Runs, metric: &str) -> Option<f64> {
    let values: Vec<Option<f64>> = runs.runs.iter().map(|run| run.metric(metric)).collect();
    Distribution::of(&values).p50
}

/// Checks every candidate (every algorithm but the baseline) against the baseline.
pub fn evaluate_gate(data: &CompareData, baseline: &str, rules: &[GateRule]) -> Vec<GateCheck> {
    let Some((_, baseline_runs)) = data.algorithms.iter().find(|(name, _)| name == baseline) else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    for (candidate, runs) in data.algorithms.iter().filter(|(name, _)| name != baseline) {
        for rule in rules {
            let baseline_value = p50_of(baseline_runs, &rule.metric);
            let candidate_value = p50_of(runs, &rule.metric);
            // Rounded to a millionth, as the metrics are, so the table shows `28.234`
            // rather than binary noise.
            let limit = baseline_value.map(|base| {
                let limit = match rule.margin {
                    Margin::Absolute(margin) => base + margin,
                    Margin::Relative(fraction) => base + base.abs() * fraction,
                };
                (limit * 1e6).round() / 1e6
            });
            // Absent means "never recovered" (or no failure at all, for both sides
            // alike): worse than any value, equal to another absence.
            let passed = match (candidate_value, limit) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(value), Some(limit)) => value <= limit + 1e-9,
            };
            checks.push(GateCheck {
                candidate: candidate.clone(),
                metric: rule.metric.clone(),
                candidate_value,
                baseline: baseline.to_string(),
                baseline_value,
                limit,
                passed,
            });
        }
    }
    checks
}

/// The gate checks as a table, one line each.
pub fn gate_table(checks: &[GateCheck]) -> Table {
    let mut table = Table::new(&[
        "gate",
        "candidate",
        "metric",
        "value",
        "baseline",
        "baseline_value",
        "limit",
    ]);
    for check in checks {
        let (status, verdict) = RowStatus::verdict(check.passed);
        table.push(
            status,
            vec![
                verdict,
                check.candidate.clone(),
                check.metric.clone(),
                format_optional(check.candidate_value),
                check.baseline.clone(),
                format_optional(check.baseline_value),
                format_optional(check.limit),
            ],
        );
    }
    table
}

/// Picks one statistic of a distribution.
type Statistic = fn(&Distribution) -> Option<f64>;

/// The comparison table (see the module doc for its two shapes).
pub fn comparison_table(data: &CompareData) -> Table {
    let several = data.seeds.len() > 1;
    let mut columns = vec!["algorithm"];
    if several {
        columns.push("statistic");
    }
    columns.extend(COMPARED_METRICS);
    let mut table = Table::new(&columns);
    for (name, runs) in &data.algorithms {
        let distributions: Vec<Distribution> = COMPARED_METRICS
            .iter()
            .map(|metric| {
                let values: Vec<Option<f64>> =
                    runs.runs.iter().map(|run| run.metric(metric)).collect();
                Distribution::of(&values)
            })
            .collect();
        let statistics: &[(&str, Statistic)] = if several {
            &[("p50", |d| d.p50), ("p95", |d| d.p95), ("max", |d| d.max)]
        } else {
            &[("", |d| d.p50)]
        };
        for (label, pick) in statistics {
            let mut cells = vec![name.clone()];
            if several {
                cells.push(label.to_string());
            }
            cells.extend(distributions.iter().map(|d| format_optional(pick(d))));
            table.push(RowStatus::Plain, cells);
        }
    }
    table
}

/// `compare.csv`.
pub fn compare_csv(data: &CompareData) -> String {
    let mut out = String::from("algorithm,seed");
    for name in Summary::NUMERIC_METRICS {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for (name, runs) in &data.algorithms {
        for run in &runs.runs {
            out.push_str(&format!("{name},{}", run.seed));
            for value in &run.metrics {
                out.push(',');
                out.push_str(&format_optional(*value));
            }
            out.push('\n');
        }
    }
    out
}

/// Per algorithm, the median over seeds of `vms_ready` and `guests_running`.
pub fn overlays(data: &CompareData) -> Vec<Overlay> {
    data.algorithms
        .iter()
        .map(|(name, runs)| {
            let samples = runs.time_ms.len();
            let median = |pick: fn(&super::SeedRun) -> &[i64]| {
                let series: Vec<&[i64]> = runs.runs.iter().map(pick).collect();
                let [_, p50, _] = band_over_seeds(&series, samples);
                p50.into_iter().map(Some).collect()
            };
            Overlay {
                algorithm: name.clone(),
                series: vec![
                    Series {
                        name: "vms_ready".into(),
                        values: median(|run| &run.vms_ready),
                    },
                    Series {
                        name: "guests_running".into(),
                        values: median(|run| &run.guests_running),
                    },
                ],
            }
        })
        .collect()
}

/// The JSON of `--json` and `comparison.json`.
pub fn comparison_json(data: &CompareData, checks: &[GateCheck]) -> serde_json::Value {
    serde_json::json!({
        "scenario": data.scenario,
        "seeds": data.seeds,
        "table": comparison_table(data).to_json(),
        "gate": checks,
    })
}

/// Writes the files of a comparison into its folder (`destination`).
pub fn write_compare(
    destination: &Destination,
    data: &CompareData,
    checks: &[GateCheck],
) -> Result<(), WriteError> {
    let encode = |e: &dyn std::fmt::Display| WriteError::Encode(e.to_string());
    let rows = compare_csv(data);
    let table = comparison_table(data).to_csv().map_err(|e| encode(&e))?;
    let json_value = comparison_json(data, checks);
    let json = serde_json::to_string_pretty(&json_value).map_err(|e| encode(&e))? + "\n";
    let overlays = overlays(data);
    let time_s: Vec<f64> = data
        .algorithms
        .first()
        .map(|(_, runs)| runs.time_ms.iter().map(|t| *t as f64 / 1000.0).collect())
        .unwrap_or_default();
    let seeds = match data.seeds.as_slice() {
        [one] => format!("seed {one}"),
        many => format!(
            "median of seeds {}–{}",
            many.first().copied().unwrap_or(0),
            many.last().copied().unwrap_or(0)
        ),
    };
    let title = format!("{}: {seeds}", data.scenario);
    let gate = json_value["gate"].as_array().cloned().unwrap_or_default();
    let report = report::compare_report(
        &title,
        &time_s,
        &overlays,
        &data.events,
        &[
            ("comparison", "Comparison", &table),
            ("compare", "Every algorithm and seed", &rows),
        ],
        &gate,
    )?;
    destination.write(|staging| {
        write_file(staging, "compare.csv", rows.as_bytes())?;
        write_file(staging, "comparison.csv", table.as_bytes())?;
        write_file(staging, "comparison.json", json.as_bytes())?;
        plot::render_overlay(
            &title,
            &time_s,
            &overlays,
            &data.events,
            &staging.join("overlay.svg"),
            &staging.join("overlay.png"),
        )?;
        write_file(staging, report::REPORT_FILE_NAME, report.as_bytes())?;
        Ok(())
    })
}

/// Formats a number for messages.
pub fn describe_value(value: Option<f64>) -> String {
    value.map_or_else(|| "absent".to_string(), format_number)
}

#[cfg(test)]
mod tests {
    use super::super::SeedRun;
    use super::*;

    fn runs(values: &[Option<f64>]) -> Runs {
        Runs {
            time_ms: vec![0],
            runs: values
                .iter()
                .enumerate()
                .map(|(seed, value)| SeedRun {
                    seed: seed as u64,
                    metrics: Summary::NUMERIC_METRICS
                        .iter()
                        .map(|name| {
                            if *name == "recovery_s" || *name == "max_overshoot" {
                                *value
                            } else {
                                Some(0.0)
                            }
                        })
                        .collect(),
                    vms_ready: vec![1],
                    guests_running: vec![1],
                })
                .collect(),
        }
    }

    fn data(base: &[Option<f64>], candidate: &[Option<f64>]) -> CompareData {
        CompareData {
            scenario: "s".into(),
            seeds: (0..base.len() as u64).collect(),
            algorithms: vec![
                ("base".into(), runs(base)),
                ("cand".into(), runs(candidate)),
            ],
            events: Vec::new(),
        }
    }

    #[test]
    fn parses_absolute_relative_and_default_margins() {
        let rules = parse_gate("max_overshoot:0, minutes_under_ready:10%,vms_created").unwrap();
        assert_eq!(rules[0].margin, Margin::Absolute(0.0));
        assert_eq!(rules[1].margin, Margin::Relative(0.1));
        assert_eq!(rules[2].margin, Margin::Absolute(0.0));
        assert!(parse_gate("max_guests:1").unwrap_err().contains("valid"));
        assert!(parse_gate("max_overshoot:-1").is_err());
        assert!(parse_gate("max_overshoot:x%").is_err());
        assert!(parse_gate("").is_err());
    }

    #[test]
    fn gate_fails_only_beyond_the_margin() {
        let d = data(&[Some(10.0)], &[Some(11.0)]);
        let rule = |margin| GateRule {
            metric: "max_overshoot".into(),
            margin,
        };
        assert!(!evaluate_gate(&d, "base", &[rule(Margin::Absolute(0.0))])[0].passed);
        assert!(evaluate_gate(&d, "base", &[rule(Margin::Absolute(1.0))])[0].passed);
        assert!(evaluate_gate(&d, "base", &[rule(Margin::Relative(0.1))])[0].passed);
        assert!(!evaluate_gate(&d, "base", &[rule(Margin::Relative(0.05))])[0].passed);
    }

    #[test]
    fn never_recovering_is_worse_than_recovering() {
        let rule = [GateRule {
            metric: "recovery_s".into(),
            margin: Margin::Relative(0.5),
        }];
        assert!(!evaluate_gate(&data(&[Some(60.0)], &[None]), "base", &rule)[0].passed);
        assert!(evaluate_gate(&data(&[None], &[Some(60.0)]), "base", &rule)[0].passed);
        assert!(evaluate_gate(&data(&[None], &[None]), "base", &rule)[0].passed);
    }

    #[test]
    fn table_has_three_rows_per_algorithm_with_several_seeds() {
        let d = data(&[Some(1.0), Some(3.0)], &[Some(2.0), Some(2.0)]);
        let table = comparison_table(&d);
        assert_eq!(table.rows.len(), 6);
        assert_eq!(table.columns[1], "statistic");
        let one = data(&[Some(1.0)], &[Some(2.0)]);
        assert_eq!(comparison_table(&one).rows.len(), 2);
    }
}
