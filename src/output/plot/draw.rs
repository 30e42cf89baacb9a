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
    assign_label_rows, format_tick, nice_step, sharp_turn_cuts, ticks_between, LabelSpan, TimeUnit,
    ValueAxis,
};
use super::{EventMarker, PlotError};

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

    /// The first and last time of the axis, in seconds.
    pub(super) fn span_s(&self) -> (f64, f64) {
        let seconds_per_unit = self.unit.seconds_per_unit();
        (
            self.range.start * seconds_per_unit,
            self.range.end * seconds_per_unit,
        )
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
    build_chart_with_right_axis(area, top_px, time_axis, value_axis, 0)
}

/// [`build_chart`] with `right_axis_px` between the plot and the legend for the labels
/// of a secondary axis (the plot is that much narrower).
pub(super) fn build_chart_with_right_axis<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    top_px: u32,
    time_axis: &TimeAxis,
    value_axis: &ValueAxis,
    right_axis_px: u32,
) -> Result<Chart<'a, DB>, PlotError> {
    ChartBuilder::on(area)
        .margin_top(top_px)
        .margin_left(OUTER_MARGIN_PX)
        .margin_bottom(OUTER_MARGIN_PX / 2)
        .margin_right(LEGEND_WIDTH_PX + OUTER_MARGIN_PX + right_axis_px)
        .x_label_area_size(X_LABEL_AREA_PX)
        .y_label_area_size(Y_LABEL_AREA_PX)
        .build_cartesian_2d(
            TickedRange::new(time_axis.range.clone(), time_axis.ticks.clone()),
            TickedRange::new(0.0..value_axis.top, value_axis.ticks.clone()),
        )
        .map_err(draw_error)
}

/// Space above a main panel's plot: the title plus `annotations_px` of event labels
/// and disruption lanes.
pub(super) fn main_panel_top_px(annotations_px: u32) -> u32 {
    TITLE_HEIGHT_PX + annotations_px
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

/// No text drawn in a plot keeps more characters than this. At the smallest plot font
/// (12 px) the narrowest printable ASCII glyph of the bundled DejaVu Sans (`i`) is over
/// 3 px wide, so this many characters are over 3,000 px: far wider than the 1,200-px
/// figure, and a text this long is shortened anyway. The cap keeps [`fit_text`] linear
/// in the length of its text (a 200,000-character title from `plot.json`).
const MAX_FITTED_CHARS: usize = 1_000;

/// Shortens `text` with an ellipsis to the longest start of it that fits, with the
/// ellipsis, in `max_width_px` (empty when not even the ellipsis fits). Measuring is
/// linear in the text's length, so the work is the one measure of the whole text, then
/// a binary search over at most [`MAX_FITTED_CHARS`] characters: linear in `text`.
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
    let capped_end = text
        .char_indices()
        .nth(MAX_FITTED_CHARS)
        .map(|(end, _)| end);
    if capped_end.is_none() && width_of(text) <= max_width_px {
        return text.to_string();
    }
    let head = &text[..capped_end.unwrap_or(text.len())];
    // `ends[k]` is where the first k characters of `head` end.
    let ends: Vec<usize> = head
        .char_indices()
        .map(|(start, _)| start)
        .chain([head.len()])
        .collect();
    let fits = |chars: usize| width_of(&format!("{}…", &head[..ends[chars]])) <= max_width_px;
    if !fits(0) {
        return String::new();
    }
    // Invariant: `fitting` characters fit; `too_many` do not (or are the whole text,
    // which does not fit as it is, let alone with an ellipsis). Widths grow with each
    // character, so the search finds the longest start that fits.
    let (mut fitting, mut too_many) = (0, ends.len() - 1);
    if capped_end.is_some() && fits(too_many) {
        return format!("{head}…");
    }
    while too_many - fitting > 1 {
        let middle = fitting + (too_many - fitting) / 2;
        if fits(middle) {
            fitting = middle;
        } else {
            too_many = middle;
        }
    }
    format!("{}…", &head[..ends[fitting]])
}

