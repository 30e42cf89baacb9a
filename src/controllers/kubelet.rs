//! The node agents: the kubelet (pod start and stop, volume mounts, readiness) and
//! KubeVirt's virt-handler (guest start, shutdown, phase reports). They read the
//! node-agents informer, act only while their node is reporting, and are the only
//! code that changes ground truth about guests and volume attachments.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::truth::{Guest, GuestState};
use crate::cluster::world::{ControllerId, Timer, World};
use crate::controllers::launcher_pod;
use crate::controllers::prober::{self, ProbeKind, ProbeWorker};
use crate::engine::rng::{lognormal_ms, uniform_ms};
use crate::engine::SimTime;
use std::collections::{BTreeMap, BTreeSet};

/// What the agents remember locally (lost when a node powers off).
#[derive(Debug, Default)]
pub struct AgentState {
    /// Pods whose containers are starting or running, by uid.
    pub containers: BTreeMap<String, ContainerState>,
    /// Mount failures per pod uid: the retry count and the last reason recorded.
    pub mount_failures: BTreeMap<String, (u32, String)>,
    /// Pods whose stop is under way.
    pub stopping: BTreeSet<String>,
    /// The prober's workers, by pod uid and probe kind (`controllers::prober`).
    pub probes: BTreeMap<(String, ProbeKind), ProbeWorker>,
    /// Failed image pulls per pod uid, and when the back-off allows the next.
    pub image_pull_failures: BTreeMap<String, (u32, SimTime)>,
    /// Images no pull succeeds for (scenario `failImagePull`).
    pub unpullable_images: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Starting,
    Running,
}

/// The container runtime's minimum grace period when the kubelet kills a pod
/// (`pkg/kubelet/kuberuntime/kuberuntime_container.go` `minimumGracePeriodInSeconds`).
const ORPHAN_KILL_GRACE_MS: u64 = 2_000;

fn reporting(world: &World, node: &str) -> bool {
    world.truth.node_reporting(node)
}

/// Kubelet: (re)consider one pod bound to this node.
pub fn sync_pod(world: &mut World, key: &ObjectKey) {
    let objects = world.informer(InformerId::NodeAgents);
    let Some(pod) = objects.pods.get(key).cloned() else {
        return;
    };
    let Some(node) = pod.node_name.clone() else {
        return;
    };
    if !reporting(world, &node) {
        return;
    }
    let uid = pod.meta.uid.clone();
    if pod.meta.is_deleting() {
        stop_pod(world, &pod, &node);
        return;
    }
    if pod.is_terminated() {
        return;
    }
    match world.agent_state.containers.get(&uid).copied() {
        Some(ContainerState::Running) => {
            // After a partition the kubelet's status sync reports the readiness it
            // holds (its readiness worker's state; Ready without a probe).
            let ready = prober::container_ready(world, &uid);
            if pod.ready != ready && pod.phase == PodPhase::Running {
                set_pod_ready(world, key, ready);
            }
        }
        Some(ContainerState::Starting) => {}
        None if pod.phase == PodPhase::Running => {
            // Running in the API but no containers here: the node rebooted. Launcher
            // pods never restart (`restartPolicy: Never`), so the pod fails.
            let now = world.now();
            let _ = world.store.modify::<Pod>(key, |pod| {
                pod.phase = PodPhase::Failed;
                pod.ready = false;
                pod.ready_transition = now;
            });
            world.record(
                "Pod",
                &pod.meta.name,
                "ContainersLost",
                format!("node {node} restarted; containers are gone"),
            );
            // Nothing is mounted after the reboot and the pod is terminal, so the
            // attach-detach controller drops its volumes from the desired state and
            // detaches them (kubernetes pkg/controller/volume/attachdetach/util/util.go,
            // `DetermineVolumeAction`: no volumes for a terminated pod). Without this
            // the RWO disk stayed on this node for ever (docs/FIDELITY.md §18).
            detach_claims(world, &pod, &node);
        }
        None => try_start_pod(world, &pod, &node),
    }
}

