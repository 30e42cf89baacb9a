//! `replicas.svg` / `replicas.png`: replica counts over time, the overshoot shaded,
//! disruptions as bands, scenario events on the time axis, and the HPA's CPU
//! utilization in a second panel when there is one.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    build_chart_with_right_axis, draw_annotations, draw_axes, draw_error, draw_event_lines,
    draw_event_ticks, draw_interval_bands, draw_legend, draw_runs, draw_title, event_times,
    interval_fill, layout_annotations, legend_origin, main_panel_top_px, strip_labels_for, Chart,
    Dash, LaneBar, LegendEntry, LegendSample, TimeAxis, XMapper, BLACK_INK, BLUE, BLUISH_GREEN,
    DASHED, FIGURE_WIDTH_PX, MAIN_PANEL_HEIGHT_PX, ORANGE, REDDISH_PURPLE, SKY_BLUE, VERMILLION,
};
use super::hpa::{computed_hpa_desired, draw_rescale_marks, LoadAxis};
use super::layout::{
    line_runs, max_overshoot, overshoot_duration_s, overshoot_polygons, step_runs, value_axis,
    value_axis_with_ticks, ValueAxis,
};
use super::{
    check_column_length, check_events, check_time_axis, Figure, PlotError, PlotInput, Series,
};

/// Height of the CPU panel added below the main panel.
const CPU_PANEL_HEIGHT_PX: u32 = 260;
const CPU_PANEL_TOP_PX: u32 = 14;
/// The CPU panel is short: 0-100 % in steps of 20 keeps its tick labels apart.
const CPU_AXIS_MAX_TICKS: usize = 6;
/// Room right of the plots for the offered load's axis labels (taken from the plots'
/// width, so the figure keeps its size and the legend its place).
const LOAD_AXIS_PX: u32 = 44;

/// How one replica column is drawn. Lines that often coincide (in steady state VMs,
/// ready VMs and guests are all equal) are drawn widest first, so each stays visible
/// as a coloured edge around the next.
struct LineSpec {
    column: &'static str,
    legend: &'static str,
    colour: RGBColor,
    width_px: u32,
    shape: LineShape,
}

#[derive(Clone, Copy, PartialEq)]
enum LineShape {
    Straight,
    Dashed(Dash),
    /// `spec.replicas` changes at an instant and holds: a step shows that honestly.
    Step,
}

/// In drawing order, bottom to top; the legend uses [`LEGEND_ORDER`].
const LINES: [LineSpec; 6] = [
    LineSpec {
        column: "vms_total",
        legend: "VMs (status.replicas)",
        colour: SKY_BLUE,
        width_px: 8,
        shape: LineShape::Straight,
    },
    LineSpec {
        column: "vms_ready",
        legend: "VMs ready",
        colour: BLUISH_GREEN,
        width_px: 4,
        shape: LineShape::Straight,
    },
    LineSpec {
        column: "guests_running",
        legend: "guests really running",
        colour: VERMILLION,
        width_px: 2,
        shape: LineShape::Straight,
    },
    LineSpec {
        column: "vmis_unknown",
        legend: "VMIs unknown",
        colour: ORANGE,
        width_px: 2,
        shape: LineShape::Straight,
    },
    LineSpec {
        column: "hpa_desired_replicas",
        legend: "HPA desired",
        colour: REDDISH_PURPLE,
        width_px: 2,
        shape: LineShape::Dashed(DASHED),
    },
    LineSpec {
        column: "desired_replicas",
        legend: "desired (spec.replicas)",
        colour: BLACK_INK,
        width_px: 1,
        shape: LineShape::Step,
    },
];

/// The legend reads from intent to reality: what is asked, what exists, what runs.
const LEGEND_ORDER: [&str; 6] = [
    "desired_replicas",
    "hpa_desired_replicas",
    "vms_total",
    "vms_ready",
    "guests_running",
    "vmis_unknown",
];

const DESIRED_COLUMN: &str = "desired_replicas";
const HPA_COLUMN: &str = "hpa_desired_replicas";
const GUESTS_COLUMN: &str = "guests_running";
const CPU_COLUMN: &str = "cpu_utilization_pct";
const UNCONTROLLED_COLUMN: &str = "uncontrolled_overshoot";

/// Strong enough to read at a glance, and warm where the disruption grey is neutral.
fn overshoot_fill() -> RGBAColor {
    VERMILLION.mix(0.38)
}

/// Drawn over [`overshoot_fill`]: the same hue, dark enough that the uncontrolled part
/// stands out from a scale-in's graceful shutdowns around it.
fn uncontrolled_fill() -> RGBAColor {
    VERMILLION.mix(0.8)
}

