//! External algorithms are trusted no further than manifests (docs/PROTOCOL.md,
//! "Admission"): an answer with a write the API server or the work queue would refuse
//! ends the run with exit 2, nothing written, and a message naming the program, the
//! request, the action, the field and the rule, with the program's text escaped.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Mutex;

/// Writing an executable while another test thread forks can make its exec fail with
/// "text file busy" (the forked child holds the open file until it execs): every
/// write of a script and every start of a process takes this lock, so none overlap.
static SPAWN_LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SPAWN_LOCK
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
}

/// Writes an executable script under [`SPAWN_LOCK`].
fn write_script(path: &Path, text: &str) {
    let _guard = lock();
    std::fs::write(path, text).expect("write the script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A shipped scenario of a few seconds of CPU: the lab05 pool of two VMs.
const SCENARIO: &str = "scenarios/lab05-webserver.yaml";

/// A Python program that says hello, then for every reconcile runs `decide` (Python
/// statements that set `actions`, with `obs`, `pool`, `rev`, `names` and
/// `create(name)` in scope) and answers with `actions`.
fn algorithm(dir: &Path, decide: &str) -> PathBuf {
    let body: String = decide.lines().map(|line| format!("    {line}\n")).collect();
    let path = dir.join("algorithm.py");
    write_script(
        &path,
        &format!(
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
    );
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
    let child = {
        let _guard = lock();
        common::poolsim_command()
            .args(["run", scenario, "--algorithm"])
            .arg(format!("exec:{}", program.display()))
            .arg("--out")
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("poolsim starts")
    };
    child.wait_with_output().expect("poolsim runs")
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
    write_script(
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
    );
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

#[test]
fn the_hello_summary_is_kept_escaped_and_an_unprintable_name_is_refused() {
    use poolsim::algorithm::{spawn, ReconcileAlgorithm};
    let dir = tempfile::tempdir().expect("tempdir");
    let hello = |name: &str, summary: &str| {
        let path = dir.path().join(format!("hello-{}.py", name.len()));
        write_script(
            &path,
            &format!(
                "#!/usr/bin/env python3\nimport json, sys\nfor line in sys.stdin:\n    print(json.dumps({{\"type\": \"hello\", \"name\": {name}, \"summary\": {summary}}}), flush=True)\n"
            ),
        );
        let _guard = lock();
        spawn(&path)
    };
    let algorithm = hello("\"ok\"", "\"\\u001b[2Jred\\u0007\"").expect("a valid hello");
    assert_eq!(algorithm.summary(), "\\u{1b}[2Jred\\u{7}");

    let error = hello("\"a\\u202eb\"", "\"\"").err().expect("refused");
    assert_contains(
        &error.to_string(),
        &["field `name` must be", "\"a\\u{202e}b\""],
    );
    let error = hello("\"x\" * 300", "\"\"").err().expect("refused");
    assert_contains(&error.to_string(), &["at most 253 printable characters"]);
}
