//! KubeVirt and CDI kinds: VirtualMachinePool (`kubevirt.io/api/pool/v1beta1/types.go`;
//! v1alpha1 has the same fields), VirtualMachine and VirtualMachineInstance
//! (`kubevirt.io/api/core/v1/types.go`), DataVolume (CDI `pkg/apis/core/v1beta1/types.go`).

use super::core::Toleration;
use super::meta::{LabelSelector, Labels, ObjectMeta};
use crate::engine::SimTime;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- VirtualMachinePool

#[derive(Debug, Clone, PartialEq)]
pub struct VirtualMachinePool {
    pub meta: ObjectMeta,
    /// `pool.kubevirt.io/v1alpha1` or `pool.kubevirt.io/v1beta1`, as applied.
    pub api_version: String,
    pub spec: PoolSpec,
    pub status: PoolStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    /// `spec.replicas`, defaulted to 1 when absent (types.go doc comment; the pool
    /// controller reads `*pool.Spec.Replicas` after defaulting by the mutating webhook).
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: VmTemplate,
    pub paused: bool,
    pub append_index_to_config_map_refs: bool,
    pub append_index_to_secret_refs: bool,
    /// `spec.maxUnavailable`, default 100% (`pool.go`, `getMaxUnavailable`).
    pub max_unavailable: IntOrPercent,
    pub scale_in: ScaleInStrategy,
    pub update: UpdateStrategy,
    pub autohealing: Option<Autohealing>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(i64),
    Percent(i64),
}

impl IntOrPercent {
    /// `intstr.GetScaledValueFromIntOrPercent` with rounding up, as the pool does for
    /// its maxUnavailable budget.
    pub fn scaled(self, total: i64, round_up: bool) -> i64 {
        match self {
            IntOrPercent::Int(v) => v,
            IntOrPercent::Percent(p) => {
                let product = p * total;
                if round_up {
                    (product + 99).div_euclid(100)
                } else {
                    product.div_euclid(100)
                }
            }
        }
    }
}

/// `statePreservation` (`StatePreservation`): with anything but Disabled, a deleted VM's
/// PVCs and DataVolumes lose their ownerReference to it and so survive it
/// (`statePreservationCleanupforVM`). Serialized by variant name, as in the reconcile
/// protocol (`docs/PROTOCOL.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StatePreservation {
    #[default]
    Disabled,
    Offline,
    Online,
}

impl StatePreservation {
    /// `isStatePreservationEnabled`.
    pub fn is_enabled(self) -> bool {
        self != StatePreservation::Disabled
    }
}