/// Draws each run as a solid or dashed polyline, cut at sharp turns (see
/// [`sharp_turn_cuts`]) so that thick lines never draw mitre spikes.
pub(super) fn draw_runs<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    runs: &[Vec<(f64, f64)>],
    style: ShapeStyle,
    dash: Option<Dash>,
) -> Result<(), PlotError> {
    for run in runs.iter().filter(|run| !run.is_empty()) {
        let pixels: Vec<(i32, i32)> = run.iter().map(|point| chart.backend_coord(point)).collect();
        let mut piece_start = 0;
        let mut ends = sharp_turn_cuts(&pixels);
        ends.push(run.len() - 1);
        for piece_end in ends {
            let piece = &run[piece_start..=piece_end];
            piece_start = piece_end;
            match dash {
                None => chart
                    .draw_series(std::iter::once(PathElement::new(piece.to_vec(), style)))
                    .map(|_| ())
                    .map_err(draw_error)?,
                Some(dash) => chart
                    .draw_series(std::iter::once(DashedPathElement::new(
                        piece.iter().copied(),
                        dash.on_px,
                        dash.off_px,
                        style,
                    )))
                    .map(|_| ())
                    .map_err(draw_error)?,
            }
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
    /// A diamond mark, for events drawn as points (HPA rescales).
    Marker { colour: RGBColor },
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
            LegendSample::Marker { colour } => root
                .draw(&super::hpa::diamond(
                    ((left + right) / 2, center_y),
                    *colour,
                ))
                .map_err(draw_error)?,
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

/// A scenario event's label in the strip above the plot.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StripLabel {
    pub(super) time_s: f64,
    pub(super) text: String,
}

/// The events inside the time axis, as strip labels in time order.
pub(super) fn strip_labels_for(events: &[EventMarker], time_axis: &TimeAxis) -> Vec<StripLabel> {
    let (first_s, last_s) = time_axis.span_s();
    let mut labels: Vec<StripLabel> = events
        .iter()
        .filter(|event| event.time_s >= first_s && event.time_s <= last_s)
        .map(|event| StripLabel {
            time_s: event.time_s,
            text: event.label.clone(),
        })
        .collect();
    labels.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    labels
}

/// A chart whose plot leaves room above it for the labels of `events` (no disruption
/// lanes): the frame of the band and overlay plots. Returns the chart, the placed
/// labels, and the pixel mapping of its time axis.
pub(super) fn build_chart_with_events<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    time_axis: &TimeAxis,
    value_axis: &ValueAxis,
    events: &[EventMarker],
) -> Result<(Chart<'a, DB>, AnnotationLayout, XMapper), PlotError> {
    let labels = strip_labels_for(events, time_axis);
    let annotations = {
        let provisional = build_chart(root, main_panel_top_px(0), time_axis, value_axis)?;
        let x_map = XMapper::new(&provisional, time_axis);
        layout_annotations(root, &labels, &[], &x_map)
    };
    let chart = build_chart(
        root,
        main_panel_top_px(annotations.height_px()),
        time_axis,
        value_axis,
    )?;
    let x_map = XMapper::new(&chart, time_axis);
    Ok((chart, annotations, x_map))
}

/// The event times of `labels`, for the lines and ticks inside a plot.
pub(super) fn event_times(labels: &[StripLabel]) -> Vec<f64> {
    labels.iter().map(|label| label.time_s).collect()
}

/// A disruption's bar in the lanes just above the plot.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LaneBar {
    pub(super) start_s: f64,
    pub(super) end_s: f64,
    pub(super) text: String,
}

/// Everything drawn between the title and the plot, placed before the chart frame
/// exists (its height decides where the plot starts): event labels in staggered rows,
/// then one lane per overlapping disruption, its bar spanning the disruption.
#[derive(Debug, Clone)]
pub(super) struct AnnotationLayout {
    strip_rows: usize,
    labels: Vec<PlacedLabel>,
    lane_rows: usize,
    bars: Vec<PlacedBar>,
}

