//! The world: every layer of the simulated cluster and the event loop that drives it.
//!
//! One `World` is one run. It owns the engine (time, queue, random streams), the
//! ground truth, the API store, the informer caches and the controllers' state. The
//! loop pops an event, lets the component it names act, then turns the store writes
//! that action made into watch events delivered to every informer after the watch
//! delay. Controllers are methods on `World` (in `crate::controllers`) that read one
//! informer and write only through `self.store`.

use super::informer::{Informer, InformerId, WorkQueue};
use super::settings::Settings;
use super::store::{Object, Store, WatchEvent};
use super::truth::{GroundTruth, NodeTruth};
use crate::algorithm::ReconcileAlgorithm;
use crate::api::*;
use crate::engine::rng::uniform_ms;
use crate::engine::{EventQueue, RngStreams, SimTime};
use crate::output::record::{EventLog, Sample, SampleLog};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A node of the simulated cluster as the scenario describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    pub name: String,
    pub cpu_milli: i64,
    pub memory_bytes: i64,
    pub pods: i64,
    pub labels: Labels,
}

/// Which node a scenario event concerns.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeTarget {
    Node(String),
    /// The node the named VM's instance runs on at that moment.
    NodeOf(String),
}

/// One thing a scenario makes happen (DESIGN.md §1.2 event actions).
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterAction {
    Scale {
        pool: String,
        replicas: i32,
    },
    Apply(Box<Object>),
    Delete {
        kind: Kind,
        name: String,
    },
    /// A merge patch, resolved at load time into the fields it sets.
    Patch(Box<Object>, Vec<String>),
    PartitionNode(NodeTarget),
    HealNode(NodeTarget),
    CrashNode(NodeTarget),
    RecoverNode(NodeTarget),
    FenceNode(NodeTarget),
    /// The out-of-service taint removed again (only `spec.failures` makes it: the
    /// admin's step once a fenced node is back; `scenario::failures`).
    UnfenceNode(NodeTarget),
    KillGuest {
        vm: String,
    },
    /// The guest keeps running but answers nothing (`hangGuest`), or again
    /// (`unhangGuest`).
    HangGuest {
        vm: String,
    },
    UnhangGuest {
        vm: String,
    },
    DetachVm {
        vm: String,
    },
    FailImagePull {
        image: String,
    },
    FailDataVolume {
        target: crate::scenario::DataVolumeRef,
        reason: crate::scenario::DataVolumeFailure,
    },
    SetLoad {
        cores: f64,
        ramp_over_ms: u64,
    },
}

impl ClusterAction {
    /// A short label for plots and the event log.
    pub fn label(&self) -> String {
        let node = |t: &NodeTarget| match t {
            NodeTarget::Node(n) => n.clone(),
            NodeTarget::NodeOf(vm) => format!("node of {vm}"),
        };
        match self {
            ClusterAction::Scale { pool, replicas } => format!("scale {pool} to {replicas}"),
            ClusterAction::Apply(o) => format!("apply {} {}", o.kind().name(), o.meta().name),
            ClusterAction::Delete { kind, name } => format!("delete {} {name}", kind.name()),
            ClusterAction::Patch(o, _) => format!("patch {} {}", o.kind().name(), o.meta().name),
            ClusterAction::PartitionNode(t) => format!("partition {}", node(t)),
            ClusterAction::HealNode(t) => format!("heal {}", node(t)),
            ClusterAction::CrashNode(t) => format!("crash {}", node(t)),
            ClusterAction::RecoverNode(t) => format!("recover {}", node(t)),
            ClusterAction::FenceNode(t) => format!("fence {}", node(t)),
            ClusterAction::UnfenceNode(t) => format!("unfence {}", node(t)),
            ClusterAction::KillGuest { vm } => format!("kill guest of {vm}"),
            ClusterAction::HangGuest { vm } => format!("hang guest of {vm}"),
            ClusterAction::UnhangGuest { vm } => format!("unhang guest of {vm}"),
            ClusterAction::DetachVm { vm } => format!("detach {vm}"),
            ClusterAction::FailImagePull { image } => format!("image {image} cannot be pulled"),
            ClusterAction::FailDataVolume { target, reason } => match target {
                crate::scenario::DataVolumeRef::Name(dv) => {
                    format!("fail {dv} ({})", reason.as_str())
                }
                crate::scenario::DataVolumeRef::OfVm(vm) => {
                    format!("fail DataVolumes of {vm} ({})", reason.as_str())
                }
            },
            ClusterAction::SetLoad { cores, .. } => format!("load {cores} cores"),
        }
    }
}

