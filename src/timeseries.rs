//! The timeseries a run samples: one [`Sample`] per `sampleInterval`, and its columns
//! ([`COLUMNS`]), defined once. Everything that names a column derives from this table:
//! the `timeseries.csv` header and rows (`output::files`), the series of the plot
//! (`output::files::plot_input`) and the columns the plot insists are numbers
//! (`output::plot::input`), the columns `expect[].column` may name (`scenario::spec`,
//! the JSON schema) and the values `check` judges (`check::evaluate`), and the README
//! table (a test compares them).
//!
//! A new column is a field of [`Sample`] and a row of [`COLUMNS`] here, and its value
//! computed where a sample is taken (`output/record.rs`). The order of the rows is
//! the order of the CSV columns: DESIGN.md §1.3 fixes the first eleven, new ones go
//! last.

use crate::engine::SimTime;
use std::fmt::Write as _;

/// One timeseries row (DESIGN.md §1.3 columns, in order; see [`COLUMNS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub time: SimTime,
    pub desired_replicas: i64,
    pub hpa_desired_replicas: Option<i64>,
    pub vms_total: i64,
    pub vms_ready: i64,
    pub vmis_running: i64,
    pub vmis_unknown: i64,
    pub guests_running: i64,
    pub overshoot: i64,
    pub pvcs_bound: i64,
    pub cpu_utilization_pct: Option<i64>,
    /// Offered load in cores (an extra column).
    pub load_cores: f64,
    /// Guests beyond desired that nothing is stopping or counting down (see
    /// `output::record::uncontrolled_overshoot` and `GuestControl`): a scale-in's
    /// graceful shutdowns do not count, a replacement made while the old guest runs on
    /// an unreachable node does (an extra column, after `load_cores`).
    pub uncontrolled_overshoot: i64,
}

/// How a column's value is written in `timeseries.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Simulated seconds: whole seconds as an integer, else up to three decimals with
    /// trailing zeros cut (`12`, `12.5`).
    Seconds,
    /// An integer; an absent value (no HPA) is an empty cell.
    Integer,
    /// Three decimals with trailing zeros (and a trailing point) cut: `0.25`, `2`.
    Decimal3,
}

/// One column of `timeseries.csv`.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// What the column means (DESIGN.md §1.3's table, and README's).
    pub help: &'static str,
    pub format: Format,
    /// The value of a sample, `None` for an empty cell.
    pub value: fn(&Sample) -> Option<f64>,
    /// What the cluster did, as opposed to what the scenario put in (the offered
    /// load): only observed columns are `expect` targets and plotted series, and only
    /// they must be numbers when the plot reads a CSV back.
    pub observed: bool,
}

const fn count(
    name: &'static str,
    help: &'static str,
    value: fn(&Sample) -> Option<f64>,
) -> Column {
    Column {
        name,
        help,
        format: Format::Integer,
        value,
        observed: true,
    }
}

/// Every column of `timeseries.csv`, in order.
pub const COLUMNS: &[Column] = &[
    Column {
        name: "time_s",
        help: "simulated seconds",
        format: Format::Seconds,
        value: |s| Some(s.time.as_secs_f64()),
        observed: true,
    },
    count(
        "desired_replicas",
        "the pool's `spec.replicas` in the API",
        |s| Some(s.desired_replicas as f64),
    ),
    count(
        "hpa_desired_replicas",
        "the HPA's last `desiredReplicas` (empty without an HPA)",
        |s| s.hpa_desired_replicas.map(|v| v as f64),
    ),
    count(
        "vms_total",
        "VMs owned by the pool, terminating ones included (`status.replicas` semantics)",
        |s| Some(s.vms_total as f64),
    ),
    count(
        "vms_ready",
        "owned VMs whose Ready condition is True (`status.readyReplicas` semantics)",
        |s| Some(s.vms_ready as f64),
    ),
    count(
        "vmis_running",
        "the pool's VMIs in phase Running, as the API says",
        |s| Some(s.vmis_running as f64),
    ),
    count(
        "vmis_unknown",
        "the pool's VMIs on a node that is not reporting (node Ready=Unknown): the API cannot know their state",
        |s| Some(s.vmis_unknown as f64),
    ),
    count(
        "guests_running",
        "ground truth: guests actually executing on any node, of every VM the pool created (detached ones and those on unreachable nodes included)",
        |s| Some(s.guests_running as f64),
    ),
    count(
        "overshoot",
        "`max(0, guests_running - desired_replicas)`",
        |s| Some(s.overshoot as f64),
    ),
    count(
        "pvcs_bound",
        "PVCs made from the pool's `dataVolumeTemplates` that are bound and populated",
        |s| Some(s.pvcs_bound as f64),
    ),
    count(
        "cpu_utilization_pct",
        "the HPA's last observed average utilization (empty without an HPA)",
        |s| s.cpu_utilization_pct.map(|v| v as f64),
    ),
    Column {
        name: "load_cores",
        help: "the offered load in cores (the scenario's `load` and `setLoad`)",
        format: Format::Decimal3,
        value: |s| Some(s.load_cores),
        observed: false,
    },
    count(
        "uncontrolled_overshoot",
        "guests beyond desired that nothing is stopping (see \"Overshoot and uncontrolled overshoot\")",
        |s| Some(s.uncontrolled_overshoot as f64),
    ),
];

