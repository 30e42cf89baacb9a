//! Random node failure models (`spec.failures`, issue 14 item 5): per-node crash and
//! partition processes with a time-to-failure and a time-to-repair distribution, and
//! optional fencing of a crashed node after a delay.
//!
//! Upstream has no such model: how often nodes fail and how long they take to come back
//! is a workload assumption, not Kubernetes or KubeVirt behaviour (docs/FIDELITY.md
//! §18). What a failure *does* is upstream's: each outage becomes the scenario's own
//! node events (`crashNode` -> `recoverNode`, `partitionNode` -> `healNode`,
//! `fenceNode`), which the model already runs as a real cluster would.
//!
//! Each node of a process is an alternating renewal process from time 0: up for a
//! time-to-failure draw, down for a time-to-repair draw, up again. Draws come from the
//! stream `failures/<process name>/<node>` of the run's seed, so adding a process or a
//! node does not shift the draws of another, and a sweep draws every seed afresh
//! ([`expand_all`] runs per seed, in `sim::build_world`).

use super::decode::{did_you_mean, unknown_name_hint, Report, Value};
use super::yaml::{NodeKind, Pos};
use super::{Action, ClusterNode, NodeRef, ScheduledEvent};
use crate::cluster::world::{ClusterAction, NodeTarget};
use crate::engine::{RngStreams, SimTime};
use crate::units::format_duration_ms;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// The failure kinds, as written in `kind`.
pub const FAILURE_KINDS: &[&str] = &["crash", "partition"];
/// The distributions, as written in `timeToFailure` and `timeToRepair`.
pub const DISTRIBUTIONS: &[&str] = &["exponential", "weibull", "fixed"];
/// Most entries in `spec.failures`. See docs/LIMITS.md.
pub const MAX_FAILURE_PROCESSES: usize = 100;
/// Most outages a scenario's failure processes may be expected to produce (estimated
/// from the medians, see [`expected_outages`]), and most outages one (process, node)
/// stream draws. A month of 20 nodes failing daily is 600; a typo such as `mean: 1s`
/// on 1,000 nodes would be billions of events. See docs/LIMITS.md.
pub const MAX_FAILURE_OUTAGES: u64 = 100_000;

/// What a failure does to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureKind {
    /// `crashNode` ... `recoverNode`: the node powers off, its guests die.
    Crash,
    /// `partitionNode` ... `healNode`: the node loses the control plane; guests run on.
    Partition,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Crash => "crash",
            FailureKind::Partition => "partition",
        }
    }
}

/// A distribution of durations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// `{exponential: {mean: 30d}}`: memoryless failures at a constant rate.
    Exponential { mean_ms: f64 },
    /// `{weibull: {shape: 1.5, scale: 30d}}`: shape < 1 infant mortality, > 1 wear-out.
    Weibull { shape: f64, scale_ms: f64 },
    /// `{fixed: 12h}`.
    Fixed { ms: u64 },
}

impl Distribution {
    /// One draw in whole milliseconds, at least 1: a zero draw would put a failure and
    /// its repair (or a repair and the next failure) at one instant. Inverse CDF over
    /// one uniform draw in [0, 1), so each draw takes exactly one number of the stream.
    pub fn sample_ms(&self, rng: &mut impl Rng) -> u64 {
        // 1 - u is in (0, 1], so its logarithm is finite and -ln is at least 0.
        let mut exponential_1 = || -(1.0 - rng.random::<f64>()).ln();
        let draw_ms = match *self {
            Distribution::Exponential { mean_ms } => mean_ms * exponential_1(),
            Distribution::Weibull { shape, scale_ms } => {
                scale_ms * exponential_1().powf(1.0 / shape)
            }
            Distribution::Fixed { ms } => return ms.max(1),
        };
        // `as` saturates: a huge heavy-tail draw becomes u64::MAX, past any run.
        (draw_ms.ceil() as u64).max(1)
    }

