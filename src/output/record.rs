//! What a run records while it runs: the event log and the timeseries samples.

use crate::api::*;
use crate::cluster::truth::{Guest, GuestState};
use crate::cluster::world::World;
use std::collections::BTreeSet;

// The event log lives in `output::event_log`; re-exported where it always was.
pub use crate::output::event_log::{EventLog, EventRow, EventType};

pub use crate::timeseries::Sample;

#[derive(Debug, Default)]
pub struct SampleLog {
    pub rows: Vec<Sample>,
    /// The replica counts of the last sample and what they were counted from, so a
    /// sample taken when none of it changed (most samples of a long run) reuses them
    /// instead of walking every VM, VMI, guest and PVC again.
    last_counts: Option<(CountInputs, ReplicaCounts)>,
}

impl SampleLog {
    /// Sample the cluster now and append the row. Counts are summed over every pool
    /// of the scenario: API columns from the store (what `kubectl` would show),
    /// `guests_running` from ground truth.
    pub fn record(&mut self, world: &World) {
        let inputs = CountInputs::of(world);
        let counts = match &self.last_counts {
            Some((last, counts)) if *last == inputs => *counts,
            _ => count_replicas(world),
        };
        self.rows.push(sample_with(world, counts));
        self.last_counts = Some((inputs, counts));
    }

    /// Makes the reused counts wrong, to show the invariant checker catches it.
    #[cfg(test)]
    pub(crate) fn corrupt_reused_counts_for_test(&mut self) {
        if let Some((_, counts)) = &mut self.last_counts {
            counts.vms_total += 1;
        }
    }

    /// For the invariant checker: while nothing the replica counts are read from has
    /// changed since the last sample (so the next sample will reuse them), they must be
    /// what counting every object gives now.
    pub(crate) fn check_reused_counts(&self, world: &World) -> Result<(), String> {
        match &self.last_counts {
            Some((last, counts)) if *last == CountInputs::of(world) => {
                let fresh = count_replicas(world);
                if fresh == *counts {
                    Ok(())
                } else {
                    Err(format!(
                        "the sampler would reuse {counts:?}, counting gives {fresh:?}"
                    ))
                }
            }
            _ => Ok(()),
        }
    }
}

/// What [`count_replicas`] reads: the store's pools, VMs, VMIs, nodes and PVCs (by the
/// resource version of their last write), the guests, and which nodes are powered.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CountInputs {
    store_versions: [u64; 5],
    guests: u64,
    powered_off: Vec<String>,
    /// Nodes cut off from the API (partitioned): whether a guest can be stopped.
    disconnected: Vec<String>,
}

impl CountInputs {
    fn of(world: &World) -> Self {
        let versions = world.store().kind_versions();
        CountInputs {
            store_versions: [
                Kind::VirtualMachinePool,
                Kind::VirtualMachine,
                Kind::VirtualMachineInstance,
                Kind::Node,
                Kind::PersistentVolumeClaim,
            ]
            .map(|kind| versions.get(kind)),
            guests: world.truth().guests_version(),
            powered_off: powered_off_nodes(world)
                .into_iter()
                .map(str::to_string)
                .collect(),
            disconnected: world
                .truth()
                .nodes
                .iter()
                .filter(|(_, node)| !node.connected)
                .map(|(name, _)| name.clone())
                .collect(),
        }
    }
}

