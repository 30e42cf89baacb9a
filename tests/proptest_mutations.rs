//! A mutation fuzzer over every shipped file under `scenarios/`: line and field
//! mutations of the shapes hostile input takes (duplicated keys, huge numbers, `..`
//! paths, symlink-like names, deep nesting, alias bombs, control characters, emoji,
//! placeholder bombs, huge counts) and byte mutations, through the library API as
//! `validate` and `run` use it (`sim::prepare_bytes`, then `check::run_prepared` with
//! a bounded duration and lowered runtime budgets).
//!
//! Asserted: no panic; a file that does not load fails with diagnostics, at least one
//! an error, each naming a file in the scenarios folder and a position (line and
//! column from 1); a run fails only on a runtime bound or an algorithm it cannot
//! start, never otherwise. The case count keeps the file well under 30 s of
//! `cargo test --release` on 2 cores.

use poolsim::check::run_prepared;
use poolsim::sim::{prepare_bytes, RunOptions};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Every `.yaml` file under `scenarios/`, with its contents, in path order.
fn shipped() -> &'static [(PathBuf, String)] {
    static FILES: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut files = Vec::new();
        collect(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"),
            &mut files,
        );
        files.sort();
        assert!(
            files.len() >= 20,
            "the scenarios folder holds {} files",
            files.len()
        );
        files
    })
}

fn collect(dir: &Path, files: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).expect("list scenarios") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read a shipped file");
            files.push((path, text));
        }
    }
}

/// Values hostile input puts where a scalar was.
const NASTY_VALUES: &[&str] = &[
    "../../etc/passwd",
    "lab05/../../../../x.yaml",
    "/dev/zero",
    "/proc/self/mem",
    "link -> /etc/shadow",
    "x/../../y",
    "\"\\e[2J\\x07\\0\"",
    "\"\u{1b}]0;title\u{7}\"",
    "🚀🔥",
    "\"🚀: 🔥\"",
    "<username><username><username>",
    "<nope>",
    "99999999999999999999999999",
    "1e400",
    "-1",
    "-9223372036854775809",
    "0x7fffffffffffffff",
    ".nan",
    "100000",
    "10000",
    "~",
    "[]",
    "{}",
    "!!binary AAAA",
    "*undefined",
    "&a [*a]",
];