#[derive(Debug, Clone)]
struct PlacedLabel {
    time_s: f64,
    /// The label, shortened with an ellipsis when longer than [`STRIP_LABEL_MAX_WIDTH_PX`].
    text: String,
    row: usize,
    /// Left edge of the text; the text sits right of its mark unless that would run
    /// off the figure, then left of it.
    text_left_px: i32,
}

#[derive(Debug, Clone)]
struct PlacedBar {
    start_s: f64,
    end_s: f64,
    /// The label, shortened to fit inside the bar, or whole beside it when the bar is
    /// too short to hold even a few letters.
    text: String,
    inside: bool,
    row: usize,
}

/// A long event label (a `patch` of a long object name, say) is cut here, so that one
/// label cannot push the others into many rows.
const STRIP_LABEL_MAX_WIDTH_PX: i32 = 300;
const LANE_ROW_HEIGHT_PX: u32 = 18;
const LANE_FONT_PX: f64 = 12.0;
/// Below this width a bar holds no readable label; the label goes right of it.
const LANE_MIN_INSIDE_PX: i32 = 40;
const LANE_MAX_ROWS: usize = 4;

impl AnnotationLayout {
    /// Height of the strip and the lanes together, padding included.
    pub(super) fn height_px(&self) -> u32 {
        let strip_px = if self.strip_rows == 0 {
            0
        } else {
            self.strip_rows as u32 * STRIP_ROW_HEIGHT_PX + STRIP_PADDING_PX
        };
        let lanes_px = if self.lane_rows == 0 {
            0
        } else {
            self.lane_rows as u32 * LANE_ROW_HEIGHT_PX + STRIP_PADDING_PX
        };
        strip_px + lanes_px
    }

    fn lanes_px(&self) -> i32 {
        if self.lane_rows == 0 {
            0
        } else {
            (self.lane_rows as u32 * LANE_ROW_HEIGHT_PX + STRIP_PADDING_PX) as i32
        }
    }
}

fn text_width_px<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle<'_>,
) -> i32 {
    root.estimate_text_size(text, style)
        .map(|(width, _)| width as i32)
        .unwrap_or(0)
}

/// Places event labels in rows so that none overlap (see [`assign_label_rows`]) and
/// disruption bars in lanes so that overlapping disruptions get a lane each.
pub(super) fn layout_annotations<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[StripLabel],
    bars: &[LaneBar],
    x_map: &XMapper,
) -> AnnotationLayout {
    let (width_px, _) = root.dim_in_pixel();
    let right_limit_px = width_px as i32 - OUTER_MARGIN_PX as i32;

    let style = strip_text_style();
    let mut spans = Vec::with_capacity(labels.len());
    let mut placed = Vec::with_capacity(labels.len());
    for label in labels {
        let mark_px = x_map.px(label.time_s);
        let text = fit_text(root, &label.text, &style, STRIP_LABEL_MAX_WIDTH_PX);
        let text_width = text_width_px(root, &text, &style);
        let mut text_left_px = mark_px + 4;
        if text_left_px + text_width > right_limit_px {
            text_left_px = mark_px - 4 - text_width;
        }
        spans.push(LabelSpan {
            left_px: f64::from(text_left_px.min(mark_px)),
            right_px: f64::from((text_left_px + text_width).max(mark_px)),
        });
        placed.push(PlacedLabel {
            time_s: label.time_s,
            text,
            row: 0,
            text_left_px,
        });
    }
    let rows = assign_label_rows(&spans, STRIP_LABEL_GAP_PX, STRIP_MAX_ROWS);
    for (label, &row) in placed.iter_mut().zip(&rows) {
        label.row = row;
    }

    let lane_style = lane_text_style();
    let mut bar_spans = Vec::with_capacity(bars.len());
    let mut placed_bars = Vec::with_capacity(bars.len());
    for bar in bars {
        let (start_px, end_px) = (x_map.px(bar.start_s), x_map.px(bar.end_s));
        let inside_width = end_px - start_px - 8;
        let (text, inside, right_px) = if inside_width >= LANE_MIN_INSIDE_PX {
            (
                fit_text(root, &bar.text, &lane_style, inside_width),
                true,
                end_px,
            )
        } else {
            let text = fit_text(root, &bar.text, &lane_style, STRIP_LABEL_MAX_WIDTH_PX);
            let right_px = end_px + 4 + text_width_px(root, &text, &lane_style);
            (text, false, right_px)
        };
        bar_spans.push(LabelSpan {
            left_px: f64::from(start_px),
            right_px: f64::from(right_px),
        });
        placed_bars.push(PlacedBar {
            start_s: bar.start_s,
            end_s: bar.end_s,
            text,
            inside,
            row: 0,
        });
    }
    // Lanes are independent of each other's x (a bar has no leader line), so a bar may
    // take any free lane: the gap is what separates two bars in one lane.
    let lane_rows = assign_label_rows(&bar_spans, 2.0, LANE_MAX_ROWS);
    for (bar, &row) in placed_bars.iter_mut().zip(&lane_rows) {
        bar.row = row;
    }
    AnnotationLayout {
        strip_rows: rows.iter().map(|row| row + 1).max().unwrap_or(0),
        labels: placed,
        lane_rows: lane_rows.iter().map(|row| row + 1).max().unwrap_or(0),
        bars: placed_bars,
    }
}

