//! Misbehaving external algorithms: each failure is caught within the bound, named
//! clearly, and ends the session (no actions from then on, the program reaped).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use poolsim::algorithm::{
    spawn, spawn_with, ExecAlgorithm, ExecError, ExecOptions, IntOrPercent, LabelSelector,
    Observation, PoolView, ReconcileAlgorithm, ScaleInStrategy, TemplateDigest, UpdateStrategy,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

/// Every failure must be reported well within this, timeouts included.
const BOUND: Duration = Duration::from_secs(5);

/// The short answer timeout the hang tests use.
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);

/// Writing an executable while another test thread forks can make exec fail with
/// "text file busy" (the forked child holds the open file until it execs); every write
/// of a script and every start of a program takes this lock, so none overlap.
static SPAWN_LOCK: Mutex<()> = Mutex::new(());

/// A script in its own temporary directory, kept alive as long as the test needs it.
struct Script {
    _dir: TempDir,
    path: PathBuf,
}

fn script(text: &str, executable: bool) -> Script {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("algorithm");
    let _guard = SPAWN_LOCK
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    std::fs::write(&path, text).expect("write script");
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    Script { _dir: dir, path }
}

fn start(path: &Path, options: ExecOptions) -> Result<ExecAlgorithm, ExecError> {
    let _guard = SPAWN_LOCK
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    spawn_with(path, options)
}

fn short_timeout() -> ExecOptions {
    ExecOptions {
        answer_timeout: SHORT_TIMEOUT,
        ..ExecOptions::default()
    }
}

/// A Python program that answers `hello` properly and then runs `on_reconcile` (Python
/// statements, with `seq` and `send(text)` in scope) for every reconcile.
fn python_double(on_reconcile: &str) -> Script {
    python_double_with_exit(on_reconcile, "")
}

/// [`python_double`] that runs `on_exit` (a Python statement) once stdin closes.
fn python_double_with_exit(on_reconcile: &str, on_exit: &str) -> Script {
    let body: String = on_reconcile
        .lines()
        .map(|line| format!("    {line}\n"))
        .collect();
    script(
        &format!(
            r#"#!/usr/bin/env python3
import json, sys, time

def send(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()

for line in sys.stdin:
    request = json.loads(line)
    if request["type"] == "hello":
        send(json.dumps({{"type": "hello", "name": "test-double", "summary": "misbehaves on purpose"}}))
        continue
    seq = request["seq"]
{body}{on_exit}
"#
        ),
        true,
    )
}

fn observation() -> Observation {
    let selector_labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
    Observation {
        now_ms: 0,
        pool: PoolView {
            name: "web".into(),
            uid: "web-uid".into(),
            replicas: 2,
            paused: false,
            deleting: false,
            has_finalizer: true,
            selector: LabelSelector::from_labels(&selector_labels),
            template_labels: selector_labels,
            scale_in: ScaleInStrategy::default(),
            update: UpdateStrategy::default(),
            max_unavailable: IntOrPercent::default(),
            autohealing: None,
            current_revision: "web-1".into(),
            template: TemplateDigest {
                vm_template: "a".into(),
                vmi_template: "b".into(),
                data_volume_templates: "c".into(),
            },
        },
        vms: Vec::new(),
        revisions: Vec::new(),
        burst_replicas: 250,
        expectations_satisfied: true,
    }
}

/// Runs one reconcile that must fail: it returns no actions, within the bound, and
/// the failure is recorded, readable through the trait too. Returns the error text.
fn failing_reconcile(algorithm: &ExecAlgorithm) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let started = Instant::now();
    let actions = algorithm.reconcile(&observation(), &mut rng);
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    assert_eq!(actions, vec![]);
    let message = algorithm.failure().expect("failure recorded").to_string();
    assert_eq!(
        ReconcileAlgorithm::failure(algorithm),
        Some(message.clone())
    );

    // The session is over: later reconciles return nothing at once.
    let started = Instant::now();
    assert_eq!(algorithm.reconcile(&observation(), &mut rng), vec![]);
    assert!(started.elapsed() < Duration::from_millis(100));
    message
}

