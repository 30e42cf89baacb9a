//! The VirtualMachineInstance controller (`pkg/virt-controller/watch/vmi/vmi.go`,
//! `lifecycle.go`): creates the virt-launcher pod, moves the VMI through Pending →
//! Scheduling → Scheduled, fails it when its pod goes away, copies the pod's readiness
//! into the VMI's Ready condition (`syncReadyConditionFromPod`), and removes the VMI's
//! finalizer once it is final and its pod is gone.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::world::{ControllerId, World};
use crate::controllers::vm::VMI_FINALIZER;
use crate::controllers::{controller_ref, launcher_pod, launcher_pod_prefix};
use crate::engine::SimTime;
use rand::Rng;

/// The reasons of a False Ready condition (`kubevirt.io/api/core/v1`).
pub const REASON_POD_NOT_EXISTS: &str = "PodNotExists";
pub const REASON_POD_TERMINATING: &str = "PodTerminating";
pub const REASON_GUEST_NOT_RUNNING: &str = "GuestNotRunning";
pub const REASON_POD_NOT_READY: &str = "PodNotReady";

/// Memory the launcher adds on top of the guest (`services/renderresources.go`,
/// `GetMemoryOverhead`: a fixed part plus per-vCPU parts; approximated).
const LAUNCHER_MEMORY_OVERHEAD_BYTES: i64 = 220 * 1024 * 1024;
const LAUNCHER_MEMORY_PER_VCPU_BYTES: i64 = 8 * 1024 * 1024;

pub fn sync(world: &mut World, key: &ObjectKey) {
    let objects = world.informer(InformerId::VirtController);
    let Some(vmi) = objects.vmis.get(key).cloned() else {
        return;
    };
    let pod = launcher_pod(objects, &vmi).cloned();
    let now = world.now();

    if vmi.meta.is_deleting() {
        if let Some(pod) = &pod {
            if !pod.meta.is_deleting() {
                let _ = world.store.delete::<Pod>(&pod.meta.key(), None, now);
                world.record(
                    "VirtualMachineInstance",
                    &vmi.meta.name,
                    "SuccessfulDelete",
                    format!("Deleted virtual machine pod {}", pod.meta.name),
                );
            }
        }
    }

    let mut phase = vmi.status.phase;
    let mut node_name = vmi.status.node_name.clone();
    let mut unschedulable = vmi.status.unschedulable;
    let mut pvc_not_found = vmi.status.pvc_not_found;
    let mut image_pull_error = vmi.status.image_pull_error.clone();
    match (&pod, phase) {
        (None, VmiPhase::Pending) if !vmi.meta.is_deleting() => {
            pvc_not_found = wait_for_missing_claim(world, &vmi);
            if !pvc_not_found {
                create_launcher_pod(world, &vmi);
                phase = VmiPhase::Scheduling;
            }
        }
        (None, VmiPhase::Pending) => phase = VmiPhase::Failed,
        (Some(_), VmiPhase::Pending) => phase = VmiPhase::Scheduling,
        (None, VmiPhase::Scheduling | VmiPhase::Scheduled | VmiPhase::Running) => {
            // `lifecycle.go`: the pod vanished under a live VMI.
            phase = VmiPhase::Failed;
            world.record(
                "VirtualMachineInstance",
                &vmi.meta.name,
                "FailedPodGone",
                "virt-launcher pod is gone; the VMI is failed",
            );
        }
        (Some(pod), VmiPhase::Scheduling) => {
            unschedulable = pod.unschedulable;
            image_pull_error = pod.image_pull_error.clone();
            phase = scheduling_phase(pod, vmi.meta.is_deleting());
            if phase == VmiPhase::Scheduled {
                node_name = pod.node_name.clone();
            } else if phase == VmiPhase::Failed && !pod.is_terminated() {
                world.record(
                    "VirtualMachineInstance",
                    &vmi.meta.name,
                    "FailedPodGoingDown",
                    format!(
                        "virt-launcher pod {} is going down before the hand-over; the VMI is failed",
                        pod.meta.name
                    ),
                );
            }
        }
        (Some(pod), VmiPhase::Scheduled | VmiPhase::Running) => {
            unschedulable = pod.unschedulable;
            if pod.is_terminated() {
                phase = VmiPhase::Failed;
            }
        }
        _ => {}
    }

    let (ready, reason, pod_transition) = ready_condition(&vmi, phase, pod.as_ref());
    let status_changed = phase != vmi.status.phase
        || node_name != vmi.status.node_name
        || ready != vmi.status.ready
        || reason != vmi.status.ready_reason
        || unschedulable != vmi.status.unschedulable
        || pvc_not_found != vmi.status.pvc_not_found
        || image_pull_error != vmi.status.image_pull_error;
    if status_changed {
        let _ = world.store.modify::<VirtualMachineInstance>(key, |vmi| {
            vmi.status.phase = phase;
            vmi.status.node_name = node_name;
            vmi.status.unschedulable = unschedulable;
            vmi.status.pvc_not_found = pvc_not_found;
            vmi.status.image_pull_error = image_pull_error;
            if vmi.status.ready != ready || vmi.status.ready_reason != reason {
                // `UpdateCondition` replaces the whole condition when its status or
                // reason changes. Once the guest runs it is the pod's Ready condition,
                // copied with its lastTransitionTime and its (unset) lastProbeTime
                // (`syncReadyConditionFromPod`); the False reasons before that are
                // stamped now, both times.
                (vmi.status.ready_transition, vmi.status.ready_probe) = match pod_transition {
                    Some(transition) => (transition, SimTime::ZERO),
                    None => (now, now),
                };
            }
            vmi.status.ready = ready;
            vmi.status.ready_reason = reason;
        });
    }

    if phase.is_final() {
        release_final(world, &vmi, pod.as_ref());
    }
}

