//! `poolsim sweep`: one scenario over many seeds. Files under `<out>/<name>/sweep/`:
//!
//! - `sweep.csv`: `seed` then every numeric summary metric
//!   ([`Summary::NUMERIC_METRICS`], in that order), one row per seed in seed order; an
//!   absent `recovery_s` is an empty cell.
//! - `percentiles.csv`: per metric, how many seeds had a value, and p50, p95 and max
//!   (nearest rank; the table `sweep` prints).
//! - `band.csv`: per sample time, p5, p50 and p95 over seeds of `vms_ready` and
//!   `guests_running`; `band.svg` and `band.png` draw it.
//!
//! A shard (`--shard I/N`) runs the seeds whose index (0-based position in the seed
//! range) is `I` modulo `N`, round-robin so every shard gets early and late seeds
//! alike, and writes `<out>/<name>/sweep-shards/shard-I-of-N/`: `shard.json` (what was
//! run, and the time axis), `sweep.shard-I-of-N.csv` (rows of `sweep.csv`) and
//! `series.shard-I-of-N.csv` (each seed's `vms_ready` and `guests_running`,
//! run-length encoded). `poolsim merge` reads the N shard folders and writes exactly the
//! files of the unsharded sweep.

use super::stats::{band_over_seeds, Distribution};
use super::table::{format_number, format_optional, RowStatus, Table};
use super::{Runs, SeedRun};
use crate::output::files::{write_file, Summary, WriteError};
use crate::output::ownership::Destination;
use crate::output::plot::{self, Band};
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
            .ok_or_else(|| format!("--shard {spec:?}: N must be a whole number >= 1; {usage}"))?;
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