pub(super) struct ReplicasFigure<'a> {
    input: &'a PlotInput,
    /// The CPU column, when it has at least one value.
    cpu: Option<&'a Series>,
    /// The HPA's desired replicas from its first computation on (see
    /// [`computed_hpa_desired`]).
    hpa: Option<Series>,
    /// The offered load, drawn on the CPU panel's secondary axis when there is one.
    load: Option<LoadAxis<'a>>,
}

/// Whether a series has a value to draw.
fn has_values(series: &Series) -> bool {
    series
        .values
        .iter()
        .any(|value| value.is_some_and(f64::is_finite))
}

/// A series with at least one value; an all-empty column (no HPA) is not drawn.
fn present<'a>(input: &'a PlotInput, column: &str) -> Option<&'a Series> {
    input.series(column).filter(|series| has_values(series))
}

fn max_value(series: &Series) -> f64 {
    series
        .values
        .iter()
        .flatten()
        .copied()
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max)
}

impl<'a> ReplicasFigure<'a> {
    pub(super) fn new(input: &'a PlotInput) -> Result<Self, PlotError> {
        check_time_axis(&input.time_s)?;
        for series in &input.series {
            check_column_length(&series.name, series.values.len(), input.time_s.len())?;
        }
        for interval in &input.intervals {
            if !(interval.start_s.is_finite() && interval.end_s.is_finite())
                || interval.end_s < interval.start_s
            {
                return Err(PlotError::Invalid(format!(
                    "interval `{}` runs from {} s to {} s",
                    interval.label, interval.start_s, interval.end_s
                )));
            }
        }
        check_events(&input.events)?;
        let cpu = present(input, CPU_COLUMN);
        Ok(ReplicasFigure {
            input,
            cpu,
            hpa: computed_hpa_desired(input).filter(has_values),
            load: cpu.and(LoadAxis::of(input)),
        })
    }

    /// The room right of the plots for the load axis (none without one).
    fn right_axis_px(&self) -> u32 {
        if self.load.is_some() {
            LOAD_AXIS_PX
        } else {
            0
        }
    }

    /// Where the legend of a panel goes: right of the plot and of the load axis.
    fn legend_at<DB: DrawingBackend>(&self, chart: &Chart<'_, DB>) -> (i32, i32) {
        let (x, y) = legend_origin(chart);
        (x + self.right_axis_px() as i32, y)
    }

    /// The series drawn for a line: the HPA's from its first computation on.
    fn line_series(&self, column: &str) -> Option<&Series> {
        if column == HPA_COLUMN {
            self.hpa.as_ref()
        } else {
            present(self.input, column)
        }
    }

    /// Disruptions that overlap the run, clipped to it, as lane bars in time order.
    fn lane_bars(&self, time_axis: &TimeAxis) -> Vec<LaneBar> {
        let (first_s, last_s) = time_axis.span_s();
        let mut bars: Vec<LaneBar> = self
            .input
            .intervals
            .iter()
            .filter(|interval| interval.end_s >= first_s && interval.start_s <= last_s)
            .map(|interval| LaneBar {
                start_s: interval.start_s.max(first_s),
                end_s: interval.end_s.min(last_s),
                text: interval.label.clone(),
            })
            .collect();
        bars.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        bars
    }

    fn event_times_s(&self, time_axis: &TimeAxis) -> Vec<f64> {
        event_times(&strip_labels_for(&self.input.events, time_axis))
    }

    fn interval_spans_s(&self) -> Vec<(f64, f64)> {
        self.input
            .intervals
            .iter()
            .map(|interval| (interval.start_s, interval.end_s))
            .collect()
    }

    /// Points of a column in chart units (time in the axis unit).
    fn to_chart_runs(time_axis: &TimeAxis, runs: Vec<Vec<(f64, f64)>>) -> Vec<Vec<(f64, f64)>> {
        runs.into_iter()
            .map(|run| run.into_iter().map(|(t, v)| (time_axis.at(t), v)).collect())
            .collect()
    }

