//! External reconcile algorithms: a separate program that speaks the JSON-lines
//! protocol of `docs/PROTOCOL.md` (`poolsim.io/reconcile/v1`) on its stdin and stdout,
//! selected with `--algorithm exec:PATH`.
//!
//! Nothing here models upstream behaviour: it is a harness around a decision another
//! program makes. The wall clock is used only to bound how long poolsim waits for that
//! program and to reap it, never in the simulation: simulated time reaches the program
//! as `observation.nowMs` and randomness as `randomSeed`, so a deterministic program
//! keeps runs reproducible.
//!
//! Every wait is bounded: a reader thread per output pipe hands lines over a channel
//! and the reconcile waits with `recv_timeout`; a writer thread feeds stdin so that a
//! program that stops reading cannot block poolsim either. Lines are read with a size
//! limit, never unboundedly into memory.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::action::Action;
use super::admission::{self, escape_unprintable, needs_escape, quote_at_most, Refusal};
use super::observation::Observation;
use super::ReconcileAlgorithm;

/// The protocol name and version poolsim speaks; sent in the `hello` line.
pub const PROTOCOL_VERSION: &str = "poolsim.io/reconcile/v1";

/// How long poolsim waits for each answer by default before killing the program.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest line poolsim reads from the program by default (16 MiB, newline
/// excluded). A longer line fails the run instead of exhausting memory.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How long poolsim waits, after closing the program's stdin or seeing its stdout
/// close, for it to exit on its own before killing it.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Poll interval while waiting for the program to exit within [`EXIT_GRACE`].
const EXIT_POLL: Duration = Duration::from_millis(5);

/// How many of the program's last stderr lines an error message quotes.
const STDERR_TAIL_LINES: usize = 20;

/// Longer stderr lines are cut to this many bytes in the kept tail.
const STDERR_LINE_MAX_BYTES: usize = 2048;

/// How much of an invalid line an error message quotes.
const EXCERPT_MAX_CHARS: usize = 160;

/// The longest algorithm name a program may give in its `hello`.
const HELLO_NAME_MAX_CHARS: usize = 253;

/// How much of the message of an `error` answer an error message quotes.
const REPORTED_MAX_CHARS: usize = 2000;

/// Limits of one external program session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecOptions {
    /// The longest poolsim waits for the answer to `hello`: the program's start-up
    /// (an interpreter loading its libraries) is included, so it is longer.
    pub hello_timeout: Duration,
    /// The longest poolsim waits for the answer to one reconcile.
    pub answer_timeout: Duration,
    /// The longest line poolsim accepts from the program, newline excluded.
    pub max_line_bytes: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            hello_timeout: DEFAULT_ANSWER_TIMEOUT,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// Why an external program can no longer be used. Each message names the program and
/// the request it failed to answer (`hello` or `reconcile seq N`).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot start external algorithm {path}: {source}")]
    Spawn {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "external algorithm {path} {status} while poolsim waited for its answer to {request}{}",
        stderr_suffix(.stderr_tail)
    )]
    Exited {
        path: String,
        request: String,
        /// How it ended, e.g. `exited (exit status: 3)` or `exited (signal: 11 (SIGSEGV))`.
        status: String,
        /// Its last stderr lines, oldest first.
        stderr_tail: Vec<String>,
    },
    #[error(
        "external algorithm {path} did not answer {request} within {timeout_ms} ms and was killed{}",
        stderr_suffix(.stderr_tail)
    )]
    Timeout {
        path: String,
        request: String,
        timeout_ms: u128,
        stderr_tail: Vec<String>,
    },
    #[error("external algorithm {path} answered {request} with an invalid line: {problem}; the line was: {excerpt}")]
    Protocol {
        path: String,
        request: String,
        /// What is wrong, e.g. ``wrong seq: expected 3, got 2`` or ``action 1: missing field `name` ``.
        problem: String,
        /// The start of the offending line.
        excerpt: String,
    },
    #[error("external algorithm {path} wrote a line longer than {limit_bytes} bytes in answer to {request} and was killed")]
    OversizedLine {
        path: String,
        request: String,
        limit_bytes: usize,
    },
    /// The program's message, with control characters escaped, so that an escape
    /// sequence in it (`\x1b[2J` clears a screen) reaches no terminal, and cut.
    #[error("external algorithm {path} reported an error in answer to {request}: {}", reported_message(.message))]
    Reported {
        path: String,
        request: String,
        message: String,
    },
    /// A well-formed answer with an action the API server or the work queue would
    /// refuse (`admission::admit`).
    #[error("external algorithm {path} answered {request} with an action poolsim refuses: {refusal}; see docs/PROTOCOL.md, \"Admission\"")]
    Refused {
        path: String,
        request: String,
        refusal: Refusal,
    },
    #[error("cannot encode {request} for external algorithm {path}: {source}")]
    Encode {
        path: String,
        request: String,
        #[source]
        source: serde_json::Error,
    },
}

