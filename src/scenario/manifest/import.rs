//! What `kubectl get -o yaml` / `-o json` adds to objects, and how poolsim takes it:
//! `List` wrappers are flattened into their items, and fields the API server or a
//! controller set (status, uid, managedFields, a Service's clusterIP, ...) are dropped
//! before decoding, reported by one summary line per file instead of one warning each.
//!
//! Upstream: kubectl reads every document of a file and flattens any object with an
//! `items` list, nested lists included (kubernetes/kubernetes
//! `staging/src/k8s.io/cli-runtime/pkg/resource/visitor.go`, `FlattenListVisitor`,
//! with `meta.ExtractList`); `kubectl apply` of an exported object sends the
//! server-set fields back, and the API server ignores or recomputes them (status goes
//! through the status subresource only; uid, resourceVersion, creationTimestamp,
//! generation and managedFields are set by the server: `apimachinery/pkg/api/
//! validation/objectmeta.go`, `rest.FillObjectMetaSystemFields`). docs/IMPORT.md
//! lists every field and what poolsim does with it.

use crate::scenario::decode::{child_path, describe, Report};
use crate::scenario::yaml::{Node, NodeKind, Pos};
use crate::scenario::Manifest;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `metadata` fields set by the API server or by controllers, never by a user's
/// manifest (`ObjectMeta` in `apimachinery/pkg/apis/meta/v1/types.go`: "Populated by
/// the system. Read-only."; `finalizers` and `ownerReferences` are written by
/// controllers for the objects in an export).
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "managedFields",
    "creationTimestamp",
    "generation",
    "selfLink",
    "generateName",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
];

/// Annotations written by kubectl, the API server or KubeVirt, not by the user.
const SERVER_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubevirt.io/latest-observed-api-version",
    "kubevirt.io/storage-observed-api-version",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
    "deployment.kubernetes.io/revision",
];

/// Service `spec` fields the API server allocates or defaults (`SetDefaults_Service`
/// and the IP allocator, kubernetes/kubernetes `pkg/apis/core/v1/defaults.go`,
/// `pkg/registry/core/service/storage/alloc.go`).
const SERVER_SERVICE_SPEC: &[&str] = &[
    "clusterIP",
    "clusterIPs",
    "ipFamilies",
    "ipFamilyPolicy",
    "internalTrafficPolicy",
    "sessionAffinity",
    "externalTrafficPolicy",
    "healthCheckNodePort",
    "allocateLoadBalancerNodePorts",
];

/// PersistentVolumeClaim `spec` fields the binder sets (`volumeName`,
/// `pkg/controller/volume/persistentvolume/pv_controller.go`, `bindVolumeToClaim`).
const SERVER_PVC_SPEC: &[&str] = &["volumeName"];

/// Kinds whose `ownerReferences` poolsim reads: a VM owned by a pool is the pool's, a
/// VMI owned by a VM is that VM's instance.
const OWNER_READING_KINDS: &[&str] = &["VirtualMachine", "VirtualMachineInstance"];

/// Whether a document is a list kubectl flattens: a `kind` ending in `List` (`List`,
/// `VirtualMachineList`, ...), as `meta.IsListType` finds an `items` field on them.
fn is_list(node: &Node) -> bool {
    node.get("kind")
        .and_then(Node::as_scalar)
        .is_some_and(|kind| kind.ends_with("List"))
}

/// One document of a manifest file (or one `spec.manifests` entry) as the objects it
/// holds: itself, or the items of a `List`, flattened at any depth. Each object comes
/// with its field path (`[0].items[2]`). A `List` without an `items` list, or an item
/// that is not a mapping, is an error at its position.
pub fn flatten_lists(document: &Node, path: &str, report: &mut Report) -> Vec<(Node, String)> {
    let mut objects = Vec::new();
    flatten_into(document, path, report, &mut objects);
    objects
}

fn flatten_into(node: &Node, path: &str, report: &mut Report, out: &mut Vec<(Node, String)>) {
    if !is_list(node) {
        out.push((node.clone(), path.to_string()));
        return;
    }
    let items_path = child_path(path, "items");
    let items = match node.get("items").map(|items| &items.kind) {
        Some(NodeKind::Seq(items)) => items.as_slice(),
        // `items: null` (or `items: []`) is an empty list: `kubectl get` of nothing.
        Some(NodeKind::Null) => &[],
        Some(_) => {
            let items = node.get("items").expect("matched above");
            report.error(
                items.pos,
                &items_path,
                format!(
                    "a List's items must be a list of objects, got {}",
                    describe(items)
                ),
            );
            return;
        }
        None => {
            report.error(
                node.pos,
                &items_path,
                "missing required field \"items\": a List (as `kubectl get -o yaml` writes it) holds its objects under items",
            );
            return;
        }
    };
    for (index, item) in items.iter().enumerate() {
        let item_path = format!("{items_path}[{index}]");
        if !matches!(item.kind, NodeKind::Map(_)) {
            report.error(
                item.pos,
                &item_path,
                format!(
                    "a List item must be an object (a mapping with apiVersion, kind and metadata), got {}",
                    describe(item)
                ),
            );
            continue;
        }
        flatten_into(item, &item_path, report, out);
    }
}

