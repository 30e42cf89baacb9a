//! The garbage collector (`pkg/controller/garbagecollector`, kubernetes): when an
//! owner is gone, its dependents are deleted (background propagation, the default for
//! these kinds).

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
