//! The kubelet's prober for launcher pods (kubernetes `pkg/kubelet/prober`): one
//! worker per probe of the compute container, which carries the VMI's
//! `readinessProbe` and `livenessProbe` (kubevirt `services/template.go`,
//! `newContainerSpecRenderer`; `services/rendercontainer.go` adds
//! `LibvirtStartupDelay` to their initial delay).
//!
//! `worker.go`, `doProbe`: a probe's result changes the worker's state only after
//! `failureThreshold` failures or `successThreshold` successes in a row; the state
//! starts as Failure for readiness and Success for liveness (`initialValue`). A
//! readiness state is the container's Ready, so the pod's Ready condition; a liveness
//! Failure kills the container and puts the worker on hold. Every probe kind reaches
//! into the guest (`virt-probe` through the guest agent for exec and guest-agent
//! probes, the pod network for HTTP and TCP ones), so all pass alike while the guest
//! runs and answers: they fail at once while it boots or is gone, and after
//! `timeoutSeconds` while it hangs (`hangGuest`).
//!
//! Probes run on the node whatever its connection: results reach the API only while
//! it reports (`kubelet::sync_pod` writes the current state when it returns), and a
//! liveness kill happens regardless.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::truth::GuestState;
use crate::cluster::world::{Timer, World};
use crate::controllers::kubelet::ContainerState;
use crate::engine::SimTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    Readiness,
    Liveness,
}

impl ProbeKind {
    fn name(self) -> &'static str {
        match self {
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Liveness => "Liveness",
        }
    }
}

/// One prober worker (`worker.go`, `worker`).
#[derive(Debug, Clone)]
pub struct ProbeWorker {
    probe: ContainerProbe,
    /// The state the results manager holds (`resultsManager.Set`).
    success: bool,
    /// `lastResult` and `resultRun`.
    last_result: Option<bool>,
    run: u32,
    /// A liveness Failure: no more probes for this container (`onHold`).
    on_hold: bool,
}

/// The VMI of a launcher pod, from the node agents' cache (same uid as the pod's
/// controller reference).
fn owning_vmi(world: &World, pod: &Pod) -> Option<std::sync::Arc<VirtualMachineInstance>> {
    let owner = pod.meta.controller_ref()?;
    world
        .informer(InformerId::NodeAgents)
        .vmis
        .get(&ObjectKey::new(&pod.meta.namespace, &owner.name))
        .filter(|vmi| vmi.meta.uid == owner.uid)
        .cloned()
}

/// Whether the pod's compute container carries a readiness probe.
pub fn has_readiness_probe(world: &World, pod: &Pod) -> bool {
    owning_vmi(world, pod).is_some_and(|vmi| vmi.spec.has_readiness_probe())
}

/// `AddPod` once the compute container runs: a worker per probe, each first probing
/// at the probe's initial delay. Upstream's ticker starts when the kubelet admits the
/// pod and skips ticks before the delay, so the first probe comes up to one period
/// after the delay; here it comes at the delay itself.
pub fn start_workers(world: &mut World, pod: &Pod) {
    let Some(vmi) = owning_vmi(world, pod) else {
        return;
    };
    start_workers_of(world, pod, &vmi, false);
}

/// [`start_workers`] for `vmi`'s pod. `settled`: a pod that has run for long (a warm
/// start, `cluster::warm_start`): its readiness already Success, the next probes one
/// period from now.
pub(crate) fn start_workers_of(
    world: &mut World,
    pod: &Pod,
    vmi: &VirtualMachineInstance,
    settled: bool,
) {
    let delay = world.settings.libvirt_startup_delay_ms;
    let probes = [
        (ProbeKind::Readiness, vmi.spec.readiness_probe),
        (ProbeKind::Liveness, vmi.spec.liveness_probe),
    ];
    for (kind, probe) in probes {
        let Some(probe) = probe else {
            continue;
        };
        let probe = probe.on_compute_container(delay);
        let worker = ProbeWorker {
            probe,
            success: settled || kind == ProbeKind::Liveness,
            last_result: None,
            run: 0,
            on_hold: false,
        };
        let uid = pod.meta.uid.clone();
        world.agent_state.probes.insert((uid.clone(), kind), worker);
        let first_ms = if settled {
            probe.period_ms
        } else {
            probe.initial_delay_ms
        };
        world.schedule_timer(
            first_ms,
            Timer::Probe {
                pod: pod.meta.key(),
                uid,
                kind,
            },
        );
    }
}

