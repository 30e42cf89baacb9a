//! The garbage collector (`pkg/controller/garbagecollector`, kubernetes): when an
//! owner is gone, its dependents are deleted (background propagation, the default for
//! these kinds); an owner deleted with foreground propagation stays until the
//! dependents that block its deletion are gone (`FOREGROUND_DELETION`).

use crate::api::*;
use crate::cluster::informer::{DependentKind, InformerId};
use crate::cluster::store::WatchEvent;
use crate::cluster::world::World;

pub fn on_deleted(world: &mut World, event: &WatchEvent) {
    let Some(old) = event.old.as_ref() else {
        return;
    };
    let owner_uid = old.meta().uid.as_str();
    let namespace = old.meta().namespace.as_str();
    // The informer's owner → dependents index, in deletion order (kind, then key).
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    let Some(dependents) = informer.dependents.get(owner_uid) else {
        return;
    };
    let (mut vms, mut vmis, mut pods, mut dvs, mut pvcs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (kind, key) in dependents
        .iter()
        .filter(|(_, key)| key.namespace == namespace)
    {
        let list = match kind {
            DependentKind::VirtualMachine => &mut vms,
            DependentKind::VirtualMachineInstance => &mut vmis,
            DependentKind::Pod => &mut pods,
            DependentKind::DataVolume => &mut dvs,
            DependentKind::PersistentVolumeClaim => &mut pvcs,
        };
        list.push(key.clone());
    }
    let now = world.now();
    for key in vms {
        let _ = world.store.delete::<VirtualMachine>(&key, None, now);
    }
    for key in vmis {
        let _ = world
            .store
            .delete::<VirtualMachineInstance>(&key, None, now);
    }
    for key in pods {
        let _ = world.store.delete::<Pod>(&key, None, now);
    }
    for key in dvs {
        let _ = world.store.delete::<DataVolume>(&key, None, now);
    }
    for key in pvcs {
        let _ = world.store.delete::<PersistentVolumeClaim>(&key, None, now);
    }
}

/// The garbage collector's view of one watch event: a deleted owner's dependents go
/// (background, `on_deleted`); an owner waiting for its dependents
/// (`FOREGROUND_DELETION`) has them deleted, and is released once they are gone
/// (`processDeletingDependentsItem` in `garbagecollector.go`); a dependent that goes
/// or changes may release such an owner.
pub fn on_event(world: &mut World, event: &WatchEvent) {
    if event.event_type == crate::cluster::store::WatchEventType::Deleted {
        on_deleted(world, event);
    }
    if let Some(object) = event.object.as_ref() {
        let meta = object.meta();
        if meta.is_deleting() && meta.finalizers.iter().any(|f| f == FOREGROUND_DELETION) {
            process_deleting_dependents(world, object.kind(), &meta.key(), &meta.uid);
        }
    }
    // A dependent that went or changed (lost its deletion block) may release an owner.
    let Some(dependent) = event.object.as_ref().or(event.old.as_ref()) else {
        return;
    };
    let namespace = dependent.meta().namespace.clone();
    for owner in dependent.meta().owner_references.clone() {
        let key = ObjectKey::new(&namespace, &owner.name);
        let informer = &world.informers[InformerId::KubeControllerManager.index()];
        let waiting = owner_meta(&informer.objects, owner.kind, &key).is_some_and(|meta| {
            meta.uid == owner.uid
                && meta.is_deleting()
                && meta.finalizers.iter().any(|f| f == FOREGROUND_DELETION)
        });
        if waiting {
            process_deleting_dependents(world, owner.kind, &key, &owner.uid);
        }
    }
}

/// An owner kind's object metadata in a cache.
fn owner_meta<'a>(
    objects: &'a crate::cluster::store::ObjectSet,
    kind: Kind,
    key: &ObjectKey,
) -> Option<&'a ObjectMeta> {
    Some(match kind {
        Kind::VirtualMachinePool => &objects.get::<VirtualMachinePool>(key)?.meta,
        Kind::VirtualMachine => &objects.get::<VirtualMachine>(key)?.meta,
        Kind::VirtualMachineInstance => &objects.get::<VirtualMachineInstance>(key)?.meta,
        Kind::DataVolume => &objects.get::<DataVolume>(key)?.meta,
        Kind::Pod => &objects.get::<Pod>(key)?.meta,
        Kind::PersistentVolumeClaim => &objects.get::<PersistentVolumeClaim>(key)?.meta,
        _ => return None,
    })
}

