//! CDI (`kubevirt/containerized-data-importer`, `pkg/controller/datavolume`): a
//! DataVolume gets a PVC of its name; the PVC is provisioned (at once, or when its
//! first consumer is scheduled for WaitForFirstConsumer classes); a clone takes the
//! strategy CDI's planner picks (`clone_planner`) and its time (host-assisted copies
//! share their source's bandwidth, `host_clone`); the DataVolume then is Succeeded. A
//! missing clone source leaves it Pending with a `CloneWithoutSource` event until the
//! source appears; a DataVolume failed by a scenario (`failDataVolume`) stops.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::world::{ControllerId, Timer, World};
use crate::controllers::clone_planner::{self, ClonePlan, CloneStrategy};
use crate::controllers::{controller_ref, host_clone};
use crate::engine::rng::uniform_ms;

pub fn on_pvc_event(world: &mut World, pvc: &PersistentVolumeClaim) {
    let objects = world.informer(InformerId::VirtController);
    let mut keys: Vec<ObjectKey> = Vec::new();
    if objects.data_volumes.contains_key(&pvc.meta.key()) {
        keys.push(pvc.meta.key());
    }
    // DataVolumes cloning from this claim may now proceed.
    for dv in objects.data_volumes.values() {
        if let DataVolumeSource::Pvc { namespace, name } = &dv.spec.source {
            let source_ns = namespace.as_deref().unwrap_or(&dv.meta.namespace);
            if source_ns == pvc.meta.namespace
                && *name == pvc.meta.name
                && dv.phase == DataVolumePhase::Pending
            {
                keys.push(dv.meta.key());
            }
        }
    }
    for key in keys {
        world.enqueue(ControllerId::Cdi, key);
    }
    if pvc.phase == PvcPhase::Pending && pvc.selected_node.is_some() && !pvc.meta.is_deleting() {
        // The external provisioner acts once the scheduler picked a node.
        let delay = world.settings.provision_ms;
        world.schedule_timer(
            delay,
            Timer::PvcProvisioned {
                pvc: pvc.meta.key(),
                uid: pvc.meta.uid.clone(),
            },
        );
    }
}

pub fn on_storage_setup_event(world: &mut World) {
    let pending: Vec<ObjectKey> = world
        .informer(InformerId::VirtController)
        .data_volumes
        .values()
        .filter(|dv| dv.phase == DataVolumePhase::Pending)
        .map(|dv| dv.meta.key())
        .collect();
    for key in pending {
        world.enqueue(ControllerId::Cdi, key);
    }
}

fn storage_class<'a>(
    objects: &'a crate::cluster::store::ObjectSet,
    name: Option<&str>,
) -> Option<&'a StorageClass> {
    match name {
        Some(name) => objects.get(&ObjectKey::cluster(name)),
        None => objects
            .storage_classes
            .values()
            .map(|sc| &**sc)
            .find(|sc| sc.is_default),
    }
}

pub fn sync(world: &mut World, key: &ObjectKey) {
    let objects = world.informer(InformerId::VirtController);
    let Some(dv) = objects.data_volumes.get(key).cloned() else {
        host_clone::release(world, key);
        return;
    };
    if dv.meta.is_deleting() || dv.has_error() {
        host_clone::release(world, key);
        return;
    }
    if dv.phase == DataVolumePhase::Succeeded {
        return;
    }
    let class = storage_class(objects, dv.spec.storage_class.as_deref()).cloned();
    let Some(pvc) = objects.pvcs.get(key).cloned() else {
        create_claim(world, &dv, class.as_ref());
        return;
    };
    // Source availability.
    let mut source = None;
    if let Some(source_key) = clone_source(&dv) {
        match ready_source(world, &dv, &source_key) {
            Some(claim) => source = Some(claim),
            None => {
                set_phase(world, key, DataVolumePhase::Pending);
                return;
            }
        }
    }
    if pvc.phase != PvcPhase::Bound {
        let waits = class
            .as_ref()
            .is_some_and(|c| c.volume_binding_mode == VolumeBindingMode::WaitForFirstConsumer);
        set_phase(
            world,
            key,
            if waits {
                DataVolumePhase::WaitForFirstConsumer
            } else {
                DataVolumePhase::Pending
            },
        );
        return;
    }
    if matches!(
        dv.phase,
        DataVolumePhase::CloneInProgress
            | DataVolumePhase::SnapshotForSmartCloneInProgress
            | DataVolumePhase::CsiCloneInProgress
            | DataVolumePhase::ImportInProgress
    ) {
        return;
    }
    match source {
        Some(source) => start_clone(world, &dv, class.as_ref(), &source),
        None => start_import(world, &dv),
    }
}

