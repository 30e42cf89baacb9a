//! The overlay of a comparison: the same metrics for several algorithms, one colour per
//! algorithm and one line style per metric.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    build_chart, draw_axes, draw_error, draw_legend, draw_runs, draw_title, legend_origin,
    main_panel_top_px, Dash, LegendEntry, LegendSample, TimeAxis, DASHED, DOTTED, FIGURE_WIDTH_PX,
    MAIN_PANEL_HEIGHT_PX, SEQUENCE_COLOURS,
};
use super::layout::{line_runs, value_axis};
use super::{check_column_length, check_time_axis, Figure, Overlay, PlotError};

/// Line styles by position of the series within an algorithm: a wide translucent solid
/// line, then dashed, then dotted, thinner and on top, so equal values stay visible.
const SERIES_STYLES: [(Option<Dash>, u32, f64); 3] = [
    (None, 5, 0.45),
    (Some(DASHED), 2, 1.0),
    (Some(DOTTED), 2, 1.0),
];

pub(super) struct OverlayFigure<'a> {
    title: &'a str,
    time_s: &'a [f64],
    overlays: &'a [Overlay],
}

impl<'a> OverlayFigure<'a> {
    pub(super) fn new(
        title: &'a str,
        time_s: &'a [f64],
        overlays: &'a [Overlay],
    ) -> Result<Self, PlotError> {
        check_time_axis(time_s)?;
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
        let mut chart = build_chart(root, main_panel_top_px(0), &time_axis, &axis)?;
        let description = match self
            .overlays
            .first()
            .map(|overlay| overlay.series.as_slice())
        {
            Some([only]) => only.name.clone(),
            _ => "value".to_string(),
        };
        draw_axes(&mut chart, &time_axis, &axis, &description)?;

        let mut legend = Vec::new();
        for (algorithm_index, overlay) in self.overlays.iter().enumerate() {
            let colour = SEQUENCE_COLOURS[algorithm_index % SEQUENCE_COLOURS.len()];
            for (series_index, series) in overlay.series.iter().enumerate() {
                let (dash, width_px, opacity) = SERIES_STYLES[series_index % SERIES_STYLES.len()];
                let style = colour.mix(opacity).stroke_width(width_px);
                let runs: Vec<Vec<(f64, f64)>> = line_runs(self.time_s, &series.values)
                    .into_iter()
                    .map(|run| run.into_iter().map(|(t, v)| (time_axis.at(t), v)).collect())
                    .collect();
                draw_runs(&mut chart, &runs, style, dash)?;
                legend.push(LegendEntry {
                    label: format!("{}: {}", overlay.algorithm, series.name),
                    sample: LegendSample::Line { style, dash },
                });
            }
        }
        draw_legend(root, legend_origin(&chart), &legend)
    }
}