/// Most events one run may process when the `maxEventsProcessed` setting is 0 (the
/// default). The largest benchmark (10,000 VMs on 1,000 nodes for a simulated day)
/// stays far below it; see docs/LIMITS.md.
pub const DEFAULT_MAX_EVENTS_PROCESSED: u64 = 200_000_000;
/// Most events at one simulated millisecond. Time that stops advancing means a
/// component keeps rescheduling itself with no delay (a hot loop); no real workload
/// needs this many at one instant (a burst of 10,000 VM creations is a few 100,000).
pub const MAX_EVENTS_PER_INSTANT: u64 = 10_000_000;

/// The runtime bound of one run: a total number of events and a number per instant,
/// so that a runaway scenario or a bug ends with a clear error instead of running on.
#[derive(Debug)]
pub struct EventBudget {
    max_total: u64,
    processed: u64,
    instant: SimTime,
    at_instant: u64,
}

impl EventBudget {
    /// `max_total` 0 means [`DEFAULT_MAX_EVENTS_PROCESSED`].
    pub fn new(max_total: u64) -> EventBudget {
        EventBudget {
            max_total: if max_total == 0 {
                DEFAULT_MAX_EVENTS_PROCESSED
            } else {
                max_total
            },
            processed: 0,
            instant: SimTime::ZERO,
            at_instant: 0,
        }
    }

    /// Counts one more event at `at`, or says why the run must stop.
    pub fn admit(&mut self, at: SimTime) -> Result<(), String> {
        if self.processed >= self.max_total {
            return Err(format!(
                "the run stopped at {at} after processing {} events, the limit (setting maxEventsProcessed, docs/LIMITS.md); shorten the scenario or raise spec.settings.maxEventsProcessed",
                self.processed
            ));
        }
        if at == self.instant {
            self.at_instant += 1;
            if self.at_instant > MAX_EVENTS_PER_INSTANT {
                return Err(format!(
                    "the run stopped at {at}: more than {MAX_EVENTS_PER_INSTANT} events at this one instant without time advancing (MAX_EVENTS_PER_INSTANT, docs/LIMITS.md); this is a hot loop in poolsim or in an exec algorithm, please report it"
                ));
            }
        } else {
            self.instant = at;
            self.at_instant = 1;
        }
        self.processed += 1;
        Ok(())
    }
}

/// Everything a run needs, already validated.
pub struct WorldConfig {
    pub scenario_name: String,
    pub namespace: String,
    pub nodes: Vec<NodeConfig>,
    pub settings: Settings,
    pub seed: u64,
    pub duration: SimTime,
    pub sample_interval_ms: u64,
    /// Objects applied at time 0, in order.
    pub objects: Vec<Object>,
    /// Scenario events, sorted by time (stable for equal times).
    pub actions: Vec<(SimTime, ClusterAction)>,
    pub algorithm: Box<dyn ReconcileAlgorithm>,
    pub load: crate::load::LoadCurve,
}

/// The controllers with a work queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ControllerId {
    Pool,
    Vm,
    Vmi,
    Cdi,
    Scheduler,
    KubevirtNode,
    Kubelet,
    VirtHandler,
    /// The HPA controller (`controllers::hpa`).
    Hpa,
}

impl ControllerId {
    pub const COUNT: usize = 9;
    fn index(self) -> usize {
        self as usize
    }
}

