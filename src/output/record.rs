//! What a run records while it runs: the event log and the timeseries samples.

use crate::api::*;
use crate::cluster::truth::GuestState;
use crate::cluster::world::World;
use crate::engine::SimTime;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub time: SimTime,
    pub kind: String,
    pub object: String,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct EventLog {
    pub rows: Vec<EventRow>,
}

impl EventLog {
    pub fn push(&mut self, time: SimTime, kind: &str, object: &str, reason: &str, message: String) {
        self.rows.push(EventRow {
            time,
            kind: kind.into(),
            object: object.into(),
            reason: reason.into(),
            message,
        });
    }
}

/// One timeseries row (DESIGN.md §1.3 columns, in order).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub time: SimTime,
    pub desired_replicas: i64,
    pub hpa_desired_replicas: Option<i64>,
    pub vms_total: i64,
    pub vms_ready: i64,
    pub vmis_running: i64,
    pub vmis_unknown: i64,
    pub guests_running: i64,
    pub overshoot: i64,
    pub pvcs_bound: i64,
    pub cpu_utilization_pct: Option<i64>,
    /// Offered load in cores (an extra column).
    pub load_cores: f64,
}

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
    }
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
    let truth = world.truth();
    // The nodes that are powered off, found once per sample (usually none): a guest
    // only starts on a node of ground truth (the kubelet starts it), and ground truth
    // never loses a node, so a guest's node is powered unless it is in this list.
    let powered_off = powered_off_nodes(world);
    let guests_running = truth
        .guests()
        .values()
        .filter(|g| g.pool.as_deref().is_some_and(|p| pool_names.contains(p)))
        .filter(|g| matches!(g.state, GuestState::Running | GuestState::ShuttingDown))
        .filter(|g| {
            debug_assert!(truth.nodes.contains_key(&g.node), "guest on unknown node");
            !powered_off.contains(&g.node.as_str())
        })
        .count() as i64;
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
        guests_running,
        pvcs_bound,
    }
}