/// Final: the launcher pod is deleted, and once it is gone the VMI can go
/// (`lifecycle.go`, finalizer removal).
fn release_final(world: &mut World, vmi: &VirtualMachineInstance, pod: Option<&Pod>) {
    let now = world.now();
    match pod {
        Some(pod) if !pod.meta.is_deleting() => {
            let _ = world.store.delete::<Pod>(&pod.meta.key(), None, now);
        }
        Some(_) => {}
        None => {
            if vmi.meta.finalizers.iter().any(|f| f == VMI_FINALIZER) {
                let _ = world
                    .store
                    .modify::<VirtualMachineInstance>(&vmi.meta.key(), |vmi| {
                        vmi.meta.finalizers.retain(|f| f != VMI_FINALIZER);
                    });
            }
        }
    }
}

/// The phase `updateStatus` (`pkg/virt-controller/watch/vmi/lifecycle.go`, case
/// `vmi.IsScheduling()`) gives a VMI in Scheduling whose launcher pod exists:
/// Scheduled once KubeVirt's own `controller.IsPodReady` holds and the VMI is not
/// being deleted (the compute container need only be running, not Ready, since it may
/// carry the VMI's readiness probe, which cannot pass before the guest that
/// virt-handler starts after this hand-over); else Failed once
/// `controller.IsPodDownOrGoingDown` holds (`pkg/controller/controller.go`: the pod
/// Succeeded or Failed, its compute container terminated, or a deletionTimestamp on
/// the pod); else still Scheduling. poolsim's pod phase stands for the compute
/// container: its containers run exactly while the pod is Running.
pub fn scheduling_phase(pod: &Pod, vmi_deleting: bool) -> VmiPhase {
    let going_down = pod.is_terminated() || pod.meta.is_deleting();
    if !going_down && pod.phase == PodPhase::Running && !vmi_deleting {
        VmiPhase::Scheduled
    } else if going_down {
        VmiPhase::Failed
    } else {
        VmiPhase::Scheduling
    }
}