fn failing_start(path: &Path, options: ExecOptions) -> ExecError {
    let started = Instant::now();
    let error = start(path, options).err().expect("start must fail");
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    error
}

fn assert_contains(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
}

#[test]
fn a_missing_program_cannot_start() {
    let error = {
        let _guard = SPAWN_LOCK
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        spawn(Path::new("/no/such/dir/algorithm"))
            .err()
            .expect("fails")
    };
    assert!(matches!(error, ExecError::Spawn { .. }), "{error:?}");
    assert_contains(
        &error.to_string(),
        &["cannot start external algorithm /no/such/dir/algorithm"],
    );
}

#[test]
fn a_program_without_execute_permission_cannot_start() {
    let file = script("#!/bin/sh\nexit 0\n", false);
    let error = failing_start(&file.path, ExecOptions::default());
    assert!(matches!(error, ExecError::Spawn { .. }), "{error:?}");
    assert_contains(&error.to_string(), &["cannot start", "ermission denied"]);
}

#[test]
fn a_program_that_exits_at_once_is_reported_with_its_status_and_stderr() {
    let file = script(
        "#!/bin/sh\necho 'loading model' >&2\necho 'cannot load model weights' >&2\nexit 3\n",
        true,
    );
    let error = failing_start(&file.path, ExecOptions::default());
    assert!(matches!(error, ExecError::Exited { .. }), "{error:?}");
    assert_contains(
        &error.to_string(),
        &[
            "exited (exit status: 3)",
            "answer to hello",
            "  | loading model\n  | cannot load model weights",
        ],
    );
}

#[test]
fn a_program_that_hangs_at_hello_is_killed_after_the_timeout() {
    // `exec` so that killing the process kills the sleep itself.
    let file = script("#!/bin/sh\nexec sleep 30\n", true);
    let started = Instant::now();
    let options = ExecOptions {
        hello_timeout: SHORT_TIMEOUT,
        ..ExecOptions::default()
    };
    let error = failing_start(&file.path, options);
    assert!(started.elapsed() >= SHORT_TIMEOUT);
    assert!(matches!(error, ExecError::Timeout { .. }), "{error:?}");
    assert_contains(
        &error.to_string(),
        &["did not answer hello within 300 ms and was killed"],
    );
}

#[test]
fn a_program_that_hangs_in_a_reconcile_is_killed_after_the_timeout() {
    let file = python_double("print('thinking hard', file=sys.stderr, flush=True)\ntime.sleep(30)");
    let algorithm = start(&file.path, short_timeout()).expect("says hello");
    let message = failing_reconcile(&algorithm);
    assert!(matches!(
        algorithm.failure(),
        Some(ExecError::Timeout { .. })
    ));
    assert_contains(
        &message,
        &[
            "did not answer reconcile seq 1 within 300 ms",
            "  | thinking hard",
        ],
    );
}

#[test]
fn a_program_that_crashes_in_a_reconcile_is_reported_with_its_stderr() {
    let file = python_double("raise RuntimeError('division by zebra')");
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    let message = failing_reconcile(&algorithm);
    assert!(matches!(
        algorithm.failure(),
        Some(ExecError::Exited { .. })
    ));
    assert_contains(
        &message,
        &[
            "exited (exit status: 1)",
            "answer to reconcile seq 1",
            "Traceback",
            "RuntimeError: division by zebra",
        ],
    );
}

#[test]
fn garbage_instead_of_json_is_named() {
    let file = python_double("send('OK, scaling up!')");
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    let message = failing_reconcile(&algorithm);
    assert!(matches!(
        algorithm.failure(),
        Some(ExecError::Protocol { .. })
    ));
    assert_contains(
        &message,
        &[
            "answered reconcile seq 1 with an invalid line: not JSON",
            "\"OK, scaling up!\"",
        ],
    );
}

#[test]
fn a_wrong_seq_is_named_with_both_numbers() {
    let file =
        python_double("send(json.dumps({'type': 'actions', 'seq': seq + 1, 'actions': []}))");
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    assert_contains(
        &failing_reconcile(&algorithm),
        &["wrong seq: expected 1, got 2"],
    );
}