/// `selectionPolicy.sortPolicy` (`VirtualMachinePoolSortPolicy`). Serialized by
/// variant name, as in the reconcile protocol (`docs/PROTOCOL.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SortPolicy {
    /// Shuffled with the reconcile's random stream (upstream: `rand.Shuffle`).
    #[default]
    Random,
    /// By the index at the end of the name, lowest first.
    AscendingOrder,
    /// By the index at the end of the name, highest first.
    DescendingOrder,
    /// By creation time, newest first.
    Newest,
    /// By creation time, oldest first.
    Oldest,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SelectionPolicy {
    pub sort_policy: SortPolicy,
    /// `selectors.labelSelector`: VMs matching it are chosen first.
    pub label_selector: Option<LabelSelector>,
    /// `selectors.nodeSelectorRequirementMatcher`, kept as node-label requirements.
    pub node_selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScaleInStrategy {
    Proactive {
        selection: SelectionPolicy,
        state_preservation: StatePreservation,
    },
    Opportunistic {
        state_preservation: StatePreservation,
    },
    Unmanaged,
}

impl Default for ScaleInStrategy {
    /// Proactive with random selection and no state preservation (`pool.go`,
    /// `scaleInStrategy` defaults).
    fn default() -> Self {
        ScaleInStrategy::Proactive {
            selection: SelectionPolicy::default(),
            state_preservation: StatePreservation::Disabled,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpdateStrategy {
    Proactive { selection: SelectionPolicy },
    Opportunistic,
    Unmanaged,
}

impl Default for UpdateStrategy {
    fn default() -> Self {
        UpdateStrategy::Proactive {
            selection: SelectionPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autohealing {
    /// Default 3 (`pool.go`, `defaultStartUpFailureThreshold`).
    pub start_up_failure_threshold: u32,
    /// Default 5 min (`pool.go`, `defaultMinFailingToStartDuration`).
    pub min_failing_to_start_duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PoolStatus {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub label_selector: String,
    pub conditions: Vec<Condition>,
}

/// A status condition (`metav1.Condition`-like, as KubeVirt's condition types are).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub kind: String,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
    pub last_transition: SimTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

// ---------------------------------------------------------------- VirtualMachine

/// `spec.virtualMachineTemplate`: the VM's labels, annotations and spec.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VmTemplate {
    pub labels: Labels,
    pub annotations: Labels,
    pub spec: VmSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunStrategy {
    #[default]
    Always,
    RerunOnFailure,
    Once,
    Manual,
    Halted,
}

impl RunStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStrategy::Always => "Always",
            RunStrategy::RerunOnFailure => "RerunOnFailure",
            RunStrategy::Once => "Once",
            RunStrategy::Manual => "Manual",
            RunStrategy::Halted => "Halted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VmSpec {
    /// `runStrategy`, or derived from the deprecated `running` (true → Always, false →
    /// Halted), as `vm.go` `GetRunStrategy` does.
    pub run_strategy: RunStrategy,
    pub template: VmiTemplate,
    pub data_volume_templates: Vec<DataVolumeTemplate>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VmiTemplate {
    pub labels: Labels,
    pub annotations: Labels,
    pub spec: VmiSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataVolumeTemplate {
    pub name: String,
    pub spec: DataVolumeSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VirtualMachine {
    pub meta: ObjectMeta,
    pub spec: VmSpec,
    pub status: VmStatus,
}

/// `printableStatus` values (`types.go`, `VirtualMachinePrintableStatus`). Serialized
/// by variant name, as in the reconcile protocol (`docs/PROTOCOL.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PrintableStatus {
    #[default]
    Stopped,
    Provisioning,
    Starting,
    Running,
    Paused,
    Stopping,
    Terminating,
    CrashLoopBackOff,
    Migrating,
    Unknown,
    ErrorUnschedulable,
    ErrImagePull,
    ImagePullBackOff,
    ErrorPvcNotFound,
    DataVolumeError,
    WaitingForVolumeBinding,
    WaitingForReceiver,
}

impl PrintableStatus {
    /// The statuses after which autohealing replaces a VM that has been not ready long
    /// enough (`shouldAutohealBasedOnStatus`, `pkg/virt-controller/watch/pool/pool.go`).
    pub fn is_autohealable_failure(self) -> bool {
        matches!(
            self,
            PrintableStatus::CrashLoopBackOff
                | PrintableStatus::ErrorUnschedulable
                | PrintableStatus::DataVolumeError
                | PrintableStatus::ErrorPvcNotFound
                | PrintableStatus::ErrImagePull
                | PrintableStatus::ImagePullBackOff
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PrintableStatus::Stopped => "Stopped",
            PrintableStatus::Provisioning => "Provisioning",
            PrintableStatus::Starting => "Starting",
            PrintableStatus::Running => "Running",
            PrintableStatus::Paused => "Paused",
            PrintableStatus::Stopping => "Stopping",
            PrintableStatus::Terminating => "Terminating",
            PrintableStatus::CrashLoopBackOff => "CrashLoopBackOff",
            PrintableStatus::Migrating => "Migrating",
            PrintableStatus::Unknown => "Unknown",
            PrintableStatus::ErrorUnschedulable => "ErrorUnschedulable",
            PrintableStatus::ErrImagePull => "ErrImagePull",
            PrintableStatus::ImagePullBackOff => "ImagePullBackOff",
            PrintableStatus::ErrorPvcNotFound => "ErrorPvcNotFound",
            PrintableStatus::DataVolumeError => "DataVolumeError",
            PrintableStatus::WaitingForVolumeBinding => "WaitingForVolumeBinding",
            PrintableStatus::WaitingForReceiver => "WaitingForReceiver",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VmStatus {
    pub printable_status: PrintableStatus,
    pub created: bool,
    pub ready: bool,
    /// Reason of the Ready condition, copied from the VMI's (`VMINotExists` when there
    /// is none; `vm.go`, `syncReadyConditionFromVMI`). A reason change is a status
    /// write, so it wakes the pool (`updateVMHandler`).
    pub ready_reason: Option<String>,
    /// The Ready condition's `lastTransitionTime`: copied from the VMI's condition, or
    /// stamped by the VM controller for `VMINotExists` / `VMIConditionMissing`, each time
    /// the condition's status or reason changes (`UpdateCondition`,
    /// `pkg/controller/conditions.go`, replaces the whole condition then).
    pub ready_transition: SimTime,
    /// The Ready condition's `lastProbeTime`, stamped as `ready_transition` is; what the
    /// pool's autohealing reads as "failing since" (`hasVMBeenFailingLongEnough`).
    pub ready_probe: SimTime,
    /// `status.startFailure` (`vm.go`, `syncStartFailureStatus`).
    pub start_failure: Option<StartFailure>,
    /// The name of the pool that created this VM, kept by poolsim (not an upstream
    /// field) so ground-truth counts include VMs later detached from the pool.
    pub created_by_pool: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartFailure {
    pub consecutive_fail_count: u32,
    pub retry_after: SimTime,
    pub last_failed_vmi_uid_seq: u64,
}

// ---------------------------------------------------------------- VirtualMachineInstance

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VmiSpec {
    /// `domain.cpu.cores * sockets * threads` (each default 1).
    pub vcpus: u32,
    /// `domain.resources.requests.cpu`, if set.
    pub cpu_request_milli: Option<i64>,
    pub cpu_limit_milli: Option<i64>,
    /// `domain.resources.requests.memory` (or `domain.memory.guest`).
    pub memory_request_bytes: i64,
    pub volumes: Vec<Volume>,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// `terminationGracePeriodSeconds`, default 30 s (`types.go`,
    /// `DefaultGracePeriodSeconds`).
    pub termination_grace_period_s: u64,
    /// `spec.readinessProbe`, defaulted (`SetDefaults_Probe`).
    pub readiness_probe: Option<Probe>,
    /// `spec.livenessProbe`, defaulted (`SetDefaults_Probe`).
    pub liveness_probe: Option<Probe>,
}

impl VmiSpec {
    pub fn has_readiness_probe(&self) -> bool {
        self.readiness_probe.is_some()
    }
}

/// How a VMI probe reaches the guest (`kubevirt.io/api/core/v1/types.go`, `Handler`).
/// poolsim does not run the probe's command or request: every kind passes while the
/// guest runs and answers, and fails while it boots, hangs or is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeHandler {
    Exec,
    HttpGet,
    TcpSocket,
    GuestAgentPing,
}

/// A VMI readiness or liveness probe (`kubevirt.io/api/core/v1/types.go`, `Probe`),
/// with `SetDefaults_Probe` (`staging/src/kubevirt.io/api/core/v1/defaults.go`)
/// applied: timeout 1 s, period 10 s, success threshold 1, failure threshold 3 where
/// unset or below 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub handler: ProbeHandler,
    pub initial_delay_s: u64,
    pub timeout_s: u64,
    pub period_s: u64,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl Probe {
    /// `SetDefaults_Probe` over the values as written (0 meaning unset).
    pub fn defaulted(
        handler: ProbeHandler,
        initial_delay_s: u64,
        timeout_s: u64,
        period_s: u64,
        success_threshold: u32,
        failure_threshold: u32,
    ) -> Probe {
        Probe {
            handler,
            initial_delay_s,
            timeout_s: timeout_s.max(1),
            period_s: if period_s < 1 { 10 } else { period_s },
            success_threshold: success_threshold.max(1),
            failure_threshold: if failure_threshold < 1 {
                3
            } else {
                failure_threshold
            },
        }
    }

    /// The probe as the compute container carries it (`services/rendercontainer.go`,
    /// `updateReadinessProbe` / `updateLivenessProbe`): `LibvirtStartupDelay` added to
    /// the initial delay, and 1 s added to the timeout of exec and guest-agent probes,
    /// which `virt-probe` runs through the guest agent
    /// (`wrapExecProbeWithVirtProbe`, `wrapGuestAgentPingWithVirtProbe`).
    pub fn on_compute_container(&self, libvirt_startup_delay_ms: u64) -> ContainerProbe {
        let wrapped = matches!(
            self.handler,
            ProbeHandler::Exec | ProbeHandler::GuestAgentPing
        );
        ContainerProbe {
            initial_delay_ms: self.initial_delay_s * 1000 + libvirt_startup_delay_ms,
            timeout_ms: (self.timeout_s + u64::from(wrapped)) * 1000,
            period_ms: self.period_s * 1000,
            success_threshold: self.success_threshold,
            failure_threshold: self.failure_threshold,
        }
    }
}

/// A probe of the compute container, as the kubelet's prober worker runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerProbe {
    pub initial_delay_ms: u64,
    pub timeout_ms: u64,
    pub period_ms: u64,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub name: String,
    pub source: VolumeSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VolumeSource {
    PersistentVolumeClaim {
        claim_name: String,
    },
    DataVolume {
        name: String,
    },
    CloudInitNoCloud {
        user_data_secret: Option<String>,
        network_data_secret: Option<String>,
    },
    CloudInitConfigDrive {
        user_data_secret: Option<String>,
        network_data_secret: Option<String>,
    },
    Secret {
        secret_name: String,
    },
    ConfigMap {
        name: String,
    },
    ContainerDisk {
        image: String,
    },
    /// Any other source: kept by name, not modelled.
    Other {
        kind: String,
    },
}

impl VolumeSource {
    /// Secrets this volume needs before the launcher pod can start.
    pub fn secret_refs(&self) -> Vec<&str> {
        match self {
            VolumeSource::CloudInitNoCloud {
                user_data_secret,
                network_data_secret,
            }
            | VolumeSource::CloudInitConfigDrive {
                user_data_secret,
                network_data_secret,
            } => user_data_secret
                .iter()
                .chain(network_data_secret.iter())
                .map(String::as_str)
                .collect(),
            VolumeSource::Secret { secret_name } => vec![secret_name.as_str()],
            _ => Vec::new(),
        }
    }

    /// The claim this volume mounts, if any (a DataVolume volume mounts the PVC of the
    /// same name).
    pub fn claim_name(&self) -> Option<&str> {
        match self {
            VolumeSource::PersistentVolumeClaim { claim_name } => Some(claim_name),
            VolumeSource::DataVolume { name } => Some(name),
            _ => None,
        }
    }
}

/// VMI phases (`types.go`, `VirtualMachineInstancePhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum VmiPhase {
    #[default]
    Pending,
    Scheduling,
    Scheduled,
    Running,
    Succeeded,
    Failed,
}

impl VmiPhase {
    pub fn is_final(self) -> bool {
        matches!(self, VmiPhase::Succeeded | VmiPhase::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VmiPhase::Pending => "Pending",
            VmiPhase::Scheduling => "Scheduling",
            VmiPhase::Scheduled => "Scheduled",
            VmiPhase::Running => "Running",
            VmiPhase::Succeeded => "Succeeded",
            VmiPhase::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VirtualMachineInstance {
    pub meta: ObjectMeta,
    pub spec: VmiSpec,
    pub status: VmiStatus,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VmiStatus {
    pub phase: VmiPhase,
    pub node_name: Option<String>,
    /// Ready condition, copied from the launcher pod (`vmi.go`, ready condition sync).
    pub ready: bool,
    /// Reason of a False Ready condition: `PodTerminating`, `PodNotReady`, `GuestNotRunning`.
    pub ready_reason: Option<String>,
    /// The Ready condition's `lastTransitionTime`: re-stamped whenever its status or
    /// reason changes (`UpdateCondition`, `pkg/controller/conditions.go`), with the
    /// pod's own transition time once it is copied from the pod.
    pub ready_transition: SimTime,
    /// The Ready condition's `lastProbeTime`: stamped with `ready_transition` for the
    /// False reasons virt-controller sets itself (`syncReadyConditionFromPod`); copied
    /// from the pod's Ready condition otherwise, which the kubelet leaves unset
    /// (`GeneratePodReadyCondition`), modelled as time zero.
    pub ready_probe: SimTime,
    /// When the VMI first reached Running, if it did.
    pub running_since: Option<SimTime>,
    /// The launcher pod's `PodScheduled=False, reason Unschedulable`, copied as the
    /// VMI condition the VM controller turns into `ErrorUnschedulable`.
    pub unschedulable: bool,
    /// `Synchronized=False, reason FailedPvcNotFound`: a volume's claim does not exist,
    /// so no launcher pod was created (`pkg/virt-controller/watch/vmi/datavolumes.go`,
    /// `areDataVolumesReady`); the VM controller shows `ErrorPvcNotFound`.
    pub pvc_not_found: bool,
    /// `Synchronized=False` with the reason of a launcher container waiting on its
    /// image, `ErrImagePull` or `ImagePullBackOff` (`lifecycle.go`,
    /// `checkForContainerImageError`); the VM shows that status.
    pub image_pull_error: Option<String>,
}

// ---------------------------------------------------------------- DataVolume (CDI)

#[derive(Debug, Clone, PartialEq)]
pub struct DataVolumeSpec {
    pub source: DataVolumeSource,
    pub storage_bytes: i64,
    pub access_modes: Vec<String>,
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DataVolumeSource {
    Pvc {
        namespace: Option<String>,
        name: String,
    },
    Blank,
    /// http, registry, ...: an import of the given kind, modelled at the copy throughput.
    Import {
        kind: String,
    },
}

/// DataVolume phases (CDI `DataVolumePhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataVolumePhase {
    #[default]
    Pending,
    PvcBound,
    CloneScheduled,
    CloneInProgress,
    SnapshotForSmartCloneInProgress,
    CsiCloneInProgress,
    ImportInProgress,
    WaitForFirstConsumer,
    PendingPopulation,
    Succeeded,
    Failed,
}

impl DataVolumePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            DataVolumePhase::Pending => "Pending",
            DataVolumePhase::PvcBound => "PVCBound",
            DataVolumePhase::CloneScheduled => "CloneScheduled",
            DataVolumePhase::CloneInProgress => "CloneInProgress",
            DataVolumePhase::SnapshotForSmartCloneInProgress => "SnapshotForSmartCloneInProgress",
            DataVolumePhase::CsiCloneInProgress => "CSICloneInProgress",
            DataVolumePhase::ImportInProgress => "ImportInProgress",
            DataVolumePhase::WaitForFirstConsumer => "WaitForFirstConsumer",
            DataVolumePhase::PendingPopulation => "PendingPopulation",
            DataVolumePhase::Succeeded => "Succeeded",
            DataVolumePhase::Failed => "Failed",
        }
    }

    /// Whether a VM may start with this DataVolume (`vm.go`: Succeeded,
    /// WaitForFirstConsumer or PendingPopulation).
    pub fn lets_vm_start(self) -> bool {
        matches!(
            self,
            DataVolumePhase::Succeeded
                | DataVolumePhase::WaitForFirstConsumer
                | DataVolumePhase::PendingPopulation
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataVolume {
    pub meta: ObjectMeta,
    pub spec: DataVolumeSpec,
    pub phase: DataVolumePhase,
    /// The reason of a `Running=False` condition CDI sets when its worker pod stopped
    /// on an error (`Error`, or `ImagePullFailed` for a registry import whose image
    /// cannot be pulled); KubeVirt reads it as a DataVolume error
    /// (`pkg/storage/types/dv.go`, `HasDataVolumeErrors`).
    pub running_error: Option<String>,
}

impl DataVolume {
    /// `HasDataVolumeErrors` for this DataVolume: Failed, or its worker stopped on an
    /// error.
    pub fn has_error(&self) -> bool {
        self.phase == DataVolumePhase::Failed
            || matches!(
                self.running_error.as_deref(),
                Some("Error" | "ImagePullFailed")
            )
    }
}
