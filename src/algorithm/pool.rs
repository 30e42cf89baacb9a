//! The reconcile of `pkg/virt-controller/watch/pool/pool.go` (`execute`, `scale`,
//! `update`, `pruneUnusedRevisions`, `handlePoolDeletion`, `autoHealFailingVMs`) as a
//! pure decision, with the rule that decides which VMs count towards `replicas` left
//! open: [`InstanceCounting`]. The three built-in algorithms differ only in that rule.

use rand::RngCore;

use super::action::{Action, DeleteReason};
use super::observation::{
    AutohealingView, IntOrPercent, Observation, PoolView, ScaleInStrategy, SortPolicy,
    StatePreservation, UpdateStrategy, VmSelectors, VmView, VmiView,
};
use super::selection::{index_from_name, lowest_free_indices, sort_by_policy};
use super::ReconcileAlgorithm;

/// `defaultRetryDelay` in `pool.go`: the requeue when the `maxUnavailable` budget is spent.
pub const UPDATE_RETRY_DELAY_MS: u64 = 3_000;

/// Which owned VMs count towards `spec.replicas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceCounting {
    /// `pool.go` `calcDiff`: every owned VM, terminating ones included; the VMI is
    /// never looked at.
    OwnedVms,
    /// The VMI replica set's `filterActiveVMIs`
    /// (`pkg/virt-controller/watch/replicaset/replicaset.go`) applied to VMs: a VM counts
    /// unless it is terminating or its VMI is final (Succeeded/Failed) or unknown
    /// (Ready=False, reason PodTerminating). VMs that do not count and are not yet
    /// terminating are deleted after scaling (`cleanFinishedVmis`).
    ActiveInstances,
    /// As `ActiveInstances`, but an unknown VMI keeps counting until its node is out of
    /// service (the `node.kubernetes.io/out-of-service` taint), so the guest is known to
    /// be gone before a replacement starts.
    ActiveInstancesUntilFenced,
}

impl InstanceCounting {
    /// Whether this owned VM counts towards `replicas`.
    pub fn counts(self, vm: &VmView) -> bool {
        match self {
            InstanceCounting::OwnedVms => true,
            InstanceCounting::ActiveInstances => {
                !vm.deleting
                    && vm
                        .vmi
                        .as_ref()
                        .is_none_or(|vmi| !vmi.is_final() && !vmi.is_unknown())
            }
            InstanceCounting::ActiveInstancesUntilFenced => {
                !vm.deleting
                    && vm.vmi.as_ref().is_none_or(|vmi| {
                        let fenced_unknown = vmi.is_unknown() && vmi.node_out_of_service;
                        !(vmi.is_final() || fenced_unknown)
                    })
            }
        }
    }
}

/// `kubevirt-pool`: the upstream VirtualMachinePool controller.
#[derive(Debug, Clone, Copy, Default)]
pub struct KubevirtPool;

/// `kubevirt-vmirs`: the pool controller with the VMI replica set's counting rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct KubevirtVmirs;

/// `vmirs-fenced`: the replica set's rule, but unknown instances are replaced only once
/// their node is fenced.
#[derive(Debug, Clone, Copy, Default)]
pub struct VmirsFenced;

impl ReconcileAlgorithm for KubevirtPool {
    fn name(&self) -> &'static str {
        "kubevirt-pool"
    }
    fn summary(&self) -> &'static str {
        "upstream VirtualMachinePool controller: every owned VM counts, terminating ones too; VMI state ignored"
    }
    fn reconcile(&self, observed: &Observation, rng: &mut dyn RngCore) -> Vec<Action> {
        reconcile_pool_with(
            observed,
            InstanceCounting::OwnedVms,
            SliceBounds::Panic,
            rng,
        )
    }
}

impl ReconcileAlgorithm for KubevirtVmirs {
    fn name(&self) -> &'static str {
        "kubevirt-vmirs"
    }
    fn summary(&self) -> &'static str {
        "VMI replica set rule: final or unknown instances do not count and are replaced at once (no maximum guarantee)"
    }
    fn reconcile(&self, observed: &Observation, rng: &mut dyn RngCore) -> Vec<Action> {
        reconcile_pool(observed, InstanceCounting::ActiveInstances, rng)
    }
}

