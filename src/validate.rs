//! `poolsim validate`: check scenario files, manifest files and folders of them, print
//! every problem, write nothing.
//!
//! A file is a scenario when one of its documents says `kind: Scenario` or an
//! `apiVersion` of `poolsim.io/...`; it is then checked exactly as `poolsim run` would
//! load it ([`sim::prepare`]). Any other YAML file is a manifest file, as a scenario's
//! `manifestFiles` would name it: one or more `---` documents, each decoded by the
//! manifest decoder with its admission checks, into the `default` namespace unless the
//! object names one.
//!
//! Placeholders: manifest files may hold `<key>` placeholders (the lab's files say
//! `lab-<username>`), which a scenario fills from `spec.placeholders`. Alone, a
//! manifest file gets them from `--placeholder key=value`. Decision: a placeholder
//! left without a value is a warning, not an error, and the file is checked with the
//! key's own name standing in for it (`lab-<username>` as `lab-username`): the file
//! is valid as the lab wrote it, and `validate scenarios/` must pass on a folder that
//! ships such files. Only single-line values are looked at, because multi-line text
//! (cloud-init user data, scripts) may hold `<...>` as content.
//!
//! Decision: YAML that is not a manifest (a first line `#cloud-config`, or no document
//! with `apiVersion`, `kind` or `metadata`: `scenario::object_files::not_a_manifest`)
//! gets a note saying what it is and how a scenario uses it (`spec.secrets[].fromFile`),
//! and does not make the folder invalid: the lab keeps its cloud-init user data beside
//! its manifests.
//!
//! Decision: a manifest file alone is not checked for the objects it refers to
//! (a Secret, a source PVC): those usually come from other files applied with it, and
//! the scenario that uses the file reports any that are missing.

use crate::input::FileKind;
use crate::scenario::decode::{child_path, Report};
use crate::scenario::diag::{Diagnostic, Severity};
use crate::scenario::manifest::decode_manifest;
use crate::scenario::manifest::import::{flatten_lists, summarize_server_fields};
use crate::scenario::object_files::{not_a_manifest, NotManifest};
use crate::scenario::yaml::{check_text, parse_documents, Limits, Node, NodeKind, Pos};
use crate::scenario::{Manifest, API_VERSION, DEFAULT_NAMESPACE, KIND, MAX_SUBSTITUTED_BYTES};
use crate::sim;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Extensions of the files a folder argument contributes.
const YAML_EXTENSIONS: &[&str] = &["yaml", "yml"];

/// What one file turned out to be, when it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Scenario,
    /// A manifest file holding this many objects.
    Manifest {
        objects: usize,
    },
    /// YAML that is not a Kubernetes manifest (cloud-init user data, say): a note,
    /// not a problem, since such files sit beside the manifests that use them (the
    /// lab's `labs/lab05/` folder).
    NotManifest(NotManifest),
}

/// The outcome of checking one file: what it is (if valid) and every diagnostic found.
#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub checked: Option<Checked>,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    pub fn is_valid(&self) -> bool {
        self.checked.is_some() && !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The line printed on stdout for a valid file.
    pub fn ok_line(&self) -> Option<String> {
        match self.checked.as_ref()? {
            Checked::Scenario => Some(format!("{}: ok", self.path.display())),
            Checked::Manifest { objects } => Some(format!(
                "{}: ok (manifest: {objects} object{})",
                self.path.display(),
                if *objects == 1 { "" } else { "s" }
            )),
            Checked::NotManifest(what) => Some(format!(
                "{}: note: {}",
                self.path.display(),
                what.explanation()
            )),
        }
    }
}

