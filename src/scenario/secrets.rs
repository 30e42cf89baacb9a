//! `spec.secrets`: Secrets made the way `kubectl create secret generic` makes them, so
//! a lab's `kubectl create secret generic lab05-cloudinit
//! --from-file=userdata=labs/lab05/cloudinit-userdata.yaml` is written
//! `{name: lab05-cloudinit, fromFile: [userdata=labs/lab05/cloudinit-userdata.yaml]}`.
//!
//! The rules are kubectl's (kubernetes/kubernetes
//! `staging/src/k8s.io/kubectl/pkg/cmd/create/create_secret.go`,
//! `CreateSecretOptions.createSecret`): literals first, then files, then env files;
//! `--from-file=[KEY=]PATH` (`pkg/util/util.go`, `ParseFileSource`: without a key, the
//! file's base name; a folder adds each regular file in it, by name, and takes no
//! key); `--from-literal=KEY=VALUE` (`ParseLiteralSource`); `--from-env-file=PATH`
//! (`pkg/cmd/util/env_file.go`, `AddFromEnvFile`), which cannot be combined with the
//! other two (`Validate`). Every key must be a valid ConfigMap key and unique
//! (`addKeyFromLiteralToSecret`, `IsConfigMapKey`), and the API server refuses a Secret
//! whose values hold more than 1 MiB together (`ValidateSecret`, `MaxSecretSize`).
//!
//! Paths are relative to the scenario file and stay inside its folder
//! (`input::inside_folder`), and files are read with the bounded reader. The contents
//! are taken as bytes, as kubectl does: placeholders are not filled in them. The
//! Secret becomes a manifest (`v1` Secret, values base64 in `data`, as kubectl sends
//! it), checked and applied at the start like the others.

use super::decode::{child_path, Report, Value};
use super::spec::{FileBudget, FilesRead};
use super::yaml::{Node, NodeKind, Pos};
use super::{Manifest, Severity};
use crate::api::validation::{
    config_map_key_problems, env_var_name_problems, is_dns1123_label, is_dns1123_subdomain,
};
use crate::input::{FileKind, MAX_SECRET_BYTES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Decodes `spec.secrets` into Secret manifests appended to `manifests`.
pub(super) fn decode_secrets(
    value: &Value<'_>,
    scenario_file: &Path,
    budget: &mut FileBudget,
    manifests: &mut Vec<Manifest>,
    report: &mut Report,
) {
    let Some(items) = value.seq(report) else {
        return;
    };
    let mut names = BTreeMap::new();
    for item in items {
        let mut reader = SecretReader {
            scenario_dir: scenario_file.parent().unwrap_or(Path::new("")),
            budget,
            data: BTreeMap::new(),
            bytes: 0,
        };
        if let Some(object) = reader.decode(&item, &mut names, report) {
            manifests.push(Manifest {
                file: scenario_file.to_path_buf(),
                field: item.path.clone(),
                object,
            });
        }
    }
}

/// One Secret being built: its data so far, each key with where it came from.
struct SecretReader<'a> {
    scenario_dir: &'a Path,
    budget: &'a mut FileBudget,
    data: BTreeMap<String, (Vec<u8>, String)>,
    bytes: u64,
}

