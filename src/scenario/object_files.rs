//! Manifest files named by events, and files that are not manifests.
//!
//! `apply: {file: PATH}` and `delete: {file: PATH}` do what `kubectl apply -f PATH` and
//! `kubectl delete -f PATH` do with a file: every object in it, in the file's order
//! (kubernetes/kubernetes `staging/src/k8s.io/kubectl/pkg/cmd/apply/apply.go`,
//! `ApplyOptions.Run`, and `cmd/delete/delete.go`, `DeleteOptions.DeleteResult`, both
//! visiting the file's objects one by one through `resource.Builder`). The file is read
//! as `manifestFiles` are (`spec::read_manifest_file`: relative to the scenario,
//! inside its folder, the bounded reader, placeholders filled in), and each object
//! becomes one event at the event's time.
//!
//! [`not_a_manifest`] recognises YAML that is not a manifest at all, such as the
//! lab's cloud-init user data, so that `validate` and the scenario loader can say
//! what it is and how to use it instead of listing missing `apiVersion`s.

use super::decode::{child_path, unknown_name_hint, MapReader, Report, Value};
use super::spec::{read_manifest_file, FilesRead, ScenarioFiles};
use super::yaml::{Node, NodeKind};
use super::{Action, Manifest, ObjectSource};
use crate::api::Kind;

/// The kinds the model holds objects of, as a manifest writes them (`api::Kind`).
const DELETABLE_KINDS: &[&str] = &[
    "VirtualMachinePool",
    "VirtualMachine",
    "VirtualMachineInstance",
    "Pod",
    "Node",
    "DataVolume",
    "PersistentVolumeClaim",
    "HorizontalPodAutoscaler",
    "Service",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "VolumeSnapshotClass",
];

/// Whether an `apply` or `delete` value is the file form: a mapping with `file`.
pub(super) fn names_a_file(value: &Value<'_>) -> bool {
    matches!(value.node.kind, NodeKind::Map(_)) && value.node.get("file").is_some()
}

/// `apply: {file: PATH}` or `delete: {file: PATH}` (`name` says which): one action per
/// object of the file, with the file and document it came from. `file` is the only field: an object's own fields next to it
/// would be ambiguous.
pub(super) fn decode_file_action(
    name: &str,
    value: &Value<'_>,
    files: &mut ScenarioFiles<'_, '_>,
    report: &mut Report,
) -> Option<Vec<(Action, Option<ObjectSource>)>> {
    let mut map = value.map(report)?;
    let file_value = map.required("file", report)?;
    let other_keys: Vec<&str> = match &value.node.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .filter_map(|(key, _)| key.as_scalar())
            .filter(|key| *key != "file")
            .collect(),
        _ => Vec::new(),
    };
    if !other_keys.is_empty() {
        let form = if name == "apply" {
            "an object (apiVersion, kind, metadata, ...)"
        } else {
            "{kind, name}"
        };
        report.error(
            value.pos(),
            &value.path,
            format!(
                "{name} takes either {{file: PATH}} (a manifest file, relative to the scenario) or {form}, not both; remove {}",
                other_keys.join(", ")
            ),
        );
        return None;
    }
    map.finish_strict(report);
    let manifests = read_objects(&file_value, files, report)?;
    let source = |manifest: &Manifest| {
        Some(ObjectSource {
            file: manifest.file.clone(),
            field: manifest.field.clone(),
        })
    };
    if name == "apply" {
        return Some(
            manifests
                .iter()
                .map(|manifest| {
                    let object = manifest.object.clone();
                    (Action::Apply { object }, source(manifest))
                })
                .collect(),
        );
    }
    let mut file_report = Report::new(manifests.first().map(|m| m.file.as_path())?);
    let actions: Vec<Option<(Action, Option<ObjectSource>)>> = manifests
        .iter()
        .map(|manifest| Some((delete_action(manifest, &mut file_report)?, source(manifest))))
        .collect();
    report.diagnostics.append(&mut file_report.diagnostics);
    actions.into_iter().collect()
}

/// The objects of the manifest file `file_value` names, or `None` when it could not be
/// read or holds an error (reported).
fn read_objects(
    file_value: &Value<'_>,
    files: &mut ScenarioFiles<'_, '_>,
    report: &mut Report,
) -> Option<Vec<Manifest>> {
    if files.budget.exhausted() {
        return None;
    }
    let errors_before = error_count(report);
    let mut manifests = Vec::new();
    let bytes = read_manifest_file(
        file_value,
        files.scenario_file,
        files.substitution,
        &mut manifests,
        report,
    );
    let within = files.budget.add(file_value, bytes, FilesRead::Any, report);
    (within && error_count(report) == errors_before && !manifests.is_empty()).then_some(manifests)
}

fn error_count(report: &Report) -> usize {
    report.diagnostics.iter().filter(|d| d.is_error()).count()
}

