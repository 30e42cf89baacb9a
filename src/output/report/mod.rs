//! `report.html`: one self-contained, interactive page per run, sweep and comparison
//! (issue 15, item 7).
//!
//! The page shows what the other files of its folder hold, read back from their own
//! text (`timeseries.csv`, `events.csv`, the sweep and comparison tables), so it never
//! disagrees with them and picks up a column another part of poolsim adds to those
//! files without a change here: charts of the time series with the scenario's events
//! marked (zoom by dragging, values at a time on hover), the summary, the expectations
//! and their results, and the events table filterable by type, kind and object.
//!
//! Invariants:
//! - Self-contained: the chart library (uPlot, `vendor/`, MIT) and the page's script and
//!   style are embedded with `include_str!`; the page loads nothing from anywhere.
//! - The data is one JSON document in a `<script type="application/json">` element, with
//!   `<`, `>` and `&` written as `\u003c`, `\u003e`, `\u0026`, so no object name, event
//!   message or expectation text can end the element or start markup.
//! - Deterministic bytes: no clock, no environment, ordered data only; the same run gives
//!   the same file.
//!
//! Nothing here models upstream behaviour: the page draws poolsim's own outputs, whose
//! meaning DESIGN.md §1.3 defines.

mod page;

use crate::output::error::WriteError;
use crate::output::files::{json_number, ExpectationResult, Summary};
use crate::output::plot::{Band, EventMarker, Interval, Overlay, PlotAnnotations};
use serde::{Serialize, Serializer};

pub use page::render;

/// The file name of the report in a run, sweep or comparison folder.
pub const REPORT_FILE_NAME: &str = "report.html";

/// Which command's folder a page reports on (the script lays the page out by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PageKind {
    Run,
    Sweep,
    Compare,
}

/// Everything one report shows: serialized as the page's embedded JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub kind: PageKind,
    pub title: String,
    pub subtitle: String,
    /// `summary.json`'s values in its own order, `[name, value]` pairs (runs only).
    pub summary: Vec<(String, serde_json::Value)>,
    pub warnings: Vec<String>,
    pub expectations: Vec<ExpectationResult>,
    pub charts: Vec<Chart>,
    /// The scenario's events, drawn as vertical lines on every chart.
    pub marks: Vec<EventMarker>,
    /// Node failures, drawn as shaded spans (runs only).
    pub intervals: Vec<Interval>,
    pub tables: Vec<Table>,
    /// `events.csv` (runs only).
    pub events: Option<Table>,
}

