//! Informer caches and controller work queues.
//!
//! An informer holds a copy of the store that lags by the watch delay: every write to
//! the store reaches it as a watch event delivered `delay_ms` later. Controllers read
//! only their informer, so they act on stale state exactly as real controllers do;
//! that staleness is why the pool controller keeps expectations.

use super::store::{KindVersions, ObjectSet, WatchEvent};
use crate::api::{Kind, Object, ObjectKey, OwnerReference, Pod, Resources};
use crate::engine::SimTime;
use priority_queue::PriorityQueue;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// The informer caches: one per controller process (virt-controller,
/// kube-controller-manager with the scheduler, and the node agents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InformerId {
    VirtController,
    KubeControllerManager,
    NodeAgents,
}

impl InformerId {
    pub const ALL: [InformerId; 3] = [
        InformerId::VirtController,
        InformerId::KubeControllerManager,
        InformerId::NodeAgents,
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default)]
pub struct Informer {
    pub objects: ObjectSet,
    pub last_resource_version: u64,
    /// The resource version of the last event applied, per kind.
    pub kind_versions: KindVersions,
    /// An index over `objects`: the summed requests of the pods bound to each node and
    /// not terminated, by node name (nodes with none are absent). The scheduler reads
    /// it for every pod it places; kept up to date here, one pod change at a time, it
    /// saves a scan of every pod per scheduling decision (quadratic at 10,000 pods).
    /// The kube-scheduler keeps the same aggregate in its cache's `NodeInfo.Requested`
    /// (`pkg/scheduler/framework/types.go`).
    pub node_requests: BTreeMap<String, Resources>,
    /// An index over `objects`: how many pods are bound to each node name, whatever
    /// their phase (nodes with none are absent). Pod GC reads it to see, from the
    /// handful of node names, whether any pod is bound to a node that is gone, instead
    /// of looking up every pod's node every 20 s.
    pub pods_per_node: BTreeMap<String, usize>,
    /// An index over `objects`: per owner uid, the VMs, VMIs, pods, DataVolumes and
    /// PVCs whose owner references name it, in the order the garbage collector deletes
    /// them (by kind, then key). The garbage collector reads it when an owner goes,
    /// instead of scanning every object of five kinds per deletion (quadratic in a
    /// scale-in). The kube-controller-manager's garbage collector keeps the same
    /// owner → dependents graph (`pkg/controller/garbagecollector/graph.go`, `node.dependents`).
    pub dependents: BTreeMap<String, BTreeSet<(DependentKind, ObjectKey)>>,
}

/// The kinds the garbage collector deletes with their owner, in the order it deletes
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DependentKind {
    VirtualMachine,
    VirtualMachineInstance,
    Pod,
    DataVolume,
    PersistentVolumeClaim,
}

impl DependentKind {
    /// The object kind.
    pub fn kind(self) -> Kind {
        match self {
            DependentKind::VirtualMachine => Kind::VirtualMachine,
            DependentKind::VirtualMachineInstance => Kind::VirtualMachineInstance,
            DependentKind::Pod => Kind::Pod,
            DependentKind::DataVolume => Kind::DataVolume,
            DependentKind::PersistentVolumeClaim => Kind::PersistentVolumeClaim,
        }
    }

    fn of(kind: Kind) -> Option<DependentKind> {
        Some(match kind {
            Kind::VirtualMachine => DependentKind::VirtualMachine,
            Kind::VirtualMachineInstance => DependentKind::VirtualMachineInstance,
            Kind::Pod => DependentKind::Pod,
            Kind::DataVolume => DependentKind::DataVolume,
            Kind::PersistentVolumeClaim => DependentKind::PersistentVolumeClaim,
            _ => return None,
        })
    }
}

/// The owner references of the object `key` of `kind` in `objects`, if it is there.
fn owner_refs<'a>(
    objects: &'a ObjectSet,
    kind: DependentKind,
    key: &ObjectKey,
) -> &'a [OwnerReference] {
    let meta = match kind {
        DependentKind::VirtualMachine => objects.vms.get(key).map(|o| &o.meta),
        DependentKind::VirtualMachineInstance => objects.vmis.get(key).map(|o| &o.meta),
        DependentKind::Pod => objects.pods.get(key).map(|o| &o.meta),
        DependentKind::DataVolume => objects.data_volumes.get(key).map(|o| &o.meta),
        DependentKind::PersistentVolumeClaim => objects.pvcs.get(key).map(|o| &o.meta),
    };
    meta.map_or(&[], |meta| meta.owner_references.as_slice())
}

