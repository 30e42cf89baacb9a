//! Progress bars on stderr (issue 15, item 5): `sweep` and `compare` count finished
//! runs, `check` finished scenarios, and a long `run` shows its simulated time.
//!
//! A bar is drawn only where someone watches: stderr is a terminal and the command was
//! not asked to be `--quiet` (or to print `--json`). Never on stdout, whose tables and
//! JSON stay clean. Nothing here touches a run's model or files, so outputs do not
//! depend on whether a bar is shown; the wall clock read here (when a single run counts
//! as long, the bar's own redraw rate) only decides what stderr shows.

use crate::engine::SimTime;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How long a single `run` goes before its bar appears: a short run (most take well
/// under a second) finishes without a bar flashing by.
pub const LONG_RUN: Duration = Duration::from_secs(1);

/// The redraw of a bar whose count moves rarely (a sweep of a few long runs), so its
/// elapsed time and spinner show it is working.
const STEADY_TICK: Duration = Duration::from_millis(250);

/// Whether a command shows a progress bar: only on a terminal, and never when asked to
/// print nothing (`--quiet`) or only machine-readable output (`--json`).
pub fn wanted(quiet: bool, json: bool, stderr_is_terminal: bool) -> bool {
    stderr_is_terminal && !quiet && !json
}

/// [`wanted`] for this process's stderr.
pub fn wanted_here(quiet: bool, json: bool) -> bool {
    wanted(quiet, json, std::io::stderr().is_terminal())
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#>-")
}

/// A bar counting finished units of work (runs, scenarios), shared by worker threads.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// `total` units labelled `label`; hidden unless [`wanted_here`] (with `quiet` also
    /// covering `--json`, as the callers pass it).
    pub fn new(label: &str, total: usize, quiet: bool) -> Self {
        Self::with_target(label, total, wanted_here(quiet, false))
    }

    /// A bar drawn on stderr when `shown`, otherwise hidden (it still counts).
    pub fn with_target(label: &str, total: usize, shown: bool) -> Self {
        let target = if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target)
            .with_style(style(
                "{spinner} {prefix} [{bar:30}] {pos}/{len} {elapsed_precise} (eta {eta})",
            ))
            .with_prefix(label.to_string());
        if shown {
            bar.enable_steady_tick(STEADY_TICK);
        }
        Progress { bar }
    }

    /// One unit finished; the bar is cleared when all are.
    pub fn tick(&self) {
        self.bar.inc(1);
        if self.bar.position() >= self.bar.length().unwrap_or(0) {
            self.bar.finish_and_clear();
        }
    }

    /// Units finished so far.
    pub fn done(&self) -> u64 {
        self.bar.position()
    }

    /// Runs `f` (which prints to stdout) with the bar taken off the terminal, so the
    /// two do not overwrite each other.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }
}

impl Drop for Progress {
    /// A command that stops early (an invalid run) leaves no bar behind.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The simulated time of one run, shown once the run has taken [`LONG_RUN`]. The run
/// loop calls [`RunProgress::observe`] once per sample (`World::run_observed`).
pub struct RunProgress {
    bar: ProgressBar,
    enabled: bool,
    started: Instant,
    shown: std::cell::Cell<bool>,
}

impl RunProgress {
    /// A run of `duration` simulated time of `scenario`; `enabled` from [`wanted_here`].
    pub fn new(scenario: &str, duration: SimTime, enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(duration.0.div_ceil(1000)),
            ProgressDrawTarget::hidden(),
        )
        .with_style(style(
            "{prefix} [{bar:30}] {pos}/{len} s simulated {elapsed_precise} (eta {eta})",
        ))
        .with_prefix(scenario.to_string());
        RunProgress {
            bar,
            enabled,
            started: Instant::now(),
            shown: std::cell::Cell::new(false),
        }
    }

    /// The run has reached simulated time `now`.
    pub fn observe(&self, now: SimTime) {
        if !self.enabled {
            return;
        }
        if !self.shown.get() {
            if self.started.elapsed() < LONG_RUN {
                return;
            }
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown.set(true);
        }
        self.bar.set_position(now.0 / 1000);
    }

    /// Whether the bar has appeared (the run became long on a terminal).
    pub fn shown(&self) -> bool {
        self.shown.get()
    }
}

impl Drop for RunProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_only_on_a_terminal_and_never_when_quiet_or_json() {
        assert!(wanted(false, false, true));
        assert!(!wanted(false, false, false), "off a terminal");
        assert!(!wanted(true, false, true), "--quiet");
        assert!(!wanted(false, true, true), "--json");
    }

    #[test]
    fn a_hidden_bar_still_counts_and_a_disabled_run_bar_never_shows() {
        let progress = Progress::with_target("sweep", 3, false);
        progress.tick();
        progress.tick();
        assert_eq!(progress.done(), 2);
        let run = RunProgress::new("long", SimTime(90 * 60 * 1000), false);
        run.observe(SimTime(60_000));
        assert!(!run.shown());
    }

    #[test]
    fn a_run_bar_waits_until_the_run_is_long() {
        let run = RunProgress::new("short", SimTime(60_000), true);
        // Observed at once: the run is not long yet, so nothing is drawn.
        run.observe(SimTime(5_000));
        assert!(!run.shown());
    }
}
