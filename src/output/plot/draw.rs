//! Drawing pieces shared by the figures: fonts, colours, the chart frame with its
//! axes, the legend beside the plot, and the strip of staggered labels above it.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontDesc;

use super::layout::{
    assign_label_rows, format_tick, nice_step, ticks_between, LabelSpan, TimeUnit, ValueAxis,
};
use super::PlotError;

/// The family the bundled font is registered under. It doubles as the SVG
/// `font-family`, so an SVG viewer uses DejaVu Sans if installed, else its sans-serif.
pub(super) const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// Width of every figure; the brief asks for about 1200×700.
pub(super) const FIGURE_WIDTH_PX: u32 = 1200;
/// Height of the main panel of every figure.
pub(super) const MAIN_PANEL_HEIGHT_PX: u32 = 700;

const OUTER_MARGIN_PX: u32 = 12;
const TITLE_HEIGHT_PX: u32 = 44;
const X_LABEL_AREA_PX: u32 = 48;
const Y_LABEL_AREA_PX: u32 = 62;
/// The legend sits right of the plot, outside it, so it never hides data.
pub(super) const LEGEND_WIDTH_PX: u32 = 240;
const LEGEND_ROW_HEIGHT_PX: i32 = 22;
const LEGEND_SAMPLE_WIDTH_PX: i32 = 34;

const TITLE_FONT_PX: f64 = 22.0;
const AXIS_LABEL_FONT_PX: f64 = 14.0;
const TICK_LABEL_FONT_PX: f64 = 13.0;
pub(super) const LEGEND_FONT_PX: f64 = 13.0;
const STRIP_FONT_PX: f64 = 12.0;

const STRIP_ROW_HEIGHT_PX: u32 = 17;
const STRIP_LABEL_GAP_PX: f64 = 10.0;
/// Beyond this many rows the strip would eat the plot; labels overlap instead.
const STRIP_MAX_ROWS: usize = 8;
const STRIP_PADDING_PX: u32 = 6;

/// The Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
pub(super) const BLACK_INK: RGBColor = RGBColor(0, 0, 0);
pub(super) const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub(super) const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
pub(super) const BLUISH_GREEN: RGBColor = RGBColor(0, 158, 115);
pub(super) const BLUE: RGBColor = RGBColor(0, 114, 178);
pub(super) const VERMILLION: RGBColor = RGBColor(213, 94, 0);
pub(super) const REDDISH_PURPLE: RGBColor = RGBColor(204, 121, 167);
const TEXT_INK: RGBColor = RGBColor(30, 30, 30);

/// Colours for figures with one colour per item (algorithms, metrics), in order.
pub(super) const SEQUENCE_COLOURS: [RGBColor; 7] = [
    BLUE,
    VERMILLION,
    BLUISH_GREEN,
    REDDISH_PURPLE,
    ORANGE,
    SKY_BLUE,
    BLACK_INK,
];

pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<TickedRange, TickedRange>>;

/// A linear axis whose ticks are chosen here rather than by plotters, so that replica
/// counts get whole-number ticks and time gets round numbers in its unit.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TickedRange {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl TickedRange {
    pub(super) fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        TickedRange { range, ticks }
    }
}

impl Ranged for TickedRange {
    /// Tick labels always come from our formatters; this only satisfies plotters' bound.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        if span <= 0.0 {
            return limit.0;
        }
        let fraction = (value - self.range.start) / span;
        limit.0 + (f64::from(limit.1 - limit.0) * fraction).round() as i32
    }

    /// Our ticks for labels and grid lines; no minor grid lines.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

pub(super) fn draw_error<E: std::error::Error + Send + Sync>(
    error: plotters::drawing::DrawingAreaErrorKind<E>,
) -> PlotError {
    PlotError::Draw(error.to_string())
}

pub(super) fn text_style(
    size_px: f64,
    color: RGBColor,
    h_pos: HPos,
    v_pos: VPos,
) -> TextStyle<'static> {
    TextStyle {
        font: FontDesc::new(FontFamily::Name(FONT_FAMILY), size_px, FontStyle::Normal),
        color: color.to_backend_color(),
        pos: Pos::new(h_pos, v_pos),
    }
}