impl Informer {
    pub fn apply(&mut self, event: &WatchEvent) {
        debug_assert!(
            event.resource_version >= self.last_resource_version,
            "watch events out of order"
        );
        if event.kind == Kind::Pod {
            if let Some(old) = self.objects.pods.get(&event.key) {
                adjust_node_requests(&mut self.node_requests, old, -1);
                adjust_pods_per_node(&mut self.pods_per_node, old, false);
            }
        }
        let dependent = DependentKind::of(event.kind)
            .and_then(|kind| Some((kind, self.owner_uids_if_changed(kind, event)?)));
        self.objects.apply(event);
        if let Some((kind, before)) = dependent {
            self.reindex_dependents(kind, event, before);
        }
        if let Some(Object::Pod(pod)) = event.object.as_ref() {
            adjust_node_requests(&mut self.node_requests, pod, 1);
            adjust_pods_per_node(&mut self.pods_per_node, pod, true);
        }
        self.last_resource_version = event.resource_version;
        self.kind_versions
            .record(event.kind, event.resource_version);
    }
}

impl Informer {
    /// The owner uids the cache holds for the event's object, if the event changes
    /// them (owner references rarely change, so most events leave the index alone).
    fn owner_uids_if_changed(
        &self,
        kind: DependentKind,
        event: &WatchEvent,
    ) -> Option<Vec<String>> {
        let before = owner_refs(&self.objects, kind, &event.key);
        let after = event
            .object
            .as_ref()
            .map_or(&[][..], |o| o.meta().owner_references.as_slice());
        let same = before
            .iter()
            .map(|r| &r.uid)
            .eq(after.iter().map(|r| &r.uid));
        (!same).then(|| before.iter().map(|r| r.uid.clone()).collect())
    }

    /// Move the event's object from the owners it had (`before`) to those it has now.
    fn reindex_dependents(&mut self, kind: DependentKind, event: &WatchEvent, before: Vec<String>) {
        let entry = (kind, event.key.clone());
        for uid in &before {
            if let Some(set) = self.dependents.get_mut(uid) {
                set.remove(&entry);
                if set.is_empty() {
                    self.dependents.remove(uid);
                }
            }
        }
        if let Some(object) = event.object.as_ref() {
            for owner in &object.meta().owner_references {
                self.dependents
                    .entry(owner.uid.clone())
                    .or_default()
                    .insert(entry.clone());
            }
        }
    }
}

/// Add (`sign` 1) or take away (`sign` -1) a pod's requests on its node, if it is bound
/// and not terminated; an entry that drops to nothing is removed, so the index equals
/// a fresh sum over the pods.
fn adjust_node_requests(index: &mut BTreeMap<String, Resources>, pod: &Pod, sign: i64) {
    let Some(node) = pod.node_name.as_deref() else {
        return;
    };
    if pod.is_terminated() {
        return;
    }
    let entry = match index.get_mut(node) {
        Some(entry) => entry,
        None => index.entry(node.to_string()).or_default(),
    };
    entry.cpu_milli += sign * pod.requests.cpu_milli;
    entry.memory_bytes += sign * pod.requests.memory_bytes;
    entry.pods += sign;
    if entry.pods == 0 && entry.cpu_milli == 0 && entry.memory_bytes == 0 {
        index.remove(node);
    }
}

/// Count a pod on its node (`added`) or stop counting it; a node whose count drops to
/// zero is removed, so the index equals a fresh count over the pods.
fn adjust_pods_per_node(index: &mut BTreeMap<String, usize>, pod: &Pod, added: bool) {
    let Some(node) = pod.node_name.as_deref() else {
        return;
    };
    if added {
        match index.get_mut(node) {
            Some(count) => *count += 1,
            None => drop(index.insert(node.to_string(), 1)),
        }
    } else if let Some(count) = index.get_mut(node) {
        *count -= 1;
        if *count == 0 {
            index.remove(node);
        }
    }
}

/// A client-go style delaying, rate-limited work queue
/// (`k8s.io/client-go/util/workqueue`): a key waiting twice keeps the earlier time.
#[derive(Debug, Default)]
pub struct WorkQueue {
    waiting: PriorityQueue<ObjectKey, Reverse<SimTime>>,
    failures: BTreeMap<ObjectKey, u32>,
    bucket: TokenBucket,
}

impl WorkQueue {
    /// `AddAfter`: returns true if the key's time moved earlier (the caller schedules a
    /// wake-up at `at`).
    pub fn add_at(&mut self, key: ObjectKey, at: SimTime) -> bool {
        match self.waiting.get_priority(&key) {
            Some(Reverse(existing)) if *existing <= at => false,
            Some(_) => {
                self.waiting.change_priority(&key, Reverse(at));
                true
            }
            None => {
                self.waiting.push(key, Reverse(at));
                true
            }
        }
    }

