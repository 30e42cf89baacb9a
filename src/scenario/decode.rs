//! A small typed decoder over [`Node`] trees that tracks the field path and position of
//! every value, collects every problem instead of stopping at the first, and never
//! panics.
//!
//! Scalar typing follows Kubernetes' typed decoding (`sigs.k8s.io/yaml` converts YAML
//! to JSON, then `encoding/json` decodes into the Go field's type): a number field
//! needs an unquoted number (`"2"` is a string and is refused, as
//! `cannot unmarshal string into Go value of type int32` would), a string field refuses
//! an unquoted number, boolean or null, and a `resource.Quantity` or
//! `metav1.Duration`-like field accepts both quoted and unquoted text.

use super::diag::{Diagnostic, Severity};
use super::yaml::{Node, NodeKind, Pos};
use crate::units;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Collects diagnostics for one file.
#[derive(Debug, Clone)]
pub struct Report {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(file: &Path) -> Self {
        Report {
            file: file.to_path_buf(),
            diagnostics: Vec::new(),
        }
    }

    pub fn error(&mut self, pos: Pos, field: &str, message: impl Into<String>) {
        self.push(Severity::Error, pos, field, message.into());
    }

    pub fn warning(&mut self, pos: Pos, field: &str, message: impl Into<String>) {
        self.push(Severity::Warning, pos, field, message.into());
    }

    fn push(&mut self, severity: Severity, pos: Pos, field: &str, message: String) {
        self.diagnostics.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line: pos.line,
            col: pos.col,
            field: field.to_string(),
            message,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The path of a child field: `spec` + `cluster` gives `spec.cluster`.
pub fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Describes a node as the user wrote it, for "got ..." in messages.
pub fn describe(node: &Node) -> String {
    match &node.kind {
        NodeKind::Null => "nothing (null)".to_string(),
        NodeKind::Scalar { text, .. } => format!("{text:?}"),
        NodeKind::Seq(_) => "a list".to_string(),
        NodeKind::Map(_) => "a mapping".to_string(),
    }
}

/// The closest valid name to `given`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(given: &str, valid: &[&'a str]) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in valid {
        let similarity =
            strsim::normalized_damerau_levenshtein(&given_lower, &candidate.to_lowercase());
        // Strictly better only: on a tie the earlier valid name wins, so the hint
        // does not depend on anything but the order of the list.
        if similarity >= 0.6 && best.is_none_or(|(best_similarity, _)| similarity > best_similarity)
        {
            best = Some((similarity, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// The valid name `given` is almost surely a misspelling of (similarity at least 0.8,
/// case-insensitive; stricter than [`did_you_mean`], because it turns a warning about
/// an unmodelled manifest field into an error).
fn near_miss<'a>(given: &str, valid: &[&'a str]) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    valid.iter().copied().find(|candidate| {
        strsim::normalized_damerau_levenshtein(&given_lower, &candidate.to_lowercase()) >= 0.8
    })
}

/// "did you mean X? valid: a, b, c" for an unknown name.
pub fn unknown_name_hint(given: &str, valid: &[&str]) -> String {
    let list = valid.join(", ");
    match did_you_mean(given, valid) {
        Some(suggestion) => format!("did you mean {suggestion:?}? valid: {list}"),
        None => format!("valid: {list}"),
    }
}

/// One value in the tree with its field path (paths are built as the decoder descends).
#[derive(Debug, Clone)]
pub struct Value<'n> {
    pub node: &'n Node,
    pub path: String,
}

fn is_null_like_plain(node: &Node) -> bool {
    matches!(node.kind, NodeKind::Null)
}

fn plain_resolves_to_non_string(text: &str) -> Option<&'static str> {
    match text {
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => Some("a boolean"),
        _ if parse_yaml_integer(text).is_some() => Some("a number"),
        _ if parse_yaml_float(text).is_some() => Some("a number"),
        _ => None,
    }
}

