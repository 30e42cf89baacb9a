//! Kubernetes and KubeVirt manifests → typed [`api::Object`]s, checked the way the API
//! server and the KubeVirt admission webhooks would check them.
//!
//! Decoding follows the typed JSON decoding of the Go types (see [`super::decode`]):
//! a known field with the wrong type is an error; a field poolsim does not know or
//! does not model is a warning ("not modelled by poolsim, ignored"), never silence,
//! because real manifests carry many fields that do not change what poolsim
//! simulates. A few fields that are routine in manifests and cannot change the
//! simulated behaviour (disk buses, network interfaces, Service `targetPort`, ...)
//! are accepted without a warning; each reader says which.
//!
//! Admission checks cite their upstream source next to the code that makes them:
//! `vmpool-admitter.go`, `vms-admitter.go`, `vmi-create-admitter.go`,
//! `data-volume-template.go` (kubevirt/kubevirt) and the Kubernetes API validation.
//!
//! Layout: this file dispatches on `apiVersion`/`kind` and reads `metadata`; [`pool`]
//! reads VirtualMachinePools, [`core`] the core and storage kinds, [`hpa`] the
//! HorizontalPodAutoscaler, [`references`] warns about objects a manifest needs but no
//! manifest provides.

mod core;
mod cpu_request;
mod exported;
mod hpa;
pub mod import;
pub mod import_plan;
mod pool;
mod probe;
mod references;

pub use cpu_request::{warn_launcher_only_cpu_requests, LauncherCpu};
pub use references::{warn_missing_references, warn_missing_references_located};

use super::decode::{child_path, unknown_name_hint, MapReader, Report, Value};
use super::spec::{
    is_dns1123_label, is_dns1123_subdomain, label_key_problems, label_value_problems,
};
use super::yaml::{Node, NodeKind};
use super::Manifest;
use crate::api::{self, LabelSelector, ObjectMeta, SelectorOperator, SelectorRequirement};

/// The kinds poolsim reads from manifests and the `apiVersion`s each is served at.
pub const SUPPORTED_KINDS: &[(&str, &[&str])] = &[
    (
        "VirtualMachinePool",
        &["pool.kubevirt.io/v1alpha1", "pool.kubevirt.io/v1beta1"],
    ),
    (
        "HorizontalPodAutoscaler",
        &["autoscaling/v1", "autoscaling/v2"],
    ),
    ("Service", &["v1"]),
    ("Secret", &["v1"]),
    ("ConfigMap", &["v1"]),
    ("PersistentVolumeClaim", &["v1"]),
    ("StorageClass", &["storage.k8s.io/v1"]),
    ("VolumeSnapshotClass", &["snapshot.storage.k8s.io/v1"]),
    // What a cluster export holds besides the above (`exported`, docs/IMPORT.md).
    ("Node", &["v1"]),
    ("VirtualMachine", &["kubevirt.io/v1"]),
    ("VirtualMachineInstance", &["kubevirt.io/v1"]),
];

/// Decodes one manifest of the scenario. Diagnostics name `manifest.file` whatever file
/// `report` is for, so manifests read from `manifestFiles` point at their own file.
pub fn decode_manifest(
    manifest: &Manifest,
    default_namespace: &str,
    report: &mut Report,
) -> Option<api::Object> {
    let mut manifest_report = Report::new(&manifest.file);
    let object = decode_object(
        &manifest.object,
        &manifest.field,
        default_namespace,
        &mut manifest_report,
    );
    report.diagnostics.append(&mut manifest_report.diagnostics);
    object
}

