//! The scheduler's node index: what `scheduler::sync` filters and scores, kept per
//! node in arrays and updated one change at a time, so that placing a pod costs the
//! nodes that changed since the last placement of a pod like it, not every node.
//!
//! kube-scheduler keeps the same kind of state between scheduling cycles: its cache
//! holds one `NodeInfo` per node with the requested resources of its pods, updated by
//! `AssumePod`/`AddPod`/`RemovePod` and node events, and copies only the nodes that
//! changed into the cycle's snapshot (kubernetes `pkg/scheduler/backend/cache/cache.go`
//! in current trees, `pkg/scheduler/internal/cache/cache.go` before: `UpdateSnapshot`
//! walks the nodes by generation and stops at the first one not changed). poolsim goes
//! one step further and keeps the filter and score results too: the pods of one pool
//! share a template, so their results are the same until a node, a Service or the pods
//! on a node change.
//!
//! Nodes get dense ids in name order (the order `scheduler::sync` has always walked
//! them in). Per *shape* (what a placement depends on besides the nodes: namespace,
//! requests, tolerations, node selector, the Services whose pods spread together) each
//! node is either out, for the first filter it fails, or in a bucket keyed by its
//! `NodeResourcesFit` LeastAllocated score and its topology-spread count. The best
//! score is found over the few buckets, and the node among the tied ones by rank in a
//! two-level bit set: the same node, with the same random draw, as a walk of every node.
//!
//! Node or Service changes (rare: readiness, taints, labels) rebuild the index; pod
//! changes move one pod's requests and spread count from one node to another and mark
//! that node for each shape to evaluate again before its next placement.

use super::scheduler::{untolerated_taint, AssumedPods};
use crate::api::*;
use crate::cluster::informer::Informer;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most shapes kept at once; the one used longest ago is dropped beyond it (and
/// built again if needed), so that many different pods cannot make every pod change
/// cost every shape.
const MAX_SHAPES: usize = 32;

/// What the placement of a pod depends on besides the nodes and the pods on them.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeKey {
    pub namespace: String,
    pub cpu_milli: i64,
    pub memory_bytes: i64,
    pub tolerations: Vec<Toleration>,
    pub node_selector: Labels,
    /// The Services in the namespace that select the pod, in key order: its topology
    /// spread counts the pods any of them selects.
    pub services: Vec<ObjectKey>,
}

impl ShapeKey {
    /// The shape of `pod`, spread with the pods `services` (those that select it) select.
    pub fn of(pod: &Pod, services: &[&Service]) -> ShapeKey {
        ShapeKey {
            namespace: pod.meta.namespace.clone(),
            cpu_milli: pod.requests.cpu_milli,
            memory_bytes: pod.requests.memory_bytes,
            tolerations: pod.tolerations.clone(),
            node_selector: pod.node_selector.clone(),
            services: services.iter().map(|s| s.meta.key()).collect(),
        }
    }
}

/// The index over the kube-controller-manager informer's nodes and pods, plus the
/// scheduler's assumed pods.
#[derive(Debug, Default)]
pub struct SchedulerIndex {
    /// The informer's Node and Service kind versions the index was built at.
    built_at: Option<(u64, u64)>,
    nodes: Vec<Arc<Node>>,
    ids: BTreeMap<String, u32>,
    /// Requests (and one pod each) of the pods counted on each node: bound in the
    /// informer or assumed, not terminated.
    usage: Vec<Resources>,
    /// The pods counted on a node, by key.
    placed: BTreeMap<ObjectKey, Placed>,
    shapes: Vec<Shape>,
    /// Placements made, to tell which shape was used longest ago.
    clock: u64,
    /// Where the next search for feasible nodes starts (kube-scheduler's
    /// `nextStartNodeIndex`): it moves on by the nodes each search examined.
    next_start: usize,
}

#[derive(Debug)]
struct Placed {
    node: u32,
    requests: Resources,
    pod: Arc<Pod>,
}

/// The outcome of one placement.
pub enum Decision {
    /// No node fits: the `FailedScheduling` message.
    Unschedulable(String),
    /// The node chosen.
    Node(String),
}