/// Parses one `--placeholder` value: `key=value`, the key written `<key>` in manifests.
pub fn parse_placeholder(text: &str) -> Result<(String, String), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!(
            "expected KEY=VALUE (for example username=user), got {text:?}"
        ));
    };
    if key.is_empty() || key.contains(['<', '>']) || key.contains(char::is_whitespace) {
        return Err(format!(
            "placeholder name {key:?} must be non-empty, without spaces, '<' or '>'; it is written <name> in manifests"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// The files the arguments name: files as given, folders searched recursively for
/// `*.yaml`/`*.yml` (sorted, so the output order is stable). A folder without any, or
/// an unreadable one, is an error diagnostic.
///
/// Decision: symbolic links to folders are followed, but each real folder is searched
/// once ([`FolderWalk`]), so a link back up the tree (a loop) ends the walk there
/// instead of running forever.
pub fn expand_paths(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut walk = FolderWalk::default();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            if let Err(error) = collect_yaml_files(path, &mut walk, &mut files) {
                problems.push(file_error(path, format!("cannot read the folder: {error}")));
                continue;
            }
            if files.len() == before {
                problems.push(file_error(
                    path,
                    "the folder holds no .yaml or .yml file to validate",
                ));
            }
        } else {
            files.push(path.clone());
        }
    }
    (files, problems)
}

/// The real (canonical) folders a walk has entered, so that each is entered once: a
/// symbolic link that leads back to a folder being walked is a loop.
#[derive(Debug, Default)]
pub struct FolderWalk {
    visited: std::collections::BTreeSet<PathBuf>,
}

impl FolderWalk {
    /// Whether `dir` is a folder not entered before (and now marked entered).
    pub fn enter(&mut self, dir: &Path) -> std::io::Result<bool> {
        Ok(self.visited.insert(dir.canonicalize()?))
    }
}

fn collect_yaml_files(
    dir: &Path,
    walk: &mut FolderWalk,
    files: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    if !walk.enter(dir)? {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_yaml_files(&entry, walk, files)?;
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| YAML_EXTENSIONS.contains(&e))
        {
            files.push(entry);
        }
    }
    Ok(())
}

fn file_error(path: &Path, message: impl Into<String>) -> Diagnostic {
    crate::scenario::diagnostic_at(path, Severity::Error, Pos::default(), "", message)
}

/// Checks one file: a scenario, or else a manifest file with `placeholders` filled in.
pub fn check_file(path: &Path, placeholders: &BTreeMap<String, String>) -> FileReport {
    let report = |checked, diagnostics| FileReport {
        path: path.to_path_buf(),
        checked,
        diagnostics,
    };
    let bytes = match crate::input::read_bytes(path, FileKind::Yaml) {
        Ok(bytes) => bytes,
        Err(error) => {
            return report(
                None,
                vec![file_error(
                    path,
                    format!("cannot read the file: {}", error.problem),
                )],
            )
        }
    };
    let limits = Limits::default();
    let documents = check_text(&bytes, &limits).and_then(|text| parse_documents(text, &limits));
    let scenario = documents
        .as_ref()
        .is_ok_and(|documents| documents.iter().any(is_scenario_document));
    if let Some(what) = not_a_manifest(&bytes, documents.as_deref().ok()).filter(|_| !scenario) {
        return report(Some(Checked::NotManifest(what)), Vec::new());
    }
    let documents = match documents {
        Ok(documents) => documents,
        Err(error) => {
            let diagnostic =
                crate::scenario::diagnostic_at(path, Severity::Error, error.pos, "", error.message);
            return report(None, vec![diagnostic]);
        }
    };
    if scenario {
        return match sim::prepare(path) {
            Ok(prepared) => report(Some(Checked::Scenario), prepared.warnings),
            Err(diagnostics) => report(None, diagnostics),
        };
    }
    let (objects, diagnostics) = check_manifest_documents(path, documents, placeholders);
    let checked = objects.map(|objects| Checked::Manifest { objects });
    report(checked, diagnostics)
}