#[test]
fn a_wrong_message_type_is_named() {
    let file = python_double("send(json.dumps({'type': 'hello', 'seq': seq}))");
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    assert_contains(
        &failing_reconcile(&algorithm),
        &["expected type \"actions\", got \"hello\""],
    );
}

#[test]
fn an_unknown_action_is_named_with_its_position() {
    let file = python_double(
        "send(json.dumps({'type': 'actions', 'seq': seq, 'actions': [\n    {'action': 'addPoolFinalizer'}, {'action': 'explodeVm', 'name': 'web-0'}]}))",
    );
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    assert_contains(
        &failing_reconcile(&algorithm),
        &["action 1: unknown variant `explodeVm`", "createVm"],
    );
}

#[test]
fn a_missing_field_is_named() {
    let file = python_double(
        "send(json.dumps({'type': 'actions', 'seq': seq, 'actions': [{'action': 'createVm', 'index': 0, 'revision': 'web-1'}]}))",
    );
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    assert_contains(
        &failing_reconcile(&algorithm),
        &["action 0: missing field `name`"],
    );

    let file = python_double("send(json.dumps({'type': 'actions', 'seq': seq}))");
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    assert_contains(&failing_reconcile(&algorithm), &["missing field `actions`"]);
}

#[test]
fn an_oversized_line_is_refused_without_reading_it_whole() {
    let file = python_double("send('x' * 100000)");
    let options = ExecOptions {
        max_line_bytes: 4096,
        ..ExecOptions::default()
    };
    let algorithm = start(&file.path, options).expect("says hello");
    let message = failing_reconcile(&algorithm);
    assert!(matches!(
        algorithm.failure(),
        Some(ExecError::OversizedLine {
            limit_bytes: 4096,
            ..
        })
    ));
    assert_contains(
        &message,
        &["wrote a line longer than 4096 bytes in answer to reconcile seq 1"],
    );
}

#[test]
fn an_error_the_program_reports_is_passed_on() {
    let file = python_double(
        "send(json.dumps({'type': 'error', 'message': 'model has no answer for paused pools'}))",
    );
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    let message = failing_reconcile(&algorithm);
    assert!(matches!(
        algorithm.failure(),
        Some(ExecError::Reported { .. })
    ));
    assert_contains(
        &message,
        &["reported an error in answer to reconcile seq 1: model has no answer for paused pools"],
    );
}

#[test]
fn a_hello_without_a_name_or_with_another_protocol_is_refused() {
    let file = script(
        "#!/bin/sh\nread line\necho '{\"type\":\"hello\",\"summary\":\"no name\"}'\nsleep 5\n",
        true,
    );
    let error = failing_start(&file.path, ExecOptions::default());
    assert_contains(
        &error.to_string(),
        &["answered hello with an invalid line: missing field `name`"],
    );

    let file = script(
        "#!/bin/sh\nread line\necho '{\"type\":\"hello\",\"protocol\":\"poolsim.io/reconcile/v0\",\"name\":\"old\",\"summary\":\"\"}'\nsleep 5\n",
        true,
    );
    let error = failing_start(&file.path, ExecOptions::default());
    assert_contains(
        &error.to_string(),
        &["unsupported protocol \"poolsim.io/reconcile/v0\""],
    );
}

#[test]
fn dropping_the_algorithm_closes_stdin_and_the_program_exits() {
    // The program records that it saw stdin close; the drop must wait for that.
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("saw-eof");
    let file = python_double_with_exit(
        "send(json.dumps({'type': 'actions', 'seq': seq, 'actions': []}))",
        &format!("open({:?}, 'w').write('bye')", marker.display().to_string()),
    );
    let algorithm = start(&file.path, ExecOptions::default()).expect("says hello");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert_eq!(algorithm.reconcile(&observation(), &mut rng), vec![]);
    assert_eq!(algorithm.failure().map(ToString::to_string), None);
    drop(algorithm);
    assert_eq!(
        std::fs::read_to_string(&marker).expect("exited cleanly"),
        "bye"
    );
}
