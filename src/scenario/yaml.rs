//! A safe YAML reader producing a tree with positions, built on `saphyr-parser` events.
//!
//! Scalars are kept as text: whether `2`, `"2"` or `yes` is a number, a string or a
//! boolean is decided per field by the decoder, the way Kubernetes' typed decoding
//! (`sigs.k8s.io/yaml` into Go structs) decides by the target field's type.
//!
//! Null: a plain (unquoted) scalar that is empty, `~`, `null`, `Null` or `NULL` becomes
//! [`NodeKind::Null`], as in the YAML 1.2 core schema that `sigs.k8s.io/yaml` follows.
//! Quoted `"null"` stays a string.
//!
//! Safety limits (see [`Limits`]): input size, nesting depth, and the number of nodes
//! after alias expansion, so an alias bomb ("billion laughs") fails fast with a clear
//! error instead of exhausting memory. Binary and non-UTF-8 input is refused.
//!
//! Not supported, on purpose: merge keys (`<<`) are read as an ordinary key (the
//! decoder then reports it as unknown), and tags other than the core schema ones
//! (`!!str`, `!!int`, ...) are refused.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};
use std::collections::BTreeMap;
use std::fmt;

/// A position in a file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One YAML node with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: NodeKind,
}

/// The shape of a node. Mapping entries keep their order of appearance.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    /// `plain` is true when the scalar was written unquoted (and not as a `|`/`>`
    /// block), i.e. when YAML would resolve it to a number, boolean or null.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this node is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value under `key` if this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(entry_key, _)| entry_key.as_scalar() == Some(key))
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// A short name of the node's shape, for messages ("a mapping", "a list", ...).
    pub fn shape(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// Converts to JSON: plain scalars become numbers, booleans or null when YAML 1.2
    /// would resolve them so (as `sigs.k8s.io/yaml` does before JSON decoding); all
    /// other scalars become strings. Used to hand manifests to the model.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Scalar { text, plain } => {
                if *plain {
                    match text.as_str() {
                        "true" | "True" | "TRUE" => return Value::Bool(true),
                        "false" | "False" | "FALSE" => return Value::Bool(false),
                        _ => {}
                    }
                    if let Ok(integer) = text.parse::<i64>() {
                        return Value::from(integer);
                    }
                    let looks_numeric = text.bytes().all(|b| {
                        b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')
                    }) && text.bytes().any(|b| b.is_ascii_digit());
                    if looks_numeric {
                        if let Some(number) = text
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                        {
                            return Value::Number(number);
                        }
                    }
                }
                Value::String(text.clone())
            }
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| {
                        (
                            key.as_scalar().unwrap_or_default().to_string(),
                            value.to_json(),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

/// A problem reading YAML, with the position it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Bounds that keep hostile or broken input from using unbounded time or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    /// Nodes in all documents of one file, after alias expansion.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            max_nodes: 100_000,
        }
    }
}