impl SchedulerIndex {
    fn current(&self, informer: &Informer) -> bool {
        self.built_at == Some(versions(informer))
    }

    /// The evaluations (one node filtered and scored for one shape) that placing a pod
    /// of `shape` will make now: every node for a shape not kept (or after a node or
    /// Service change), the nodes changed since otherwise.
    pub fn evaluations_needed(&self, informer: &Informer, shape: &ShapeKey) -> u64 {
        let all = informer.objects.nodes.len() as u64;
        if !self.current(informer) {
            return all;
        }
        match self.shapes.iter().find(|s| s.key == *shape) {
            Some(kept) => kept.dirty.len() as u64,
            None => all,
        }
    }

    /// Places a pod of `shape` (`selectors`: its Services' selectors): the node among
    /// the best-scored that `pick` (given how many tie) chooses, in the order the
    /// search found them, and the node index the search started at.
    pub fn place(
        &mut self,
        informer: &Informer,
        assumed: &AssumedPods,
        shape: ShapeKey,
        selectors: Vec<LabelSelector>,
        percentage: u32,
        pick: impl FnOnce(usize) -> usize,
    ) -> (Decision, usize) {
        if !self.current(informer) {
            self.rebuild(informer, assumed);
        }
        self.clock += 1;
        let at = self.shape_at(shape, selectors);
        let shape = &mut self.shapes[at];
        shape.last_used = self.clock;
        shape.refresh(&self.nodes, &self.usage);
        let start = self.next_start % self.nodes.len().max(1);
        let to_find = num_feasible_nodes_to_find(percentage, self.nodes.len());
        let (top, examined) = shape.search(start, to_find);
        // "always try to update the sched.nextStartNodeIndex regardless of whether an
        // error has occurred" (`findNodesThatFitPod`).
        if !self.nodes.is_empty() {
            self.next_start = (start + examined) % self.nodes.len();
        }
        let decision = match top {
            Top::None => Decision::Unschedulable(shape.failure_message(self.nodes.len())),
            top => {
                let id = top.nth(pick(top.len()));
                Decision::Node(self.nodes[id as usize].meta.name.clone())
            }
        };
        (decision, start)
    }

    /// For the invariant checker: the best-scored nodes of `shape` in the order a
    /// search from `start` finds them, or the failure message, as `place` saw them.
    pub fn outcome(
        &mut self,
        shape: &ShapeKey,
        start: usize,
        percentage: u32,
    ) -> Result<Vec<String>, String> {
        let Some(kept) = self.shapes.iter_mut().find(|s| s.key == *shape) else {
            return Err("no such shape".into());
        };
        kept.refresh(&self.nodes, &self.usage);
        let to_find = num_feasible_nodes_to_find(percentage, self.nodes.len());
        match kept.search(start, to_find).0 {
            Top::None => Err(kept.failure_message(self.nodes.len())),
            top => Ok((0..top.len())
                .map(|k| self.nodes[top.nth(k) as usize].meta.name.clone())
                .collect()),
        }
    }

    /// The index of the kept shape `key`, built if it is not kept.
    fn shape_at(&mut self, key: ShapeKey, selectors: Vec<LabelSelector>) -> usize {
        if let Some(at) = self.shapes.iter().position(|s| s.key == key) {
            return at;
        }
        if self.shapes.len() >= MAX_SHAPES {
            let oldest = (0..self.shapes.len())
                .min_by_key(|&i| self.shapes[i].last_used)
                .expect("shapes are kept");
            self.shapes.swap_remove(oldest);
        }
        let mut shape = Shape::new(key, selectors, &self.nodes);
        for placed in self.placed.values() {
            if shape.selects(&placed.pod) {
                shape.counts[placed.node as usize] += 1;
            }
        }
        self.shapes.push(shape);
        self.shapes.len() - 1
    }

