//! Pure geometry for the plots: axis units and ticks, staggering of labels, and the
//! shapes (step lines, broken lines, overshoot areas) built from sampled columns.
//!
//! Nothing here draws or measures text: callers pass pixel widths in, so every rule can
//! be tested without a drawing backend.

/// The unit of the time axis, chosen from the span of the run so tick labels stay short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
}

/// Up to this span the axis counts seconds (5 minutes read well as 0..300 s).
const SECONDS_AXIS_MAX_SPAN_S: f64 = 300.0;
/// Up to this span the axis counts minutes (3 hours read well as 0..180 min); a longer
/// run reads better in hours.
const MINUTES_AXIS_MAX_SPAN_S: f64 = 3.0 * 3600.0;

impl TimeUnit {
    pub(crate) fn for_span_s(span_s: f64) -> Self {
        if span_s <= SECONDS_AXIS_MAX_SPAN_S {
            TimeUnit::Seconds
        } else if span_s <= MINUTES_AXIS_MAX_SPAN_S {
            TimeUnit::Minutes
        } else {
            TimeUnit::Hours
        }
    }

    pub(crate) fn seconds_per_unit(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1.0,
            TimeUnit::Minutes => 60.0,
            TimeUnit::Hours => 3600.0,
        }
    }

    pub(crate) fn axis_label(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "time (s)",
            TimeUnit::Minutes => "time (min)",
            TimeUnit::Hours => "time (h)",
        }
    }
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) so that `span / step` is at most
/// `max_ticks`. A span that is zero or not finite gets the step 1.
pub(crate) fn nice_step(span: f64, max_ticks: usize) -> f64 {
    if !(span.is_finite() && span > 0.0) || max_ticks == 0 {
        return 1.0;
    }
    let rough = span / max_ticks as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    for multiplier in [1.0, 2.0, 5.0, 10.0] {
        let step = multiplier * magnitude;
        if span / step <= max_ticks as f64 + 1e-9 {
            return step;
        }
    }
    10.0 * magnitude
}

/// Multiples of `step` from the first one at or after `start` up to `end` inclusive.
pub(crate) fn ticks_between(start: f64, end: f64, step: f64) -> Vec<f64> {
    let first_index = (start / step - 1e-9).ceil() as i64;
    let last_index = (end / step + 1e-9).floor() as i64;
    (first_index..=last_index)
        .map(|index| index as f64 * step)
        .collect()
}

/// Number of decimals a tick label needs so that ticks `step` apart stay distinct.
pub(crate) fn decimals_for_step(step: f64) -> usize {
    if step >= 1.0 || !step.is_finite() || step <= 0.0 {
        0
    } else {
        (-step.log10() - 1e-9).ceil().max(0.0) as usize
    }
}

/// A tick label with the given decimals; never prints "-0".
pub(crate) fn format_tick(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        text[1..].to_string()
    } else {
        text
    }
}

/// A value axis that starts at 0: its top (a little above `max_value`, so the highest
/// line does not merge with the frame) and its ticks. With `integer_only`, ticks are
/// whole numbers (replica counts are never fractional).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValueAxis {
    pub(crate) top: f64,
    pub(crate) ticks: Vec<f64>,
    pub(crate) decimals: usize,
}

/// At most this many labelled ticks on a value axis; more crowd a 500-pixel axis.
const VALUE_AXIS_MAX_TICKS: usize = 10;

pub(crate) fn value_axis(max_value: f64, integer_only: bool) -> ValueAxis {
    value_axis_with_ticks(max_value, integer_only, VALUE_AXIS_MAX_TICKS)
}

/// [`value_axis`] with at most `max_ticks` labelled ticks, for a short panel.
pub(crate) fn value_axis_with_ticks(
    max_value: f64,
    integer_only: bool,
    max_ticks: usize,
) -> ValueAxis {
    let max_value = if max_value.is_finite() && max_value > 0.0 {
        max_value
    } else {
        1.0
    };
    let mut step = nice_step(max_value, max_ticks);
    if integer_only {
        step = step.max(1.0);
    }
    // Headroom of 6% (at least half a unit for counts) keeps the top line off the frame.
    let headroom = if integer_only {
        (max_value * 0.06).max(0.5)
    } else {
        max_value * 0.06
    };
    let top = max_value + headroom;
    ValueAxis {
        top,
        ticks: ticks_between(0.0, top, step),
        decimals: decimals_for_step(step),
    }
}

/// A horizontal extent in pixels taken by one label, and the x of the mark it labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LabelSpan {
    pub(crate) left_px: f64,
    pub(crate) right_px: f64,
}

