//! The virt-controller process around its controllers: what happens when a worker
//! panics. Only `kubevirt-pool` panics (`Action::ControllerPanic`: `scaleIn` in
//! `pkg/virt-controller/watch/pool/pool.go` slices `eligibleVMs[0:count]` out of range).
//!
//! Upstream: the worker runs under `wait.Until`, whose `BackoffUntilWithContext`
//! defers `runtime.HandleCrashWithContext`; with `ReallyCrash = true` (the default,
//! `k8s.io/apimachinery/pkg/util/runtime/runtime.go`) it panics again and the process
//! exits. Every controller of virt-controller (pool, VM, VMI, node, ...) lives in that
//! one process, so all of them stop. The kubelet restarts the container after its
//! crash-loop back-off (`flowcontrol.Backoff`: none for the first restart, then 10 s
//! doubling to 5 min, forgotten after 10 min without a crash; kubernetes
//! `pkg/kubelet/kuberuntime/kuberuntime_manager.go`, `doBackOff`). The deployment has
//! 2 replicas (`pkg/virt-operator/resource/generate/components/deployments.go`), one
//! leading through a Lease (`pkg/virt-controller/watch/application.go`,
//! `leaderelectionconfig`: lease 15 s). A standby takes over once the crashed
//! leader's lease has run out; the crashed replica, restarted with the same identity
//! (its pod name), finds itself the holder and leads again at once
//! (client-go `leaderelection.go`, `tryAcquireOrRenew`, `IsLeader`). The new leader
//! starts every controller from an empty queue and a fresh list: every object is
//! "added" again, so the pool is synced again, meets the same panic, and crashes the
//! process again while the cause lasts.
//!
//! Modelled: the pool, VM, VMI and KubeVirt node controllers (virt-controller's, in
//! poolsim) stop at the crash and resume at the next leader's start; their queues and
//! the pool's expectations (process memory) start empty; the re-list enqueues every
//! pool, VM, VMI and node as their add handlers do. Not modelled: the start-up time of
//! a replica (informer sync), the lease renewal and retry periods (the standby takes
//! over exactly one lease duration after the crash), the informer caches being rebuilt
//! (poolsim's cache kept receiving watch events meanwhile, so it equals a fresh list).

use crate::api::{Object, ObjectKey};
use crate::cluster::informer::InformerId;
use crate::cluster::store::{WatchEvent, WatchEventType};
use crate::cluster::world::{ControllerId, Timer, World};
use crate::engine::SimTime;

/// The controllers poolsim runs that live in the virt-controller process.
pub const VIRT_CONTROLLER_CONTROLLERS: [ControllerId; 4] = [
    ControllerId::Pool,
    ControllerId::Vm,
    ControllerId::Vmi,
    ControllerId::KubevirtNode,
];

/// One replica of the virt-controller deployment.
#[derive(Debug, Clone, Default)]
struct Replica {
    /// When its container runs (again): at or before now while it is up.
    up_at: SimTime,
    /// The kubelet's back-off entry for its container: the next delay and when the
    /// entry was last updated (`flowcontrol.Backoff`).
    backoff: Option<(u64, SimTime)>,
}

#[derive(Debug, Default)]
pub struct VirtControllerState {
    /// Created at the first crash (until then no replica state matters).
    replicas: Vec<Replica>,
    /// The replica holding the lease.
    leader: usize,
    /// Whether no replica leads: the crashed leader's controllers are gone.
    down: bool,
    /// How many times a virt-controller process crashed.
    pub crashes: u64,
}

impl VirtControllerState {
    /// Whether the virt-controller's controllers are stopped (no replica leads).
    pub fn is_down(&self) -> bool {
        self.down
    }
}

/// The name of replica `index`'s pod, as the events name it.
fn replica_name(index: usize) -> String {
    format!("virt-controller-{index}")
}

/// The kubelet's restart delay after a crash at `now`, and the back-off entry's
/// update (`doBackOff`: `IsInBackOffSince`, then `Next`): no entry, or one older than
/// twice the maximum, restarts at once and starts the entry at `initial`; otherwise the
/// entry's delay is waited and then doubled, up to `max`.
fn restart_delay_ms(replica: &mut Replica, now: SimTime, initial_ms: u64, max_ms: u64) -> u64 {
    match replica.backoff {
        Some((delay_ms, updated)) if now.since(updated) <= 2 * max_ms => {
            let restart = now + delay_ms;
            replica.backoff = Some(((delay_ms * 2).min(max_ms), restart));
            delay_ms
        }
        _ => {
            replica.backoff = Some((initial_ms.min(max_ms), now));
            0
        }
    }
}