fn reported_message(message: &str) -> String {
    let cut: String = message.chars().take(REPORTED_MAX_CHARS).collect();
    let more = if cut.len() < message.len() {
        " ... (cut)"
    } else {
        ""
    };
    format!("{}{more}", escape_unprintable(&cut))
}

fn stderr_suffix(stderr_tail: &[String]) -> String {
    if stderr_tail.is_empty() {
        return "; it wrote nothing to stderr".to_string();
    }
    let mut text = String::from("; last lines of its stderr:");
    for line in stderr_tail {
        text.push_str("\n  | ");
        text.push_str(&escape_unprintable(line));
    }
    text
}

/// A reconcile algorithm run as a separate program (`--algorithm exec:PATH`).
///
/// The program is started once, by [`spawn`]; every [`ReconcileAlgorithm::reconcile`]
/// is one request and one answer. The first failure is recorded ([`Self::failure`]),
/// the program is killed and every later reconcile returns no actions: the runtime
/// checks [`ReconcileAlgorithm::failure`] and stops the run (exit code 2).
pub struct ExecAlgorithm {
    path: String,
    name: &'static str,
    summary: &'static str,
    options: ExecOptions,
    /// `None` once the program has failed and been reaped.
    session: Mutex<Option<Session>>,
    failure: OnceLock<ExecError>,
}

/// Starts `path` (no arguments) with the default [`ExecOptions`] and completes the
/// `hello` exchange. A path without `/` is looked up in `PATH`, as a shell does.
pub fn spawn(path: &Path) -> Result<ExecAlgorithm, ExecError> {
    spawn_with(path, ExecOptions::default())
}

/// [`spawn`] with explicit limits.
pub fn spawn_with(path: &Path, options: ExecOptions) -> Result<ExecAlgorithm, ExecError> {
    let display_path = path.display().to_string();
    let mut session = Session::start(path, &display_path, options)?;
    let hello = match session.hello() {
        Ok(hello) => hello,
        Err(error) => {
            session.kill();
            return Err(error);
        }
    };
    // The trait hands out `&'static str`; one small leak per started program.
    let name: &'static str = Box::leak(hello.name.into_boxed_str());
    let summary: &'static str = Box::leak(hello.summary.into_boxed_str());
    Ok(ExecAlgorithm {
        path: display_path,
        name,
        summary,
        options,
        session: Mutex::new(Some(session)),
        failure: OnceLock::new(),
    })
}

impl ExecAlgorithm {
    /// The first protocol failure, if any; from then on the program is gone and
    /// `reconcile` returns no actions.
    pub fn failure(&self) -> Option<&ExecError> {
        self.failure.get()
    }

    /// The program as given to [`spawn`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The limits this session runs with.
    pub fn options(&self) -> ExecOptions {
        self.options
    }
}

impl ReconcileAlgorithm for ExecAlgorithm {
    fn name(&self) -> &'static str {
        self.name
    }

    fn summary(&self) -> &'static str {
        self.summary
    }

    fn reconcile(&self, observed: &Observation, rng: &mut dyn rand::RngCore) -> Vec<Action> {
        // Drawn even after a failure, so the stream advances the same way in every
        // reconcile. 53 bits: every JSON parser holds the integer exactly.
        let random_seed = rng.next_u64() >> 11;
        if self.failure.get().is_some() {
            return Vec::new();
        }
        let mut guard = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(session) = guard.as_mut() else {
            return Vec::new();
        };
        match session.reconcile(observed, random_seed) {
            Ok(actions) => actions,
            Err(error) => {
                if let Some(mut session) = guard.take() {
                    session.kill();
                }
                let _ = self.failure.set(error);
                Vec::new()
            }
        }
    }

    fn failure(&self) -> Option<String> {
        self.failure.get().map(ToString::to_string)
    }
}