    /// The median, in milliseconds, for the outage estimate (closed form for all three).
    pub fn median_ms(&self) -> f64 {
        let ln2 = std::f64::consts::LN_2;
        match *self {
            Distribution::Exponential { mean_ms } => mean_ms * ln2,
            Distribution::Weibull { shape, scale_ms } => scale_ms * ln2.powf(1.0 / shape),
            Distribution::Fixed { ms } => ms as f64,
        }
    }

    /// The mean, in milliseconds, where it has a closed form without the gamma
    /// function (Weibull's mean is `scale * Γ(1 + 1/shape)`).
    pub fn mean_ms(&self) -> Option<f64> {
        match *self {
            Distribution::Exponential { mean_ms } => Some(mean_ms),
            Distribution::Weibull {
                shape: 1.0,
                scale_ms,
            } => Some(scale_ms),
            Distribution::Weibull { .. } => None,
            Distribution::Fixed { ms } => Some(ms as f64),
        }
    }
}

/// Which nodes a process runs on.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeSelection {
    /// `nodes: all` (the default).
    All,
    /// `nodes: [node-0, node-3]`.
    Names(BTreeSet<String>),
    /// `nodes: {matchLabels: {zone: a}}`: the nodes with all these labels.
    MatchLabels(BTreeMap<String, String>),
}

impl NodeSelection {
    /// The selected nodes' names, in the cluster's order.
    pub fn select<'n>(&self, nodes: &'n [ClusterNode]) -> Vec<&'n str> {
        nodes
            .iter()
            .filter(|node| match self {
                NodeSelection::All => true,
                NodeSelection::Names(names) => names.contains(&node.name),
                NodeSelection::MatchLabels(labels) => labels
                    .iter()
                    .all(|(key, value)| node.labels.get(key) == Some(value)),
            })
            .map(|node| node.name.as_str())
            .collect()
    }
}

/// One `spec.failures` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureSpec {
    /// `name`, or the entry's index: part of the random stream's name.
    pub name: String,
    pub kind: FailureKind,
    pub nodes: NodeSelection,
    pub time_to_failure: Distribution,
    pub time_to_repair: Distribution,
    /// `fenceAfter` (crash only): the out-of-service taint this long after the crash,
    /// if the node is still down then; removed again when it is repaired.
    pub fence_after_ms: Option<u64>,
    /// `spec.failures[i]`.
    pub field: String,
    pub pos: Pos,
}

/// One outage of one node, as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub node: String,
    pub kind: FailureKind,
    pub start_ms: u64,
    /// The repair; may lie past the end of the run.
    pub end_ms: u64,
    /// When the node is fenced: before `end_ms` only.
    pub fence_ms: Option<u64>,
}

/// The outages of one process over `[0, duration_ms]`, node by node in the cluster's
/// order, each node's in time order (they never overlap: the next failure is drawn from
/// the repair on). At most [`MAX_FAILURE_OUTAGES`] per node.
pub fn outages(
    spec: &FailureSpec,
    nodes: &[ClusterNode],
    duration_ms: u64,
    streams: &RngStreams,
) -> Vec<Outage> {
    let mut outages = Vec::new();
    for node in spec.nodes.select(nodes) {
        let mut rng = streams.stream(&format!("failures/{}/{node}", spec.name));
        let mut up_since_ms = 0u64;
        for _ in 0..MAX_FAILURE_OUTAGES {
            let start_ms = up_since_ms.saturating_add(spec.time_to_failure.sample_ms(&mut rng));
            if start_ms > duration_ms {
                break;
            }
            let end_ms = start_ms.saturating_add(spec.time_to_repair.sample_ms(&mut rng));
            let fence_ms = spec
                .fence_after_ms
                .map(|after_ms| start_ms.saturating_add(after_ms))
                .filter(|fence_ms| *fence_ms < end_ms);
            outages.push(Outage {
                node: node.to_string(),
                kind: spec.kind,
                start_ms,
                end_ms,
                fence_ms,
            });
            up_since_ms = end_ms;
        }
    }
    outages
}

/// The node events of one process's outages that fall within the run, in time order.
pub fn expand(
    spec: &FailureSpec,
    nodes: &[ClusterNode],
    duration_ms: u64,
    streams: &RngStreams,
) -> Vec<(SimTime, ClusterAction)> {
    events_of(&outages(spec, nodes, duration_ms, streams), duration_ms)
}