/// The time axis in the unit that suits the run's span; values are in that unit.
#[derive(Debug, Clone)]
pub(super) struct TimeAxis {
    pub(super) unit: TimeUnit,
    pub(super) range: Range<f64>,
    pub(super) ticks: Vec<f64>,
    decimals: usize,
}

/// At most this many time ticks: 1200 pixels hold them with room to spare.
const TIME_AXIS_MAX_TICKS: usize = 12;

impl TimeAxis {
    pub(super) fn new(time_s: &[f64]) -> Self {
        let first_s = time_s.first().copied().unwrap_or(0.0);
        let last_s = time_s.last().copied().unwrap_or(first_s);
        let unit = TimeUnit::for_span_s(last_s - first_s);
        let start = first_s / unit.seconds_per_unit();
        let mut end = last_s / unit.seconds_per_unit();
        if end <= start {
            end = start + 1.0;
        }
        let step = nice_step(end - start, TIME_AXIS_MAX_TICKS);
        TimeAxis {
            unit,
            range: start..end,
            ticks: ticks_between(start, end, step),
            decimals: super::layout::decimals_for_step(step),
        }
    }

    /// A time in seconds on this axis.
    pub(super) fn at(&self, time_s: f64) -> f64 {
        time_s / self.unit.seconds_per_unit()
    }

    pub(super) fn clamp(&self, value: f64) -> f64 {
        value.clamp(self.range.start, self.range.end)
    }

    fn label(&self, value: f64) -> String {
        format_tick(value, self.decimals)
    }
}

/// Builds a chart in `area`, with room above the plot for the title and `strip_px` of
/// labels, and room on the right for the legend.
pub(super) fn build_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    top_px: u32,
    time_axis: &TimeAxis,
    value_axis: &ValueAxis,
) -> Result<Chart<'a, DB>, PlotError> {
    ChartBuilder::on(area)
        .margin_top(top_px)
        .margin_left(OUTER_MARGIN_PX)
        .margin_bottom(OUTER_MARGIN_PX / 2)
        .margin_right(LEGEND_WIDTH_PX + OUTER_MARGIN_PX)
        .x_label_area_size(X_LABEL_AREA_PX)
        .y_label_area_size(Y_LABEL_AREA_PX)
        .build_cartesian_2d(
            TickedRange::new(time_axis.range.clone(), time_axis.ticks.clone()),
            TickedRange::new(0.0..value_axis.top, value_axis.ticks.clone()),
        )
        .map_err(draw_error)
}

/// Space above a main panel's plot: the title plus a strip of `strip_rows` label rows.
pub(super) fn main_panel_top_px(strip_rows: usize) -> u32 {
    let strip_px = if strip_rows == 0 {
        0
    } else {
        strip_rows as u32 * STRIP_ROW_HEIGHT_PX + STRIP_PADDING_PX
    };
    TITLE_HEIGHT_PX + strip_px
}

/// Grid, axes, tick labels and axis descriptions.
pub(super) fn draw_axes<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    time_axis: &TimeAxis,
    value_axis: &ValueAxis,
    value_description: &str,
) -> Result<(), PlotError> {
    let time_label = |value: &f64| time_axis.label(*value);
    let value_label = |value: &f64| format_tick(*value, value_axis.decimals);
    chart
        .configure_mesh()
        .bold_line_style(RGBColor(0, 0, 0).mix(0.12))
        .light_line_style(TRANSPARENT)
        .axis_style(RGBColor(60, 60, 60))
        .x_label_formatter(&time_label)
        .y_label_formatter(&value_label)
        .x_desc(time_axis.unit.axis_label())
        .y_desc(value_description)
        .label_style(text_style(
            TICK_LABEL_FONT_PX,
            TEXT_INK,
            HPos::Center,
            VPos::Top,
        ))
        .axis_desc_style(text_style(
            AXIS_LABEL_FONT_PX,
            TEXT_INK,
            HPos::Center,
            VPos::Top,
        ))
        .draw()
        .map_err(draw_error)
}