/// The pool controller's worker panicked syncing `pool` with `message`: the leading
/// virt-controller process exits; schedule the next replica to lead.
pub fn crash(world: &mut World, pool: &ObjectKey, message: &str) {
    let now = world.now();
    let replicas = world.settings.virt_controller_replicas.max(1) as usize;
    let lease_ms = world.settings.leader_elect_lease_duration_ms;
    let initial_ms = world.settings.container_restart_backoff_initial_ms;
    let max_ms = world.settings.container_restart_backoff_max_ms;
    let state = &mut world.virt_controller;
    if state.replicas.len() != replicas {
        state.replicas = vec![Replica::default(); replicas];
    }
    state.crashes += 1;
    state.down = true;
    let leader = state.leader;
    let delay_ms = restart_delay_ms(&mut state.replicas[leader], now, initial_ms, max_ms);
    state.replicas[leader].up_at = now + delay_ms;
    // The holder's own identity re-acquires as soon as it runs; any other replica
    // only once the lease, last renewed at the crash, has run out.
    let lease_expires = now + lease_ms;
    let (next, at) = state
        .replicas
        .iter()
        .enumerate()
        .map(|(index, replica)| {
            let at = if index == leader {
                replica.up_at
            } else {
                replica.up_at.max(lease_expires)
            };
            (index, at)
        })
        .min_by_key(|(index, at)| (*at, *index != leader, *index))
        .expect("at least one replica");
    world.record(
        "Pod",
        &replica_name(leader),
        "ControllerCrashed",
        format!(
            "virt-controller panicked in the pool controller syncing {}/{}: {message}; \
             the process exits and restarts in {}s",
            pool.namespace,
            pool.name,
            delay_ms / 1000
        ),
    );
    world.schedule_timer_at(at, Timer::VirtControllerLeads { replica: next });
}

/// Replica `replica` acquires the lease and starts virt-controller's controllers:
/// empty queues and expectations, then every object of their informers "added".
pub fn leads(world: &mut World, replica: usize) {
    if !world.virt_controller.down {
        return;
    }
    world.virt_controller.down = false;
    world.virt_controller.leader = replica;
    world.record(
        "Lease",
        "virt-controller",
        "LeaderElection",
        format!("{} became leader", replica_name(replica)),
    );
    for controller in VIRT_CONTROLLER_CONTROLLERS {
        world.reset_work_queue(controller);
    }
    world.pool_state.expectations.clear();
    relist(world);
}

/// The initial list of a new process's informers: each pool, VM, VMI and node goes
/// through its add handlers, in key order.
fn relist(world: &mut World) {
    let objects = world.informer(InformerId::VirtController);
    let mut listed: Vec<Object> = Vec::new();
    listed.extend(objects.pools.values().cloned().map(Object::Pool));
    listed.extend(objects.vms.values().cloned().map(Object::Vm));
    listed.extend(objects.vmis.values().cloned().map(Object::Vmi));
    listed.extend(objects.nodes.values().cloned().map(Object::Node));
    for object in listed {
        let event = WatchEvent {
            event_type: WatchEventType::Added,
            kind: object.kind(),
            key: object.meta().key(),
            resource_version: object.meta().resource_version,
            object: Some(object),
            old: None,
        };
        crate::controllers::route(world, InformerId::VirtController, &event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000;

    #[test]
    fn restart_delays_follow_the_kubelet_crash_loop_back_off() {
        let mut replica = Replica::default();
        let mut now = SimTime(0);
        let mut delays = Vec::new();
        for _ in 0..8 {
            let delay = restart_delay_ms(&mut replica, now, 10 * S, 300 * S);
            delays.push(delay / S);
            // Crash again 1 s after each restart.
            now = now + delay + S;
        }
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn the_back_off_is_forgotten_after_twice_the_maximum_without_a_crash() {
        let mut replica = Replica::default();
        assert_eq!(
            restart_delay_ms(&mut replica, SimTime(0), 10 * S, 300 * S),
            0
        );
        assert_eq!(
            restart_delay_ms(&mut replica, SimTime(S), 10 * S, 300 * S),
            10 * S
        );
        // Restarted at 11 s; a crash 10 min after that still counts as a repeat...
        let repeat = SimTime(11 * S + 600 * S);
        assert_eq!(
            restart_delay_ms(&mut replica.clone(), repeat, 10 * S, 300 * S),
            20 * S
        );
        // ...one just after does not: the restart is immediate again.
        let fresh = SimTime(11 * S + 600 * S + 1);
        assert_eq!(restart_delay_ms(&mut replica, fresh, 10 * S, 300 * S), 0);
    }
}