impl SecretReader<'_> {
    /// The Secret object of one `spec.secrets` entry, or `None` (reported).
    fn decode(
        &mut self,
        item: &Value<'_>,
        names: &mut BTreeMap<String, u32>,
        report: &mut Report,
    ) -> Option<Node> {
        let mut map = item.map(report)?;
        let name = map
            .required("name", report)
            .and_then(|v| secret_name(&v, names, report));
        let namespace = map
            .optional("namespace")
            .and_then(|v| namespace(&v, report));
        let secret_type = map.optional("type").map(|v| v.non_empty_str(report));
        let literals = map.optional("fromLiteral");
        let from_files = map.optional("fromFile");
        let env_files = map.optional("fromEnvFile");
        map.finish_strict(report);
        let errors_before = error_count(report);
        if let (Some(env), true) = (&env_files, literals.is_some() || from_files.is_some()) {
            report.error(
                env.pos(),
                &env.path,
                "fromEnvFile cannot be combined with fromFile or fromLiteral (kubectl create secret generic refuses --from-env-file with --from-file or --from-literal); make two Secrets",
            );
        }
        // kubectl's order: literals, then files, then env files.
        for value in items(&literals, report) {
            self.literal(&value, report);
        }
        for value in items(&from_files, report) {
            self.file_source(&value, report);
        }
        for value in items(&env_files, report) {
            self.env_file(&value, report);
        }
        self.check_size(item, report);
        let (name, secret_type) = (name?, secret_type.unwrap_or(Some(String::new()))?);
        (error_count(report) == errors_before)
            .then(|| self.object(item.pos(), &name, namespace.as_deref(), &secret_type))
    }

    /// Adds one key, as `addKeyFromLiteralToSecret`: a valid ConfigMap key, not there
    /// yet. `source` names where it came from, for a later duplicate's message.
    fn add(
        &mut self,
        key: &str,
        value: Vec<u8>,
        at: (Pos, &str),
        source: String,
        report: &mut Report,
    ) {
        let problems = config_map_key_problems(key);
        if !problems.is_empty() {
            report.error(
                at.0,
                at.1,
                format!(
                    "{key:?} is not a valid key name for a Secret: {}; give a key of letters, digits, '-', '_' or '.' (fromFile: KEY=PATH)",
                    problems.join("; ")
                ),
            );
            return;
        }
        if let Some((_, first)) = self.data.get(key) {
            report.error(
                at.0,
                at.1,
                format!(
                    "cannot add key {key}, another key by that name already exists (from {first}); each key of a Secret must be unique"
                ),
            );
            return;
        }
        self.bytes += value.len() as u64;
        self.data.insert(key.to_string(), (value, source));
    }

    /// `fromLiteral: KEY=VALUE` or `{key, value}`.
    fn literal(&mut self, value: &Value<'_>, report: &mut Report) {
        let Some((key, text)) = key_and(value, "value", report) else {
            return;
        };
        let (key, text) = match (key, text) {
            (Some(key), text) => (key, text),
            // `ParseLiteralSource`: a key, then `=`, then the value (maybe empty).
            (None, text) => match text.split_once('=') {
                Some((key, rest)) if !key.is_empty() => (key.to_string(), rest.to_string()),
                _ => {
                    report.error(
                        value.pos(),
                        &value.path,
                        format!("invalid literal source {text}, expected key=value"),
                    );
                    return;
                }
            },
        };
        self.add(
            &key,
            text.into_bytes(),
            (value.pos(), &value.path),
            value.path.clone(),
            report,
        );
    }

    /// `fromFile: [KEY=]PATH` or `{key, path}`: a file, or each regular file of a folder.
    fn file_source(&mut self, value: &Value<'_>, report: &mut Report) {
        let Some((key, source)) = key_and(value, "path", report) else {
            return;
        };
        let (key, relative) = match key {
            Some(key) => (Some(key), source),
            None => match parse_file_source(&source) {
                Ok(parsed) => parsed,
                Err(message) => {
                    report.error(value.pos(), &value.path, message);
                    return;
                }
            },
        };
        let Some(path) = self.resolve(&relative, value, report) else {
            return;
        };
        if !path.is_dir() {
            let key = key.unwrap_or_else(|| base_name(&relative));
            if let Some(bytes) = self.read(&path, value, report) {
                self.add(
                    &key,
                    bytes,
                    (value.pos(), &value.path),
                    value.path.clone(),
                    report,
                );
            }
            return;
        }
        if key.is_some() {
            report.error(
                value.pos(),
                &value.path,
                format!("{relative:?} is a folder: cannot give a key name for a directory path (each file's name is its key)"),
            );
            return;
        }
        for (name, file) in self.folder_files(&path, value, report) {
            if let Some(bytes) = self.read(&file, value, report) {
                let source = format!("{} ({})", value.path, file.display());
                self.add(&name, bytes, (value.pos(), &value.path), source, report);
            }
        }
    }

    /// The regular files of a folder by name, as `os.ReadDir` lists them and
    /// `handleSecretFromFileSources` keeps them (subfolders, symbolic links and other
    /// entries are left out, so nothing outside the folder is read).
    fn folder_files(
        &self,
        dir: &Path,
        at: &Value<'_>,
        report: &mut Report,
    ) -> Vec<(String, PathBuf)> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                report.error(
                    at.pos(),
                    &at.path,
                    format!("cannot list {}: {error}", dir.display()),
                );
                return Vec::new();
            }
        };
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let regular = entry.file_type().is_ok_and(|t| t.is_file());
            match entry.file_name().into_string() {
                Ok(name) if regular => files.push((name, entry.path())),
                Ok(_) => {}
                Err(name) => report.error(
                    at.pos(),
                    &at.path,
                    format!(
                        "{name:?} in {} is not a UTF-8 name, so it cannot be a Secret key",
                        dir.display()
                    ),
                ),
            }
        }
        files.sort();
        files
    }

    /// `fromEnvFile: PATH`: `KEY=VALUE` lines, as kubectl's `AddFromEnvFile` reads them.
    fn env_file(&mut self, value: &Value<'_>, report: &mut Report) {
        let Some(relative) = value.non_empty_str(report) else {
            return;
        };
        let Some(path) = self.resolve(&relative, value, report) else {
            return;
        };
        if path.is_dir() {
            report.error(
                value.pos(),
                &value.path,
                format!("{relative:?} is a folder: env secret file cannot be a directory"),
            );
            return;
        }
        let Some(bytes) = self.read(&path, value, report) else {
            return;
        };
        for line in env_lines(&bytes, &path, report) {
            let at = Pos {
                line: line.number,
                col: 1,
            };
            let source = format!("{}:{}", path.display(), line.number);
            let mut file_report = Report::new(&path);
            self.add(
                &line.key,
                line.value.into_bytes(),
                (at, ""),
                source,
                &mut file_report,
            );
            report.diagnostics.append(&mut file_report.diagnostics);
        }
    }

    /// `relative` inside the scenario's folder, or `None` (reported at `at`).
    fn resolve(&self, relative: &str, at: &Value<'_>, report: &mut Report) -> Option<PathBuf> {
        match crate::input::inside_folder(self.scenario_dir, relative, "the scenario file's folder")
        {
            Ok(path) => Some(path),
            Err(message) => {
                report.error(at.pos(), &at.path, message);
                None
            }
        }
    }

    /// A source file's bytes, counted against the scenario's file budget; `None` once a
    /// limit is passed (so a Secret over 1 MiB stops reading files).
    fn read(&mut self, path: &Path, at: &Value<'_>, report: &mut Report) -> Option<Vec<u8>> {
        if self.bytes > MAX_SECRET_BYTES || self.budget.exhausted() {
            return None;
        }
        match crate::input::read_bytes(path, FileKind::SecretData) {
            Ok(bytes) => self
                .budget
                .add(at, bytes.len() as u64, FilesRead::Any, report)
                .then_some(bytes),
            Err(error) => {
                report.error(
                    at.pos(),
                    &at.path,
                    format!("cannot read {}: {}", path.display(), error.problem),
                );
                None
            }
        }
    }

    /// `ValidateSecret`: the values of one Secret hold at most 1 MiB together.
    fn check_size(&self, item: &Value<'_>, report: &mut Report) {
        if self.bytes > MAX_SECRET_BYTES {
            report.error(
                item.pos(),
                &item.path,
                format!(
                    "the Secret's data holds {} bytes (or more: reading stopped there), more than the API server's limit of {MAX_SECRET_BYTES} bytes (1 MiB, MaxSecretSize; ValidateSecret refuses it; MAX_SECRET_BYTES, docs/LIMITS.md)",
                    self.bytes
                ),
            );
        }
    }

    /// The Secret as kubectl sends it: `data` holds each value in base64.
    fn object(&self, pos: Pos, name: &str, namespace: Option<&str>, secret_type: &str) -> Node {
        let text = |text: &str| scalar(text, pos);
        let mut metadata = vec![(text("name"), text(name))];
        if let Some(namespace) = namespace {
            metadata.push((text("namespace"), text(namespace)));
        }
        let data = self
            .data
            .iter()
            .map(|(key, (value, _))| (text(key), text(&base64(value))))
            .collect();
        let mut entries = vec![
            (text("apiVersion"), text("v1")),
            (text("kind"), text("Secret")),
            (text("metadata"), mapping(metadata, pos)),
        ];
        if !secret_type.is_empty() {
            entries.push((text("type"), text(secret_type)));
        }
        entries.push((text("data"), mapping(data, pos)));
        mapping(entries, pos)
    }
}