fn strip_text_style() -> TextStyle<'static> {
    text_style(STRIP_FONT_PX, TEXT_INK, HPos::Left, VPos::Top)
}

fn lane_text_style() -> TextStyle<'static> {
    text_style(LANE_FONT_PX, INTERVAL_INK, HPos::Left, VPos::Center)
}

pub(super) const EVENT_INK: RGBColor = RGBColor(70, 70, 70);
/// Disruptions are grey, so they never read as data: orange and vermillion are series.
const INTERVAL_INK: RGBColor = RGBColor(45, 45, 45);
const INTERVAL_GREY: RGBColor = RGBColor(110, 110, 110);
/// Translucent so the lines inside a disruption stay readable.
pub(super) fn interval_fill() -> RGBAColor {
    INTERVAL_GREY.mix(0.13)
}
fn lane_fill() -> RGBAColor {
    INTERVAL_GREY.mix(0.28)
}
fn interval_edge() -> RGBAColor {
    INTERVAL_GREY.mix(0.8)
}

/// Draws the strip (each label in its row, with a leader line from it down to the top
/// of the plot) and the disruption lanes below it.
pub(super) fn draw_annotations<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &AnnotationLayout,
    x_map: &XMapper,
    plot_y_range_px: Range<i32>,
) -> Result<(), PlotError> {
    let lanes_top_px = plot_y_range_px.start - layout.lanes_px();
    let strip_top_px = lanes_top_px
        - STRIP_PADDING_PX as i32
        - layout.strip_rows as i32 * STRIP_ROW_HEIGHT_PX as i32;
    let style = strip_text_style();
    for label in &layout.labels {
        let mark_px = x_map.px(label.time_s);
        let row_top_px = strip_top_px + label.row as i32 * STRIP_ROW_HEIGHT_PX as i32;
        root.draw(&PathElement::new(
            vec![(mark_px, row_top_px), (mark_px, plot_y_range_px.start)],
            EVENT_INK.stroke_width(1),
        ))
        .map_err(draw_error)?;
    }
    for bar in &layout.bars {
        let (start_px, end_px) = (x_map.px(bar.start_s), x_map.px(bar.end_s));
        let top_px = lanes_top_px + bar.row as i32 * LANE_ROW_HEIGHT_PX as i32;
        let bottom_px = top_px + LANE_ROW_HEIGHT_PX as i32 - 3;
        root.draw(&Rectangle::new(
            [(start_px, top_px), (end_px.max(start_px + 1), bottom_px)],
            lane_fill().filled(),
        ))
        .map_err(draw_error)?;
        for edge_px in [start_px, end_px] {
            root.draw(&PathElement::new(
                vec![(edge_px, top_px), (edge_px, bottom_px)],
                interval_edge().stroke_width(2),
            ))
            .map_err(draw_error)?;
        }
        let text_x_px = if bar.inside { start_px + 5 } else { end_px + 4 };
        root.draw_text(
            &bar.text,
            &lane_text_style(),
            (text_x_px, (top_px + bottom_px) / 2),
        )
        .map_err(draw_error)?;
    }
    for label in &layout.labels {
        let row_top_px = strip_top_px + label.row as i32 * STRIP_ROW_HEIGHT_PX as i32;
        root.draw_text(&label.text, &style, (label.text_left_px, row_top_px + 2))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `check` on an SVG drawing area as wide as a figure, with the bundled font.
    fn on_area(check: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>)) {
        super::super::register_bundled_font().expect("the bundled font registers");
        let mut svg = String::new();
        let root = SVGBackend::with_string(&mut svg, (FIGURE_WIDTH_PX, 100)).into_drawing_area();
        check(&root);
    }

    /// The shortening `fit_text` replaced: drop one character at a time and measure
    /// again (quadratic in the text's length), kept as the reference for its result.
    fn fit_text_one_by_one<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        text: &str,
        style: &TextStyle<'_>,
        max_width_px: i32,
    ) -> String {
        if text_width_px(area, text, style) <= max_width_px {
            return text.to_string();
        }
        let mut characters: Vec<char> = text.chars().collect();
        while !characters.is_empty() {
            characters.pop();
            let candidate: String = characters.iter().collect::<String>() + "…";
            if text_width_px(area, &candidate, style) <= max_width_px {
                return candidate;
            }
        }
        String::new()
    }

    #[test]
    fn a_huge_title_is_cut_to_the_longest_start_that_fits() {
        on_area(|area| {
            let style = text_style(TITLE_FONT_PX, TEXT_INK, HPos::Center, VPos::Top);
            let text = "lab05 node partition: vmpool, seeds 1–100000 ".repeat(5_000);
            let max_width_px = 1_176;
            let fitted = fit_text(area, &text, &style, max_width_px);
            assert!(fitted.ends_with('…'), "{fitted}");
            assert!(text_width_px(area, &fitted, &style) <= max_width_px);
            let kept = fitted.trim_end_matches('…');
            assert!(text.starts_with(kept));
            let one_more: String = text.chars().take(kept.chars().count() + 1).collect();
            assert!(text_width_px(area, &format!("{one_more}…"), &style) > max_width_px);
        });
    }

    #[test]
    fn fitting_agrees_with_dropping_one_character_at_a_time() {
        on_area(|area| {
            let style = text_style(STRIP_FONT_PX, TEXT_INK, HPos::Left, VPos::Top);
            let texts = [
                "",
                "x",
                "crashNode node-3",
                "partitionNode node-1 (the VMIs go Unknown, replacements start elsewhere)",
                "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
                "ünïcödé — ∑ ∞ 漢字 labels with wide and narrow glyphs iiiiiiiiiiiiiiiiiiii",
            ];
            for text in texts {
                for max_width_px in [0, 5, 40, 120, 300] {
                    assert_eq!(
                        fit_text(area, text, &style, max_width_px),
                        fit_text_one_by_one(area, text, &style, max_width_px),
                        "{text:?} in {max_width_px} px"
                    );
                }
            }
        });
    }

    #[test]
    fn the_character_cap_is_wider_than_any_figure() {
        on_area(|area| {
            for size_px in [STRIP_FONT_PX, LANE_FONT_PX, TICK_LABEL_FONT_PX] {
                let style = text_style(size_px, TEXT_INK, HPos::Left, VPos::Top);
                let narrowest = "i".repeat(MAX_FITTED_CHARS);
                assert!(text_width_px(area, &narrowest, &style) > 2 * FIGURE_WIDTH_PX as i32);
            }
        });
    }
}
