//! `poolsim sweep`: one scenario over many seeds. Files under `<out>/<name>/sweep/`:
//!
//! - `sweep.csv`: `seed` then every numeric summary metric
//!   ([`Summary::NUMERIC_METRICS`], in that order), one row per seed in seed order; an
//!   absent `recovery_s` is an empty cell.
//! - `percentiles.csv`: per metric, how many seeds had a value, and p50, p95 and max
//!   (nearest rank; the table `sweep` prints).
//! - `band.csv`: per sample time, p5, p50 and p95 over seeds of `vms_ready` and
//!   `guests_running`; `band.svg` and `band.png` draw it.
//! - `report.html`: the bands and both tables as one interactive page (`output::report`).
//!
//! A shard (`--shard I/N`) runs the seeds whose index (0-based position in the seed
//! range) is `I` modulo `N`, round-robin so every shard gets early and late seeds
//! alike, and writes `<out>/<name>/sweep-shards/shard-I-of-N/`: `shard.json` (what was
//! run, and the time axis), `sweep.shard-I-of-N.csv` (rows of `sweep.csv`) and
//! `series.shard-I-of-N.csv` (each seed's `vms_ready` and `guests_running`,
//! run-length encoded). `poolsim merge` reads the N shard folders and writes exactly the
//! files of the unsharded sweep.

use super::limits::{check_series_values, MAX_SHARDS};
use super::stats::{band_over_seeds, Distribution};
use super::table::{format_number, format_optional, RowStatus, Table};
use super::{Runs, SeedRun};
use crate::api::validation::is_dns1123_label;
use crate::output::files::{write_file, Summary, WriteError};
use crate::output::ownership::Destination;
use crate::output::plot::{self, Band};
use crate::output::report;
use crate::scenario::MAX_SAMPLES;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which part of the seed range one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// The environment variable a Kubernetes Indexed Job sets to the pod's completion index.
pub const SHARD_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

impl Shard {
    /// Parses `I/N` (explicit index) or `/N` (index from `JOB_COMPLETION_INDEX`, given
    /// here as `env_index`). An explicit index wins over the environment.
    pub fn parse(spec: &str, env_index: Option<&str>) -> Result<Shard, String> {
        let usage = "expected --shard I/N (shard I of N, 0 <= I < N) or --shard /N (I from $JOB_COMPLETION_INDEX)";
        let Some((index_text, count_text)) = spec.split_once('/') else {
            return Err(format!("--shard {spec:?}: {usage}"));
        };
        let count: u64 = count_text
            .trim()
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                format!(
                    "--shard {spec:?}: N must be a whole number from 1 to {MAX_SHARDS}; {usage}"
                )
            })?;
        if count > MAX_SHARDS {
            return Err(format!(
                "--shard {spec:?}: {count} shards is more than poolsim's limit of {MAX_SHARDS} (MAX_SHARDS, docs/LIMITS.md); valid: 1 to {MAX_SHARDS}"
            ));
        }
        let index: u64 = if index_text.trim().is_empty() {
            let Some(env) = env_index else {
                return Err(format!(
                    "--shard {spec:?} takes the shard index from ${SHARD_INDEX_ENV}, which is not set; give it as --shard I/{count}"
                ));
            };
            env.trim()
                .parse()
                .map_err(|_| format!("${SHARD_INDEX_ENV}={env:?} is not a whole number >= 0"))?
        } else {
            index_text
                .trim()
                .parse()
                .map_err(|_| format!("--shard {spec:?}: I must be a whole number >= 0; {usage}"))?
        };
        if index >= count {
            return Err(format!(
                "--shard {spec:?}: shard index {index} is not below the shard count {count} (valid: 0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The folder name, also used in the file names inside it.
    pub fn name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    /// Checks that every shard of a sweep of `seed_count` seeds runs at least one seed:
    /// more shards than seeds would leave some empty (with no time axis to merge).
    pub fn check_against_seeds(&self, seed_count: u64) -> Result<(), String> {
        if self.count > seed_count {
            return Err(format!(
                "{} shards for {seed_count} seed(s) would leave {} shard(s) without a seed; use at most {seed_count} shards",
                self.count,
                self.count - seed_count
            ));
        }
        Ok(())
    }

    /// The seeds this shard runs of the `seed_count` seeds from `seed_start`: as
    /// [`Shard::select`] of the whole range, without allocating the whole range.
    pub fn seeds_of(&self, seed_start: u64, seed_count: u64) -> Vec<u64> {
        (self.index..seed_count)
            .step_by(usize::try_from(self.count).unwrap_or(usize::MAX))
            .map(|position| seed_start.saturating_add(position))
            .collect()
    }

    /// The seeds of `seeds` this shard runs: those whose position is `index` mod `count`.
    pub fn select(&self, seeds: &[u64]) -> Vec<u64> {
        seeds
            .iter()
            .enumerate()
            .filter(|(position, _)| *position as u64 % self.count == self.index)
            .map(|(_, seed)| *seed)
            .collect()
    }
}

/// Everything a sweep (or one shard of it) produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepData {
    pub scenario: String,
    pub algorithm: String,
    pub seed_start: u64,
    /// Seeds in the whole sweep (all shards together).
    pub seed_count: u64,
    pub results: Runs,
    /// The scenario's events, marked on the band plot.
    pub events: Vec<plot::EventMarker>,
}

/// `shard.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardManifest {
    format: String,
    scenario: String,
    algorithm: String,
    seed_start: u64,
    seed_count: u64,
    shard: Shard,
    /// Sample times in ms as run-length encoded steps (see [`encode_runs`]).
    time_steps_ms: String,
    /// The scenario's events, so that a merged sweep's band plot marks them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    events: Vec<plot::EventMarker>,
}

