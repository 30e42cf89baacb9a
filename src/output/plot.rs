//! Plots of a run: `replicas.svg`/`replicas.png` (DESIGN.md §1.3), the band plot of a
//! sweep and the overlay of a comparison.
//!
//! The plots model no upstream behaviour; they draw the columns of `timeseries.csv`,
//! whose meaning DESIGN.md §1.3 defines (`vms_total` is `status.replicas` semantics,
//! `vms_ready` is `status.readyReplicas`, `guests_running` is ground truth).
//!
//! Invariants:
//! - Text is laid out and rasterised with the bundled DejaVu Sans (`assets/fonts/`),
//!   registered from bytes: no system font library is read, so the same input gives
//!   byte-identical SVG and PNG on every machine.
//! - Nothing here reads a clock or the environment; the only files touched are the
//!   ones named by the caller (and, for [`read_timeseries_csv`], its two siblings).
//! - Every figure is drawn by one generic function run on both backends, so the SVG and
//!   the PNG always show the same thing.

mod band;
mod draw;
mod hpa;
mod input;
mod layout;
mod overlay;
mod replicas;
mod text_raster;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

pub use hpa::rescales_from_events;
pub(crate) use hpa::run_rescales;
pub use input::{
    read_timeseries_csv, PlotAnnotations, EVENTS_FILE_NAME, PLOT_ANNOTATIONS_FILE_NAME,
};

/// One column of a time series, aligned with [`PlotInput::time_s`]; `None` is an empty
/// cell (for example `hpa_desired_replicas` in a run without an HPA).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// A scenario event, drawn as a tick on the time axis and a label above the plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMarker {
    pub time_s: f64,
    pub label: String,
}

/// A period of disruption (a node partition, a crash), drawn as a labelled translucent band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    pub start_s: f64,
    pub end_s: f64,
    pub label: String,
}

/// An HPA rescale decision (a `SuccessfulRescale` event): drawn as a mark at the new
/// size, labelled with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rescale {
    pub time_s: f64,
    pub replicas: f64,
}

/// Everything the replicas plot shows. Series are looked up by their `timeseries.csv`
/// column name; a missing column is simply not drawn.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlotInput {
    /// The scenario name.
    pub title: String,
    pub time_s: Vec<f64>,
    pub series: Vec<Series>,
    pub events: Vec<EventMarker>,
    pub intervals: Vec<Interval>,
    /// The HPA's target average CPU utilization, drawn as a line on the CPU panel.
    pub hpa_target_pct: Option<f64>,
    /// The HPA's rescale decisions, in time order.
    pub rescales: Vec<Rescale>,
}

impl PlotInput {
    /// The series with this column name, if present.
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|series| series.name == name)
    }
}

/// Percentiles over the seeds of a sweep, per sample time, for one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub name: String,
    pub p5: Vec<f64>,
    pub p50: Vec<f64>,
    pub p95: Vec<f64>,
}

/// The series of one algorithm in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    pub algorithm: String,
    pub series: Vec<Series>,
}

/// Why a plot could not be read or written. All variants are operating errors (bad or
/// unreadable input, a full disk), never a broken invariant; none leaves a partial file
/// at the caller's paths other than what the failed write itself left.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: missing column `{column}`")]
    MissingColumn { path: PathBuf, column: String },
    #[error("{path}, line {line}, column `{column}`: `{value}` is not a number")]
    BadNumber {
        path: PathBuf,
        line: u64,
        column: String,
        value: String,
    },
    /// The input is inconsistent (no rows, a series longer than the time axis, ...).
    #[error("cannot plot: {0}")]
    Invalid(String),
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    #[error("the bundled font could not be loaded")]
    Font,
}

/// Renders the replicas plot (and, when the input has CPU data, the CPU panel below it).
pub fn render_replicas(
    input: &PlotInput,
    svg_path: &Path,
    png_path: &Path,
) -> Result<(), PlotError> {
    let figure = replicas::ReplicasFigure::new(input)?;
    render_figure(&figure, svg_path, png_path)
}