/// The node events of every process for one seed, in time order.
///
/// Processes on the same node and of the same kind are merged: an outage that would
/// begin while the node is still down from an earlier one (of any process) is dropped,
/// since a node cannot crash again before it is back; on a tie the earlier-listed
/// process wins. A crash and a partition may overlap: the model keeps power and
/// connectivity apart (`healNode` of a node that is off leaves it silent until
/// `recoverNode`, and the reverse), as a powered-off node can also lose its network.
pub fn expand_all(
    specs: &[FailureSpec],
    nodes: &[ClusterNode],
    duration_ms: u64,
    streams: &RngStreams,
) -> Vec<(SimTime, ClusterAction)> {
    if specs.is_empty() {
        return Vec::new();
    }
    let mut drawn: Vec<(usize, Outage)> = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        drawn.extend(
            outages(spec, nodes, duration_ms, streams)
                .into_iter()
                .map(|outage| (index, outage)),
        );
    }
    drawn.sort_by(|(a_index, a), (b_index, b)| {
        (&a.node, a.kind, a.start_ms, a_index).cmp(&(&b.node, b.kind, b.start_ms, b_index))
    });
    let mut kept: Vec<Outage> = Vec::with_capacity(drawn.len());
    for (_, outage) in drawn {
        let overlaps = kept.last().is_some_and(|last| {
            last.node == outage.node && last.kind == outage.kind && outage.start_ms < last.end_ms
        });
        if !overlaps {
            kept.push(outage);
        }
    }
    events_of(&kept, duration_ms)
}

/// Outages to node events within the run, sorted by time (stable: at one instant, the
/// events keep the order of the outages, and one outage's own order).
fn events_of(outages: &[Outage], duration_ms: u64) -> Vec<(SimTime, ClusterAction)> {
    let mut events = Vec::new();
    for outage in outages {
        let target = || NodeTarget::Node(outage.node.clone());
        let mut push = |at_ms: u64, action: ClusterAction| {
            if at_ms <= duration_ms {
                events.push((SimTime(at_ms), action));
            }
        };
        match outage.kind {
            FailureKind::Crash => {
                push(outage.start_ms, ClusterAction::CrashNode(target()));
                if let Some(fence_ms) = outage.fence_ms {
                    push(fence_ms, ClusterAction::FenceNode(target()));
                }
                push(outage.end_ms, ClusterAction::RecoverNode(target()));
                // The admin removes the taint once the node is back: "The user is
                // required to manually remove the out-of-service taint after the pods
                // are moved to a new node and the user has checked that the shutdown
                // node has been recovered" (kubernetes/website
                // content/en/docs/concepts/cluster-administration/node-shutdown.md).
                if outage.fence_ms.is_some() {
                    push(outage.end_ms, ClusterAction::UnfenceNode(target()));
                }
            }
            FailureKind::Partition => {
                push(outage.start_ms, ClusterAction::PartitionNode(target()));
                push(outage.end_ms, ClusterAction::HealNode(target()));
            }
        }
    }
    events.sort_by_key(|(at, _)| *at);
    events
}

/// The outages all processes are expected to produce in a run of `duration_ms`,
/// estimated per node as `duration / (median(ttf) + median(ttr))`: a bound against
/// typos, not a prediction (heavy tails make fewer).
pub fn expected_outages(specs: &[FailureSpec], nodes: &[ClusterNode], duration_ms: u64) -> f64 {
    specs
        .iter()
        .map(|spec| {
            let cycle_ms =
                (spec.time_to_failure.median_ms() + spec.time_to_repair.median_ms()).max(1.0);
            spec.nodes.select(nodes).len() as f64 * duration_ms as f64 / cycle_ms
        })
        .sum()
}

// ------------------------------------------------------------------------- decoding