const SHARD_FORMAT: &str = "poolsim-sweep-shard/v1";

/// `sweep.csv` (or a shard's rows of it).
pub fn sweep_csv(runs: &[SeedRun]) -> String {
    let mut out = String::from("seed");
    for name in Summary::NUMERIC_METRICS {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for run in runs {
        out.push_str(&run.seed.to_string());
        for value in &run.metrics {
            out.push(',');
            out.push_str(&format_optional(*value));
        }
        out.push('\n');
    }
    out
}

/// The p50 / p95 / max table of every metric over the runs.
pub fn percentile_table(runs: &[SeedRun]) -> Table {
    let mut table = Table::new(&["metric", "seeds", "p50", "p95", "max"]);
    for (index, name) in Summary::NUMERIC_METRICS.iter().enumerate() {
        let values: Vec<Option<f64>> = runs.iter().map(|run| run.metrics[index]).collect();
        let d = Distribution::of(&values);
        table.push(
            RowStatus::Plain,
            vec![
                name.to_string(),
                d.count.to_string(),
                format_optional(d.p50),
                format_optional(d.p95),
                format_optional(d.max),
            ],
        );
    }
    table
}

/// The p5/p50/p95 bands of `vms_ready` and `guests_running`.
pub fn bands(results: &Runs) -> Vec<Band> {
    let samples = results.time_ms.len();
    let column = |name: &str, pick: fn(&SeedRun) -> &[i64]| {
        let series: Vec<&[i64]> = results.runs.iter().map(pick).collect();
        let [p5, p50, p95] = band_over_seeds(&series, samples);
        Band {
            name: name.to_string(),
            p5,
            p50,
            p95,
        }
    };
    vec![
        column("vms_ready", |run| &run.vms_ready),
        column("guests_running", |run| &run.guests_running),
    ]
}

fn band_csv(time_ms: &[u64], bands: &[Band]) -> String {
    let mut out = String::from("time_s");
    for band in bands {
        for p in ["p5", "p50", "p95"] {
            out.push_str(&format!(",{}_{p}", band.name));
        }
    }
    out.push('\n');
    for (index, time) in time_ms.iter().enumerate() {
        out.push_str(&format_number(*time as f64 / 1000.0));
        for band in bands {
            for values in [&band.p5, &band.p50, &band.p95] {
                out.push(',');
                out.push_str(&format_number(values[index]));
            }
        }
        out.push('\n');
    }
    out
}

/// Writes the files of a whole sweep into its folder (`destination`).
pub fn write_sweep(destination: &Destination, data: &SweepData) -> Result<(), WriteError> {
    let sweep = sweep_csv(&data.results.runs);
    let table = percentile_table(&data.results.runs)
        .to_csv()
        .map_err(|e| WriteError::Encode(e.to_string()))?;
    let bands = bands(&data.results);
    let band = band_csv(&data.results.time_ms, &bands);
    let time_s: Vec<f64> = data
        .results
        .time_ms
        .iter()
        .map(|t| *t as f64 / 1000.0)
        .collect();
    let title = format!(
        "{}: {}, seeds {}–{}",
        data.scenario,
        data.algorithm,
        data.seed_start,
        data.seed_start + data.seed_count.saturating_sub(1)
    );
    let report = report::sweep_report(
        &title,
        &time_s,
        &bands,
        &data.events,
        &[
            ("percentiles", "Percentiles over seeds", &table),
            ("sweep", "Every seed", &sweep),
        ],
    )?;
    destination.write(|staging| {
        write_file(staging, "sweep.csv", sweep.as_bytes())?;
        write_file(staging, "percentiles.csv", table.as_bytes())?;
        write_file(staging, "band.csv", band.as_bytes())?;
        plot::render_band(
            &title,
            &time_s,
            &bands,
            &data.events,
            &staging.join("band.svg"),
            &staging.join("band.png"),
        )?;
        write_file(staging, report::REPORT_FILE_NAME, report.as_bytes())?;
        Ok(())
    })
}

/// Run-length encoding of integers: `value` or `value*count`, separated by spaces.
pub fn encode_runs(values: impl IntoIterator<Item = i128>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<(i128, u64)> = None;
    let flush = |run: (i128, u64), parts: &mut Vec<String>| {
        parts.push(if run.1 == 1 {
            run.0.to_string()
        } else {
            format!("{}*{}", run.0, run.1)
        });
    };
    for value in values {
        current = match current {
            Some((v, n)) if v == value => Some((v, n + 1)),
            Some(run) => {
                flush(run, &mut parts);
                Some((value, 1))
            }
            None => Some((value, 1)),
        };
    }
    if let Some(run) = current {
        flush(run, &mut parts);
    }
    parts.join(" ")
}

/// One `VALUE` or `VALUE*COUNT` of [`encode_runs`].
fn parse_run(part: &str) -> Result<(i128, u64), String> {
    let (value, count) = match part.split_once('*') {
        Some((value, count)) => (value, count.parse::<u64>().ok()),
        None => (part, Some(1)),
    };
    match (value.parse::<i128>(), count) {
        (Ok(value), Some(count)) => Ok((value, count)),
        _ => Err(format!("`{part}` is not VALUE or VALUE*COUNT")),
    }
}

/// The inverse of [`encode_runs`], refusing more than `max_values` values (`limit`
/// says what that bound is, for the message). The counts are added up before anything
/// is allocated, so `0*18446744073709551615` is an error rather than an abort.
pub fn decode_runs(text: &str, max_values: usize, limit: &str) -> Result<Vec<i128>, String> {
    let mut total: u64 = 0;
    for part in text.split_whitespace() {
        let (_, count) = parse_run(part)?;
        total = total.saturating_add(count);
        if total > max_values as u64 {
            return Err(format!(
                "holds more than {max_values} values ({limit}); `{part}` goes past it"
            ));
        }
    }
    let mut values = Vec::with_capacity(total as usize);
    for part in text.split_whitespace() {
        let (value, count) = parse_run(part)?;
        values.extend(std::iter::repeat_n(value, count as usize));
    }
    Ok(values)
}

fn time_steps(time_ms: &[u64]) -> String {
    let mut previous = 0u64;
    encode_runs(time_ms.iter().map(|t| {
        let step = i128::from(*t) - i128::from(previous);
        previous = *t;
        step
    }))
}

fn series_csv(runs: &[SeedRun]) -> String {
    let mut out = String::from("seed,column,values\n");
    for run in runs {
        for (column, values) in [
            ("vms_ready", &run.vms_ready),
            ("guests_running", &run.guests_running),
        ] {
            out.push_str(&format!(
                "{},{column},{}\n",
                run.seed,
                encode_runs(values.iter().map(|v| i128::from(*v)))
            ));
        }
    }
    out
}

/// Writes one shard's folder (`destination`).
pub fn write_shard(
    destination: &Destination,
    data: &SweepData,
    shard: Shard,
) -> Result<(), WriteError> {
    let manifest = ShardManifest {
        format: SHARD_FORMAT.into(),
        scenario: data.scenario.clone(),
        algorithm: data.algorithm.clone(),
        seed_start: data.seed_start,
        seed_count: data.seed_count,
        shard,
        time_steps_ms: time_steps(&data.results.time_ms),
        events: data.events.clone(),
    };
    let manifest = serde_json::to_string_pretty(&manifest)
        .map_err(|e| WriteError::Encode(e.to_string()))?
        + "\n";
    let name = shard.name();
    let rows = sweep_csv(&data.results.runs);
    let series = series_csv(&data.results.runs);
    destination.write(|staging| {
        write_file(staging, "shard.json", manifest.as_bytes())?;
        write_file(staging, &format!("sweep.{name}.csv"), rows.as_bytes())?;
        write_file(staging, &format!("series.{name}.csv"), series.as_bytes())?;
        Ok(())
    })
}

/// A shard file (`shard.json` or a shard CSV): a regular file within its size limit
/// (`crate::input`).
fn read_text(path: &Path) -> Result<String, String> {
    let kind = if path.extension().is_some_and(|e| e == "json") {
        crate::input::FileKind::Json
    } else {
        crate::input::FileKind::Csv
    };
    crate::input::read_string(path, kind).map_err(|e| format!("cannot read {e}"))
}

/// What `shard.json` says, checked, with the time axis it encodes.
struct ShardHead {
    manifest: ShardManifest,
    time_ms: Vec<u64>,
}

/// `text` cut to its first 64 characters, so a message quoting tampered input stays
/// one readable line.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The rules a `shard.json` must follow before anything it counts is allocated: a
/// scenario name that keeps `<--out>/<scenario>/sweep` inside `--out`, and seed and
/// shard counts within [`MAX_SEEDS`] and [`MAX_SHARDS`] that agree with each other.
fn check_manifest(manifest: &ShardManifest, at: &str) -> Result<(), String> {
    if manifest.format != SHARD_FORMAT {
        return Err(format!(
            "{at}: format {:?} is not {SHARD_FORMAT:?}",
            shorten(&manifest.format)
        ));
    }
    // The same rule as a scenario's metadata.name (see `crate::scenario::spec`): no
    // '/', '.', '..' or absolute path can get through, so the merge writes inside --out.
    if !is_dns1123_label(&manifest.scenario) {
        return Err(format!(
            "{at}: scenario {:?} is not a valid scenario name: merge writes <--out>/<scenario>/sweep, so it must be a DNS-1123 label like metadata.name (1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit; no '/', '.' or '..')",
            shorten(&manifest.scenario)
        ));
    }
    let seed_count = manifest.seed_count;
    if seed_count == 0 {
        return Err(format!("{at}: seed_count must be at least 1"));
    }
    super::limits::check_seed_count(&format!("{at}: seed_count"), seed_count)?;
    if manifest.seed_start.checked_add(seed_count - 1).is_none() {
        return Err(format!(
            "{at}: seed_start {} + seed_count {seed_count} overflow a 64-bit seed",
            manifest.seed_start
        ));
    }
    let shard = manifest.shard;
    if shard.count == 0 || shard.count > MAX_SHARDS {
        return Err(format!(
            "{at}: shard.count {} is outside 1 to {MAX_SHARDS} (poolsim's limit MAX_SHARDS, docs/LIMITS.md)",
            shard.count
        ));
    }
    shard
        .check_against_seeds(seed_count)
        .map_err(|e| format!("{at}: shard.count: {e}"))?;
    if shard.index >= shard.count {
        return Err(format!(
            "{at}: shard.index {} is not below shard.count {} (valid: 0 to {})",
            shard.index,
            shard.count,
            shard.count - 1
        ));
    }
    Ok(())
}

/// The sample times of `time_steps_ms`: at least one, at most `MAX_SAMPLES` (the most
/// rows a run may sample), never going back.
fn decode_time_axis(manifest: &ShardManifest, at: &str) -> Result<Vec<u64>, String> {
    let steps = decode_runs(
        &manifest.time_steps_ms,
        MAX_SAMPLES as usize,
        "poolsim's limit MAX_SAMPLES of sample times per run, docs/LIMITS.md",
    )
    .map_err(|e| format!("{at}: time_steps_ms: {e}"))?;
    if steps.is_empty() {
        return Err(format!(
            "{at}: time_steps_ms: no sample times; every run samples at least once"
        ));
    }
    let mut time = 0u64;
    steps
        .into_iter()
        .map(|step| {
            let step = u64::try_from(step).map_err(|_| {
                format!("{at}: time_steps_ms: step {step} is negative; sample times never go back")
            })?;
            time = time
                .checked_add(step)
                .ok_or_else(|| format!("{at}: time_steps_ms: times overflow 64 bits"))?;
            Ok(time)
        })
        .collect()
}

/// Reads and checks a shard folder's `shard.json`.
fn read_head(dir: &Path) -> Result<ShardHead, String> {
    let manifest_path = dir.join("shard.json");
    let at = manifest_path.display().to_string();
    let manifest: ShardManifest =
        serde_json::from_str(&read_text(&manifest_path)?).map_err(|e| format!("{at}: {e}"))?;
    check_manifest(&manifest, &at)?;
    let time_ms = decode_time_axis(&manifest, &at)?;
    // A merge holds every seed's series at once.
    check_series_values(&at, manifest.seed_count, time_ms.len() as u64)?;
    Ok(ShardHead { manifest, time_ms })
}

/// `seeds` for a message: all of them when few, else the first ones and the last.
fn describe_seeds(seeds: &[u64]) -> String {
    let shown: Vec<String> = if seeds.len() <= 6 {
        seeds.iter().map(u64::to_string).collect()
    } else {
        let mut shown: Vec<String> = seeds[..3].iter().map(u64::to_string).collect();
        shown.push(format!("… {}", seeds[seeds.len() - 1]));
        shown
    };
    shown.join(", ")
}

/// One cell of a shard's `sweep.*.csv`: a finite number, never negative (every summary
/// metric is a count, a duration or a time), empty only for `recovery_s` (a run that
/// never recovered).
fn parse_metric(cell: &str, name: &str, at: &str) -> Result<Option<f64>, String> {
    if cell.is_empty() {
        return if name == "recovery_s" {
            Ok(None)
        } else {
            Err(format!("{at}: {name} is empty; only recovery_s may be"))
        };
    }
    let value: f64 = cell
        .parse()
        .map_err(|_| format!("{at}: {name} {:?} is not a number", shorten(cell)))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "{at}: {name} {:?} is not a finite number >= 0 (every summary metric is a count, a duration or a time)",
            shorten(cell)
        ));
    }
    Ok(Some(value))
}