pub(super) fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<(), PlotError> {
    let (width_px, _) = root.dim_in_pixel();
    let style = text_style(TITLE_FONT_PX, TEXT_INK, HPos::Center, VPos::Top);
    let title = fit_text(
        root,
        title,
        &style,
        width_px as i32 - 2 * OUTER_MARGIN_PX as i32,
    );
    root.draw_text(&title, &style, (width_px as i32 / 2, 12))
        .map_err(draw_error)
}

/// Shortens `text` with an ellipsis until it fits in `max_width_px`.
pub(super) fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle<'_>,
    max_width_px: i32,
) -> String {
    let width_of = |candidate: &str| {
        area.estimate_text_size(candidate, style)
            .map(|(width, _)| width as i32)
            .unwrap_or(0)
    };
    if width_of(text) <= max_width_px {
        return text.to_string();
    }
    let mut characters: Vec<char> = text.chars().collect();
    while !characters.is_empty() {
        characters.pop();
        let candidate: String = characters.iter().collect::<String>() + "…";
        if width_of(&candidate) <= max_width_px {
            return candidate;
        }
    }
    String::new()
}

/// Draws each run as a solid or dashed polyline.
pub(super) fn draw_runs<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    runs: &[Vec<(f64, f64)>],
    style: ShapeStyle,
    dash: Option<Dash>,
) -> Result<(), PlotError> {
    for run in runs {
        match dash {
            None => chart
                .draw_series(std::iter::once(PathElement::new(run.clone(), style)))
                .map(|_| ())
                .map_err(draw_error)?,
            Some(dash) => chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    run.iter().copied(),
                    dash.on_px,
                    dash.off_px,
                    style,
                )))
                .map(|_| ())
                .map_err(draw_error)?,
        }
    }
    Ok(())
}

/// A dash pattern in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Dash {
    pub(super) on_px: i32,
    pub(super) off_px: i32,
}

pub(super) const DASHED: Dash = Dash {
    on_px: 9,
    off_px: 5,
};
pub(super) const DOTTED: Dash = Dash {
    on_px: 3,
    off_px: 4,
};

/// How a legend entry shows what it names.
#[derive(Debug, Clone)]
pub(super) enum LegendSample {
    Line {
        style: ShapeStyle,
        dash: Option<Dash>,
    },
    /// A step, for step-drawn series.
    Step { style: ShapeStyle },
    /// A filled swatch, for areas and bands.
    Area { fill: RGBAColor },
}

#[derive(Debug, Clone)]
pub(super) struct LegendEntry {
    pub(super) label: String,
    pub(super) sample: LegendSample,
}

/// Where the legend of the chart goes: right of its plotting area, top-aligned.
pub(super) fn legend_origin<DB: DrawingBackend>(chart: &Chart<'_, DB>) -> (i32, i32) {
    let (x_range, y_range) = chart.plotting_area().get_pixel_range();
    (x_range.end + 18, y_range.start + 4)
}

/// Draws the legend at `origin` (absolute pixels), one entry per row.
pub(super) fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    origin: (i32, i32),
    entries: &[LegendEntry],
) -> Result<(), PlotError> {
    let (width_px, _) = root.dim_in_pixel();
    let style = text_style(LEGEND_FONT_PX, TEXT_INK, HPos::Left, VPos::Center);
    let text_x = origin.0 + LEGEND_SAMPLE_WIDTH_PX + 8;
    let max_text_width_px = width_px as i32 - OUTER_MARGIN_PX as i32 - text_x;
    for (row, entry) in entries.iter().enumerate() {
        let center_y = origin.1 + row as i32 * LEGEND_ROW_HEIGHT_PX + LEGEND_ROW_HEIGHT_PX / 2;
        let left = origin.0;
        let right = origin.0 + LEGEND_SAMPLE_WIDTH_PX;
        match &entry.sample {
            LegendSample::Line { style, dash: None } => root
                .draw(&PathElement::new(
                    vec![(left, center_y), (right, center_y)],
                    *style,
                ))
                .map_err(draw_error)?,
            LegendSample::Line {
                style,
                dash: Some(dash),
            } => root
                .draw(&DashedPathElement::new(
                    vec![(left, center_y), (right, center_y)],
                    dash.on_px,
                    dash.off_px,
                    *style,
                ))
                .map_err(draw_error)?,
            LegendSample::Step { style } => {
                let middle = (left + right) / 2;
                let points = vec![
                    (left, center_y + 5),
                    (middle, center_y + 5),
                    (middle, center_y - 5),
                    (right, center_y - 5),
                ];
                root.draw(&PathElement::new(points, *style))
                    .map_err(draw_error)?
            }
            LegendSample::Area { fill } => root
                .draw(&Rectangle::new(
                    [(left, center_y - 7), (right, center_y + 7)],
                    fill.filled(),
                ))
                .map_err(draw_error)?,
        }
        let label = fit_text(root, &entry.label, &style, max_text_width_px);
        root.draw_text(&label, &style, (text_x, center_y))
            .map_err(draw_error)?;
    }
    Ok(())
}