impl ReconcileAlgorithm for VmirsFenced {
    fn name(&self) -> &'static str {
        "vmirs-fenced"
    }
    fn summary(&self) -> &'static str {
        "replica set rule, but an unknown instance is replaced only once its node is out of service (keeps the maximum)"
    }
    fn reconcile(&self, observed: &Observation, rng: &mut dyn RngCore) -> Vec<Action> {
        reconcile_pool(observed, InstanceCounting::ActiveInstancesUntilFenced, rng)
    }
}

/// What `scaleIn`'s `eligibleVMs[0:count]` does when `count` is out of the slice's
/// range (`pool.go`): more VMs already terminating than the excess make `count`
/// negative, and scale-in selectors can leave fewer VMs than `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceBounds {
    /// As upstream: the worker panics; the reconcile ends with
    /// [`Action::ControllerPanic`] after the actions already issued.
    Panic,
    /// Delete what is in range instead (the replica-set algorithms, which have no
    /// such slice).
    Clamp,
}

/// [`reconcile_pool_with`], deleting what is in range where upstream's slice panics
/// ([`SliceBounds::Clamp`]).
pub fn reconcile_pool(
    observed: &Observation,
    counting: InstanceCounting,
    rng: &mut dyn RngCore,
) -> Vec<Action> {
    reconcile_pool_with(observed, counting, SliceBounds::Clamp, rng)
}

/// One reconcile of one pool, `execute` in `pool.go`, in its order:
/// 1. nothing at all if the selector does not match the template labels;
/// 2. autohealing, over every VM in the namespace (upstream runs it before ownership is
///    checked, so it also deletes failing VMs the pool does not own), even when paused;
/// 3. release owned VMs whose labels no longer match (`ReleaseDetachedVirtualMachines`;
///    orphans are never adopted; nothing is released while the pool is being deleted);
/// 4. add the pool finalizer;
/// 5. if expectations are satisfied (and autohealing deleted nothing in this round: its
///    deletions raise expectations), not paused and not deleting: scale; if scale was
///    stable, update; if update was stable and nothing raised expectations, prune
///    revisions. A pool being deleted instead drops its finalizers and prunes.
///
/// With [`SliceBounds::Panic`], a scale-in slice out of range (in autohealing or in
/// scale) ends the actions with [`Action::ControllerPanic`], as the worker panics there.
pub fn reconcile_pool_with(
    observed: &Observation,
    counting: InstanceCounting,
    bounds: SliceBounds,
    rng: &mut dyn RngCore,
) -> Vec<Action> {
    let pool = &observed.pool;
    let mut actions = Vec::new();
    if !pool.selector.matches(&pool.template_labels) {
        return actions;
    }

    let mut expectations_satisfied = observed.expectations_satisfied;
    if let Some(autohealing) = pool.autohealing {
        let failing: Vec<&VmView> = observed
            .vms
            .iter()
            .filter(|vm| is_failing_to_start(vm, autohealing, observed.now_ms))
            .collect();
        let count = failing.len() as i64;
        let doomed = match select_for_scale_in(pool, failing, count, bounds, rng) {
            Ok(doomed) => doomed,
            Err(panic) => {
                actions.push(panic);
                return actions;
            }
        };
        if !doomed.is_empty() {
            expectations_satisfied = false;
        }
        push_deletions(&mut actions, pool, &doomed, DeleteReason::Autohealing);
    }

    let mut owned: Vec<&VmView> = Vec::new();
    for vm in observed
        .vms
        .iter()
        .filter(|vm| vm.is_controlled_by(&pool.uid))
    {
        if pool.selector.matches(&vm.labels) {
            owned.push(vm);
        } else if !pool.deleting {
            actions.push(Action::ReleaseVm {
                name: vm.name.clone(),
            });
        }
    }

    if !pool.deleting && !pool.has_finalizer {
        actions.push(Action::AddPoolFinalizer);
    }

    if expectations_satisfied && !pool.paused && !pool.deleting {
        let scale = scale(observed, &owned, counting, bounds, rng, &mut actions);
        if matches!(actions.last(), Some(Action::ControllerPanic { .. })) {
            return actions;
        }
        if scale.stable && !scale.raised_expectations {
            let update = update(observed, &owned, rng, &mut actions);
            if update.stable && !update.raised_expectations {
                prune_revisions(observed, &owned, &mut actions);
            }
        }
    } else if pool.deleting {
        // handlePoolDeletion: every VM in the namespace that matches the selector and
        // carries the pool finalizer, owned or not.
        for vm in &observed.vms {
            if pool.selector.matches(&vm.labels) && vm.has_pool_finalizer {
                actions.push(Action::FinalizeVm {
                    name: vm.name.clone(),
                    preserve_state: false,
                });
            }
        }
        if pool.has_finalizer {
            actions.push(Action::RemovePoolFinalizer);
        }
        prune_revisions(observed, &owned, &mut actions);
    }
    actions
}