/// Decodes `spec.failures`. `nodes` and `duration_ms` are `None` when they failed to
/// decode (then node names and the outage bound are not checked); `events` are the
/// explicit events, for the warning about combining both on one node.
pub fn decode(
    value: &Value<'_>,
    nodes: Option<&[ClusterNode]>,
    duration_ms: Option<u64>,
    events: Option<&[ScheduledEvent]>,
    report: &mut Report,
) -> Option<Vec<FailureSpec>> {
    let items = value.seq(report)?;
    if items.len() > MAX_FAILURE_PROCESSES {
        report.error(
            value.pos(),
            &value.path,
            format!(
                "{} failure processes, more than poolsim's limit of {MAX_FAILURE_PROCESSES} (MAX_FAILURE_PROCESSES, docs/LIMITS.md)",
                items.len()
            ),
        );
        return None;
    }
    let mut specs = Vec::new();
    let mut all_ok = true;
    for (index, item) in items.iter().enumerate() {
        match decode_process(item, index, nodes, report) {
            Some(spec) => specs.push(spec),
            None => all_ok = false,
        }
    }
    all_ok &= check_unique_names(&specs, report);
    if let (Some(nodes), Some(duration_ms)) = (nodes, duration_ms) {
        all_ok &= check_outage_bound(value, &specs, nodes, duration_ms, report);
        if let Some(events) = events {
            warn_explicit_node_events(&specs, nodes, events, report);
        }
    }
    all_ok.then_some(specs)
}

fn decode_process(
    item: &Value<'_>,
    index: usize,
    nodes: Option<&[ClusterNode]>,
    report: &mut Report,
) -> Option<FailureSpec> {
    let mut map = item.map(report)?;
    let name = map
        .optional("name")
        .map_or(Some(index.to_string()), |value| value.non_empty_str(report));
    let kind_value = map.required("kind", report);
    let kind = kind_value
        .as_ref()
        .and_then(|value| value.one_of(report, FAILURE_KINDS))
        .map(|kind| match kind.as_str() {
            "crash" => FailureKind::Crash,
            _ => FailureKind::Partition,
        });
    let selection = map
        .optional("nodes")
        .map_or(Some(NodeSelection::All), |value| {
            decode_nodes(&value, nodes, report)
        });
    let time_to_failure = map
        .required("timeToFailure", report)
        .and_then(|value| decode_distribution(&value, report));
    let time_to_repair = map
        .required("timeToRepair", report)
        .and_then(|value| decode_distribution(&value, report));
    let fence_value = map.optional("fenceAfter");
    let fence_after_ms = match &fence_value {
        None => Some(None),
        Some(value) => value.duration_ms(report).map(Some),
    };
    map.finish_strict(report);
    if let (Some(FailureKind::Partition), Some(fence)) = (kind, &fence_value) {
        report.error(
            fence.pos(),
            &fence.path,
            "fenceAfter applies to kind: crash only: the out-of-service taint is for nodes that are shut down (kubernetes.io \"Non-graceful node shutdown\", KEP-2268), and fencing a partitioned node that still runs is the split brain of docs/FIDELITY.md §15; write explicit partitionNode and fenceNode events to study that",
        );
        return None;
    }
    Some(FailureSpec {
        name: name?,
        kind: kind?,
        nodes: selection?,
        time_to_failure: time_to_failure?,
        time_to_repair: time_to_repair?,
        fence_after_ms: fence_after_ms?,
        field: item.path.clone(),
        pos: item.pos(),
    })
}

/// `all`, a list of node names, or `{matchLabels: {...}}` that matches some node.
fn decode_nodes(
    value: &Value<'_>,
    nodes: Option<&[ClusterNode]>,
    report: &mut Report,
) -> Option<NodeSelection> {
    let selection = match &value.node.kind {
        NodeKind::Scalar { .. } => {
            value.one_of(report, &["all"])?;
            NodeSelection::All
        }
        NodeKind::Seq(_) => NodeSelection::Names(decode_node_names(value, nodes, report)?),
        NodeKind::Map(_) => {
            let mut map = value.map(report)?;
            let labels = map
                .required("matchLabels", report)
                .and_then(|labels| labels.label_map(report));
            map.finish_strict(report);
            NodeSelection::MatchLabels(labels?)
        }
        NodeKind::Null => {
            value.expected(
                report,
                "all, a list of node names, or {matchLabels: {KEY: VALUE}}",
            );
            return None;
        }
    };
    if let Some(nodes) = nodes {
        if selection.select(nodes).is_empty() {
            report.error(
                value.pos(),
                &value.path,
                "this selects no node of spec.cluster; give all, node names from spec.cluster, or matchLabels that some node's labels hold (spec.cluster.nodes[].labels)",
            );
            return None;
        }
    }
    Some(selection)
}

