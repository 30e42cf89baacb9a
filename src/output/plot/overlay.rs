//! The overlay of a comparison: the same metrics for several algorithms, one colour per
//! algorithm and one line style per metric, with the scenario's events marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    build_chart_with_events, draw_annotations, draw_axes, draw_error, draw_event_lines,
    draw_event_ticks, draw_legend, draw_runs, draw_title, event_times, legend_origin,
    strip_labels_for, Chart, Dash, LegendEntry, LegendSample, TimeAxis, DASHED, DOTTED,
    FIGURE_WIDTH_PX, MAIN_PANEL_HEIGHT_PX, SEQUENCE_COLOURS,
};
use super::layout::{line_runs, value_axis};
use super::{
    check_column_length, check_events, check_time_axis, EventMarker, Figure, Overlay, PlotError,
};

/// Line styles by position of the series within an algorithm: solid, then dashed, then
/// dotted, each at a base width and opacity.
const SERIES_STYLES: [(Option<Dash>, u32, f64); 3] = [
    (None, 3, 0.55),
    (Some(DASHED), 1, 1.0),
    (Some(DOTTED), 1, 1.0),
];

/// Algorithms often agree for most of a run, so their lines coincide. Each earlier
/// algorithm's solid line is drawn this much wider, and first, so that coinciding lines
/// show as nested stripes, one colour each, instead of the last one hiding the others.
const WIDTH_STEP_PER_ALGORITHM_PX: u32 = 2;

/// Dashed and dotted lines of several algorithms interleave instead (issue 15): each
/// algorithm draws one dash of every `algorithms × dash` pixels, shifted by its index,
/// so where the lines coincide the dashes alternate colours (`vmirs-fenced` no longer
/// hides exactly under `kubevirt-pool`), and where they part each is a sparser dash.
const INTERLEAVED_WIDTH_PX: u32 = 2;

pub(super) struct OverlayFigure<'a> {
    title: &'a str,
    time_s: &'a [f64],
    overlays: &'a [Overlay],
    events: &'a [EventMarker],
}

impl<'a> OverlayFigure<'a> {
    pub(super) fn new(
        title: &'a str,
        time_s: &'a [f64],
        overlays: &'a [Overlay],
        events: &'a [EventMarker],
    ) -> Result<Self, PlotError> {
        check_time_axis(time_s)?;
        check_events(events)?;
        for overlay in overlays {
            for series in &overlay.series {
                check_column_length(
                    &format!("{} {}", overlay.algorithm, series.name),
                    series.values.len(),
                    time_s.len(),
                )?;
            }
        }
        Ok(OverlayFigure {
            title,
            time_s,
            overlays,
            events,
        })
    }
}

impl Figure for OverlayFigure<'_> {
    fn size_px(&self) -> (u32, u32) {
        (FIGURE_WIDTH_PX, MAIN_PANEL_HEIGHT_PX)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        root.fill(&WHITE).map_err(draw_error)?;
        draw_title(root, self.title)?;
        let time_axis = TimeAxis::new(self.time_s);
        let finite_values = || {
            self.overlays
                .iter()
                .flat_map(|overlay| &overlay.series)
                .flat_map(|series| series.values.iter().flatten())
                .copied()
                .filter(|value| value.is_finite())
        };
        let axis_max = finite_values().fold(0.0, f64::max);
        let integer_only = finite_values().all(|value| value.fract() == 0.0);
        let axis = value_axis(axis_max, integer_only);
        let (mut chart, annotations, x_map) =
            build_chart_with_events(root, &time_axis, &axis, self.events)?;
        let plot_y_px = chart.plotting_area().get_pixel_range().1;
        let description = match self
            .overlays
            .first()
            .map(|overlay| overlay.series.as_slice())
        {
            Some([only]) => only.name.clone(),
            _ if integer_only => "count".to_string(),
            _ => "value".to_string(),
        };
        draw_axes(&mut chart, &time_axis, &axis, &description)?;
        let event_times_s = event_times(&strip_labels_for(self.events, &time_axis));
        draw_event_lines(root, &event_times_s, &x_map, plot_y_px.clone())?;

        // Drawn by series style first (all solid lines, then all dashed, ...) so a thin
        // dashed line is never buried under another algorithm's wide solid one; the
        // legend keeps the algorithm order.
        let algorithm_count = self.overlays.len() as u32;
        let style_of = |algorithm_index: usize, series_index: usize| {
            let colour = SEQUENCE_COLOURS[algorithm_index % SEQUENCE_COLOURS.len()];
            let (dash, base_width_px, opacity) = SERIES_STYLES[series_index % SERIES_STYLES.len()];
            match dash {
                Some(dash) if algorithm_count > 1 => (
                    colour.mix(opacity).stroke_width(INTERLEAVED_WIDTH_PX),
                    Some(interleaved(dash, algorithm_count)),
                ),
                _ => {
                    let widening = WIDTH_STEP_PER_ALGORITHM_PX
                        * algorithm_count.saturating_sub(1 + algorithm_index as u32);
                    (
                        colour.mix(opacity).stroke_width(base_width_px + widening),
                        dash,
                    )
                }
            }
        };
        let most_series = self
            .overlays
            .iter()
            .map(|overlay| overlay.series.len())
            .max()
            .unwrap_or(0);
        for series_index in 0..most_series {
            for (algorithm_index, overlay) in self.overlays.iter().enumerate() {
                let Some(series) = overlay.series.get(series_index) else {
                    continue;
                };
                let (style, dash) = style_of(algorithm_index, series_index);
                let runs: Vec<Vec<(f64, f64)>> = line_runs(self.time_s, &series.values)
                    .into_iter()
                    .map(|run| run.into_iter().map(|(t, v)| (time_axis.at(t), v)).collect())
                    .collect();
                match dash {
                    Some(dash) if algorithm_count > 1 => {
                        let phase = dash_phase(dash, algorithm_index);
                        draw_phased(root, &chart, &runs, style, dash, phase)?;
                    }
                    _ => draw_runs(&mut chart, &runs, style, dash)?,
                }
            }
        }
        let mut legend = Vec::new();
        for (algorithm_index, overlay) in self.overlays.iter().enumerate() {
            for (series_index, series) in overlay.series.iter().enumerate() {
                let (style, dash) = style_of(algorithm_index, series_index);
                legend.push(LegendEntry {
                    label: format!("{}: {}", overlay.algorithm, series.name),
                    sample: LegendSample::Line { style, dash },
                });
            }
        }
        draw_event_ticks(root, &event_times_s, &x_map, plot_y_px.end)?;
        draw_annotations(root, &annotations, &x_map, plot_y_px)?;
        draw_legend(root, legend_origin(&chart), &legend)
    }
}

