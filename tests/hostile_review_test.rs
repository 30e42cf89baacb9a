//! A hostile user's pass over poolsim after issue 17 (docs/LIMITS.md, "Hostile
//! review"): each test pins one case that still broke the promise (exit 2 within
//! seconds, a message naming the file, field and rule, nothing written) and was fixed.
//! Every command runs under a timeout: a test whose child hangs kills it and fails.

mod common;
use common::poolsim_command;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Longer than any case here needs by two orders of magnitude.
const PATIENCE: Duration = Duration::from_secs(30);

/// `poolsim ARGS` run in `dir`, killed (and the test failed) if it outlives PATIENCE.
fn poolsim_within(dir: &Path, args: &[&str]) -> Output {
    let mut child = poolsim_command()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the poolsim binary runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > PATIENCE {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("poolsim {args:?} still ran after {PATIENCE:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Exit code 2, and stderr (returned) holding every one of `needles`.
fn refused(output: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "no {needle:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of `scenarios/lab05-per-index-secrets.yaml` (whose pool clones the PVC in
/// namespace `lab-<username>`) with its manifest folders, `username` set to `value`.
fn per_index_scenario_with_username(value: &str) -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo.join("lab05"), &dir.path().join("lab05"));
    copy_tree(&repo.join("manifests"), &dir.path().join("manifests"));
    let text = std::fs::read_to_string(repo.join("lab05-per-index-secrets.yaml")).unwrap();
    assert!(text.contains("username: user\n"));
    let text = text.replace("username: user\n", &format!("username: {value}\n"));
    std::fs::write(dir.path().join("s.yaml"), text).unwrap();
    dir
}

#[test]
fn a_placeholder_value_that_makes_a_source_pvc_namespace_invalid_is_refused() {
    let dir = per_index_scenario_with_username(&"x".repeat(500));
    for args in [
        &["validate", "s.yaml"][..],
        &["run", "s.yaml", "--out", "out"][..],
    ] {
        let output = poolsim_within(dir.path(), args);
        refused(
            &output,
            &[
                "vmpool_lab05-webserver-per-index-secrets.yaml:",
                "source.pvc.namespace",
                "is not a valid namespace",
                "RFC 1123 label",
            ],
        );
    }
    assert!(!dir.path().join("out").exists(), "nothing is written");
}

#[test]
fn a_placeholder_value_with_a_slash_in_a_source_pvc_namespace_is_refused() {
    let dir = per_index_scenario_with_username("'a/../b'");
    let output = poolsim_within(dir.path(), &["validate", "s.yaml"]);
    refused(
        &output,
        &[
            "source.pvc.namespace",
            "\"lab-a/../b\" is not a valid namespace",
        ],
    );
}

#[test]
fn a_placeholder_value_that_fits_still_loads() {
    let dir = per_index_scenario_with_username("alice");
    let output = poolsim_within(dir.path(), &["validate", "s.yaml"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[cfg(unix)]
#[test]
fn a_socket_as_scenario_or_plot_input_is_named_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
    for (args, rule) in [
        (
            &["run", "sock", "--out", "out"][..],
            "sock: cannot read the scenario file",
        ),
        (&["validate", "sock"][..], "sock: cannot read the file"),
        (
            &["check", "sock"][..],
            "sock: cannot read the scenario file",
        ),
        (&["plot", "sock"][..], "cannot read sock"),
    ] {
        let output = poolsim_within(dir.path(), args);
        let stderr = refused(&output, &[rule, "this is a socket, not a regular file"]);
        assert!(!stderr.contains("No such device"), "{stderr}");
    }
    assert!(!dir.path().join("out").exists(), "nothing is written");
}

/// `scenarios/fidelity/container-disk-image-pull-autoheals.yaml` (an image that
/// cannot be pulled, so the kubelet's image pull back-off runs) with one setting added.
fn image_pull_scenario_with_setting(setting: &str) -> tempfile::TempDir {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/fidelity/container-disk-image-pull-autoheals.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        !text.contains("\n  settings:"),
        "the scenario sets nothing yet"
    );
    let text = text.replacen(
        "\nspec:\n",
        &format!("\nspec:\n  settings:\n    {setting}\n"),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), text).unwrap();
    dir
}

/// `imagePullBackOffBase: 0s` retried the pull at one instant and ran for minutes;
/// every back-off delay that reschedules the same retry must now be above 0s.
#[test]
fn a_zero_back_off_delay_is_refused_instead_of_retrying_at_one_instant() {
    for name in [
        "imagePullBackOffBase",
        "imagePullBackOffMax",
        "containerRestartBackoffInitial",
        "containerRestartBackoffMax",
        "mountRetryMax",
    ] {
        let dir = image_pull_scenario_with_setting(&format!("{name}: 0s"));
        let output = poolsim_within(dir.path(), &["run", "s.yaml", "--out", "out"]);
        refused(
            &output,
            &[
                "s.yaml:",
                &format!("spec.settings.{name}: {name} is a back-off delay"),
                "must be longer than 0s",
            ],
        );
        assert!(!dir.path().join("out").exists(), "nothing is written");
    }
}

/// A base above its maximum stays valid (both upstream back-offs cap at the maximum).
#[test]
fn an_image_pull_back_off_base_above_its_maximum_still_runs() {
    let dir = image_pull_scenario_with_setting("imagePullBackOffMax: 1s");
    let output = poolsim_within(dir.path(), &["run", "s.yaml", "--out", "out"]);
    assert!(
        output.status.code() != Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `--out` naming a file gave the OS's "Not a directory" (run) or "File exists"
/// (merge) for a path below it; every writing command now names the rule.
#[test]
fn an_out_that_is_a_file_is_refused_by_every_writing_command() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = repo.join("scenarios/lab05-webserver.yaml");
    let scenario = scenario.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shards = dir.path().join("shards");
    let shards = shards.to_str().unwrap();
    let sweep = [
        "sweep", scenario, "--seeds", "1", "--shard", "0/1", "--out", shards,
    ];
    let made = poolsim_within(dir.path(), &sweep);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let shard_dir = format!("{shards}/lab05-webserver/sweep-shards");
    std::fs::write(dir.path().join("file"), "mine").unwrap();
    for args in [
        &["run", scenario, "--out", "file"][..],
        &["sweep", scenario, "--seeds", "1", "--out", "file"][..],
        &[
            "sweep", scenario, "--seeds", "2", "--shard", "0/2", "--out", "file",
        ][..],
        &[
            "compare",
            scenario,
            "--algorithms",
            "kubevirt-pool",
            "--seeds",
            "1",
            "--out",
            "file",
        ][..],
        &["merge", &shard_dir, "--out", "file"][..],
    ] {
        let output = poolsim_within(dir.path(), args);
        refused(
            &output,
            &["file exists and is not a folder: the output folder (--out) must be a folder"],
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("file")).unwrap(),
            "mine"
        );
    }
}