/// A copy of `object` without its server-set fields, and the fields removed (their
/// paths relative to the object, and positions). A `Node`'s `status` is kept: its
/// capacity is what the Node object is for.
pub fn strip_server_fields(object: &Node) -> (Node, Vec<(String, Pos)>) {
    let kind = object
        .get("kind")
        .and_then(Node::as_scalar)
        .unwrap_or_default()
        .to_string();
    let mut removed = Vec::new();
    let mut stripped = object.clone();
    if kind != "Node" {
        remove_keys(&mut stripped, "", &["status"], &mut removed);
    }
    if let Some(metadata) = child_mut(&mut stripped, "metadata") {
        remove_keys(metadata, "metadata", SERVER_METADATA, &mut removed);
        if !OWNER_READING_KINDS.contains(&kind.as_str()) {
            remove_keys(metadata, "metadata", &["ownerReferences"], &mut removed);
        }
        if let Some(annotations) = child_mut(metadata, "annotations") {
            remove_keys(
                annotations,
                "metadata.annotations",
                SERVER_ANNOTATIONS,
                &mut removed,
            );
        }
    }
    let spec_fields = match kind.as_str() {
        "Service" => SERVER_SERVICE_SPEC,
        "PersistentVolumeClaim" => SERVER_PVC_SPEC,
        _ => &[],
    };
    if let Some(spec) = child_mut(&mut stripped, "spec") {
        remove_keys(spec, "spec", spec_fields, &mut removed);
        if kind == "VirtualMachine" {
            remove_vm_defaults(spec, &mut removed);
        }
        // Templates' `metadata.creationTimestamp: null`, which every exported template
        // carries (the Go zero time serialized by `metav1.Time`).
        remove_template_timestamps(spec, "spec", &mut removed);
    }
    (stripped, removed)
}

/// What KubeVirt adds to a VM's template: `architecture` and `domain.machine` from
/// the VM mutating webhook (kubevirt `pkg/virt-api/webhooks/mutating-webhook/mutators/
/// vm-mutator.go`, `setDefaultArchitecture`, `setDefaultMachineType`), and
/// `domain.firmware` with its `uuid`/`serial` from the VM controller
/// (`pkg/virt-controller/watch/vm/vm.go`, `setupVMIFromVM` keeps them stable).
fn remove_vm_defaults(spec: &mut Node, removed: &mut Vec<(String, Pos)>) {
    let Some(template_spec) = child_mut(spec, "template").and_then(|t| child_mut(t, "spec")) else {
        return;
    };
    remove_keys(
        template_spec,
        "spec.template.spec",
        &["architecture"],
        removed,
    );
    if let Some(domain) = child_mut(template_spec, "domain") {
        remove_keys(
            domain,
            "spec.template.spec.domain",
            &["machine", "firmware"],
            removed,
        );
    }
}

fn child_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.kind {
        NodeKind::Map(entries) => entries
            .iter_mut()
            .find(|(entry_key, _)| entry_key.as_scalar() == Some(key))
            .map(|(_, value)| value),
        _ => None,
    }
}

fn remove_keys(node: &mut Node, path: &str, keys: &[&str], removed: &mut Vec<(String, Pos)>) {
    if let NodeKind::Map(entries) = &mut node.kind {
        entries.retain(|(key, _)| {
            let name = key.as_scalar().unwrap_or_default();
            let server_set = keys.contains(&name);
            if server_set {
                removed.push((child_path(path, name), key.pos));
            }
            !server_set
        });
    }
}

/// Removes `creationTimestamp` from every `metadata` mapping below `node`.
fn remove_template_timestamps(node: &mut Node, path: &str, removed: &mut Vec<(String, Pos)>) {
    let NodeKind::Map(entries) = &mut node.kind else {
        return;
    };
    for (key, value) in entries.iter_mut() {
        let name = key.as_scalar().unwrap_or_default().to_string();
        let value_path = child_path(path, &name);
        if name == "metadata" {
            remove_keys(value, &value_path, &["creationTimestamp"], removed);
        }
        match &mut value.kind {
            NodeKind::Map(_) => remove_template_timestamps(value, &value_path, removed),
            NodeKind::Seq(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    remove_template_timestamps(item, &format!("{value_path}[{index}]"), removed);
                }
            }
            _ => {}
        }
    }
}