/// The readiness the kubelet holds for a running compute container: its worker's
/// state, or Ready without a readiness probe (`prober_manager.go`, `UpdatePodStatus`).
pub fn container_ready(world: &World, uid: &str) -> bool {
    world
        .agent_state
        .probes
        .get(&(uid.to_string(), ProbeKind::Readiness))
        .is_none_or(|worker| worker.success)
}

/// Forget a pod's workers (its containers are gone).
pub fn remove_workers(world: &mut World, uid: &str) {
    world.agent_state.probes.retain(|(pod, _), _| pod != uid);
}

/// The guest of this pod answers a probe now: `Some(true)` it passes, `Some(false)` it
/// fails at once (no guest yet, booting, shutting down), `None` it hangs (the probe
/// fails when its timeout runs out).
fn guest_answers(world: &World, pod: &Pod) -> Option<bool> {
    let guest = pod
        .meta
        .controller_ref()
        .and_then(|owner| world.truth.guests().get(&owner.uid));
    match guest {
        Some(guest) if guest.state == GuestState::Running && guest.hung => None,
        Some(guest) => Some(guest.state == GuestState::Running),
        None => Some(false),
    }
}

/// The pod a probe worker belongs to, while it is still that pod (same uid); once it
/// is gone or replaced, its workers end (`worker.go`, `doProbe`: the pod is gone).
fn worker_pod(world: &mut World, key: &ObjectKey, uid: &str) -> Option<Pod> {
    let pod = world
        .store
        .get::<Pod>(key)
        .filter(|p| p.meta.uid == uid)
        .cloned();
    if pod.is_none() {
        remove_workers(world, uid);
    }
    pod
}

/// A worker's tick (`worker.go`, `run` and `doProbe`).
pub fn probe_tick(world: &mut World, key: &ObjectKey, uid: &str, kind: ProbeKind) {
    let Some(pod) = worker_pod(world, key, uid) else {
        return;
    };
    // The worker ends with its pod's containers (`doProbe`: a terminated pod).
    let running = world.agent_state.containers.get(uid) == Some(&ContainerState::Running);
    if pod.is_terminated() || !running {
        remove_workers(world, uid);
        return;
    }
    let worker_key = (uid.to_string(), kind);
    let Some(worker) = world.agent_state.probes.get(&worker_key).cloned() else {
        return;
    };
    if worker.on_hold {
        return;
    }
    // Graceful shutdown: liveness stops probing (`doProbe`, DeletionTimestamp).
    if pod.meta.is_deleting() && kind == ProbeKind::Liveness {
        return;
    }
    let now = world.now();
    match guest_answers(world, &pod) {
        Some(success) => {
            record_result(world, &pod, kind, success);
            schedule_next(world, key, uid, kind, now + worker.probe.period_ms);
        }
        None => world.schedule_timer(
            worker.probe.timeout_ms,
            Timer::ProbeTimedOut {
                pod: key.clone(),
                uid: uid.to_string(),
                kind,
                started: now,
            },
        ),
    }
}

/// A probe of a hung guest ran out of time: a Failure. The ticker kept ticking; a
/// tick missed while the probe ran fires as soon as it returns (Go's ticker keeps
/// one).
pub fn probe_timed_out(
    world: &mut World,
    key: &ObjectKey,
    uid: &str,
    kind: ProbeKind,
    started: SimTime,
) {
    let Some(pod) = worker_pod(world, key, uid) else {
        return;
    };
    let Some(period_ms) = world
        .agent_state
        .probes
        .get(&(uid.to_string(), kind))
        .map(|w| w.probe.period_ms)
    else {
        return;
    };
    record_result(world, &pod, kind, false);
    let next = (started + period_ms).max(world.now());
    schedule_next(world, key, uid, kind, next);
}