/// Decodes one object (a manifest, or the object of an `apply:` event) whose field
/// path is `path`. Returns `None` when any error was reported for it.
pub fn decode_object(
    node: &Node,
    path: &str,
    default_namespace: &str,
    report: &mut Report,
) -> Option<api::Object> {
    let errors_before = count_errors(report);
    // Server-set fields (status, uid, managedFields, ...) are dropped quietly here;
    // `import::summarize_server_fields` reports them once per file.
    let (mut node, _) = import::strip_server_fields(node);
    let owners = take_owner_references(&mut node, path, report)?;
    let node = &node;
    let mut root = MapReader::new(node, path, report)?;
    let api_version = root
        .required("apiVersion", report)
        .and_then(|value| value.non_empty_str(report).map(|text| (text, value)));
    let kind = root
        .required("kind", report)
        .and_then(|value| value.non_empty_str(report).map(|text| (text, value)));
    let ((api_version, _), (kind, kind_value)) = (api_version?, kind?);
    let kind_names: Vec<&str> = SUPPORTED_KINDS.iter().map(|(name, _)| *name).collect();
    let Some((kind, versions)) = SUPPORTED_KINDS.iter().find(|(name, _)| *name == kind) else {
        let hint = unknown_name_hint(&kind, &kind_names);
        report.error(
            kind_value.pos(),
            &kind_value.path,
            format!("kind {kind:?} is not supported by poolsim; {hint}"),
        );
        return None;
    };
    if !versions.contains(&api_version.as_str()) {
        let version_value = root.optional("apiVersion").expect("read above");
        report.error(
            version_value.pos(),
            &version_value.path,
            format!(
                "apiVersion {api_version:?} does not serve kind {kind}; valid: {}",
                versions.join(", ")
            ),
        );
        return None;
    }
    let object = match *kind {
        "VirtualMachinePool" => {
            pool::decode_pool(&mut root, &api_version, default_namespace, report)
        }
        "HorizontalPodAutoscaler" => {
            hpa::decode_hpa(&mut root, &api_version, default_namespace, report)
        }
        "Service" => core::decode_service(&mut root, default_namespace, report),
        "Secret" => core::decode_secret(&mut root, default_namespace, report),
        "ConfigMap" => core::decode_config_map(&mut root, default_namespace, report),
        "PersistentVolumeClaim" => core::decode_pvc(&mut root, default_namespace, report),
        "StorageClass" => core::decode_storage_class(&mut root, report),
        "VolumeSnapshotClass" => core::decode_snapshot_class(&mut root, report),
        "Node" => exported::decode_node(&mut root, report),
        "VirtualMachine" => exported::decode_vm(&mut root, owners, default_namespace, report),
        "VirtualMachineInstance" => {
            exported::decode_vmi(&mut root, owners, default_namespace, report)
        }
        other => unreachable!("kind {other} is listed in SUPPORTED_KINDS but not decoded"),
    };
    root.finish_lenient(report);
    if count_errors(report) > errors_before {
        return None;
    }
    object
}

/// Takes `metadata.ownerReferences` out of `node` (left there only for the kinds that
/// read them, see `import`), decoded; `None` when they are written wrongly.
fn take_owner_references(
    node: &mut Node,
    path: &str,
    report: &mut Report,
) -> Option<Vec<api::OwnerReference>> {
    let NodeKind::Map(entries) = &mut node.kind else {
        return Some(Vec::new());
    };
    let Some((_, metadata)) = entries
        .iter_mut()
        .find(|(key, _)| key.as_scalar() == Some("metadata"))
    else {
        return Some(Vec::new());
    };
    let NodeKind::Map(fields) = &mut metadata.kind else {
        return Some(Vec::new());
    };
    let Some(index) = fields
        .iter()
        .position(|(key, _)| key.as_scalar() == Some("ownerReferences"))
    else {
        return Some(Vec::new());
    };
    let (_, value) = fields.remove(index);
    let field = child_path(&child_path(path, "metadata"), "ownerReferences");
    exported::decode_owner_references(&Value::new(&value, field), report)
}

fn count_errors(report: &Report) -> usize {
    report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .count()
}

/// How the API server validates an object's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameRule {
    /// `NameIsDNSSubdomain` (most kinds, and every custom resource:
    /// apiextensions-apiserver validates CR names with it).
    Dns1123Subdomain,
    /// `NameIsDNS1035Label` (Services: `ValidateServiceName` in
    /// kubernetes/kubernetes `pkg/apis/core/validation/validation.go`).
    Dns1035Label,
}

/// Whether `name` is a DNS-1035 label: a DNS-1123 label that starts with a letter
/// (`IsDNS1035Label`, kubernetes/kubernetes
/// `staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`).
pub(crate) fn is_dns1035_label(name: &str) -> bool {
    is_dns1123_label(name) && name.as_bytes()[0].is_ascii_lowercase()
}