/// `areDataVolumesReady` before the launcher pod is rendered
/// (`pkg/virt-controller/watch/vmi/datavolumes.go`; `VolumeReadyToAttachToNode` in
/// `pkg/storage/types/pvc.go`): a PVC or DataVolume volume whose claim is not in the
/// cache stops the sync with `FailedPvcNotFound` ("waiting for it to appear"), and the
/// VMI is retried when that claim is added. Returns whether a claim is missing.
fn wait_for_missing_claim(world: &mut World, vmi: &VirtualMachineInstance) -> bool {
    let objects = world.informer(InformerId::VirtController);
    let missing = vmi.spec.volumes.iter().find_map(|volume| {
        let claim = volume.source.claim_name()?;
        let key = ObjectKey::new(&vmi.meta.namespace, claim);
        (!objects.pvcs.contains_key(&key)).then_some(key)
    });
    let Some(claim) = missing else {
        return false;
    };
    // Recorded on every sync upstream; the event recorder aggregates the repeats, so
    // the log keeps the first.
    if !vmi.status.pvc_not_found {
        world.record(
            "VirtualMachineInstance",
            &vmi.meta.name,
            "FailedPvcNotFound",
            format!("PVC {claim} does not exist, waiting for it to appear"),
        );
    }
    world
        .vmis_awaiting_claims
        .entry(claim)
        .or_default()
        .insert(vmi.meta.key());
    true
}

/// The PVC informer's add handler (`addPVC` in the VMI controller): VMIs that waited
/// for this claim sync again.
pub fn on_claim_added(world: &mut World, claim: &ObjectKey) {
    if let Some(vmis) = world.vmis_awaiting_claims.remove(claim) {
        for vmi in vmis {
            world.enqueue(ControllerId::Vmi, vmi);
        }
    }
}

/// `syncReadyConditionFromPod`: status and reason, and the pod's Ready transition time
/// when the condition is the pod's, copied.
fn ready_condition(
    vmi: &VirtualMachineInstance,
    phase: VmiPhase,
    pod: Option<&Pod>,
) -> (bool, Option<String>, Option<SimTime>) {
    let Some(pod) = pod else {
        return (false, Some(REASON_POD_NOT_EXISTS.into()), None);
    };
    if pod.meta.is_deleting() || pod.is_terminated() {
        return (false, Some(REASON_POD_TERMINATING.into()), None);
    }
    if phase != VmiPhase::Running || vmi.meta.is_deleting() && phase.is_final() {
        return (false, Some(REASON_GUEST_NOT_RUNNING.into()), None);
    }
    if pod.ready {
        (true, None, Some(pod.ready_transition))
    } else {
        (
            false,
            Some(REASON_POD_NOT_READY.into()),
            Some(pod.ready_transition),
        )
    }
}

/// CPU request of the `guest-console-log` container, in millicores
/// (`services/serialconsolelog.go`, `resourcesForSerialConsoleLogContainer`).
pub const GUEST_CONSOLE_LOG_CPU_MILLI: i64 = 5;

/// The CPU request of a launcher pod, summed over its containers as the HPA sums them
/// (`calculatePodRequests` in kubernetes `replica_calculator.go`): the compute
/// container asks for the VMI's own request, else vCPUs / cpuAllocationRatio
/// (`services/renderresources.go`, `WithoutDedicatedCPU`); the `guest-console-log`
/// container, when the serial console log is on, adds 5m.
pub fn launcher_cpu_request_milli(
    spec: &VmiSpec,
    cpu_allocation_ratio: u32,
    serial_console_log: bool,
) -> i64 {
    let compute = spec.cpu_request_milli.unwrap_or_else(|| {
        i64::from(spec.vcpus.max(1)) * 1000 / i64::from(cpu_allocation_ratio.max(1))
    });
    let console_log = if serial_console_log {
        GUEST_CONSOLE_LOG_CPU_MILLI
    } else {
        0
    };
    compute + console_log
}

