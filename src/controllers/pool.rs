//! The VirtualMachinePool controller's runtime (`pkg/virt-controller/watch/pool/pool.go`):
//! event handlers that enqueue the pool after 1 s, UID-tracking expectations, the
//! observation handed to the pluggable reconcile algorithm (`crate::algorithm`), the
//! API writes its actions stand for (with `indexVMSpec` naming), ControllerRevisions,
//! and the status. The decision itself is the algorithm's.
// Match arms follow upstream's case order; folding the inner `if`s into guards would
// hide which case a branch handles.
#![allow(clippy::collapsible_match)]

use crate::algorithm::{self as algo, Action, Observation};
use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::store::{ObjectSet, WatchEvent, WatchEventType};
use crate::cluster::world::{ControllerId, Timer, World};
use crate::controllers::controller_ref;
use crate::engine::rng::uniform_ms;
use crate::engine::SimTime;
use std::collections::{BTreeMap, BTreeSet};

pub const POOL_FINALIZER: &str = "pool.kubevirt.io/finalizer";
pub const REVISION_LABEL: &str = "kubevirt.io/vm-pool-revision-name";

/// `ControllerExpectations` with UID tracking for deletions (`pkg/controller/expectations.go`).
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    pub adds: i64,
    pub deletes: BTreeSet<String>,
    pub set_at: SimTime,
}

#[derive(Debug, Default)]
pub struct PoolControllerState {
    pub expectations: BTreeMap<ObjectKey, Expectation>,
    /// ControllerRevisions the pool owns: kept here rather than in the store, since
    /// nothing else reads them.
    pub revisions: BTreeMap<ObjectKey, Vec<algo::RevisionView>>,
    /// VMs each pool created (for the "VMs created" metric and ground-truth attribution).
    pub created_total: u64,
    /// The VM views of each pool's last observation, reused for VMs that have not
    /// changed since (see [`ViewCache`]).
    views: BTreeMap<ObjectKey, ViewCache>,
}

