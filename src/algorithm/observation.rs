//! What a pool controller sees in its informer caches when it reconciles one pool.
//!
//! These views are plain data: the runtime builds them from its caches, the algorithms
//! read them. Nothing here refers to a simulator type. Every field names the upstream
//! field it stands for; the defaults upstream applies (`replicas` 1, `maxUnavailable`
//! 100%, sort policy Random, ...) are applied by whoever builds the view and are listed
//! on each field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The API's own enums, used as they are: they serialize by variant name, which is the
/// protocol's form (`docs/PROTOCOL.md`).
pub use crate::api::{PrintableStatus, SortPolicy, StatePreservation};

/// The VMI Ready condition reason that marks an instance whose pod is being deleted.
/// Upstream: `PodTerminatingReason` in `staging/src/kubevirt.io/api/core/v1/types.go`;
/// `filterUnkownVMIs` in `pkg/virt-controller/watch/replicaset/replicaset.go` uses it.
pub const POD_TERMINATING_REASON: &str = "PodTerminating";

/// Everything one reconcile of one pool may look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// Simulated time of this reconcile, in milliseconds. Autohealing compares the
    /// VMs' Ready condition probe time against it (`hasVMBeenFailingLongEnough` uses
    /// `time.Since`).
    pub now_ms: u64,
    /// The pool as the pool informer cache holds it.
    pub pool: PoolView,
    /// Every VM in the pool's namespace in the VM informer cache, any owner, terminating
    /// ones included, sorted by name (`listVMsFromNamespace` in `pool.go`). Upstream
    /// iterates a Go map here, so its order is unspecified; name order stands in for it
    /// wherever no sort policy applies.
    pub vms: Vec<VmView>,
    /// The ControllerRevisions in the revision cache that the pool owns (the `vmpool`
    /// index, keyed by the pool's uid), sorted by name.
    pub revisions: Vec<RevisionView>,
    /// Maximum number of creations or deletions in one reconcile. Upstream
    /// `BurstReplicas = 250` in `pkg/controller/controller.go`; the pool unit tests use 10.
    pub burst_replicas: usize,
    /// `expectations.SatisfiedExpectations(key)` at the start of this reconcile
    /// (`pkg/controller/expectations.go`): false while creations or deletions issued
    /// by an earlier reconcile have not been observed in the cache yet.
    pub expectations_satisfied: bool,
}

impl Observation {
    /// The revision with this name, if the cache holds it (`getControllerRevision`).
    pub fn revision(&self, name: &str) -> Option<&RevisionView> {
        self.revisions.iter().find(|revision| revision.name == name)
    }
}

/// The pool's spec and metadata, as far as the reconcile reads them
/// (`staging/src/kubevirt.io/api/pool/v1beta1/types.go`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolView {
    pub name: String,
    pub uid: String,
    /// `spec.replicas`, 1 when absent (`calcDiff`).
    pub replicas: i32,
    /// `spec.paused`.
    pub paused: bool,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// `metadata.finalizers` holds `pool.kubevirt.io/finalizer`.
    pub has_finalizer: bool,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.virtualMachineTemplate.metadata.labels`; `execute` does nothing at all when
    /// the selector does not match them.
    pub template_labels: BTreeMap<String, String>,
    /// `spec.scaleInStrategy`.
    pub scale_in: ScaleInStrategy,
    /// `spec.updateStrategy`.
    pub update: UpdateStrategy,
    /// `spec.maxUnavailable`, 100% when absent (`calculateMaxUnavailableInt`).
    pub max_unavailable: IntOrPercent,
    /// `spec.autohealing`; `None` turns autohealing off (`isAutohealingEnabled`).
    pub autohealing: Option<AutohealingView>,
    /// Name of the revision for the pool's current generation, `<pool>-<generation>`
    /// (`getRevisionName`). New and updated VMs get this revision label.
    pub current_revision: String,
    /// Digests of the current `spec.virtualMachineTemplate`.
    pub template: TemplateDigest,
}

/// Content digests of a `virtualMachineTemplate`, split the way `isOutdatedVM` and
/// `isOutdatedVMI` compare them (`equality.Semantic.DeepEqual` on each part). Any
/// string that is equal exactly when the parts are equal will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDigest {
    /// The whole `virtualMachineTemplate` (metadata and spec): a difference makes the
    /// VM outdated (`isOutdatedVM`).
    pub vm_template: String,
    /// `virtualMachineTemplate.spec.template` (the VMI template): a difference makes a
    /// running VMI outdated, and it is restarted (`proactiveUpdateTypeRestart`).
    pub vmi_template: String,
    /// `virtualMachineTemplate.spec.dataVolumeTemplates`: a difference deletes the VM
    /// (`proactiveUpdateTypeVMDelete`).
    pub data_volume_templates: String,
}

/// A ControllerRevision holding a snapshot of the pool spec (`ensureControllerRevision`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionView {
    pub name: String,
    pub template: TemplateDigest,
}

/// `spec.scaleInStrategy` (`VirtualMachinePoolScaleInStrategy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ScaleInStrategy {
    /// The controller picks the VMs to delete. Also what an absent strategy, or one
    /// with none of the three members set, means (`resolveScaleInPolicy`).
    Proactive {
        /// `selectionPolicy.sortPolicy`, Random when absent.
        sort_policy: SortPolicy,
        /// `selectionPolicy.selectors`: only VMs that match may be deleted.
        selectors: Option<VmSelectors>,
        /// `statePreservation`, Disabled when absent.
        state_preservation: StatePreservation,
    },
    /// Nothing is deleted on scale-in; VMs deleted by someone else are not replaced
    /// while the pool has too many, and their finalizer is removed once the count is
    /// right again (`opportunisticScaleIn`).
    Opportunistic {
        state_preservation: StatePreservation,
    },
    /// Nothing is deleted and no finalizer is removed (`isUnmanaged`).
    Unmanaged,
}