/// What a step left behind: whether it found nothing to do (`scaleIsStable`,
/// `vmUpdateStable`) and whether its writes raised expectations, which makes the next
/// `SatisfiedExpectations` check in `execute` fail.
struct StepOutcome {
    stable: bool,
    raised_expectations: bool,
}

/// `filterFailingVMsToStart`: too many consecutive start failures, or an autohealable
/// printable status with Ready=False probed at least `min_failing_to_start_duration`
/// ago (`hasVMBeenFailingLongEnough`).
fn is_failing_to_start(vm: &VmView, autohealing: AutohealingView, now_ms: u64) -> bool {
    if vm.start_failure_consecutive >= autohealing.start_up_failure_threshold {
        return true;
    }
    vm.printable_status.is_autohealable_failure()
        && vm.ready_false_since_ms.is_some_and(|since_ms| {
            now_ms.saturating_sub(since_ms) >= autohealing.min_failing_to_start_duration_ms
        })
}

/// `scale` in `pool.go`, with the counting rule and, for the replica-set rules,
/// `cleanFinishedVmis`.
fn scale<'a>(
    observed: &'a Observation,
    owned: &[&'a VmView],
    counting: InstanceCounting,
    bounds: SliceBounds,
    rng: &mut dyn RngCore,
    actions: &mut Vec<Action>,
) -> StepOutcome {
    let pool = &observed.pool;
    let counted: Vec<&VmView> = owned
        .iter()
        .copied()
        .filter(|vm| counting.counts(vm))
        .collect();
    let diff = counted.len() as i64 - i64::from(pool.replicas);
    let burst = observed.burst_replicas as i64;
    let mut raised_expectations = false;

    if diff == 0 {
        opportunistic_scale_in(pool, owned, actions);
    } else if diff < 0 {
        let count = (-diff).min(burst) as usize;
        let names = observed.vms.iter().map(|vm| vm.name.as_str());
        let indices = lowest_free_indices(names, &pool.name, count);
        ensure_current_revision(observed, actions);
        for index in indices {
            actions.push(Action::CreateVm {
                index,
                name: super::vm_name(&pool.name, index),
                revision: pool.current_revision.clone(),
            });
        }
        raised_expectations = true;
    } else if matches!(pool.scale_in, ScaleInStrategy::Proactive { .. }) {
        // proactiveScaleIn: terminating VMs already count as removed.
        let terminating = counted.iter().filter(|vm| vm.deleting).count() as i64;
        let eligible: Vec<&VmView> = counted.iter().copied().filter(|vm| !vm.deleting).collect();
        let count = diff.min(burst) - terminating;
        let doomed = match select_for_scale_in(pool, eligible, count, bounds, rng) {
            Ok(doomed) => doomed,
            Err(panic) => {
                actions.push(panic);
                return StepOutcome {
                    stable: false,
                    raised_expectations: false,
                };
            }
        };
        raised_expectations |= !doomed.is_empty();
        push_deletions(actions, pool, &doomed, DeleteReason::ScaleIn);
    }

    if counting != InstanceCounting::OwnedVms {
        // cleanFinishedVmis: owned VMs that do not count and are not terminating yet.
        let leftovers: Vec<&VmView> = owned
            .iter()
            .copied()
            .filter(|vm| !vm.deleting && !counting.counts(vm))
            .take(observed.burst_replicas)
            .collect();
        for vm in &leftovers {
            let finished = vm.vmi.as_ref().is_some_and(VmiView::is_final);
            let reason = if finished {
                DeleteReason::InstanceFinished
            } else {
                DeleteReason::InstanceUnknown
            };
            push_deletions(actions, pool, std::slice::from_ref(vm), reason);
        }
        raised_expectations |= !leftovers.is_empty();
    }

    StepOutcome {
        stable: diff == 0,
        raised_expectations,
    }
}

