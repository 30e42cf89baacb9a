//! The state a run starts from when it is not empty (docs/IMPORT.md): the taints and
//! cordons of exported `Node`s, and with `spec.initialState: fromManifests` each
//! pool's VMs as a cluster export shows them, built at 0 s the way the controllers
//! would have left them once settled:
//!
//! - the VM as the pool writes it (`indexVMSpec`: `controllers::pool::indexed_vm`),
//!   with the VM controller's finalizer and a Ready, Running status;
//! - its DataVolumes Succeeded and their claims Bound and populated (no clone);
//! - its VMI Running and Ready on the node the export names (or, when it names none,
//!   the node with the most free CPU the launcher pod fits on), its launcher pod bound
//!   there, Running and Ready, the kubelet's containers running and its prober workers
//!   settled (readiness Success), RWO claims attached to the node;
//! - its guest running on that node (ground truth);
//! - each HPA's `status.currentReplicas`/`desiredReplicas` from the export.
//!
//! The pool's ControllerRevision of its template exists too, as in the exporting
//! cluster. Called once from `sim::build_world`, right after `World::new`, before any event is
//! processed: the watch events of what is built here reach the informers with those of
//! the manifests, as if the controllers' caches had listed a running cluster.

use crate::api::*;
use crate::cluster::truth::{Guest, GuestState};
use crate::cluster::world::World;
use crate::controllers::controller_ref;
use crate::controllers::kubelet::ContainerState;
use crate::controllers::vm::{VMI_FINALIZER, VM_FINALIZER};
use crate::engine::SimTime;
use crate::scenario::manifest::import_plan::{ImportPlan, WarmHpa, WarmVm};
use std::collections::BTreeMap;

/// Builds the initial state of `plan` into `world` (see the module doc).
pub fn apply(world: &mut World, plan: &ImportPlan) {
    for node in &plan.nodes {
        let key = ObjectKey::cluster(&node.meta.name);
        let _ = world.store.modify::<Node>(&key, |current| {
            current.taints = node.taints.clone();
            current.unschedulable = node.unschedulable;
        });
    }
    let mut free = free_capacity(world);
    for warm in &plan.warm_vms {
        let Some(pool) = world.store.get::<VirtualMachinePool>(&warm.pool).cloned() else {
            continue;
        };
        start_vm(world, &pool, warm, &mut free);
    }
    for hpa in &plan.warm_hpas {
        set_hpa_status(world, hpa);
    }
    world.flush_watch_events();
}

/// Allocatable minus nothing yet, per node in name order: what placement draws on.
fn free_capacity(world: &World) -> BTreeMap<String, (Resources, Labels, bool)> {
    world
        .store
        .objects()
        .nodes
        .values()
        .map(|node| {
            let blocked = node.unschedulable
                || node
                    .taints
                    .iter()
                    .any(|t| t.effect != TaintEffect::PreferNoSchedule);
            (
                node.meta.name.clone(),
                (node.allocatable, node.meta.labels.clone(), blocked),
            )
        })
        .collect()
}

/// The node for a pod the export places nowhere: of the nodes without cordon or
/// taint whose labels satisfy its node selector and whose free capacity fits it, the
/// one with the most free CPU (the scheduler's default `LeastAllocated` scoring, in
/// short), ties by name. `None` when none fits.
fn place(free: &BTreeMap<String, (Resources, Labels, bool)>, pod: &Pod) -> Option<String> {
    free.iter()
        .filter(|(_, (left, labels, blocked))| {
            !blocked
                && pod
                    .node_selector
                    .iter()
                    .all(|(key, value)| labels.get(key) == Some(value))
                && left.cpu_milli >= pod.requests.cpu_milli
                && left.memory_bytes >= pod.requests.memory_bytes
                && left.pods >= 1
        })
        .max_by(|a, b| a.1 .0.cpu_milli.cmp(&b.1 .0.cpu_milli).then(b.0.cmp(a.0)))
        .map(|(name, _)| name.clone())
}

/// One warm VM: its VM, disks, and (when it runs) instance, pod and guest.
fn start_vm(
    world: &mut World,
    pool: &VirtualMachinePool,
    warm: &WarmVm,
    free: &mut BTreeMap<String, (Resources, Labels, bool)>,
) {
    let revision = format!("{}-{}", pool.meta.name, pool.meta.generation);
    // The pool's ControllerRevision of its current template: the exporting cluster
    // has it (`pool.go`, `ensureControllerRevision`), so the VMs labelled with it are
    // up to date and not rewritten.
    let revisions = world
        .pool_state
        .revisions
        .entry(pool.meta.key())
        .or_default();
    if !revisions.iter().any(|r| r.name == revision) {
        revisions.push(crate::algorithm::RevisionView {
            name: revision.clone(),
            template: crate::controllers::pool::template_digest(&pool.spec.template),
        });
    }
    let mut vm = crate::controllers::pool::indexed_vm(pool, warm.index, &warm.name, &revision);
    vm.meta.finalizers.push(VM_FINALIZER.to_string());
    let vmi = running_vmi(&vm);
    let mut pod = crate::controllers::vmi::new_launcher_pod(world, &vmi);
    let node = match &warm.node {
        Some(node) => Some(node.clone()),
        None if warm.running => place(free, &pod),
        None => None,
    };
    let node = node.filter(|_| warm.running);
    if node.is_some() {
        vm.status = VmStatus {
            printable_status: PrintableStatus::Running,
            created: true,
            ready: true,
            ..vm.status
        };
    }
    let Ok(vm_uid) = world.store.create(vm.clone(), SimTime::ZERO) else {
        return;
    };
    vm.meta.uid = vm_uid;
    world.pool_state.created_total += 1;
    create_disks(world, &vm, node.as_deref());
    let Some(node) = node else {
        world.record(
            "VirtualMachine",
            &vm.meta.name,
            "WarmStart",
            "exists from the export, not running; its VM controller acts on it",
        );
        return;
    };
    if let Some((left, _, _)) = free.get_mut(&node) {
        left.cpu_milli -= pod.requests.cpu_milli;
        left.memory_bytes -= pod.requests.memory_bytes;
        left.pods -= 1;
    }
    let mut vmi = VirtualMachineInstance {
        meta: ObjectMeta {
            owner_references: vec![controller_ref(Kind::VirtualMachine, &vm.meta)],
            ..vmi.meta
        },
        status: VmiStatus {
            node_name: Some(node.clone()),
            ..vmi.status
        },
        ..vmi
    };
    let Ok(vmi_uid) = world.store.create(vmi.clone(), SimTime::ZERO) else {
        return;
    };
    vmi.meta.uid = vmi_uid.clone();
    pod.meta.owner_references = vec![controller_ref(Kind::VirtualMachineInstance, &vmi.meta)];
    start_pod(world, &vmi, pod, &node);
    world.truth.guests_mut().insert(
        vmi_uid.clone(),
        Guest {
            vmi: vmi.meta.key(),
            vmi_uid,
            node: node.clone(),
            state: GuestState::Running,
            pool: Some(pool.meta.name.clone()),
            vcpus: vmi.spec.vcpus.max(1),
            stops_at: None,
            hung: false,
            fenced_while_running: false,
        },
    );
    world.record(
        "VirtualMachine",
        &vm.meta.name,
        "WarmStart",
        format!("running on node {node} from the export"),
    );
}

