//! Object metadata shared by every kind (`k8s.io/apimachinery/pkg/apis/meta/v1`).

use crate::engine::SimTime;
use std::collections::BTreeMap;

pub type Labels = BTreeMap<String, String>;

/// The kinds poolsim's API store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    VirtualMachinePool,
    VirtualMachine,
    VirtualMachineInstance,
    Pod,
    Node,
    DataVolume,
    PersistentVolumeClaim,
    HorizontalPodAutoscaler,
    Service,
    Secret,
    ConfigMap,
    StorageClass,
    VolumeSnapshotClass,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::VirtualMachinePool,
        Kind::VirtualMachine,
        Kind::VirtualMachineInstance,
        Kind::Pod,
        Kind::Node,
        Kind::DataVolume,
        Kind::PersistentVolumeClaim,
        Kind::HorizontalPodAutoscaler,
        Kind::Service,
        Kind::Secret,
        Kind::ConfigMap,
        Kind::StorageClass,
        Kind::VolumeSnapshotClass,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::VirtualMachinePool => "VirtualMachinePool",
            Kind::VirtualMachine => "VirtualMachine",
            Kind::VirtualMachineInstance => "VirtualMachineInstance",
            Kind::Pod => "Pod",
            Kind::Node => "Node",
            Kind::DataVolume => "DataVolume",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
            Kind::Service => "Service",
            Kind::Secret => "Secret",
            Kind::ConfigMap => "ConfigMap",
            Kind::StorageClass => "StorageClass",
            Kind::VolumeSnapshotClass => "VolumeSnapshotClass",
        }
    }

    /// Parse a kind as `kubectl` accepts it in `delete`/`patch` events: the kind name,
    /// case-insensitively, or its common short names.
    pub fn parse(text: &str) -> Option<Kind> {
        let lower = text.to_ascii_lowercase();
        let kind = match lower.as_str() {
            "virtualmachinepool" | "vmpool" | "vmpools" => Kind::VirtualMachinePool,
            "virtualmachine" | "vm" | "vms" => Kind::VirtualMachine,
            "virtualmachineinstance" | "vmi" | "vmis" => Kind::VirtualMachineInstance,
            "pod" | "pods" | "po" => Kind::Pod,
            "node" | "nodes" | "no" => Kind::Node,
            "datavolume" | "dv" | "dvs" => Kind::DataVolume,
            "persistentvolumeclaim" | "pvc" | "pvcs" => Kind::PersistentVolumeClaim,
            "horizontalpodautoscaler" | "hpa" => Kind::HorizontalPodAutoscaler,
            "service" | "svc" => Kind::Service,
            "secret" => Kind::Secret,
            "configmap" | "cm" => Kind::ConfigMap,
            "storageclass" | "sc" => Kind::StorageClass,
            "volumesnapshotclass" => Kind::VolumeSnapshotClass,
            _ => return None,
        };
        Some(kind)
    }

    /// Cluster-scoped kinds have no namespace.
    pub fn is_namespaced(self) -> bool {
        !matches!(
            self,
            Kind::Node | Kind::StorageClass | Kind::VolumeSnapshotClass
        )
    }
}

/// `namespace/name` (or just `name` for cluster-scoped kinds): the store's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        ObjectKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    pub fn cluster(name: &str) -> Self {
        ObjectKey::new("", name)
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerReference {
    pub kind: Kind,
    pub name: String,
    pub uid: String,
    /// Only one owner reference may be the controller (`metav1.IsControlledBy`).
    pub controller: bool,
    pub block_owner_deletion: bool,
}

/// `metav1.ObjectMeta`, the parts the model uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub labels: Labels,
    pub annotations: Labels,
    pub owner_references: Vec<OwnerReference>,
    pub finalizers: Vec<String>,
    pub creation_timestamp: SimTime,
    /// Set by a graceful delete; the object stays until its finalizers are gone (or, for
    /// pods, until the kubelet confirms the containers stopped).
    pub deletion_timestamp: Option<SimTime>,
    pub deletion_grace_period_seconds: Option<u64>,
    pub resource_version: u64,
    pub generation: u64,
}