/// The claim a PVC-source DataVolume clones from.
pub fn clone_source(dv: &DataVolume) -> Option<ObjectKey> {
    match &dv.spec.source {
        DataVolumeSource::Pvc { namespace, name } => Some(ObjectKey::new(
            namespace.as_deref().unwrap_or(&dv.meta.namespace),
            name,
        )),
        _ => None,
    }
}

/// The DataVolume's claim, of its class (`pkg/controller/datavolume`, `createPvcForDatavolume`).
fn create_claim(world: &mut World, dv: &DataVolume, class: Option<&StorageClass>) {
    let key = dv.meta.key();
    let claim = PersistentVolumeClaim {
        meta: ObjectMeta {
            owner_references: vec![controller_ref(Kind::DataVolume, &dv.meta)],
            ..ObjectMeta::named(&dv.meta.namespace, &dv.meta.name)
        },
        storage_class: class
            .map(|c| c.meta.name.clone())
            .or(dv.spec.storage_class.clone()),
        storage_bytes: dv.spec.storage_bytes,
        access_modes: dv.spec.access_modes.clone(),
        phase: PvcPhase::Pending,
        populated: false,
        selected_node: None,
    };
    let immediate = class.is_none_or(|c| c.volume_binding_mode == VolumeBindingMode::Immediate);
    let now = world.now();
    if let Ok(uid) = world.store.create(claim, now) {
        if immediate {
            let delay = world.settings.provision_ms;
            world.schedule_timer(delay, Timer::PvcProvisioned { pvc: key, uid });
        }
    }
}

/// The clone source, if it exists, is populated and passes `validateSourcePVC`; else
/// the reason is reported once (`CloneWithoutSource`; `ErrIncompatiblePVC` and
/// `CloneValidationFailed` on the target claim, `planner.go`) and the DataVolume waits.
fn ready_source(
    world: &mut World,
    dv: &DataVolume,
    source_key: &ObjectKey,
) -> Option<PersistentVolumeClaim> {
    let key = dv.meta.key();
    let source = world
        .informer(InformerId::VirtController)
        .pvcs
        .get(source_key)
        .filter(|s| s.phase == PvcPhase::Bound && s.populated)
        .map(|s| (**s).clone());
    let Some(source) = source else {
        if dv.phase != DataVolumePhase::Pending || !world.cdi_warned(&key) {
            world.record(
                "DataVolume",
                &dv.meta.name,
                "CloneWithoutSource",
                format!("The source pvc {source_key} doesn't exist or is not populated"),
            );
        }
        return None;
    };
    if let Err(message) =
        clone_planner::validate_clone_size(source.storage_bytes, dv.spec.storage_bytes)
    {
        if !world.cdi_warned(&key) {
            world.record(
                "PersistentVolumeClaim",
                &dv.meta.name,
                "ErrIncompatiblePVC",
                message,
            );
            world.record(
                "PersistentVolumeClaim",
                &dv.meta.name,
                "CloneValidationFailed",
                "The clone doesn't meet the validation requirements",
            );
        }
        return None;
    }
    Some(source)
}

/// Blank and import sources: an importer pod fills the claim at the copy throughput
/// (a blank image takes a second).
fn start_import(world: &mut World, dv: &DataVolume) {
    let duration_ms = match &dv.spec.source {
        DataVolumeSource::Blank => 1000,
        _ => {
            let copy_ms = (dv.spec.storage_bytes.max(0) as u64).saturating_mul(1000)
                / world.settings.clone_copy_bytes_per_s.max(1);
            world.settings.clone_pod_start_ms + copy_ms
        }
    };
    set_phase(world, &dv.meta.key(), DataVolumePhase::ImportInProgress);
    world.schedule_timer(
        duration_ms,
        Timer::CloneFinished {
            dv: dv.meta.key(),
            uid: dv.meta.uid.clone(),
        },
    );
}

