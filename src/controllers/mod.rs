//! Controllers and node agents. Each is a set of functions over `World` that reads one
//! informer cache and writes only through the API store (`world.store`); node agents
//! act only while their node is reporting. `route` is the informers' event handlers:
//! it turns a delivered watch event into work-queue keys, as each upstream
//! controller's `Add/Update/DeleteFunc` handlers do.
// Match arms follow upstream's case order; folding the inner `if`s into guards would
// hide which case a branch handles.
#![allow(clippy::collapsible_match)]

pub mod cdi;
pub mod clone_planner;
pub mod gc;
pub mod host_clone;
pub mod hpa;
pub mod kubelet;
pub mod metrics;
pub mod node;
pub mod pool;
pub mod prober;
pub mod scenario;
pub mod scheduler;
pub mod scheduler_index;
pub mod virt_controller;
pub mod vm;
pub mod vmi;

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::store::{Object, ObjectSet, WatchEvent, WatchEventType};
use crate::cluster::world::{ControllerId, World};

/// The launcher pod name prefix of a VMI: `virt-launcher-<vmi>-` plus 5 random
/// characters (`pkg/virt-controller/services/template.go`, `GenerateName`).
pub fn launcher_pod_prefix(vmi_name: &str) -> String {
    format!("virt-launcher-{vmi_name}-")
}

/// The launcher pod of a VMI in `objects`: controlled by the VMI's uid.
pub fn launcher_pod<'a>(objects: &'a ObjectSet, vmi: &VirtualMachineInstance) -> Option<&'a Pod> {
    let prefix = launcher_pod_prefix(&vmi.meta.name);
    let start = ObjectKey::new(&vmi.meta.namespace, &prefix);
    objects
        .pods
        .range(start..)
        .take_while(|(key, _)| key.namespace == vmi.meta.namespace && key.name.starts_with(&prefix))
        .map(|(_, pod)| &**pod)
        .find(|pod| pod.meta.is_controlled_by(&vmi.meta.uid))
}

pub fn controller_ref(kind: Kind, meta: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        kind,
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        controller: true,
        block_owner_deletion: true,
    }
}

/// Route one delivered watch event to the controllers that watch it.
pub fn route(world: &mut World, informer: InformerId, event: &WatchEvent) {
    match informer {
        InformerId::VirtController => route_virt_controller(world, event),
        InformerId::KubeControllerManager => route_kube_controller_manager(world, event),
        InformerId::NodeAgents => route_node_agents(world, event),
    }
}

fn current_or_old(event: &WatchEvent) -> Option<&Object> {
    event.object.as_ref().or(event.old.as_ref())
}

fn route_virt_controller(world: &mut World, event: &WatchEvent) {
    let Some(object) = current_or_old(event) else {
        return;
    };
    match object {
        Object::Pool(pool) => pool::on_pool_event(world, &pool.meta.key()),
        Object::Vm(_) => {
            pool::on_vm_event(world, event);
            world.enqueue(ControllerId::Vm, event.key.clone());
        }
        Object::Vmi(vmi) => {
            world.enqueue(ControllerId::Vmi, event.key.clone());
            // The VM of the same name owns the VMI.
            world.enqueue(ControllerId::Vm, event.key.clone());
            pool::on_vmi_event(world, vmi);
            if let Some(node) = &vmi.status.node_name {
                world.enqueue(ControllerId::KubevirtNode, ObjectKey::cluster(node));
            }
        }
        Object::Pod(pod) => {
            if let Some(owner) = pod.meta.controller_ref() {
                if owner.kind == Kind::VirtualMachineInstance {
                    world.enqueue(
                        ControllerId::Vmi,
                        ObjectKey::new(&pod.meta.namespace, &owner.name),
                    );
                }
            }
        }
        Object::DataVolume(dv) => {
            world.enqueue(ControllerId::Cdi, event.key.clone());
            if let Some(owner) = dv.meta.controller_ref() {
                if owner.kind == Kind::VirtualMachine {
                    world.enqueue(
                        ControllerId::Vm,
                        ObjectKey::new(&dv.meta.namespace, &owner.name),
                    );
                }
            }
        }
        Object::Pvc(pvc) => {
            if event.event_type == WatchEventType::Added {
                vmi::on_claim_added(world, &event.key);
            }
            cdi::on_pvc_event(world, pvc)
        }
        Object::Node(_) => world.enqueue(ControllerId::KubevirtNode, event.key.clone()),
        Object::StorageClass(_) | Object::SnapshotClass(_) => cdi::on_storage_setup_event(world),
        Object::Secret(_) | Object::ConfigMap(_) | Object::Service(_) | Object::Hpa(_) => {}
    }
}

fn route_kube_controller_manager(world: &mut World, event: &WatchEvent) {
    gc::on_event(world, event);
    let Some(object) = current_or_old(event) else {
        return;
    };
    match object {
        Object::Pod(pod) => {
            scheduler::on_pod_event(world, &event.key);
            if event.object.is_some() && pod.node_name.is_none() && !pod.meta.is_deleting() {
                world.enqueue(ControllerId::Scheduler, event.key.clone());
            }
            if event.object.is_some() && pod.node_name.is_some() {
                node::on_pod_bound(world, pod);
            }
        }
        Object::Node(node) => {
            if event.object.is_some() {
                node::on_node_event(world, node, event.old.as_ref());
                scheduler::on_node_event(world);
            }
        }
        Object::Pvc(_) => scheduler::on_node_event(world),
        Object::Hpa(_) => hpa::on_hpa_event(world, event),
        _ => {}
    }
}

fn route_node_agents(world: &mut World, event: &WatchEvent) {
    let Some(object) = current_or_old(event) else {
        return;
    };
    match object {
        Object::Pod(pod) if pod.node_name.is_some() => {
            world.enqueue(ControllerId::Kubelet, event.key.clone());
        }
        Object::Vmi(vmi) if vmi.status.node_name.is_some() => {
            world.enqueue(ControllerId::VirtHandler, event.key.clone());
        }
        _ => {}
    }
}