fn decode_node_names(
    value: &Value<'_>,
    nodes: Option<&[ClusterNode]>,
    report: &mut Report,
) -> Option<BTreeSet<String>> {
    let known: Option<Vec<&str>> =
        nodes.map(|nodes| nodes.iter().map(|node| node.name.as_str()).collect());
    let mut names = BTreeSet::new();
    let all_ok = value
        .seq_of(report, |item, report| {
            let name = item.non_empty_str(report)?;
            if let Some(known) = &known {
                if !known.contains(&name.as_str()) {
                    let hint = if known.len() <= 20 {
                        unknown_name_hint(&name, known)
                    } else {
                        did_you_mean(&name, known).map_or_else(
                            || {
                                format!(
                                    "the cluster has {} nodes, named in spec.cluster",
                                    known.len()
                                )
                            },
                            |suggestion| format!("did you mean {suggestion:?}?"),
                        )
                    };
                    report.error(
                        item.pos(),
                        &item.path,
                        format!("no node named {name:?} in spec.cluster; {hint}"),
                    );
                    return None;
                }
            }
            if !names.insert(name.clone()) {
                report.error(
                    item.pos(),
                    &item.path,
                    format!("node {name:?} is listed twice; list each node once"),
                );
                return None;
            }
            Some(())
        })
        .is_some();
    all_ok.then_some(names)
}

/// `{exponential: {mean}}`, `{weibull: {shape, scale}}` or `{fixed: DURATION}`.
fn decode_distribution(value: &Value<'_>, report: &mut Report) -> Option<Distribution> {
    const EXPECTED: &str =
        "one of {exponential: {mean: 30d}}, {weibull: {shape: 1.5, scale: 30d}} or {fixed: 12h}";
    let NodeKind::Map(entries) = &value.node.kind else {
        value.expected(report, EXPECTED);
        return None;
    };
    if entries.len() != 1 {
        report.error(
            value.pos(),
            &value.path,
            format!(
                "give exactly one distribution, got {} keys; expected {EXPECTED}",
                entries.len()
            ),
        );
        return None;
    }
    let mut map = value.map(report)?;
    let exponential = map.optional("exponential");
    let weibull = map.optional("weibull");
    let fixed = map.optional("fixed");
    map.finish_strict(report);
    if let Some(exponential) = exponential {
        let mut parameters = exponential.map(report)?;
        let mean = parameters
            .required("mean", report)
            .and_then(|mean| positive_duration_ms(&mean, report));
        parameters.finish_strict(report);
        return Some(Distribution::Exponential {
            mean_ms: mean? as f64,
        });
    }
    if let Some(weibull) = weibull {
        let mut parameters = weibull.map(report)?;
        let shape = parameters
            .required("shape", report)
            .and_then(|shape| positive_number(&shape, report));
        let scale = parameters
            .required("scale", report)
            .and_then(|scale| positive_duration_ms(&scale, report));
        parameters.finish_strict(report);
        return Some(Distribution::Weibull {
            shape: shape?,
            scale_ms: scale? as f64,
        });
    }
    let fixed = fixed?;
    Some(Distribution::Fixed {
        ms: positive_duration_ms(&fixed, report)?,
    })
}

fn positive_duration_ms(value: &Value<'_>, report: &mut Report) -> Option<u64> {
    let duration_ms = value.duration_ms(report)?;
    if duration_ms == 0 {
        report.error(
            value.pos(),
            &value.path,
            "expected a duration greater than 0s, such as 30d, 12h or 5m",
        );
        return None;
    }
    Some(duration_ms)
}