/// What poolsim writes. Field names are the protocol's.
#[derive(Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
enum Request<'a> {
    Hello {
        protocol: &'static str,
        algorithm: &'a str,
    },
    Reconcile {
        seq: u64,
        random_seed: u64,
        observation: &'a Observation,
    },
}

/// The program's answer to `hello`.
struct Hello {
    name: String,
    summary: String,
}

/// What the stdout reader thread hands over.
enum StdoutEvent {
    Line(Vec<u8>),
    TooLong,
    Closed,
}

/// One running program and the threads around its pipes.
struct Session {
    path: String,
    options: ExecOptions,
    child: Child,
    /// Lines for the writer thread; dropping it closes the program's stdin.
    requests: Option<Sender<Vec<u8>>>,
    answers: Receiver<StdoutEvent>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// Disconnects when the stderr reader thread has seen the pipe close.
    stderr_closed: Receiver<()>,
    next_seq: u64,
    reaped: bool,
}

impl Session {
    fn start(path: &Path, display_path: &str, options: ExecOptions) -> Result<Session, ExecError> {
        let spawn_error = |source| ExecError::Spawn {
            path: display_path.to_string(),
            source,
        };
        let mut child = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(spawn_error(io::Error::other("its pipes were not set up")));
        };

        let (requests, pending_requests) = mpsc::channel::<Vec<u8>>();
        let (answer_sender, answers) = mpsc::channel();
        let (stderr_closed_sender, stderr_closed) = mpsc::channel::<()>();
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let max_line_bytes = options.max_line_bytes;
        let tail = Arc::clone(&stderr_tail);
        // Threads are detached: each ends when its pipe closes, which killing the
        // program guarantees (unless the program left children holding the pipe).
        let started = thread::Builder::new()
            .name("exec-stdin".into())
            .spawn(move || write_requests(stdin, pending_requests))
            .and_then(|_| {
                thread::Builder::new()
                    .name("exec-stdout".into())
                    .spawn(move || read_answers(stdout, max_line_bytes, answer_sender))
            })
            .and_then(|_| {
                thread::Builder::new()
                    .name("exec-stderr".into())
                    .spawn(move || keep_stderr_tail(stderr, tail, stderr_closed_sender))
            });
        let session = Session {
            path: display_path.to_string(),
            options,
            child,
            requests: Some(requests),
            answers,
            stderr_tail,
            stderr_closed,
            next_seq: 1,
            reaped: false,
        };
        // On error `session` is dropped here, which kills and reaps the program.
        started.map_err(spawn_error)?;
        Ok(session)
    }

    fn hello(&mut self) -> Result<Hello, ExecError> {
        let request = "hello".to_string();
        let line = self.encode(
            &Request::Hello {
                protocol: PROTOCOL_VERSION,
                algorithm: &format!("exec:{}", self.path),
            },
            &request,
        )?;
        let answer = self.exchange(line, &request, self.options.hello_timeout)?;
        let object = self.parse_answer(&answer, &request, "hello", None)?;
        let invalid = |problem: String| self.protocol_error(&request, problem, &answer);
        if let Some(protocol) = object.get("protocol") {
            if protocol.as_str() != Some(PROTOCOL_VERSION) {
                return Err(invalid(format!(
                    "unsupported protocol {protocol}, poolsim speaks {PROTOCOL_VERSION:?}"
                )));
            }
        }
        let name = required_string(&object, "name").map_err(&invalid)?;
        // The name reaches summary.json and reports: printable text only, and short.
        if name.is_empty()
            || name.chars().count() > HELLO_NAME_MAX_CHARS
            || name.chars().any(|c| c.is_whitespace() || needs_escape(c))
        {
            return Err(invalid(format!(
                "field `name` must be a non-empty string of at most {HELLO_NAME_MAX_CHARS} printable characters without spaces, got {}",
                quote_at_most(&name, EXCERPT_MAX_CHARS)
            )));
        }
        // The summary is free text; it is kept with control characters escaped.
        let summary = required_string(&object, "summary").map_err(&invalid)?;
        let summary = escape_unprintable(&summary);
        Ok(Hello { name, summary })
    }

    fn reconcile(
        &mut self,
        observation: &Observation,
        random_seed: u64,
    ) -> Result<Vec<Action>, ExecError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let request = format!("reconcile seq {seq}");
        let line = self.encode(
            &Request::Reconcile {
                seq,
                random_seed,
                observation,
            },
            &request,
        )?;
        let answer = self.exchange(line, &request, self.options.answer_timeout)?;
        let mut object = self.parse_answer(&answer, &request, "actions", Some(seq))?;
        let invalid = |problem: String| self.protocol_error(&request, problem, &answer);
        let actions = match object.remove("actions") {
            Some(Value::Array(actions)) => actions,
            Some(other) => {
                return Err(invalid(format!(
                    "field `actions` must be an array, got {}",
                    json_kind(&other)
                )))
            }
            None => return Err(invalid("missing field `actions`".to_string())),
        };
        let actions = actions
            .into_iter()
            .enumerate()
            .map(|(position, action)| {
                serde_json::from_value::<Action>(action)
                    .map_err(|error| invalid(format!("action {position}: {error}")))
            })
            .collect::<Result<Vec<Action>, ExecError>>()?;
        admission::admit(observation, &actions).map_err(|refusal| ExecError::Refused {
            path: self.path.clone(),
            request,
            refusal,
        })?;
        Ok(actions)
    }

    fn encode(&self, request: &Request, name: &str) -> Result<Vec<u8>, ExecError> {
        let mut line = serde_json::to_vec(request).map_err(|source| ExecError::Encode {
            path: self.path.clone(),
            request: name.to_string(),
            source,
        })?;
        line.push(b'\n');
        Ok(line)
    }

    /// Sends one line and waits, at most `timeout`, for one line back.
    fn exchange(
        &mut self,
        line: Vec<u8>,
        request: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, ExecError> {
        // If the writer thread is gone the program closed its stdin or exited; the
        // stdout side tells which, so a failed send is not an error by itself.
        if let Some(requests) = &self.requests {
            let _ = requests.send(line);
        }
        match self.answers.recv_timeout(timeout) {
            Ok(StdoutEvent::Line(answer)) => Ok(answer),
            Ok(StdoutEvent::TooLong) => {
                self.kill();
                Err(ExecError::OversizedLine {
                    path: self.path.clone(),
                    request: request.to_string(),
                    limit_bytes: self.options.max_line_bytes,
                })
            }
            Ok(StdoutEvent::Closed) | Err(RecvTimeoutError::Disconnected) => {
                let status = match self.wait_for_exit(EXIT_GRACE) {
                    Some(status) => format!("exited ({status})"),
                    None => {
                        self.kill();
                        "closed its stdout (killed, as it did not exit)".to_string()
                    }
                };
                Err(ExecError::Exited {
                    path: self.path.clone(),
                    request: request.to_string(),
                    status,
                    stderr_tail: self.stderr_tail(),
                })
            }
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Err(ExecError::Timeout {
                    path: self.path.clone(),
                    request: request.to_string(),
                    timeout_ms: timeout.as_millis(),
                    stderr_tail: self.stderr_tail(),
                })
            }
        }
    }

    /// Checks the envelope of an answer: a JSON object whose `type` is `expected_type`
    /// (or `error`, which fails the run with the program's message) and, for actions,
    /// whose `seq` is `expected_seq`.
    fn parse_answer(
        &self,
        line: &[u8],
        request: &str,
        expected_type: &str,
        expected_seq: Option<u64>,
    ) -> Result<Map<String, Value>, ExecError> {
        let invalid = |problem: String| self.protocol_error(request, problem, line);
        let text =
            std::str::from_utf8(line).map_err(|error| invalid(format!("not UTF-8 ({error})")))?;
        let value: Value =
            serde_json::from_str(text).map_err(|error| invalid(format!("not JSON ({error})")))?;
        let Value::Object(object) = value else {
            return Err(invalid(format!(
                "expected a JSON object, got {}",
                json_kind(&value)
            )));
        };
        let kind = required_string(&object, "type").map_err(&invalid)?;
        if kind == "error" {
            let message = object
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_string();
            return Err(ExecError::Reported {
                path: self.path.clone(),
                request: request.to_string(),
                message,
            });
        }
        if kind != expected_type {
            return Err(invalid(format!(
                "expected type {expected_type:?}, got {kind:?}"
            )));
        }
        if let Some(expected_seq) = expected_seq {
            let seq = match object.get("seq") {
                None => return Err(invalid("missing field `seq`".to_string())),
                Some(seq) => seq.as_u64().ok_or_else(|| {
                    invalid(format!(
                        "field `seq` must be an unsigned integer, got {seq}"
                    ))
                })?,
            };
            if seq != expected_seq {
                return Err(invalid(format!(
                    "wrong seq: expected {expected_seq}, got {seq}"
                )));
            }
        }
        Ok(object)
    }

    fn protocol_error(&self, request: &str, problem: String, line: &[u8]) -> ExecError {
        ExecError::Protocol {
            path: self.path.clone(),
            request: request.to_string(),
            // serde's messages quote the offending value (an unknown variant) raw.
            problem: escape_unprintable(&problem),
            excerpt: excerpt(line),
        }
    }

    /// The program's last stderr lines. Waits briefly for the stderr pipe to close, so
    /// that what a crashing program printed last is included.
    fn stderr_tail(&self) -> Vec<String> {
        let _ = self.stderr_closed.recv_timeout(EXIT_GRACE);
        let tail = self
            .stderr_tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        tail.iter().cloned().collect()
    }

    /// Polls for the program's exit for at most `grace`.
    fn wait_for_exit(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        let mut waited = Duration::ZERO;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.reaped = true;
                    return Some(status);
                }
                Ok(None) if waited < grace => {
                    thread::sleep(EXIT_POLL);
                    waited += EXIT_POLL;
                }
                _ => return None,
            }
        }
    }

    /// Kills and reaps the program now.
    fn kill(&mut self) {
        self.requests = None;
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.reaped = true;
        }
    }
}

