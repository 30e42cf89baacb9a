//! What a scenario's events do to the cluster: `kubectl` actions become API writes;
//! node failures change ground truth (and the agents' reach), never the API directly.

use crate::api::*;
use crate::cluster::world::{ClusterAction, NodeTarget, World};
use crate::controllers::{kubelet, node};
use crate::scenario::{DataVolumeFailure, DataVolumeRef};

/// Performs the scenario's event number `index` (in `World::actions`), `action`.
pub fn perform(world: &mut World, index: usize, action: ClusterAction) {
    world.record(
        "Scenario",
        &action_object(&action),
        action_reason(&action),
        action.label(),
    );
    let now = world.now();
    match action {
        ClusterAction::Scale { pool, replicas } => {
            let key = ObjectKey::new(world.namespace(), &pool);
            let _ = world.store.modify::<VirtualMachinePool>(&key, |p| {
                if p.spec.replicas != replicas {
                    p.spec.replicas = replicas;
                    p.meta.generation += 1;
                }
            });
        }
        ClusterAction::Apply(object) => apply_object(world, *object),
        ClusterAction::Patch(object, fields) => patch_object(world, *object, &fields),
        ClusterAction::Delete { kind, name } => {
            let namespace = if kind.is_namespaced() {
                world.namespace().to_string()
            } else {
                String::new()
            };
            let key = ObjectKey::new(&namespace, &name);
            let _ = match kind {
                Kind::VirtualMachinePool => {
                    world.store.delete::<VirtualMachinePool>(&key, None, now)
                }
                Kind::VirtualMachine => world.store.delete::<VirtualMachine>(&key, None, now),
                Kind::VirtualMachineInstance => world
                    .store
                    .delete::<VirtualMachineInstance>(&key, None, now),
                Kind::Pod => world.store.delete::<Pod>(&key, None, now),
                Kind::Node => {
                    let result = world.store.delete::<Node>(&key, None, now);
                    world.enqueue(
                        crate::cluster::world::ControllerId::KubevirtNode,
                        key.clone(),
                    );
                    result
                }
                Kind::DataVolume => world.store.delete::<DataVolume>(&key, None, now),
                Kind::PersistentVolumeClaim => {
                    world.store.delete::<PersistentVolumeClaim>(&key, None, now)
                }
                Kind::HorizontalPodAutoscaler => world
                    .store
                    .delete::<HorizontalPodAutoscaler>(&key, None, now),
                Kind::Service => world.store.delete::<Service>(&key, None, now),
                Kind::Secret => world.store.delete::<Secret>(&key, None, now),
                Kind::ConfigMap => world.store.delete::<ConfigMap>(&key, None, now),
                Kind::StorageClass => world.store.delete::<StorageClass>(&key, None, now),
                Kind::VolumeSnapshotClass => {
                    world.store.delete::<VolumeSnapshotClass>(&key, None, now)
                }
            };
        }
        ClusterAction::PartitionNode(target) => {
            if let Some(name) = resolve_failed_node(world, index, &target) {
                let was_reporting = world.truth.node_reporting(&name);
                if let Some(truth) = world.truth.nodes.get_mut(&name) {
                    truth.connected = false;
                }
                if was_reporting {
                    node::node_silenced(world, &name);
                }
            }
        }
        ClusterAction::HealNode(target) => {
            if let Some(name) = resolve_recovering_node(world, index, &target) {
                let powered = world.truth.nodes.get(&name).is_some_and(|t| t.powered);
                if let Some(truth) = world.truth.nodes.get_mut(&name) {
                    truth.connected = true;
                }
                if powered {
                    node::node_resumed(world, &name, 0);
                }
            }
        }
        ClusterAction::CrashNode(target) => {
            if let Some(name) = resolve_failed_node(world, index, &target) {
                let was_reporting = world.truth.node_reporting(&name);
                if let Some(truth) = world.truth.nodes.get_mut(&name) {
                    truth.powered = false;
                }
                kubelet::power_off(world, &name);
                if was_reporting {
                    node::node_silenced(world, &name);
                }
            }
        }
        ClusterAction::RecoverNode(target) => {
            if let Some(name) = resolve_recovering_node(world, index, &target) {
                let connected = world.truth.nodes.get(&name).is_some_and(|t| t.connected);
                if let Some(truth) = world.truth.nodes.get_mut(&name) {
                    truth.powered = true;
                }
                if connected {
                    let boot = world.settings.node_boot_ms;
                    node::node_resumed(world, &name, boot);
                }
            }
        }
        ClusterAction::FenceNode(target) => {
            if let Some(name) = resolve_recovering_node(world, index, &target) {
                fence_node(world, &name);
            }
        }
        ClusterAction::UnfenceNode(target) => {
            if let Some(name) = resolve_recovering_node(world, index, &target) {
                // `kubectl taint nodes NAME node.kubernetes.io/out-of-service-`.
                let _ = world.store.modify::<Node>(&ObjectKey::cluster(&name), |n| {
                    n.taints.retain(|t| t.key != TAINT_OUT_OF_SERVICE);
                });
            }
        }
        ClusterAction::KillGuest { vm } => {
            let key = ObjectKey::new(world.namespace(), &vm);
            if let Some(vmi) = world.store.get::<VirtualMachineInstance>(&key) {
                let uid = vmi.meta.uid.clone();
                kubelet::kill_guest(world, &uid);
            }
        }
        ClusterAction::HangGuest { ref vm } | ClusterAction::UnhangGuest { ref vm } => {
            let hung = matches!(action, ClusterAction::HangGuest { .. });
            let key = ObjectKey::new(world.namespace(), vm);
            if let Some(vmi) = world.store.get::<VirtualMachineInstance>(&key) {
                let uid = vmi.meta.uid.clone();
                kubelet::set_guest_hung(world, &uid, hung);
            }
        }
        ClusterAction::DetachVm { vm } => {
            let key = ObjectKey::new(world.namespace(), &vm);
            let _ = world.store.modify::<VirtualMachine>(&key, |vm| {
                vm.meta
                    .owner_references
                    .retain(|r| r.kind != Kind::VirtualMachinePool);
            });
        }
        ClusterAction::FailDataVolume { target, reason } => {
            fail_data_volumes(world, &target, reason);
        }
        ClusterAction::FailImagePull { image } => {
            // The registry stops serving the image: every later pull fails
            // (`kubelet::image_pull_fails`); images already pulled keep running.
            world.agent_state.unpullable_images.insert(image);
        }
        ClusterAction::SetLoad {
            cores,
            ramp_over_ms,
        } => {
            world.load.set_from(now, cores, ramp_over_ms);
        }
    }
}