/// The closed set of things that happen.
#[derive(Debug, Clone)]
pub enum Ev {
    /// A watch event reaches an informer.
    Deliver {
        informer: InformerId,
        event: Rc<WatchEvent>,
    },
    /// A controller's work queue has a key due.
    Work { controller: ControllerId },
    /// The scenario's action number `index`.
    Action { index: usize },
    /// Record one timeseries row.
    Sample,
    /// A timer of a component, checked against the state it was armed for.
    Timer(Timer),
}

#[derive(Debug, Clone)]
pub enum Timer {
    /// The node lifecycle controller's monitor tick that may find the node silent.
    NodeMonitor {
        node: String,
        epoch: u64,
    },
    /// The kubelet of a node that reports again posts Ready.
    NodeReturns {
        node: String,
        epoch: u64,
    },
    /// The taint manager's eviction of a pod.
    TaintEviction {
        pod: ObjectKey,
        uid: String,
    },
    /// Pod garbage collection pass.
    PodGc,
    /// KubeVirt's node controller re-checks a node.
    HandlerRecheck {
        node: String,
    },
    /// virt-handler's first heartbeat after its node's partition healed
    /// (`controllers::node::handler_heartbeat`).
    HandlerHeartbeat {
        node: String,
        epoch: u64,
    },
    /// A pod's containers started (or stopped) on its node.
    PodStarted {
        pod: ObjectKey,
        uid: String,
    },
    /// A prober worker's tick (`controllers::prober`).
    Probe {
        pod: ObjectKey,
        uid: String,
        kind: crate::controllers::prober::ProbeKind,
    },
    /// A probe of a hung guest ran out of its timeout.
    ProbeTimedOut {
        pod: ObjectKey,
        uid: String,
        kind: crate::controllers::prober::ProbeKind,
        started: SimTime,
    },
    /// The compute container killed after a liveness failure is gone.
    ComputeKilled {
        pod: ObjectKey,
        uid: String,
    },
    PodStopped {
        pod: ObjectKey,
        uid: String,
    },
    /// A guest finished booting or shutting down.
    GuestBooted {
        vmi_uid: String,
    },
    GuestStopped {
        vmi_uid: String,
    },
    /// CDI finished provisioning or populating a claim.
    PvcProvisioned {
        pvc: ObjectKey,
        uid: String,
    },
    CloneFinished {
        dv: ObjectKey,
        uid: String,
    },
    /// A host-assisted clone's worker pods started: it begins reading its source.
    HostCloneStarted {
        dv: ObjectKey,
        uid: String,
    },
    /// The next host-assisted clone from `source` is due to finish, if the set of
    /// clones reading it has not changed since (`epoch`).
    HostCloneDue {
        source: ObjectKey,
        epoch: u64,
    },
    /// The attach-detach controller force-detaches a claim from an unreachable node.
    ForceDetach {
        claim: ObjectKey,
        node: String,
    },
    /// Periodic work of the load and metrics pipeline.
    Metrics,
    /// The pool informer's periodic resync (`controllers::pool::resync`).
    PoolInformerResync {
        period_ms: u64,
    },
    /// A virt-controller replica takes the lease after a crash
    /// (`controllers::virt_controller::leads`).
    VirtControllerLeads {
        replica: usize,
    },
}