/// What a label in the strip above the plot marks.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StripLabel {
    pub(super) time_s: f64,
    pub(super) text: String,
    pub(super) kind: StripLabelKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StripLabelKind {
    Event,
    Interval,
}

/// Strip labels with their row and horizontal placement, computed before the chart
/// frame exists (the number of rows decides how much room the strip needs).
#[derive(Debug, Clone)]
pub(super) struct StripLayout {
    pub(super) rows: usize,
    placements: Vec<StripPlacement>,
}

#[derive(Debug, Clone)]
struct StripPlacement {
    label: StripLabel,
    row: usize,
    /// Left edge of the text; the text sits right of its mark unless that would run
    /// off the figure, then left of it.
    text_left_px: i32,
}

/// Places the labels in rows so that none overlap; see [`assign_label_rows`].
pub(super) fn layout_strip<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[StripLabel],
    x_map: &XMapper,
) -> StripLayout {
    let (width_px, _) = root.dim_in_pixel();
    let right_limit_px = width_px as i32 - OUTER_MARGIN_PX as i32;
    let style = strip_text_style();
    let mut spans = Vec::with_capacity(labels.len());
    let mut text_lefts = Vec::with_capacity(labels.len());
    for label in labels {
        let mark_px = x_map.px(label.time_s);
        let text_width_px = root
            .estimate_text_size(&label.text, &style)
            .map(|(width, _)| width as i32)
            .unwrap_or(0);
        let mut text_left_px = mark_px + 4;
        if text_left_px + text_width_px > right_limit_px {
            text_left_px = mark_px - 4 - text_width_px;
        }
        spans.push(LabelSpan {
            left_px: f64::from(text_left_px.min(mark_px)),
            right_px: f64::from((text_left_px + text_width_px).max(mark_px)),
        });
        text_lefts.push(text_left_px);
    }
    let rows = assign_label_rows(&spans, STRIP_LABEL_GAP_PX, STRIP_MAX_ROWS);
    let placements: Vec<StripPlacement> = labels
        .iter()
        .zip(rows.iter().zip(text_lefts))
        .map(|(label, (&row, text_left_px))| StripPlacement {
            label: label.clone(),
            row,
            text_left_px,
        })
        .collect();
    StripLayout {
        rows: rows.iter().map(|row| row + 1).max().unwrap_or(0),
        placements,
    }
}

fn strip_text_style() -> TextStyle<'static> {
    text_style(STRIP_FONT_PX, TEXT_INK, HPos::Left, VPos::Top)
}

pub(super) const EVENT_INK: RGBColor = RGBColor(70, 70, 70);
/// A darker orange than the band, so an interval's label reads as belonging to it.
const INTERVAL_INK: RGBColor = RGBColor(150, 90, 0);
/// Translucent so the lines inside a disruption stay readable.
pub(super) fn interval_fill() -> RGBAColor {
    ORANGE.mix(0.16)
}
pub(super) fn interval_edge() -> RGBAColor {
    RGBColor(200, 130, 0).mix(0.9)
}