    /// Pop the earliest key due at or before `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<ObjectKey> {
        let (_, Reverse(at)) = self.waiting.peek()?;
        if *at > now {
            return None;
        }
        self.waiting.pop().map(|(key, _)| key)
    }

    pub fn next_due(&self) -> Option<SimTime> {
        self.waiting.peek().map(|(_, Reverse(at))| *at)
    }

    /// `AddRateLimited` with `DefaultControllerRateLimiter`: the max of a per-item
    /// exponential backoff (5 ms doubling, capped at 1000 s) and an overall token
    /// bucket of 10 qps with burst 100 (`client-go/util/workqueue/default_rate_limiters.go`).
    /// Returns the time the key becomes due.
    pub fn add_rate_limited(&mut self, key: ObjectKey, now: SimTime) -> SimTime {
        let failures = self.failures.entry(key.clone()).or_insert(0);
        let exponent = (*failures).min(40);
        *failures += 1;
        let backoff_ms = (5u64.saturating_mul(1u64 << exponent)).min(1_000_000);
        let bucket_at = self.bucket.reserve(now);
        let at = (now + backoff_ms).max(bucket_at);
        self.add_at(key, at);
        at
    }

    /// `Forget`: a successful sync clears the item's backoff.
    pub fn forget(&mut self, key: &ObjectKey) {
        self.failures.remove(key);
    }
}

/// `rate.Limiter` with 10 tokens per second and a burst of 100.
#[derive(Debug)]
struct TokenBucket {
    tokens_milli: u64,
    updated: SimTime,
}

impl Default for TokenBucket {
    fn default() -> Self {
        TokenBucket {
            tokens_milli: 100_000,
            updated: SimTime::ZERO,
        }
    }
}

impl TokenBucket {
    const RATE_PER_S: u64 = 10;
    const BURST: u64 = 100;