/// `kubectl taint nodes NAME node.kubernetes.io/out-of-service=nodeshutdown:NoExecute`.
///
/// Upstream says the taint is for a node that is already shut down: kubernetes.io
/// "Node Shutdowns", *Non-graceful node shutdown* ("before adding the taint
/// node.kubernetes.io/out-of-service, it should be verified that the node is already
/// in shutdown or power off state"), and KEP-2268. On a node that still runs,
/// nothing stops its guests: pod GC force-deletes their pods (`gcTerminating`, in
/// `node::pod_gc` here), the VMIs fail, and the VMs start again elsewhere while the
/// old guests keep executing until the kubelet reaches the API again and kills them
/// as orphans (`kubelet::resync_node`). The run says so: a Warning in `summary.json`
/// and one event per guest left running, which is marked so the invariants can tell
/// this legitimate split brain from a bug (`invariants::check_guests`).
fn fence_node(world: &mut World, name: &str) {
    let now = world.now();
    let mut added = false;
    let _ = world.store.modify::<Node>(&ObjectKey::cluster(name), |n| {
        if !n.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE) {
            n.taints.push(Taint {
                key: TAINT_OUT_OF_SERVICE.into(),
                value: "nodeshutdown".into(),
                effect: TaintEffect::NoExecute,
                time_added: now,
            });
            added = true;
        }
    });
    if !added || !world.truth.node_powered(name) {
        return;
    }
    // A node that still reports hears of the evictions and stops its guests; one cut
    // off from the API cannot, and those guests outlive their API objects.
    let consequence = if world.truth.node_reporting(name) {
        "its kubelet stops the guests as their pods are evicted"
    } else {
        "it is unreachable, so its guests keep running while their VMs may start again \
         elsewhere (split brain)"
    };
    let message = format!(
        "node {name} was fenced (out-of-service taint) while still powered: the taint is \
         for nodes that are shut down; {consequence}"
    );
    world.record("Node", name, "FencedWhileRunning", message.clone());
    world.warnings.push(format!("at {now}: {message}"));
    let mut left_running: Vec<ObjectKey> = Vec::new();
    for guest in world.truth.guests_mut().values_mut() {
        if guest.node == name {
            guest.fenced_while_running = true;
            left_running.push(guest.vmi.clone());
        }
    }
    for vmi in left_running {
        world.record(
            "VirtualMachineInstance",
            &vmi.name,
            "GuestRunningOnFencedNode",
            format!("the guest keeps running on node {name}, which was fenced while still running"),
        );
    }
}