/// The VM's instance as the VM controller creates it (`vm.rs`, `create_vmi`), in
/// phase Running and Ready since 0 s; its owner and node are filled in by the caller.
fn running_vmi(vm: &VirtualMachine) -> VirtualMachineInstance {
    let template = &vm.spec.template;
    VirtualMachineInstance {
        meta: ObjectMeta {
            labels: template.labels.clone(),
            annotations: template.annotations.clone(),
            finalizers: vec![VMI_FINALIZER.to_string()],
            ..ObjectMeta::named(&vm.meta.namespace, &vm.meta.name)
        },
        spec: template.spec.clone(),
        status: VmiStatus {
            phase: VmiPhase::Running,
            ready: true,
            running_since: Some(SimTime::ZERO),
            ..VmiStatus::default()
        },
    }
}

/// The launcher pod bound to `node`, Running and Ready since 0 s, with the kubelet's
/// containers running, its prober workers settled and its RWO claims attached.
fn start_pod(world: &mut World, vmi: &VirtualMachineInstance, mut pod: Pod, node: &str) {
    pod.node_name = Some(node.to_string());
    pod.phase = PodPhase::Running;
    pod.ready = true;
    pod.ready_transition = SimTime::ZERO;
    pod.start_time = Some(SimTime::ZERO);
    let Ok(pod_uid) = world.store.create(pod.clone(), SimTime::ZERO) else {
        return;
    };
    pod.meta.uid = pod_uid.clone();
    world
        .agent_state
        .containers
        .insert(pod_uid, ContainerState::Running);
    crate::controllers::prober::start_workers_of(world, &pod, vmi, true);
    for claim in &pod.claim_refs {
        let key = ObjectKey::new(&pod.meta.namespace, claim);
        let rwo = world
            .store
            .get::<PersistentVolumeClaim>(&key)
            .is_some_and(PersistentVolumeClaim::is_read_write_once);
        if rwo {
            world.truth.attachments.insert(key, node.to_string());
        }
    }
}

/// The VM's DataVolumes, Succeeded, and their claims, Bound and populated (CDI's
/// `createPvcForDatavolume` names the claim after its DataVolume and owns it by it).
fn create_disks(world: &mut World, vm: &VirtualMachine, node: Option<&str>) {
    for template in &vm.spec.data_volume_templates {
        let mut dv = DataVolume {
            meta: ObjectMeta {
                owner_references: vec![controller_ref(Kind::VirtualMachine, &vm.meta)],
                ..ObjectMeta::named(&vm.meta.namespace, &template.name)
            },
            spec: template.spec.clone(),
            phase: DataVolumePhase::Succeeded,
            running_error: None,
        };
        let Ok(dv_uid) = world.store.create(dv.clone(), SimTime::ZERO) else {
            continue;
        };
        dv.meta.uid = dv_uid;
        let default_class = world
            .store
            .objects()
            .storage_classes
            .values()
            .find(|class| class.is_default)
            .map(|class| class.meta.name.clone());
        let claim = PersistentVolumeClaim {
            meta: ObjectMeta {
                owner_references: vec![controller_ref(Kind::DataVolume, &dv.meta)],
                ..ObjectMeta::named(&dv.meta.namespace, &dv.meta.name)
            },
            storage_class: dv.spec.storage_class.clone().or(default_class),
            storage_bytes: dv.spec.storage_bytes,
            access_modes: dv.spec.access_modes.clone(),
            phase: PvcPhase::Bound,
            populated: true,
            selected_node: node.map(str::to_string),
        };
        let _ = world.store.create(claim, SimTime::ZERO);
    }
}

/// The HPA's replica counts as the export shows them; the rest of its status (metrics,
/// conditions, last scale time) is the controller's to compute again.
fn set_hpa_status(world: &mut World, warm: &WarmHpa) {
    let _ = world
        .store
        .modify::<HorizontalPodAutoscaler>(&warm.key, |hpa| {
            hpa.status.current_replicas = warm.current_replicas;
            hpa.status.desired_replicas = warm.desired_replicas;
        });
}
