//! The band plot of a sweep: for each metric, the p5–p95 range over seeds as a
//! translucent band and the median as a line, with the scenario's events marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    build_chart_with_events, draw_annotations, draw_axes, draw_error, draw_event_lines,
    draw_event_ticks, draw_legend, draw_runs, draw_title, event_times, legend_origin,
    strip_labels_for, LegendEntry, LegendSample, TimeAxis, FIGURE_WIDTH_PX, MAIN_PANEL_HEIGHT_PX,
    SEQUENCE_COLOURS,
};
use super::layout::value_axis;
use super::{
    check_column_length, check_events, check_time_axis, Band, EventMarker, Figure, PlotError,
};

pub(super) struct BandFigure<'a> {
    title: &'a str,
    time_s: &'a [f64],
    bands: &'a [Band],
    events: &'a [EventMarker],
}

impl<'a> BandFigure<'a> {
    pub(super) fn new(
        title: &'a str,
        time_s: &'a [f64],
        bands: &'a [Band],
        events: &'a [EventMarker],
    ) -> Result<Self, PlotError> {
        check_time_axis(time_s)?;
        check_events(events)?;
        for band in bands {
            for (percentile, values) in [("p5", &band.p5), ("p50", &band.p50), ("p95", &band.p95)] {
                check_column_length(
                    &format!("{} {percentile}", band.name),
                    values.len(),
                    time_s.len(),
                )?;
            }
        }
        Ok(BandFigure {
            title,
            time_s,
            bands,
            events,
        })
    }
}

impl Figure for BandFigure<'_> {
    fn size_px(&self) -> (u32, u32) {
        (FIGURE_WIDTH_PX, MAIN_PANEL_HEIGHT_PX)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        root.fill(&WHITE).map_err(draw_error)?;
        draw_title(root, self.title)?;
        let time_axis = TimeAxis::new(self.time_s);
        let finite_values = || {
            self.bands
                .iter()
                .flat_map(|band| band.p5.iter().chain(&band.p50).chain(&band.p95))
                .copied()
                .filter(|value| value.is_finite())
        };
        let axis_max = finite_values().fold(0.0, f64::max);
        let integer_only = finite_values().all(|value| value.fract() == 0.0);
        let axis = value_axis(axis_max, integer_only);
        let (mut chart, annotations, x_map) =
            build_chart_with_events(root, &time_axis, &axis, self.events)?;
        let plot_y_px = chart.plotting_area().get_pixel_range().1;
        draw_axes(&mut chart, &time_axis, &axis, "count over seeds")?;
        let event_times_s = event_times(&strip_labels_for(self.events, &time_axis));
        draw_event_lines(root, &event_times_s, &x_map, plot_y_px.clone())?;

        let mut legend = Vec::new();
        for (index, band) in self.bands.iter().enumerate() {
            let colour = SEQUENCE_COLOURS[index % SEQUENCE_COLOURS.len()];
            let fill = colour.mix(0.2);
            // The band: p95 left to right, then p5 back, skipping samples where a
            // percentile is not finite (a polygon cannot have holes).
            let upper = self
                .time_s
                .iter()
                .zip(&band.p95)
                .filter(|(_, v)| v.is_finite())
                .map(|(&t, &v)| (time_axis.at(t), v));
            let lower = self
                .time_s
                .iter()
                .zip(&band.p5)
                .filter(|(_, v)| v.is_finite())
                .map(|(&t, &v)| (time_axis.at(t), v))
                .collect::<Vec<_>>();
            let polygon: Vec<(f64, f64)> = upper.chain(lower.into_iter().rev()).collect();
            if polygon.len() >= 3 {
                chart
                    .draw_series(std::iter::once(Polygon::new(polygon, fill.filled())))
                    .map_err(draw_error)?;
            }
            let median: Vec<(f64, f64)> = self
                .time_s
                .iter()
                .zip(&band.p50)
                .filter(|(_, v)| v.is_finite())
                .map(|(&t, &v)| (time_axis.at(t), v))
                .collect();
            let style = colour.stroke_width(2);
            draw_runs(&mut chart, &[median], style, None)?;
            legend.push(LegendEntry {
                label: format!("{} median", band.name),
                sample: LegendSample::Line { style, dash: None },
            });
            legend.push(LegendEntry {
                label: format!("{} p5–p95", band.name),
                sample: LegendSample::Area { fill },
            });
        }
        draw_event_ticks(root, &event_times_s, &x_map, plot_y_px.end)?;
        draw_annotations(root, &annotations, &x_map, plot_y_px)?;
        draw_legend(root, legend_origin(&chart), &legend)
    }
}