/// Reads `metadata`: `name` (required), `namespace` (defaulted), `labels`,
/// `annotations`. Cluster-scoped kinds get an empty namespace; a namespace written on
/// one is ignored with a warning, as `kubectl apply` ignores it.
pub(crate) fn decode_metadata(
    root: &mut MapReader<'_>,
    namespaced: bool,
    name_rule: NameRule,
    default_namespace: &str,
    report: &mut Report,
) -> Option<ObjectMeta> {
    let value = root.required("metadata", report)?;
    let mut metadata = value.map(report)?;
    let name = metadata
        .required("name", report)
        .and_then(|value| check_object_name(&value, name_rule, report));
    let namespace = match metadata.optional("namespace") {
        Some(value) if namespaced => check_namespace(&value, report)?,
        Some(value) => {
            report.warning(
                value.pos(),
                &value.path,
                "this kind is cluster-scoped; the namespace is ignored",
            );
            String::new()
        }
        None if namespaced => default_namespace.to_string(),
        None => String::new(),
    };
    let labels = metadata
        .optional("labels")
        .map_or(Some(Default::default()), |value| value.label_map(report));
    let annotations = metadata
        .optional("annotations")
        .map_or(Some(Default::default()), |value| value.string_map(report));
    metadata.finish_lenient(report);
    let mut meta = ObjectMeta::named(&namespace, &name?);
    meta.labels = labels?;
    meta.annotations = annotations?;
    Some(meta)
}

/// Checks a namespace, in `metadata` or in a reference to another object: a DNS-1123
/// label (kubernetes/kubernetes `apimachinery/pkg/api/validation/generic.go`,
/// `ValidateNamespaceName`). A reference to a namespace no object can live in names
/// nothing; and a namespace filled in from a `<placeholder>` must pass the same rule as
/// one written out (hostile review, issue 17).
pub(crate) fn check_namespace(value: &Value<'_>, report: &mut Report) -> Option<String> {
    let namespace = value.non_empty_str(report)?;
    if is_dns1123_label(&namespace) {
        return Some(namespace);
    }
    report.error(
        value.pos(),
        &value.path,
        format!("{namespace:?} is not a valid namespace: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63 characters)"),
    );
    None
}

/// Checks an object name with upstream's wording (`IsDNS1123Subdomain` /
/// `IsDNS1035Label` error texts).
pub(crate) fn check_object_name(
    value: &Value<'_>,
    rule: NameRule,
    report: &mut Report,
) -> Option<String> {
    let name = value.non_empty_str(report)?;
    let (valid, rule_text) = match rule {
        NameRule::Dns1123Subdomain => (
            is_dns1123_subdomain(&name),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most 253 characters)",
        ),
        NameRule::Dns1035Label => (
            is_dns1035_label(&name),
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (at most 63 characters)",
        ),
    };
    if valid {
        Some(name)
    } else {
        report.error(
            value.pos(),
            &value.path,
            format!("Invalid value: {name:?}: {rule_text}"),
        );
        None
    }
}

/// `metav1.LabelSelector`: `matchLabels` and `matchExpressions`, checked as
/// `metav1.LabelSelectorAsSelector` checks them (kubernetes/kubernetes
/// `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go`, with the messages of
/// `labels.NewRequirement` in `pkg/labels/selector.go`).
pub(crate) fn decode_label_selector(
    value: &Value<'_>,
    report: &mut Report,
) -> Option<LabelSelector> {
    let mut selector = value.map(report)?;
    let match_labels = selector
        .optional("matchLabels")
        .map_or(Some(Default::default()), |value| value.label_map(report));
    let match_expressions =
        selector
            .optional("matchExpressions")
            .map_or(Some(Vec::new()), |value| {
                value.seq_of(report, |item, report| {
                    decode_requirement(item, &["In", "NotIn", "Exists", "DoesNotExist"], report)
                        .and_then(|requirement| requirement)
                })
            });
    selector.finish_lenient(report);
    Some(LabelSelector {
        match_labels: match_labels?,
        match_expressions: match_expressions?,
    })
}