/// Assigns each label a row of a strip above the plot, row 0 being the farthest from
/// the plot, so that labels in the same row do not overlap (`gap_px` apart at least).
///
/// Rows cascade towards the plot: a label goes just below the lowest row that is still
/// occupied at its left edge, never above it. Each label's leader line runs from its
/// row down to the plot, and this rule keeps every row below it free at that x, so
/// leader lines never cross other labels. Labels are taken in order of their left edge.
/// When `max_rows` would be exceeded, the label goes to the row that frees up first
/// (overlap is then unavoidable and kept as small as possible).
pub(crate) fn assign_label_rows(spans: &[LabelSpan], gap_px: f64, max_rows: usize) -> Vec<usize> {
    let max_rows = max_rows.max(1);
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by(|&a, &b| {
        spans[a]
            .left_px
            .total_cmp(&spans[b].left_px)
            .then(a.cmp(&b))
    });
    let mut row_right_px: Vec<f64> = Vec::new();
    let mut rows = vec![0; spans.len()];
    for index in order {
        let span = spans[index];
        let lowest_blocked = row_right_px
            .iter()
            .rposition(|&right_px| right_px + gap_px > span.left_px);
        let row = match lowest_blocked {
            None => 0,
            Some(blocked) if blocked + 1 < max_rows => blocked + 1,
            Some(_) => {
                let mut best = 0;
                for (candidate, right_px) in row_right_px.iter().enumerate() {
                    if *right_px < row_right_px[best] {
                        best = candidate;
                    }
                }
                best
            }
        };
        if row == row_right_px.len() {
            row_right_px.push(span.right_px);
        } else {
            row_right_px[row] = row_right_px[row].max(span.right_px);
        }
        rows[index] = row;
    }
    rows
}

/// A polyline turning back on itself by more than this (cosine of the angle between
/// the incoming and outgoing directions below it) is cut at that vertex; see
/// [`sharp_turn_cuts`].
const SHARP_TURN_COSINE: f64 = -0.5;

/// The vertices (indices into `points_px`) where a polyline in pixel space turns by
/// more than 120°, such as a one-sample dip to 0 and back.
///
/// plotters' rasteriser joins thick strokes with a mitre whose inner corner is not
/// limited, so a near-reversal draws a spike far outside the plot (seen in
/// `autohealing-needs-an-event-17300`, where `vms_total` drops to 0 for one sample).
/// Cutting the line there and drawing the two pieces separately leaves butt ends that
/// overlap at the vertex instead. Repeated pixels are skipped when measuring turns.
pub(crate) fn sharp_turn_cuts(points_px: &[(i32, i32)]) -> Vec<usize> {
    let mut cuts = Vec::new();
    // The last distinct vertex and the direction that arrived at it.
    let mut previous: Option<(usize, (f64, f64))> = None;
    let mut last_index = 0;
    for index in 1..points_px.len() {
        let (from, to) = (points_px[last_index], points_px[index]);
        if from == to {
            continue;
        }
        let (dx, dy) = (f64::from(to.0 - from.0), f64::from(to.1 - from.1));
        let length = dx.hypot(dy);
        let direction = (dx / length, dy / length);
        if let Some((vertex, incoming)) = previous {
            let cosine = incoming.0 * direction.0 + incoming.1 * direction.1;
            if cosine < SHARP_TURN_COSINE {
                cuts.push(vertex);
            }
        }
        previous = Some((index, direction));
        last_index = index;
    }
    cuts
}