/// YAML 1.2 core schema integers: decimal with optional sign, `0o` octal, `0x` hex.
fn parse_yaml_integer(text: &str) -> Option<i128> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i128::from_str_radix(hex, 16).ok();
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return i128::from_str_radix(octal, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// YAML 1.2 core schema floats (finite ones only: a scenario has no use for `.inf`).
fn parse_yaml_float(text: &str) -> Option<f64> {
    let valid_chars = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if !valid_chars || !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<f64>().ok().filter(|value| value.is_finite())
}

impl<'n> Value<'n> {
    pub fn new(node: &'n Node, path: impl Into<String>) -> Self {
        Value {
            node,
            path: path.into(),
        }
    }

    pub fn pos(&self) -> Pos {
        self.node.pos
    }

    fn error(&self, report: &mut Report, message: impl Into<String>) {
        report.error(self.node.pos, &self.path, message);
    }

    /// Reports an error at this value: "expected {expected}, got {what the user wrote}".
    pub fn expected(&self, report: &mut Report, expected: &str) {
        let got = describe(self.node);
        self.error(report, format!("expected {expected}, got {got}"));
    }

    /// A string. Unquoted numbers, booleans and null are refused, as a Go string
    /// field would; the message tells to quote them.
    pub fn str(&self, report: &mut Report) -> Option<String> {
        match &self.node.kind {
            NodeKind::Scalar { text, plain } => {
                if *plain {
                    if let Some(kind) = plain_resolves_to_non_string(text) {
                        self.error(
                            report,
                            format!("expected a string, got {kind} ({text}); quote it (\"{text}\") to make it a string"),
                        );
                        return None;
                    }
                }
                Some(text.clone())
            }
            _ => {
                self.expected(report, "a string");
                None
            }
        }
    }

    /// A non-empty string.
    pub fn non_empty_str(&self, report: &mut Report) -> Option<String> {
        let text = self.str(report)?;
        if text.is_empty() {
            self.error(report, "must not be empty");
            return None;
        }
        Some(text)
    }

    /// `true` or `false`, unquoted.
    pub fn bool(&self, report: &mut Report) -> Option<bool> {
        match &self.node.kind {
            NodeKind::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => {
                    self.expected(report, "true or false");
                    None
                }
            },
            _ => {
                self.expected(report, "true or false (unquoted)");
                None
            }
        }
    }

    fn integer(&self) -> Option<i128> {
        match &self.node.kind {
            NodeKind::Scalar { text, plain: true } => parse_yaml_integer(text),
            _ => None,
        }
    }

    /// A whole number within `min..=max`, unquoted.
    pub fn i64_in(&self, report: &mut Report, min: i64, max: i64) -> Option<i64> {
        let expectation = format!("a whole number from {min} to {max}");
        match self.integer() {
            Some(value) if (i128::from(min)..=i128::from(max)).contains(&value) => {
                Some(value as i64)
            }
            _ => {
                self.expected(report, &expectation);
                None
            }
        }
    }

    /// A whole number from 0 to `u64::MAX`, unquoted.
    pub fn u64(&self, report: &mut Report) -> Option<u64> {
        match self.integer() {
            Some(value) if (0..=i128::from(u64::MAX)).contains(&value) => Some(value as u64),
            _ => {
                self.expected(report, &format!("a whole number from 0 to {}", u64::MAX));
                None
            }
        }
    }

    /// A finite number (integer or decimal), unquoted.
    pub fn f64(&self, report: &mut Report) -> Option<f64> {
        let value = match &self.node.kind {
            NodeKind::Scalar { text, plain: true } => parse_yaml_integer(text)
                .map(|integer| integer as f64)
                .or_else(|| parse_yaml_float(text)),
            _ => None,
        };
        if value.is_none() {
            self.expected(report, "a number");
        }
        value
    }

    /// A number that is at least `min`.
    pub fn f64_at_least(&self, report: &mut Report, min: f64) -> Option<f64> {
        let value = self.f64(report)?;
        if value < min {
            self.error(
                report,
                format!("expected a number of at least {min}, got {value}"),
            );
            return None;
        }
        Some(value)
    }

    fn scalar_text(&self, report: &mut Report, expected: &str) -> Option<&'n str> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => Some(text.as_str()),
            _ => {
                self.expected(report, expected);
                None
            }
        }
    }

    /// A Go duration (see [`units::parse_duration_ms`]), quoted or not.
    pub fn duration_ms(&self, report: &mut Report) -> Option<u64> {
        let text = self.scalar_text(report, "a duration such as 30s, 5m or 1h30m")?;
        match units::parse_duration_ms(text) {
            Ok(duration_ms) => Some(duration_ms),
            Err(error) => {
                self.error(report, error.0);
                None
            }
        }
    }

    /// A Kubernetes quantity (see [`units::parse_quantity`]), quoted or not.
    pub fn quantity(&self, report: &mut Report) -> Option<units::Quantity> {
        let text = self.scalar_text(report, "a quantity such as 500m, 2 or 64Gi")?;
        match units::parse_quantity(text) {
            Ok(quantity) => Some(quantity),
            Err(error) => {
                self.error(report, error.0);
                None
            }
        }
    }

    /// A quantity strictly greater than zero.
    pub fn positive_quantity(&self, report: &mut Report) -> Option<units::Quantity> {
        let quantity = self.quantity(report)?;
        if quantity.nano_value() <= 0 {
            self.error(
                report,
                format!("expected a quantity greater than 0, got {quantity}"),
            );
            return None;
        }
        Some(quantity)
    }

    /// One of `allowed` (quoted or not), with a did-you-mean on a near miss.
    pub fn one_of(&self, report: &mut Report, allowed: &[&str]) -> Option<String> {
        let text = self.scalar_text(report, &format!("one of {}", allowed.join(", ")))?;
        if allowed.contains(&text) {
            return Some(text.to_string());
        }
        let hint = unknown_name_hint(text, allowed);
        self.error(report, format!("unknown value {text:?}; {hint}"));
        None
    }

    /// A mapping of strings to strings (labels, placeholders). Values follow [`Self::str`].
    pub fn string_map(&self, report: &mut Report) -> Option<BTreeMap<String, String>> {
        let NodeKind::Map(entries) = &self.node.kind else {
            if is_null_like_plain(self.node) {
                return Some(BTreeMap::new());
            }
            self.expected(report, "a mapping of names to strings");
            return None;
        };
        let mut map = BTreeMap::new();
        let mut ok = true;
        for (key, value) in entries {
            let key_text = key.as_scalar().unwrap_or_default().to_string();
            let child = Value::new(value, child_path(&self.path, &key_text));
            match child.str(report) {
                Some(text) => {
                    map.insert(key_text, text);
                }
                None => ok = false,
            }
        }
        ok.then_some(map)
    }

    /// A mapping of labels (`metadata.labels`, `matchLabels`, `nodeSelector`, a
    /// Service's `selector`, a scenario node's `labels`): [`Self::string_map`] whose
    /// keys and values are checked as the API server checks labels
    /// (`metav1validation.ValidateLabels`), each problem reported at the key or value
    /// with upstream's message.
    pub fn label_map(&self, report: &mut Report) -> Option<BTreeMap<String, String>> {
        let map = self.string_map(report)?;
        let NodeKind::Map(entries) = &self.node.kind else {
            return Some(map);
        };
        let mut ok = true;
        for (key, value) in entries {
            let key_text = key.as_scalar().unwrap_or_default();
            let path = child_path(&self.path, key_text);
            for problem in crate::api::validation::label_key_problems(key_text) {
                report.error(
                    key.pos,
                    &path,
                    format!("Invalid value: {key_text:?}: {problem}"),
                );
                ok = false;
            }
            let value_text = map.get(key_text).map_or("", String::as_str);
            for problem in crate::api::validation::label_value_problems(value_text) {
                report.error(
                    value.pos,
                    &path,
                    format!("Invalid value: {value_text:?}: {problem}"),
                );
                ok = false;
            }
        }
        ok.then_some(map)
    }

    /// The items of a list, each with its path `path[i]`. Null counts as an empty list.
    pub fn seq(&self, report: &mut Report) -> Option<Vec<Value<'n>>> {
        match &self.node.kind {
            NodeKind::Seq(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| Value::new(item, format!("{}[{index}]", self.path)))
                    .collect(),
            ),
            NodeKind::Null => Some(Vec::new()),
            _ => {
                self.expected(report, "a list");
                None
            }
        }
    }

    /// Decodes each item of a list with `decode_item`; items that fail are dropped
    /// (their problems are reported) so later items are still checked.
    pub fn seq_of<T>(
        &self,
        report: &mut Report,
        mut decode_item: impl FnMut(&Value<'n>, &mut Report) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = self.seq(report)?;
        let mut decoded = Vec::with_capacity(items.len());
        let mut all_ok = true;
        for item in &items {
            match decode_item(item, report) {
                Some(value) => decoded.push(value),
                None => all_ok = false,
            }
        }
        all_ok.then_some(decoded)
    }

    /// Reads this value as a mapping.
    pub fn map(&self, report: &mut Report) -> Option<MapReader<'n>> {
        MapReader::new(self.node, &self.path, report)
    }
}