    /// Builds the node table and the pods counted on each node afresh; shapes are built
    /// again when next used.
    fn rebuild(&mut self, informer: &Informer, assumed: &AssumedPods) {
        let objects = &informer.objects;
        self.nodes = objects.nodes.values().cloned().collect();
        self.ids = self
            .nodes
            .iter()
            .enumerate()
            .map(|(id, node)| (node.meta.name.clone(), id as u32))
            .collect();
        self.usage = vec![Resources::default(); self.nodes.len()];
        self.placed.clear();
        self.shapes.clear();
        self.built_at = Some(versions(informer));
        for (key, pod) in &objects.pods {
            if let Some(placed) = self.placement(pod, assumed.node_of(key)) {
                add(&mut self.usage[placed.node as usize], &placed.requests, 1);
                self.placed.insert(key.clone(), placed);
            }
        }
    }

    /// Where `pod` counts: on the node the informer shows it bound to, or else the one
    /// it is assumed on, while it is not terminated.
    fn placement(&self, pod: &Arc<Pod>, assumed_on: Option<&str>) -> Option<Placed> {
        if pod.is_terminated() {
            return None;
        }
        let node = pod.node_name.as_deref().or(assumed_on)?;
        Some(Placed {
            node: *self.ids.get(node)?,
            requests: Resources {
                pods: 1,
                ..pod.requests
            },
            pod: pod.clone(),
        })
    }

    /// The pod `key` changed in the informer or in the scheduler's assumed pods: move
    /// what it counts, and mark the nodes it left and joined for every shape.
    pub fn pod_changed(&mut self, informer: &Informer, assumed: &AssumedPods, key: &ObjectKey) {
        if !self.current(informer) {
            return;
        }
        let new = informer
            .objects
            .pods
            .get(key)
            .and_then(|pod| self.placement(pod, assumed.node_of(key)));
        let old = self.placed.get(key);
        let same = match (old, &new) {
            (None, None) => true,
            (Some(old), Some(new)) => {
                old.node == new.node
                    && old.requests == new.requests
                    && old.pod.meta.labels == new.pod.meta.labels
            }
            _ => false,
        };
        if same {
            if let Some(new) = new {
                self.placed.insert(key.clone(), new);
            }
            return;
        }
        if let Some(old) = self.placed.remove(key) {
            self.count(&old, -1);
        }
        if let Some(new) = new {
            self.count(&new, 1);
            self.placed.insert(key.clone(), new);
        }
    }

    fn count(&mut self, placed: &Placed, sign: i64) {
        let node = placed.node as usize;
        add(&mut self.usage[node], &placed.requests, sign);
        for shape in &mut self.shapes {
            if shape.selects(&placed.pod) {
                let count = &mut shape.counts[node];
                *count = count.wrapping_add_signed(sign as i32);
            }
            shape.mark(placed.node);
        }
    }
}

/// How many feasible nodes a search looks for before it stops: every node below 100,
/// else `percentage` of them (0: 50 % minus 1 % per 125 nodes, at least 5 %), at
/// least 100 (kubernetes `pkg/scheduler/schedule_one.go`, `numFeasibleNodesToFind`).
pub fn num_feasible_nodes_to_find(percentage: u32, all_nodes: usize) -> usize {
    const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
    const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;
    if all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return all_nodes;
    }
    let percentage = match percentage as usize {
        0 => 50usize
            .saturating_sub(all_nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND),
        set => set,
    };
    (all_nodes * percentage / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

fn versions(informer: &Informer) -> (u64, u64) {
    (
        informer.kind_versions.get(Kind::Node),
        informer.kind_versions.get(Kind::Service),
    )
}

fn add(sum: &mut Resources, requests: &Resources, sign: i64) {
    sum.cpu_milli += sign * requests.cpu_milli;
    sum.memory_bytes += sign * requests.memory_bytes;
    sum.pods += sign * requests.pods;
}

/// Where a node stands for one shape.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NodeState {
    /// Not evaluated yet.
    Unset,
    /// Filtered out, for the reason with this id.
    Out(u16),
    /// Feasible, with its LeastAllocated score and its spread count.
    In(u8, u32),
}

