//! Helpers shared by the manifest tests.

// Each test file uses a different subset of the helpers.
#![allow(dead_code)]

use poolsim::api::Object;
use poolsim::scenario::decode::Report;
use poolsim::scenario::manifest::decode_object;
use poolsim::scenario::yaml::{parse_single, Limits};
use std::path::Path;

/// Decodes `text` as one manifest at field path `spec.manifests[0]`, namespace
/// `lab-user` by default.
pub fn decode(text: &str) -> (Option<Object>, Vec<String>) {
    let node = parse_single(text, &Limits::default()).expect("test YAML parses");
    let mut report = Report::new(Path::new("s.yaml"));
    let object = decode_object(&node, "spec.manifests[0]", "lab-user", &mut report);
    let messages = report.diagnostics.iter().map(ToString::to_string).collect();
    (object, messages)
}

/// Decodes `text` and expects success without any diagnostic.
pub fn decode_clean(text: &str) -> Object {
    let (object, messages) = decode(text);
    assert!(messages.is_empty(), "unexpected diagnostics: {messages:#?}");
    object.expect("decodes")
}

/// Decodes `text`, expects it to be rejected, and returns the error lines.
pub fn errors(text: &str) -> Vec<String> {
    let (object, messages) = decode(text);
    assert!(object.is_none(), "expected rejection, got {object:#?}");
    let errors: Vec<String> = messages
        .into_iter()
        .filter(|message| message.starts_with("error:"))
        .collect();
    assert!(!errors.is_empty());
    errors
}

/// Whether one message contains every fragment.
pub fn has(messages: &[String], fragments: &[&str]) -> bool {
    messages
        .iter()
        .any(|message| fragments.iter().all(|fragment| message.contains(fragment)))
}