/// One interactive chart: series over a shared time axis.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub y_label: String,
    /// The label of the right-hand axis, when a series uses it.
    pub y2_label: Option<String>,
    #[serde(serialize_with = "numbers")]
    pub time_s: Vec<f64>,
    pub series: Vec<ChartSeries>,
    /// Pairs of series indexes (upper, lower) whose gap is filled: a sweep's p5–p95.
    pub bands: Vec<[usize; 2]>,
    /// A horizontal reference line: the HPA's target utilization.
    pub threshold: Option<Threshold>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChartSeries {
    pub name: String,
    #[serde(serialize_with = "optional_numbers")]
    pub values: Vec<Option<f64>>,
    /// Drawn against the right-hand axis.
    pub right_axis: bool,
    /// Drawn dashed (a band's edges).
    pub dashed: bool,
    /// The colour slot: series of one group (an algorithm, a band) share a colour.
    pub color: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Threshold {
    pub label: String,
    pub value: f64,
}

/// A table of text cells, as read from one of the folder's CSV files.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Table {
    pub id: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads CSV text with a header row (what poolsim's own CSV writers produce).
    pub fn from_csv(id: &str, title: &str, text: &str) -> Result<Table, WriteError> {
        let encode = |e: csv::Error| WriteError::Encode(format!("{id}: {e}"));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let columns = reader
            .headers()
            .map_err(encode)?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            rows.push(record.map_err(encode)?.iter().map(str::to_string).collect());
        }
        Ok(Table {
            id: id.to_string(),
            title: title.to_string(),
            columns,
            rows,
        })
    }

    /// A table from a JSON array of flat objects (the gate checks of a comparison):
    /// the first object's keys are the columns.
    pub fn from_records(id: &str, title: &str, records: &[serde_json::Value]) -> Table {
        let columns: Vec<String> = records
            .first()
            .and_then(|first| first.as_object())
            .map(|object| object.keys().cloned().collect())
            .unwrap_or_default();
        let cell = |value: Option<&serde_json::Value>| match value {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let rows = records
            .iter()
            .map(|record| columns.iter().map(|c| cell(record.get(c))).collect())
            .collect();
        Table {
            id: id.to_string(),
            title: title.to_string(),
            columns,
            rows,
        }
    }
}

/// The charts of a run and which `timeseries.csv` columns each draws (the same counts
/// as `replicas.png`); a column not named here is drawn on a last chart of its own.
const RUN_CHARTS: [(&str, &str, &[&str]); 3] = [
    (
        "replicas",
        "Replicas",
        &[
            "desired_replicas",
            "hpa_desired_replicas",
            "vms_total",
            "vms_ready",
            "vmis_running",
            "vmis_unknown",
            "guests_running",
            "pvcs_bound",
        ],
    ),
    (
        "overshoot",
        "Overshoot",
        &["overshoot", "uncontrolled_overshoot"],
    ),
    (
        "cpu",
        "CPU and load",
        &["cpu_utilization_pct", "load_cores"],
    ),
];

/// Drawn against the right-hand axis of its chart (cores next to percentages).
const RIGHT_AXIS_COLUMNS: [&str; 1] = ["load_cores"];

/// The report of one run, from the texts of the run's own files.
pub fn run_report(
    summary: &Summary,
    timeseries_csv: &str,
    events_csv: &str,
    annotations: &PlotAnnotations,
) -> Result<String, WriteError> {
    let encode = |e: serde_json::Error| WriteError::Encode(e.to_string());
    let summary_value = serde_json::to_value(summary).map_err(encode)?;
    let summary_pairs = summary_value
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "warnings" | "expectations"))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    let timeseries = Table::from_csv("timeseries", "timeseries.csv", timeseries_csv)?;
    let page = Page {
        kind: PageKind::Run,
        title: summary.scenario.clone(),
        subtitle: format!("algorithm {}, seed {}", summary.algorithm, summary.seed),
        summary: summary_pairs,
        warnings: summary.warnings.clone(),
        expectations: summary.expectations.clone(),
        charts: run_charts(&timeseries, annotations.hpa_target_pct)?,
        marks: annotations.events.clone(),
        intervals: annotations.intervals.clone(),
        tables: Vec::new(),
        events: Some(Table::from_csv("events", "Events", events_csv)?),
    };
    render(&page)
}

/// The charts of a run: [`RUN_CHARTS`], then any other column; a series with no value
/// in any row (an HPA column without an HPA) is left out, and so is a chart that would
/// draw nothing but zeros.
fn run_charts(timeseries: &Table, hpa_target_pct: Option<f64>) -> Result<Vec<Chart>, WriteError> {
    let time_s = column_values(timeseries, 0)?
        .into_iter()
        .map(|t| t.unwrap_or(0.0))
        .collect::<Vec<f64>>();
    let listed: Vec<&str> = RUN_CHARTS
        .iter()
        .flat_map(|(_, _, c)| c.iter().copied())
        .collect();
    let others: Vec<&str> = timeseries.columns[1..]
        .iter()
        .map(String::as_str)
        .filter(|name| !listed.contains(name))
        .collect();
    let mut groups: Vec<(&str, &str, Vec<&str>)> = RUN_CHARTS
        .iter()
        .map(|(id, title, columns)| (*id, *title, columns.to_vec()))
        .collect();
    groups.push(("other", "Other columns", others));
    let mut charts = Vec::new();
    for (id, title, wanted) in groups {
        let mut series = Vec::new();
        for name in wanted {
            let Some(index) = timeseries.columns.iter().position(|c| c == name) else {
                continue;
            };
            let values = column_values(timeseries, index)?;
            if values.iter().all(Option::is_none) {
                continue;
            }
            series.push(ChartSeries {
                name: name.to_string(),
                values,
                right_axis: RIGHT_AXIS_COLUMNS.contains(&name),
                dashed: false,
                color: series.len(),
            });
        }
        let drawn = series
            .iter()
            .any(|s| s.values.iter().any(|v| v.is_some_and(|v| v != 0.0)));
        if !drawn {
            continue;
        }
        let cpu = id == "cpu";
        charts.push(Chart {
            id: id.to_string(),
            title: title.to_string(),
            y_label: if cpu { "CPU utilization (%)" } else { "count" }.to_string(),
            y2_label: series
                .iter()
                .any(|s| s.right_axis)
                .then(|| "load (cores)".to_string()),
            time_s: time_s.clone(),
            series,
            bands: Vec::new(),
            threshold: hpa_target_pct.filter(|_| cpu).map(|value| Threshold {
                label: "HPA target".to_string(),
                value,
            }),
        });
    }
    Ok(charts)
}

