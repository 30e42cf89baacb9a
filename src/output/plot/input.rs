//! Reading a finished run back for `poolsim plot`: `timeseries.csv`, and beside it
//! `events.csv` and `plot.json` when present.

use std::path::Path;

use crate::input::{BoundedReader, FileKind};
use serde::{Deserialize, Serialize};

use super::{EventMarker, Interval, PlotError, PlotInput, Series};

/// The event log written beside `timeseries.csv` (DESIGN.md §1.3).
pub const EVENTS_FILE_NAME: &str = "events.csv";

/// The plot annotations written beside `timeseries.csv` at run time; see [`PlotAnnotations`].
pub const PLOT_ANNOTATIONS_FILE_NAME: &str = "plot.json";

/// The `events.csv` kind whose rows are the scenario's own actions (partitions,
/// crashes, load changes): those, and only those, become markers on the time axis.
const SCENARIO_EVENT_KIND: &str = "Scenario";

/// `plot.json`: what a plot needs that the CSV files do not say. Written by `poolsim
/// run` beside `timeseries.csv`, read back by [`read_timeseries_csv`]. Every field is
/// optional; unknown fields are rejected so that a typo is an error, not a silent no-op.
///
/// ```json
/// {
///   "title": "partition-overshoot",
///   "hpa_target_pct": 70.0,
///   "intervals": [{"start_s": 600.0, "end_s": 1500.0, "label": "node-1 partitioned"}],
///   "events": [{"time_s": 1800.0, "label": "load drops to 20%"}]
/// }
/// ```
///
/// `title` replaces the default title (the name of the CSV's directory, which is the
/// scenario's `metadata.name`). `events`, when not empty, replace the markers taken
/// from the `Scenario` rows of `events.csv` (a run writes the same events to both, so
/// `poolsim plot` of a run draws exactly what the run drew).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotAnnotations {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa_target_pct: Option<f64>,
    #[serde(default)]
    pub intervals: Vec<Interval>,
    #[serde(default)]
    pub events: Vec<EventMarker>,
}

/// Whether a column of a CSV is one of poolsim's observed columns
/// ([`crate::timeseries::COLUMNS`]). Those must be numbers; any other column that is
/// not all numbers is left out of the plot input instead, since extra columns are free
/// to carry other data.
fn known_column(name: &str) -> bool {
    crate::timeseries::column(name).is_some_and(|column| column.observed)
}

/// Reads `timeseries.csv` into a [`PlotInput`]: `time_s` becomes the time axis, every
/// other column a [`Series`] (empty cells are `None`). Then, if they exist in the same
/// directory, `events.csv` (its `Scenario` rows become markers labelled with their
/// `message`, or `"<reason> <object>"` without one) and `plot.json` ([`PlotAnnotations`]).
pub fn read_timeseries_csv(path: &Path) -> Result<PlotInput, PlotError> {
    let mut input = read_timeseries(path)?;
    let directory = path.parent().unwrap_or_else(|| Path::new(""));
    input.title = directory
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "timeseries".to_string());

    let events_path = directory.join(EVENTS_FILE_NAME);
    // `exists`, not `is_file`: a FIFO or device in their place is refused by the
    // reader with a message, not silently left out.
    if events_path.exists() {
        input.events = read_scenario_events(&events_path)?;
        let rows = read_rescale_rows(&events_path)?;
        let rows = rows.iter().map(|(time_s, message, count)| {
            (
                RESCALE_KIND,
                RESCALE_REASON,
                *time_s,
                message.as_str(),
                *count,
            )
        });
        input.rescales = super::hpa::rescales_from_events(rows, &input);
    }

    let annotations_path = directory.join(PLOT_ANNOTATIONS_FILE_NAME);
    if annotations_path.exists() {
        let annotations = read_annotations(&annotations_path)?;
        if let Some(title) = annotations.title {
            input.title = title;
        }
        input.hpa_target_pct = annotations.hpa_target_pct;
        input.intervals = annotations.intervals;
        if !annotations.events.is_empty() {
            // The run wrote these from the same actions as the `Scenario` rows, in the
            // plot's own words: taking both would mark every event twice.
            input.events = annotations.events;
        }
    }
    input.events.sort_by(|a, b| {
        a.time_s
            .total_cmp(&b.time_s)
            .then_with(|| a.label.cmp(&b.label))
    });
    Ok(input)
}

fn csv_error(path: &Path) -> impl Fn(csv::Error) -> PlotError + '_ {
    move |source| PlotError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

fn read_error(error: crate::input::InputError) -> PlotError {
    PlotError::Read {
        path: error.path.clone(),
        source: error.into(),
    }
}

/// A regular file only, bounded in size (`crate::input`): a FIFO or `/dev/zero` given
/// as the CSV is refused instead of blocking or filling memory.
fn open_csv(path: &Path) -> Result<csv::Reader<BoundedReader>, PlotError> {
    let file = crate::input::open_bounded(path, FileKind::Csv).map_err(read_error)?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file))
}

fn column_index(
    headers: &csv::StringRecord,
    path: &Path,
    column: &str,
) -> Result<usize, PlotError> {
    headers
        .iter()
        .position(|header| header.trim() == column)
        .ok_or_else(|| PlotError::MissingColumn {
            path: path.to_path_buf(),
            column: column.to_string(),
        })
}

/// One cell: empty is `None`, otherwise it must be a number.
fn parse_cell(cell: &str) -> Result<Option<f64>, ()> {
    let cell = cell.trim();
    if cell.is_empty() {
        Ok(None)
    } else {
        cell.parse::<f64>().map(Some).map_err(|_| ())
    }
}

