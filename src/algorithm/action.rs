//! What an algorithm asks the runtime to do: upstream's API writes and requeues,
//! returned as data in the order `pool.go` issues them.

use serde::{Deserialize, Serialize};

/// One write or requeue. The runtime applies them in order. Upstream's `execute` runs
/// in steps (autoheal, release, pool finalizer, scale, update, prune, or pool deletion)
/// and issues the writes of one step concurrently; a failed write ends the reconcile
/// after its step with a rate-limited requeue and the `ReplicaFailure` condition. A
/// runtime that models failed writes can drop the actions after the failed step: they
/// are grouped by step in this order.
///
/// Serialized as an object tagged by `action` with camelCase names
/// (`{"action":"createVm","index":3,"name":"my-pool-3","revision":"my-pool-1"}`), the
/// form of the external protocol in `docs/PROTOCOL.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Action {
    /// Take the VM out of the pool: set its ownerReferences to `[]` and drop the pool
    /// finalizer (`ReleaseVirtualMachine`, `pkg/controller/controller_ref_manager.go`).
    ReleaseVm { name: String },
    /// Add `pool.kubevirt.io/finalizer` to the pool (`addPoolFinalizer`).
    AddPoolFinalizer,
    /// Create the ControllerRevision `name` holding the current pool spec
    /// (`ensureControllerRevision`). Emitted only when the cache does not hold it.
    CreateRevision { name: String },
    /// Create VM `name` (= [`crate::algorithm::vm_name`] of the pool and `index`) from the
    /// template: labels and annotations from the template, `index` applied to
    /// DataVolume, and optionally secret and configMap, names (`indexVMSpec`), revision
    /// label `revision`, the pool finalizer and a controller ownerReference to the pool
    /// (`scaleOut`). The runtime records a `SuccessfulCreate` event.
    CreateVm {
        index: u32,
        name: String,
        revision: String,
    },
    /// Delete VM `name`, then, when `preserve_state` is set, remove its controller
    /// ownerReference from the PVCs and DataVolumes it uses, and remove the pool
    /// finalizer from it (`scaleIn` followed by `statePreservationCleanupforVM`).
    /// `foreground` asks for `propagationPolicy: Foreground` (the update path's
    /// DataVolume change). The runtime records a `SuccessfulDelete` event.
    DeleteVm {
        name: String,
        reason: DeleteReason,
        preserve_state: bool,
        foreground: bool,
    },
    /// For a VM that is already terminating (or a pool being deleted): when
    /// `preserve_state` is set, remove the VM's controller ownerReference from its PVCs
    /// and DataVolumes; then remove the pool finalizer from it if present
    /// (`statePreservationCleanupforVM`, `cleanupVMs`).
    FinalizeVm { name: String, preserve_state: bool },
    /// Rewrite VM `name` from the current template (labels, annotations, indexed spec,
    /// keeping the firmware UUID and serial) with revision label `revision`
    /// (`opportunisticUpdate`, `preserveVMIdentityFields`). Running VMIs are untouched.
    UpdateVm { name: String, revision: String },
    /// Delete the VMI of VM `name` so the VM controller starts a new one from the VM's
    /// updated template (`handleResourceUpdate`, `proactiveUpdateTypeRestart`).
    RestartVm { name: String },
    /// Set the revision label of the VMI of VM `name` to `revision` without restarting
    /// it: the VMI template did not change (`proactiveUpdateTypePatchRevisionLabel`).
    PatchVmiRevision { name: String, revision: String },
    /// Delete ControllerRevision `name`: no owned VM or its VMI refers to it any more
    /// (`pruneUnusedRevisions`).
    DeleteRevision { name: String },
    /// Remove `pool.kubevirt.io/finalizer` from the pool being deleted
    /// (`removePoolFinalizer`).
    RemovePoolFinalizer,
    /// Reconcile this pool again after `delay_ms`: the `maxUnavailable` budget is spent
    /// (`proactiveUpdate`, `defaultRetryDelay` = 3 s).
    RequeueAfter { delay_ms: u64 },
    /// The reconcile panics here, with this Go runtime error: upstream's `scaleIn`
    /// slices `eligibleVMs[0:count]` out of range (`pool.go`). Always the last action;
    /// the runtime applies the ones before it, writes no status, and crashes the
    /// controller process (`controllers::virt_controller`). Only `kubevirt-pool`
    /// returns it.
    ControllerPanic { message: String },
}

/// Why a VM is deleted; the runtime can put it in the event message.
///
/// Serialized in camelCase (`"scaleIn"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeleteReason {
    /// Autohealing: too many failed starts, or a failing status for too long.
    Autohealing,
    /// More VMs than replicas.
    ScaleIn,
    /// The update path: the DataVolume templates changed (`proactiveUpdateTypeVMDelete`).
    DataVolumeChange,
    /// Replica-set rule: the VM's VMI is Succeeded or Failed (`cleanFinishedVmis`).
    InstanceFinished,
    /// Replica-set rule: the VM's VMI is unknown (`cleanFinishedVmis`).
    InstanceUnknown,
}

impl DeleteReason {
    /// A short lowercase label for events and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteReason::Autohealing => "autohealing",
            DeleteReason::ScaleIn => "scale-in",
            DeleteReason::DataVolumeChange => "data-volume-change",
            DeleteReason::InstanceFinished => "instance-finished",
            DeleteReason::InstanceUnknown => "instance-unknown",
        }
    }
}