    /// Take one token, returning when it is available.
    fn reserve(&mut self, now: SimTime) -> SimTime {
        if now > self.updated {
            let refill = now.since(self.updated) * Self::RATE_PER_S;
            self.tokens_milli = (self.tokens_milli + refill).min(Self::BURST * 1000);
            self.updated = now;
        }
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            return now;
        }
        let missing_milli = 1000 - self.tokens_milli;
        let wait_ms = missing_milli.div_ceil(Self::RATE_PER_S);
        self.tokens_milli = 0;
        self.updated = now + wait_ms;
        now + wait_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ObjectMeta, PodPhase};
    use crate::cluster::store::Store;
    use crate::controllers::scheduler::node_usage;
    use crate::engine::SimTime;

    fn pod(name: &str, cpu_milli: i64) -> Pod {
        Pod {
            meta: ObjectMeta::named("ns", name),
            node_name: None,
            requests: Resources {
                cpu_milli,
                memory_bytes: cpu_milli * 1_000_000,
                pods: 0,
            },
            tolerations: Vec::new(),
            node_selector: Default::default(),
            secret_refs: Vec::new(),
            config_map_refs: Vec::new(),
            claim_refs: Vec::new(),
            images: Vec::new(),
            image_pull_error: None,
            termination_grace_period_s: 30,
            phase: PodPhase::Pending,
            ready: false,
            ready_transition: SimTime::ZERO,
            start_time: None,
            unschedulable: false,
        }
    }

    /// Deliver the store's pending watch events and compare the index with a fresh sum.
    fn deliver_and_check(store: &mut Store, informer: &mut Informer) {
        for event in store.take_watch_events() {
            informer.apply(&event);
        }
        let fresh: Vec<(&str, Resources)> = node_usage(&informer.objects).into_iter().collect();
        let indexed: Vec<(&str, Resources)> = informer
            .node_requests
            .iter()
            .map(|(node, used)| (node.as_str(), *used))
            .collect();
        assert_eq!(indexed, fresh);
        let mut counted: BTreeMap<String, usize> = BTreeMap::new();
        for node in informer
            .objects
            .pods
            .values()
            .filter_map(|p| p.node_name.clone())
        {
            *counted.entry(node).or_default() += 1;
        }
        assert_eq!(informer.pods_per_node, counted);
        let mut owned: BTreeMap<String, BTreeSet<(DependentKind, ObjectKey)>> = BTreeMap::new();
        for (key, pod) in &informer.objects.pods {
            for owner in &pod.meta.owner_references {
                owned
                    .entry(owner.uid.clone())
                    .or_default()
                    .insert((DependentKind::Pod, key.clone()));
            }
        }
        assert_eq!(informer.dependents, owned);
    }

    fn owner(uid: &str) -> OwnerReference {
        OwnerReference {
            kind: Kind::VirtualMachineInstance,
            name: uid.to_string(),
            uid: uid.to_string(),
            controller: true,
            block_owner_deletion: true,
        }
    }

    #[test]
    fn dependents_follow_owner_references_and_deletion() {
        let mut store = Store::new();
        let mut informer = Informer::default();
        let (a, b) = (ObjectKey::new("ns", "a"), ObjectKey::new("ns", "b"));
        let mut owned_pod = pod("a", 100);
        owned_pod.meta.owner_references = vec![owner("vmi-1"), owner("vmi-2")];
        store.create(owned_pod, SimTime(0)).expect("new");
        store.create(pod("b", 100), SimTime(0)).expect("new");
        deliver_and_check(&mut store, &mut informer);
        assert_eq!(informer.dependents.len(), 2);
        assert!(informer.dependents["vmi-1"].contains(&(DependentKind::Pod, a.clone())));
        // A change that keeps the owners, one that moves a pod, one that adds one.
        store
            .modify::<Pod>(&a, |p| p.phase = PodPhase::Running)
            .expect("exists");
        store
            .modify::<Pod>(&a, |p| p.meta.owner_references = vec![owner("vmi-2")])
            .expect("exists");
        store
            .modify::<Pod>(&b, |p| p.meta.owner_references = vec![owner("vmi-2")])
            .expect("exists");
        deliver_and_check(&mut store, &mut informer);
        assert!(
            !informer.dependents.contains_key("vmi-1"),
            "emptied owners go"
        );
        assert_eq!(informer.dependents["vmi-2"].len(), 2);
        store.remove_now::<Pod>(&a).expect("exists");
        store.remove_now::<Pod>(&b).expect("exists");
        deliver_and_check(&mut store, &mut informer);
        assert!(informer.dependents.is_empty());
    }

    #[test]
    fn node_requests_follow_binding_termination_and_deletion() {
        let mut store = Store::new();
        let mut informer = Informer::default();
        let (a, b) = (ObjectKey::new("ns", "a"), ObjectKey::new("ns", "b"));
        store.create(pod("a", 500), SimTime(0)).expect("new");
        store.create(pod("b", 250), SimTime(0)).expect("new");
        deliver_and_check(&mut store, &mut informer);
        assert!(
            informer.node_requests.is_empty(),
            "unbound pods use no node"
        );
        for key in [&a, &b] {
            store
                .modify::<Pod>(key, |p| p.node_name = Some("node-1".into()))
                .expect("exists");
        }
        deliver_and_check(&mut store, &mut informer);
        assert_eq!(informer.node_requests["node-1"].cpu_milli, 750);
        assert_eq!(informer.node_requests["node-1"].pods, 2);
        store
            .modify::<Pod>(&a, |p| p.phase = PodPhase::Succeeded)
            .expect("exists");
        deliver_and_check(&mut store, &mut informer);
        assert_eq!(informer.node_requests["node-1"].cpu_milli, 250);
        assert_eq!(
            informer.pods_per_node["node-1"], 2,
            "a terminated pod is still bound to its node"
        );
        store.remove_now::<Pod>(&b).expect("exists");
        store.remove_now::<Pod>(&a).expect("exists");
        deliver_and_check(&mut store, &mut informer);
        assert!(informer.node_requests.is_empty(), "no pods, no entries");
        assert!(informer.pods_per_node.is_empty());
    }

    #[test]
    fn a_key_added_twice_keeps_the_earlier_time() {
        let mut queue = WorkQueue::default();
        let key = ObjectKey::new("ns", "pool");
        assert!(queue.add_at(key.clone(), SimTime(2000)));
        assert!(!queue.add_at(key.clone(), SimTime(3000)));
        assert!(queue.add_at(key.clone(), SimTime(1000)));
        assert_eq!(queue.next_due(), Some(SimTime(1000)));
        assert_eq!(queue.pop_due(SimTime(999)), None);
        assert_eq!(queue.pop_due(SimTime(1000)), Some(key));
        assert_eq!(queue.pop_due(SimTime(5000)), None);
    }

    #[test]
    fn rate_limited_retries_back_off_exponentially() {
        let mut queue = WorkQueue::default();
        let key = ObjectKey::new("ns", "pool");
        let delays: Vec<u64> = (0..5)
            .map(|_| {
                let at = queue.add_rate_limited(key.clone(), SimTime(0));
                queue.pop_due(at);
                at.0
            })
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 80]);
        queue.forget(&key);
        assert_eq!(queue.add_rate_limited(key, SimTime(0)), SimTime(5));
    }
}