impl ObjectMeta {
    pub fn named(namespace: &str, name: &str) -> Self {
        ObjectMeta {
            name: name.to_string(),
            namespace: namespace.to_string(),
            generation: 1,
            ..ObjectMeta::default()
        }
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(&self.namespace, &self.name)
    }

    pub fn is_deleting(&self) -> bool {
        self.deletion_timestamp.is_some()
    }

    /// The controller owner reference, if any (`metav1.GetControllerOf`).
    pub fn controller_ref(&self) -> Option<&OwnerReference> {
        self.owner_references.iter().find(|r| r.controller)
    }

    pub fn is_controlled_by(&self, uid: &str) -> bool {
        self.controller_ref().is_some_and(|r| r.uid == uid)
    }
}

/// A label selector (`metav1.LabelSelector`): matchLabels and matchExpressions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    pub match_labels: Labels,
    pub match_expressions: Vec<SelectorRequirement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelSelector {
    pub fn from_labels(labels: Labels) -> Self {
        LabelSelector {
            match_labels: labels,
            match_expressions: Vec::new(),
        }
    }

    /// Whether the selector selects nothing-in-particular (`metav1.LabelSelectorAsSelector`
    /// turns an empty selector into "everything").
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
            && self.match_expressions.iter().all(|req| {
                let value = labels.get(&req.key);
                match req.operator {
                    SelectorOperator::In => value.is_some_and(|v| req.values.contains(v)),
                    SelectorOperator::NotIn => value.is_none_or(|v| !req.values.contains(v)),
                    SelectorOperator::Exists => value.is_some(),
                    SelectorOperator::DoesNotExist => value.is_none(),
                }
            })
    }

    /// The string form `metav1.FormatLabelSelector` writes, e.g. `app=web,tier in (a,b)`;
    /// this is what the pool publishes as `status.labelSelector` for the scale subresource.
    pub fn to_selector_string(&self) -> String {
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for req in &self.match_expressions {
            let values = {
                let mut v = req.values.clone();
                v.sort();
                v.join(",")
            };
            parts.push(match req.operator {
                SelectorOperator::In => format!("{} in ({values})", req.key),
                SelectorOperator::NotIn => format!("{} notin ({values})", req.key),
                SelectorOperator::Exists => req.key.clone(),
                SelectorOperator::DoesNotExist => format!("!{}", req.key),
            });
        }
        parts.join(",")
    }
}

/// The finalizer of an object deleted with `propagationPolicy: Foreground`
/// (`metav1.FinalizerDeleteDependents`): the API server adds it with the
/// deletionTimestamp, and the garbage collector removes it once no dependent that
/// blocks the owner's deletion is left.
pub const FOREGROUND_DELETION: &str = "foregroundDeletion";

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selector_matches_labels_and_expressions() {
        let mut selector = LabelSelector::from_labels(labels(&[("kubevirt.io/vmpool", "web")]));
        assert!(selector.matches(&labels(&[("kubevirt.io/vmpool", "web"), ("x", "y")])));
        assert!(!selector.matches(&labels(&[("kubevirt.io/vmpool", "db")])));
        selector.match_expressions.push(SelectorRequirement {
            key: "tier".into(),
            operator: SelectorOperator::NotIn,
            values: vec!["cache".into()],
        });
        assert!(selector.matches(&labels(&[("kubevirt.io/vmpool", "web")])));
        assert!(!selector.matches(&labels(&[("kubevirt.io/vmpool", "web"), ("tier", "cache")])));
        assert_eq!(
            selector.to_selector_string(),
            "kubevirt.io/vmpool=web,tier notin (cache)"
        );
    }
}