impl Drop for Session {
    /// Shutdown: close stdin, give the program a moment to exit on its own, then kill
    /// it; either way it is reaped.
    fn drop(&mut self) {
        self.requests = None;
        if !self.reaped && self.wait_for_exit(EXIT_GRACE).is_none() {
            self.kill();
        }
    }
}

fn required_string(object: &Map<String, Value>, field: &str) -> Result<String, String> {
    match object.get(field) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(format!(
            "field `{field}` must be a string, got {}",
            json_kind(other)
        )),
        None => Err(format!("missing field `{field}`")),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The start of `line`, lossily decoded, for error messages.
fn excerpt(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut excerpt: String = text.chars().take(EXCERPT_MAX_CHARS).collect();
    if excerpt.len() < text.len() {
        excerpt.push_str("...");
    }
    format!("{excerpt:?}")
}

/// Writer thread: one request line at a time; ends, closing stdin, when the session
/// drops its sender or the program stops reading.
fn write_requests(mut stdin: impl Write, requests: Receiver<Vec<u8>>) {
    for line in requests {
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            return;
        }
    }
}

/// Stdout reader thread: hands over complete lines of at most `max_line_bytes`.
fn read_answers(stdout: impl Read, max_line_bytes: usize, answers: Sender<StdoutEvent>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        let event = match read_bounded_line(&mut reader, max_line_bytes, &mut line) {
            Ok(LineRead::Line) => StdoutEvent::Line(std::mem::take(&mut line)),
            Ok(LineRead::TooLong) => StdoutEvent::TooLong,
            Ok(LineRead::End) | Err(_) => StdoutEvent::Closed,
        };
        let last = !matches!(event, StdoutEvent::Line(_));
        if answers.send(event).is_err() || last {
            return;
        }
    }
}