/// Reads the fields of one mapping, remembering which keys were used so that
/// [`MapReader::finish_strict`] or [`MapReader::finish_lenient`] can report the rest.
#[derive(Debug)]
pub struct MapReader<'n> {
    node: &'n Node,
    path: String,
    entries: &'n [(Node, Node)],
    used: Vec<bool>,
    known_keys: Vec<&'static str>,
}

impl<'n> MapReader<'n> {
    /// Starts reading `node` as a mapping; reports an error and returns `None` if it is
    /// not one. A null node (an empty value) reads as an empty mapping.
    pub fn new(node: &'n Node, path: &str, report: &mut Report) -> Option<Self> {
        let entries: &'n [(Node, Node)] = match &node.kind {
            NodeKind::Map(entries) => entries,
            NodeKind::Null => &[],
            _ => {
                report.error(
                    node.pos,
                    path,
                    format!("expected a mapping (key: value), got {}", describe(node)),
                );
                return None;
            }
        };
        Some(MapReader {
            node,
            path: path.to_string(),
            entries,
            used: vec![false; entries.len()],
            known_keys: Vec::new(),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn pos(&self) -> Pos {
        self.node.pos
    }

    /// Whether the mapping has `key` (without marking it used).
    pub fn has(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(entry_key, _)| entry_key.as_scalar() == Some(key))
    }

    /// The value under `key`, if present; marks the key as known and used.
    pub fn optional(&mut self, key: &'static str) -> Option<Value<'n>> {
        if !self.known_keys.contains(&key) {
            self.known_keys.push(key);
        }
        let index = self
            .entries
            .iter()
            .position(|(entry_key, _)| entry_key.as_scalar() == Some(key))?;
        self.used[index] = true;
        Some(Value::new(
            &self.entries[index].1,
            child_path(&self.path, key),
        ))
    }

    /// The value under `key`; reports "missing required field" if absent.
    pub fn required(&mut self, key: &'static str, report: &mut Report) -> Option<Value<'n>> {
        let value = self.optional(key);
        if value.is_none() {
            report.error(
                self.node.pos,
                &child_path(&self.path, key),
                format!("missing required field {key:?}"),
            );
        }
        value
    }

    /// Declares keys that are valid but read elsewhere, so they are not reported.
    pub fn allow(&mut self, keys: &[&'static str]) {
        for key in keys {
            let _ = self.optional(key);
        }
    }

    /// The keys this reader has been asked for, in order.
    pub fn known_keys(&self) -> &[&'static str] {
        &self.known_keys
    }

    fn unused(&self) -> impl Iterator<Item = &'n Node> + '_ {
        self.entries
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .map(|((key, _), _)| key)
    }

    /// Reports every key that was not read as an error, with a did-you-mean and the
    /// list of valid keys. For poolsim's own format, where a typo must not pass.
    pub fn finish_strict(self, report: &mut Report) {
        for key in self.unused() {
            let name = key.as_scalar().unwrap_or_default();
            let hint = unknown_name_hint(name, &self.known_keys);
            report.error(
                key.pos,
                &child_path(&self.path, name),
                format!("unknown field {name:?}; {hint}"),
            );
        }
    }

    /// Reports every key that was not read as a warning. For Kubernetes manifests,
    /// where real objects carry many fields poolsim does not model.
    ///
    /// Except a near miss: a key close to a field poolsim reads that is absent from
    /// this mapping (`replica` for `replicas`) is a typo, not an unmodelled field, so
    /// it is an error with a did-you-mean. A real cluster rejects it too: kubectl's
    /// `--validate` defaults to `strict` (kubernetes/kubernetes
    /// `staging/src/k8s.io/kubectl/pkg/cmd/util/helpers.go`, `AddValidateFlags`), and
    /// strict field validation fails on unknown fields.
    pub fn finish_lenient(self, report: &mut Report) {
        let absent: Vec<&str> = self
            .known_keys
            .iter()
            .copied()
            .filter(|known| !self.has(known))
            .collect();
        for key in self.unused() {
            let name = key.as_scalar().unwrap_or_default();
            let field = child_path(&self.path, name);
            match near_miss(name, &absent) {
                Some(suggestion) => report.error(
                    key.pos,
                    &field,
                    format!(
                        "unknown field {name:?}; did you mean {suggestion:?}? valid: {}",
                        self.known_keys.join(", ")
                    ),
                ),
                None => report.warning(key.pos, &field, "not modelled by poolsim, ignored"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::{parse_single, Limits};
    use super::*;

    fn with_map<T>(
        text: &str,
        decode: impl FnOnce(MapReader<'_>, &mut Report) -> T,
    ) -> (T, Report) {
        let node = parse_single(text, &Limits::default()).unwrap();
        let mut report = Report::new(Path::new("t.yaml"));
        let reader = MapReader::new(&node, "spec", &mut report).unwrap();
        let result = decode(reader, &mut report);
        (result, report)
    }

    fn messages(report: &Report) -> Vec<String> {
        report.diagnostics.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn typed_accessors_follow_kubernetes_typing() {
        let text =
            "n: 3\nq: \"3\"\ns: abc\nt: 42\nb: true\nbq: 'true'\nf: 0.5\nd: 1h30m\nc: 500m\n";
        let ((n, q, s, t, b, bq, f, d, c), report) = with_map(text, |mut map, report| {
            let n = map.required("n", report).unwrap().i64_in(report, 1, 10);
            let q = map.required("q", report).unwrap().i64_in(report, 1, 10);
            let s = map.required("s", report).unwrap().str(report);
            let t = map.required("t", report).unwrap().str(report);
            let b = map.required("b", report).unwrap().bool(report);
            let bq = map.required("bq", report).unwrap().bool(report);
            let f = map.required("f", report).unwrap().f64(report);
            let d = map.required("d", report).unwrap().duration_ms(report);
            let c = map.required("c", report).unwrap().quantity(report);
            map.finish_strict(report);
            (n, q, s, t, b, bq, f, d, c)
        });
        assert_eq!(n, Some(3));
        assert_eq!(q, None);
        assert_eq!(s.as_deref(), Some("abc"));
        assert_eq!(t, None);
        assert_eq!(b, Some(true));
        assert_eq!(bq, None);
        assert_eq!(f, Some(0.5));
        assert_eq!(d, Some(5_400_000));
        assert_eq!(c.unwrap().milli_value(), 500);
        let all = messages(&report);
        assert_eq!(all.len(), 3, "{all:#?}");
        assert_eq!(
            all[0],
            "error: t.yaml:2:4: spec.q: expected a whole number from 1 to 10, got \"3\""
        );
        assert!(all[1].contains("spec.t: expected a string, got a number (42); quote it"));
        assert!(all[2].starts_with("error: t.yaml:6:5: spec.bq: expected true or false"));
    }

    #[test]
    fn range_errors_say_what_is_valid() {
        let (_, report) = with_map("nodes: three\n", |mut map, report| {
            map.required("nodes", report)
                .unwrap()
                .i64_in(report, 1, 10000)
        });
        assert_eq!(
            messages(&report),
            ["error: t.yaml:1:8: spec.nodes: expected a whole number from 1 to 10000, got \"three\""]
        );
    }

    #[test]
    fn strict_finish_suggests_the_closest_key() {
        let (_, report) = with_map("replicas: 1\nreplcias: 2\nzzz: 3\n", |mut map, report| {
            map.optional("replicas");
            map.optional("paused");
            map.finish_strict(report);
        });
        let all = messages(&report);
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0],
            "error: t.yaml:2:1: spec.replcias: unknown field \"replcias\"; did you mean \"replicas\"? valid: replicas, paused"
        );
        assert_eq!(
            all[1],
            "error: t.yaml:3:1: spec.zzz: unknown field \"zzz\"; valid: replicas, paused"
        );
    }

    #[test]
    fn lenient_finish_warns() {
        let (_, report) = with_map("replicas: 1\nfoo: 2\n", |mut map, report| {
            map.optional("replicas");
            map.finish_lenient(report);
        });
        assert_eq!(
            messages(&report),
            ["warning: t.yaml:2:1: spec.foo: not modelled by poolsim, ignored"]
        );
    }

    #[test]
    fn missing_required_and_wrong_shapes() {
        let (_, report) = with_map("list: 3\nmap: [1]\n", |mut map, report| {
            map.required("absent", report);
            map.required("list", report).unwrap().seq(report);
            map.required("map", report).unwrap().map(report);
        });
        let all = messages(&report);
        assert_eq!(
            all[0],
            "error: t.yaml:1:1: spec.absent: missing required field \"absent\""
        );
        assert_eq!(
            all[1],
            "error: t.yaml:1:7: spec.list: expected a list, got \"3\""
        );
        assert_eq!(
            all[2],
            "error: t.yaml:2:6: spec.map: expected a mapping (key: value), got a list"
        );
    }

    #[test]
    fn seq_of_reports_every_bad_item_with_its_index() {
        let (values, report) = with_map("xs: [1, a, 3, b]\n", |mut map, report| {
            map.required("xs", report)
                .unwrap()
                .seq_of(report, |item, report| item.i64_in(report, 0, 9))
        });
        assert_eq!(values, None);
        let all = messages(&report);
        assert_eq!(all.len(), 2);
        assert!(all[0].contains("spec.xs[1]:"), "{all:?}");
        assert!(all[1].contains("spec.xs[3]:"), "{all:?}");
    }

    #[test]
    fn enums_and_string_maps() {
        let (result, report) =
            with_map("mode: Rnadom\nlabels: {a: x, b: 1}\n", |mut map, report| {
                let mode = map
                    .required("mode", report)
                    .unwrap()
                    .one_of(report, &["Random", "Descending"]);
                let labels = map.required("labels", report).unwrap().string_map(report);
                (mode, labels)
            });
        assert_eq!(result, (None, None));
        let all = messages(&report);
        assert!(all[0].contains("did you mean \"Random\"?"), "{all:?}");
        assert!(
            all[1].contains("spec.labels.b: expected a string"),
            "{all:?}"
        );
    }
}