/// The rows of a shard's `sweep.*.csv`: exactly the `expected` seeds of the shard, in
/// order, once each; a row past them is refused before it is kept.
fn read_rows(
    path: &Path,
    text: &str,
    shard: Shard,
    expected: &[u64],
) -> Result<Vec<SeedRun>, String> {
    let mut lines = text.lines();
    let expected_header = sweep_csv(&[]);
    if lines.next() != Some(expected_header.trim_end()) {
        return Err(format!(
            "{}, line 1: expected the header {}",
            path.display(),
            expected_header.trim_end()
        ));
    }
    let of = || {
        format!(
            "shard {} of {} runs seeds {}, in that order, once each",
            shard.index,
            shard.count,
            describe_seeds(expected)
        )
    };
    let mut runs = Vec::with_capacity(expected.len());
    for (number, line) in lines.enumerate() {
        let at = format!("{}, line {}", path.display(), number + 2);
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != Summary::NUMERIC_METRICS.len() + 1 {
            return Err(format!(
                "{at}: expected {} cells",
                Summary::NUMERIC_METRICS.len() + 1
            ));
        }
        let seed: u64 = cells[0]
            .parse()
            .map_err(|_| format!("{at}: seed {:?} is not a number", shorten(cells[0])))?;
        if expected.get(runs.len()) != Some(&seed) {
            return Err(format!("{at}: seed {seed} is not the next seed: {}", of()));
        }
        let metrics = cells[1..]
            .iter()
            .zip(Summary::NUMERIC_METRICS)
            .map(|(cell, name)| parse_metric(cell, name, &at))
            .collect::<Result<Vec<_>, String>>()?;
        runs.push(SeedRun {
            seed,
            metrics,
            vms_ready: Vec::new(),
            guests_running: Vec::new(),
        });
    }
    if let Some(missing) = expected.get(runs.len()) {
        return Err(format!(
            "{}: seed {missing} has no row: {}",
            path.display(),
            of()
        ));
    }
    Ok(runs)
}