/// One change to a file's text.
#[derive(Debug, Clone)]
enum Mutation {
    /// The line written twice: duplicated keys, repeated list items.
    DuplicateLine(usize),
    /// The value after the line's `: ` (or its list item) replaced.
    Value(usize, usize),
    /// The line's value replaced by a flow list nested `depth` deep.
    Nest(usize, usize),
    /// The line's value replaced by anchors of ten aliases each, `levels` deep.
    AliasBomb(usize, u32),
    /// A control character inserted in the line.
    Control(usize, usize, char),
    /// A key of emoji inserted before the line, at its indentation.
    EmojiKey(usize),
    /// Every placeholder value (or a new `spec.placeholders`) made huge.
    PlaceholderBomb(usize),
    /// Every `replicas:` and `nodes:` at poolsim's maximum or beyond.
    HugeCounts(u64),
    /// A byte flipped, as the byte fuzzer does.
    Flip(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let line = any::<usize>();
    prop_oneof![
        line.prop_map(Mutation::DuplicateLine),
        (line, 0..NASTY_VALUES.len()).prop_map(|(l, v)| Mutation::Value(l, v)),
        (line, 30usize..200).prop_map(|(l, d)| Mutation::Nest(l, d)),
        (line, 3u32..9).prop_map(|(l, n)| Mutation::AliasBomb(l, n)),
        (
            line,
            any::<usize>(),
            prop::sample::select(vec!['\u{0}', '\u{7}', '\u{1b}', '\r', '\u{7f}', '\u{202e}'])
        )
            .prop_map(|(l, at, c)| Mutation::Control(l, at, c)),
        line.prop_map(Mutation::EmojiKey),
        (1usize..200_000).prop_map(Mutation::PlaceholderBomb),
        prop::sample::select(vec![100_000u64, 100_001, 10_000, 4_294_967_296])
            .prop_map(Mutation::HugeCounts),
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
    ]
}

/// The line's text up to and including its key's `: `, or its list item's `- `.
fn key_part(line: &str) -> &str {
    if let Some(colon) = line.find(": ") {
        return &line[..colon + 2];
    }
    if line.trim_end().ends_with(':') {
        return line.trim_end();
    }
    let indent = line.len() - line.trim_start_matches([' ', '-']).len();
    &line[..indent]
}

fn alias_bomb(levels: u32) -> String {
    let mut bomb = String::from("[&a0 [x,x,x,x,x,x,x,x,x,x]");
    for level in 1..=levels {
        let previous = format!("*a{}", level - 1);
        let aliases = vec![previous; 10].join(",");
        bomb.push_str(&format!(", &a{level} [{aliases}]"));
    }
    bomb.push(']');
    bomb
}

fn apply_to_line(lines: &mut Vec<String>, mutation: &Mutation) {
    if lines.is_empty() {
        return;
    }
    let n = lines.len();
    match *mutation {
        Mutation::DuplicateLine(at) => lines.insert(at % n, lines[at % n].clone()),
        Mutation::Value(at, which) => {
            let key = key_part(&lines[at % n]).to_string();
            let sep = if key.ends_with(':') { " " } else { "" };
            lines[at % n] = format!("{key}{sep}{}", NASTY_VALUES[which]);
        }
        Mutation::Nest(at, depth) => {
            let key = key_part(&lines[at % n]).to_string();
            lines[at % n] = format!("{key} {}1{}", "[".repeat(depth), "]".repeat(depth));
        }
        Mutation::AliasBomb(at, levels) => {
            let key = key_part(&lines[at % n]).to_string();
            lines[at % n] = format!("{key} {}", alias_bomb(levels));
        }
        Mutation::Control(at, position, c) => {
            let line = &mut lines[at % n];
            let chars: Vec<char> = line.chars().collect();
            let position = position % (chars.len() + 1);
            *line = chars[..position]
                .iter()
                .chain(std::iter::once(&c))
                .chain(chars[position..].iter())
                .collect();
        }
        Mutation::EmojiKey(at) => {
            let line = &lines[at % n];
            let indent = " ".repeat(line.len() - line.trim_start().len());
            lines.insert(at % n, format!("{indent}🚀🔥: \"🎉\""));
        }
        _ => {}
    }
}

fn apply(text: &str, mutation: &Mutation) -> Vec<u8> {
    match *mutation {
        Mutation::PlaceholderBomb(size) => {
            let huge = "<username>".repeat(size / 10 + 1);
            if text.contains("  placeholders:") {
                text.replace("username: user", &format!("username: \"{huge}\""))
            } else {
                text.replacen(
                    "spec:\n",
                    &format!("spec:\n  placeholders: {{username: \"{huge}\"}}\n"),
                    1,
                )
            }
            .into_bytes()
        }
        Mutation::HugeCounts(count) => text
            .lines()
            .map(
                |line| match line.find("replicas: ").or(line.find("nodes: ")) {
                    Some(at) if !line.contains('{') => {
                        let key_end = line[at..].find(": ").unwrap() + at + 2;
                        format!("{}{count}\n", &line[..key_end])
                    }
                    _ => format!("{line}\n"),
                },
            )
            .collect::<String>()
            .into_bytes(),
        Mutation::Flip(at, bit) => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] ^= 1 << bit;
            }
            bytes
        }
        _ => {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            apply_to_line(&mut lines, mutation);
            let mut joined = lines.join("\n");
            joined.push('\n');
            joined.into_bytes()
        }
    }
}

/// How a checked file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Refused with diagnostics at positions.
    Invalid,
    /// Ran to its (bounded) end.
    Ran,
    /// Stopped by a runtime bound, or its algorithm could not start.
    Stopped,
}