fn try_start_pod(world: &mut World, pod: &Pod, node: &str) {
    let objects = world.informer(InformerId::NodeAgents);
    let namespace = &pod.meta.namespace;
    let mut problem: Option<(&str, String)> = None;
    for secret in &pod.secret_refs {
        if !objects
            .secrets
            .contains_key(&ObjectKey::new(namespace, secret))
        {
            problem = Some(("FailedMount", format!("MountVolume.SetUp failed for volume \"{secret}\" : secret \"{secret}\" not found")));
            break;
        }
    }
    if problem.is_none() {
        for config_map in &pod.config_map_refs {
            if !objects
                .config_maps
                .contains_key(&ObjectKey::new(namespace, config_map))
            {
                problem = Some(("FailedMount", format!("MountVolume.SetUp failed for volume \"{config_map}\" : configmap \"{config_map}\" not found")));
                break;
            }
        }
    }
    let mut rwo_claims = Vec::new();
    if problem.is_none() {
        for claim in &pod.claim_refs {
            let claim_key = ObjectKey::new(namespace, claim);
            match objects.pvcs.get(&claim_key) {
                None => {
                    problem = Some((
                        "FailedMount",
                        format!("persistentvolumeclaim \"{claim}\" not found"),
                    ));
                }
                Some(pvc) if pvc.phase != PvcPhase::Bound || !pvc.populated => {
                    problem = Some((
                        "FailedMount",
                        format!("volume \"{claim}\" is not ready yet (bound and populated)"),
                    ));
                }
                Some(pvc) => {
                    if pvc.is_read_write_once() {
                        if let Some(other) = world.truth.attachments.get(&claim_key) {
                            if other != node {
                                problem = Some((
                                    "FailedAttachVolume",
                                    format!("Multi-Attach error for volume \"{claim}\" Volume is already exclusively attached to one node ({other}) and can't be attached to another"),
                                ));
                            }
                        }
                        rwo_claims.push(claim_key);
                    }
                }
            }
            if problem.is_some() {
                break;
            }
        }
    }
    let uid = pod.meta.uid.clone();
    if let Some((reason, message)) = problem {
        // Volume operations back off from 500 ms doubling up to 2 m 2 s
        // (`nestedpendingoperations`).
        let entry = world
            .agent_state
            .mount_failures
            .entry(uid)
            .or_insert((0, String::new()));
        entry.0 += 1;
        let retry_ms = (500u64 << entry.0.min(20)).min(world.settings.mount_retry_max_ms);
        let new_message = entry.1 != message;
        entry.1 = message.clone();
        if new_message {
            world.record("Pod", &pod.meta.name, reason, message);
        }
        world.enqueue_after(ControllerId::Kubelet, pod.meta.key(), retry_ms);
        return;
    }
    world.agent_state.mount_failures.remove(&uid);
    if image_pull_fails(world, pod) {
        return;
    }
    for claim in rwo_claims {
        world.truth.attachments.insert(claim, node.to_string());
    }
    world
        .agent_state
        .containers
        .insert(uid.clone(), ContainerState::Starting);
    let delay = world.settings.pod_start_ms;
    world.schedule_timer(
        delay,
        Timer::PodStarted {
            pod: pod.meta.key(),
            uid,
        },
    );
}

fn current_pod(world: &World, key: &ObjectKey, uid: &str) -> Option<Pod> {
    world
        .store
        .get::<Pod>(key)
        .filter(|p| p.meta.uid == uid)
        .cloned()
}

pub fn pod_started(world: &mut World, key: &ObjectKey, uid: &str) {
    let Some(pod) = current_pod(world, key, uid) else {
        return;
    };
    let node = pod.node_name.clone().unwrap_or_default();
    if world.agent_state.containers.get(uid) != Some(&ContainerState::Starting) {
        return;
    }
    world
        .agent_state
        .containers
        .insert(uid.to_string(), ContainerState::Running);
    if !reporting(world, &node) {
        return;
    }
    let now = world.now();
    let probed = prober::has_readiness_probe(world, &pod);
    // Without a readiness probe the pod is Ready in the same status update that makes
    // it Running: a container with no probe is ready once it runs (kubernetes
    // `pkg/kubelet/prober/prober_manager.go`, `UpdatePodStatus`), and the pod's one
    // readiness gate, `kubevirt.io/virtual-machine-unpaused`
    // (kubevirt `pkg/virt-controller/services/template.go`, `readinessGates`), is
    // already True: virt-controller patches it onto the pod while the VMI is still
    // Scheduling (`pkg/virt-controller/watch/vmi/lifecycle.go`, `updateStatus` calls
    // `syncPausedConditionToPod` whenever the pod exists). Ready = containers ready and
    // every gate True (kubernetes `pkg/kubelet/status/generate.go`,
    // `GeneratePodReadyCondition`). So the launcher pod is Ready before its guest even
    // starts: virt-handler starts the domain only once the VMI is Scheduled, which
    // needs the pod running (`controller.IsPodReady`).
    let _ = world.store.modify::<Pod>(key, |pod| {
        pod.phase = PodPhase::Running;
        pod.start_time = Some(now);
        if !probed && !pod.ready {
            pod.ready = true;
            pod.ready_transition = now;
        }
    });
    world.record(
        "Pod",
        &pod.meta.name,
        "Started",
        "Started container compute",
    );
    prober::start_workers(world, &pod);
}