pub struct World {
    pub(crate) queue: EventQueue<Ev>,
    pub(crate) streams: RngStreams,
    pub(crate) settings: Settings,
    pub(crate) truth: GroundTruth,
    pub(crate) store: Store,
    pub(crate) informers: [Informer; 3],
    pub(crate) work: [WorkQueue; ControllerId::COUNT],
    pub(crate) rngs: BTreeMap<&'static str, ChaCha8Rng>,
    pub(crate) config_namespace: String,
    pub(crate) scenario_name: String,
    pub(crate) duration: SimTime,
    pub(crate) sample_interval_ms: u64,
    pub(crate) actions: Vec<(SimTime, ClusterAction)>,
    pub(crate) algorithm: Box<dyn ReconcileAlgorithm>,
    pub(crate) pool_state: crate::controllers::pool::PoolControllerState,
    pub(crate) virt_controller: crate::controllers::virt_controller::VirtControllerState,
    pub(crate) agent_state: crate::controllers::kubelet::AgentState,
    pub(crate) spread_cache: crate::controllers::scheduler_index::SchedulerIndex,
    pub(crate) load: crate::load::LoadCurve,
    pub(crate) metrics: crate::controllers::metrics::MetricsState,
    pub(crate) hpa: crate::controllers::hpa::HpaControllerState,
    pub events: EventLog,
    pub samples: SampleLog,
    pub(crate) warnings: Vec<String>,
    pub(crate) check_invariants: bool,
    /// Pod GC: when each orphaned pod (node gone) was first seen.
    pub(crate) pod_gc_orphans: BTreeMap<String, SimTime>,
    /// Scheduler: pods it bound that its informer does not show bound yet, with their
    /// requests summed per node: its "assumed pods" (`controllers::scheduler`).
    pub(crate) scheduler_assumed: crate::controllers::scheduler::AssumedPods,
    /// Taint eviction: UIDs of pods it has already deleted (`controllers::node`).
    pub(crate) taint_evicted: std::collections::BTreeSet<String>,
    /// For scenario events: the node a `partitionNode`/`crashNode` with `nodeOf: VM`
    /// hit, by VM name, so a later `healNode`/`recoverNode`/`fenceNode` with the same
    /// `nodeOf` reaches that node even if the VM has moved since.
    pub(crate) failed_node_of: BTreeMap<String, String>,
    /// For the plot: the node each node event with `nodeOf: VM` reached, by its index
    /// in `actions` (a VM's node can differ from one failure to the next).
    pub(crate) action_nodes: BTreeMap<usize, String>,
    /// CDI: DataVolumes whose missing source was already reported.
    pub(crate) cdi_warned_sources: std::collections::BTreeSet<ObjectKey>,
    /// The VMI controller: VMIs waiting for a missing claim to appear, by claim.
    pub(crate) vmis_awaiting_claims: BTreeMap<ObjectKey, std::collections::BTreeSet<ObjectKey>>,
    /// CDI: host-assisted clones reading each source claim, sharing its bandwidth.
    pub(crate) host_clones: crate::controllers::host_clone::HostClones,
    /// Scheduler: the (pod, node) evaluations it has made, against
    /// `maxSchedulerEvaluations` (`controllers::scheduler::WorkBudget`).
    pub(crate) scheduler_work: crate::controllers::scheduler::WorkBudget,
    /// A failure that ends the run (an external algorithm broke its protocol, or a
    /// runtime bound was reached).
    pub fatal: Option<String>,
}