/// Reason ids known before any node is seen (taint reasons are added as found).
const DELETING: u16 = 0;
const UNSCHEDULABLE: u16 = 1;
const SELECTOR: u16 = 2;
const CPU: u16 = 3;
const MEMORY: u16 = 4;
const PODS: u16 = 5;
const FIXED_REASONS: [&str; 6] = [
    "node(s) were being deleted",
    "node(s) were unschedulable",
    "node(s) didn't match Pod's node affinity/selector",
    "Insufficient cpu",
    "Insufficient memory",
    "Too many pods",
];

#[derive(Debug)]
struct Shape {
    key: ShapeKey,
    selectors: Vec<LabelSelector>,
    /// Pods the shape's Services select on each node (topology spread by hostname).
    counts: Vec<u32>,
    /// The first filter each node fails that does not depend on its pods.
    static_reason: Vec<Option<u16>>,
    state: Vec<NodeState>,
    reasons: Vec<Cow<'static, str>>,
    reason_ids: BTreeMap<Cow<'static, str>, u16>,
    /// How many nodes are out for each reason.
    out: Vec<usize>,
    /// The feasible nodes by (LeastAllocated, spread count); no empty sets.
    buckets: BTreeMap<(u8, u32), NodeSet>,
    /// Every feasible node: the buckets' union.
    feasible: NodeSet,
    /// Nodes whose pods changed since they were last evaluated.
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    last_used: u64,
}

impl Shape {
    fn new(key: ShapeKey, selectors: Vec<LabelSelector>, nodes: &[Arc<Node>]) -> Shape {
        let reasons: Vec<Cow<'static, str>> = FIXED_REASONS.iter().map(|r| (*r).into()).collect();
        let mut shape = Shape {
            selectors,
            counts: vec![0; nodes.len()],
            static_reason: Vec::with_capacity(nodes.len()),
            state: vec![NodeState::Unset; nodes.len()],
            reason_ids: reasons.iter().cloned().zip(0..).collect(),
            out: vec![0; reasons.len()],
            reasons,
            buckets: BTreeMap::new(),
            feasible: NodeSet::new(nodes.len()),
            dirty: (0..nodes.len() as u32).collect(),
            is_dirty: vec![true; nodes.len()],
            last_used: 0,
            key,
        };
        for node in nodes {
            let reason = shape.static_filter(node);
            shape.static_reason.push(reason);
        }
        shape
    }

    /// Pods selected by any of the shape's Services count for its spread, in its
    /// namespace; with no Service, none does.
    fn selects(&self, pod: &Pod) -> bool {
        pod.meta.namespace == self.key.namespace
            && self.selectors.iter().any(|s| s.matches(&pod.meta.labels))
    }

    fn mark(&mut self, node: u32) {
        if !self.is_dirty[node as usize] {
            self.is_dirty[node as usize] = true;
            self.dirty.push(node);
        }
    }

    /// The filters that look at the node alone, in `scheduler::sync`'s order: being
    /// deleted, unschedulable, an untolerated taint, the node selector.
    fn static_filter(&mut self, node: &Node) -> Option<u16> {
        if node.meta.is_deleting() {
            Some(DELETING)
        } else if node.unschedulable {
            Some(UNSCHEDULABLE)
        } else if let Some(taint) = untolerated_taint(node, &self.key.tolerations) {
            Some(self.reason_id(format!("node(s) had untolerated taint {{{taint}: }}").into()))
        } else if !self
            .key
            .node_selector
            .iter()
            .all(|(k, v)| node.meta.labels.get(k) == Some(v))
        {
            Some(SELECTOR)
        } else {
            None
        }
    }

    fn reason_id(&mut self, reason: Cow<'static, str>) -> u16 {
        if let Some(id) = self.reason_ids.get(&reason) {
            return *id;
        }
        let id = self.reasons.len() as u16;
        self.reasons.push(reason.clone());
        self.reason_ids.insert(reason, id);
        self.out.push(0);
        id
    }