fn set_pod_ready(world: &mut World, key: &ObjectKey, ready: bool) {
    let now = world.now();
    let _ = world.store.modify::<Pod>(key, |pod| {
        if pod.ready != ready {
            pod.ready = ready;
            pod.ready_transition = now;
        }
    });
}

/// Stop a deleted pod: the launcher asks the guest to shut down (ACPI), then the
/// containers exit and the kubelet removes the pod.
fn stop_pod(world: &mut World, pod: &Pod, node: &str) {
    let uid = pod.meta.uid.clone();
    if !world.agent_state.stopping.insert(uid.clone()) {
        return;
    }
    let grace_ms = pod.meta.deletion_grace_period_seconds.unwrap_or(30) * 1000;
    let vmi_uid = pod.meta.controller_ref().map(|r| r.uid.clone());
    let mut stop_after_ms = 500;
    if let Some(vmi_uid) = vmi_uid {
        if let Some(shutdown_ms) = begin_guest_shutdown(world, &vmi_uid, grace_ms) {
            stop_after_ms += shutdown_ms;
        }
    }
    let _ = node;
    world.schedule_timer(
        stop_after_ms.min(grace_ms.max(500)),
        Timer::PodStopped {
            pod: pod.meta.key(),
            uid,
        },
    );
}

/// Start an ACPI shutdown of a guest; returns how long it takes, or None if no guest.
fn begin_guest_shutdown(world: &mut World, vmi_uid: &str, grace_ms: u64) -> Option<u64> {
    let guest = world.truth.guests().get(vmi_uid)?;
    if guest.state == GuestState::ShuttingDown {
        return Some(guest.stops_at.map_or(0, |t| t.since(world.queue.now())));
    }
    let hung = guest.hung;
    let (low, high) = (
        world.settings.guest_shutdown_min_ms,
        world.settings.guest_shutdown_max_ms,
    );
    let drawn = uniform_ms(world.rng("guest-shutdown"), low, high);
    // A hung guest ignores the ACPI request: qemu is killed when the grace period
    // runs out (virt-launcher's `finalShutdownCallback`).
    let duration = if hung { grace_ms } else { drawn.min(grace_ms) };
    let stops_at = world.queue.now() + duration;
    if let Some(guest) = world.truth.guests_mut().get_mut(vmi_uid) {
        guest.state = GuestState::ShuttingDown;
        guest.stops_at = Some(stops_at);
    }
    world.schedule_timer(
        duration,
        Timer::GuestStopped {
            vmi_uid: vmi_uid.to_string(),
        },
    );
    Some(duration)
}

pub fn pod_stopped(world: &mut World, key: &ObjectKey, uid: &str) {
    world.agent_state.stopping.remove(uid);
    prober::remove_workers(world, uid);
    let Some(pod) = current_pod(world, key, uid) else {
        world.agent_state.containers.remove(uid);
        return;
    };
    let node = pod.node_name.clone().unwrap_or_default();
    if !reporting(world, &node) {
        // The stop completes locally, but nobody hears of it until the node returns.
        world.agent_state.containers.remove(uid);
        return;
    }
    world.agent_state.containers.remove(uid);
    detach_claims(world, &pod, &node);
    let _ = world.store.remove_now::<Pod>(key);
}

fn detach_claims(world: &mut World, pod: &Pod, node: &str) {
    for claim in &pod.claim_refs {
        let claim_key = ObjectKey::new(&pod.meta.namespace, claim);
        if world.truth.attachments.get(&claim_key).map(String::as_str) == Some(node) {
            world.truth.attachments.remove(&claim_key);
        }
    }
}

