//! Upstream's name and label rules (kubernetes/kubernetes
//! `staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go` and
//! `pkg/api/validate/content`), used wherever a name or label comes from outside:
//! scenario manifests, scenario nodes, shard folders, external algorithms.

/// Whether `name` is a DNS-1123 label: 1 to 63 of `a-z`, `0-9`, `-`, starting and
/// ending alphanumeric. Upstream: kubernetes/kubernetes
/// `staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`, `IsDNS1123Label`.
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Whether `name` is a DNS-1123 subdomain (node names): at most 253 characters of
/// dot-separated labels. Upstream: same file, `IsDNS1123Subdomain`.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns1123_label)
}

/// The regular expression of a label value and of a qualified name's name part, as
/// upstream's messages quote it.
const QUALIFIED_NAME_FORMAT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

/// Whether `text` matches [`QUALIFIED_NAME_FORMAT`] (so is non-empty).
fn is_qualified_name_part(text: &str) -> bool {
    let bytes = text.as_bytes();
    let inner = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() && bytes.iter().all(inner)
        }
        _ => false,
    }
}

/// What is wrong with a label key (empty when it is valid): a qualified name, an
/// optional DNS-1123 subdomain prefix and `/`, then a name part of at most 63
/// characters. Upstream: kubernetes/kubernetes
/// `staging/src/k8s.io/apimachinery/pkg/api/validate/content` `IsLabelKey` (formerly
/// `util/validation.IsQualifiedName`), used by `metav1validation.ValidateLabels` and
/// `labels.NewRequirement`; the messages are upstream's.
pub fn label_key_problems(key: &str) -> Vec<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) if !name.contains('/') => (Some(prefix), name),
        Some(_) => {
            return vec![format!("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FORMAT}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")]
        }
        None => (None, key),
    };
    let mut problems = Vec::new();
    match prefix {
        Some("") => problems.push("prefix part must be non-empty".to_string()),
        Some(prefix) if !is_dns1123_subdomain(prefix) => problems.push(
            "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string(),
        ),
        _ => {}
    }
    if name.is_empty() {
        problems.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        problems.push("name part must be no more than 63 characters".to_string());
    }
    if !name.is_empty() && !is_qualified_name_part(name) {
        problems.push(format!("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FORMAT}')"));
    }
    problems
}

/// What is wrong with a label value (empty when it is valid): empty, or at most 63
/// characters matching `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`. Upstream: same
/// package, `IsLabelValue` (formerly `util/validation.IsValidLabelValue`).
pub fn label_value_problems(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > 63 {
        problems.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        problems.push(format!("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '({QUALIFIED_NAME_FORMAT})?')"));
    }
    problems
}

/// `.`, `..` and names starting with `..` would be a path out of the folder a key is
/// mounted into. Upstream: same file, `hasChDirPrefix`.
fn chdir_prefix_problems(value: &str) -> Vec<String> {
    if value == "." {
        vec!["must not be '.'".to_string()]
    } else if value == ".." {
        vec!["must not be '..'".to_string()]
    } else if value.starts_with("..") {
        vec!["must not start with '..'".to_string()]
    } else {
        Vec::new()
    }
}

/// What is wrong with a ConfigMap or Secret data key (empty when it is valid): at most
/// 253 bytes of `[-._a-zA-Z0-9]+`, not `.`/`..`/`..*`. Upstream: same file,
/// `IsConfigMapKey` (used by `ValidateSecret` and by kubectl's `create secret generic`,
/// `addKeyFromLiteralToSecret`); the messages are upstream's.
pub fn config_map_key_problems(key: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if key.len() > 253 {
        problems.push("must be no more than 253 characters".to_string());
    }
    let valid = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if key.is_empty() || !key.as_bytes().iter().all(valid) {
        problems.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string());
    }
    problems.extend(chdir_prefix_problems(key));
    problems
}

/// What is wrong with an environment variable name (empty when it is valid):
/// `[-._a-zA-Z][-._a-zA-Z0-9]*`, not `.`/`..`/`..*`. Upstream: same file,
/// `IsEnvVarName` (kubectl's `--from-env-file` checks each key with it,
/// `staging/src/k8s.io/kubectl/pkg/cmd/util/env_file.go`, `processEnvFileLine`).
pub fn env_var_name_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let bytes = name.as_bytes();
    let rest = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'_' | b'.'));
    if !first_ok || !bytes.iter().all(rest) {
        problems.push("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')".to_string());
    }
    problems.extend(chdir_prefix_problems(name));
    problems
}