/// Fills each run's `vms_ready` and `guests_running` from a shard's `series.*.csv`:
/// one line per seed and column, `samples` counts (never negative) each.
fn read_series(
    path: &Path,
    text: &str,
    runs: &mut [SeedRun],
    samples: usize,
) -> Result<(), String> {
    let mut lines = text.lines();
    if lines.next() != Some("seed,column,values") {
        return Err(format!(
            "{}, line 1: expected the header seed,column,values",
            path.display()
        ));
    }
    for (number, line) in lines.enumerate() {
        let at = format!("{}, line {}", path.display(), number + 2);
        let mut cells = line.splitn(3, ',');
        let (Some(seed), Some(column), Some(values)) = (cells.next(), cells.next(), cells.next())
        else {
            return Err(format!("{at}: expected seed,column,values"));
        };
        let seed: u64 = seed
            .parse()
            .map_err(|_| format!("{at}: seed {:?} is not a number", shorten(seed)))?;
        // The runs are in seed order (see `read_rows`), so a lookup is a binary search.
        let Ok(position) = runs.binary_search_by_key(&seed, |run| run.seed) else {
            return Err(format!("{at}: seed {seed} is not a seed of this shard"));
        };
        let run = &mut runs[position];
        let slot = match column {
            "vms_ready" => &mut run.vms_ready,
            "guests_running" => &mut run.guests_running,
            other => {
                return Err(format!(
                    "{at}: unknown column {:?}; valid: vms_ready, guests_running",
                    shorten(other)
                ))
            }
        };
        if !slot.is_empty() {
            return Err(format!("{at}: seed {seed} has {column} twice"));
        }
        let values = decode_runs(values, samples, "one per sample time of shard.json")
            .map_err(|e| format!("{at}: {e}"))?;
        if values.len() != samples {
            return Err(format!(
                "{at}: {} values for {samples} sample times",
                values.len()
            ));
        }
        *slot = values
            .into_iter()
            .map(|v| {
                i64::try_from(v)
                    .ok()
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| format!("{at}: {v} is not a count (0 to {})", i64::MAX))
            })
            .collect::<Result<Vec<i64>, String>>()?;
    }
    if let Some(run) = runs
        .iter()
        .find(|run| run.vms_ready.len() != samples || run.guests_running.len() != samples)
    {
        return Err(format!(
            "{}: seed {} lacks its vms_ready or guests_running series",
            path.display(),
            run.seed
        ));
    }
    Ok(())
}

