//! The timeseries columns are defined once (`poolsim::timeseries::COLUMNS`, issue 12
//! item 4): the CSV a run writes, the columns `expect` accepts, the JSON schema and the
//! README table all follow that table.

mod common;

use common::poolsim_ok;
use poolsim::timeseries::{expectable_names, COLUMNS};

/// The README's table under "### Timeseries columns" names every column, in order,
/// with its meaning.
#[test]
fn the_readme_table_is_the_column_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md reads");
    let section = readme
        .split("### Timeseries columns")
        .nth(1)
        .expect("README has a Timeseries columns section");
    let documented: Vec<&str> = section
        .lines()
        .skip_while(|line| !line.starts_with("| column |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .collect();
    let expected: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("| `{}` | {} |", c.name, c.help))
        .collect();
    assert_eq!(documented, expected);
}

/// A run's `timeseries.csv` header is the table's names, in order.
#[test]
fn a_run_writes_the_table_as_its_header() {
    let out = tempfile::tempdir().expect("a temporary folder");
    let out_arg = out.path().to_str().expect("a UTF-8 path");
    poolsim_ok(&[
        "run",
        "scenarios/lab05-scale-2-4-1-0.yaml",
        "--out",
        out_arg,
        "--quiet",
    ]);
    let csv = std::fs::read_to_string(out.path().join("lab05-scale-2-4-1-0/timeseries.csv"))
        .expect("the run wrote timeseries.csv");
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    assert_eq!(csv.lines().next(), Some(names.join(",").as_str()));
    let width = csv.lines().map(|line| line.split(',').count());
    assert!(width.into_iter().all(|w| w == COLUMNS.len()));
}

/// `expect[].column` in the schema lists exactly the observed columns.
#[test]
fn the_schema_offers_the_observed_columns() {
    let output = poolsim_ok(&["schema"]);
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let found = find_key(&schema, "column").expect("the schema has expect[].column");
    let listed: Vec<&str> = found["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(listed, expectable_names());
    assert!(!listed.contains(&"load_cores"));
}

fn find_key<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map
            .get(key)
            .or_else(|| map.values().find_map(|v| find_key(v, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}
