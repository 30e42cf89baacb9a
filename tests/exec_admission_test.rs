//! External algorithms are trusted no further than manifests (docs/PROTOCOL.md,
//! "Admission"): an answer with a write the API server or the work queue would refuse
//! ends the run with exit 2, nothing written, and a message naming the program, the
//! request, the action, the field and the rule, with the program's text escaped.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A shipped scenario of a few seconds of CPU: the lab05 pool of two VMs.
const SCENARIO: &str = "scenarios/lab05-webserver.yaml";

/// A Python program that says hello, then for every reconcile runs `decide` (Python
/// statements that set `actions`, with `obs`, `pool`, `rev`, `names` and
/// `create(name)` in scope) and answers with `actions`.
fn algorithm(dir: &Path, decide: &str) -> PathBuf {
    let body: String = decide.lines().map(|line| format!("    {line}\n")).collect();
    let path = dir.join("algorithm.py");
    std::fs::write(
        &path,
        format!(
            r#"#!/usr/bin/env python3
import json, sys
for line in sys.stdin:
    request = json.loads(line)
    if request["type"] == "hello":
        print(json.dumps({{"type": "hello", "name": "admission-double", "summary": "breaks one rule"}}), flush=True)
        continue
    obs = request["observation"]
    pool = obs["pool"]["name"]
    rev = obs["pool"]["currentRevision"]
    names = [vm["name"] for vm in obs["vms"]]
    def create(name, index=0):
        return {{"action": "createVm", "index": index, "name": name, "revision": rev}}
    actions = []
{body}    print(json.dumps({{"type": "actions", "seq": request["seq"], "actions": actions}}), flush=True)
"#
        ),
    )
    .expect("write the algorithm");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Runs the lab05 scenario with the program of `decide`; it must end with exit 2 and
/// no outputs. Returns stderr.
fn refused_run(decide: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = algorithm(dir.path(), decide);
    let out = dir.path().join("out");
    let output = run_with(&program, &out, SCENARIO);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&out).map_or(0, |entries| entries.count()),
        0,
        "outputs were written: {stderr}"
    );
    assert!(
        !output.stderr.contains(&0x1b) && !stderr.contains('\r'),
        "raw control characters reached the terminal: {stderr:?}"
    );
    assert!(
        stderr.contains("external algorithm") && stderr.contains("algorithm.py"),
        "the program is not named: {stderr}"
    );
    stderr
}

fn run_with(program: &Path, out: &Path, scenario: &str) -> Output {
    common::poolsim_command()
        .args(["run", scenario, "--algorithm"])
        .arg(format!("exec:{}", program.display()))
        .arg("--out")
        .arg(out)
        .output()
        .expect("poolsim runs")
}

fn assert_contains(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
}

#[test]
fn vm_names_the_api_server_would_reject_are_refused() {
    let cases = [
        ("empty", "\"\"", "Invalid value: \"\""),
        ("a path", "\"../../x\"", "Invalid value: \"../../x\""),
        (
            "100k characters",
            "\"x\" * 100000",
            "(100000 characters in all)",
        ),
        (
            "a newline",
            "pool + \"\\nx\"",
            "Invalid value: \"lab05-webserver\\nx\"",
        ),
        (
            "uppercase",
            "pool.upper() + \"-0\"",
            "\"LAB05-WEBSERVER-0\"",
        ),
        ("an escape", "\"\\x1b[2J\"", "\"\\u{1b}[2J\""),
    ];
    for (case, name, shown) in cases {
        let stderr = refused_run(&format!("actions = [create({name})]"));
        assert_contains(
            &stderr,
            &[
                "answered reconcile seq 1 with an action poolsim refuses",
                "action 0 (createVm), field `name`",
                "RFC 1123 subdomain",
                shown,
            ],
        );
        assert!(stderr.len() < 2000, "{case}: the message is too long");
    }
}