    fn draw_main_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        time_axis: &TimeAxis,
    ) -> Result<(), PlotError> {
        let input = self.input;
        let drawn: Vec<(&LineSpec, &Series)> = LINES
            .iter()
            .filter_map(|spec| self.line_series(spec.column).map(|series| (spec, series)))
            .collect();
        let axis_max = drawn
            .iter()
            .map(|(_, series)| max_value(series))
            .fold(0.0, f64::max);
        let replica_axis = value_axis(axis_max, true);

        // The strip's height depends on how many rows its labels need, and placing them
        // needs the plot's horizontal extent, which does not depend on the strip.
        let strip_labels = strip_labels_for(&self.input.events, time_axis);
        let lane_bars = self.lane_bars(time_axis);
        let annotations = {
            let provisional = build_chart_with_right_axis(
                area,
                main_panel_top_px(0),
                time_axis,
                &replica_axis,
                self.right_axis_px(),
            )?;
            let x_map = XMapper::new(&provisional, time_axis);
            layout_annotations(root, &strip_labels, &lane_bars, &x_map)
        };
        let mut chart = build_chart_with_right_axis(
            area,
            main_panel_top_px(annotations.height_px()),
            time_axis,
            &replica_axis,
            self.right_axis_px(),
        )?;
        let x_map = XMapper::new(&chart, time_axis);
        let plot_y_px = chart.plotting_area().get_pixel_range().1;

        draw_axes(&mut chart, time_axis, &replica_axis, "replicas")?;
        draw_interval_bands(
            &mut chart,
            &self.interval_spans_s(),
            time_axis,
            replica_axis.top,
        )?;

        let overshoot_legend = self.draw_overshoot_areas(&mut chart, time_axis)?;

        let event_times_s = self.event_times_s(time_axis);
        draw_event_lines(root, &event_times_s, &x_map, plot_y_px.clone())?;

        for (spec, series) in &drawn {
            self.draw_line(&mut chart, time_axis, spec, series)?;
        }
        let rescale_legend = draw_rescale_marks(root, &chart, time_axis, &input.rescales)?;

        draw_event_ticks(root, &event_times_s, &x_map, plot_y_px.end)?;
        draw_annotations(root, &annotations, &x_map, plot_y_px)?;

        let mut legend: Vec<LegendEntry> = LEGEND_ORDER
            .iter()
            .filter_map(|column| drawn.iter().find(|(spec, _)| spec.column == *column))
            .map(|(spec, _)| LegendEntry {
                label: spec.legend.to_string(),
                sample: legend_sample(spec),
            })
            .collect();
        // Right after "HPA desired" (or first, without that line).
        let after_hpa = legend
            .iter()
            .position(|entry| entry.label == "HPA desired")
            .map_or(0, |index| index + 1);
        if let Some(entry) = rescale_legend {
            legend.insert(after_hpa, entry);
        }
        legend.extend(overshoot_legend);
        if !input.intervals.is_empty() {
            legend.push(LegendEntry {
                label: "node disruption".to_string(),
                sample: LegendSample::Area {
                    fill: interval_fill(),
                },
            });
        }
        draw_legend(root, self.legend_at(&chart), &legend)
    }

    /// Shades the overshoot (guests above desired) lightly, and over it, darker, the
    /// part of it that is uncontrolled (the `uncontrolled_overshoot` column: guests no
    /// one is stopping, a scale-in's graceful shutdowns left out). Returns their legend
    /// entries; the darker one only when the column is there (older CSVs lack it).
    fn draw_overshoot_areas<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        time_axis: &TimeAxis,
    ) -> Result<Vec<LegendEntry>, PlotError> {
        let input = self.input;
        let (Some(desired), Some(guests)) =
            (input.series(DESIRED_COLUMN), input.series(GUESTS_COLUMN))
        else {
            return Ok(Vec::new());
        };
        let mut areas = vec![("overshoot", overshoot_fill(), guests.values.clone())];
        if let Some(uncontrolled) = input.series(UNCONTROLLED_COLUMN) {
            // The top of the uncontrolled part: desired plus the uncontrolled excess.
            let top = desired
                .values
                .iter()
                .zip(&uncontrolled.values)
                .map(|(d, u)| Some(d.filter(|v| v.is_finite())? + u.filter(|v| v.is_finite())?))
                .collect();
            areas.push(("uncontrolled", uncontrolled_fill(), top));
        }
        let mut legend = Vec::new();
        for (name, fill, top) in areas {
            let polygons = overshoot_polygons(&input.time_s, &desired.values, &top);
            for polygon in Self::to_chart_runs(time_axis, polygons) {
                chart
                    .draw_series(std::iter::once(Polygon::new(polygon, fill.filled())))
                    .map_err(draw_error)?;
            }
            let max = max_overshoot(&desired.values, &top);
            let label = if max > 0.0 {
                let duration_s = overshoot_duration_s(&input.time_s, &desired.values, &top);
                format!(
                    "{name}: +{} for {}",
                    format_count(max),
                    format_duration(duration_s)
                )
            } else {
                format!("{name} (none)")
            };
            legend.push(LegendEntry {
                label,
                sample: LegendSample::Area { fill },
            });
        }
        Ok(legend)
    }

    fn draw_line<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        time_axis: &TimeAxis,
        spec: &LineSpec,
        series: &Series,
    ) -> Result<(), PlotError> {
        let style = spec.colour.stroke_width(spec.width_px);
        let time = &self.input.time_s;
        match spec.shape {
            LineShape::Straight => draw_runs(
                chart,
                &Self::to_chart_runs(time_axis, line_runs(time, &series.values)),
                style,
                None,
            ),
            LineShape::Dashed(dash) => draw_runs(
                chart,
                &Self::to_chart_runs(time_axis, line_runs(time, &series.values)),
                style,
                Some(dash),
            ),
            LineShape::Step => draw_runs(
                chart,
                &Self::to_chart_runs(time_axis, step_runs(time, &series.values)),
                style,
                None,
            ),
        }
    }

    fn draw_cpu_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        time_axis: &TimeAxis,
        cpu: &Series,
    ) -> Result<(), PlotError> {
        let target_pct = self.input.hpa_target_pct.filter(|t| t.is_finite());
        // Percent reads best against a 0-100 scale; go above it only when the data does.
        let axis_max = max_value(cpu)
            .max(100.0)
            .max(target_pct.unwrap_or(0.0) * 1.1);
        let cpu_axis: ValueAxis = value_axis_with_ticks(axis_max, true, CPU_AXIS_MAX_TICKS);
        let mut chart = build_chart_with_right_axis(
            area,
            CPU_PANEL_TOP_PX,
            time_axis,
            &cpu_axis,
            self.right_axis_px(),
        )?;
        let x_map = XMapper::new(&chart, time_axis);
        let plot_y_px = chart.plotting_area().get_pixel_range().1;

        draw_axes(&mut chart, time_axis, &cpu_axis, "CPU utilization (%)")?;
        draw_interval_bands(
            &mut chart,
            &self.interval_spans_s(),
            time_axis,
            cpu_axis.top,
        )?;
        draw_event_lines(root, &self.event_times_s(time_axis), &x_map, plot_y_px)?;

        let cpu_style = BLUE.stroke_width(2);
        draw_runs(
            &mut chart,
            &Self::to_chart_runs(time_axis, line_runs(&self.input.time_s, &cpu.values)),
            cpu_style,
            None,
        )?;
        let mut legend = vec![LegendEntry {
            label: "CPU utilization".to_string(),
            sample: LegendSample::Line {
                style: cpu_style,
                dash: None,
            },
        }];
        if let Some(load) = &self.load {
            let time_s = &self.input.time_s;
            legend.push(load.draw(root, &mut chart, time_axis, time_s, cpu_axis.top)?);
        }
        // The target goes on top: a utilization held at the target must not hide it.
        if let Some(target) = target_pct {
            let line = vec![vec![
                (time_axis.range.start, target),
                (time_axis.range.end, target),
            ]];
            let style = BLACK_INK.stroke_width(1);
            draw_runs(&mut chart, &line, style, Some(DASHED))?;
            legend.push(LegendEntry {
                label: format!("HPA target ({}%)", format_count(target)),
                sample: LegendSample::Line {
                    style,
                    dash: Some(DASHED),
                },
            });
        }
        draw_legend(root, self.legend_at(&chart), &legend)
    }
}