/// The `VmView`s of a pool's last observation, with what they were built from.
///
/// A pool sync observes every VM of its namespace, and a scale-out of N VMs brings
/// O(N) syncs, so rebuilding every view (labels, names, node lookups cloned each
/// time) is quadratic. A view depends only on its VM, the VM's VMI and that VMI's
/// node, so a VM whose VM and VMI resource versions are unchanged, with no node's
/// readiness or out-of-service taint changed, keeps its view.
#[derive(Debug, Default)]
struct ViewCache {
    /// Per node in key order: name, Ready status, out-of-service taint.
    nodes: Vec<(String, ConditionStatus, bool)>,
    /// Per view, the resource versions of its VM and VMI (if any) it was built from.
    stamps: Vec<ViewStamp>,
    /// The views, in VM name order (as `Observation::vms`).
    views: Vec<algo::VmView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ViewStamp {
    vm_resource_version: u64,
    vmi_resource_version: Option<u64>,
}

fn pool_key_of(meta: &ObjectMeta) -> Option<ObjectKey> {
    let owner = meta.controller_ref()?;
    (owner.kind == Kind::VirtualMachinePool).then(|| ObjectKey::new(&meta.namespace, &owner.name))
}

pub fn on_pool_event(world: &mut World, key: &ObjectKey) {
    let delay = world.settings.pool_enqueue_delay_ms;
    world.enqueue_after(ControllerId::Pool, key.clone(), delay);
}

/// Arm the pool informer's resync: its period is drawn once, as upstream's
/// `ResyncPeriod(12h)` is evaluated once per informer factory
/// (`pkg/controller/virtinformers.go`, `NewKubeInformerFactory`); see
/// `Settings::informer_resync_min_ms`.
pub fn start_resync(world: &mut World) {
    let min_ms = world.settings.informer_resync_min_ms;
    if min_ms == 0 {
        return;
    }
    let period_ms = uniform_ms(world.rng("informer-resync"), min_ms, 2 * min_ms - 1);
    world.schedule_timer(period_ms, Timer::PoolInformerResync { period_ms });
}

/// A resync replays every cached pool to `updatePool`, which enqueues it
/// (`enqueuePool`, after `defaultAddDelay`); client-go's resync keeps its period.
pub fn resync(world: &mut World, period_ms: u64) {
    let pools: Vec<ObjectKey> = world
        .informer(InformerId::VirtController)
        .pools
        .keys()
        .cloned()
        .collect();
    for pool in pools {
        on_pool_event(world, &pool);
    }
    world.schedule_timer(period_ms, Timer::PoolInformerResync { period_ms });
}

/// `addVMHandler` / `updateVMHandler` / `deleteVMHandler`.
pub fn on_vm_event(world: &mut World, event: &WatchEvent) {
    let current = match event.object.as_ref() {
        Some(Object::Vm(vm)) => Some(vm),
        _ => None,
    };
    let old = match event.old.as_ref() {
        Some(Object::Vm(vm)) => Some(vm),
        _ => None,
    };
    let mut pools = Vec::new();
    match event.event_type {
        WatchEventType::Added => {
            if let Some(vm) = current {
                if let Some(pool) = pool_key_of(&vm.meta) {
                    if let Some(e) = world.pool_state.expectations.get_mut(&pool) {
                        e.adds -= 1;
                    }
                    pools.push(pool);
                }
            }
        }
        WatchEventType::Modified => {
            if let (Some(vm), Some(old)) = (current, old) {
                if vm.meta.is_deleting() && !old.meta.is_deleting() {
                    observe_deletion(world, &vm.meta);
                }
                pools.extend(pool_key_of(&vm.meta));
                pools.extend(pool_key_of(&old.meta));
            }
        }
        WatchEventType::Deleted => {
            if let Some(old) = old {
                observe_deletion(world, &old.meta);
                pools.extend(pool_key_of(&old.meta));
            }
        }
    }
    pools.dedup();
    for pool in pools {
        on_pool_event(world, &pool);
    }
}

fn observe_deletion(world: &mut World, meta: &ObjectMeta) {
    if let Some(pool) = pool_key_of(meta) {
        if let Some(e) = world.pool_state.expectations.get_mut(&pool) {
            e.deletes.remove(&meta.uid);
        }
    }
}

/// `addVMIHandler` (also `updateVMIHandler`, `pkg/virt-controller/watch/pool/pool.go`):
/// a VMI add or update enqueues the pool of its VM only when the VMI is not being
/// deleted and its revision label differs from (or is missing beside) the one in the
/// VM's template. A VMI that merely changes phase or readiness wakes the pool through
/// the VM controller's status write instead (`updateVMHandler`).
pub fn on_vmi_event(world: &mut World, vmi: &VirtualMachineInstance) {
    if vmi.meta.is_deleting() {
        return;
    }
    let Some(vmi_owner) = vmi.meta.controller_ref() else {
        return;
    };
    let objects = world.informer(InformerId::VirtController);
    let Some(vm) = objects
        .vms
        .get(&ObjectKey::new(&vmi.meta.namespace, &vmi_owner.name))
        .filter(|vm| vm.meta.uid == vmi_owner.uid)
    else {
        return;
    };
    let Some(pool) = pool_key_of(&vm.meta) else {
        return;
    };
    let vm_revision = vm.spec.template.labels.get(REVISION_LABEL);
    let vmi_revision = vmi.meta.labels.get(REVISION_LABEL);
    if vm_revision.is_some() && vm_revision == vmi_revision {
        return;
    }
    on_pool_event(world, &pool);
}

fn expectations_satisfied(world: &World, key: &ObjectKey) -> bool {
    match world.pool_state.expectations.get(key) {
        None => true,
        Some(e) => {
            (e.adds <= 0 && e.deletes.is_empty())
                || world.now().since(e.set_at) > world.settings.expectations_timeout_ms
        }
    }
}

fn digest(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

pub(crate) fn template_digest(template: &VmTemplate) -> algo::TemplateDigest {
    algo::TemplateDigest {
        vm_template: digest(&format!("{template:?}")),
        vmi_template: digest(&format!("{:?}", template.spec.template)),
        data_volume_templates: digest(&format!("{:?}", template.spec.data_volume_templates)),
    }
}

fn to_algo_selector(selector: &LabelSelector) -> algo::LabelSelector {
    algo::LabelSelector {
        match_labels: selector.match_labels.clone(),
        match_expressions: selector
            .match_expressions
            .iter()
            .map(|r| algo::SelectorRequirement {
                key: r.key.clone(),
                operator: match r.operator {
                    SelectorOperator::In => algo::SelectorOperator::In,
                    SelectorOperator::NotIn => algo::SelectorOperator::NotIn,
                    SelectorOperator::Exists => algo::SelectorOperator::Exists,
                    SelectorOperator::DoesNotExist => algo::SelectorOperator::DoesNotExist,
                },
                values: r.values.clone(),
            })
            .collect(),
    }
}

fn to_algo_selectors(selection: &SelectionPolicy) -> Option<algo::VmSelectors> {
    if selection.label_selector.is_none() && selection.node_selector.is_none() {
        return None;
    }
    Some(algo::VmSelectors {
        label_selector: selection.label_selector.as_ref().map(to_algo_selector),
        node_selector_requirements: selection
            .node_selector
            .as_ref()
            .map(|s| to_algo_selector(s).match_expressions),
    })
}

fn to_algo_phase(phase: VmiPhase) -> algo::VmiPhase {
    match phase {
        VmiPhase::Pending => algo::VmiPhase::Pending,
        VmiPhase::Scheduling => algo::VmiPhase::Scheduling,
        VmiPhase::Scheduled => algo::VmiPhase::Scheduled,
        VmiPhase::Running => algo::VmiPhase::Running,
        VmiPhase::Succeeded => algo::VmiPhase::Succeeded,
        VmiPhase::Failed => algo::VmiPhase::Failed,
    }
}

/// The pool controller's view of one pool, from the virt-controller informer, and the
/// stamps of its VM views (to cache them once the sync is done; see [`ViewCache`]).
fn observe(world: &World, pool: &VirtualMachinePool, cache: ViewCache) -> (Observation, ViewCache) {
    let objects = world.informer(InformerId::VirtController);
    let key = pool.meta.key();
    let spec = &pool.spec;
    let scale_in = match &spec.scale_in {
        ScaleInStrategy::Proactive {
            selection,
            state_preservation,
        } => algo::ScaleInStrategy::Proactive {
            sort_policy: selection.sort_policy,
            selectors: to_algo_selectors(selection),
            state_preservation: *state_preservation,
        },
        ScaleInStrategy::Opportunistic { state_preservation } => {
            algo::ScaleInStrategy::Opportunistic {
                state_preservation: *state_preservation,
            }
        }
        ScaleInStrategy::Unmanaged => algo::ScaleInStrategy::Unmanaged,
    };
    let update = match &spec.update {
        UpdateStrategy::Proactive { selection } => algo::UpdateStrategy::Proactive {
            sort_policy: selection.sort_policy,
            selectors: to_algo_selectors(selection),
        },
        UpdateStrategy::Opportunistic => algo::UpdateStrategy::Opportunistic,
        UpdateStrategy::Unmanaged => algo::UpdateStrategy::Unmanaged,
    };
    let pool_view = algo::PoolView {
        name: pool.meta.name.clone(),
        uid: pool.meta.uid.clone(),
        replicas: spec.replicas,
        paused: spec.paused,
        deleting: pool.meta.is_deleting(),
        has_finalizer: pool.meta.finalizers.iter().any(|f| f == POOL_FINALIZER),
        selector: to_algo_selector(&spec.selector),
        template_labels: spec.template.labels.clone(),
        scale_in,
        update,
        max_unavailable: match spec.max_unavailable {
            IntOrPercent::Int(v) => algo::IntOrPercent::Int(v as i32),
            IntOrPercent::Percent(p) => algo::IntOrPercent::Percent(p as i32),
        },
        autohealing: spec.autohealing.map(|a| algo::AutohealingView {
            start_up_failure_threshold: a.start_up_failure_threshold,
            min_failing_to_start_duration_ms: a.min_failing_to_start_duration_ms,
        }),
        current_revision: format!("{}-{}", pool.meta.name, pool.meta.generation),
        template: template_digest(&spec.template),
    };
    let (vms, stamps) = observe_vms(objects, &pool.meta.namespace, cache);
    let observation = Observation {
        now_ms: world.now().0,
        pool: pool_view,
        vms,
        revisions: world
            .pool_state
            .revisions
            .get(&key)
            .cloned()
            .unwrap_or_default(),
        burst_replicas: world.settings.pool_burst_replicas as usize,
        expectations_satisfied: expectations_satisfied(world, &key),
    };
    (observation, stamps)
}

/// Every VM of `namespace` as a view, in name order, reusing the cached view of each
/// VM whose VM and VMI are unchanged (all are rebuilt when a node's readiness or
/// out-of-service taint changed). VMs and VMIs share keys, so both tables are walked
/// side by side, as are the cached views.
fn observe_vms(
    objects: &ObjectSet,
    namespace: &str,
    cache: ViewCache,
) -> (Vec<algo::VmView>, ViewCache) {
    let nodes: Vec<(String, ConditionStatus, bool)> = objects
        .nodes
        .values()
        .map(|n| {
            (
                n.meta.name.clone(),
                n.ready,
                n.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE),
            )
        })
        .collect();
    let reusable = cache.nodes == nodes;
    let mut cached = cache
        .stamps
        .into_iter()
        .zip(cache.views)
        .filter(|_| reusable)
        .peekable();
    let start = ObjectKey::new(namespace, "");
    let mut vmis = objects
        .vmis
        .range(start.clone()..)
        .take_while(|(key, _)| key.namespace == namespace)
        .peekable();
    let mut views = Vec::new();
    let mut stamps = Vec::new();
    let vms = objects
        .vms
        .range(start..)
        .take_while(|(key, _)| key.namespace == namespace);
    for (key, vm) in vms {
        while vmis.next_if(|(vmi_key, _)| *vmi_key < key).is_some() {}
        let vmi = vmis
            .next_if(|(vmi_key, _)| *vmi_key == key)
            .map(|(_, vmi)| &**vmi);
        let stamp = ViewStamp {
            vm_resource_version: vm.meta.resource_version,
            vmi_resource_version: vmi.map(|vmi| vmi.meta.resource_version),
        };
        while cached
            .next_if(|(_, view)| view.name < vm.meta.name)
            .is_some()
        {}
        let view = match cached.next_if(|(_, view)| view.name == vm.meta.name) {
            Some((old_stamp, view)) if old_stamp == stamp => view,
            _ => vm_view(objects, vm, vmi),
        };
        views.push(view);
        stamps.push(stamp);
    }
    let cache = ViewCache {
        nodes,
        stamps,
        views: Vec::new(),
    };
    (views, cache)
}

fn vm_view(
    objects: &ObjectSet,
    vm: &VirtualMachine,
    vmi: Option<&VirtualMachineInstance>,
) -> algo::VmView {
    let vmi = vmi.map(|vmi| {
        let node = vmi
            .status
            .node_name
            .as_ref()
            .and_then(|n| objects.nodes.get(&ObjectKey::cluster(n)));
        algo::VmiView {
            phase: to_algo_phase(vmi.status.phase),
            ready: vmi.status.ready,
            ready_reason: vmi.status.ready_reason.clone(),
            node: vmi.status.node_name.clone(),
            node_ready: match node.map(|n| n.ready) {
                Some(ConditionStatus::True) => algo::NodeReadiness::True,
                Some(ConditionStatus::False) => algo::NodeReadiness::False,
                _ => algo::NodeReadiness::Unknown,
            },
            node_out_of_service: node
                .is_some_and(|n| n.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE)),
            revision: vmi.meta.labels.get(REVISION_LABEL).cloned(),
            deleting: vmi.meta.is_deleting(),
        }
    });
    algo::VmView {
        name: vm.meta.name.clone(),
        uid: vm.meta.uid.clone(),
        labels: vm.meta.labels.clone(),
        template_labels: vm.spec.template.labels.clone(),
        template_node_selector: vm.spec.template.spec.node_selector.clone(),
        controller_owner_uid: vm.meta.controller_ref().map(|r| r.uid.clone()),
        has_pool_finalizer: vm.meta.finalizers.iter().any(|f| f == POOL_FINALIZER),
        creation_ms: vm.meta.creation_timestamp.0,
        deleting: vm.meta.is_deleting(),
        ready: vm.status.ready,
        // `hasVMBeenFailingLongEnough` reads the Ready=False condition's lastProbeTime,
        // which `UpdateCondition` re-stamps on every reason change and the VM copies
        // from the VMI (`vm_ready_condition` in `controllers/vm.rs`). A VM whose
        // controller has not written the condition yet has none: not failing.
        ready_false_since_ms: (!vm.status.ready && vm.status.ready_reason.is_some())
            .then_some(vm.status.ready_probe.0),
        printable_status: vm.status.printable_status,
        start_failure_consecutive: vm
            .status
            .start_failure
            .map_or(0, |f| f.consecutive_fail_count),
        revision: vm.meta.labels.get(REVISION_LABEL).cloned(),
        vmi,
    }
}