/// The items of an optional list (none when absent or not a list, reported).
fn items<'n>(list: &Option<Value<'n>>, report: &mut Report) -> Vec<Value<'n>> {
    list.as_ref()
        .and_then(|list| list.seq(report))
        .unwrap_or_default()
}

fn error_count(report: &Report) -> usize {
    report.diagnostics.iter().filter(|d| d.is_error()).count()
}

/// A Secret name: a DNS-1123 subdomain (`ValidateSecretName`), once in `spec.secrets`
/// (a second `kubectl create secret` of one name fails with AlreadyExists).
fn secret_name(
    value: &Value<'_>,
    names: &mut BTreeMap<String, u32>,
    report: &mut Report,
) -> Option<String> {
    let name = value.non_empty_str(report)?;
    if !is_dns1123_subdomain(&name) {
        report.error(
            value.pos(),
            &value.path,
            format!("{name:?} is not a valid Secret name: use lowercase letters, digits, '-' and '.' (a DNS-1123 subdomain)"),
        );
        return None;
    }
    if let Some(line) = names.get(&name) {
        report.error(
            value.pos(),
            &value.path,
            format!("Secret {name:?} is already made on line {line}; kubectl create would fail with AlreadyExists. Give each Secret its own name"),
        );
        return None;
    }
    names.insert(name.clone(), value.pos().line);
    Some(name)
}