/// `opportunisticScaleIn`, run whenever the count is right (whatever the strategy but
/// Unmanaged): finish off owned VMs that are terminating.
fn opportunistic_scale_in(pool: &PoolView, owned: &[&VmView], actions: &mut Vec<Action>) {
    let preserve_state = match pool.scale_in {
        ScaleInStrategy::Unmanaged => return,
        ScaleInStrategy::Opportunistic { state_preservation } => state_preservation.is_enabled(),
        ScaleInStrategy::Proactive { .. } => false,
    };
    for vm in owned.iter().filter(|vm| vm.deleting) {
        if preserve_state || vm.has_pool_finalizer {
            actions.push(Action::FinalizeVm {
                name: vm.name.clone(),
                preserve_state,
            });
        }
    }
}

/// `scaleIn` in `pool.go` (shared by scale-in and autohealing): up to `count` of the
/// non-terminating `vms`, terminating ones counting against `count`, ordered by the
/// scale-in sort policy, then filtered by the scale-in selectors.
///
/// Two upstream edge cases slice `eligibleVMs[0:count]` out of range: a negative count
/// (more VMs already terminating than the excess, e.g. replicas raised again during a
/// scale-in) and selectors that leave fewer VMs than `count`. With
/// [`SliceBounds::Panic`] they are an `Err` holding the [`Action::ControllerPanic`];
/// with [`SliceBounds::Clamp`] they delete what they can.
fn select_for_scale_in<'a>(
    pool: &PoolView,
    vms: Vec<&'a VmView>,
    count: i64,
    bounds: SliceBounds,
    rng: &mut dyn RngCore,
) -> Result<Vec<&'a VmView>, Action> {
    // Upstream returns early only on a zero count; a negative one runs on to the
    // slice. Clamping, it deletes nothing, without drawing for the Random sort.
    let nothing = |count: i64| count == 0 || count < 0 && bounds == SliceBounds::Clamp;
    if vms.is_empty() || nothing(count) {
        return Ok(Vec::new());
    }
    let count = count.min(vms.len() as i64);
    let mut eligible: Vec<&VmView> = vms.iter().copied().filter(|vm| !vm.deleting).collect();
    let count = count - (vms.len() - eligible.len()) as i64;
    if eligible.is_empty() || nothing(count) {
        return Ok(Vec::new());
    }
    let (sort_policy, selectors) = match &pool.scale_in {
        ScaleInStrategy::Proactive {
            sort_policy,
            selectors,
            ..
        } => (*sort_policy, selectors.as_ref()),
        _ => (SortPolicy::Random, None),
    };
    sort_by_policy(&mut eligible, sort_policy, rng);
    // `filterVMsBasedOnSelectors` builds a new slice by `append` only when a selector
    // is set; its capacity decides which runtime error the slice raises.
    let mut capacity = eligible.len();
    let set =
        |s: &&VmSelectors| s.label_selector.is_some() || s.node_selector_requirements.is_some();
    if let Some(selectors) = selectors.filter(set) {
        eligible.retain(|vm| selectors.matches(vm));
        capacity = go_append_capacity(eligible.len());
    }
    if bounds == SliceBounds::Panic {
        if let Some(message) = slice_panic(count, eligible.len(), capacity) {
            return Err(Action::ControllerPanic { message });
        }
    }
    eligible.truncate(count.max(0) as usize);
    Ok(eligible)
}

/// The Go runtime error of `deleteList := eligibleVMs[0:count]` and what follows it,
/// if any: a negative bound or one past the capacity panics at the slice; a bound
/// within the capacity but past the length yields nil entries, and
/// `controller.VirtualMachineKeys(deleteList)` then dereferences one.
pub fn slice_panic(count: i64, len: usize, capacity: usize) -> Option<String> {
    if count < 0 {
        Some(format!(
            "runtime error: slice bounds out of range [:{count}]"
        ))
    } else if count as usize > capacity {
        Some(format!(
            "runtime error: slice bounds out of range [:{count}] with capacity {capacity}"
        ))
    } else if count as usize > len {
        Some("runtime error: invalid memory address or nil pointer dereference".into())
    } else {
        None
    }
}