/// One warning per file that holds server-set fields: how many were ignored and which
/// (the most frequent first), instead of one warning each.
pub fn summarize_server_fields(manifests: &[Manifest], report: &mut Report) {
    let mut by_file: BTreeMap<PathBuf, (Pos, BTreeMap<String, usize>)> = BTreeMap::new();
    for manifest in manifests {
        let (_, removed) = strip_server_fields(&manifest.object);
        let Some(first_pos) = removed.iter().map(|(_, pos)| *pos).min() else {
            continue;
        };
        let entry = by_file
            .entry(manifest.file.clone())
            .or_insert((first_pos, BTreeMap::new()));
        entry.0 = entry.0.min(first_pos);
        for (field, _) in removed {
            *entry.1.entry(field).or_default() += 1;
        }
    }
    for (file, (pos, fields)) in by_file {
        let total: usize = fields.values().sum();
        let mut ordered: Vec<(String, usize)> = fields.into_iter().collect();
        ordered.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let shown: Vec<String> = ordered
            .iter()
            .take(6)
            .map(|(field, count)| format!("{field} ×{count}"))
            .collect();
        let more = if ordered.len() > 6 { ", ..." } else { "" };
        let mut file_report = Report::new(&file);
        file_report.warning(
            pos,
            "",
            format!(
                "{total} server-set field{} ignored ({}{more}); poolsim reads what a user applies, and a warm start reads status (see docs/IMPORT.md)",
                if total == 1 { "" } else { "s" },
                shown.join(", ")
            ),
        );
        report.diagnostics.append(&mut file_report.diagnostics);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::yaml::{parse_single, Limits};
    use std::path::Path;

    fn parse(text: &str) -> Node {
        parse_single(text, &Limits::default()).unwrap()
    }

    #[test]
    fn nested_lists_flatten_in_order_with_paths() {
        let node = parse(
            "apiVersion: v1\nkind: List\nitems:\n- {kind: Secret, metadata: {name: a}}\n- apiVersion: v1\n  kind: List\n  items:\n  - {kind: Secret, metadata: {name: b}}\n",
        );
        let mut report = Report::new(Path::new("x.yaml"));
        let objects = flatten_lists(&node, "[0]", &mut report);
        let paths: Vec<&str> = objects.iter().map(|(_, path)| path.as_str()).collect();
        assert_eq!(paths, ["[0].items[0]", "[0].items[1].items[0]"]);
        assert!(report.diagnostics.is_empty());
    }

    #[test]
    fn bad_list_items_are_errors_at_their_position() {
        let node = parse("kind: List\nitems:\n- 3\n- {kind: Secret}\n");
        let mut report = Report::new(Path::new("x.yaml"));
        let objects = flatten_lists(&node, "[0]", &mut report);
        assert_eq!(objects.len(), 1);
        let message = report.diagnostics[0].to_string();
        assert!(
            message.starts_with("error: x.yaml:3:3: [0].items[0]: a List item must be an object"),
            "{message}"
        );
        let mut report = Report::new(Path::new("x.yaml"));
        flatten_lists(&parse("kind: List\n"), "[0]", &mut report);
        assert!(report.diagnostics[0]
            .to_string()
            .contains("missing required field \"items\""));
    }

    #[test]
    fn server_fields_are_removed_and_counted() {
        let node = parse(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  uid: abc\n  resourceVersion: \"1\"\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{}'\n    mine: x\nspec:\n  clusterIP: 10.0.0.1\n  ports: [{port: 80}]\nstatus:\n  loadBalancer: {}\n",
        );
        let (stripped, removed) = strip_server_fields(&node);
        let fields: Vec<&str> = removed.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "status",
                "metadata.uid",
                "metadata.resourceVersion",
                "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration",
                "spec.clusterIP"
            ]
        );
        assert!(stripped.get("status").is_none());
        let annotations = stripped
            .get("metadata")
            .unwrap()
            .get("annotations")
            .unwrap();
        assert!(annotations.get("mine").is_some());
    }

    #[test]
    fn a_node_keeps_its_status_and_a_vm_its_owner() {
        let node =
            parse("kind: Node\nmetadata: {name: n, uid: u}\nstatus: {capacity: {cpu: '4'}}\n");
        let (stripped, removed) = strip_server_fields(&node);
        assert!(stripped.get("status").is_some());
        assert_eq!(removed.len(), 1);
        let vm = parse(
            "kind: VirtualMachine\nmetadata: {name: v, ownerReferences: []}\nspec:\n  template:\n    metadata: {creationTimestamp: null}\n",
        );
        let (stripped, removed) = strip_server_fields(&vm);
        assert!(stripped
            .get("metadata")
            .unwrap()
            .get("ownerReferences")
            .is_some());
        assert_eq!(removed[0].0, "spec.template.metadata.creationTimestamp");
    }
}