pub fn sync(world: &mut World, key: &ObjectKey) {
    let Some(pool) = world
        .informer(InformerId::VirtController)
        .pools
        .get(key)
        .cloned()
    else {
        world.pool_state.expectations.remove(key);
        world.pool_state.revisions.remove(key);
        world.pool_state.views.remove(key);
        return;
    };
    let cache = world.pool_state.views.remove(key).unwrap_or_default();
    let (observation, mut cache) = observe(world, &pool, cache);
    let actions = {
        let streams = world.streams;
        let rng = world
            .rngs
            .entry("pool-controller")
            .or_insert_with(|| streams.stream("pool-controller"));
        world.algorithm.reconcile(&observation, rng)
    };
    if let Some(failure) = world.algorithm.failure() {
        world.fatal = Some(failure);
        return;
    }
    let mut failed = false;
    for action in actions {
        if let Action::ControllerPanic { message } = action {
            // The worker panics mid-`execute`: the writes before it are made, no
            // status is written, and the whole virt-controller process goes (the view
            // cache goes with it: the next sync builds every view afresh).
            crate::controllers::virt_controller::crash(world, key, &message);
            return;
        }
        failed |= !apply_action(world, &pool, &observation, action);
    }
    update_status(world, &pool, &observation, failed);
    cache.views = observation.vms;
    world.pool_state.views.insert(key.clone(), cache);
    if failed {
        world.requeue_rate_limited(ControllerId::Pool, key.clone());
    } else {
        world.forget(ControllerId::Pool, key);
    }
}