fn action_object(action: &ClusterAction) -> String {
    match action {
        ClusterAction::Scale { pool, .. } => pool.clone(),
        ClusterAction::Apply(o) | ClusterAction::Patch(o, _) => o.meta().name.clone(),
        ClusterAction::Delete { name, .. } => name.clone(),
        ClusterAction::PartitionNode(t)
        | ClusterAction::HealNode(t)
        | ClusterAction::CrashNode(t)
        | ClusterAction::RecoverNode(t)
        | ClusterAction::FenceNode(t)
        | ClusterAction::UnfenceNode(t) => match t {
            NodeTarget::Node(n) => n.clone(),
            NodeTarget::NodeOf(vm) => vm.clone(),
        },
        ClusterAction::KillGuest { vm }
        | ClusterAction::HangGuest { vm }
        | ClusterAction::UnhangGuest { vm }
        | ClusterAction::DetachVm { vm } => vm.clone(),
        ClusterAction::FailImagePull { image } => image.clone(),
        ClusterAction::FailDataVolume { target, .. } => match target {
            DataVolumeRef::Name(name) | DataVolumeRef::OfVm(name) => name.clone(),
        },
        ClusterAction::SetLoad { .. } => "load".into(),
    }
}

fn action_reason(action: &ClusterAction) -> &'static str {
    match action {
        ClusterAction::Scale { .. } => "scale",
        ClusterAction::Apply(_) => "apply",
        ClusterAction::Patch(..) => "patch",
        ClusterAction::Delete { .. } => "delete",
        ClusterAction::PartitionNode(_) => "partitionNode",
        ClusterAction::HealNode(_) => "healNode",
        ClusterAction::CrashNode(_) => "crashNode",
        ClusterAction::RecoverNode(_) => "recoverNode",
        ClusterAction::FenceNode(_) => "fenceNode",
        ClusterAction::UnfenceNode(_) => "unfenceNode",
        ClusterAction::KillGuest { .. } => "killGuest",
        ClusterAction::HangGuest { .. } => "hangGuest",
        ClusterAction::UnhangGuest { .. } => "unhangGuest",
        ClusterAction::DetachVm { .. } => "detachVm",
        ClusterAction::FailDataVolume { .. } => "failDataVolume",
        ClusterAction::FailImagePull { .. } => "failImagePull",
        ClusterAction::SetLoad { .. } => "setLoad",
    }
}

/// A failure (`partitionNode`, `crashNode`) resolves `nodeOf` now and remembers the
/// node, for the events that later undo or settle it.
fn resolve_failed_node(world: &mut World, index: usize, target: &NodeTarget) -> Option<String> {
    let node = resolve_node(world, target)?;
    if let NodeTarget::NodeOf(vm) = target {
        world.failed_node_of.insert(vm.clone(), node.clone());
        world.action_nodes.insert(index, node.clone());
    }
    Some(node)
}