/// One CSV column as numbers; an empty cell is `None`.
fn column_values(table: &Table, index: usize) -> Result<Vec<Option<f64>>, WriteError> {
    let column = &table.columns[index];
    table
        .rows
        .iter()
        .map(|row| {
            let cell = row.get(index).map_or("", String::as_str);
            if cell.is_empty() {
                return Ok(None);
            }
            cell.parse::<f64>().map(Some).map_err(|_| {
                WriteError::Encode(format!(
                    "{}: `{cell}` in `{column}` is not a number",
                    table.id
                ))
            })
        })
        .collect()
}

/// The report of a sweep: for each banded metric, its p5–p95 band and median over the
/// seeds, then the folder's tables (`percentiles.csv`, `sweep.csv`), given as
/// `(id, title, csv text)`.
pub fn sweep_report(
    title: &str,
    time_s: &[f64],
    bands: &[Band],
    marks: &[EventMarker],
    tables: &[(&str, &str, &str)],
) -> Result<String, WriteError> {
    let charts = bands
        .iter()
        .enumerate()
        .map(|(index, band)| {
            let line = |quantile: &str, values: &[f64], dashed: bool| ChartSeries {
                name: format!("{} {quantile}", band.name),
                values: values.iter().copied().map(Some).collect(),
                right_axis: false,
                dashed,
                color: index,
            };
            Chart {
                id: band.name.clone(),
                title: format!("{} over seeds", band.name),
                y_label: "count".to_string(),
                y2_label: None,
                time_s: time_s.to_vec(),
                series: vec![
                    line("p95", &band.p95, true),
                    line("p50", &band.p50, false),
                    line("p5", &band.p5, true),
                ],
                bands: vec![[0, 2]],
                threshold: None,
            }
        })
        .collect();
    analysis_page(PageKind::Sweep, title, charts, marks, tables, Vec::new())
}

/// The report of a comparison: one chart per series, one line per algorithm, then the
/// folder's tables, given as `(id, title, csv text)`, and the gate checks (the `gate`
/// array of `comparison.json`).
pub fn compare_report(
    title: &str,
    time_s: &[f64],
    overlays: &[Overlay],
    marks: &[EventMarker],
    tables: &[(&str, &str, &str)],
    gate: &[serde_json::Value],
) -> Result<String, WriteError> {
    let mut names: Vec<&str> = Vec::new();
    for overlay in overlays {
        for series in &overlay.series {
            if !names.contains(&series.name.as_str()) {
                names.push(&series.name);
            }
        }
    }
    let charts = names
        .iter()
        .map(|name| Chart {
            id: name.to_string(),
            title: format!("{name} by algorithm"),
            y_label: "count".to_string(),
            y2_label: None,
            time_s: time_s.to_vec(),
            series: overlays
                .iter()
                .enumerate()
                .filter_map(|(color, overlay)| {
                    let series = overlay.series.iter().find(|s| s.name == *name)?;
                    Some(ChartSeries {
                        name: overlay.algorithm.clone(),
                        values: series.values.clone(),
                        right_axis: false,
                        dashed: false,
                        color,
                    })
                })
                .collect(),
            bands: Vec::new(),
            threshold: None,
        })
        .collect();
    let extra = if gate.is_empty() {
        Vec::new()
    } else {
        vec![Table::from_records("gate", "Regression gate", gate)]
    };
    analysis_page(PageKind::Compare, title, charts, marks, tables, extra)
}

fn analysis_page(
    kind: PageKind,
    title: &str,
    charts: Vec<Chart>,
    marks: &[EventMarker],
    tables: &[(&str, &str, &str)],
    extra: Vec<Table>,
) -> Result<String, WriteError> {
    let mut all = Vec::new();
    for (id, table_title, text) in tables {
        all.push(Table::from_csv(id, table_title, text)?);
    }
    all.extend(extra);
    let page = Page {
        kind,
        title: title.to_string(),
        subtitle: match kind {
            PageKind::Sweep => "sweep over seeds".to_string(),
            _ => "comparison of algorithms".to_string(),
        },
        summary: Vec::new(),
        warnings: Vec::new(),
        expectations: Vec::new(),
        charts,
        marks: marks.to_vec(),
        intervals: Vec::new(),
        tables: all,
        events: None,
    };
    render(&page)
}

/// Numbers as [`json_number`] writes them: counts as `3`, not `3.0`, which keeps the
/// embedded data small.
fn numbers<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(values.iter().map(|v| json_number(*v)))
}

fn optional_numbers<S: Serializer>(
    values: &[Option<f64>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(values.iter().map(|v| v.map(json_number)))
}

#[cfg(test)]
mod tests;