/// Stderr reader thread: keeps the last [`STDERR_TAIL_LINES`] lines, each cut to
/// [`STDERR_LINE_MAX_BYTES`]; drops `closed` when the pipe closes.
fn keep_stderr_tail(stderr: impl Read, tail: Arc<Mutex<VecDeque<String>>>, closed: Sender<()>) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        let text = match read_bounded_line(&mut reader, STDERR_LINE_MAX_BYTES, &mut line) {
            Ok(LineRead::Line) => String::from_utf8_lossy(&line).into_owned(),
            Ok(LineRead::TooLong) => {
                line.truncate(STDERR_LINE_MAX_BYTES);
                let text = format!("{}... (cut)", String::from_utf8_lossy(&line));
                if skip_rest_of_line(&mut reader).is_err() {
                    break;
                }
                text
            }
            Ok(LineRead::End) | Err(_) => break,
        };
        let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
    }
    drop(closed);
}

#[derive(Debug, PartialEq, Eq)]
enum LineRead {
    /// `line` holds one line, without its `\n` (or `\r\n`). A last line without a
    /// newline counts as a line.
    Line,
    /// More than `max_bytes` came before a newline; `line` holds the first bytes.
    TooLong,
    /// The pipe closed.
    End,
}

/// Reads one line into `line`, reading at most `max_bytes + 1` bytes.
fn read_bounded_line(
    reader: &mut impl BufRead,
    max_bytes: usize,
    line: &mut Vec<u8>,
) -> io::Result<LineRead> {
    line.clear();
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let read = reader.by_ref().take(limit).read_until(b'\n', line)?;
    if read == 0 {
        return Ok(LineRead::End);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        return Ok(LineRead::Line);
    }
    if line.len() > max_bytes {
        Ok(LineRead::TooLong)
    } else {
        Ok(LineRead::Line)
    }
}

