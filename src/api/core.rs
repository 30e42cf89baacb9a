//! Core Kubernetes kinds (`k8s.io/api/core/v1`, `storage.k8s.io/v1`,
//! `snapshot.storage.k8s.io/v1`), the parts the model acts on.

use super::meta::{LabelSelector, Labels, ObjectMeta};
use crate::engine::SimTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
    pub time_added: SimTime,
}

/// Well-known taints (`k8s.io/api/core/v1/well_known_taints.go`).
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const TAINT_OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

#[derive(Debug, Clone, PartialEq)]
pub struct Toleration {
    /// Empty key with operator Exists tolerates everything.
    pub key: String,
    pub exists: bool,
    pub value: String,
    pub effect: Option<TaintEffect>,
    pub toleration_seconds: Option<u64>,
}

impl Toleration {
    /// `v1.Toleration.ToleratesTaint`.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != taint.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        self.exists || self.value == taint.value
    }
}

// ---------------------------------------------------------------- Node

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub meta: ObjectMeta,
    pub unschedulable: bool,
    pub taints: Vec<Taint>,
    pub allocatable: Resources,
    /// The Ready condition as the node lifecycle controller and kubelet set it.
    pub ready: crate::api::ConditionStatus,
    pub ready_transition: SimTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resources {
    pub cpu_milli: i64,
    pub memory_bytes: i64,
    pub pods: i64,
}

// ---------------------------------------------------------------- Pod

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PodPhase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl PodPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    pub meta: ObjectMeta,
    pub node_name: Option<String>,
    pub requests: Resources,
    pub tolerations: Vec<Toleration>,
    pub node_selector: Labels,
    /// Secrets and ConfigMaps the pod mounts; the kubelet cannot start the pod without them.
    pub secret_refs: Vec<String>,
    pub config_map_refs: Vec<String>,
    pub claim_refs: Vec<String>,
    /// `terminationGracePeriodSeconds`: for a virt-launcher pod, the VMI's grace period
    /// plus 15 s (`pkg/virt-controller/services/template.go`, `gracePeriodKillAfter`).
    pub termination_grace_period_s: u64,
    pub phase: PodPhase,
    pub ready: bool,
    pub ready_transition: SimTime,
    pub start_time: Option<SimTime>,
    /// `PodScheduled=False, reason Unschedulable`.
    pub unschedulable: bool,
    /// Images the kubelet pulls besides the launcher's own: the VMI's containerDisk
    /// images (`pkg/virt-controller/services/containerdisk.go`, one container each).
    pub images: Vec<String>,
    /// A container waiting on its image: `ErrImagePull`, then `ImagePullBackOff`.
    pub image_pull_error: Option<String>,
}

impl Pod {
    pub fn is_terminated(&self) -> bool {
        matches!(self.phase, PodPhase::Succeeded | PodPhase::Failed)
    }
}

// ---------------------------------------------------------------- Storage

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PvcPhase {
    #[default]
    Pending,
    Bound,
    Lost,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersistentVolumeClaim {
    pub meta: ObjectMeta,
    pub storage_class: Option<String>,
    pub storage_bytes: i64,
    pub access_modes: Vec<String>,
    pub phase: PvcPhase,
    /// Data written into it (a clone or import finished, or a PVC created with data as
    /// a scenario's source image).
    pub populated: bool,
    /// `volume.kubernetes.io/selected-node`, set when a consumer is scheduled
    /// (WaitForFirstConsumer).
    pub selected_node: Option<String>,
}

impl PersistentVolumeClaim {
    pub fn is_read_write_once(&self) -> bool {
        self.access_modes
            .iter()
            .any(|m| m == "ReadWriteOnce" || m == "ReadWriteOncePod")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VolumeBindingMode {
    #[default]
    Immediate,
    WaitForFirstConsumer,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StorageClass {
    pub meta: ObjectMeta,
    pub provisioner: String,
    pub volume_binding_mode: VolumeBindingMode,
    pub is_default: bool,
    /// `cdi.kubevirt.io/clone-strategy` annotation (stands in for CDI's StorageProfile
    /// `cloneStrategy`): `copy`, `snapshot` or `csi-clone`.
    pub clone_strategy: Option<String>,
    /// `allowVolumeExpansion`: a snapshot or CSI clone into a larger target needs it
    /// (CDI `pkg/controller/clone/planner.go`, `validateAdvancedClonePVC`).
    pub allow_volume_expansion: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSnapshotClass {
    pub meta: ObjectMeta,
    pub driver: String,
    /// `snapshot.storage.kubernetes.io/is-default-class: "true"`: preferred among the
    /// classes of one driver (CDI `pkg/controller/common/util.go`,
    /// `GetVolumeSnapshotClass`).
    pub is_default: bool,
}

// ---------------------------------------------------------------- Service, Secret, ConfigMap

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub meta: ObjectMeta,
    pub selector: LabelSelector,
    pub ports: Vec<u16>,
    pub service_type: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub meta: ObjectMeta,
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigMap {
    pub meta: ObjectMeta,
    pub keys: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toleration_matching_follows_tolerates_taint() {
        let taint = Taint {
            key: TAINT_UNREACHABLE.into(),
            value: String::new(),
            effect: TaintEffect::NoExecute,
            time_added: SimTime::ZERO,
        };
        let exists = Toleration {
            key: TAINT_UNREACHABLE.into(),
            exists: true,
            value: String::new(),
            effect: Some(TaintEffect::NoExecute),
            toleration_seconds: Some(300),
        };
        assert!(exists.tolerates(&taint));
        let other_effect = Toleration {
            effect: Some(TaintEffect::NoSchedule),
            ..exists.clone()
        };
        assert!(!other_effect.tolerates(&taint));
        let wildcard = Toleration {
            key: String::new(),
            exists: true,
            value: String::new(),
            effect: None,
            toleration_seconds: None,
        };
        assert!(wildcard.tolerates(&taint));
    }
}
