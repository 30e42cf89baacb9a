//! Issue 17 (part 2): every command reads user files through one reader
//! (`poolsim::input`), so special files, huge files, symbolic links out of the scenario
//! folder and link loops end with a clear exit-2 message instead of a hang, an
//! out-of-memory abort or a leak of another file's content; and the input messages
//! name the file, line:column and field.
//!
//! Each run that could hang has its own deadline ([`poolsim_within`]): the child is
//! killed after [`DEADLINE`] and the test fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Longest any of these runs may take; each is well under a second when it works.
const DEADLINE: Duration = Duration::from_secs(20);

/// A scenario with no manifests, which runs in well under a second.
const SMALL: &str = "apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: small
spec:
  duration: 1m
  cluster:
    nodes: 1
";

/// `poolsim ARGS`, killed (and the test failed) if it has not ended by [`DEADLINE`].
fn poolsim_within(args: &[&str]) -> Output {
    let mut child = common::poolsim_command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the poolsim binary starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("waiting works").is_some() {
            return child.wait_with_output().expect("output is collected");
        }
        if start.elapsed() > DEADLINE {
            child.kill().expect("the child can be killed");
            let output = child.wait_with_output().expect("output is collected");
            panic!(
                "poolsim {args:?} did not end within {DEADLINE:?}; stderr so far: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Requires exit code 2 and a stderr holding every one of `needles`.
fn assert_invalid(output: &Output, needles: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {text}");
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }
}

fn text(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A folder with `s.yaml` holding `scenario`.
fn scenario_dir(scenario: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(&path, scenario).unwrap();
    (dir, path)
}

fn with_manifest_files(files: &[&str]) -> String {
    format!("{SMALL}  manifestFiles: [{}]\n", files.join(", "))
}

#[test]
fn a_fifo_as_the_scenario_exits_2_promptly_in_run_validate_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("s.yaml");
    mkfifo(&fifo);
    let out = dir.path().join("out");
    for args in [
        vec!["run", text(&fifo), "--out", text(&out)],
        vec!["validate", text(&fifo)],
        vec!["check", text(&fifo)],
    ] {
        let output = poolsim_within(&args);
        assert_invalid(&output, &[text(&fifo), "FIFO", "not a regular file"]);
    }
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_fifo_as_a_manifest_file_exits_2_with_its_line_and_column() {
    let (dir, scenario) = scenario_dir(&with_manifest_files(&["m.yaml"]));
    mkfifo(&dir.path().join("m.yaml"));
    let out = dir.path().join("out");
    for args in [
        vec!["run", text(&scenario), "--out", text(&out)],
        vec!["validate", text(&scenario)],
    ] {
        let output = poolsim_within(&args);
        assert_invalid(
            &output,
            &[":9:19: spec.manifestFiles[0]", "FIFO (named pipe)"],
        );
    }
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_fifo_or_dev_zero_as_plot_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("timeseries.csv");
    mkfifo(&fifo);
    let output = poolsim_within(&["plot", text(&fifo)]);
    assert_invalid(&output, &[text(&fifo), "FIFO"]);
    let output = poolsim_within(&["plot", "/dev/zero"]);
    assert_invalid(&output, &["/dev/zero", "a character device"]);
}

#[test]
fn a_fifo_beside_the_plotted_csv_is_refused_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("timeseries.csv");
    std::fs::write(&csv, "time_s,desired_replicas\n0,1\n5,1\n").unwrap();
    mkfifo(&dir.path().join("events.csv"));
    let output = poolsim_within(&["plot", text(&csv)]);
    assert_invalid(&output, &["events.csv", "FIFO"]);
}

#[test]
fn dev_zero_as_the_scenario_exits_2() {
    let output = poolsim_within(&["validate", "/dev/zero"]);
    assert_invalid(&output, &["/dev/zero", "a character device"]);
    let dir = tempfile::tempdir().unwrap();
    let output = poolsim_within(&["run", "/dev/zero", "--out", text(dir.path())]);
    assert_invalid(&output, &["/dev/zero", "a character device"]);
}

#[test]
fn a_manifest_file_linked_to_dev_zero_or_outside_the_folder_is_refused_unread() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("passwd");
    std::fs::write(&secret, "root:x:0:0:SECRET-CONTENT-LINE:/root:/bin/bash\n").unwrap();
    let (dir, scenario) = scenario_dir(&with_manifest_files(&["m.yaml", "sub/zero.yaml"]));
    std::os::unix::fs::symlink(&secret, dir.path().join("m.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("sub/zero.yaml")).unwrap();
    let output = poolsim_within(&["validate", text(&scenario)]);
    assert_invalid(
        &output,
        &[
            ":9:19: spec.manifestFiles[0]: \"m.yaml\" is, or passes through, a symbolic link that leads outside the scenario file's folder",
            "spec.manifestFiles[1]: \"sub/zero.yaml\"",
        ],
    );
    let all = format!(
        "{}{}",
        stderr(&output),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(!all.contains("SECRET-CONTENT"), "leaked: {all}");
    assert!(!all.contains("root:x"), "leaked: {all}");
}

#[test]
fn a_symbolic_link_inside_the_folder_is_still_followed() {
    let (dir, scenario) = scenario_dir(&with_manifest_files(&["link.yaml"]));
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::fs::write(
        dir.path().join("real/secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("real/secret.yaml", dir.path().join("link.yaml")).unwrap();
    let output = poolsim_within(&["validate", text(&scenario)]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_symbolic_link_loop_in_a_validated_or_checked_folder_ends() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::write(dir.path().join("a/s.yaml"), SMALL).unwrap();
    // a/loop -> .. (the walk's own root), a/self -> . : both loops.
    std::os::unix::fs::symlink("..", dir.path().join("a/loop")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("a/self")).unwrap();
    let output = poolsim_within(&["validate", text(dir.path())]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.matches(": ok").count(),
        1,
        "each file once: {stdout}"
    );
    let out = dir.path().join("out");
    let output = poolsim_within(&["check", text(dir.path()), "--out", text(&out)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn check_on_a_fifo_does_not_say_no_such_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.yaml");
    mkfifo(&fifo);
    let output = poolsim_within(&["check", text(&fifo)]);
    assert_invalid(&output, &["FIFO"]);
    assert!(
        !stderr(&output).contains("no such file"),
        "{}",
        stderr(&output)
    );
}

/// 40 placeholders, each the next one twice: substituted again and again in key order
/// this grew to 2^40 bytes. In one pass, `<p00>` becomes the literal `<p01><p01>`.
fn doubling_bomb() -> String {
    let mut placeholders = String::new();
    for index in 0..40 {
        let next = index + 1;
        placeholders.push_str(&format!("    p{index:02}: \"<p{next:02}><p{next:02}>\"\n"));
    }
    placeholders.push_str("    p40: x\n");
    format!(
        "{SMALL}  placeholders:\n{placeholders}  manifests:\n    - apiVersion: v1\n      kind: Secret\n      metadata: {{name: s, annotations: {{a: \"<p00>\"}}}}\n"
    )
}

#[test]
fn doubling_placeholders_are_substituted_once_and_quickly() {
    let (_dir, scenario) = scenario_dir(&doubling_bomb());
    let start = Instant::now();
    let output = poolsim_within(&["validate", text(&scenario)]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(!stderr(&output).contains("memory"), "{}", stderr(&output));
}

#[test]
fn substituted_text_over_the_limit_exits_2_naming_the_limit() {
    // A 1 MiB value used 20 times in one manifest file: 20 MiB of substituted text.
    let big = "x".repeat(1024 * 1024);
    let scenario = format!(
        "{}  placeholders:\n    big: {big}\n",
        with_manifest_files(&["m.yaml"])
    );
    let (dir, scenario_path) = scenario_dir(&scenario);
    let uses = "<big>".repeat(20);
    std::fs::write(
        dir.path().join("m.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s, annotations: {{a: \"{uses}\"}}}}\n"
        ),
    )
    .unwrap();
    let output = poolsim_within(&["validate", text(&scenario_path)]);
    assert_invalid(
        &output,
        &[":9:19: spec.manifestFiles[0]", "MAX_SUBSTITUTED_BYTES"],
    );
}

#[test]
fn one_big_manifest_listed_many_times_hits_the_total_limit() {
    let (dir, scenario) = scenario_dir(&with_manifest_files(&["big.yaml"; 6]));
    // 3.5 MB, under the 4 MiB limit of one file: one Secret and a long comment.
    let comment = format!("# {}\n", "c".repeat(99)).repeat(35_000);
    std::fs::write(
        dir.path().join("big.yaml"),
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n{comment}"),
    )
    .unwrap();
    let output = poolsim_within(&["validate", text(&scenario)]);
    // The fifth file passes 16 MiB (5 x 3.5 MB).
    assert_invalid(
        &output,
        &[
            "spec.manifestFiles[4]",
            "MAX_MANIFEST_FILES_BYTES",
            "16 MiB",
        ],
    );
}

#[test]
fn min_above_max_and_a_zero_period_name_the_setting_and_its_position() {
    let scenario = format!("{SMALL}  settings:\n    guestShutdownMin: 20s\n    podGcPeriod: 0s\n");
    let (_dir, path) = scenario_dir(&scenario);
    let output = poolsim_within(&["validate", text(&path)]);
    assert_invalid(
        &output,
        &[
            "s.yaml:10:23: spec.settings.guestShutdownMin: guestShutdownMin (20s) is larger than guestShutdownMax (8s)",
            "s.yaml:11:18: spec.settings.podGcPeriod: podGcPeriod is a period and must be longer than 0s",
        ],
    );
}

#[test]
fn a_max_lowered_below_its_min_is_reported_at_the_max() {
    let scenario = format!("{SMALL}  settings:\n    cloneFastMax: 1s\n");
    let (_dir, path) = scenario_dir(&scenario);
    let output = poolsim_within(&["validate", text(&path)]);
    assert_invalid(
        &output,
        &["s.yaml:10:19: spec.settings.cloneFastMax: cloneFastMin (5s) is larger than cloneFastMax (1s)"],
    );
}

#[test]
fn bad_label_keys_and_values_are_rejected_where_they_are_written() {
    let scenario = "apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: labels
spec:
  duration: 1m
  cluster:
    nodes:
      - {name: n1, labels: {\"bad key\": x}}
  manifests:
    - apiVersion: v1
      kind: Secret
      metadata:
        name: s
        labels: {tier: \"two words\", \"\u{1F642}\": ok, \"example.com/fine\": \"\"}
";
    let (_dir, path) = scenario_dir(scenario);
    let output = poolsim_within(&["validate", text(&path)]);
    assert_invalid(
        &output,
        &[
            "s.yaml:9:29: spec.cluster.nodes[0].labels.bad key: Invalid value: \"bad key\": name part must consist of",
        ],
    );
    // The node's error stops the scenario before manifests; the manifest alone:
    let manifest = tempfile::tempdir().unwrap();
    let file = manifest.path().join("m.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  labels: {tier: \"two words\", \"\u{1F642}\": ok, \"example.com/fine\": \"\"}\nspec:\n  selector: {\"a/b/c\": x}\n",
    )
    .unwrap();
    let output = poolsim_within(&["validate", text(&file)]);
    assert_invalid(
        &output,
        &[
            "m.yaml:5:18: [0].metadata.labels.tier: Invalid value: \"two words\": a valid label must be an empty string",
            "m.yaml:5:31: [0].metadata.labels.\u{1F642}: Invalid value: \"\u{1F642}\": name part must consist of",
            "m.yaml:7:14: [0].spec.selector.a/b/c: Invalid value: \"a/b/c\": a qualified name must consist of",
        ],
    );
    assert!(
        !stderr(&output).contains("example.com/fine"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_selector_expression_with_a_bad_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pool.yaml");
    let pool = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab05/vmpool_lab05-webserver.yaml"),
    )
    .unwrap();
    let needle = "  selector:\n";
    assert!(pool.contains(needle), "the lab pool has a selector");
    let broken = pool.replacen(
        needle,
        "  selector:\n    matchExpressions:\n      - {key: \"bad key\", operator: Exists}\n",
        1,
    );
    std::fs::write(&file, broken).unwrap();
    let output = poolsim_within(&["validate", text(&file), "--placeholder", "username=u"]);
    assert_invalid(
        &output,
        &["matchExpressions[0].key: Invalid value: \"bad key\""],
    );
}