/// Discards input up to and including the next newline, without buffering it.
fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&byte| byte == b'\n') {
            Some(newline) => {
                reader.consume(newline + 1);
                return Ok(());
            }
            None => {
                let length = buffer.len();
                reader.consume(length);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all_lines(input: &[u8], max_bytes: usize) -> Vec<(LineRead, Vec<u8>)> {
        let mut reader = BufReader::new(input);
        let mut line = Vec::new();
        let mut lines = Vec::new();
        loop {
            let read = read_bounded_line(&mut reader, max_bytes, &mut line).unwrap();
            match read {
                LineRead::End => return lines,
                LineRead::TooLong => {
                    lines.push((read, line.clone()));
                    skip_rest_of_line(&mut reader).unwrap();
                }
                LineRead::Line => lines.push((read, line.clone())),
            }
        }
    }

    #[test]
    fn bounded_lines_split_on_newlines_and_strip_carriage_returns() {
        let lines = read_all_lines(b"one\r\ntwo\nlast", 8);
        assert_eq!(
            lines,
            vec![
                (LineRead::Line, b"one".to_vec()),
                (LineRead::Line, b"two".to_vec()),
                (LineRead::Line, b"last".to_vec()),
            ]
        );
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes_and_one_byte_more_does_not() {
        let lines = read_all_lines(b"12345\n123456\nok\n", 5);
        assert_eq!(
            lines,
            vec![
                (LineRead::Line, b"12345".to_vec()),
                (LineRead::TooLong, b"123456".to_vec()),
                (LineRead::Line, b"ok".to_vec()),
            ]
        );
    }

    #[test]
    fn the_stderr_suffix_quotes_lines_or_says_there_were_none() {
        assert_eq!(stderr_suffix(&[]), "; it wrote nothing to stderr");
        let suffix = stderr_suffix(&["Traceback".to_string(), "boom".to_string()]);
        assert_eq!(
            suffix,
            "; last lines of its stderr:\n  | Traceback\n  | boom"
        );
    }

    #[test]
    fn excerpts_are_cut_and_quoted() {
        let long = vec![b'x'; 500];
        let text = excerpt(&long);
        assert!(text.starts_with("\"xxx"));
        assert!(text.ends_with("...\""));
        assert!(text.len() < 200);
    }
}
