//! What the replicas plot shows of the HPA besides its columns (issue 15, item 6): its
//! rescale decisions as marks, no "desired" line before its first computation, and the
//! offered load that drives it on a secondary axis of the CPU panel.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::draw::{
    draw_error, draw_runs, text_style, Chart, LegendEntry, LegendSample, TimeAxis, BLACK_INK,
    ORANGE, REDDISH_PURPLE,
};
use super::layout::{format_tick, line_runs, value_axis, ValueAxis};
use super::{PlotError, PlotInput, Rescale, Series};
use crate::output::event_log::EventRow;

/// The `events.csv` rows of a rescale: the HPA controller's `SuccessfulRescale`
/// (`pkg/controller/podautoscaler/horizontal.go`, `reconcileAutoscaler`), whose message
/// starts `New size: N;`.
const HPA_KIND: &str = "HorizontalPodAutoscaler";
const RESCALE_REASON: &str = "SuccessfulRescale";

/// The timeseries column of the offered load (cores), drawn on the CPU panel.
pub(super) const LOAD_COLUMN: &str = "load_cores";
const HPA_COLUMN: &str = "hpa_desired_replicas";
const CPU_COLUMN: &str = "cpu_utilization_pct";

/// The new size in a `SuccessfulRescale` message (`New size: %d; reason: %s`).
fn new_size(message: &str) -> Option<f64> {
    let rest = message.trim().strip_prefix("New size:")?;
    let number = rest.split(';').next()?.trim();
    number.parse::<u32>().ok().map(f64::from)
}

/// The rescales of a run from its `SuccessfulRescale` rows, given as `(kind, reason,
/// time_s, message, count)`. A row with a count above 1 stands for repeats of the
/// same decision (`output::event_log`) whose times the row does not keep: each repeat
/// is placed at a later sample where `hpa_desired_replicas` changes to that size (the
/// first such change after the row is the row's own).
pub fn rescales_from_events<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a str, f64, &'a str, u32)>,
    input: &PlotInput,
) -> Vec<Rescale> {
    let hpa = input.series(HPA_COLUMN);
    let mut rescales = Vec::new();
    for (kind, reason, time_s, message, count) in rows {
        if kind != HPA_KIND || reason != RESCALE_REASON || !time_s.is_finite() {
            continue;
        }
        let Some(replicas) = new_size(message) else {
            continue;
        };
        rescales.push(Rescale { time_s, replicas });
        let repeats = changes_to(&input.time_s, hpa, replicas, time_s)
            .skip(1)
            .take(count.saturating_sub(1) as usize);
        rescales.extend(repeats.map(|time_s| Rescale { time_s, replicas }));
    }
    rescales.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    rescales
}

/// [`rescales_from_events`] over a run's event log.
pub(crate) fn run_rescales(rows: &[EventRow], input: &PlotInput) -> Vec<Rescale> {
    rescales_from_events(
        rows.iter().map(|row| {
            (
                row.kind.as_str(),
                row.reason.as_str(),
                row.time.as_secs_f64(),
                row.message.as_str(),
                row.count,
            )
        }),
        input,
    )
}

/// Sample times at or after `from_s` where the HPA column changes to `value`.
fn changes_to<'a>(
    time_s: &'a [f64],
    hpa: Option<&'a Series>,
    value: f64,
    from_s: f64,
) -> impl Iterator<Item = f64> + 'a {
    let values = hpa.map_or(&[][..], |series| series.values.as_slice());
    (1..values.len().min(time_s.len()))
        .filter(move |&i| time_s[i] >= from_s)
        .filter(move |&i| values[i] == Some(value) && values[i - 1] != Some(value))
        .map(move |i| time_s[i])
}

/// The HPA's desired replicas with the samples before its first computation left
/// out. The HPA writes `status.desiredReplicas` only when it computes a size
/// (`horizontal.go`, `setStatus` after `computeReplicasForMetrics`; on a metrics error
/// it keeps the old value), so a status still at 0 with no observed utilization is an
/// HPA that has not computed yet, not one that asks for 0 (only a computed scale to
/// zero has a utilization with it).
pub(super) fn computed_hpa_desired(input: &PlotInput) -> Option<Series> {
    let hpa = input.series(HPA_COLUMN)?;
    let cpu = input.series(CPU_COLUMN);
    let values = hpa
        .values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let observed = cpu.and_then(|c| c.values.get(i).copied().flatten());
            value.filter(|v| *v != 0.0 || observed.is_some())
        })
        .collect();
    Some(Series {
        name: hpa.name.clone(),
        values,
    })
}

/// Marks each rescale at its new size: a diamond in the HPA's colour, the size beside
/// it. Returns the legend entry, or none when there are no rescales.
pub(super) fn draw_rescale_marks<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB>,
    time_axis: &TimeAxis,
    rescales: &[Rescale],
) -> Result<Option<LegendEntry>, PlotError> {
    let (first_s, last_s) = time_axis.span_s();
    let shown: Vec<&Rescale> = rescales
        .iter()
        .filter(|r| r.time_s >= first_s && r.time_s <= last_s && r.replicas.is_finite())
        .collect();
    if shown.is_empty() {
        return Ok(None);
    }
    // A long run may rescale hundreds of times: numbers only while they stay legible.
    let labelled = shown.len() <= MAX_LABELLED_RESCALES;
    let label_style = text_style(11.0, BLACK_INK, HPos::Left, VPos::Bottom);
    for rescale in shown {
        let (x, y) = chart.backend_coord(&(time_axis.at(rescale.time_s), rescale.replicas));
        root.draw(&diamond((x, y), REDDISH_PURPLE))
            .map_err(draw_error)?;
        if labelled {
            let text = format_tick(rescale.replicas, 0);
            root.draw_text(&text, &label_style, (x + 6, y - 4))
                .map_err(draw_error)?;
        }
    }
    Ok(Some(LegendEntry {
        label: "HPA rescale (new size)".to_string(),
        sample: LegendSample::Marker {
            colour: REDDISH_PURPLE,
        },
    }))
}