/// A column by name.
pub fn column(name: &str) -> Option<&'static Column> {
    COLUMNS.iter().find(|c| c.name == name)
}

/// The columns `expect[].column` may name: the observed ones, in order.
pub fn expectable_names() -> Vec<&'static str> {
    COLUMNS
        .iter()
        .filter(|c| c.observed)
        .map(|c| c.name)
        .collect()
}

/// The value of the column `name` in `sample`; `None` for an unknown column or an
/// empty cell.
pub fn value(sample: &Sample, name: &str) -> Option<f64> {
    column(name).and_then(|c| (c.value)(sample))
}

impl Format {
    /// The CSV cell of `value`.
    fn write(self, out: &mut String, value: Option<f64>) {
        let Some(value) = value else { return };
        match self {
            Format::Seconds => out.push_str(&format_time_s((value * 1000.0).round() as u64)),
            Format::Integer => {
                let _ = write!(out, "{}", value as i64);
            }
            Format::Decimal3 => {
                let text = format!("{value:.3}");
                out.push_str(text.trim_end_matches('0').trim_end_matches('.'));
            }
        }
    }
}

/// Simulated milliseconds as `time_s` writes them (also the time of `events.csv`).
pub fn format_time_s(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
            .trim_end_matches('0')
            .to_string()
    }
}

/// `timeseries.csv`: the header, then one line per sample.
pub fn csv(rows: &[Sample]) -> String {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    let mut out = names.join(",");
    out.push('\n');
    for row in rows {
        for (index, column) in COLUMNS.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            column.format.write(&mut out, (column.value)(row));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sample {
        Sample {
            time: SimTime(90_500),
            desired_replicas: 3,
            hpa_desired_replicas: None,
            vms_total: 4,
            vms_ready: 2,
            vmis_running: 3,
            vmis_unknown: 1,
            guests_running: 5,
            overshoot: 2,
            pvcs_bound: 3,
            cpu_utilization_pct: Some(57),
            load_cores: 0.25,
            uncontrolled_overshoot: 1,
        }
    }

    #[test]
    fn a_row_follows_the_header() {
        let text = csv(&[sample()]);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "time_s,desired_replicas,hpa_desired_replicas,vms_total,vms_ready,\
                 vmis_running,vmis_unknown,guests_running,overshoot,pvcs_bound,\
                 cpu_utilization_pct,load_cores,uncontrolled_overshoot"
            )
        );
        assert_eq!(lines.next(), Some("90.5,3,,4,2,3,1,5,2,3,57,0.25,1"));
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn formats_cut_trailing_zeros() {
        let cell = |format: Format, value: f64| {
            let mut out = String::new();
            format.write(&mut out, Some(value));
            out
        };
        assert_eq!(cell(Format::Seconds, 30.0), "30");
        assert_eq!(cell(Format::Seconds, 0.125), "0.125");
        assert_eq!(cell(Format::Decimal3, 2.0), "2");
        assert_eq!(cell(Format::Decimal3, 1.2345), "1.234");
        assert_eq!(cell(Format::Integer, -1.0), "-1");
    }

    #[test]
    fn every_field_of_a_sample_is_a_column() {
        // A field added to `Sample` but not to `COLUMNS` shows up in its Debug output
        // and not here.
        let debug = format!("{:?}", sample());
        let fields = debug.matches(": ").count();
        assert_eq!(fields, COLUMNS.len(), "{debug}");
        for column in COLUMNS {
            let field = column.name.strip_suffix("_s").unwrap_or(column.name);
            assert!(debug.contains(&format!("{field}: ")), "{}", column.name);
        }
    }

    #[test]
    fn only_observed_columns_are_expectable() {
        let names = expectable_names();
        assert!(names.contains(&"uncontrolled_overshoot"));
        assert!(!names.contains(&"load_cores"));
        assert_eq!(value(&sample(), "vms_ready"), Some(2.0));
        assert_eq!(value(&sample(), "hpa_desired_replicas"), None);
        assert_eq!(value(&sample(), "nope"), None);
    }
}