fn legend_sample(spec: &LineSpec) -> LegendSample {
    let style = spec.colour.stroke_width(spec.width_px);
    match spec.shape {
        LineShape::Straight => LegendSample::Line { style, dash: None },
        LineShape::Dashed(dash) => LegendSample::Line {
            style,
            dash: Some(dash),
        },
        LineShape::Step => LegendSample::Step {
            style: spec.colour.stroke_width(spec.width_px.max(2)),
        },
    }
}

/// A span of simulated time in the unit that reads best: "40 s", "11.5 min", "2.3 h".
fn format_duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{} s", format_count(seconds.round()))
    } else if seconds < 3.0 * 3600.0 {
        format!("{} min", format_count((seconds / 6.0).round() / 10.0))
    } else {
        format!("{} h", format_count((seconds / 360.0).round() / 10.0))
    }
}

/// A count or percentage without a needless ".0", with at most one decimal.
fn format_count(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

impl Figure for ReplicasFigure<'_> {
    fn size_px(&self) -> (u32, u32) {
        let height_px = if self.cpu.is_some() {
            MAIN_PANEL_HEIGHT_PX + CPU_PANEL_HEIGHT_PX
        } else {
            MAIN_PANEL_HEIGHT_PX
        };
        (FIGURE_WIDTH_PX, height_px)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        root.fill(&WHITE).map_err(draw_error)?;
        draw_title(root, &self.input.title)?;
        let time_axis = TimeAxis::new(&self.input.time_s);
        match self.cpu {
            Some(cpu) => {
                let (main_area, cpu_area) = root.split_vertically(MAIN_PANEL_HEIGHT_PX);
                self.draw_main_panel(root, &main_area, &time_axis)?;
                self.draw_cpu_panel(root, &cpu_area, &time_axis, cpu)
            }
            None => self.draw_main_panel(root, root, &time_axis),
        }
    }
}