/// Whether a document is (an attempt at) a scenario rather than a Kubernetes object.
fn is_scenario_document(document: &Node) -> bool {
    let scalar = |key: &str| document.get(key).and_then(Node::as_scalar);
    // The group of API_VERSION: a file of another poolsim version is still a scenario
    // (and gets the scenario loader's message about its apiVersion).
    let group = API_VERSION.split('/').next().unwrap_or(API_VERSION);
    scalar("kind") == Some(KIND)
        || scalar("apiVersion")
            .and_then(|v| v.split_once('/'))
            .is_some_and(|(g, _)| g == group)
}

/// Decodes every document of a manifest file. Returns the number of objects when no
/// error was found, and every diagnostic.
fn check_manifest_documents(
    path: &Path,
    documents: Vec<Node>,
    placeholders: &BTreeMap<String, String>,
) -> (Option<usize>, Vec<Diagnostic>) {
    let mut report = Report::new(path);
    let mut objects = 0;
    let mut manifests = Vec::new();
    // What the scenario loader allows substitution to produce (MAX_SUBSTITUTED_BYTES),
    // for the whole file: many uses of a long --placeholder value stay bounded.
    let mut budget = Some(MAX_SUBSTITUTED_BYTES);
    for (index, mut document) in documents.into_iter().enumerate() {
        // kubectl skips empty documents (for example after a trailing ---).
        if document.kind == NodeKind::Null {
            continue;
        }
        let field = format!("[{index}]");
        fill_placeholders(
            &mut document,
            &field,
            placeholders,
            &mut budget,
            &mut report,
        );
        // A `List` (as `kubectl get -o yaml` writes) stands for its items.
        for (object, field) in flatten_lists(&document, &field, &mut report) {
            let manifest = Manifest {
                file: path.to_path_buf(),
                field,
                object,
            };
            if decode_manifest(&manifest, DEFAULT_NAMESPACE, &mut report).is_some() {
                objects += 1;
            }
            manifests.push(manifest);
        }
    }
    summarize_server_fields(&manifests, &mut report);
    if objects == 0 && !report.has_errors() {
        report.error(
            Pos { line: 1, col: 1 },
            "",
            "the manifest file holds no object",
        );
    }
    let valid = !report.has_errors();
    (valid.then_some(objects), report.diagnostics)
}

/// Replaces `<key>` in single-line scalars (keys and values) by its value; a key
/// without a value gets a warning naming the flag, and its own name as a stand-in.
/// One pass: a value is never scanned again. `budget` is the number of substituted
/// bytes still allowed; passing it is an error (once), and `budget` becomes `None`.
fn fill_placeholders(
    node: &mut Node,
    path: &str,
    placeholders: &BTreeMap<String, String>,
    budget: &mut Option<usize>,
    report: &mut Report,
) {
    match &mut node.kind {
        NodeKind::Null => {}
        NodeKind::Scalar { text, .. } => {
            if text.contains('\n') || !text.contains('<') {
                return;
            }
            let mut filled = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(start) = rest.find('<') {
                filled.push_str(&rest[..start]);
                let after = &rest[start + 1..];
                match after.find('>').map(|end| &after[..end]) {
                    Some(key) if is_placeholder_name(key) => {
                        match placeholders.get(key) {
                            Some(value) => filled.push_str(value),
                            None => {
                                report.warning(
                                    node.pos,
                                    path,
                                    format!(
                                        "placeholder <{key}> has no value; give one with --placeholder {key}=VALUE (checked with {key:?} in its place)"
                                    ),
                                );
                                filled.push_str(key);
                            }
                        }
                        rest = &after[key.len() + 1..];
                        if budget.is_none_or(|left| filled.len() > left) {
                            substitution_limit(node.pos, path, budget, report);
                            return;
                        }
                    }
                    _ => {
                        filled.push('<');
                        rest = after;
                    }
                }
            }
            filled.push_str(rest);
            match budget.and_then(|left| left.checked_sub(filled.len())) {
                Some(left) => {
                    *budget = Some(left);
                    *text = filled;
                }
                None => substitution_limit(node.pos, path, budget, report),
            }
        }
        NodeKind::Seq(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                let item_path = format!("{path}[{index}]");
                fill_placeholders(item, &item_path, placeholders, budget, report);
            }
        }
        NodeKind::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                let name = key.as_scalar().unwrap_or_default().to_string();
                let child = child_path(path, &name);
                fill_placeholders(key, &child, placeholders, budget, report);
                fill_placeholders(value, &child, placeholders, budget, report);
            }
        }
    }
}