/// The capacity of a Go `[]*T` grown from nil by `len` single appends: `growslice`
/// doubles below 256 elements and rounds to the allocator's size classes, which for
/// 8-byte elements keeps powers of two up to 256 (`runtime/slice.go`,
/// `runtime/sizeclasses.go`). Past 256 it grows by a quarter plus 192; the size-class
/// rounding there is not modelled (it only changes which of two panic messages a
/// selector that leaves more than 256 VMs short produces).
fn go_append_capacity(len: usize) -> usize {
    let mut capacity = 0usize;
    while capacity < len {
        capacity = if capacity == 0 {
            1
        } else if capacity < 256 {
            capacity * 2
        } else {
            capacity + (capacity + 3 * 256) / 4
        };
    }
    capacity
}

/// `resolveProactiveScaleInStatePreservation`: deletions keep volumes only under a
/// proactive strategy that asks for it, autohealing included.
fn proactive_state_preservation(pool: &PoolView) -> StatePreservation {
    match pool.scale_in {
        ScaleInStrategy::Proactive {
            state_preservation, ..
        } => state_preservation,
        _ => StatePreservation::Disabled,
    }
}

fn push_deletions(
    actions: &mut Vec<Action>,
    pool: &PoolView,
    vms: &[&VmView],
    reason: DeleteReason,
) {
    let preserve_state = proactive_state_preservation(pool).is_enabled();
    actions.extend(vms.iter().map(|vm| Action::DeleteVm {
        name: vm.name.clone(),
        reason,
        preserve_state,
        foreground: false,
    }));
}

/// `ensureControllerRevision`: create the current revision unless the cache holds it.
/// Returns whether it was created (which raises expectations).
fn ensure_current_revision(observed: &Observation, actions: &mut Vec<Action>) -> bool {
    let name = &observed.pool.current_revision;
    if observed.revision(name).is_some() {
        return false;
    }
    actions.push(Action::CreateRevision { name: name.clone() });
    true
}

/// `update` in `pool.go`: rewrite outdated VMs (always), then restart outdated VMIs of
/// up-to-date VMs within the `maxUnavailable` budget (unless opportunistic).
fn update(
    observed: &Observation,
    owned: &[&VmView],
    rng: &mut dyn RngCore,
    actions: &mut Vec<Action>,
) -> StepOutcome {
    let pool = &observed.pool;
    if pool.update == UpdateStrategy::Unmanaged {
        return StepOutcome {
            stable: true,
            raised_expectations: false,
        };
    }
    let selected: Vec<&VmView> = owned
        .iter()
        .copied()
        .filter(|vm| match &pool.update {
            UpdateStrategy::Proactive {
                selectors: Some(selectors),
                ..
            } => selectors.matches(vm),
            _ => true,
        })
        .collect();
    let (outdated, up_to_date): (Vec<&VmView>, Vec<&VmView>) = selected
        .into_iter()
        .partition(|vm| is_outdated_vm(observed, vm));

    let mut raised_expectations = false;
    if !outdated.is_empty() {
        raised_expectations = ensure_current_revision(observed, actions);
        // opportunisticUpdate fails for a name without an index; such a VM is skipped.
        for vm in outdated
            .iter()
            .filter(|vm| index_from_name(&vm.name).is_some())
        {
            actions.push(Action::UpdateVm {
                name: vm.name.clone(),
                revision: pool.current_revision.clone(),
            });
        }
    }
    if pool.update != UpdateStrategy::Opportunistic {
        proactive_update(observed, up_to_date, rng, actions);
    }
    StepOutcome {
        stable: outdated.is_empty(),
        raised_expectations,
    }
}

/// `isOutdatedVM`: no revision label, a revision the cache lacks, or a revision whose
/// VM template differs from the pool's.
fn is_outdated_vm(observed: &Observation, vm: &VmView) -> bool {
    let Some(revision_name) = &vm.revision else {
        return true;
    };
    observed
        .revision(revision_name)
        .is_none_or(|revision| revision.template.vm_template != observed.pool.template.vm_template)
}

/// What `isOutdatedVMI` decides for a running VMI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VmiUpdate {
    None,
    Restart,
    DeleteVm,
    PatchRevisionLabel,
}