/// A PVC clone: the planner picks the strategy (`clone_planner`), its events go on
/// the target claim, and the clone runs: snapshot and CSI clones take
/// `cloneFastMin`-`cloneFastMax`; a host-assisted copy starts its worker pods and then
/// shares the source's bandwidth (`host_clone`). Without a target class CDI cannot
/// compute a strategy (`validateTargetStorageClassAssignment`); poolsim copies then,
/// for scenarios that declare no storage.
fn start_clone(
    world: &mut World,
    dv: &DataVolume,
    class: Option<&StorageClass>,
    source: &PersistentVolumeClaim,
) {
    let key = dv.meta.key();
    let strategy = match class {
        Some(target_class) => {
            let objects = world.informer(InformerId::VirtController);
            let source_class = storage_class(objects, source.storage_class.as_deref());
            let plan = ClonePlan {
                target_class,
                source_class,
                source_bytes: source.storage_bytes,
                target_bytes: dv.spec.storage_bytes,
            };
            let choice = clone_planner::choose_strategy(
                &plan,
                objects.snapshot_classes.values().map(|c| &**c),
            );
            for event in choice.events {
                world.record(
                    "PersistentVolumeClaim",
                    &dv.meta.name,
                    event.reason,
                    event.message,
                );
            }
            choice.strategy
        }
        None => CloneStrategy::HostAssisted,
    };
    let uid = dv.meta.uid.clone();
    if strategy == CloneStrategy::HostAssisted {
        set_phase(world, &key, DataVolumePhase::CloneInProgress);
        let delay = world.settings.clone_pod_start_ms;
        world.schedule_timer(delay, Timer::HostCloneStarted { dv: key, uid });
        return;
    }
    let phase = if strategy == CloneStrategy::Snapshot {
        DataVolumePhase::SnapshotForSmartCloneInProgress
    } else {
        DataVolumePhase::CsiCloneInProgress
    };
    let (low, high) = (
        world.settings.clone_fast_min_ms,
        world.settings.clone_fast_max_ms,
    );
    let duration_ms = uniform_ms(world.rng("cdi-clone"), low, high);
    set_phase(world, &key, phase);
    world.schedule_timer(duration_ms, Timer::CloneFinished { dv: key, uid });
}

fn set_phase(world: &mut World, key: &ObjectKey, phase: DataVolumePhase) {
    let _ = world.store.modify::<DataVolume>(key, |dv| dv.phase = phase);
}

pub fn pvc_provisioned(world: &mut World, key: &ObjectKey, uid: &str) {
    let _ = world.store.modify::<PersistentVolumeClaim>(key, |pvc| {
        if pvc.meta.uid == uid && pvc.phase == PvcPhase::Pending {
            pvc.phase = PvcPhase::Bound;
        }
    });
}

pub fn clone_finished(world: &mut World, key: &ObjectKey, uid: &str) {
    let Some(dv) = world
        .store
        .get::<DataVolume>(key)
        .filter(|dv| dv.meta.uid == uid && !dv.meta.is_deleting() && !dv.has_error())
        .filter(|dv| dv.phase != DataVolumePhase::Succeeded)
        .cloned()
    else {
        return;
    };
    let _ = world
        .store
        .modify::<PersistentVolumeClaim>(key, |pvc| pvc.populated = true);
    let _ = world
        .store
        .modify::<DataVolume>(key, |dv| dv.phase = DataVolumePhase::Succeeded);
    world.record(
        "DataVolume",
        &dv.meta.name,
        "Completed",
        "Successfully populated the volume",
    );
}

impl World {
    /// Whether CDI already reported a missing source for this DataVolume (the event is
    /// recorded once per DataVolume, as the event recorder's aggregation shows it).
    fn cdi_warned(&mut self, key: &ObjectKey) -> bool {
        !self.cdi_warned_sources.insert(key.clone())
    }
}