#[test]
fn a_vm_name_that_is_taken_is_refused() {
    let stderr = refused_run(
        "actions = [create(names[0])] if names else [create(pool + \"-0\"), create(pool + \"-1\", 1)]",
    );
    assert_contains(
        &stderr,
        &[
            "action 0 (createVm), field `name`",
            "a VM named \"lab05-webserver-0\" already exists",
        ],
    );

    let stderr = refused_run("actions = [create(pool + \"-7\"), create(pool + \"-7\")]");
    assert_contains(
        &stderr,
        &[
            "reconcile seq 1",
            "action 1 (createVm)",
            "\"lab05-webserver-7\" already exists",
        ],
    );
}

#[test]
fn an_action_on_a_vm_that_does_not_exist_is_refused() {
    let cases = [
        (
            "deleteVm",
            r#"{"action": "deleteVm", "name": "nope", "reason": "scaleIn", "preserveState": False, "foreground": False}"#,
        ),
        ("releaseVm", r#"{"action": "releaseVm", "name": "nope"}"#),
        ("restartVm", r#"{"action": "restartVm", "name": "nope"}"#),
        (
            "updateVm",
            r#"{"action": "updateVm", "name": "nope", "revision": rev}"#,
        ),
        (
            "finalizeVm",
            r#"{"action": "finalizeVm", "name": "nope", "preserveState": True}"#,
        ),
        (
            "patchVmiRevision",
            r#"{"action": "patchVmiRevision", "name": "nope", "revision": rev}"#,
        ),
    ];
    for (kind, action) in cases {
        let stderr = refused_run(&format!("actions = [{action}]"));
        assert_contains(
            &stderr,
            &[
                "reconcile seq 1",
                &format!("action 0 ({kind}), field `name`"),
                "no VM named \"nope\" in the observation",
            ],
        );
    }
}

#[test]
fn more_creations_than_the_burst_are_refused() {
    let stderr = refused_run("actions = [create(pool + \"-\" + str(i), i) for i in range(251)]");
    assert_contains(
        &stderr,
        &[
            "action 250 (createVm)",
            "more than burstReplicas = 250 creations in one answer",
        ],
    );
}

#[test]
fn a_requeue_below_the_floor_is_refused_instead_of_spinning() {
    let stderr = refused_run(r#"actions = [{"action": "requeueAfter", "delayMs": 0}]"#);
    assert_contains(
        &stderr,
        &[
            "action 0 (requeueAfter), field `delayMs`",
            "0 ms is below the floor of 5 ms",
        ],
    );
}

#[test]
fn a_bad_revision_label_is_refused() {
    let stderr = refused_run(
        r#"actions = [{"action": "createVm", "index": 0, "name": pool + "-0", "revision": "a b"}]"#,
    );
    assert_contains(
        &stderr,
        &["action 0 (createVm), field `revision`", "\"a b\""],
    );
}

#[test]
fn an_error_text_with_escape_sequences_comes_out_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("algorithm.py");
    std::fs::write(
        &path,
        r#"#!/usr/bin/env python3
import json, sys
for line in sys.stdin:
    request = json.loads(line)
    if request["type"] == "hello":
        print(json.dumps({"type": "hello", "name": "rude", "summary": "\u001b[31mred"}), flush=True)
        continue
    sys.stderr.write("\x1b[2Jstderr too\n")
    sys.stderr.flush()
    print(json.dumps({"type": "error", "message": "\x1b[2J\x1b]0;owned\x07 gone\r"}), flush=True)
"#,
    )
    .expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = dir.path().join("out");
    let output = run_with(&path, &out, SCENARIO);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!output.stderr.contains(&0x1b), "{stderr:?}");
    assert!(!output.stderr.contains(&0x07), "{stderr:?}");
    assert!(!output.stderr.contains(&b'\r'), "{stderr:?}");
    assert_contains(
        &stderr,
        &[
            "reported an error in answer to reconcile seq 1",
            "\\u{1b}[2J\\u{1b}]0;owned\\u{7} gone\\r",
        ],
    );
    assert_eq!(std::fs::read_dir(&out).map_or(0, |e| e.count()), 0);
}

#[test]
fn a_well_behaved_program_still_runs() {
    // The admission rules refuse nothing the shipped example does.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/reconcile_pool.py");
    let output = run_with(&program, &out, SCENARIO);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