impl Default for ScaleInStrategy {
    fn default() -> Self {
        ScaleInStrategy::Proactive {
            sort_policy: SortPolicy::Random,
            selectors: None,
            state_preservation: StatePreservation::Disabled,
        }
    }
}

/// `spec.updateStrategy` (`VirtualMachinePoolUpdateStrategy`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum UpdateStrategy {
    /// Absent, or present with no member set: outdated VMs are rewritten and outdated
    /// VMIs restarted, in cache order (no sort: `proactiveUpdate` only sorts when
    /// `updateStrategy.proactive` is set).
    #[default]
    Unset,
    /// `proactive`: as `Unset`, but VMIs are restarted in `sort_policy` order (Random
    /// when `selectionPolicy.sortPolicy` is absent) and only VMs matching `selectors`
    /// are updated at all.
    Proactive {
        sort_policy: SortPolicy,
        selectors: Option<VmSelectors>,
    },
    /// `opportunistic`: VM objects are rewritten, running VMIs are left alone.
    Opportunistic,
    /// `unmanaged`: no update at all.
    Unmanaged,
}

/// `selectionPolicy.selectors` (`VirtualMachinePoolSelectors`): both parts must match
/// when both are given.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSelectors {
    /// Matched against the VM's `spec.template.metadata.labels`.
    pub label_selector: Option<LabelSelector>,
    /// Matched against the VM's `spec.template.spec.nodeSelector`.
    pub node_selector_requirements: Option<Vec<SelectorRequirement>>,
}

/// `metav1.LabelSelector`. An empty selector matches everything
/// (`metav1.LabelSelectorAsSelector`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<SelectorRequirement>,
}

/// One `matchExpressions` entry, or one `NodeSelectorRequirement`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    pub values: Vec<String>,
}

/// Operators of label and node selector requirements
/// (`k8s.io/apimachinery/pkg/labels/selector.go`, `Requirement.Matches`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    /// Node selector requirements only: the label parses as an integer greater than the
    /// single value.
    Gt,
    /// Node selector requirements only: the label parses as an integer less than the
    /// single value.
    Lt,
}

/// `spec.maxUnavailable` (`intstr.IntOrString`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(i32),
    Percent(i32),
}

impl Default for IntOrPercent {
    fn default() -> Self {
        IntOrPercent::Percent(100)
    }
}

/// Serialized as Kubernetes writes an `intstr.IntOrString`: an integer, or a string of
/// an integer followed by `%` (`k8s.io/apimachinery/pkg/util/intstr/intstr.go`).
impl Serialize for IntOrPercent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrPercent::Int(count) => serializer.serialize_i32(*count),
            IntOrPercent::Percent(percent) => serializer.collect_str(&format_args!("{percent}%")),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum IntOrString {
            Int(i32),
            String(String),
        }
        match IntOrString::deserialize(deserializer)? {
            IntOrString::Int(count) => Ok(IntOrPercent::Int(count)),
            IntOrString::String(text) => text
                .strip_suffix('%')
                .and_then(|digits| digits.parse().ok())
                .map(IntOrPercent::Percent)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "expected an integer or a percentage like \"25%\", got {text:?}"
                    ))
                }),
        }
    }
}