fn namespace(value: &Value<'_>, report: &mut Report) -> Option<String> {
    let text = value.non_empty_str(report)?;
    if is_dns1123_label(&text) {
        return Some(text);
    }
    report.error(
        value.pos(),
        &value.path,
        format!("{text:?} is not a valid namespace: use 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit (a DNS-1123 label)"),
    );
    None
}

/// A source written as kubectl's flag value (a string: `(None, text)`) or as a
/// mapping `{key, <other>}` (`(key, other)`; the key may be left out for `path`).
fn key_and(
    value: &Value<'_>,
    other: &'static str,
    report: &mut Report,
) -> Option<(Option<String>, String)> {
    if !matches!(value.node.kind, NodeKind::Map(_)) {
        return Some((None, value.str(report)?));
    }
    let mut map = value.map(report)?;
    let key = map.optional("key");
    let rest = map.required(other, report);
    map.finish_strict(report);
    let key = match key {
        Some(key) => Some(key.str(report)?),
        None if other == "value" => {
            report.error(
                value.pos(),
                &child_path(&value.path, "key"),
                "missing required field \"key\"",
            );
            return None;
        }
        None => None,
    };
    let rest = rest?;
    let rest = if other == "path" {
        rest.non_empty_str(report)?
    } else {
        rest.str(report)?
    };
    Some((key, rest))
}

/// `ParseFileSource`: `PATH` (the key is the base name) or `KEY=PATH`.
fn parse_file_source(source: &str) -> Result<(Option<String>, String), String> {
    match source.matches('=').count() {
        0 => Ok((None, source.to_string())),
        1 if source.starts_with('=') => Err(format!(
            "key name for file path {} missing; write KEY=PATH or just PATH",
            &source[1..]
        )),
        1 if source.ends_with('=') => Err(format!(
            "file path for key name {} missing; write KEY=PATH",
            &source[..source.len() - 1]
        )),
        1 => {
            let (key, path) = source.split_once('=').unwrap_or_default();
            Ok((Some(key.to_string()), path.to_string()))
        }
        _ => Err("key names or file paths cannot contain '='; write KEY=PATH".to_string()),
    }
}

/// `path.Base(filepath.ToSlash(source))`: the last element, trailing slashes ignored.
fn base_name(source: &str) -> String {
    let trimmed = source.trim_end_matches('/');
    match trimmed.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => "/".to_string(),
    }
}