/// The pattern of an interleaved dash: `dash.on_px` drawn, then room for the other
/// algorithms' dashes.
fn interleaved(dash: Dash, algorithms: u32) -> Dash {
    Dash {
        on_px: dash.on_px,
        off_px: dash.on_px * (algorithms.max(1) as i32 - 1),
    }
}

/// How far into the pattern algorithm `index` starts, so that its dash covers the
/// `index`-th slot of every period.
fn dash_phase(dash: Dash, index: usize) -> f64 {
    let period = f64::from(dash.on_px + dash.off_px);
    (period - f64::from(dash.on_px) * index as f64).rem_euclid(period)
}

/// Draws runs (chart units) dashed with the pattern started `phase_px` in, in pixels on
/// `root` (plotters' dashed path has no phase).
fn draw_phased<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB>,
    runs: &[Vec<(f64, f64)>],
    style: ShapeStyle,
    dash: Dash,
    phase_px: f64,
) -> Result<(), PlotError> {
    for run in runs {
        let pixels: Vec<(i32, i32)> = run.iter().map(|point| chart.backend_coord(point)).collect();
        let pieces = dash_pieces(
            &pixels,
            f64::from(dash.on_px),
            f64::from(dash.off_px),
            phase_px,
        );
        for piece in pieces {
            root.draw(&PathElement::new(piece, style))
                .map_err(draw_error)?;
        }
    }
    Ok(())
}

/// The pieces of the polyline `points` covered by a dash pattern (`on` drawn, `off`
/// skipped, in pixels along the line) that starts `phase` into its period.
fn dash_pieces(points: &[(i32, i32)], on: f64, off: f64, phase: f64) -> Vec<Vec<(i32, i32)>> {
    let period = on + off;
    if on <= 0.0 || period <= 0.0 {
        return vec![points.to_vec()];
    }
    let mut pieces = Vec::new();
    let mut current: Vec<(i32, i32)> = Vec::new();
    let mut position = phase.rem_euclid(period);
    let at = |a: (i32, i32), b: (i32, i32), fraction: f64| {
        let x = f64::from(a.0) + f64::from(b.0 - a.0) * fraction;
        let y = f64::from(a.1) + f64::from(b.1 - a.1) * fraction;
        (x.round() as i32, y.round() as i32)
    };
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let length = f64::from(b.0 - a.0).hypot(f64::from(b.1 - a.1));
        let mut done = 0.0;
        while done < length {
            let drawing = position < on;
            let left_in_state = if drawing {
                on - position
            } else {
                period - position
            };
            let step = left_in_state.min(length - done);
            if drawing {
                if current.is_empty() {
                    current.push(at(a, b, done / length));
                }
                current.push(at(a, b, (done + step) / length));
            } else if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            done += step;
            position = (position + step) % period;
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_dashes_take_turns_along_a_shared_line() {
        let dash = interleaved(DASHED, 3);
        let line = [(0, 0), (54, 0)];
        let starts = |index: usize| -> Vec<i32> {
            let phase = dash_phase(dash, index);
            dash_pieces(&line, f64::from(dash.on_px), f64::from(dash.off_px), phase)
                .iter()
                .map(|piece| piece[0].0)
                .collect()
        };
        // Period 27 px: algorithm 0 at 0 and 27, 1 at 9 and 36, 2 at 18 and 45.
        assert_eq!(starts(0), [0, 27]);
        assert_eq!(starts(1), [9, 36]);
        assert_eq!(starts(2), [18, 45]);
    }

    #[test]
    fn a_dash_continues_around_a_corner() {
        // A step: 4 px right, 4 px up; one 9 px dash covers both legs.
        let pieces = dash_pieces(&[(0, 0), (4, 0), (4, 4)], 9.0, 9.0, 0.0);
        assert_eq!(pieces, [vec![(0, 0), (4, 0), (4, 4)]]);
    }
}