/// `validate` and `run` of one mutated file, as the CLI does them, bounded.
fn check(path: &Path, bytes: &[u8]) -> Outcome {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut prepared = match prepare_bytes(bytes, path) {
        Ok(prepared) => prepared,
        Err(diagnostics) => {
            assert!(
                diagnostics.iter().any(|d| d.is_error()),
                "an Err without an error: {diagnostics:?}"
            );
            for diagnostic in diagnostics.iter().filter(|d| d.is_error()) {
                assert!(
                    diagnostic.file.starts_with(&folder),
                    "a diagnostic outside the scenarios folder: {diagnostic}"
                );
                assert!(
                    diagnostic.line >= 1 && diagnostic.col >= 1,
                    "an error without a position: {diagnostic}"
                );
            }
            return Outcome::Invalid;
        }
    };
    // Bounded: at most ten simulated minutes and small runtime budgets, so a mutated
    // count of 100,000 VMs costs milliseconds; reaching a budget is an Err, not a hang.
    prepared.scenario.duration_ms = prepared.scenario.duration_ms.min(600_000);
    prepared.settings.max_events_processed = 20_000;
    prepared.settings.max_scheduler_evaluations = 200_000;
    match run_prepared(&prepared, &RunOptions::default()) {
        Ok(_) => Outcome::Ran,
        Err(message) => {
            assert!(
                message.contains("docs/LIMITS.md") || message.contains("algorithm"),
                "a run failed other than on a runtime bound: {message}"
            );
            Outcome::Stopped
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn mutated_shipped_files_validate_and_run_or_fail_with_a_position(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let (path, text) = which.get(shipped());
        let mut bytes = text.clone().into_bytes();
        for m in &mutations {
            let current = String::from_utf8_lossy(&bytes).into_owned();
            bytes = apply(&current, m);
        }
        check(path, &bytes);
    }
}

#[test]
fn every_shape_reaches_every_shipped_scenario_once() {
    // Each shape on a fixed line of every file, so that no shape depends on the
    // random cases to be tried at all.
    let shapes = [
        Mutation::DuplicateLine(5),
        Mutation::Value(7, 0),
        Mutation::Value(3, 6),
        Mutation::Value(9, 8),
        Mutation::Value(12, 10),
        Mutation::Nest(6, 150),
        Mutation::AliasBomb(4, 8),
        Mutation::Control(2, 3, '\u{1b}'),
        Mutation::EmojiKey(8),
        Mutation::PlaceholderBomb(100_000),
        Mutation::HugeCounts(100_000),
    ];
    let mut outcomes = std::collections::BTreeMap::new();
    for (path, text) in shipped() {
        for shape in &shapes {
            let outcome = check(path, &apply(text, shape));
            *outcomes.entry(outcome).or_insert(0) += 1;
        }
    }
    // The shapes reach all three ends: refused, run, and stopped by a bound.
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    println!("{outcomes:?}");
}

#[test]
fn the_fuzz_seeds_pass_the_fuzz_targets_assertions() {
    // What `fuzz/fuzz_targets/scenario_parse.rs` asserts, on every committed seed
    // (the mutation shapes among them), so a seed that panics is caught here too.
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scenario_parse");
    let path = Path::new("/nonexistent-poolsim-fuzz/scenario.yaml");
    let mut mutation_seeds = 0;
    for entry in std::fs::read_dir(&seeds).expect("list the seeds") {
        let seed = entry.expect("entry").path();
        let name = seed.file_name().unwrap().to_string_lossy().into_owned();
        mutation_seeds += usize::from(name.starts_with("mutation_"));
        let bytes = std::fs::read(&seed).expect("read a seed");
        if let Err(diagnostics) = prepare_bytes(&bytes, path) {
            assert!(
                !diagnostics.is_empty(),
                "{name}: an Err without diagnostics"
            );
            for diagnostic in &diagnostics {
                assert!(
                    diagnostic.file.starts_with("/nonexistent-poolsim-fuzz"),
                    "{name}: {diagnostic}"
                );
            }
        }
    }
    assert!(mutation_seeds >= 10, "{mutation_seeds} mutation seeds");
}