/// The runs of a shard folder whose `shard.json` is `head`.
fn read_runs(dir: &Path, head: &ShardHead) -> Result<Vec<SeedRun>, String> {
    let manifest = &head.manifest;
    let name = manifest.shard.name();
    let expected = manifest
        .shard
        .seeds_of(manifest.seed_start, manifest.seed_count);
    let rows_path = dir.join(format!("sweep.{name}.csv"));
    let mut runs = read_rows(
        &rows_path,
        &read_text(&rows_path)?,
        manifest.shard,
        &expected,
    )?;
    let series_path = dir.join(format!("series.{name}.csv"));
    read_series(
        &series_path,
        &read_text(&series_path)?,
        &mut runs,
        head.time_ms.len(),
    )?;
    Ok(runs)
}

/// The shard folders named by `paths`: each is a shard folder (it holds `shard.json`)
/// or a folder of shard folders (such as `<out>/<name>/sweep-shards/`).
pub fn find_shard_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut dirs = Vec::new();
    for path in paths {
        if path.join("shard.json").is_file() {
            dirs.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|e| {
            format!(
                "{}: not a shard folder (no shard.json) and not readable as a folder of shards: {e}",
                path.display()
            )
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|child| child.join("shard.json").is_file())
            .collect();
        if found.is_empty() {
            return Err(format!(
                "{}: no shard.json in it or in any folder directly inside it",
                path.display()
            ));
        }
        found.sort();
        dirs.extend(found);
    }
    Ok(dirs)
}