/// Renders a sweep: for each metric, the p5–p95 band and the median over time, with
/// the scenario's `events` marked on the time axis.
pub fn render_band(
    title: &str,
    time_s: &[f64],
    bands: &[Band],
    events: &[EventMarker],
    svg_path: &Path,
    png_path: &Path,
) -> Result<(), PlotError> {
    let figure = band::BandFigure::new(title, time_s, bands, events)?;
    render_figure(&figure, svg_path, png_path)
}

/// Renders a comparison: the series of several algorithms overlaid, one colour per
/// algorithm and one line style per series, with the scenario's `events` marked on
/// the time axis.
pub fn render_overlay(
    title: &str,
    time_s: &[f64],
    overlays: &[Overlay],
    events: &[EventMarker],
    svg_path: &Path,
    png_path: &Path,
) -> Result<(), PlotError> {
    let figure = overlay::OverlayFigure::new(title, time_s, overlays, events)?;
    render_figure(&figure, svg_path, png_path)
}

/// A picture drawn identically on any plotters backend.
trait Figure {
    fn size_px(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

/// Draws the figure into memory on both backends, then writes the two files.
fn render_figure(figure: &impl Figure, svg_path: &Path, png_path: &Path) -> Result<(), PlotError> {
    register_bundled_font()?;
    let (width_px, height_px) = figure.size_px();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width_px, height_px)).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(draw::draw_error)?;
    }

    let mut rgb = vec![255u8; width_px as usize * height_px as usize * 3];
    {
        let bitmap = BitMapBackend::with_buffer(&mut rgb, (width_px, height_px));
        let root =
            text_raster::CrispTextBitmap::new(bitmap, BUNDLED_FONT_BYTES)?.into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(draw::draw_error)?;
    }
    let png = encode_png(&rgb, width_px, height_px)?;

    write_file(svg_path, svg.as_bytes())?;
    write_file(png_path, &png)
}

fn encode_png(rgb: &[u8], width_px: u32, height_px: u32) -> Result<Vec<u8>, PlotError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width_px, height_px);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Flat colours and long runs: per-row filter choice roughly halves the files
    // (plots go into READMEs and CI). The default deflate level gives files as small
    // as the strongest here (66.0 KB against 66.7 KB for the benchmark day's plot) in
    // under half the time.
    encoder.set_compression(png::Compression::Default);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = encoder
        .write_header()
        .map_err(|error| PlotError::Encode(error.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|error| PlotError::Encode(error.to_string()))?;
    writer
        .finish()
        .map_err(|error| PlotError::Encode(error.to_string()))?;
    Ok(bytes)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    std::fs::write(path, bytes).map_err(|source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// DejaVu Sans (Bitstream Vera license, `assets/fonts/DejaVuSans.LICENSE`): wide Unicode
/// coverage and metrics close to the common sans-serif fonts an SVG viewer falls back to.
static BUNDLED_FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font under [`draw::FONT_FAMILY`] once per process.
fn register_bundled_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(draw::FONT_FAMILY, FontStyle::Normal, BUNDLED_FONT_BYTES)
            .is_ok()
    });
    if registered {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// Checks that every column has one value per sample time, and that there is at least
/// one sample and time is finite and never goes back.
fn check_time_axis(time_s: &[f64]) -> Result<(), PlotError> {
    if time_s.is_empty() {
        return Err(PlotError::Invalid(
            "the time series has no rows".to_string(),
        ));
    }
    if let Some(bad) = time_s.iter().find(|t| !t.is_finite()) {
        return Err(PlotError::Invalid(format!("time {bad} is not finite")));
    }
    if let Some(pair) = time_s.windows(2).find(|pair| pair[1] < pair[0]) {
        return Err(PlotError::Invalid(format!(
            "time goes back from {} s to {} s",
            pair[0], pair[1]
        )));
    }
    Ok(())
}

/// Every event needs a finite time to be placed on the axis.
fn check_events(events: &[EventMarker]) -> Result<(), PlotError> {
    match events.iter().find(|event| !event.time_s.is_finite()) {
        Some(event) => Err(PlotError::Invalid(format!(
            "event `{}` has no finite time",
            event.label
        ))),
        None => Ok(()),
    }
}

fn check_column_length(name: &str, length: usize, time_length: usize) -> Result<(), PlotError> {
    if length == time_length {
        Ok(())
    } else {
        Err(PlotError::Invalid(format!(
            "column `{name}` has {length} values for {time_length} sample times"
        )))
    }
}