/// `spec.autohealing` (`VirtualMachinePoolAutohealingStrategy`), defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutohealingView {
    /// `startUpFailureThreshold`, 3 when absent (`defaultStartUpFailureThreshold`).
    pub start_up_failure_threshold: u32,
    /// `minFailingToStartDuration`, 5 minutes when absent (`minFailingToStartDuration`).
    pub min_failing_to_start_duration_ms: u64,
}

impl Default for AutohealingView {
    fn default() -> Self {
        AutohealingView {
            start_up_failure_threshold: 3,
            min_failing_to_start_duration_ms: 5 * 60 * 1000,
        }
    }
}

/// One VirtualMachine in the namespace cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmView {
    pub name: String,
    pub uid: String,
    /// `metadata.labels`: what the pool selector is matched against.
    pub labels: BTreeMap<String, String>,
    /// `spec.template.metadata.labels`: what selection-policy label selectors match.
    pub template_labels: BTreeMap<String, String>,
    /// `spec.template.spec.nodeSelector`: what selection-policy node selector
    /// requirements match.
    pub template_node_selector: BTreeMap<String, String>,
    /// uid of the ownerReference with `controller: true`, if any. Ownership is decided
    /// by uid alone (`BaseControllerRefManager.isOwned`).
    pub controller_owner_uid: Option<String>,
    /// `metadata.finalizers` holds `pool.kubevirt.io/finalizer`.
    pub has_pool_finalizer: bool,
    /// `metadata.creationTimestamp`, milliseconds of simulated time.
    pub creation_ms: u64,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// The Ready condition is present with status True (`filterReadyVMs`).
    pub ready: bool,
    /// `Some(probe_ms)` when the Ready condition is present with status False, where
    /// `probe_ms` is its `lastProbeTime`. The VM controller copies it from the VMI
    /// (`syncReadyConditionFromVMI`, `pkg/virt-controller/watch/vm/vm.go`) and
    /// `UpdateCondition` only replaces the condition when status or reason change, so
    /// in practice it is when the VM last became not ready for its current reason.
    pub ready_false_since_ms: Option<u64>,
    /// `status.printableStatus`.
    pub printable_status: PrintableStatus,
    /// `status.startFailure.consecutiveFailCount`, 0 when absent.
    pub start_failure_consecutive: u32,
    /// The `kubevirt.io/vm-pool-revision-name` label, if any.
    pub revision: Option<String>,
    /// The VMI of the same name in the VMI cache, if any.
    pub vmi: Option<VmiView>,
}

impl VmView {
    /// Whether the pool with this uid is the VM's controller.
    pub fn is_controlled_by(&self, pool_uid: &str) -> bool {
        self.controller_owner_uid.as_deref() == Some(pool_uid)
    }
}

/// The VMI of a VM, as the VMI cache holds it, plus what the node cache says of its node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmiView {
    /// `status.phase`.
    pub phase: VmiPhase,
    /// The Ready condition is present with status True.
    pub ready: bool,
    /// Reason of the Ready condition when it is False (`"PodTerminating"` once the pod
    /// is being deleted, for example after a taint eviction).
    pub ready_reason: Option<String>,
    /// `status.nodeName`.
    pub node: Option<String>,
    /// The node's Ready condition.
    pub node_ready: NodeReadiness,
    /// The node carries the `node.kubernetes.io/out-of-service` taint: its pods are
    /// force-deleted and its volumes detached, so the guest is known to be gone.
    pub node_out_of_service: bool,
    /// The `kubevirt.io/vm-pool-revision-name` label, if any.
    pub revision: Option<String>,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

impl VmiView {
    /// `IsFinal`: phase Succeeded or Failed.
    pub fn is_final(&self) -> bool {
        matches!(self.phase, VmiPhase::Succeeded | VmiPhase::Failed)
    }

    /// The `filterUnkownVMIs` rule of the VMI replica set: not final, not deleting, and
    /// Ready=False with reason PodTerminating.
    pub fn is_unknown(&self) -> bool {
        !self.is_final()
            && !self.deleting
            && !self.ready
            && self.ready_reason.as_deref() == Some(POD_TERMINATING_REASON)
    }

    /// `isVMIReady` in `pool.go`: not deleting, phase Running and Ready=True.
    pub fn is_available(&self) -> bool {
        !self.deleting && self.phase == VmiPhase::Running && self.ready
    }
}

/// `status.phase` of a VMI (`VirtualMachineInstancePhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum VmiPhase {
    #[default]
    Pending,
    Scheduling,
    Scheduled,
    Running,
    Succeeded,
    Failed,
    WaitingForSync,
    Unknown,
}

/// The Ready condition of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NodeReadiness {
    #[default]
    True,
    False,
    /// The node stopped reporting (the node lifecycle controller's grace period passed).
    Unknown,
}