/// One `KEY=VALUE` line of an env file, numbered from 1.
struct EnvLine {
    number: u32,
    key: String,
    value: String,
}

/// The lines of an env file as `AddFromEnvFile` reads them: split at `\n` (a `\r`
/// before it dropped, as `bufio.ScanLines` does), a UTF-8 BOM dropped from the first,
/// leading white space trimmed, empty lines and `#` comments skipped, the key up to
/// the first `=` (an environment variable name). Problems are reported in the file.
fn env_lines(bytes: &[u8], path: &Path, report: &mut Report) -> Vec<EnvLine> {
    let mut lines = Vec::new();
    let mut raw_lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if raw_lines.last().is_some_and(|line| line.is_empty()) {
        raw_lines.pop();
    }
    for (index, raw) in raw_lines.into_iter().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let error = |message: String| {
            crate::scenario::diagnostic_at(
                path,
                Severity::Error,
                Pos {
                    line: number,
                    col: 1,
                },
                "",
                message,
            )
        };
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = if index == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        let Ok(line) = std::str::from_utf8(raw) else {
            report.diagnostics.push(error(format!(
                "env file {} contains invalid utf8 bytes at line {number}",
                path.display()
            )));
            continue;
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((key, value)) => (key, value),
            None => {
                report.diagnostics.push(error(format!("{line:?} has no '=': kubectl would take its value from its own environment, which a simulation does not read; write {line}=VALUE")));
                continue;
            }
        };
        let problems = env_var_name_problems(key);
        if !problems.is_empty() {
            report.diagnostics.push(error(format!(
                "{key:?} is not a valid key name: {}",
                problems.join(";")
            )));
            continue;
        }
        lines.push(EnvLine {
            number,
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    lines
}

fn scalar(text: &str, pos: Pos) -> Node {
    Node {
        pos,
        kind: NodeKind::Scalar {
            text: text.to_string(),
            plain: false,
        },
    }
}

fn mapping(entries: Vec<(Node, Node)>, pos: Pos) -> Node {
    Node {
        pos,
        kind: NodeKind::Map(entries),
    }
}

/// Standard base64 with padding (RFC 4648 §4), as `encoding/json` writes `[]byte`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Diagnostic;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn file_sources_parse_as_kubectl_does() {
        assert_eq!(
            parse_file_source("userdata=labs/lab05/cloudinit-userdata.yaml"),
            Ok((
                Some("userdata".into()),
                "labs/lab05/cloudinit-userdata.yaml".into()
            ))
        );
        assert_eq!(parse_file_source("a/b.yaml"), Ok((None, "a/b.yaml".into())));
        assert!(parse_file_source("=a")
            .unwrap_err()
            .contains("key name for file path a missing"));
        assert!(parse_file_source("k=")
            .unwrap_err()
            .contains("file path for key name k missing"));
        assert!(parse_file_source("a=b=c")
            .unwrap_err()
            .contains("cannot contain '='"));
        assert_eq!(
            base_name("labs/lab05/cloudinit-userdata.yaml"),
            "cloudinit-userdata.yaml"
        );
        assert_eq!(base_name("labs/lab05/"), "lab05");
    }

    #[test]
    fn env_files_read_as_kubectl_reads_them() {
        let mut report = Report::new(Path::new("s.yaml"));
        let text = "\u{feff}# comment\r\n\n  A=1\r\nB=x=y\nC=\n1X=2\nNOVALUE\n";
        let lines = env_lines(text.as_bytes(), Path::new("a.env"), &mut report);
        let pairs: Vec<(u32, &str, &str)> = lines
            .iter()
            .map(|l| (l.number, l.key.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(pairs, vec![(3, "A", "1"), (4, "B", "x=y"), (5, "C", "")]);
        let messages: Vec<String> = report
            .diagnostics
            .iter()
            .map(Diagnostic::to_string)
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].starts_with("error: a.env:6:1: \"1X\" is not a valid key name"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("a.env:7:1") && messages[1].contains("NOVALUE=VALUE"),
            "{messages:?}"
        );
    }
}