/// The inverse of [`encode_runs`].
pub fn decode_runs(text: &str) -> Result<Vec<i128>, String> {
    let mut values = Vec::new();
    for part in text.split_whitespace() {
        let (value, count) = match part.split_once('*') {
            Some((value, count)) => (value, count.parse::<u64>().ok()),
            None => (part, Some(1)),
        };
        let (Ok(value), Some(count)) = (value.parse::<i128>(), count) else {
            return Err(format!("`{part}` is not VALUE or VALUE*COUNT"));
        };
        if count > 100_000_000 {
            return Err(format!("`{part}`: run too long"));
        }
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

/// One shard folder, read back.
struct ShardRead {
    manifest: ShardManifest,
    time_ms: Vec<u64>,
    runs: Vec<SeedRun>,
}

fn read_shard(dir: &Path) -> Result<ShardRead, String> {
    let manifest_path = dir.join("shard.json");
    let manifest: ShardManifest = serde_json::from_str(&read_text(&manifest_path)?)
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    if manifest.format != SHARD_FORMAT {
        return Err(format!(
            "{}: format {:?} is not {SHARD_FORMAT:?}",
            manifest_path.display(),
            manifest.format
        ));
    }
    let mut time = 0i128;
    let time_ms = decode_runs(&manifest.time_steps_ms)
        .map_err(|e| format!("{}: time_steps_ms: {e}", manifest_path.display()))?
        .into_iter()
        .map(|step| {
            time += step;
            u64::try_from(time)
                .map_err(|_| format!("{}: time_steps_ms: negative time", manifest_path.display()))
        })
        .collect::<Result<Vec<u64>, String>>()?;
    let name = manifest.shard.name();

    let rows_path = dir.join(format!("sweep.{name}.csv"));
    let rows_text = read_text(&rows_path)?;
    let mut lines = rows_text.lines();
    let expected_header = sweep_csv(&[]);
    if lines.next() != Some(expected_header.trim_end()) {
        return Err(format!(
            "{}, line 1: expected the header {}",
            rows_path.display(),
            expected_header.trim_end()
        ));
    }
    let mut runs = Vec::new();
    for (number, line) in lines.enumerate() {
        let at = || format!("{}, line {}", rows_path.display(), number + 2);
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != Summary::NUMERIC_METRICS.len() + 1 {
            return Err(format!(
                "{}: expected {} cells",
                at(),
                Summary::NUMERIC_METRICS.len() + 1
            ));
        }
        let seed = cells[0]
            .parse()
            .map_err(|_| format!("{}: seed {:?} is not a number", at(), cells[0]))?;
        let metrics = cells[1..]
            .iter()
            .zip(Summary::NUMERIC_METRICS)
            .map(|(cell, name)| {
                if cell.is_empty() {
                    Ok(None)
                } else {
                    cell.parse::<f64>()
                        .map(Some)
                        .map_err(|_| format!("{}: {name} {cell:?} is not a number", at()))
                }
            })
            .collect::<Result<Vec<_>, String>>()?;
        runs.push(SeedRun {
            seed,
            metrics,
            vms_ready: Vec::new(),
            guests_running: Vec::new(),
        });
    }

    let series_path = dir.join(format!("series.{name}.csv"));
    let series_text = read_text(&series_path)?;
    for (number, line) in series_text.lines().enumerate().skip(1) {
        let at = || format!("{}, line {}", series_path.display(), number + 1);
        let mut cells = line.splitn(3, ',');
        let (Some(seed), Some(column), Some(values)) = (cells.next(), cells.next(), cells.next())
        else {
            return Err(format!("{}: expected seed,column,values", at()));
        };
        let seed: u64 = seed
            .parse()
            .map_err(|_| format!("{}: seed {seed:?} is not a number", at()))?;
        let values = decode_runs(values)
            .map_err(|e| format!("{}: {e}", at()))?
            .into_iter()
            .map(|v| i64::try_from(v).map_err(|_| format!("{}: {v} is out of range", at())))
            .collect::<Result<Vec<i64>, String>>()?;
        if values.len() != time_ms.len() {
            return Err(format!(
                "{}: {} values for {} sample times",
                at(),
                values.len(),
                time_ms.len()
            ));
        }
        let Some(run) = runs.iter_mut().find(|run| run.seed == seed) else {
            return Err(format!(
                "{}: seed {seed} has no row in {}",
                at(),
                rows_path.display()
            ));
        };
        match column {
            "vms_ready" => run.vms_ready = values,
            "guests_running" => run.guests_running = values,
            other => {
                return Err(format!(
                    "{}: unknown column {other:?}; valid: vms_ready, guests_running",
                    at()
                ))
            }
        }
    }
    if let Some(run) = runs.iter().find(|run| {
        run.vms_ready.len() != time_ms.len() || run.guests_running.len() != time_ms.len()
    }) {
        return Err(format!(
            "{}: seed {} lacks its vms_ready or guests_running series",
            series_path.display(),
            run.seed
        ));
    }
    Ok(ShardRead {
        manifest,
        time_ms,
        runs,
    })
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

/// Reads shard folders and puts them together into the whole sweep. Every shard of one
/// sweep must be there exactly once.
pub fn merge_shards(dirs: &[PathBuf]) -> Result<SweepData, String> {
    let mut shards = Vec::new();
    for dir in dirs {
        shards.push((dir, read_shard(dir)?));
    }
    let Some((first_dir, first)) = shards.first() else {
        return Err("no shard folders given".into());
    };
    let count = first.manifest.shard.count;
    let mut seen = vec![None::<&PathBuf>; count as usize];
    for (dir, shard) in &shards {
        let (a, b) = (&first.manifest, &shard.manifest);
        let same = a.scenario == b.scenario
            && a.algorithm == b.algorithm
            && a.seed_start == b.seed_start
            && a.seed_count == b.seed_count
            && a.shard.count == b.shard.count
            && first.time_ms == shard.time_ms;
        if !same {
            return Err(format!(
                "{} and {} are shards of different sweeps (scenario, algorithm, seeds, shard count or sample times differ)",
                first_dir.display(),
                dir.display()
            ));
        }
        let slot = &mut seen[b.shard.index as usize];
        if let Some(other) = slot {
            return Err(format!(
                "shard {} of {count} is given twice: {} and {}",
                b.shard.index,
                other.display(),
                dir.display()
            ));
        }
        *slot = Some(dir);
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
    let manifest = first.manifest.clone();
    let time_ms = first.time_ms.clone();
    let seeds = super::seed_range(manifest.seed_start, manifest.seed_count)?;
    let mut by_seed: std::collections::BTreeMap<u64, SeedRun> = std::collections::BTreeMap::new();
    for (dir, shard) in shards {
        let expected = shard.manifest.shard.select(&seeds);
        let got: Vec<u64> = shard.runs.iter().map(|run| run.seed).collect();
        if got != expected {
            return Err(format!(
                "{}: holds seeds {got:?}, but shard {} of {count} runs {expected:?}",
                dir.display(),
                shard.manifest.shard.index
            ));
        }
        for run in shard.runs {
            by_seed.insert(run.seed, run);
        }
    }
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
    }

    #[test]
    fn run_length_round_trip() {
        let values = vec![0, 5000, 5000, 5000, 2500, -1, -1];
        let text = encode_runs(values.iter().copied());
        assert_eq!(text, "0 5000*3 2500 -1*2");
        assert_eq!(decode_runs(&text), Ok(values));
        assert!(decode_runs("3*x").is_err());
        assert_eq!(time_steps(&[0, 5000, 10000]), "0 5000*2");
    }
}
