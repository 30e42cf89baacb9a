//! The overlay of a comparison: the same metrics for several algorithms, one colour per
//! algorithm and one line style per metric, with the scenario's events marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    build_chart_with_events, draw_annotations, draw_axes, draw_error, draw_event_lines,
    draw_event_ticks, draw_legend, draw_runs, draw_title, event_times, legend_origin,
    strip_labels_for, Dash, LegendEntry, LegendSample, TimeAxis, DASHED, DOTTED, FIGURE_WIDTH_PX,
    MAIN_PANEL_HEIGHT_PX, SEQUENCE_COLOURS,
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
/// algorithm is drawn this much wider, and first, so that coinciding lines show as
/// nested stripes, one colour each, instead of the last one hiding the others.
const WIDTH_STEP_PER_ALGORITHM_PX: u32 = 2;

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
            let widening = WIDTH_STEP_PER_ALGORITHM_PX
                * algorithm_count.saturating_sub(1 + algorithm_index as u32);
            (
                colour.mix(opacity).stroke_width(base_width_px + widening),
                dash,
            )
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
                draw_runs(&mut chart, &runs, style, dash)?;
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