fn schedule_next(world: &mut World, key: &ObjectKey, uid: &str, kind: ProbeKind, at: SimTime) {
    let keep = world
        .agent_state
        .probes
        .get(&(uid.to_string(), kind))
        .is_some_and(|w| !w.on_hold);
    if keep {
        world.schedule_timer_at(
            at,
            Timer::Probe {
                pod: key.clone(),
                uid: uid.to_string(),
                kind,
            },
        );
    }
}

/// `doProbe`'s bookkeeping after one result, and what a changed state does.
fn record_result(world: &mut World, pod: &Pod, kind: ProbeKind, success: bool) {
    let Some(worker) = world
        .agent_state
        .probes
        .get_mut(&(pod.meta.uid.clone(), kind))
    else {
        return;
    };
    if worker.last_result == Some(success) {
        worker.run += 1;
    } else {
        worker.last_result = Some(success);
        worker.run = 1;
    }
    let threshold = if success {
        worker.probe.success_threshold
    } else {
        worker.probe.failure_threshold
    };
    if worker.run < threshold {
        return;
    }
    let changed = worker.success != success;
    worker.success = success;
    if kind == ProbeKind::Liveness && !success {
        worker.on_hold = true;
        worker.run = 0;
    }
    let failures = worker.probe.failure_threshold;
    if changed && !success {
        world.record(
            "Pod",
            &pod.meta.name,
            "Unhealthy",
            format!("{} probe failed {failures} times in a row", kind.name()),
        );
    }
    match kind {
        ProbeKind::Readiness => publish_readiness(world, pod, success),
        ProbeKind::Liveness if !success => kill_compute_container(world, pod),
        ProbeKind::Liveness => {}
    }
}

/// The status manager writes the container's readiness into the pod's Ready
/// condition, if the node can reach the API server.
fn publish_readiness(world: &mut World, pod: &Pod, ready: bool) {
    let node = pod.node_name.as_deref().unwrap_or("");
    if !world.truth.node_reporting(node) || pod.is_terminated() {
        return;
    }
    let now = world.now();
    let _ = world.store.modify::<Pod>(&pod.meta.key(), |pod| {
        if pod.ready != ready {
            pod.ready = ready;
            pod.ready_transition = now;
        }
    });
}

/// A liveness Failure: the kubelet kills the compute container
/// (`kuberuntime_manager.go`, `computePodActions`: "failed liveness probe, will be
/// restarted"; the launcher pod's `restartPolicy: Never` then keeps it down).
/// virt-launcher takes the SIGTERM as a graceful shutdown and kills qemu when the
/// VMI's `terminationGracePeriodSeconds` runs out (`cmd/virt-launcher`,
/// `NewProcessMonitor` with `gracefulShutdownCallback` and `finalShutdownCallback`); a
/// guest that answers the ACPI request stops sooner.
fn kill_compute_container(world: &mut World, pod: &Pod) {
    world.record(
        "Pod",
        &pod.meta.name,
        "Killing",
        "Container compute failed liveness probe, will be restarted",
    );
    let grace_ms =
        owning_vmi(world, pod).map_or(30, |vmi| vmi.spec.termination_grace_period_s) * 1000;
    world.schedule_timer(
        grace_ms,
        Timer::ComputeKilled {
            pod: pod.meta.key(),
            uid: pod.meta.uid.clone(),
        },
    );
}

/// The compute container is gone, qemu with it: the pod's containers are down and
/// virt-handler finds the domain gone (the VMI fails; `vm.go` restarts it per its
/// `runStrategy`).
pub fn compute_killed(world: &mut World, key: &ObjectKey, uid: &str) {
    remove_workers(world, uid);
    if world.agent_state.containers.remove(uid).is_none() {
        return;
    }
    let Some(pod) = worker_pod(world, key, uid) else {
        return;
    };
    if let Some(owner) = pod.meta.controller_ref() {
        crate::controllers::kubelet::kill_guest(world, &owner.uid);
    }
    let node = pod.node_name.clone().unwrap_or_default();
    if world.truth.node_reporting(&node) {
        let now = world.now();
        let _ = world.store.modify::<Pod>(key, |pod| {
            pod.phase = PodPhase::Failed;
            pod.ready = false;
            pod.ready_transition = now;
        });
    }
}