/// Checks raw file bytes before parsing: size, binary content, UTF-8. Strips a UTF-8
/// byte-order mark.
pub fn check_text<'bytes>(bytes: &'bytes [u8], limits: &Limits) -> Result<&'bytes str, YamlError> {
    let start = Pos { line: 1, col: 1 };
    if bytes.len() > limits.max_bytes {
        return Err(YamlError {
            pos: start,
            message: format!(
                "the file is {} bytes, more than the limit of {} bytes (4 MiB) for one YAML file",
                bytes.len(),
                limits.max_bytes
            ),
        });
    }
    if let Some(nul_index) = bytes.iter().position(|&b| b == 0) {
        return Err(YamlError {
            pos: position_of_byte(bytes, nul_index),
            message: "this is a binary file (it contains a NUL byte), not YAML text".to_string(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|error| YamlError {
        pos: position_of_byte(bytes, error.valid_up_to()),
        message: "the file is not valid UTF-8 text; save it as UTF-8".to_string(),
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn position_of_byte(bytes: &[u8], index: usize) -> Pos {
    let before = &bytes[..index];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Pos {
        line: line as u32,
        col: col as u32,
    }
}

/// Parses every document of a YAML stream (documents separated by `---`). Empty
/// documents are returned as [`NodeKind::Null`]; a stream with no document at all
/// gives an empty list.
pub fn parse_documents(text: &str, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    if text.len() > limits.max_bytes {
        return check_text(text.as_bytes(), limits).map(|_| Vec::new());
    }
    let mut builder = Builder {
        limits: *limits,
        node_count: 0,
        anchors: BTreeMap::new(),
        stack: Vec::new(),
        documents: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|error| scan_error(text, &error))?;
        builder.handle(event, span)?;
    }
    Ok(builder.documents)
}

/// Parses a file that must hold exactly one non-empty document.
pub fn parse_single(text: &str, limits: &Limits) -> Result<Node, YamlError> {
    let mut documents = parse_documents(text, limits)?;
    let start = Pos { line: 1, col: 1 };
    match documents.len() {
        0 => Err(YamlError {
            pos: start,
            message: "the file is empty: it holds no YAML document".to_string(),
        }),
        1 => {
            let document = documents.remove(0);
            if document.kind == NodeKind::Null {
                Err(YamlError {
                    pos: document.pos,
                    message: "the document is empty".to_string(),
                })
            } else {
                Ok(document)
            }
        }
        count => Err(YamlError {
            pos: documents[1].pos,
            message: format!(
                "expected one YAML document, found {count} (separated by ---); put other objects under spec.manifests or in spec.manifestFiles"
            ),
        }),
    }
}

fn scan_error(text: &str, error: &ScanError) -> YamlError {
    let marker = error.marker();
    let pos = Pos {
        line: marker.line() as u32,
        col: marker.col() as u32 + 1,
    };
    let mut message = format!("YAML syntax error: {}", error.info());
    let line_text = text.lines().nth(marker.line().saturating_sub(1));
    if error.info().contains("tab")
        || line_text.is_some_and(|line| line.trim_start_matches(' ').starts_with('\t'))
    {
        message.push_str("; YAML indentation must use spaces, not tabs");
    }
    YamlError { pos, message }
}

fn position(span: &Span) -> Pos {
    Pos {
        line: span.start.line() as u32,
        col: span.start.col() as u32 + 1,
    }
}

/// A collection being built, with its anchor so it can be recorded when it closes.
struct OpenCollection {
    node: Node,
    anchor_id: usize,
    /// For mappings: a key waiting for its value.
    pending_key: Option<Node>,
    /// Nodes counted so far inside this collection (itself included).
    size: usize,
    /// Keys already seen in this mapping, with the line of their first appearance.
    seen_keys: BTreeMap<String, u32>,
}

/// An anchored node with its size and height, so that expanding an alias can be
/// charged against the budget before any cloning happens.
struct Anchored {
    node: Node,
    size: usize,
    height: usize,
}

struct Builder {
    limits: Limits,
    node_count: usize,
    anchors: BTreeMap<usize, Anchored>,
    stack: Vec<OpenCollection>,
    documents: Vec<Node>,
}

impl Builder {
    fn handle(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let pos = position(&span);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                // Anchors are scoped to one document.
                self.anchors.clear();
                Ok(())
            }
            Event::Alias(anchor_id) => self.alias(anchor_id, pos),
            Event::Scalar(text, style, anchor_id, tag) => {
                let mut plain = style == ScalarStyle::Plain;
                if let Some(tag) = tag {
                    if !tag.is_yaml_core_schema() {
                        return Err(YamlError {
                            pos,
                            message: format!("the YAML tag {tag} is not supported; remove it"),
                        });
                    }
                    if tag.suffix == "str" {
                        plain = false;
                    }
                }
                self.charge(pos, 1)?;
                let is_null = plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL");
                let kind = if is_null {
                    NodeKind::Null
                } else {
                    NodeKind::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                let node = Node { pos, kind };
                if anchor_id > 0 {
                    self.anchors.insert(
                        anchor_id,
                        Anchored {
                            node: node.clone(),
                            size: 1,
                            height: 0,
                        },
                    );
                }
                self.add_node(node, 1)
            }
            Event::SequenceStart(anchor_id, ref tag) | Event::MappingStart(anchor_id, ref tag) => {
                if let Some(tag) = tag {
                    if !tag.is_yaml_core_schema() {
                        return Err(YamlError {
                            pos,
                            message: format!("the YAML tag {tag} is not supported; remove it"),
                        });
                    }
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(self.too_deep(pos));
                }
                self.charge(pos, 1)?;
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    NodeKind::Seq(Vec::new())
                } else {
                    NodeKind::Map(Vec::new())
                };
                self.stack.push(OpenCollection {
                    node: Node { pos, kind },
                    anchor_id,
                    pending_key: None,
                    size: 1,
                    seen_keys: BTreeMap::new(),
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => self.close_collection(pos),
        }
    }

    /// An alias: a copy of its anchored node, charged against the budget first.
    fn alias(&mut self, anchor_id: usize, pos: Pos) -> Result<(), YamlError> {
        let Some(anchored) = self.anchors.get(&anchor_id) else {
            return Err(YamlError {
                pos,
                message: "alias to an anchor that is not defined (or is still open)".to_string(),
            });
        };
        let (size, anchored_height) = (anchored.size, anchored.height);
        if self.stack.len() + anchored_height > self.limits.max_depth {
            return Err(self.too_deep(pos));
        }
        // Charge before cloning, so a bomb fails before it takes memory.
        self.charge(pos, size)?;
        let mut node = self.anchors[&anchor_id].node.clone();
        node.pos = pos;
        self.add_node(node, size)
    }

    /// The end of a sequence or mapping: anchored if it had an anchor, then added to
    /// its parent.
    fn close_collection(&mut self, pos: Pos) -> Result<(), YamlError> {
        let Some(open) = self.stack.pop() else {
            return Err(YamlError {
                pos,
                message: "unbalanced end of a collection".to_string(),
            });
        };
        if open.anchor_id > 0 {
            self.anchors.insert(
                open.anchor_id,
                Anchored {
                    node: open.node.clone(),
                    size: open.size,
                    height: height(&open.node),
                },
            );
        }
        self.add_node(open.node, open.size)
    }

    /// A duplicate key in the innermost open mapping, named by its field path
    /// (`spec.cluster.nodes`) so the message reads like the decoder's.
    fn duplicate_key(&self, pos: Pos, key: &str, first_line: u32) -> YamlError {
        let mut path = String::new();
        let parents = &self.stack[..self.stack.len().saturating_sub(1)];
        for open in parents {
            match (&open.node.kind, &open.pending_key) {
                (NodeKind::Seq(items), _) => path.push_str(&format!("[{}]", items.len())),
                (NodeKind::Map(_), Some(key)) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key.as_scalar().unwrap_or_default());
                }
                _ => {}
            }
        }
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        YamlError {
            pos,
            message: format!(
                "{path}: duplicate key {key:?}: first on line {first_line}, again on line {}; each key may appear once",
                pos.line
            ),
        }
    }

    fn too_deep(&self, pos: Pos) -> YamlError {
        YamlError {
            pos,
            message: format!(
                "the YAML nests deeper than {} levels; poolsim refuses such input",
                self.limits.max_depth
            ),
        }
    }

    fn charge(&mut self, pos: Pos, nodes: usize) -> Result<(), YamlError> {
        self.node_count = self.node_count.saturating_add(nodes);
        if self.node_count > self.limits.max_nodes {
            return Err(YamlError {
                pos,
                message: format!(
                    "the YAML has more than {} nodes after expanding aliases (an alias bomb?); poolsim refuses such input",
                    self.limits.max_nodes
                ),
            });
        }
        Ok(())
    }

    fn add_node(&mut self, node: Node, size: usize) -> Result<(), YamlError> {
        let Some(parent) = self.stack.last_mut() else {
            self.documents.push(node);
            return Ok(());
        };
        parent.size += size;
        match &mut parent.node.kind {
            NodeKind::Seq(items) => items.push(node),
            NodeKind::Map(entries) => match parent.pending_key.take() {
                None => {
                    let key_text = match &node.kind {
                        NodeKind::Scalar { text, .. } => text.clone(),
                        NodeKind::Null => String::new(),
                        _ => {
                            return Err(YamlError {
                                pos: node.pos,
                                message: format!(
                                    "a mapping key must be a plain string, not {}",
                                    node.shape()
                                ),
                            })
                        }
                    };
                    if let Some(&first_line) = parent.seen_keys.get(&key_text) {
                        let pos = node.pos;
                        return Err(self.duplicate_key(pos, &key_text, first_line));
                    }
                    parent.seen_keys.insert(key_text, node.pos.line);
                    parent.pending_key = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
            NodeKind::Null | NodeKind::Scalar { .. } => {
                unreachable!("only collections are pushed on the stack")
            }
        }
        Ok(())
    }
}

fn height(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Null | NodeKind::Scalar { .. } => 0,
        NodeKind::Seq(items) => 1 + items.iter().map(height).max().unwrap_or(0),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(_, value)| height(value))
                .max()
                .unwrap_or(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, YamlError> {
        parse_single(text, &Limits::default())
    }

    fn scalar(text: &str, plain: bool) -> NodeKind {
        NodeKind::Scalar {
            text: text.to_string(),
            plain,
        }
    }

    #[test]
    fn builds_a_tree_with_positions() {
        let node = parse("a: 1\nb:\n  - x\n  - \"2\"\nc: ~\nd:\n").unwrap();
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map: {node:?}")
        };
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].0.kind, scalar("a", true));
        assert_eq!(entries[0].1.kind, scalar("1", true));
        assert_eq!(entries[0].1.pos, Pos { line: 1, col: 4 });
        let NodeKind::Seq(items) = &entries[1].1.kind else {
            panic!("not a seq")
        };
        assert_eq!(items[1].kind, scalar("2", false));
        assert_eq!(items[1].pos, Pos { line: 4, col: 5 });
        assert_eq!(entries[2].1.kind, NodeKind::Null);
        assert_eq!(entries[3].1.kind, NodeKind::Null);
        assert_eq!(entries[3].0.pos, Pos { line: 6, col: 1 });
    }

    #[test]
    fn quoted_null_stays_a_string() {
        let node = parse("a: 'null'\nb: null\nc: !!str null\n").unwrap();
        assert_eq!(node.get("a").unwrap().kind, scalar("null", false));
        assert_eq!(node.get("b").unwrap().kind, NodeKind::Null);
        assert_eq!(node.get("c").unwrap().kind, scalar("null", false));
    }

    #[test]
    fn aliases_are_expanded() {
        let node = parse("base: &b {cpu: 2}\ncopy: *b\n").unwrap();
        assert_eq!(
            node.get("copy").unwrap().get("cpu").unwrap().kind,
            scalar("2", true)
        );
        assert_eq!(node.get("copy").unwrap().pos.line, 2);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.message.contains("YAML syntax error"), "{error}");
        assert!(error.pos.line >= 1);
        let error = parse("a:\n\tb: 1\n").unwrap_err();
        assert!(error.message.contains("tabs"), "{error}");
        assert_eq!(error.pos.line, 2);
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let error = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.pos, Pos { line: 3, col: 1 });
        assert!(error.message.contains("line 1"), "{error}");
        assert!(error.message.contains("line 3"), "{error}");
        // Quoting does not make a different key.
        assert!(parse("a: 1\n'a': 2\n").is_err());
    }

    #[test]
    fn billion_laughs_fails_fast() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("alias bomb"), "{error}");
        assert!(error.message.contains("100000 nodes"), "{error}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("deeper than 64"), "{error}");
        let ok = format!("{}{}", "[".repeat(60), "]".repeat(60));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn deep_nesting_through_aliases_is_refused() {
        let inner = format!("{}{}", "[".repeat(40), "]".repeat(40));
        let text = format!("a: &x {inner}\nb: {}*x{}\n", "[".repeat(40), "]".repeat(40));
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("deeper than 64"), "{error}");
    }

    #[test]
    fn byte_checks() {
        let limits = Limits::default();
        let error = check_text(b"a: 1\nb: \x00\x01", &limits).unwrap_err();
        assert!(error.message.contains("binary"), "{error}");
        assert_eq!(error.pos, Pos { line: 2, col: 4 });
        let error = check_text(b"a: 1\nname: caf\xe9\n", &limits).unwrap_err();
        assert!(error.message.contains("UTF-8"), "{error}");
        assert_eq!(error.pos, Pos { line: 2, col: 10 });
        let big = vec![b'#'; limits.max_bytes + 1];
        assert!(check_text(&big, &limits)
            .unwrap_err()
            .message
            .contains("4 MiB"));
        assert_eq!(
            check_text("\u{feff}a: 1".as_bytes(), &limits).unwrap(),
            "a: 1"
        );
    }

    #[test]
    fn empty_and_multi_document_input() {
        assert!(parse("").unwrap_err().message.contains("empty"));
        assert!(parse("# only a comment\n")
            .unwrap_err()
            .message
            .contains("empty"));
        assert!(parse("---\n").unwrap_err().message.contains("empty"));
        let error = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(error.message.contains("found 2"), "{error}");
        let documents = parse_documents("a: 1\n---\n---\nb: 2\n", &Limits::default()).unwrap();
        assert_eq!(documents.len(), 3);
        assert_eq!(documents[1].kind, NodeKind::Null);
        assert_eq!(documents[2].get("b").unwrap().pos.line, 4);
    }

    #[test]
    fn complex_keys_and_custom_tags_are_refused() {
        assert!(parse("? [a]\n: 1\n").unwrap_err().message.contains("key"));
        assert!(parse("a: !custom 1\n").unwrap_err().message.contains("tag"));
    }

    #[test]
    fn converts_to_json_like_kubernetes_yaml() {
        let node = parse("a: 1\nb: '1'\nc: true\nd: 1.5\ne: ~\nf: [x]\ng: 1e3\nh: 0x1F\n").unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": 1, "b": "1", "c": true, "d": 1.5, "e": null, "f": ["x"], "g": 1000.0, "h": "0x1F"})
        );
    }
}
