//! CDI's clone planner for a PVC source (`kubevirt/containerized-data-importer`,
//! `pkg/controller/clone/planner.go`, `computeStrategyForSourcePVC`), as a pure
//! function of the storage setup, so its choices can be tested one by one.
//!
//! The strategy starts from the target class's StorageProfile `cloneStrategy`
//! (`storageprofile-controller.go`, `reconcileCloneStrategy`: the class's
//! `cdi.kubevirt.io/clone-strategy` annotation; else `snapshot` when a
//! VolumeSnapshotClass has the class's provisioner as driver; else `copy`). A snapshot
//! clone then needs a VolumeSnapshotClass of the driver both claims share
//! (`GetCompatibleVolumeSnapshotClass`); a snapshot or CSI clone needs that common
//! driver and, into a larger target, a class that allows volume expansion
//! (`validateAdvancedClonePVC`). Each fallback to host-assisted copy is a Warning
//! event on the target claim (`fallbackToHostAssisted`). Not modelled: the CDI CR's
//! `cloneStrategyOverride`, StorageProfile `spec` overrides, the advised strategies of
//! known provisioners (`storagecapabilities`), volume modes (poolsim claims are all
//! Filesystem) and PV CSI drivers (the class's provisioner stands in for the driver,
//! as `GetCommonDriver` does when a claim has no volume yet).

use crate::api::{StorageClass, VolumeSnapshotClass};

/// `CDICloneStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneStrategy {
    /// `copy`: host-assisted, a source and a target pod copy the data.
    HostAssisted,
    /// `snapshot`: a VolumeSnapshot of the source, restored into the target.
    Snapshot,
    /// `csi-clone`: the CSI driver clones the volume.
    CsiClone,
}

impl CloneStrategy {
    /// The strategy as CDI spells it (`copy`, `snapshot`, `csi-clone`).
    pub fn from_name(name: &str) -> Option<CloneStrategy> {
        match name {
            "copy" => Some(CloneStrategy::HostAssisted),
            "snapshot" => Some(CloneStrategy::Snapshot),
            "csi-clone" => Some(CloneStrategy::CsiClone),
            _ => None,
        }
    }
}

/// One event the planner records on the target claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannerEvent {
    pub reason: &'static str,
    pub message: String,
}

/// What the planner decided, with the events it recorded on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyChoice {
    pub strategy: CloneStrategy,
    pub events: Vec<PlannerEvent>,
}

/// The claims of one clone, as the planner sees them.
pub struct ClonePlan<'a> {
    /// The target claim's class (CDI resolves the default class first).
    pub target_class: &'a StorageClass,
    /// The source claim's class; `None` when it names no existing class.
    pub source_class: Option<&'a StorageClass>,
    /// The source claim's capacity and the target's request, in bytes.
    pub source_bytes: i64,
    pub target_bytes: i64,
}

/// `NoVolumeSnapshotClass` and the other fallback reasons and messages of `planner.go`.
pub const NO_VOLUME_SNAPSHOT_CLASS: (&str, &str) = (
    "NoVolumeSnapshotClass",
    "No compatible volumesnapshotclass found",
);
pub const INCOMPATIBLE_PROVISIONERS: (&str, &str) =
    ("IncompatibleProvisioners", "Provisioners are incompatible");
pub const NO_VOLUME_EXPANSION: (&str, &str) =
    ("NoVolumeExpansion", "No volume expansion is possible");
/// `VolumeSnapshotClassSelected` with `MessageStorageProfileVolumeSnapshotClassSelected`
/// (`pkg/controller/common/util.go`): the StorageProfile's `status.snapshotClass`
/// names the class, and it matches the driver.
pub const SNAPSHOT_CLASS_SELECTED: (&str, &str) = (
    "VolumeSnapshotClassSelected",
    "VolumeSnapshotClass selected according to StorageProfile",
);

/// The StorageProfile's `status.cloneStrategy` for a class (`reconcileCloneStrategy`).
pub fn profile_clone_strategy<'a>(
    class: &StorageClass,
    snapshot_classes: impl IntoIterator<Item = &'a VolumeSnapshotClass>,
) -> CloneStrategy {
    if let Some(strategy) = class
        .clone_strategy
        .as_deref()
        .and_then(CloneStrategy::from_name)
    {
        return strategy;
    }
    if snapshot_class_for_driver(snapshot_classes, &class.provisioner).is_some() {
        CloneStrategy::Snapshot
    } else {
        CloneStrategy::HostAssisted
    }
}

/// `GetVolumeSnapshotClass` without a name: among the classes of `driver`, the one
/// annotated default, else the first by name. `snapshot_classes` comes in name order
/// (the store's key order), as the API server lists them.
pub fn snapshot_class_for_driver<'a>(
    snapshot_classes: impl IntoIterator<Item = &'a VolumeSnapshotClass>,
    driver: &str,
) -> Option<&'a VolumeSnapshotClass> {
    let mut first = None;
    for class in snapshot_classes.into_iter().filter(|c| c.driver == driver) {
        if class.is_default {
            return Some(class);
        }
        first = first.or(Some(class));
    }
    first
}

/// `computeStrategyForSourcePVC` after the source exists and passed
/// `validateSourcePVC`.
pub fn choose_strategy<'a>(
    plan: &ClonePlan<'_>,
    snapshot_classes: impl IntoIterator<Item = &'a VolumeSnapshotClass> + Clone,
) -> StrategyChoice {
    let mut events = Vec::new();
    let fallback = |mut events: Vec<PlannerEvent>, (reason, message): (&'static str, &str)| {
        events.push(PlannerEvent {
            reason,
            message: message.to_string(),
        });
        StrategyChoice {
            strategy: CloneStrategy::HostAssisted,
            events,
        }
    };
    // `GetCommonDriver`: both claims' classes name the same provisioner.
    let common_driver = plan
        .source_class
        .filter(|source| source.provisioner == plan.target_class.provisioner)
        .map(|source| source.provisioner.as_str());
    let strategy = profile_clone_strategy(plan.target_class, snapshot_classes.clone());
    if strategy == CloneStrategy::Snapshot {
        // `GetCompatibleVolumeSnapshotClass`.
        let selected =
            common_driver.and_then(|driver| snapshot_class_for_driver(snapshot_classes, driver));
        let Some(selected) = selected else {
            return fallback(events, NO_VOLUME_SNAPSHOT_CLASS);
        };
        events.push(PlannerEvent {
            reason: SNAPSHOT_CLASS_SELECTED.0,
            message: format!("{} {}", SNAPSHOT_CLASS_SELECTED.1, selected.meta.name),
        });
    }
    if strategy != CloneStrategy::HostAssisted {
        // `validateAdvancedClonePVC`.
        if common_driver.is_none() {
            return fallback(events, INCOMPATIBLE_PROVISIONERS);
        }
        if plan.source_bytes < plan.target_bytes && !plan.target_class.allow_volume_expansion {
            return fallback(events, NO_VOLUME_EXPANSION);
        }
    }
    StrategyChoice { strategy, events }
}

/// `ValidateRequestedCloneSize` (`pkg/controller/common/util.go`), run by
/// `validateSourcePVC`: a target smaller than its source cannot be cloned into; the
/// planner records `ErrIncompatiblePVC` and retries.
pub fn validate_clone_size(source_bytes: i64, target_bytes: i64) -> Result<(), String> {
    if target_bytes < source_bytes {
        Err(format!(
            "target resources requests storage size is smaller than the source {target_bytes} < {source_bytes}"
        ))
    } else {
        Ok(())
    }
}