/// What `kubectl delete -f` deletes for one object of the file: its kind and
/// `metadata.name` (nothing else of the object is looked at, as upstream only builds
/// the resource's name and namespace from it).
fn delete_action(manifest: &Manifest, report: &mut Report) -> Option<Action> {
    let mut root = MapReader::new(&manifest.object, &manifest.field, report)?;
    let kind_value = root.required("kind", report)?;
    let kind = kind_value.non_empty_str(report)?;
    // A file's `kind` is exact (the API server's), unlike kubectl's short names.
    if Kind::parse(&kind).is_none_or(|parsed| parsed.name() != kind) {
        report.error(
            kind_value.pos(),
            &kind_value.path,
            format!(
                "kind {kind:?} is not one poolsim models, so there is nothing of it to delete; {}",
                unknown_name_hint(&kind, DELETABLE_KINDS)
            ),
        );
        return None;
    }
    let metadata = root.required("metadata", report)?;
    let name_path = child_path(&metadata.path, "name");
    let name = match metadata.node.get("name") {
        Some(node) => Value::new(node, name_path).non_empty_str(report)?,
        None => {
            report.error(
                metadata.pos(),
                &name_path,
                "kubectl delete -f needs each object's metadata.name",
            );
            return None;
        }
    };
    Some(Action::Delete { kind, name })
}

/// What a YAML file that is not a Kubernetes manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotManifest {
    /// Its first line is `#cloud-config`: cloud-init's marker for cloud-config user
    /// data (cloud-init docs, "User data formats"; `cloudinit/handlers/cloud_config.py`
    /// handles the `#cloud-config` prefix).
    CloudInit,
    /// YAML whose documents have none of `apiVersion`, `kind` or `metadata`.
    PlainYaml,
}

impl NotManifest {
    /// What it is and how to use it, for `validate`'s note and the loader's error.
    pub fn explanation(self) -> &'static str {
        match self {
            NotManifest::CloudInit => {
                "cloud-init user data (its first line is #cloud-config): not a manifest; use it with spec.secrets[].fromFile, as `kubectl create secret generic NAME --from-file=userdata=PATH` does, and name that Secret in the VM's cloudInitNoCloud.secretRef"
            }
            NotManifest::PlainYaml => {
                "YAML without apiVersion, kind or metadata: not a manifest; if it is data for a Secret (cloud-init user data, a configuration file), use it with spec.secrets[].fromFile, as `kubectl create secret generic NAME --from-file=KEY=PATH` does"
            }
        }
    }
}

/// Whether `bytes` (a YAML file), with its parsed `documents` when they parse, is not
/// a Kubernetes manifest but other YAML. A document with `apiVersion`, `kind` or
/// `metadata` makes the file a manifest (a broken one gets the decoder's errors).
pub fn not_a_manifest(bytes: &[u8], documents: Option<&[Node]>) -> Option<NotManifest> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first_line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    if first_line.trim_ascii_end() == b"#cloud-config" {
        return Some(NotManifest::CloudInit);
    }
    let documents = documents?;
    let looks_like_object = |document: &Node| {
        ["apiVersion", "kind", "metadata"]
            .iter()
            .any(|key| document.get(key).is_some())
    };
    let any_content = documents.iter().any(|d| d.kind != NodeKind::Null);
    (any_content && !documents.iter().any(looks_like_object)).then_some(NotManifest::PlainYaml)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::yaml::{parse_documents, Limits};

    fn kind_of(text: &str) -> Option<NotManifest> {
        let documents = parse_documents(text, &Limits::default()).ok();
        not_a_manifest(text.as_bytes(), documents.as_deref())
    }

    #[test]
    fn deletable_kinds_are_the_model_kinds_by_their_exact_names() {
        for name in DELETABLE_KINDS {
            assert_eq!(Kind::parse(name).map(|k| k.name()), Some(*name));
        }
    }

    #[test]
    fn cloud_config_and_plain_yaml_are_not_manifests() {
        let lab = "#cloud-config\npassword: kubevirt\nchpasswd: { expire: False }\ntimezone: Europe/Zurich\n";
        assert_eq!(kind_of(lab), Some(NotManifest::CloudInit));
        assert_eq!(
            kind_of("\u{feff}#cloud-config\r\nx: 1\n"),
            Some(NotManifest::CloudInit)
        );
        assert_eq!(kind_of("users: [a, b]\n"), Some(NotManifest::PlainYaml));
        assert_eq!(kind_of("kind: Service\n"), None, "a broken manifest");
        assert_eq!(kind_of("metadata: {name: x}\n"), None);
        assert_eq!(kind_of("---\n"), None, "empty: no object, said elsewhere");
        assert_eq!(
            kind_of("# cloud-config\nx: 1\n"),
            Some(NotManifest::PlainYaml)
        );
    }
}