const MAX_LABELLED_RESCALES: usize = 60;

/// A filled diamond of 5 px half-width, outlined in white so it reads over any line.
pub(super) fn diamond((x, y): (i32, i32), colour: RGBColor) -> Polygon<(i32, i32)> {
    const R: i32 = 5;
    Polygon::new(
        vec![(x, y - R), (x + R, y), (x, y + R), (x - R, y)],
        colour.filled(),
    )
}

/// The offered load with its axis, when the run has a load column with a value above 0.
pub(super) struct LoadAxis<'a> {
    series: &'a Series,
    axis: ValueAxis,
}

impl<'a> LoadAxis<'a> {
    pub(super) fn of(input: &'a PlotInput) -> Option<Self> {
        let series = input.series(LOAD_COLUMN)?;
        let max = series
            .values
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        (max > 0.0).then(|| LoadAxis {
            series,
            axis: value_axis(max, false),
        })
    }

    /// Draws the load on `chart` (whose own axis goes to `primary_top`) scaled to the
    /// load axis, and that axis's ticks right of the plot. Returns the legend entry.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut Chart<'_, DB>,
        time_axis: &TimeAxis,
        time_s: &[f64],
        primary_top: f64,
    ) -> Result<LegendEntry, PlotError> {
        let scale = primary_top / self.axis.top;
        let runs: Vec<Vec<(f64, f64)>> = line_runs(time_s, &self.series.values)
            .into_iter()
            .map(|run| {
                run.into_iter()
                    .map(|(t, v)| (time_axis.at(t), v * scale))
                    .collect()
            })
            .collect();
        let style = ORANGE.stroke_width(2);
        draw_runs(chart, &runs, style, None)?;
        let x_end = chart.backend_coord(&(time_axis.range.end, 0.0)).0;
        let tick_style = text_style(13.0, BLACK_INK, HPos::Left, VPos::Center);
        for tick in &self.axis.ticks {
            let y = chart.backend_coord(&(time_axis.range.end, tick * scale)).1;
            root.draw(&PathElement::new(vec![(x_end, y), (x_end + 5, y)], ORANGE))
                .map_err(draw_error)?;
            root.draw_text(
                &format_tick(*tick, self.axis.decimals),
                &tick_style,
                (x_end + 8, y),
            )
            .map_err(draw_error)?;
        }
        Ok(LegendEntry {
            label: "offered load (cores, right)".to_string(),
            sample: LegendSample::Line { style, dash: None },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(hpa: &[Option<f64>], cpu: &[Option<f64>]) -> PlotInput {
        let series = |name: &str, values: &[Option<f64>]| Series {
            name: name.into(),
            values: values.to_vec(),
        };
        PlotInput {
            time_s: (0..hpa.len()).map(|i| i as f64 * 15.0).collect(),
            series: vec![series(HPA_COLUMN, hpa), series(CPU_COLUMN, cpu)],
            ..PlotInput::default()
        }
    }

    #[test]
    fn no_hpa_line_before_its_first_computation() {
        // Applied mid-run: empty, then 0 until the first sync computes 3.
        let mid_run = input(
            &[None, Some(0.0), Some(0.0), Some(3.0), Some(3.0)],
            &[None, None, None, Some(80.0), None],
        );
        let masked = computed_hpa_desired(&mid_run).expect("an HPA column");
        assert_eq!(masked.values, [None, None, None, Some(3.0), Some(3.0)]);
        // A computed scale to zero has a utilization with it, and is drawn.
        let zero = input(&[Some(0.0)], &[Some(0.0)]);
        assert_eq!(
            computed_hpa_desired(&zero).expect("hpa").values,
            [Some(0.0)]
        );
    }

    #[test]
    fn a_counted_rescale_row_is_placed_at_each_change_to_its_size() {
        let run = input(
            &[Some(2.0), Some(4.0), Some(2.0), Some(4.0), Some(4.0)],
            &[Some(1.0); 5],
        );
        let message = "New size: 4; reason: cpu resource utilization above target";
        let rows = [
            (HPA_KIND, RESCALE_REASON, 10.0, message, 2),
            (
                HPA_KIND,
                RESCALE_REASON,
                25.0,
                "New size: 2; reason: below",
                1,
            ),
            ("Pod", RESCALE_REASON, 1.0, message, 1),
        ];
        let rescales = rescales_from_events(rows, &run);
        let got: Vec<(f64, f64)> = rescales.iter().map(|r| (r.time_s, r.replicas)).collect();
        assert_eq!(got, [(10.0, 4.0), (25.0, 2.0), (45.0, 4.0)]);
        assert_eq!(new_size("New size: 12; reason: x"), Some(12.0));
        assert_eq!(new_size("something else"), None);
    }
}