/// The attach-detach controller gives up waiting for an unmount.
pub fn force_detach(world: &mut World, claim: &ObjectKey, node: &str) {
    if world.truth.attachments.get(claim).map(String::as_str) == Some(node)
        && !reporting(world, node)
    {
        world.truth.attachments.remove(claim);
        world.record(
            "PersistentVolumeClaim",
            &claim.name,
            "ForceDetach",
            format!("force-detached from unreachable node {node}"),
        );
    }
}

// ------------------------------------------------------------------ virt-handler

/// virt-handler: (re)consider one VMI on this node.
pub fn sync_vmi(world: &mut World, key: &ObjectKey) {
    let objects = world.informer(InformerId::NodeAgents);
    let Some(vmi) = objects.vmis.get(key).cloned() else {
        return;
    };
    let Some(node) = vmi.status.node_name.clone() else {
        return;
    };
    if !reporting(world, &node) {
        return;
    }
    let uid = vmi.meta.uid.clone();
    let guest_state = world.truth.guests().get(&uid).map(|g| g.state);
    if vmi.meta.is_deleting() {
        if matches!(guest_state, Some(GuestState::Running | GuestState::Booting)) {
            let grace_ms = vmi.spec.termination_grace_period_s * 1000;
            begin_guest_shutdown(world, &uid, grace_ms);
        } else if guest_state.is_none()
            && !vmi.status.phase.is_final()
            && vmi.status.phase >= VmiPhase::Scheduled
        {
            set_vmi_phase(world, key, VmiPhase::Succeeded);
        }
        return;
    }
    match (vmi.status.phase, guest_state) {
        (VmiPhase::Scheduled, None) => {
            let objects = world.informer(InformerId::NodeAgents);
            // virt-handler starts the domain through the launcher's command socket
            // (kubevirt `pkg/virt-handler/vm.go` syncs the domain with the client of
            // `launcher-clients` `GetLauncherClient`, which finds the socket on the
            // host, `cmdclient.FindSocketOnHost`): it exists only while the compute
            // container runs on this node. After a reboot the API (and a lagging informer) may
            // still say Running for a pod whose containers are gone: no domain then,
            // and the kubelet fails the pod.
            let pod_running = launcher_pod(objects, &vmi).is_some_and(|p| {
                p.phase == PodPhase::Running
                    && !p.meta.is_deleting()
                    && world.agent_state.containers.get(&p.meta.uid)
                        == Some(&ContainerState::Running)
            });
            if !pod_running {
                return;
            }
            let pool = objects
                .vms
                .get(key)
                .and_then(|vm| vm.status.created_by_pool.clone());
            start_guest(world, &vmi, &node, pool);
        }
        (VmiPhase::Scheduled, Some(GuestState::Running)) => set_vmi_running(world, key),
        (VmiPhase::Running, None) => {
            // The domain is gone (crashed guest, or the node rebooted).
            set_vmi_phase(world, key, VmiPhase::Failed);
            world.record(
                "VirtualMachineInstance",
                &vmi.meta.name,
                "Stopped",
                "The VirtualMachineInstance crashed.",
            );
        }
        _ => {}
    }
}

fn start_guest(world: &mut World, vmi: &VirtualMachineInstance, node: &str, pool: Option<String>) {
    // Calibrate to the measured VM create → Running latency: the boot takes whatever
    // of a lognormal total (p50 17 s, p95 27 s) the earlier steps left, at least 1 s.
    let (p50, p95) = (
        world.settings.vm_start_p50_ms,
        world.settings.vm_start_p95_ms,
    );
    let total = lognormal_ms(world.rng("guest-boot"), p50, p95);
    let elapsed = world.now().since(vmi.meta.creation_timestamp);
    let boot_ms = total.saturating_sub(elapsed).max(1000);
    world.truth.guests_mut().insert(
        vmi.meta.uid.clone(),
        Guest {
            vmi: vmi.meta.key(),
            vmi_uid: vmi.meta.uid.clone(),
            node: node.to_string(),
            state: GuestState::Booting,
            pool,
            vcpus: vmi.spec.vcpus.max(1),
            stops_at: None,
            hung: false,
            fenced_while_running: false,
        },
    );
    world.schedule_timer(
        boot_ms,
        Timer::GuestBooted {
            vmi_uid: vmi.meta.uid.clone(),
        },
    );
}