fn positive_number(value: &Value<'_>, report: &mut Report) -> Option<f64> {
    let number = value.f64(report)?;
    if number <= 0.0 {
        report.error(
            value.pos(),
            &value.path,
            format!("expected a number greater than 0 (such as 0.7 or 1.5), got {number}"),
        );
        return None;
    }
    Some(number)
}

/// Names pick the random streams: two processes with one name would draw the same
/// times, so names are unique.
fn check_unique_names(specs: &[FailureSpec], report: &mut Report) -> bool {
    let mut first_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut ok = true;
    for spec in specs {
        if let Some(first) = first_of.insert(&spec.name, &spec.field) {
            report.error(
                spec.pos,
                &format!("{}.name", spec.field),
                format!(
                    "failure process name {:?} is already used by {first}; names pick the random streams, so each process needs its own",
                    spec.name
                ),
            );
            ok = false;
        }
    }
    ok
}

fn check_outage_bound(
    value: &Value<'_>,
    specs: &[FailureSpec],
    nodes: &[ClusterNode],
    duration_ms: u64,
    report: &mut Report,
) -> bool {
    let expected = expected_outages(specs, nodes, duration_ms);
    if expected <= MAX_FAILURE_OUTAGES as f64 {
        return true;
    }
    report.error(
        value.pos(),
        &value.path,
        format!(
            "these failure processes would make about {expected:.0} outages in {} (nodes x duration / (median time to failure + median time to repair)), more than poolsim's limit of {MAX_FAILURE_OUTAGES} (MAX_FAILURE_OUTAGES, docs/LIMITS.md); use longer times to failure (such as mean: 30d)",
            format_duration_ms(duration_ms)
        ),
    );
    false
}

/// Generated outages do not look at `spec.events`: an explicit event on a node a
/// process also fails acts as written, and may cut a generated outage short or meet a
/// node that is already down. Warned, at the explicit event.
fn warn_explicit_node_events(
    specs: &[FailureSpec],
    nodes: &[ClusterNode],
    events: &[ScheduledEvent],
    report: &mut Report,
) {
    // Each node's first process, once: a lookup per event (up to 10,000 events on
    // 10,000 nodes would otherwise select nodes 10^8 times).
    let mut process_of: BTreeMap<&str, &FailureSpec> = BTreeMap::new();
    for spec in specs {
        for node in spec.nodes.select(nodes) {
            process_of.entry(node).or_insert(spec);
        }
    }
    for event in events {
        let (Action::PartitionNode(NodeRef::Name(node))
        | Action::HealNode(NodeRef::Name(node))
        | Action::CrashNode(NodeRef::Name(node))
        | Action::RecoverNode(NodeRef::Name(node))
        | Action::FenceNode(NodeRef::Name(node))) = &event.action
        else {
            continue;
        };
        let Some(spec) = process_of.get(node.as_str()) else {
            continue;
        };
        report.warning(
            event.pos,
            &format!("{}.{}", event.field, event.action.name()),
            format!(
                "node {node:?} also fails at random ({}, {}); explicit node events and generated outages are not coordinated, so this event may end a generated outage early or meet a node that is already down",
                spec.field,
                spec.kind.as_str()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_at_least_one_millisecond_and_fixed_is_exact() {
        let mut rng = RngStreams::new(7).stream("t");
        let fixed = Distribution::Fixed { ms: 43_200_000 };
        assert_eq!(fixed.sample_ms(&mut rng), 43_200_000);
        let tiny = Distribution::Exponential { mean_ms: 1e-9 };
        assert!((0..100).all(|_| tiny.sample_ms(&mut rng) == 1));
    }

    #[test]
    fn weibull_shape_one_is_exponential() {
        let exponential = Distribution::Exponential { mean_ms: 1000.0 };
        let weibull = Distribution::Weibull {
            shape: 1.0,
            scale_ms: 1000.0,
        };
        let mut a = RngStreams::new(3).stream("same");
        let mut b = RngStreams::new(3).stream("same");
        for _ in 0..100 {
            assert_eq!(exponential.sample_ms(&mut a), weibull.sample_ms(&mut b));
        }
        assert_eq!(weibull.mean_ms(), Some(1000.0));
        assert!((exponential.median_ms() - 693.147).abs() < 0.01);
    }
}
