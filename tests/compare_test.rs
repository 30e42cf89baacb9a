//! `poolsim compare`: one row per algorithm, the documented overshoot of the VMI
//! replica set rule on a node partition, and the regression gate.

mod common;
use common::{poolsim, poolsim_ok};

const SCENARIO: &str = "scenarios/lab05-node-partition.yaml";
const NAME: &str = "lab05-node-partition";

fn column(table: &serde_json::Value, algorithm: &str, metric: &str) -> f64 {
    table
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["algorithm"] == algorithm)
        .unwrap_or_else(|| panic!("no row for {algorithm}"))[metric]
        .as_f64()
        .unwrap()
}

#[test]
fn vmirs_overshoots_where_the_pool_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let output = poolsim_ok(&[
        "compare",
        SCENARIO,
        "--algorithms",
        "kubevirt-pool,kubevirt-vmirs",
        "--json",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let table = &json["table"];
    assert_eq!(table.as_array().unwrap().len(), 2, "one row per algorithm");
    assert!(
        column(table, "kubevirt-vmirs", "max_overshoot")
            > column(table, "kubevirt-pool", "max_overshoot")
    );
    // The pool keeps its maximum and pays in readiness: it recovers only after the heal.
    assert!(
        column(table, "kubevirt-pool", "recovery_s")
            > column(table, "kubevirt-vmirs", "recovery_s")
    );

    let dir = tmp.path().join(NAME).join("compare");
    let csv = std::fs::read_to_string(dir.join("compare.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].starts_with("kubevirt-pool,7,"));
    assert!(rows[1].starts_with("kubevirt-vmirs,7,"));
    let png = std::fs::read(dir.join("overlay.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = std::fs::read_to_string(dir.join("overlay.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
}

#[test]
fn several_seeds_give_a_distribution_per_algorithm() {
    let tmp = tempfile::tempdir().unwrap();
    let output = poolsim_ok(&[
        "compare",
        SCENARIO,
        "--algorithms",
        "kubevirt-pool,vmirs-fenced",
        "--seeds",
        "2",
        "--json",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let statistics: Vec<&str> = json["table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["statistic"].as_str().unwrap())
        .collect();
    assert_eq!(statistics, ["p50", "p95", "max", "p50", "p95", "max"]);
    let csv = std::fs::read_to_string(tmp.path().join(NAME).join("compare/compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 2);
}

#[test]
fn the_gate_fails_a_worse_candidate_with_a_line_saying_why() {
    let tmp = tempfile::tempdir().unwrap();
    let output = poolsim(&[
        "compare",
        SCENARIO,
        "--algorithms",
        "kubevirt-pool,kubevirt-vmirs",
        "--baseline",
        "kubevirt-pool",
        "--fail-if-worse",
        "max_overshoot:0,minutes_under_ready:10%",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fail = stdout
        .lines()
        .find(|line| line.starts_with("FAIL"))
        .unwrap_or_else(|| panic!("no FAIL line in\n{stdout}"));
    assert!(
        fail.contains("kubevirt-vmirs") && fail.contains("max_overshoot"),
        "{fail}"
    );
    // Fewer minutes under ready than the baseline: that rule passes.
    assert!(stdout
        .lines()
        .any(|line| line.starts_with("PASS") && line.contains("minutes_under_ready")));

    // The same candidate passes when it is the baseline that overshoots.
    let output = poolsim(&[
        "compare",
        SCENARIO,
        "--algorithms",
        "kubevirt-vmirs,kubevirt-pool",
        "--fail-if-worse",
        "max_overshoot",
        "--quiet",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn bad_comparisons_are_invalid_input_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    for args in [
        vec!["--algorithms", "kubevirt-pool,no-such-algorithm"],
        vec!["--algorithms", "kubevirt-pool,kubevirt-pool"],
        vec![
            "--algorithms",
            "kubevirt-pool",
            "--baseline",
            "kubevirt-vmirs",
        ],
        vec![
            "--algorithms",
            "kubevirt-pool",
            "--fail-if-worse",
            "speed:1",
        ],
        vec![
            "--algorithms",
            "kubevirt-pool",
            "--fail-if-worse",
            "max_overshoot:-2",
        ],
    ] {
        let mut full = vec!["compare", SCENARIO, "--out", out];
        full.extend(&args);
        let output = poolsim(&full);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