impl World {
    pub fn new(config: WorldConfig) -> World {
        let streams = RngStreams::new(config.seed);
        let mut world = World {
            queue: EventQueue::new(),
            streams,
            check_invariants: config.settings.check_invariants || cfg!(debug_assertions),
            settings: config.settings,
            truth: GroundTruth::default(),
            store: Store::new(),
            informers: Default::default(),
            work: Default::default(),
            rngs: BTreeMap::new(),
            config_namespace: config.namespace,
            scenario_name: config.scenario_name,
            duration: config.duration,
            sample_interval_ms: config.sample_interval_ms.max(1),
            actions: config.actions,
            algorithm: config.algorithm,
            pool_state: Default::default(),
            virt_controller: Default::default(),
            agent_state: Default::default(),
            spread_cache: Default::default(),
            load: config.load,
            metrics: Default::default(),
            hpa: Default::default(),
            events: EventLog::default(),
            samples: SampleLog::default(),
            warnings: Vec::new(),
            pod_gc_orphans: BTreeMap::new(),
            scheduler_assumed: Default::default(),
            taint_evicted: Default::default(),
            failed_node_of: Default::default(),
            action_nodes: Default::default(),
            cdi_warned_sources: Default::default(),
            scheduler_work: Default::default(),
            host_clones: Default::default(),
            vmis_awaiting_claims: Default::default(),
            fatal: None,
        };
        let mut node_rng = streams.stream("node-phases");
        for node in &config.nodes {
            let lease_phase_ms =
                uniform_ms(&mut node_rng, 0, world.settings.node_lease_renew_ms - 1);
            let first_heartbeat =
                uniform_ms(&mut node_rng, 0, world.settings.handler_heartbeat_min_ms);
            world.truth.nodes.insert(
                node.name.clone(),
                NodeTruth {
                    powered: true,
                    connected: true,
                    epoch: 0,
                    silent_since: None,
                    lease_phase_ms,
                    handler_last_heartbeat: SimTime::ZERO,
                    handler_next_heartbeat: SimTime(first_heartbeat),
                    handler_restarted: false,
                },
            );
            let api_node = Node {
                meta: ObjectMeta {
                    labels: node.labels.clone(),
                    ..ObjectMeta::named("", &node.name)
                },
                unschedulable: false,
                taints: Vec::new(),
                allocatable: Resources {
                    cpu_milli: node.cpu_milli,
                    memory_bytes: node.memory_bytes,
                    pods: node.pods,
                },
                ready: ConditionStatus::True,
                ready_transition: SimTime::ZERO,
            };
            world
                .store
                .create(api_node, SimTime::ZERO)
                .expect("node names are unique");
        }
        for object in config.objects {
            world.apply_object(object);
        }
        for index in 0..world.actions.len() {
            let at = world.actions[index].0;
            world.queue.schedule(at, Ev::Action { index });
        }
        world.queue.schedule(SimTime::ZERO, Ev::Sample);
        world.queue.schedule(
            SimTime(world.settings.pod_gc_period_ms),
            Ev::Timer(Timer::PodGc),
        );
        crate::controllers::metrics::start(&mut world);
        crate::controllers::hpa::start(&mut world);
        crate::controllers::pool::start_resync(&mut world);
        world.flush_watch_events();
        world
    }

    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// Whether this run checks every invariant after each event (the
    /// `checkInvariants` setting, or a debug build).
    pub fn checks_invariants(&self) -> bool {
        self.check_invariants
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn truth(&self) -> &GroundTruth {
        &self.truth
    }

    pub fn namespace(&self) -> &str {
        &self.config_namespace
    }

    pub fn events_processed(&self) -> u64 {
        self.queue.processed()
    }

    /// The (pod, node) evaluations the scheduler has made so far
    /// (`maxSchedulerEvaluations`, docs/LIMITS.md).
    pub fn scheduler_evaluations(&self) -> u64 {
        self.scheduler_work.used()
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The informer a controller reads.
    pub(crate) fn informer(&self, id: InformerId) -> &super::store::ObjectSet {
        &self.informers[id.index()].objects
    }

    /// A named random stream, created on first use from the run's seed.
    pub(crate) fn rng(&mut self, name: &'static str) -> &mut ChaCha8Rng {
        let streams = self.streams;
        self.rngs
            .entry(name)
            .or_insert_with(|| streams.stream(name))
    }

    /// Run until the scenario's duration; the last sample is at the duration itself.
    /// A run that exceeds its event budget ([`EventBudget`]) stops with `fatal` set.
    pub fn run(&mut self) {
        self.run_observed(None);
    }

    /// [`World::run`], calling `observe` with the time of each sample (the progress
    /// bar of a long `poolsim run`, `crate::progress::RunProgress`); it only watches.
    pub fn run_observed(&mut self, observe: Option<&dyn Fn(SimTime)>) {
        let end = self.duration;
        let mut budget = EventBudget::new(self.settings.max_events_processed);
        let mut invariants = crate::invariants::Checker::default();
        while let Some(at) = self.queue.peek_time() {
            if at > end || self.fatal.is_some() {
                break;
            }
            if let Err(message) = budget.admit(at) {
                self.fatal = Some(message);
                break;
            }
            let (_, event) = self.queue.pop().expect("peeked");
            let sampled = matches!(event, Ev::Sample);
            self.dispatch(event);
            self.flush_watch_events();
            if let Some(observe) = observe.filter(|_| sampled) {
                observe(at);
            }
            if self.check_invariants {
                invariants.check(self);
            }
        }
    }

    fn dispatch(&mut self, event: Ev) {
        match event {
            Ev::Deliver { informer, event } => self.deliver(informer, &event),
            Ev::Work { controller } => self.run_controller(controller),
            Ev::Action { index } => {
                let action = self.actions[index].1.clone();
                crate::controllers::scenario::perform(self, index, action);
            }
            Ev::Sample => {
                let mut samples = std::mem::take(&mut self.samples);
                samples.record(self);
                self.samples = samples;
                let next = self.now() + self.sample_interval_ms;
                if next <= self.duration {
                    self.queue.schedule(next, Ev::Sample);
                } else if self.now() < self.duration {
                    self.queue.schedule(self.duration, Ev::Sample);
                }
            }
            Ev::Timer(timer) => self.fire(timer),
        }
    }

    fn fire(&mut self, timer: Timer) {
        use crate::controllers::*;
        match timer {
            Timer::NodeMonitor { node, epoch } => node::monitor_tick(self, &node, epoch),
            Timer::NodeReturns { node, epoch } => node::node_returns(self, &node, epoch),
            Timer::TaintEviction { pod, uid } => node::taint_eviction(self, &pod, &uid),
            Timer::PodGc => node::pod_gc(self),
            Timer::HandlerRecheck { node } => node::handler_recheck(self, &node),
            Timer::HandlerHeartbeat { node, epoch } => node::handler_heartbeat(self, &node, epoch),
            Timer::PodStarted { pod, uid } => kubelet::pod_started(self, &pod, &uid),
            Timer::Probe { pod, uid, kind } => prober::probe_tick(self, &pod, &uid, kind),
            Timer::ProbeTimedOut {
                pod,
                uid,
                kind,
                started,
            } => prober::probe_timed_out(self, &pod, &uid, kind, started),
            Timer::ComputeKilled { pod, uid } => prober::compute_killed(self, &pod, &uid),
            Timer::PodStopped { pod, uid } => kubelet::pod_stopped(self, &pod, &uid),
            Timer::GuestBooted { vmi_uid } => kubelet::guest_booted(self, &vmi_uid),
            Timer::GuestStopped { vmi_uid } => kubelet::guest_stopped(self, &vmi_uid),
            Timer::PvcProvisioned { pvc, uid } => cdi::pvc_provisioned(self, &pvc, &uid),
            Timer::CloneFinished { dv, uid } => cdi::clone_finished(self, &dv, &uid),
            Timer::HostCloneStarted { dv, uid } => host_clone::started(self, &dv, &uid),
            Timer::HostCloneDue { source, epoch } => host_clone::due(self, &source, epoch),
            Timer::ForceDetach { claim, node } => kubelet::force_detach(self, &claim, &node),
            Timer::Metrics => metrics::tick(self),
            Timer::PoolInformerResync { period_ms } => pool::resync(self, period_ms),
            Timer::VirtControllerLeads { replica } => virt_controller::leads(self, replica),
        }
    }

    /// Schedule delivery of the store's new watch events to every informer.
    pub(crate) fn flush_watch_events(&mut self) {
        if !self.store.has_pending_watch_events() {
            return;
        }
        let delay = self.settings.watch_delay_ms;
        for event in self.store.take_watch_events() {
            let event = Rc::new(event);
            for informer in InformerId::ALL {
                self.queue.schedule_in(
                    delay,
                    Ev::Deliver {
                        informer,
                        event: Rc::clone(&event),
                    },
                );
            }
        }
    }

    fn deliver(&mut self, informer: InformerId, event: &WatchEvent) {
        self.informers[informer.index()].apply(event);
        crate::controllers::route(self, informer, event);
    }

    /// `AddAfter(key, delay)` on a controller's queue.
    pub(crate) fn enqueue_after(
        &mut self,
        controller: ControllerId,
        key: ObjectKey,
        delay_ms: u64,
    ) {
        let at = self.now() + delay_ms;
        if self.work[controller.index()].add_at(key, at) {
            self.queue.schedule(at, Ev::Work { controller });
        }
    }

    pub(crate) fn enqueue(&mut self, controller: ControllerId, key: ObjectKey) {
        self.enqueue_after(controller, key, 0);
    }

    /// `AddRateLimited` after a failed sync.
    pub(crate) fn requeue_rate_limited(&mut self, controller: ControllerId, key: ObjectKey) {
        let now = self.now();
        let at = self.work[controller.index()].add_rate_limited(key, now);
        self.queue.schedule(at, Ev::Work { controller });
    }

    pub(crate) fn forget(&mut self, controller: ControllerId, key: &ObjectKey) {
        self.work[controller.index()].forget(key);
    }

    /// A fresh process's work queue: no keys, no rate-limiter history.
    pub(crate) fn reset_work_queue(&mut self, controller: ControllerId) {
        self.work[controller.index()] = WorkQueue::default();
    }

    /// How many times virt-controller crashed (`summary.json`, `controller_crashes`).
    pub fn controller_crashes(&self) -> u64 {
        self.virt_controller.crashes
    }

    fn run_controller(&mut self, controller: ControllerId) {
        use crate::controllers::*;
        // A crashed virt-controller runs none of its controllers until a replica leads;
        // their keys wait (and are replaced by the new leader's re-list).
        if self.virt_controller.is_down()
            && virt_controller::VIRT_CONTROLLER_CONTROLLERS.contains(&controller)
        {
            return;
        }
        let now = self.now();
        while let Some(key) = self.work[controller.index()].pop_due(now) {
            match controller {
                ControllerId::Pool => pool::sync(self, &key),
                ControllerId::Vm => vm::sync(self, &key),
                ControllerId::Vmi => vmi::sync(self, &key),
                ControllerId::Cdi => cdi::sync(self, &key),
                ControllerId::Scheduler => scheduler::sync(self, &key),
                ControllerId::KubevirtNode => node::handler_sync(self, &key),
                ControllerId::Kubelet => kubelet::sync_pod(self, &key),
                ControllerId::VirtHandler => kubelet::sync_vmi(self, &key),
                ControllerId::Hpa => hpa::sync(self, &key),
            }
            // Writes of one sync reach informers before the next key is processed,
            // as they would with a real API server in between.
            self.flush_watch_events();
        }
    }

    /// Apply an object as `kubectl apply` would: create it, or replace its spec.
    pub(crate) fn apply_object(&mut self, object: Object) {
        crate::controllers::scenario::apply_object(self, object);
    }

    /// Record an event row (`kubectl get events` style).
    pub(crate) fn record(
        &mut self,
        kind: &str,
        object: &str,
        reason: &str,
        message: impl Into<String>,
    ) {
        let now = self.now();
        // Namespace and uid from the store, for `events.csv` and the recorder's key.
        let involved = crate::output::event_log::involved_object(
            self.store.objects(),
            self.namespace(),
            kind,
            object,
            reason,
        );
        self.events
            .push(now, kind, object, &involved, reason, message.into());
    }

    pub(crate) fn schedule_timer(&mut self, delay_ms: u64, timer: Timer) {
        self.queue.schedule_in(delay_ms, Ev::Timer(timer));
    }

    pub(crate) fn schedule_timer_at(&mut self, at: SimTime, timer: Timer) {
        self.queue.schedule(at.max(self.now()), Ev::Timer(timer));
    }

    /// A finished run's last sample.
    pub fn last_sample(&self) -> Option<&Sample> {
        self.samples.rows.last()
    }
}
