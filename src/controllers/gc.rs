//! The garbage collector (`pkg/controller/garbagecollector`, kubernetes): when an
//! owner is gone, its dependents are deleted (background propagation, the default for
//! these kinds).

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::store::WatchEvent;
use crate::cluster::world::World;

pub fn on_deleted(world: &mut World, event: &WatchEvent) {
    let Some(old) = event.old.as_deref() else {
        return;
    };
    let owner_uid = old.meta().uid.clone();
    let namespace = old.meta().namespace.clone();
    let objects = world.informer(InformerId::KubeControllerManager);
    let owned = |meta: &ObjectMeta| meta.owner_references.iter().any(|r| r.uid == owner_uid);
    let vms: Vec<ObjectKey> = objects
        .in_namespace::<VirtualMachine>(&namespace)
        .filter(|o| owned(&o.meta))
        .map(|o| o.meta.key())
        .collect();
    let vmis: Vec<ObjectKey> = objects
        .in_namespace::<VirtualMachineInstance>(&namespace)
        .filter(|o| owned(&o.meta))
        .map(|o| o.meta.key())
        .collect();
    let pods: Vec<ObjectKey> = objects
        .in_namespace::<Pod>(&namespace)
        .filter(|o| owned(&o.meta))
        .map(|o| o.meta.key())
        .collect();
    let dvs: Vec<ObjectKey> = objects
        .in_namespace::<DataVolume>(&namespace)
        .filter(|o| owned(&o.meta))
        .map(|o| o.meta.key())
        .collect();
    let pvcs: Vec<ObjectKey> = objects
        .in_namespace::<PersistentVolumeClaim>(&namespace)
        .filter(|o| owned(&o.meta))
        .map(|o| o.meta.key())
        .collect();
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