/// Draws the strip: each label in its row, with a leader line from the label down to
/// the top of the plot, continued across the plot for events.
pub(super) fn draw_strip<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &StripLayout,
    x_map: &XMapper,
    plot_y_range_px: Range<i32>,
) -> Result<(), PlotError> {
    let strip_top_px = plot_y_range_px.start
        - STRIP_PADDING_PX as i32
        - layout.rows as i32 * STRIP_ROW_HEIGHT_PX as i32;
    let style = strip_text_style();
    for placement in &layout.placements {
        let mark_px = x_map.px(placement.label.time_s);
        let row_top_px = strip_top_px + placement.row as i32 * STRIP_ROW_HEIGHT_PX as i32;
        let leader = vec![(mark_px, row_top_px), (mark_px, plot_y_range_px.start)];
        match placement.label.kind {
            StripLabelKind::Event => root
                .draw(&PathElement::new(leader, EVENT_INK.stroke_width(1)))
                .map_err(draw_error)?,
            StripLabelKind::Interval => root
                .draw(&PathElement::new(leader, interval_edge().stroke_width(2)))
                .map_err(draw_error)?,
        }
        let style = match placement.label.kind {
            StripLabelKind::Event => style.clone(),
            StripLabelKind::Interval => {
                text_style(STRIP_FONT_PX, INTERVAL_INK, HPos::Left, VPos::Top)
            }
        };
        root.draw_text(
            &placement.label.text,
            &style,
            (placement.text_left_px, row_top_px + 2),
        )
        .map_err(draw_error)?;
    }
    Ok(())
}

/// Event lines inside a plot: dashed, faint, across its whole height.
pub(super) fn draw_event_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    times_s: &[f64],
    x_map: &XMapper,
    plot_y_range_px: Range<i32>,
) -> Result<(), PlotError> {
    for &time_s in times_s {
        let x_px = x_map.px(time_s);
        root.draw(&DashedPathElement::new(
            vec![(x_px, plot_y_range_px.start), (x_px, plot_y_range_px.end)],
            4,
            4,
            EVENT_INK.mix(0.55).stroke_width(1),
        ))
        .map_err(draw_error)?;
    }
    Ok(())
}

/// Event ticks on the time axis: a small triangle standing on the axis line, drawn last
/// so that a series lying on zero does not hide it.
pub(super) fn draw_event_ticks<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    times_s: &[f64],
    x_map: &XMapper,
    axis_y_px: i32,
) -> Result<(), PlotError> {
    for &time_s in times_s {
        let x_px = x_map.px(time_s);
        root.draw(&Polygon::new(
            vec![
                (x_px, axis_y_px - 10),
                (x_px - 5, axis_y_px),
                (x_px + 5, axis_y_px),
            ],
            EVENT_INK.filled(),
        ))
        .map_err(draw_error)?;
    }
    Ok(())
}

/// Maps a time in seconds to the absolute pixel column of a chart, the way plotters
/// maps a linear axis. Kept apart from the chart so it can be used while the chart is
/// borrowed mutably for drawing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct XMapper {
    seconds_per_unit: f64,
    start: f64,
    end: f64,
    start_px: i32,
    end_px: i32,
}

impl XMapper {
    pub(super) fn new<DB: DrawingBackend>(chart: &Chart<'_, DB>, time_axis: &TimeAxis) -> Self {
        let start_px = chart.backend_coord(&(time_axis.range.start, 0.0)).0;
        let end_px = chart.backend_coord(&(time_axis.range.end, 0.0)).0;
        XMapper {
            seconds_per_unit: time_axis.unit.seconds_per_unit(),
            start: time_axis.range.start,
            end: time_axis.range.end,
            start_px,
            end_px,
        }
    }

    /// The pixel column of `time_s`, clamped to the plot.
    pub(super) fn px(&self, time_s: f64) -> i32 {
        let value = (time_s / self.seconds_per_unit).clamp(self.start, self.end);
        let fraction = (value - self.start) / (self.end - self.start);
        self.start_px + (f64::from(self.end_px - self.start_px) * fraction).round() as i32
    }
}

/// Interval bands across a plot, clipped to its time range.
pub(super) fn draw_interval_bands<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    intervals: &[(f64, f64)],
    time_axis: &TimeAxis,
    top: f64,
) -> Result<(), PlotError> {
    for &(start_s, end_s) in intervals {
        let start = time_axis.clamp(time_axis.at(start_s));
        let end = time_axis.clamp(time_axis.at(end_s));
        if end <= start {
            continue;
        }
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(start, 0.0), (end, top)],
                interval_fill().filled(),
            )))
            .map_err(draw_error)?;
    }
    Ok(())
}