/// Reports passing [`MAX_SUBSTITUTED_BYTES`] the first time (`budget` still `Some`).
fn substitution_limit(pos: Pos, path: &str, budget: &mut Option<usize>, report: &mut Report) {
    if budget.take().is_some() {
        report.error(
            pos,
            path,
            format!(
                "filling in --placeholder values here makes the substituted text of this file more than {MAX_SUBSTITUTED_BYTES} bytes (16 MiB), poolsim's limit (MAX_SUBSTITUTED_BYTES, docs/LIMITS.md); a value is very long or used very often"
            ),
        );
    }
}

/// A placeholder name as `spec.placeholders` accepts it, restricted to the characters
/// of names and labels so that other uses of `<...>` are left alone.
fn is_placeholder_name(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> Node {
        Node {
            pos: Pos { line: 3, col: 5 },
            kind: NodeKind::Scalar {
                text: text.into(),
                plain: true,
            },
        }
    }

    fn filled(text: &str, placeholders: &[(&str, &str)]) -> (String, Vec<Diagnostic>) {
        let placeholders = placeholders
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut node = scalar(text);
        let mut report = Report::new(Path::new("m.yaml"));
        let mut budget = Some(MAX_SUBSTITUTED_BYTES);
        fill_placeholders(&mut node, "[0].x", &placeholders, &mut budget, &mut report);
        (node.as_scalar().unwrap().to_string(), report.diagnostics)
    }

    #[test]
    fn given_placeholders_are_filled_and_missing_ones_warn_with_the_flag() {
        assert_eq!(
            filled("lab-<username>", &[("username", "ann")]).0,
            "lab-ann"
        );
        let (text, diagnostics) = filled("lab-<username>", &[]);
        assert_eq!(text, "lab-username");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].severity, Severity::Warning);
        assert!(diagnostics[0]
            .message
            .contains("--placeholder username=VALUE"));
        assert_eq!((diagnostics[0].line, diagnostics[0].col), (3, 5));
    }

    #[test]
    fn filling_in_is_one_pass_and_bounded() {
        let (text, _) = filled("<a> <b>", &[("a", "<b><b>"), ("b", "x")]);
        assert_eq!(text, "<b><b> x");
        let big = "x".repeat(1024 * 1024);
        let (text, diagnostics) = filled(&"<big>".repeat(17), &[("big", &big)]);
        assert_eq!(text, "<big>".repeat(17), "left as written");
        assert_eq!(diagnostics.len(), 1);
        assert!(diagnostics[0].message.contains("MAX_SUBSTITUTED_BYTES"));
    }

    #[test]
    fn text_that_is_not_a_placeholder_is_left_alone() {
        assert_eq!(filled("a < b > c", &[]), ("a < b > c".to_string(), vec![]));
        assert_eq!(filled("<html>\n<body>", &[]).0, "<html>\n<body>");
        assert_eq!(filled("x<", &[]).0, "x<");
    }

    #[test]
    fn placeholder_flags_need_a_key_and_an_equals_sign() {
        assert_eq!(
            parse_placeholder("username=ann=b"),
            Ok(("username".into(), "ann=b".into()))
        );
        assert!(parse_placeholder("username").is_err());
        assert!(parse_placeholder("=x").is_err());
        assert!(parse_placeholder("<user>=x").is_err());
    }
}