/// Perform one action; false if the API write failed (the sync is then retried
/// rate-limited and ReplicaFailure is set, as `execute` returns the error).
fn apply_action(
    world: &mut World,
    pool: &VirtualMachinePool,
    observation: &Observation,
    action: Action,
) -> bool {
    let key = pool.meta.key();
    let namespace = pool.meta.namespace.clone();
    let now = world.now();
    match action {
        // Handled by `sync` before any action reaches here.
        Action::ControllerPanic { .. } => true,
        Action::ReleaseVm { name } => {
            let vm_key = ObjectKey::new(&namespace, &name);
            let _ = world.store.modify::<VirtualMachine>(&vm_key, |vm| {
                vm.meta.owner_references.retain(|r| r.uid != pool.meta.uid);
                vm.meta.finalizers.retain(|f| f != POOL_FINALIZER);
            });
            world.record(
                "VirtualMachinePool",
                &pool.meta.name,
                "SuccessfulRelease",
                format!("Released VM {name}: its labels no longer match the selector"),
            );
            true
        }
        Action::AddPoolFinalizer => {
            let _ = world.store.modify::<VirtualMachinePool>(&key, |p| {
                if !p.meta.finalizers.iter().any(|f| f == POOL_FINALIZER) {
                    p.meta.finalizers.push(POOL_FINALIZER.into());
                }
            });
            true
        }
        Action::RemovePoolFinalizer => {
            let _ = world.store.modify::<VirtualMachinePool>(&key, |p| {
                p.meta.finalizers.retain(|f| f != POOL_FINALIZER)
            });
            true
        }
        Action::CreateRevision { name } => {
            let revisions = world.pool_state.revisions.entry(key).or_default();
            if !revisions.iter().any(|r| r.name == name) {
                revisions.push(algo::RevisionView {
                    name,
                    template: observation.pool.template.clone(),
                });
            }
            true
        }
        Action::DeleteRevision { name } => {
            if let Some(revisions) = world.pool_state.revisions.get_mut(&key) {
                revisions.retain(|r| r.name != name);
            }
            true
        }
        Action::CreateVm {
            index,
            name,
            revision,
        } => {
            let vm = indexed_vm(pool, index, &name, &revision);
            let expectation = world
                .pool_state
                .expectations
                .entry(key.clone())
                .or_default();
            expectation.adds += 1;
            expectation.set_at = now;
            match world.store.create(vm, now) {
                Ok(_) => {
                    world.pool_state.created_total += 1;
                    world.record(
                        "VirtualMachinePool",
                        &pool.meta.name,
                        "SuccessfulCreate",
                        format!("Created VM {namespace}/{name}"),
                    );
                    true
                }
                Err(error) => {
                    if let Some(e) = world.pool_state.expectations.get_mut(&key) {
                        e.adds -= 1;
                    }
                    world.record(
                        "VirtualMachinePool",
                        &pool.meta.name,
                        "FailedCreate",
                        format!("Error creating VM {name}: {error}"),
                    );
                    false
                }
            }
        }
        Action::DeleteVm {
            name,
            reason,
            preserve_state,
            foreground,
        } => {
            let vm_key = ObjectKey::new(&namespace, &name);
            let Some(vm) = world
                .informer(InformerId::VirtController)
                .vms
                .get(&vm_key)
                .cloned()
            else {
                return true;
            };
            if preserve_state {
                release_volumes(world, &vm);
            }
            let expectation = world
                .pool_state
                .expectations
                .entry(key.clone())
                .or_default();
            expectation.deletes.insert(vm.meta.uid.clone());
            expectation.set_at = now;
            // `handleResourceUpdate` deletes with `PropagationPolicy: Foreground` on a
            // dataVolumeTemplates change; every other pool delete is background.
            let deleted = if foreground {
                world
                    .store
                    .delete_foreground::<VirtualMachine>(&vm_key, now)
            } else {
                world.store.delete::<VirtualMachine>(&vm_key, None, now)
            };
            match deleted {
                Ok(()) => {
                    // `statePreservationCleanupforVM`: the pool's finalizer goes at once.
                    let _ = world.store.modify::<VirtualMachine>(&vm_key, |vm| {
                        vm.meta.finalizers.retain(|f| f != POOL_FINALIZER)
                    });
                    world.record(
                        "VirtualMachinePool",
                        &pool.meta.name,
                        "SuccessfulDelete",
                        format!("Deleted VM {namespace}/{name} ({})", reason.as_str()),
                    );
                    true
                }
                Err(_) => {
                    if let Some(e) = world.pool_state.expectations.get_mut(&key) {
                        e.deletes.remove(&vm.meta.uid);
                    }
                    true
                }
            }
        }
        Action::FinalizeVm {
            name,
            preserve_state,
        } => {
            let vm_key = ObjectKey::new(&namespace, &name);
            if preserve_state {
                if let Some(vm) = world
                    .informer(InformerId::VirtController)
                    .vms
                    .get(&vm_key)
                    .cloned()
                {
                    release_volumes(world, &vm);
                }
            }
            let _ = world.store.modify::<VirtualMachine>(&vm_key, |vm| {
                vm.meta.finalizers.retain(|f| f != POOL_FINALIZER)
            });
            true
        }
        Action::UpdateVm { name, revision } => {
            let vm_key = ObjectKey::new(&namespace, &name);
            let index = algo::index_from_name(&name).unwrap_or(0).max(0) as u32;
            let updated = indexed_vm(pool, index, &name, &revision);
            let _ = world.store.modify::<VirtualMachine>(&vm_key, |vm| {
                vm.spec = updated.spec.clone();
                vm.meta.labels = updated.meta.labels.clone();
                vm.meta.annotations = updated.meta.annotations.clone();
                vm.meta.generation += 1;
            });
            world.record(
                "VirtualMachinePool",
                &pool.meta.name,
                "SuccessfulUpdate",
                format!("Updated VM {namespace}/{name} to revision {revision}"),
            );
            true
        }
        Action::RestartVm { name } => {
            let vmi_key = ObjectKey::new(&namespace, &name);
            let _ = world
                .store
                .delete::<VirtualMachineInstance>(&vmi_key, None, now);
            world.record(
                "VirtualMachinePool",
                &pool.meta.name,
                "SuccessfulRestart",
                format!("Restarted VM {namespace}/{name} to apply the new template"),
            );
            true
        }
        Action::PatchVmiRevision { name, revision } => {
            let vmi_key = ObjectKey::new(&namespace, &name);
            let _ = world
                .store
                .modify::<VirtualMachineInstance>(&vmi_key, |vmi| {
                    vmi.meta
                        .labels
                        .insert(REVISION_LABEL.into(), revision.clone());
                });
            true
        }
        Action::RequeueAfter { delay_ms } => {
            world.enqueue_after(ControllerId::Pool, key, delay_ms);
            true
        }
    }
}