    /// Evaluates the nodes marked since the last placement.
    fn refresh(&mut self, nodes: &[Arc<Node>], usage: &[Resources]) {
        for node in std::mem::take(&mut self.dirty) {
            let i = node as usize;
            self.is_dirty[i] = false;
            let new = match self.static_reason[i] {
                Some(reason) => NodeState::Out(reason),
                None => self.fit(&nodes[i].allocatable, &usage[i], self.counts[i]),
            };
            let old = std::mem::replace(&mut self.state[i], new);
            if old != new {
                self.leave(old, node);
                self.join(new, node, nodes.len());
            }
        }
    }

    /// `NodeResourcesFit`: the requests fit what is left of allocatable; if so, the
    /// LeastAllocated score (cpu and memory weighted equally, 0-100).
    fn fit(&self, allocatable: &Resources, used: &Resources, count: u32) -> NodeState {
        let (cpu, memory) = (self.key.cpu_milli, self.key.memory_bytes);
        if used.cpu_milli + cpu > allocatable.cpu_milli {
            return NodeState::Out(CPU);
        }
        if used.memory_bytes + memory > allocatable.memory_bytes {
            return NodeState::Out(MEMORY);
        }
        if used.pods + 1 > allocatable.pods {
            return NodeState::Out(PODS);
        }
        let free = |used: i64, request: i64, capacity: i64| {
            if capacity <= 0 {
                0
            } else {
                ((capacity - used - request).max(0) * 100) / capacity
            }
        };
        let least_allocated = (free(used.cpu_milli, cpu, allocatable.cpu_milli)
            + free(used.memory_bytes, memory, allocatable.memory_bytes))
            / 2;
        NodeState::In(least_allocated as u8, count)
    }

    fn leave(&mut self, state: NodeState, node: u32) {
        match state {
            NodeState::Unset => {}
            NodeState::Out(reason) => self.out[reason as usize] -= 1,
            NodeState::In(la, count) => {
                let set = self
                    .buckets
                    .get_mut(&(la, count))
                    .expect("a feasible node is in its bucket");
                set.remove(node);
                if set.len == 0 {
                    self.buckets.remove(&(la, count));
                }
                self.feasible.remove(node);
            }
        }
    }

    fn join(&mut self, state: NodeState, node: u32, nodes: usize) {
        match state {
            NodeState::Unset => {}
            NodeState::Out(reason) => self.out[reason as usize] += 1,
            NodeState::In(la, count) => {
                self.buckets
                    .entry((la, count))
                    .or_insert_with(|| NodeSet::new(nodes))
                    .insert(node);
                self.feasible.insert(node);
            }
        }
    }

    /// `findNodesThatPassFilters` and `prioritizeNodes`, one node at a time: from node
    /// `start` on (wrapping), the first `to_find` feasible nodes, scored; the
    /// best-scored of them in the order found, and how many nodes were examined (all
    /// of them unless `to_find` feasible ones were found first). A node scores its
    /// LeastAllocated plus its spread score, `(max - count) * 100 / max` over the
    /// candidates' counts (100 while none has a selected pod).
    fn search(&self, start: usize, to_find: usize) -> (Top<'_>, usize) {
        let nodes = self.state.len();
        if start == 0 && (to_find > self.feasible.len || to_find >= nodes) {
            // Every feasible node is a candidate, in id order: the buckets answer
            // without a walk.
            return (self.best_of_all(), nodes);
        }
        let mut found = Vec::with_capacity(to_find.min(self.feasible.len));
        let examined = self.feasible.walk_from(start, to_find, &mut found);
        let state = |id: u32| match self.state[id as usize] {
            NodeState::In(la, count) => (la, count),
            _ => unreachable!("a feasible node is in"),
        };
        let Some(max_count) = found.iter().map(|id| state(*id).1).max() else {
            return (Top::None, examined);
        };
        let scores: Vec<i64> = found
            .iter()
            .map(|id| score(state(*id), max_count))
            .collect();
        let best = scores.iter().copied().max().unwrap_or(0);
        let top = found
            .iter()
            .zip(&scores)
            .filter(|(_, s)| **s == best)
            .map(|(id, _)| *id)
            .collect();
        (Top::Listed(top), examined)
    }