/// The nodes of ground truth that are powered off (usually none).
fn powered_off_nodes(world: &World) -> Vec<&str> {
    world
        .truth()
        .nodes
        .iter()
        .filter(|(_, node)| !node.powered)
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The columns of a sample that count replicas (all but the time, the HPA's and the
/// load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReplicaCounts {
    desired_replicas: i64,
    vms_total: i64,
    vms_ready: i64,
    vmis_running: i64,
    vmis_unknown: i64,
    guests_running: i64,
    /// Of `guests_running`, those [`GuestControl::Stopping`] and those
    /// [`GuestControl::Uncontrolled`]; counted only while `guests_running` exceeds
    /// desired, 0 otherwise (they matter only then).
    guests_stopping: i64,
    guests_uncontrolled: i64,
    pvcs_bound: i64,
}

/// The sample now, given its replica counts.
fn sample_with(world: &World, counts: ReplicaCounts) -> Sample {
    let objects = world.store().objects();
    let hpas: Vec<&HorizontalPodAutoscaler> = objects.hpas.values().map(|h| &**h).collect();
    let hpa_desired_replicas = (!hpas.is_empty()).then(|| {
        hpas.iter()
            .map(|h| i64::from(h.status.desired_replicas))
            .sum()
    });
    let cpu_utilization_pct = hpas
        .iter()
        .find_map(|h| crate::controllers::hpa::observed_utilization_pct(h));
    Sample {
        time: world.now(),
        desired_replicas: counts.desired_replicas,
        hpa_desired_replicas,
        vms_total: counts.vms_total,
        vms_ready: counts.vms_ready,
        vmis_running: counts.vmis_running,
        vmis_unknown: counts.vmis_unknown,
        guests_running: counts.guests_running,
        overshoot: (counts.guests_running - counts.desired_replicas).max(0),
        pvcs_bound: counts.pvcs_bound,
        cpu_utilization_pct,
        load_cores: world.load.cores_at(world.now()),
        uncontrolled_overshoot: uncontrolled_overshoot(&counts),
    }
}

/// The part of the excess of guests not being stopped over desired that is made of
/// uncontrolled guests: `min(uncontrolled, max(0, running - stopping - desired))`.
/// Controlled guests beyond desired are a scale-in the pool is about to make (the
/// sample fell between `spec.replicas` dropping and the pool's deletions), and
/// uncontrolled ones that fill a gap below desired (a partition before any
/// replacement) are no excess.
fn uncontrolled_overshoot(counts: &ReplicaCounts) -> i64 {
    let excess = counts.guests_running - counts.guests_stopping - counts.desired_replicas;
    excess.clamp(0, counts.guests_uncontrolled.max(0))
}

/// The replica counts of a sample, from every VM, VMI, guest and PVC.
fn count_replicas(world: &World) -> ReplicaCounts {
    let objects = world.store().objects();
    let pools: Vec<&VirtualMachinePool> = objects.pools.values().map(|p| &**p).collect();
    let pool_uids: BTreeSet<&str> = pools.iter().map(|p| p.meta.uid.as_str()).collect();
    let pool_names: BTreeSet<&str> = pools.iter().map(|p| p.meta.name.as_str()).collect();
    let desired_replicas: i64 = pools.iter().map(|p| i64::from(p.spec.replicas)).sum();
    // The nodes that are not reporting, found once per sample: usually none, and a
    // VMI's node is then checked without a lookup per VMI.
    let unknown_nodes: BTreeSet<&str> = objects
        .nodes
        .values()
        .filter(|n| n.ready == ConditionStatus::Unknown)
        .map(|n| n.meta.name.as_str())
        .collect();
    let (mut vms_total, mut vms_ready, mut vmis_running, mut vmis_unknown) = (0, 0, 0, 0);
    // A VM's instance has the VM's key, and both tables are in key order: walking them
    // side by side finds each VM's VMI without a lookup per VM.
    let mut vmis = objects.vmis.iter().peekable();
    for (key, vm) in &objects.vms {
        let owned = vm
            .meta
            .controller_ref()
            .is_some_and(|r| pool_uids.contains(r.uid.as_str()));
        if !owned {
            continue;
        }
        vms_total += 1;
        if vm.status.ready {
            vms_ready += 1;
        }
        while vmis.next_if(|(vmi_key, _)| *vmi_key < key).is_some() {}
        if let Some((_, vmi)) = vmis.next_if(|(vmi_key, _)| *vmi_key == key) {
            if vmi.status.phase == VmiPhase::Running {
                vmis_running += 1;
            }
            let node_unknown = !unknown_nodes.is_empty()
                && vmi
                    .status
                    .node_name
                    .as_deref()
                    .is_some_and(|n| unknown_nodes.contains(n));
            if node_unknown && !vmi.status.phase.is_final() {
                vmis_unknown += 1;
            }
        }
    }
    let guests = count_guests(world, &pool_names, &pool_uids, desired_replicas);
    let dv_names: BTreeSet<&str> = pools
        .iter()
        .flat_map(|p| {
            p.spec
                .template
                .spec
                .data_volume_templates
                .iter()
                .map(|t| t.name.as_str())
        })
        .collect();
    let pvcs_bound = objects
        .pvcs
        .values()
        .filter(|pvc| pvc.phase == PvcPhase::Bound && pvc.populated)
        .filter(|pvc| {
            pvc.meta.name.rsplit_once('-').is_some_and(|(base, index)| {
                dv_names.contains(base) && index.parse::<u32>().is_ok()
            })
        })
        .count() as i64;
    ReplicaCounts {
        desired_replicas,
        vms_total,
        vms_ready,
        vmis_running,
        vmis_unknown,
        guests_running: guests.running,
        guests_stopping: guests.stopping,
        guests_uncontrolled: guests.uncontrolled,
        pvcs_bound,
    }
}

/// The pools' executing guests, and of those the stopping and uncontrolled ones.
struct GuestCounts {
    running: i64,
    stopping: i64,
    uncontrolled: i64,
}

/// Counts the guests of `pool_names` that execute on a powered node and, when more
/// of them run than `desired_replicas`, what the control plane does about each.
fn count_guests(
    world: &World,
    pool_names: &BTreeSet<&str>,
    pool_uids: &BTreeSet<&str>,
    desired_replicas: i64,
) -> GuestCounts {
    let truth = world.truth();
    // The nodes that are powered off, found once per sample (usually none): a guest
    // only starts on a node of ground truth (the kubelet starts it), and ground truth
    // never loses a node, so a guest's node is powered unless it is in this list.
    let powered_off = powered_off_nodes(world);
    let running: Vec<&Guest> = truth
        .guests()
        .values()
        .filter(|g| g.pool.as_deref().is_some_and(|p| pool_names.contains(p)))
        .filter(|g| matches!(g.state, GuestState::Running | GuestState::ShuttingDown))
        .filter(|g| {
            debug_assert!(truth.nodes.contains_key(&g.node), "guest on unknown node");
            !powered_off.contains(&g.node.as_str())
        })
        .collect();
    let guests_running = running.len() as i64;
    // What the control plane does about each guest matters only when more run than
    // desired; in the steady state of a long run they do not, and no guest is looked up.
    let (mut guests_stopping, mut guests_uncontrolled) = (0, 0);
    if guests_running > desired_replicas {
        for guest in &running {
            match guest_control(world, guest, pool_uids) {
                GuestControl::Stopping => guests_stopping += 1,
                GuestControl::Uncontrolled => guests_uncontrolled += 1,
                GuestControl::Controlled => {}
            }
        }
    }
    GuestCounts {
        running: guests_running,
        stopping: guests_stopping,
        uncontrolled: guests_uncontrolled,
    }
}

/// What the control plane is doing about one executing guest of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GuestControl {
    /// It will stop within its grace period without anyone else acting: its ACPI
    /// shutdown is under way (`ShuttingDown`: the launcher asked; the guest stops at
    /// `stops_at` wherever its node is), or its node is reporting (powered, connected
    /// to the API) and its VMI or its VM is gone from the API or terminating. The
    /// virt-handler there sees it and stops the domain (kubevirt
    /// `pkg/virt-handler/vm.go`, `VirtualMachineController.sync`: a VMI that no longer
    /// exists or has a deletion timestamp, with its domain alive, sets
    /// `shouldShutdown`, and `processVmShutdown` shuts down gracefully within the VMI's
    /// grace period); the VM controller and garbage collection delete the VMI of a
    /// deleted VM.
    Stopping,
    /// The pool controls it: its node is reporting, its VMI and VM are live, and the
    /// VM is owned by a pool of the scenario. If there are more such guests than
    /// desired, the pool will scale them in.
    Controlled,
    /// Neither: it runs, and nothing is stopping it or counting it down. A guest on a
    /// node cut off from the API (whatever the API says of its VM and VMI: nobody can
    /// reach it, and it runs until the node is back), or of a VM detached from its pool.
    Uncontrolled,
}