/// State preservation: the VM's DataVolumes and PVCs lose their owner references so
/// the garbage collector keeps them.
fn release_volumes(world: &mut World, vm: &VirtualMachine) {
    for template in &vm.spec.data_volume_templates {
        let key = ObjectKey::new(&vm.meta.namespace, &template.name);
        let _ = world.store.modify::<DataVolume>(&key, |dv| {
            dv.meta.owner_references.retain(|r| r.uid != vm.meta.uid)
        });
    }
}

/// `indexVMSpec`: the pool's VM template with the index applied to DataVolume names,
/// the volumes that use them, and (with `nameGeneration`) Secret and ConfigMap refs.
pub fn indexed_vm(
    pool: &VirtualMachinePool,
    index: u32,
    name: &str,
    revision: &str,
) -> VirtualMachine {
    let template = &pool.spec.template;
    let mut spec = template.spec.clone();
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    for dv in &mut spec.data_volume_templates {
        let new_name = format!("{}-{index}", dv.name);
        renamed.insert(dv.name.clone(), new_name.clone());
        dv.name = new_name;
    }
    let suffix = |n: &mut String| {
        n.push('-');
        n.push_str(&index.to_string());
    };
    for volume in &mut spec.template.spec.volumes {
        match &mut volume.source {
            VolumeSource::DataVolume { name }
            | VolumeSource::PersistentVolumeClaim { claim_name: name } => {
                if let Some(new_name) = renamed.get(name.as_str()) {
                    *name = new_name.clone();
                }
            }
            VolumeSource::CloudInitNoCloud {
                user_data_secret,
                network_data_secret,
            }
            | VolumeSource::CloudInitConfigDrive {
                user_data_secret,
                network_data_secret,
            } => {
                if pool.spec.append_index_to_secret_refs {
                    for secret in [user_data_secret, network_data_secret]
                        .into_iter()
                        .flatten()
                    {
                        suffix(secret);
                    }
                }
            }
            VolumeSource::Secret { secret_name } => {
                if pool.spec.append_index_to_secret_refs {
                    suffix(secret_name);
                }
            }
            VolumeSource::ConfigMap { name } => {
                if pool.spec.append_index_to_config_map_refs {
                    suffix(name);
                }
            }
            _ => {}
        }
    }
    let mut labels = template.labels.clone();
    labels.insert(REVISION_LABEL.into(), revision.to_string());
    // The VMI carries the revision too, so `isOutdatedVMI` can compare them.
    spec.template
        .labels
        .insert(REVISION_LABEL.into(), revision.to_string());
    VirtualMachine {
        meta: ObjectMeta {
            labels,
            annotations: template.annotations.clone(),
            owner_references: vec![controller_ref(Kind::VirtualMachinePool, &pool.meta)],
            finalizers: vec![POOL_FINALIZER.into()],
            ..ObjectMeta::named(&pool.meta.namespace, name)
        },
        spec,
        status: VmStatus {
            created_by_pool: Some(pool.meta.name.clone()),
            ..VmStatus::default()
        },
    }
}