fn read_timeseries(path: &Path) -> Result<PlotInput, PlotError> {
    let mut reader = open_csv(path)?;
    let headers = reader.headers().map_err(csv_error(path))?.clone();
    let time_index = column_index(&headers, path, "time_s")?;

    struct Column {
        name: String,
        values: Vec<Option<f64>>,
        /// `false` once a cell of an extra column failed to parse.
        numeric: bool,
    }
    let mut columns: Vec<Column> = headers
        .iter()
        .map(|name| Column {
            name: name.trim().to_string(),
            values: Vec::new(),
            numeric: true,
        })
        .collect();
    let mut time_s = Vec::new();

    for record in reader.records() {
        let record = record.map_err(csv_error(path))?;
        let line = record.position().map_or(0, csv::Position::line);
        for (index, column) in columns.iter_mut().enumerate() {
            let cell = record.get(index).unwrap_or("");
            match parse_cell(cell) {
                Ok(value) => column.values.push(value),
                Err(()) if known_column(&column.name) => {
                    return Err(PlotError::BadNumber {
                        path: path.to_path_buf(),
                        line,
                        column: column.name.clone(),
                        value: cell.to_string(),
                    });
                }
                Err(()) => {
                    column.numeric = false;
                    column.values.push(None);
                }
            }
        }
        match columns[time_index].values.last().copied().flatten() {
            Some(time) => time_s.push(time),
            None => {
                return Err(PlotError::BadNumber {
                    path: path.to_path_buf(),
                    line,
                    column: "time_s".to_string(),
                    value: String::new(),
                })
            }
        }
    }

    let series = columns
        .into_iter()
        .enumerate()
        .filter(|(index, column)| *index != time_index && column.numeric)
        .map(|(_, column)| Series {
            name: column.name,
            values: column.values,
        })
        .collect();
    Ok(PlotInput {
        time_s,
        series,
        ..PlotInput::default()
    })
}

fn read_scenario_events(path: &Path) -> Result<Vec<EventMarker>, PlotError> {
    let mut reader = open_csv(path)?;
    let headers = reader.headers().map_err(csv_error(path))?.clone();
    let time_index = column_index(&headers, path, "time_s")?;
    let kind_index = column_index(&headers, path, "kind")?;
    let reason_index = column_index(&headers, path, "reason")?;
    let object_index = headers.iter().position(|header| header.trim() == "object");
    let message_index = headers.iter().position(|header| header.trim() == "message");

    let mut markers = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error(path))?;
        if record.get(kind_index).map(str::trim) != Some(SCENARIO_EVENT_KIND) {
            continue;
        }
        let time_cell = record.get(time_index).unwrap_or("");
        let Ok(Some(time_s)) = parse_cell(time_cell) else {
            return Err(PlotError::BadNumber {
                path: path.to_path_buf(),
                line: record.position().map_or(0, csv::Position::line),
                column: "time_s".to_string(),
                value: time_cell.to_string(),
            });
        };
        let reason = record.get(reason_index).unwrap_or("").trim();
        let object = object_index
            .and_then(|index| record.get(index))
            .unwrap_or("")
            .trim();
        let message = message_index
            .and_then(|index| record.get(index))
            .unwrap_or("")
            .trim();
        let label = if message.is_empty() {
            [reason, object]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            message.to_string()
        };
        markers.push(EventMarker { time_s, label });
    }
    Ok(markers)
}

/// The `events.csv` rows of the HPA's rescales (see `super::hpa`).
const RESCALE_KIND: &str = "HorizontalPodAutoscaler";
const RESCALE_REASON: &str = "SuccessfulRescale";

/// The HPA's `SuccessfulRescale` rows of `events.csv`: (time, message, count). The
/// `count` column (issue 15) is 1 where an older file has none or leaves it empty.
fn read_rescale_rows(path: &Path) -> Result<Vec<(f64, String, u32)>, PlotError> {
    let mut reader = open_csv(path)?;
    let headers = reader.headers().map_err(csv_error(path))?.clone();
    let time_index = column_index(&headers, path, "time_s")?;
    let kind_index = column_index(&headers, path, "kind")?;
    let reason_index = column_index(&headers, path, "reason")?;
    let message_index = headers.iter().position(|header| header.trim() == "message");
    let count_index = headers.iter().position(|header| header.trim() == "count");
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error(path))?;
        let cell = |index: usize| record.get(index).unwrap_or("").trim();
        if cell(kind_index) != RESCALE_KIND || cell(reason_index) != RESCALE_REASON {
            continue;
        }
        let line = record.position().map_or(0, csv::Position::line);
        let bad = |column: &str, value: &str| PlotError::BadNumber {
            path: path.to_path_buf(),
            line,
            column: column.to_string(),
            value: value.to_string(),
        };
        let Ok(Some(time_s)) = parse_cell(cell(time_index)) else {
            return Err(bad("time_s", cell(time_index)));
        };
        let count = match count_index.map(cell).filter(|c| !c.is_empty()) {
            None => 1,
            Some(text) => text.parse::<u32>().map_err(|_| bad("count", text))?,
        };
        let message = message_index.map(cell).unwrap_or("").to_string();
        rows.push((time_s, message, count));
    }
    Ok(rows)
}

fn read_annotations(path: &Path) -> Result<PlotAnnotations, PlotError> {
    let text = crate::input::read_string(path, FileKind::Json).map_err(read_error)?;
    serde_json::from_str(&text).map_err(|source| PlotError::Json {
        path: path.to_path_buf(),
        source,
    })
}