/// One `{key, operator, values}` requirement. `Ok(None)`-like: returns `Some(None)`
/// for a requirement that is valid but not modelled (node selector `Gt`/`Lt`).
pub(crate) fn decode_requirement(
    item: &Value<'_>,
    operators: &[&str],
    report: &mut Report,
) -> Option<Option<SelectorRequirement>> {
    let mut requirement = item.map(report)?;
    // `labels.NewRequirement` checks the key as a label key and each value as a label
    // value (`validateLabelKey`, `validateLabelValue` in `pkg/labels/selector.go`).
    let key = requirement.required("key", report).and_then(|value| {
        let key = value.non_empty_str(report)?;
        let problems = label_key_problems(&key);
        for problem in &problems {
            report.error(
                value.pos(),
                &value.path,
                format!("Invalid value: {key:?}: {problem}"),
            );
        }
        problems.is_empty().then_some(key)
    });
    let operator_value = requirement.required("operator", report);
    let operator = operator_value
        .as_ref()
        .and_then(|value| value.one_of(report, operators));
    let values = requirement
        .optional("values")
        .map_or(Some(Vec::new()), |value| {
            value.seq_of(report, |item, report| {
                let text = item.str(report)?;
                let problems = label_value_problems(&text);
                for problem in &problems {
                    report.error(
                        item.pos(),
                        &item.path,
                        format!("Invalid value: {text:?}: {problem}"),
                    );
                }
                problems.is_empty().then_some(text)
            })
        });
    requirement.finish_lenient(report);
    let (key, operator, values) = (key?, operator?, values?);
    let operator_value = operator_value.expect("operator was read");
    let operator = match operator.as_str() {
        "In" => SelectorOperator::In,
        "NotIn" => SelectorOperator::NotIn,
        "Exists" => SelectorOperator::Exists,
        "DoesNotExist" => SelectorOperator::DoesNotExist,
        _ => {
            report.warning(
                operator_value.pos(),
                &operator_value.path,
                format!(
                    "operator {operator} is not modelled by poolsim; this requirement is ignored"
                ),
            );
            return Some(None);
        }
    };
    let needs_values = matches!(operator, SelectorOperator::In | SelectorOperator::NotIn);
    if needs_values && values.is_empty() {
        report.error(
            item.pos(),
            &child_path(&item.path, "values"),
            "for 'in', 'notin' operators, values set can't be empty",
        );
        return None;
    }
    if !needs_values && !values.is_empty() {
        report.error(
            item.pos(),
            &child_path(&item.path, "values"),
            "values set must be empty for exists and does not exist",
        );
        return None;
    }
    Some(Some(SelectorRequirement {
        key,
        operator,
        values,
    }))
}

/// `{name: X}` (`LocalObjectReference`).
pub(crate) fn decode_local_reference(value: &Value<'_>, report: &mut Report) -> Option<String> {
    let mut reference = value.map(report)?;
    let name = reference
        .required("name", report)
        .and_then(|value| value.non_empty_str(report));
    reference.finish_lenient(report);
    name
}

/// A quantity in whole base units (bytes), saturating at `i64::MAX`.
pub(crate) fn quantity_value(value: &Value<'_>, report: &mut Report) -> Option<i64> {
    let quantity = value.quantity(report)?;
    Some(i64::try_from(quantity.value()).unwrap_or(i64::MAX))
}

/// A quantity in thousandths (CPU millicores), saturating at `i64::MAX`.
pub(crate) fn quantity_milli(value: &Value<'_>, report: &mut Report) -> Option<i64> {
    let quantity = value.quantity(report)?;
    Some(i64::try_from(quantity.milli_value()).unwrap_or(i64::MAX))
}

/// Whether a value was written as an unquoted integer (for `IntOrString` fields, where
/// JSON decoding picks the integer form for a number and the string form otherwise).
pub(crate) fn plain_integer(value: &Value<'_>) -> Option<i64> {
    match &value.node.kind {
        NodeKind::Scalar { text, plain: true } => text.parse().ok(),
        _ => None,
    }
}