/// `processDeletingDependentsItem`: with no blocking dependent left the owner's
/// `foregroundDeletion` finalizer goes (and the owner with it, if it was the last);
/// otherwise each blocking dependent not yet being deleted is deleted, in the
/// foreground itself if it has dependents (`attemptToDeleteItem`: an owner waiting
/// for dependents makes a dependent with dependents go in the foreground), else in
/// the background.
fn process_deleting_dependents(world: &mut World, kind: Kind, key: &ObjectKey, uid: &str) {
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    let mut to_delete = Vec::new();
    let mut blocked = false;
    for (dependent_kind, dependent_key) in informer.dependents.get(uid).into_iter().flatten() {
        let Some(meta) = owner_meta(&informer.objects, dependent_kind.kind(), dependent_key) else {
            continue;
        };
        let blocks = meta
            .owner_references
            .iter()
            .any(|r| r.uid == uid && r.block_owner_deletion);
        if !blocks {
            continue;
        }
        blocked = true;
        if !meta.is_deleting() {
            let has_dependents = informer.dependents.contains_key(&meta.uid);
            to_delete.push((*dependent_kind, dependent_key.clone(), has_dependents));
        }
    }
    let now = world.now();
    if !blocked {
        remove_foreground_finalizer(world, kind, key, uid);
        return;
    }
    for (dependent_kind, dependent_key, foreground) in to_delete {
        delete_dependent(world, dependent_kind, &dependent_key, foreground, now);
    }
}

fn remove_foreground_finalizer(world: &mut World, kind: Kind, key: &ObjectKey, uid: &str) {
    fn release<T: crate::cluster::store::ApiObject + PartialEq>(
        world: &mut World,
        key: &ObjectKey,
        uid: &str,
    ) {
        let _ = world.store.modify::<T>(key, |object| {
            let meta = object.meta_mut();
            if meta.uid == uid {
                meta.finalizers.retain(|f| f != FOREGROUND_DELETION);
            }
        });
    }
    match kind {
        Kind::VirtualMachinePool => release::<VirtualMachinePool>(world, key, uid),
        Kind::VirtualMachine => release::<VirtualMachine>(world, key, uid),
        Kind::VirtualMachineInstance => release::<VirtualMachineInstance>(world, key, uid),
        Kind::DataVolume => release::<DataVolume>(world, key, uid),
        _ => {}
    }
}

fn delete_dependent(
    world: &mut World,
    kind: DependentKind,
    key: &ObjectKey,
    foreground: bool,
    now: crate::engine::SimTime,
) {
    fn delete<T: crate::cluster::store::ApiObject + PartialEq>(
        world: &mut World,
        key: &ObjectKey,
        foreground: bool,
        now: crate::engine::SimTime,
    ) {
        let _ = if foreground {
            world.store.delete_foreground::<T>(key, now)
        } else {
            world.store.delete::<T>(key, None, now)
        };
    }
    match kind {
        DependentKind::VirtualMachine => delete::<VirtualMachine>(world, key, foreground, now),
        DependentKind::VirtualMachineInstance => {
            delete::<VirtualMachineInstance>(world, key, foreground, now)
        }
        DependentKind::Pod => delete::<Pod>(world, key, foreground, now),
        DependentKind::DataVolume => delete::<DataVolume>(world, key, foreground, now),
        DependentKind::PersistentVolumeClaim => {
            delete::<PersistentVolumeClaim>(world, key, foreground, now)
        }
    }
}