/// The column as polylines, broken wherever a cell is empty (or not finite).
pub(crate) fn line_runs(time: &[f64], values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for (&t, value) in time.iter().zip(values) {
        match value.filter(|v| v.is_finite()) {
            Some(v) => current.push((t, v)),
            None => {
                if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// The column as a step function: each value holds until the next sample, where the line
/// jumps vertically. Broken at empty cells like [`line_runs`].
pub(crate) fn step_runs(time: &[f64], values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    line_runs(time, values)
        .into_iter()
        .map(|run| {
            let mut stepped = Vec::with_capacity(run.len() * 2);
            for (index, &(t, v)) in run.iter().enumerate() {
                if index > 0 {
                    stepped.push((t, run[index - 1].1));
                }
                stepped.push((t, v));
            }
            stepped
        })
        .collect()
}

/// The areas where `guests` (drawn as a straight line between samples) lies above
/// `desired` (drawn as a step, see [`step_runs`]), as closed polygons: the upper edge
/// follows the guests line, the lower edge the desired step, and crossings are cut at
/// the exact point where the two lines meet. One polygon per contiguous overshoot, so a
/// translucent fill has no seams.
pub(crate) fn overshoot_polygons(
    time: &[f64],
    desired: &[Option<f64>],
    guests: &[Option<f64>],
) -> Vec<Vec<(f64, f64)>> {
    let mut polygons = Vec::new();
    let mut upper: Vec<(f64, f64)> = Vec::new();
    let mut lower: Vec<(f64, f64)> = Vec::new();
    let mut close = |upper: &mut Vec<(f64, f64)>, lower: &mut Vec<(f64, f64)>| {
        if !upper.is_empty() {
            let mut polygon = std::mem::take(upper);
            polygon.extend(lower.drain(..).rev());
            polygons.push(polygon);
        }
        lower.clear();
    };
    let finite = |value: Option<f64>| value.filter(|v| v.is_finite());
    for index in 0..time.len().saturating_sub(1) {
        let (t0, t1) = (time[index], time[index + 1]);
        let (Some(d), Some(g0), Some(g1)) = (
            finite(desired[index]),
            finite(guests[index]),
            finite(guests[index + 1]),
        ) else {
            close(&mut upper, &mut lower);
            continue;
        };
        let (excess0, excess1) = (g0 - d, g1 - d);
        let crossing_t = |from: f64, to: f64| t0 + (t1 - t0) * from / (from - to);
        if excess0 >= 0.0 && excess1 >= 0.0 && (excess0 > 0.0 || excess1 > 0.0) {
            upper.extend([(t0, g0), (t1, g1)]);
            lower.extend([(t0, d), (t1, d)]);
        } else if excess0 > 0.0 && excess1 < 0.0 {
            let tc = crossing_t(excess0, excess1);
            upper.extend([(t0, g0), (tc, d)]);
            lower.extend([(t0, d), (tc, d)]);
            close(&mut upper, &mut lower);
        } else if excess0 < 0.0 && excess1 > 0.0 {
            close(&mut upper, &mut lower);
            let tc = crossing_t(excess0, excess1);
            upper.extend([(tc, d), (t1, g1)]);
            lower.extend([(tc, d), (t1, d)]);
        } else {
            close(&mut upper, &mut lower);
        }
    }
    close(&mut upper, &mut lower);
    polygons
}

/// How long guests ran above desired, in seconds: the sample intervals that start with
/// an overshoot, which is how `timeseries.csv` holds each value until the next row.
pub(crate) fn overshoot_duration_s(
    time: &[f64],
    desired: &[Option<f64>],
    guests: &[Option<f64>],
) -> f64 {
    time.windows(2)
        .zip(desired.iter().zip(guests))
        .filter(|(_, (d, g))| match (d, g) {
            (Some(d), Some(g)) => g - d > 0.0,
            _ => false,
        })
        .map(|(pair, _)| pair[1] - pair[0])
        .sum()
}

/// The largest `guests - desired` over the samples where both are known, or 0.
pub(crate) fn max_overshoot(desired: &[Option<f64>], guests: &[Option<f64>]) -> f64 {
    desired
        .iter()
        .zip(guests)
        .filter_map(|(d, g)| Some(g.filter(|v| v.is_finite())? - d.filter(|v| v.is_finite())?))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_unit_follows_the_span() {
        assert_eq!(TimeUnit::for_span_s(120.0), TimeUnit::Seconds);
        assert_eq!(TimeUnit::for_span_s(300.0), TimeUnit::Seconds);
        assert_eq!(TimeUnit::for_span_s(90.0 * 60.0), TimeUnit::Minutes);
        assert_eq!(TimeUnit::for_span_s(24.0 * 3600.0), TimeUnit::Hours);
        assert_eq!(TimeUnit::for_span_s(3.0 * 3600.0), TimeUnit::Minutes);
        assert_eq!(TimeUnit::for_span_s(4.0 * 3600.0), TimeUnit::Hours);
    }

    #[test]
    fn nice_steps_are_one_two_five() {
        assert_eq!(nice_step(90.0, 12), 10.0);
        assert_eq!(nice_step(10.0, 10), 1.0);
        assert_eq!(nice_step(11.0, 10), 2.0);
        assert_eq!(nice_step(300.0, 12), 50.0);
        assert_eq!(nice_step(0.3, 10), 0.05);
        assert_eq!(nice_step(0.0, 10), 1.0);
    }

    #[test]
    fn integer_axis_has_whole_ticks_from_zero() {
        let axis = value_axis(3.0, true);
        assert_eq!(axis.ticks, vec![0.0, 1.0, 2.0, 3.0]);
        assert!(axis.top > 3.0 && axis.top < 4.0);
        assert_eq!(axis.decimals, 0);
        let axis = value_axis(47.0, true);
        assert_eq!(axis.ticks.first(), Some(&0.0));
        assert!(axis.ticks.iter().all(|t| t.fract() == 0.0));
        assert!(axis.ticks.len() <= VALUE_AXIS_MAX_TICKS + 1);
        // An all-zero column still gets a usable axis.
        assert_eq!(value_axis(0.0, true).ticks, vec![0.0, 1.0]);
    }

    #[test]
    fn fractional_axis_keeps_decimals() {
        let axis = value_axis(0.4, false);
        assert_eq!(axis.decimals, 2);
        assert_eq!(format_tick(0.05, axis.decimals), "0.05");
        assert_eq!(format_tick(-0.0001, 2), "0.00");
    }

    fn span(left_px: f64, right_px: f64) -> LabelSpan {
        LabelSpan { left_px, right_px }
    }

    #[test]
    fn distant_labels_share_the_first_row() {
        let rows = assign_label_rows(&[span(0.0, 50.0), span(100.0, 150.0)], 8.0, 4);
        assert_eq!(rows, vec![0, 0]);
    }

    #[test]
    fn close_labels_cascade_towards_the_plot() {
        let spans = [span(0.0, 80.0), span(10.0, 90.0), span(20.0, 100.0)];
        assert_eq!(assign_label_rows(&spans, 8.0, 4), vec![0, 1, 2]);
    }

    #[test]
    fn a_label_never_goes_above_an_occupied_row() {
        // The third label fits in row 0, but row 1 still covers its x: putting it in
        // row 0 would make its leader line cross the second label.
        let spans = [span(0.0, 40.0), span(30.0, 200.0), span(60.0, 90.0)];
        assert_eq!(assign_label_rows(&spans, 8.0, 4), vec![0, 1, 2]);
    }

    #[test]
    fn rows_are_capped() {
        let spans: Vec<_> = (0..6).map(|i| span(i as f64, 100.0 + i as f64)).collect();
        let rows = assign_label_rows(&spans, 8.0, 3);
        assert!(rows.iter().all(|&row| row < 3));
    }

    #[test]
    fn a_dip_and_back_is_cut_at_its_bottom() {
        // Down one sample and straight back up: the bottom vertex (index 2) is cut.
        let points = [(0, 10), (10, 10), (11, 100), (12, 10), (20, 10)];
        assert_eq!(sharp_turn_cuts(&points), vec![2]);
    }

    #[test]
    fn right_angles_and_repeated_pixels_are_not_cut() {
        let step = [(0, 10), (10, 10), (10, 10), (10, 50), (30, 50)];
        assert!(sharp_turn_cuts(&step).is_empty());
        assert!(sharp_turn_cuts(&[(0, 0)]).is_empty());
    }

    #[test]
    fn empty_cells_break_lines() {
        let runs = line_runs(
            &[0.0, 5.0, 10.0, 15.0],
            &[Some(1.0), None, Some(2.0), Some(3.0)],
        );
        assert_eq!(runs, vec![vec![(0.0, 1.0)], vec![(10.0, 2.0), (15.0, 3.0)]]);
    }

    #[test]
    fn step_holds_each_value_until_the_next_sample() {
        let runs = step_runs(&[0.0, 5.0, 10.0], &[Some(1.0), Some(3.0), Some(2.0)]);
        assert_eq!(
            runs,
            vec![vec![
                (0.0, 1.0),
                (5.0, 1.0),
                (5.0, 3.0),
                (10.0, 3.0),
                (10.0, 2.0)
            ]]
        );
    }

    #[test]
    fn overshoot_is_cut_where_guests_cross_desired() {
        let time = [0.0, 10.0, 20.0, 30.0];
        let desired = [Some(2.0), Some(2.0), Some(2.0), Some(2.0)];
        let guests = [Some(1.0), Some(3.0), Some(3.0), Some(1.0)];
        let polygons = overshoot_polygons(&time, &desired, &guests);
        assert_eq!(polygons.len(), 1);
        let polygon = &polygons[0];
        // Starts where guests climb through 2 (t = 5) and ends where they fall back (t = 25).
        assert_eq!(polygon.first(), Some(&(5.0, 2.0)));
        assert!(polygon.contains(&(25.0, 2.0)));
        assert!(polygon.iter().all(|&(_, y)| y >= 2.0));
        assert_eq!(max_overshoot(&desired, &guests), 1.0);
        // Samples at 10 s and 20 s overshoot, each held for 10 s.
        assert_eq!(overshoot_duration_s(&time, &desired, &guests), 20.0);
    }

    #[test]
    fn no_overshoot_gives_no_polygon() {
        let time = [0.0, 10.0];
        let polygons = overshoot_polygons(&time, &[Some(3.0), Some(3.0)], &[Some(3.0), Some(2.0)]);
        assert!(polygons.is_empty());
        assert_eq!(max_overshoot(&[None], &[Some(5.0)]), 0.0);
    }

    #[test]
    fn separate_overshoots_are_separate_polygons() {
        let time = [0.0, 10.0, 20.0, 30.0, 40.0];
        let desired = [Some(2.0); 5];
        let guests = [Some(3.0), Some(3.0), Some(1.0), Some(4.0), Some(4.0)];
        assert_eq!(overshoot_polygons(&time, &desired, &guests).len(), 2);
    }
}