pub fn guest_booted(world: &mut World, vmi_uid: &str) {
    let Some(guest) = world.truth.guests_mut().get_mut(vmi_uid) else {
        return;
    };
    if guest.state != GuestState::Booting {
        return;
    }
    guest.state = GuestState::Running;
    let (node, key) = (guest.node.clone(), guest.vmi.clone());
    if reporting(world, &node) {
        set_vmi_running(world, &key);
    }
}

fn set_vmi_running(world: &mut World, key: &ObjectKey) {
    let now = world.now();
    let changed = world
        .store
        .modify::<VirtualMachineInstance>(key, |vmi| {
            if !vmi.status.phase.is_final() && vmi.status.phase != VmiPhase::Running {
                vmi.status.phase = VmiPhase::Running;
                vmi.status.running_since.get_or_insert(now);
            }
        })
        .unwrap_or(false);
    if changed {
        world.record(
            "VirtualMachineInstance",
            &key.name,
            "Started",
            "VirtualMachineInstance started.",
        );
    }
}

fn set_vmi_phase(world: &mut World, key: &ObjectKey, phase: VmiPhase) {
    let _ = world.store.modify::<VirtualMachineInstance>(key, |vmi| {
        if !vmi.status.phase.is_final() {
            vmi.status.phase = phase;
        }
    });
}

pub fn guest_stopped(world: &mut World, vmi_uid: &str) {
    let Some(guest) = world.truth.guests_mut().remove(vmi_uid) else {
        return;
    };
    // The VMI's name outlives this guest when the VM was restarted elsewhere (same
    // name, new uid): only the instance this guest belonged to may turn final.
    let same_instance = world
        .store
        .objects()
        .vmis
        .get(&guest.vmi)
        .is_some_and(|vmi| vmi.meta.uid == vmi_uid);
    if reporting(world, &guest.node) && same_instance {
        set_vmi_phase(world, &guest.vmi, VmiPhase::Succeeded);
        world.record(
            "VirtualMachineInstance",
            &guest.vmi.name,
            "ShuttingDown",
            "Signaled Graceful Shutdown; the guest stopped",
        );
    }
}

/// A guest crashes (scenario `killGuest`).
pub fn kill_guest(world: &mut World, vmi_uid: &str) -> bool {
    let Some(guest) = world.truth.guests_mut().remove(vmi_uid) else {
        return false;
    };
    if reporting(world, &guest.node) {
        world.enqueue(ControllerId::VirtHandler, guest.vmi.clone());
    }
    true
}

/// A guest stops answering, or answers again (scenario `hangGuest`, `unhangGuest`):
/// it keeps running (and counting as running); only its probes and its ACPI
/// shutdown notice. Returns whether the VMI had a guest.
pub fn set_guest_hung(world: &mut World, vmi_uid: &str, hung: bool) -> bool {
    let Some(guest) = world.truth.guests_mut().get_mut(vmi_uid) else {
        return false;
    };
    guest.hung = hung;
    true
}

/// A node powers off: its guests and containers are gone, and virt-handler with them.
pub fn power_off(world: &mut World, node: &str) {
    if let Some(truth) = world.truth.nodes.get_mut(node) {
        truth.handler_restarted = true;
    }
    world
        .truth
        .guests_mut()
        .retain(|_, guest| guest.node != node);
    let pods: Vec<String> = world
        .store
        .objects()
        .pods
        .values()
        .filter(|p| p.node_name.as_deref() == Some(node))
        .map(|p| p.meta.uid.clone())
        .collect();
    for uid in pods {
        world.agent_state.containers.remove(&uid);
        world.agent_state.stopping.remove(&uid);
        prober::remove_workers(world, &uid);
    }
}

