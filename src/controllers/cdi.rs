//! CDI (`kubevirt/containerized-data-importer`, `pkg/controller/datavolume`): a
//! DataVolume gets a PVC of its name; the PVC is provisioned (at once, or when its
//! first consumer is scheduled for WaitForFirstConsumer classes); a clone picks its
//! strategy from the storage setup (the class's `cdi.kubevirt.io/clone-strategy`
//! annotation, standing in for the StorageProfile; else snapshot when a
//! VolumeSnapshotClass exists; else host-assisted copy) and takes its time; the
//! DataVolume then is Succeeded. A missing clone source leaves it Pending with a
//! `CloneWithoutSource` event until the source appears.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::world::{ControllerId, Timer, World};
use crate::controllers::controller_ref;
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
        return;
    };
    if dv.meta.is_deleting()
        || dv.phase == DataVolumePhase::Succeeded
        || dv.phase == DataVolumePhase::Failed
    {
        return;
    }
    let class = storage_class(objects, dv.spec.storage_class.as_deref()).cloned();
    let pvc = objects.pvcs.get(key).cloned();
    let now = world.now();
    let Some(pvc) = pvc else {
        let claim = PersistentVolumeClaim {
            meta: ObjectMeta {
                owner_references: vec![controller_ref(Kind::DataVolume, &dv.meta)],
                ..ObjectMeta::named(&dv.meta.namespace, &dv.meta.name)
            },
            storage_class: class
                .as_ref()
                .map(|c| c.meta.name.clone())
                .or(dv.spec.storage_class.clone()),
            storage_bytes: dv.spec.storage_bytes,
            access_modes: dv.spec.access_modes.clone(),
            phase: PvcPhase::Pending,
            populated: false,
            selected_node: None,
        };
        let immediate = class
            .as_ref()
            .is_none_or(|c| c.volume_binding_mode == VolumeBindingMode::Immediate);
        if let Ok(uid) = world.store.create(claim, now) {
            if immediate {
                let delay = world.settings.provision_ms;
                world.schedule_timer(
                    delay,
                    Timer::PvcProvisioned {
                        pvc: key.clone(),
                        uid,
                    },
                );
            }
        }
        return;
    };
    // Source availability.
    let mut fast_clone = false;
    if let DataVolumeSource::Pvc { namespace, name } = &dv.spec.source {
        let source_key = ObjectKey::new(namespace.as_deref().unwrap_or(&dv.meta.namespace), name);
        let source_ready = objects
            .pvcs
            .get(&source_key)
            .is_some_and(|s| s.phase == PvcPhase::Bound && s.populated);
        if !source_ready {
            if dv.phase != DataVolumePhase::Pending || !world.cdi_warned(key) {
                world.record(
                    "DataVolume",
                    &dv.meta.name,
                    "CloneWithoutSource",
                    format!("The source pvc {source_key} doesn't exist or is not populated"),
                );
            }
            set_phase(world, key, DataVolumePhase::Pending);
            return;
        }
        let strategy = class
            .as_ref()
            .and_then(|c| c.clone_strategy.clone())
            .unwrap_or_else(|| {
                if objects.snapshot_classes.is_empty() {
                    "copy".into()
                } else {
                    "snapshot".into()
                }
            });
        fast_clone = strategy != "copy";
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
    let (phase, duration_ms) = match &dv.spec.source {
        DataVolumeSource::Blank => (DataVolumePhase::ImportInProgress, 1000),
        DataVolumeSource::Import { .. } | DataVolumeSource::Pvc { .. } if !fast_clone => {
            let copy_ms = (dv.spec.storage_bytes.max(0) as u64).saturating_mul(1000)
                / world.settings.clone_copy_bytes_per_s.max(1);
            let phase = if matches!(dv.spec.source, DataVolumeSource::Pvc { .. }) {
                DataVolumePhase::CloneInProgress
            } else {
                DataVolumePhase::ImportInProgress
            };
            (phase, world.settings.clone_pod_start_ms + copy_ms)
        }
        _ => {
            let (low, high) = (
                world.settings.clone_fast_min_ms,
                world.settings.clone_fast_max_ms,
            );
            let strategy_phase = if objects_has_snapshot(world) {
                DataVolumePhase::SnapshotForSmartCloneInProgress
            } else {
                DataVolumePhase::CsiCloneInProgress
            };
            (
                strategy_phase,
                uniform_ms(world.rng("cdi-clone"), low, high),
            )
        }
    };
    set_phase(world, key, phase);
    world.schedule_timer(
        duration_ms,
        Timer::CloneFinished {
            dv: key.clone(),
            uid: dv.meta.uid.clone(),
        },
    );
}

fn objects_has_snapshot(world: &World) -> bool {
    !world
        .informer(InformerId::VirtController)
        .snapshot_classes
        .is_empty()
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
        .filter(|dv| dv.meta.uid == uid)
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
