//! Golden traces: committed copies of a run's `timeseries.csv` and `events.csv`,
//! compared byte for byte with a new run; on a difference, the first divergence is
//! found by parsing both files (layout and rules: `docs/REGRESSION.md`).

use std::path::{Path, PathBuf};

/// The files a golden trace holds, in the order they are compared.
pub const GOLDEN_FILES: [&str; 2] = ["timeseries.csv", "events.csv"];

/// Name of the folder that holds golden traces.
pub const GOLDEN_FOLDER: &str = "golden";

/// The golden folder used for a scenario when `--golden` is not given: `golden/` in
/// the nearest folder, starting with the scenario's own and going up, that has one;
/// when none has, `golden/` beside the scenario (where `--bless` creates it).
pub fn default_root(scenario: &Path) -> PathBuf {
    let start = scenario
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let start = if start.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        start
    };
    let absolute = std::path::absolute(&start).unwrap_or_else(|_| start.clone());
    absolute
        .ancestors()
        .map(|folder| folder.join(GOLDEN_FOLDER))
        .find(|candidate| candidate.is_dir())
        .unwrap_or_else(|| start.join(GOLDEN_FOLDER))
}

/// A folder name for an algorithm: built-in names are kept, other characters (the
/// `:` and `/` of `exec:PATH`) become `_`.
pub fn algorithm_folder(algorithm: &str) -> String {
    algorithm
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `<root>/<scenario name>/<algorithm>/`.
pub fn trace_dir(root: &Path, scenario: &str, algorithm: &str) -> PathBuf {
    root.join(scenario).join(algorithm_folder(algorithm))
}

/// Where a golden file and a new run first differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// `timeseries.csv` or `events.csv`.
    pub file: &'static str,
    /// `time_s` of the first differing row (of the new run's row when it has one).
    pub time_s: String,
    /// Header name of the first differing column; `(row)` when one file has a row the
    /// other lacks, `(bytes)` when the parsed rows agree but the bytes do not.
    pub column: String,
    pub expected: String,
    pub actual: String,
}

impl Divergence {
    /// The time as a number, for ordering divergences; unparseable times sort last.
    pub fn time_value(&self) -> f64 {
        self.time_s.parse().unwrap_or(f64::INFINITY)
    }
}

fn records(text: &str) -> Result<Vec<csv::StringRecord>, csv::Error> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .collect()
}

fn join(record: Option<&csv::StringRecord>) -> String {
    record.map_or_else(
        || "(no row)".to_string(),
        |r| r.iter().collect::<Vec<_>>().join(","),
    )
}

/// Compare a golden file with a new run's file: `None` when the bytes are equal.
/// Both are CSV with a header row whose first column is `time_s`.
pub fn first_divergence(file: &'static str, expected: &str, actual: &str) -> Option<Divergence> {
    if expected == actual {
        return None;
    }
    let bytes_only = || Divergence {
        file,
        time_s: "0".into(),
        column: "(bytes)".into(),
        expected: format!("{} bytes", expected.len()),
        actual: format!("{} bytes", actual.len()),
    };
    let (Ok(expected_rows), Ok(actual_rows)) = (records(expected), records(actual)) else {
        return Some(bytes_only());
    };
    let header = actual_rows
        .first()
        .or(expected_rows.first())
        .cloned()
        .unwrap_or_default();
    let rows = expected_rows.len().max(actual_rows.len());
    for index in 0..rows {
        let (want, got) = (expected_rows.get(index), actual_rows.get(index));
        if want == got {
            continue;
        }
        let time_s = got
            .or(want)
            .and_then(|r| r.get(0))
            .unwrap_or_default()
            .to_string();
        if index == 0 {
            return Some(Divergence {
                file,
                time_s: "0".into(),
                column: "(header)".into(),
                expected: join(want),
                actual: join(got),
            });
        }
        let (Some(want), Some(got)) = (want, got) else {
            return Some(Divergence {
                file,
                time_s,
                column: "(row)".into(),
                expected: join(want),
                actual: join(got),
            });
        };
        let width = want.len().max(got.len());
        let column = (0..width).find(|&c| want.get(c) != got.get(c)).unwrap_or(0);
        return Some(Divergence {
            file,
            time_s,
            column: header
                .get(column)
                .map_or_else(|| format!("column {}", column + 1), str::to_string),
            expected: want.get(column).unwrap_or("(none)").to_string(),
            actual: got.get(column).unwrap_or("(none)").to_string(),
        });
    }
    Some(bytes_only())
}

/// The last `count` rows of an `events.csv` text at or before `time_s`, as written.
pub fn events_up_to(events_csv: &str, time_s: f64, count: usize) -> Vec<String> {
    let Ok(rows) = records(events_csv) else {
        return Vec::new();
    };
    let before: Vec<String> = rows
        .iter()
        .skip(1)
        .filter(|r| {
            r.get(0)
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(|t| t <= time_s)
        })
        .map(|r| join(Some(r)))
        .collect();
    before[before.len().saturating_sub(count)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIES: &str = "time_s,desired_replicas,vms_ready\n0,2,0\n5,2,1\n10,2,2\n";

    #[test]
    fn equal_files_do_not_diverge() {
        assert_eq!(first_divergence("timeseries.csv", SERIES, SERIES), None);
    }

    #[test]
    fn the_first_differing_cell_names_its_time_and_column() {
        let changed = SERIES.replace("5,2,1", "5,2,0");
        let divergence = first_divergence("timeseries.csv", SERIES, &changed).unwrap();
        assert_eq!(divergence.time_s, "5");
        assert_eq!(divergence.column, "vms_ready");
        assert_eq!(
            (divergence.expected.as_str(), divergence.actual.as_str()),
            ("1", "0")
        );
    }

    #[test]
    fn a_missing_row_and_a_changed_header_are_reported() {
        let shorter = "time_s,desired_replicas,vms_ready\n0,2,0\n5,2,1\n";
        let divergence = first_divergence("timeseries.csv", SERIES, shorter).unwrap();
        assert_eq!(
            (divergence.time_s.as_str(), divergence.column.as_str()),
            ("10", "(row)")
        );
        assert_eq!(divergence.actual, "(no row)");
        let renamed = SERIES.replace("vms_ready", "ready");
        let divergence = first_divergence("timeseries.csv", SERIES, &renamed).unwrap();
        assert_eq!(divergence.column, "(header)");
    }

    #[test]
    fn files_that_differ_only_in_bytes_say_so() {
        let crlf = SERIES.replace('\n', "\r\n");
        let divergence = first_divergence("timeseries.csv", SERIES, &crlf).unwrap();
        assert_eq!(divergence.column, "(bytes)");
    }

    #[test]
    fn events_up_to_keeps_the_last_rows_at_or_before_the_time() {
        let events = "time_s,kind,object,reason,message\n1,A,a,R,\"x, y\"\n2,B,b,R,m\n3,C,c,R,m\n9,D,d,R,m\n";
        assert_eq!(
            events_up_to(events, 3.0, 2),
            ["2,B,b,R,m".to_string(), "3,C,c,R,m".to_string()]
        );
        assert_eq!(events_up_to(events, 1.0, 5), ["1,A,a,R,x, y".to_string()]);
    }

    #[test]
    fn exec_algorithms_get_a_safe_folder_name() {
        assert_eq!(algorithm_folder("kubevirt-pool"), "kubevirt-pool");
        assert_eq!(algorithm_folder("exec:./a/b.py"), "exec_._a_b.py");
    }
}
