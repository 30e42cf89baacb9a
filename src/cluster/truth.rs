//! Ground truth: what is physically so, whatever the API says. Nodes are powered or
//! not and reachable or not; guests execute or not; volumes are attached somewhere.
//! Only node agents and scenario failures change it; controllers never read it.

use crate::api::ObjectKey;
use crate::engine::SimTime;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct NodeTruth {
    pub powered: bool,
    /// False while partitioned from the control plane.
    pub connected: bool,
    /// Bumped on every change, so timers armed for an older state can tell they are stale.
    pub epoch: u64,
    /// Since when the node has not been reporting (None while reporting).
    pub silent_since: Option<SimTime>,
    /// Phase of the node's 10 s lease renewals, so nodes do not renew in lockstep.
    pub lease_phase_ms: u64,
    /// virt-handler heartbeats: the last one written and when the next is due.
    pub handler_last_heartbeat: SimTime,
    pub handler_next_heartbeat: SimTime,
    /// The node powered off since it last reported, so virt-handler starts afresh when
    /// it returns (its first heartbeat comes at once) instead of carrying on with the
    /// jittered schedule it kept through a partition.
    pub handler_restarted: bool,
}

impl NodeTruth {
    /// Whether the node's agents can talk to the API server.
    pub fn reporting(&self) -> bool {
        self.powered && self.connected
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestState {
    /// The domain is starting; the guest does not run a workload yet.
    Booting,
    Running,
    /// ACPI shutdown under way: still executing.
    ShuttingDown,
}

#[derive(Debug, Clone)]
pub struct Guest {
    pub vmi: ObjectKey,
    pub vmi_uid: String,
    pub node: String,
    pub state: GuestState,
    /// The pool that created the guest's VM (kept across detaches).
    pub pool: Option<String>,
    pub vcpus: u32,
    /// When an ACPI shutdown under way completes.
    pub stops_at: Option<SimTime>,
    /// The guest still runs but answers nothing (scenario `hangGuest`): its probes
    /// time out and it ignores ACPI shutdown requests.
    pub hung: bool,
    /// The guest was executing when its node got the out-of-service taint
    /// (`fenceNode` on a powered node): the API may forget it (pod GC force-deletes
    /// its pod) and restart its VM elsewhere while it keeps running, a split brain
    /// upstream warns of (see `controllers::scenario::fence_node`).
    pub fenced_while_running: bool,
}

#[derive(Debug, Default)]
pub struct GroundTruth {
    pub nodes: BTreeMap<String, NodeTruth>,
    /// Guests by VMI uid. Private so that every change goes through
    /// [`GroundTruth::guests_mut`], which counts it.
    guests: BTreeMap<String, Guest>,
    /// Bumped by every [`GroundTruth::guests_mut`]: readers that derive something from
    /// every guest (the metrics scrape) redo it only when this moved.
    guests_version: u64,
    /// RWO volume attachments: claim → node.
    pub attachments: BTreeMap<ObjectKey, String>,
}

impl GroundTruth {
    /// Guests executing (running or shutting down) that belong to `pool`.
    pub fn guests_running(&self, pool: &str) -> usize {
        self.guests
            .values()
            .filter(|g| g.pool.as_deref() == Some(pool))
            .filter(|g| matches!(g.state, GuestState::Running | GuestState::ShuttingDown))
            .filter(|g| self.nodes.get(&g.node).is_some_and(|n| n.powered))
            .count()
    }

    pub fn node_reporting(&self, node: &str) -> bool {
        self.nodes.get(node).is_some_and(NodeTruth::reporting)
    }

    /// Whether a guest's node is powered: the guest of a powered-off node is gone.
    pub fn node_powered(&self, node: &str) -> bool {
        self.nodes.get(node).is_some_and(|n| n.powered)
    }

    pub fn guest_on(&self, vmi_uid: &str) -> Option<&Guest> {
        self.guests.get(vmi_uid)
    }

    /// Guests by VMI uid.
    pub fn guests(&self) -> &BTreeMap<String, Guest> {
        &self.guests
    }

    /// Guests by VMI uid, to change: counted as a change whether or not the caller
    /// changes anything (a spurious bump only costs a reader one recomputation).
    pub fn guests_mut(&mut self) -> &mut BTreeMap<String, Guest> {
        self.guests_version += 1;
        &mut self.guests
    }

    /// How many times the guests may have changed (see [`GroundTruth::guests_mut`]).
    pub fn guests_version(&self) -> u64 {
        self.guests_version
    }
}