    /// The best-scored of every feasible node, by bucket.
    fn best_of_all(&self) -> Top<'_> {
        let Some(max_count) = self.buckets.keys().map(|(_, c)| *c).max() else {
            return Top::None;
        };
        let best = self.buckets.keys().map(|k| score(*k, max_count)).max();
        let sets: Vec<&NodeSet> = self
            .buckets
            .iter()
            .filter(|(k, _)| Some(score(**k, max_count)) == best)
            .map(|(_, set)| set)
            .collect();
        let count = sets.iter().map(|s| s.len).sum();
        Top::Buckets(sets, count)
    }

    /// `0/N nodes are available: ...`, each reason with how many nodes it holds out, in
    /// text order.
    fn failure_message(&self, total: usize) -> String {
        let mut summary: Vec<String> = self
            .out
            .iter()
            .zip(&self.reasons)
            .filter(|(count, _)| **count > 0)
            .map(|(count, reason)| format!("{count} {reason}"))
            .collect();
        summary.sort();
        format!("0/{total} nodes are available: {}.", summary.join(", "))
    }
}

/// A node's score: LeastAllocated plus topology spread, `(max - count) * 100 / max`
/// (100 while no candidate has a selected pod).
fn score((least_allocated, count): (u8, u32), max_count: u32) -> i64 {
    let spread = if max_count == 0 {
        100
    } else {
        (max_count as i64 - count as i64) * 100 / max_count as i64
    };
    least_allocated as i64 + spread
}

/// The best-scored candidates of a search, in the order the search found them.
enum Top<'a> {
    /// No node is feasible.
    None,
    /// Every feasible node was a candidate: the buckets of the best, in id order.
    Buckets(Vec<&'a NodeSet>, usize),
    /// Some nodes were candidates: the best of them.
    Listed(Vec<u32>),
}

impl Top<'_> {
    fn len(&self) -> usize {
        match self {
            Top::None => 0,
            Top::Buckets(_, count) => *count,
            Top::Listed(ids) => ids.len(),
        }
    }

    fn nth(&self, k: usize) -> u32 {
        match self {
            Top::None => unreachable!("no node to pick"),
            Top::Buckets(sets, _) => NodeSet::select(sets, k),
            Top::Listed(ids) => ids[k],
        }
    }
}

/// Words of a block: a block's count lets a rank skip 4,096 nodes at once.
const BLOCK_WORDS: usize = 64;

/// A set of node ids: a bit per node, with a count per block of 4,096 nodes, so that
/// the k-th member is found in (nodes / 4,096 + 64) steps, not k.
#[derive(Debug, Clone)]
struct NodeSet {
    words: Vec<u64>,
    blocks: Vec<u32>,
    len: usize,
    /// Ids run from 0 to `nodes - 1`.
    nodes: usize,
}

impl NodeSet {
    fn new(nodes: usize) -> NodeSet {
        let words = nodes.div_ceil(64);
        NodeSet {
            words: vec![0; words],
            blocks: vec![0; words.div_ceil(BLOCK_WORDS)],
            len: 0,
            nodes,
        }
    }

    fn insert(&mut self, node: u32) {
        let (word, bit) = (node as usize / 64, node % 64);
        debug_assert_eq!(self.words[word] >> bit & 1, 0, "inserted twice");
        self.words[word] |= 1 << bit;
        self.blocks[word / BLOCK_WORDS] += 1;
        self.len += 1;
    }

    fn remove(&mut self, node: u32) {
        let (word, bit) = (node as usize / 64, node % 64);
        debug_assert_eq!(self.words[word] >> bit & 1, 1, "removed a non-member");
        self.words[word] &= !(1 << bit);
        self.blocks[word / BLOCK_WORDS] -= 1;
        self.len -= 1;
    }