/// `healNode`, `recoverNode` and `fenceNode` with `nodeOf: VM` mean the node that the
/// failure naming the same VM hit: by now the VM may run elsewhere (restarted after a
/// fence, or replaced under `kubevirt-vmirs`). Without such a failure, the VM's node now.
fn resolve_recovering_node(world: &mut World, index: usize, target: &NodeTarget) -> Option<String> {
    let NodeTarget::NodeOf(vm) = target else {
        return resolve_node(world, target);
    };
    let node = match world.failed_node_of.get(vm) {
        Some(node) => node.clone(),
        None => resolve_node(world, target)?,
    };
    world.action_nodes.insert(index, node.clone());
    Some(node)
}

/// `nodeOf: VM` resolves to the node of that VM's instance now (as the API says); an
/// event naming a VM without a placed instance does nothing, with a warning row.
fn resolve_node(world: &mut World, target: &NodeTarget) -> Option<String> {
    match target {
        NodeTarget::Node(name) => Some(name.clone()),
        NodeTarget::NodeOf(vm) => {
            let key = ObjectKey::new(world.namespace(), vm);
            let node = world
                .store
                .get::<VirtualMachineInstance>(&key)
                .and_then(|vmi| vmi.status.node_name.clone());
            if node.is_none() {
                let message = format!(
                    "VM {vm} has no instance on a node at this time; the event does nothing"
                );
                world.record("Scenario", vm, "NodeOfUnresolved", message.clone());
                world
                    .warnings
                    .push(format!("at {}: {message}", world.now()));
            }
            node
        }
    }
}

/// `kubectl apply`: create, or replace the spec of the existing object.
pub fn apply_object(world: &mut World, object: Object) {
    let now = world.now();
    macro_rules! upsert {
        ($ty:ty, $o:expr, $update:expr) => {{
            // The manifest's object, shared with the scenario: taken as a copy.
            let object: $ty = std::sync::Arc::unwrap_or_clone($o);
            let key = object.meta.key();
            if world.store.get::<$ty>(&key).is_some() {
                let new = object;
                let _ = world
                    .store
                    .modify::<$ty>(&key, |current| $update(current, new));
            } else {
                let _ = world.store.create(object, now);
            }
        }};
    }
    match object {
        Object::Pool(o) => upsert!(
            VirtualMachinePool,
            o,
            |c: &mut VirtualMachinePool, n: VirtualMachinePool| {
                if c.spec != n.spec {
                    c.spec = n.spec;
                    c.meta.generation += 1;
                }
                c.meta.labels = n.meta.labels;
            }
        ),
        Object::Vm(o) => upsert!(
            VirtualMachine,
            o,
            |c: &mut VirtualMachine, n: VirtualMachine| c.spec = n.spec
        ),
        Object::Vmi(o) => upsert!(
            VirtualMachineInstance,
            o,
            |c: &mut VirtualMachineInstance, n: VirtualMachineInstance| c.spec = n.spec
        ),
        Object::Pod(o) => upsert!(Pod, o, |c: &mut Pod, n: Pod| c.meta.labels = n.meta.labels),
        Object::Node(o) => upsert!(Node, o, |c: &mut Node, n: Node| {
            c.meta.labels = n.meta.labels;
            c.unschedulable = n.unschedulable;
        }),
        Object::DataVolume(o) => upsert!(DataVolume, o, |c: &mut DataVolume, n: DataVolume| c
            .spec =
            n.spec),
        Object::Pvc(o) => upsert!(
            PersistentVolumeClaim,
            o,
            |c: &mut PersistentVolumeClaim, n: PersistentVolumeClaim| c.meta.labels = n.meta.labels
        ),
        Object::Service(o) => upsert!(Service, o, |c: &mut Service, n: Service| {
            c.selector = n.selector;
            c.ports = n.ports;
        }),
        Object::Secret(o) => upsert!(Secret, o, |c: &mut Secret, n: Secret| c.keys = n.keys),
        Object::ConfigMap(o) => upsert!(ConfigMap, o, |c: &mut ConfigMap, n: ConfigMap| c.keys =
            n.keys),
        Object::StorageClass(o) => {
            upsert!(StorageClass, o, |c: &mut StorageClass, n: StorageClass| c
                .meta
                .annotations =
                n.meta.annotations)
        }
        Object::SnapshotClass(o) => upsert!(
            VolumeSnapshotClass,
            o,
            |c: &mut VolumeSnapshotClass, n: VolumeSnapshotClass| c.driver = n.driver
        ),
        Object::Hpa(o) => upsert!(
            HorizontalPodAutoscaler,
            o,
            |c: &mut HorizontalPodAutoscaler, n: HorizontalPodAutoscaler| c.spec = n.spec
        ),
    }
}