/// `updateStatus`: from the VM list as observed before this round's actions.
fn update_status(
    world: &mut World,
    pool: &VirtualMachinePool,
    observation: &Observation,
    failed: bool,
) {
    let owned: Vec<&algo::VmView> = observation
        .vms
        .iter()
        .filter(|vm| {
            vm.is_controlled_by(&pool.meta.uid) && observation.pool.selector.matches(&vm.labels)
        })
        .collect();
    let replicas = owned.len() as i32;
    let ready = owned.iter().filter(|vm| vm.ready).count() as i32;
    let selector = pool.spec.selector.to_selector_string();
    let now = world.now();
    let paused = pool.spec.paused;
    // `updateStatus` in pool.go: the ReplicaPaused condition follows `spec.paused`
    // (reason `SuccessfulPaused`), with an event on each change
    // (`SuccessfulPausedPoolReason`, `SuccessfulResumePoolReason`).
    let had_paused_condition = pool
        .status
        .conditions
        .iter()
        .any(|c| c.kind == "ReplicaPaused");
    let _ = world
        .store
        .modify::<VirtualMachinePool>(&pool.meta.key(), |p| {
            p.status.replicas = replicas;
            p.status.ready_replicas = ready;
            p.status.label_selector = selector;
            set_condition(
                &mut p.status.conditions,
                "ReplicaFailure",
                failed,
                "FailedCreate",
                "an API write of the last reconcile failed",
                now,
            );
            set_condition(
                &mut p.status.conditions,
                "ReplicaPaused",
                paused,
                "SuccessfulPaused",
                "Pool controller is paused",
                now,
            );
        });
    if paused && !had_paused_condition {
        world.record(
            "VirtualMachinePool",
            &pool.meta.name,
            "SuccessfulPaused",
            "Pool is paused",
        );
    } else if !paused && had_paused_condition {
        world.record(
            "VirtualMachinePool",
            &pool.meta.name,
            "SuccessfulResume",
            "Pool is unpaused",
        );
    }
}

fn set_condition(
    conditions: &mut Vec<Condition>,
    kind: &str,
    present: bool,
    reason: &str,
    message: &str,
    now: SimTime,
) {
    let existing = conditions.iter().position(|c| c.kind == kind);
    match (existing, present) {
        (None, true) => conditions.push(Condition {
            kind: kind.into(),
            status: ConditionStatus::True,
            reason: reason.into(),
            message: message.into(),
            last_transition: now,
        }),
        (Some(i), false) => {
            conditions.remove(i);
        }
        _ => {}
    }
}