/// Why `other` (in `dir`) is not a shard of the same sweep as `first`, if it is not.
fn sweep_difference(first: &ShardHead, other: &ShardHead) -> Option<String> {
    let (a, b) = (&first.manifest, &other.manifest);
    if a.scenario != b.scenario {
        Some(format!("scenario {:?} vs {:?}", a.scenario, b.scenario))
    } else if a.algorithm != b.algorithm {
        Some(format!(
            "algorithm {:?} vs {:?}",
            shorten(&a.algorithm),
            shorten(&b.algorithm)
        ))
    } else if (a.seed_start, a.seed_count) != (b.seed_start, b.seed_count) {
        Some(format!(
            "seeds {} from {} vs {} from {}",
            a.seed_count, a.seed_start, b.seed_count, b.seed_start
        ))
    } else if a.shard.count != b.shard.count {
        Some(format!(
            "shard count {} vs {}",
            a.shard.count, b.shard.count
        ))
    } else if first.time_ms != other.time_ms {
        Some("sample times (time_steps_ms) differ".into())
    } else if a.events != b.events {
        Some("scenario events differ".into())
    } else {
        None
    }
}

/// Reads shard folders and puts them together into the whole sweep. Every shard of one
/// sweep must be there exactly once. Each shard is checked against the first before its
/// rows are read, so the merge never holds more than the one sweep the first describes.
pub fn merge_shards(dirs: &[PathBuf]) -> Result<SweepData, String> {
    let Some(first_dir) = dirs.first() else {
        return Err("no shard folders given".into());
    };
    let first = read_head(first_dir)?;
    let count = first.manifest.shard.count;
    // `count` is at most MAX_SHARDS and at most the seed count (see `check_manifest`).
    let mut seen = vec![None::<&PathBuf>; count as usize];
    let mut by_seed: std::collections::BTreeMap<u64, SeedRun> = std::collections::BTreeMap::new();
    for dir in dirs {
        let head = read_head(dir)?;
        if let Some(difference) = sweep_difference(&first, &head) {
            return Err(format!(
                "{} and {} are shards of different sweeps ({difference}); merge the shards of one `poolsim sweep --shard` study",
                first_dir.display(),
                dir.display()
            ));
        }
        let index = head.manifest.shard.index;
        let Some(slot) = seen.get_mut(index as usize) else {
            return Err(format!(
                "{}: shard index {index} is not below {count}",
                dir.display()
            ));
        };
        if let Some(other) = slot {
            return Err(format!(
                "shard {index} of {count} is given twice: {} and {}",
                other.display(),
                dir.display()
            ));
        }
        *slot = Some(dir);
        for run in read_runs(dir, &head)? {
            by_seed.insert(run.seed, run);
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, dir)| dir.is_none())
        .map(|(index, _)| index.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing shard(s) {} of {count}; a merge needs every shard",
            missing.join(", ")
        ));
    }
    let ShardHead { manifest, time_ms } = first;
    Ok(SweepData {
        scenario: manifest.scenario,
        algorithm: manifest.algorithm,
        seed_start: manifest.seed_start,
        seed_count: manifest.seed_count,
        results: Runs {
            time_ms,
            runs: by_seed.into_values().collect(),
        },
        events: manifest.events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs() {
        assert_eq!(Shard::parse("1/3", None), Ok(Shard { index: 1, count: 3 }));
        assert_eq!(
            Shard::parse("/3", Some("2")),
            Ok(Shard { index: 2, count: 3 })
        );
        assert_eq!(
            Shard::parse("0/3", Some("2")),
            Ok(Shard { index: 0, count: 3 })
        );
        assert!(Shard::parse("3/3", None).unwrap_err().contains("not below"));
        assert!(Shard::parse("/3", None)
            .unwrap_err()
            .contains("JOB_COMPLETION_INDEX"));
        assert!(Shard::parse("/3", Some("x")).is_err());
        assert!(Shard::parse("1/0", None).is_err());
        assert!(Shard::parse("2", None).is_err());
    }

    #[test]
    fn shards_split_round_robin() {
        let seeds: Vec<u64> = (10..15).collect();
        assert_eq!(
            Shard { index: 0, count: 2 }.select(&seeds),
            vec![10, 12, 14]
        );
        assert_eq!(Shard { index: 1, count: 2 }.select(&seeds), vec![11, 13]);
        for count in 1..=6 {
            for index in 0..count {
                let shard = Shard { index, count };
                assert_eq!(shard.seeds_of(10, 5), shard.select(&seeds), "{shard:?}");
            }
        }
    }

    #[test]
    fn shard_counts_are_bounded() {
        let error = Shard::parse("0/18446744073709551615", None).unwrap_err();
        assert!(error.contains("MAX_SHARDS"), "{error}");
        let error = Shard::parse("0/99999999999999999999999", None).unwrap_err();
        assert!(error.contains("from 1 to 1000000"), "{error}");
        assert!(Shard::parse("0/1000000", None).is_ok());
        let error = Shard { index: 0, count: 5 }
            .check_against_seeds(4)
            .unwrap_err();
        assert!(error.contains("use at most 4 shards"), "{error}");
    }

    #[test]
    fn run_length_round_trip() {
        let values = vec![0, 5000, 5000, 5000, 2500, -1, -1];
        let text = encode_runs(values.iter().copied());
        assert_eq!(text, "0 5000*3 2500 -1*2");
        assert_eq!(decode_runs(&text, 7, "seven"), Ok(values));
        assert!(decode_runs("3*x", 7, "seven").is_err());
        // The counts are added up before anything is allocated.
        let error = decode_runs(&text, 6, "six").unwrap_err();
        assert!(error.contains("more than 6 values (six)"), "{error}");
        assert!(decode_runs("0*18446744073709551615 1", 10, "ten").is_err());
        assert_eq!(time_steps(&[0, 5000, 10000]), "0 5000*2");
    }
}