/// `isOutdatedVMI`, its rules in its order.
fn outdated_vmi(observed: &Observation, vm: &VmView, vmi: &VmiView) -> VmiUpdate {
    let Some(vm_revision) = &vm.revision else {
        return VmiUpdate::None;
    };
    let Some(vmi_revision) = &vmi.revision else {
        return VmiUpdate::Restart;
    };
    if vm_revision == vmi_revision {
        return VmiUpdate::None;
    }
    let Some(expected) = observed.revision(vm_revision) else {
        return VmiUpdate::None;
    };
    let Some(current) = observed.revision(vmi_revision) else {
        return VmiUpdate::Restart;
    };
    if current.template.data_volume_templates != expected.template.data_volume_templates {
        VmiUpdate::DeleteVm
    } else if current.template.vmi_template != expected.template.vmi_template {
        VmiUpdate::Restart
    } else {
        VmiUpdate::PatchRevisionLabel
    }
}

/// `handleResourceUpdate`.
fn push_vmi_update(actions: &mut Vec<Action>, vm: &VmView, kind: VmiUpdate) {
    match kind {
        VmiUpdate::None => {}
        VmiUpdate::Restart => actions.push(Action::RestartVm {
            name: vm.name.clone(),
        }),
        VmiUpdate::DeleteVm => actions.push(Action::DeleteVm {
            name: vm.name.clone(),
            reason: DeleteReason::DataVolumeChange,
            preserve_state: false,
            foreground: true,
        }),
        VmiUpdate::PatchRevisionLabel => {
            if let Some(revision) = &vm.revision {
                actions.push(Action::PatchVmiRevision {
                    name: vm.name.clone(),
                    revision: revision.clone(),
                });
            }
        }
    }
}

/// `calculateMaxUnavailableInt`: a percentage of `replicas` rounded down, at least 1.
pub fn max_unavailable_count(pool: &PoolView) -> i64 {
    let count = match pool.max_unavailable {
        IntOrPercent::Int(count) => i64::from(count),
        IntOrPercent::Percent(percent) => i64::from(pool.replicas) * i64::from(percent) / 100,
    };
    count.max(1)
}

/// `proactiveUpdate`: first restart not-ready VMs with outdated VMIs regardless of the
/// budget (`handleUnhealthyVMIs`), then restart outdated VMIs while fewer than
/// `maxUnavailable` VMs are unavailable, requeueing after 3 s once the budget is spent
/// and VMs remain to be looked at.
fn proactive_update(
    observed: &Observation,
    mut vms: Vec<&VmView>,
    rng: &mut dyn RngCore,
    actions: &mut Vec<Action>,
) {
    for vm in vms.iter().filter(|vm| !vm.ready) {
        if let Some(vmi) = vm.vmi.as_ref().filter(|vmi| !vmi.deleting) {
            push_vmi_update(actions, vm, outdated_vmi(observed, vm, vmi));
        }
    }

    let unavailable = vms
        .iter()
        .filter(|vm| !vm.vmi.as_ref().is_some_and(VmiView::is_available))
        .count() as i64;
    if let UpdateStrategy::Proactive { sort_policy, .. } = observed.pool.update {
        sort_by_policy(&mut vms, sort_policy, rng);
    }

    let mut budget = max_unavailable_count(&observed.pool) - unavailable;
    for vm in vms {
        if budget <= 0 {
            actions.push(Action::RequeueAfter {
                delay_ms: UPDATE_RETRY_DELAY_MS,
            });
            return;
        }
        let Some(vmi) = &vm.vmi else {
            continue;
        };
        let kind = outdated_vmi(observed, vm, vmi);
        if kind == VmiUpdate::None {
            continue;
        }
        push_vmi_update(actions, vm, kind);
        budget -= 1;
    }
}

/// `pruneUnusedRevisions`: delete the pool's revisions that no owned VM and no VMI of
/// an owned VM refers to (the current one included, if nothing refers to it).
fn prune_revisions(observed: &Observation, owned: &[&VmView], actions: &mut Vec<Action>) {
    for revision in &observed.revisions {
        let in_use = owned.iter().any(|vm| {
            vm.revision.as_deref() == Some(revision.name.as_str())
                || vm
                    .vmi
                    .as_ref()
                    .is_some_and(|vmi| vmi.revision.as_deref() == Some(revision.name.as_str()))
        });
        if !in_use {
            actions.push(Action::DeleteRevision {
                name: revision.name.clone(),
            });
        }
    }
}