fn create_launcher_pod(world: &mut World, vmi: &VirtualMachineInstance) {
    let pod = new_launcher_pod(world, vmi);
    let name = pod.meta.name.clone();
    let now = world.now();
    if world.store.create(pod, now).is_ok() {
        world.record(
            "VirtualMachineInstance",
            &vmi.meta.name,
            "SuccessfulCreate",
            format!("Created virtual machine pod {name}"),
        );
    }
}

/// The launcher pod of a VMI, not yet created (also `cluster::warm_start`'s pods).
pub(crate) fn new_launcher_pod(world: &mut World, vmi: &VirtualMachineInstance) -> Pod {
    let suffix: String = {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let rng = world.rng("launcher-pod-names");
        (0..5)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    };
    let name = format!("{}{suffix}", launcher_pod_prefix(&vmi.meta.name));
    let mut labels = vmi.meta.labels.clone();
    labels.insert("kubevirt.io".into(), "virt-launcher".into());
    labels.insert("vm.kubevirt.io/name".into(), vmi.meta.name.clone());
    let spec = &vmi.spec;
    let mut tolerations = spec.tolerations.clone();
    // `DefaultTolerationSeconds` admission adds these to every pod without them.
    let toleration_s = world.settings.default_toleration_ms / 1000;
    for key in [TAINT_NOT_READY, TAINT_UNREACHABLE] {
        if !tolerations.iter().any(|t| t.key == key) {
            tolerations.push(Toleration {
                key: key.into(),
                exists: true,
                value: String::new(),
                effect: Some(TaintEffect::NoExecute),
                toleration_seconds: Some(toleration_s),
            });
        }
    }
    // Every launcher pod selects nodes whose virt-handler heartbeats
    // (`services/nodeselectorrenderer.go`, `Render`: `kubevirt.io/schedulable: "true"`
    // first, then the VMI's own nodeSelector over it, `NewNodeSelectorRenderer`).
    let mut node_selector = Labels::new();
    node_selector.insert(
        crate::controllers::node::SCHEDULABLE_LABEL.into(),
        "true".into(),
    );
    node_selector.extend(spec.node_selector.clone());
    let mut secret_refs = Vec::new();
    let mut config_map_refs = Vec::new();
    let mut claim_refs = Vec::new();
    let mut images = Vec::new();
    for volume in &spec.volumes {
        if let VolumeSource::ContainerDisk { image } = &volume.source {
            images.push(image.clone());
        }
        secret_refs.extend(volume.source.secret_refs().into_iter().map(str::to_string));
        if let VolumeSource::ConfigMap { name } = &volume.source {
            config_map_refs.push(name.clone());
        }
        if let Some(claim) = volume.source.claim_name() {
            claim_refs.push(claim.to_string());
        }
    }
    Pod {
        meta: ObjectMeta {
            labels,
            owner_references: vec![controller_ref(Kind::VirtualMachineInstance, &vmi.meta)],
            ..ObjectMeta::named(&vmi.meta.namespace, &name)
        },
        node_name: None,
        requests: Resources {
            cpu_milli: launcher_cpu_request_milli(
                spec,
                world.settings.cpu_allocation_ratio,
                world.settings.serial_console_log,
            ),
            memory_bytes: spec.memory_request_bytes
                + LAUNCHER_MEMORY_OVERHEAD_BYTES
                + LAUNCHER_MEMORY_PER_VCPU_BYTES * i64::from(spec.vcpus),
            pods: 1,
        },
        tolerations,
        node_selector,
        secret_refs,
        config_map_refs,
        claim_refs,
        images,
        image_pull_error: None,
        // `template.go`: the VMI's grace period plus two 15 s paddings.
        termination_grace_period_s: spec.termination_grace_period_s + 30,
        phase: PodPhase::Pending,
        ready: false,
        ready_transition: world.now(),
        start_time: None,
        unschedulable: false,
    }
}