/// See [`GuestControl`]; `pool_uids` are the scenario's pools.
fn guest_control(world: &World, guest: &Guest, pool_uids: &BTreeSet<&str>) -> GuestControl {
    if guest.state == GuestState::ShuttingDown {
        return GuestControl::Stopping;
    }
    if !world.truth().node_reporting(&guest.node) {
        return GuestControl::Uncontrolled;
    }
    let objects = world.store().objects();
    // The guest's own VMI (a VMI of the same name made later is another instance).
    let Some(vmi) = objects
        .vmis
        .get(&guest.vmi)
        .filter(|vmi| vmi.meta.uid == guest.vmi_uid)
    else {
        return GuestControl::Stopping;
    };
    if vmi.meta.is_deleting() {
        return GuestControl::Stopping;
    }
    // Its VM has the VMI's key; a VM of that name with another uid is a later one.
    let vm = objects
        .vms
        .get(&guest.vmi)
        .filter(|vm| vmi.meta.is_controlled_by(&vm.meta.uid));
    let Some(vm) = vm.filter(|vm| !vm.meta.is_deleting()) else {
        return GuestControl::Stopping;
    };
    let owned = vm
        .meta
        .controller_ref()
        .is_some_and(|r| pool_uids.contains(r.uid.as_str()));
    if owned {
        GuestControl::Controlled
    } else {
        GuestControl::Uncontrolled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(desired: i64, running: i64, stopping: i64, uncontrolled: i64) -> ReplicaCounts {
        ReplicaCounts {
            desired_replicas: desired,
            vms_total: 0,
            vms_ready: 0,
            vmis_running: 0,
            vmis_unknown: 0,
            guests_running: running,
            guests_stopping: stopping,
            guests_uncontrolled: uncontrolled,
            pvcs_bound: 0,
        }
    }

    #[test]
    fn a_scale_in_is_not_uncontrolled() {
        // 5 -> 1: all four surplus guests shutting down, or all still controlled
        // (the pool has not deleted them yet).
        assert_eq!(uncontrolled_overshoot(&counts(1, 5, 4, 0)), 0);
        assert_eq!(uncontrolled_overshoot(&counts(1, 5, 0, 0)), 0);
    }

    #[test]
    fn an_unreachable_guest_counts_only_beyond_desired() {
        // A replacement runs beside the unreachable guest: one too many.
        assert_eq!(uncontrolled_overshoot(&counts(3, 4, 0, 1)), 1);
        // No replacement yet: the unreachable guest fills its own place.
        assert_eq!(uncontrolled_overshoot(&counts(3, 3, 0, 1)), 0);
        // Scaled to 0 during the partition: the reachable guests stop, one cannot.
        assert_eq!(uncontrolled_overshoot(&counts(0, 3, 2, 1)), 1);
        // Two detached guests, but only one beyond desired.
        assert_eq!(uncontrolled_overshoot(&counts(2, 3, 0, 2)), 1);
    }
}