    /// Pushes the members from `start` on (wrapping around after the last id) until
    /// `to_find` are found; returns how many ids were passed over, members or not
    /// (every id, `nodes`, if fewer than `to_find` are members).
    fn walk_from(&self, start: usize, to_find: usize, found: &mut Vec<u32>) -> usize {
        let nodes = self.nodes;
        let ranges = [(start, nodes), (0, start)];
        for (from, to) in ranges {
            let mut position = from;
            while position < to {
                let (w, bit) = (position / 64, position % 64);
                let mut word = self.words[w] >> bit;
                while word != 0 {
                    let id = position + word.trailing_zeros() as usize;
                    if id >= to {
                        break;
                    }
                    found.push(id as u32);
                    if found.len() == to_find {
                        let examined = (id + nodes - start) % nodes + 1;
                        return examined;
                    }
                    word &= word - 1;
                }
                position = (w + 1) * 64;
            }
        }
        nodes
    }

    /// The `k`-th smallest id in the union of disjoint `sets` (all of the same size).
    fn select(sets: &[&NodeSet], mut k: usize) -> u32 {
        let blocks = sets[0].blocks.len();
        for block in 0..blocks {
            let in_block: usize = sets.iter().map(|s| s.blocks[block] as usize).sum();
            if k >= in_block {
                k -= in_block;
                continue;
            }
            let words = block * BLOCK_WORDS..((block + 1) * BLOCK_WORDS).min(sets[0].words.len());
            for w in words {
                let mut word = sets.iter().fold(0, |acc, s| acc | s.words[w]);
                let ones = word.count_ones() as usize;
                if k >= ones {
                    k -= ones;
                    continue;
                }
                for _ in 0..k {
                    word &= word - 1;
                }
                return (w * 64) as u32 + word.trailing_zeros();
            }
        }
        unreachable!("a rank within the sets' sizes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_to_find_follow_upstreams_adaptive_percentage() {
        // (percentage setting, nodes, nodes to find): upstream's
        // `TestNumFeasibleNodesToFind` cases and the benchmark sizes.
        let cases = [
            (0, 10, 10),
            (0, 99, 99),
            (0, 100, 100),
            (0, 1_000, 420),
            (0, 3_000, 780),
            (0, 5_000, 500),
            (0, 6_000, 300),
            (0, 10_000, 500),
            (0, 100_000, 5_000),
            (40, 1_000, 400),
            (10, 1_000, 100),
            (100, 1_000, 1_000),
            (10, 50, 50),
        ];
        for (percentage, nodes, expected) in cases {
            assert_eq!(
                num_feasible_nodes_to_find(percentage, nodes),
                expected,
                "{percentage}% of {nodes}"
            );
        }
    }

    #[test]
    fn a_walk_wraps_around_and_counts_the_nodes_it_passed() {
        let mut set = NodeSet::new(300);
        for id in [5, 70, 130, 250, 299] {
            set.insert(id);
        }
        let mut found = Vec::new();
        // From 200: 250, 299, then 5 after wrapping; 200..=299 and 0..=5 passed.
        assert_eq!(set.walk_from(200, 3, &mut found), 106);
        assert_eq!(found, [250, 299, 5]);
        found.clear();
        // Fewer members than asked for: every node is passed.
        assert_eq!(set.walk_from(71, 10, &mut found), 300);
        assert_eq!(found, [130, 250, 299, 5, 70]);
    }

    #[test]
    fn select_ranks_the_union_of_sets_in_id_order() {
        let nodes = 10_000;
        let mut even = NodeSet::new(nodes);
        let mut some_odd = NodeSet::new(nodes);
        for id in (0..nodes as u32).step_by(2) {
            even.insert(id);
        }
        for id in [1, 4_097, 9_999] {
            some_odd.insert(id);
        }
        even.remove(4_096);
        let mut members: Vec<u32> = (0..nodes as u32)
            .filter(|id| (id % 2 == 0 && *id != 4_096) || [1, 4_097, 9_999].contains(id))
            .collect();
        members.sort();
        let sets = [&even, &some_odd];
        assert_eq!(even.len + some_odd.len, members.len());
        for (k, id) in members.iter().enumerate() {
            assert_eq!(NodeSet::select(&sets, k), *id, "rank {k}");
        }
    }
}