/// A merge patch, resolved at load time into the full patched object and the
/// top-level fields it sets: only those fields are copied.
fn patch_object(world: &mut World, patched: Object, fields: &[String]) {
    let has = |f: &str| {
        fields
            .iter()
            .any(|x| x == f || x.starts_with(&format!("{f}.")))
    };
    match patched {
        Object::Pool(new) => {
            let key = new.meta.key();
            let _ = world.store.modify::<VirtualMachinePool>(&key, |c| {
                let before = c.spec.clone();
                if has("spec.replicas") {
                    c.spec.replicas = new.spec.replicas;
                }
                if has("spec.paused") {
                    c.spec.paused = new.spec.paused;
                }
                if has("spec.virtualMachineTemplate") {
                    c.spec.template = new.spec.template.clone();
                }
                if has("spec.scaleInStrategy") {
                    c.spec.scale_in = new.spec.scale_in.clone();
                }
                if has("spec.updateStrategy") {
                    c.spec.update = new.spec.update.clone();
                }
                if has("spec.maxUnavailable") {
                    c.spec.max_unavailable = new.spec.max_unavailable;
                }
                if has("spec.autohealing") {
                    c.spec.autohealing = new.spec.autohealing;
                }
                if has("spec.nameGeneration") {
                    c.spec.append_index_to_secret_refs = new.spec.append_index_to_secret_refs;
                    c.spec.append_index_to_config_map_refs =
                        new.spec.append_index_to_config_map_refs;
                }
                if c.spec != before {
                    c.meta.generation += 1;
                }
            });
        }
        other => apply_object(world, other),
    }
}

/// `failDataVolume`: the DataVolume (or each DataVolume the VM's volumes name) fails
/// as CDI reports it: phase Failed, or a `Running=False` condition with reason Error
/// or ImagePullFailed (`pkg/controller/util.go`, the importer pod's waiting reason
/// `ErrImagePull` read as `ImagePullFailed`). KubeVirt's VM controller then reports
/// `DataVolumeError` (`pkg/storage/types/dv.go`, `HasDataVolumeErrors`). A
/// DataVolume that does not exist (yet) is left alone, as `killGuest` leaves a VM.
fn fail_data_volumes(world: &mut World, target: &DataVolumeRef, reason: DataVolumeFailure) {
    let namespace = world.namespace().to_string();
    let names: Vec<String> = match target {
        DataVolumeRef::Name(name) => vec![name.clone()],
        DataVolumeRef::OfVm(vm) => world
            .store
            .get::<VirtualMachine>(&ObjectKey::new(&namespace, vm))
            .map(|vm| {
                vm.spec
                    .template
                    .spec
                    .volumes
                    .iter()
                    .filter_map(|v| match &v.source {
                        VolumeSource::DataVolume { name } => Some(name.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    for name in names {
        let key = ObjectKey::new(&namespace, &name);
        let _ = world.store.modify::<DataVolume>(&key, |dv| match reason {
            DataVolumeFailure::Failed => dv.phase = DataVolumePhase::Failed,
            DataVolumeFailure::Error | DataVolumeFailure::ImagePullFailed => {
                dv.running_error = Some(reason.as_str().to_string());
            }
        });
    }
}