/// A node reports again: its agents resync everything bound to it.
pub fn resync_node(world: &mut World, node: &str) {
    let objects = world.informer(InformerId::NodeAgents);
    let pods: Vec<ObjectKey> = objects
        .pods
        .values()
        .filter(|p| p.node_name.as_deref() == Some(node))
        .map(|p| p.meta.key())
        .collect();
    let vmis: Vec<ObjectKey> = objects
        .vmis
        .values()
        .filter(|v| v.status.node_name.as_deref() == Some(node))
        .map(|v| v.meta.key())
        .collect();
    // Volumes whose pods are gone from this node are unmounted and detached.
    let live_claims: BTreeSet<ObjectKey> = objects
        .pods
        .values()
        .filter(|p| p.node_name.as_deref() == Some(node))
        .flat_map(|p| {
            p.claim_refs
                .iter()
                .map(|c| ObjectKey::new(&p.meta.namespace, c))
        })
        .collect();
    // Guests whose launcher pod is gone from the API (force-deleted by pod GC or a
    // fence while the node was unreachable) are orphans. The kubelet's housekeeping
    // kills runtime pods it no longer has a spec for (kubernetes
    // `pkg/kubelet/kubelet_pods.go` `HandlePodCleanups`), with at least the runtime's
    // minimum grace period (`pkg/kubelet/kuberuntime/kuberuntime_container.go`
    // `minimumGracePeriodInSeconds` = 2): the qemu process goes with its container.
    let live_instances: BTreeSet<String> = objects
        .pods
        .values()
        .filter(|p| p.node_name.as_deref() == Some(node))
        .filter_map(|p| p.meta.controller_ref().map(|r| r.uid.clone()))
        .collect();
    world
        .truth
        .attachments
        .retain(|claim, attached| attached != node || live_claims.contains(claim));
    let orphans: Vec<(String, ObjectKey)> = world
        .truth
        .guests()
        .values()
        .filter(|g| g.node == node && !live_instances.contains(&g.vmi_uid))
        .map(|g| (g.vmi_uid.clone(), g.vmi.clone()))
        .collect();
    for (vmi_uid, vmi) in orphans {
        begin_guest_shutdown(world, &vmi_uid, ORPHAN_KILL_GRACE_MS);
        world.record(
            "VirtualMachineInstance",
            &vmi.name,
            "OrphanKilled",
            format!("the kubelet on {node} stopped the guest: its pod no longer exists"),
        );
    }
    for key in pods {
        world.enqueue(ControllerId::Kubelet, key);
    }
    for key in vmis {
        world.enqueue(ControllerId::VirtHandler, key);
    }
}

/// The kubelet pulls the pod's images before it starts the containers
/// (`pkg/kubelet/images/image_manager.go`, `EnsureImageExists`): a pull that fails
/// leaves the container waiting with `ErrImagePull`, and the retries wait under the
/// image back-off with `ImagePullBackOff` (`imagePullBackOffBase` doubling up to
/// `imagePullBackOffMax`). Returns whether the pull failed (the pod retries later).
fn image_pull_fails(world: &mut World, pod: &Pod) -> bool {
    let Some(image) = pod
        .images
        .iter()
        .find(|image| world.agent_state.unpullable_images.contains(*image))
        .cloned()
    else {
        return false;
    };
    let uid = pod.meta.uid.clone();
    let now = world.now();
    let failures = world
        .agent_state
        .image_pull_failures
        .entry(uid)
        .or_insert((0, now));
    if now < failures.1 {
        // Still backing off (a pod update woke the kubelet, and that earlier wake-up
        // replaced the queued retry): wait for the rest of the back-off.
        let wait_ms = failures.1.since(now);
        world.enqueue_after(ControllerId::Kubelet, pod.meta.key(), wait_ms);
        return true;
    }
    failures.0 += 1;
    let attempt = failures.0;
    let (reason, event, message) = if attempt == 1 {
        (
            "ErrImagePull",
            "Failed",
            format!("Failed to pull image \"{image}\": not found"),
        )
    } else {
        (
            "ImagePullBackOff",
            "BackOff",
            format!("Back-off pulling image \"{image}\""),
        )
    };
    if attempt <= 2 {
        world.record("Pod", &pod.meta.name, event, message);
    }
    let _ = world.store.modify::<Pod>(&pod.meta.key(), |pod| {
        pod.image_pull_error = Some(reason.to_string());
    });
    let base = world.settings.image_pull_backoff_base_ms;
    let retry_ms = base
        .saturating_mul(1 << (attempt - 1).min(20))
        .min(world.settings.image_pull_backoff_max_ms);
    if let Some(failures) = world.agent_state.image_pull_failures.get_mut(&pod.meta.uid) {
        failures.1 = now + retry_ms;
    }
    world.enqueue_after(ControllerId::Kubelet, pod.meta.key(), retry_ms);
    true
}
