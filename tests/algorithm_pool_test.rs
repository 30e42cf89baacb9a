//! Upstream `pkg/virt-controller/watch/pool/pool_test.go` (kubevirt/kubevirt), ported to
//! the pure decision: each test names the `It(...)` or `Entry(...)` it ports. As upstream,
//! the pool is `my-pool` and the burst is 10. Upstream cases that test how a write is
//! carried out (status conditions, failed API calls, name generation in the VM spec,
//! firmware preservation, finalizers on created VMs) belong to the runtime and are not
//! here; see docs/ALGORITHMS.md.

use std::collections::BTreeMap;

use poolsim::algorithm::{
    builtin, lowest_free_indices, Action, AutohealingView, DeleteReason, IntOrPercent,
    LabelSelector, NodeReadiness, Observation, PoolView, PrintableStatus, RevisionView,
    ScaleInStrategy, SelectorOperator, SelectorRequirement, SortPolicy, StatePreservation,
    TemplateDigest, UpdateStrategy, VmSelectors, VmView, VmiPhase, VmiView, POD_TERMINATING_REASON,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const POOL_UID: &str = "my-pool-uid";
const NOW_MS: u64 = 3_600_000;
const MINUTE_MS: u64 = 60_000;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn digest(vm: &str, vmi: &str, dv: &str) -> TemplateDigest {
    TemplateDigest {
        vm_template: vm.into(),
        vmi_template: vmi.into(),
        data_volume_templates: dv.into(),
    }
}

fn old_template() -> TemplateDigest {
    digest("vm-a", "vmi-a", "dv-a")
}

/// The upstream tests' template change: a new label in `spec.template.metadata`, which
/// changes both the VM template and the VMI template.
fn new_template() -> TemplateDigest {
    digest("vm-b", "vmi-b", "dv-a")
}

fn revision(name: &str, template: TemplateDigest) -> RevisionView {
    RevisionView {
        name: name.into(),
        template,
    }
}

/// `DefaultPool(replicas)`: selector `selector=value`, generation 0.
fn pool(replicas: i32) -> PoolView {
    let selector_labels = labels(&[("selector", "value")]);
    PoolView {
        name: "my-pool".into(),
        uid: POOL_UID.into(),
        replicas,
        paused: false,
        deleting: false,
        has_finalizer: true,
        selector: LabelSelector::from_labels(&selector_labels),
        template_labels: selector_labels,
        scale_in: ScaleInStrategy::default(),
        update: UpdateStrategy::default(),
        max_unavailable: IntOrPercent::default(),
        autohealing: None,
        current_revision: "my-pool-0".into(),
        template: old_template(),
    }
}

/// The pool after a template change that bumped its generation to 123.
fn changed_pool(replicas: i32) -> PoolView {
    PoolView {
        current_revision: "my-pool-123".into(),
        template: new_template(),
        ..pool(replicas)
    }
}

/// `createVMsWithOrdinal`: an owned, ready VM with a ready, running VMI; the VM has
/// revision `vm_revision`, its VMI `vmi_revision`.
fn vm(index: u32, vm_revision: &str, vmi_revision: &str) -> VmView {
    VmView {
        name: format!("my-pool-{index}"),
        uid: format!("uid-{index}"),
        labels: labels(&[
            ("selector", "value"),
            ("kubevirt.io/vm-pool-revision-name", vm_revision),
        ]),
        template_labels: BTreeMap::new(),
        template_node_selector: BTreeMap::new(),
        controller_owner_uid: Some(POOL_UID.into()),
        has_pool_finalizer: true,
        creation_ms: u64::from(index) * 1_000,
        deleting: false,
        ready: true,
        ready_false_since_ms: None,
        printable_status: PrintableStatus::Running,
        start_failure_consecutive: 0,
        revision: Some(vm_revision.into()),
        vmi: Some(VmiView {
            phase: VmiPhase::Running,
            ready: true,
            ready_reason: None,
            node: Some("node-0".into()),
            node_ready: NodeReadiness::True,
            node_out_of_service: false,
            revision: Some(vmi_revision.into()),
            deleting: false,
        }),
    }
}

fn vms(count: u32, vm_revision: &str, vmi_revision: &str) -> Vec<VmView> {
    (0..count)
        .map(|i| vm(i, vm_revision, vmi_revision))
        .collect()
}

fn observe(pool: PoolView, mut vms: Vec<VmView>, revisions: Vec<RevisionView>) -> Observation {
    vms.sort_by(|a, b| a.name.cmp(&b.name));
    Observation {
        now_ms: NOW_MS,
        pool,
        vms,
        revisions,
        burst_replicas: 10,
        expectations_satisfied: true,
    }
}

fn reconcile_with(algorithm: &str, observed: &Observation) -> Vec<Action> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    builtin(algorithm)
        .expect("built-in")
        .reconcile(observed, &mut rng)
}

fn reconcile(observed: &Observation) -> Vec<Action> {
    reconcile_with("kubevirt-pool", observed)
}

fn created(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::CreateVm { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn deleted(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::DeleteVm { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn restarted(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::RestartVm { name } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn updated(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::UpdateVm { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn names(indices: &[u32]) -> Vec<String> {
    indices.iter().map(|i| format!("my-pool-{i}")).collect()
}

// DescribeTable("Calculate new VM names on scale out")
#[test]
fn entry_should_fill_in_name_gaps() {
    assert_eq!(
        lowest_free_indices(["my-pool-1", "my-pool-3"], "my-pool", 3),
        vec![0, 2, 4]
    );
}

#[test]
fn entry_should_append_to_end_if_no_name_gaps_exist() {
    let existing = ["my-pool-0", "my-pool-1", "my-pool-2"];
    assert_eq!(lowest_free_indices(existing, "my-pool", 2), vec![3, 4]);
}

#[test]
fn it_should_create_missing_vms() {
    let actions = reconcile(&observe(pool(3), vec![], vec![]));
    assert_eq!(
        actions,
        vec![
            Action::CreateRevision {
                name: "my-pool-0".into()
            },
            Action::CreateVm {
                index: 0,
                name: "my-pool-0".into(),
                revision: "my-pool-0".into()
            },
            Action::CreateVm {
                index: 1,
                name: "my-pool-1".into(),
                revision: "my-pool-0".into()
            },
            Action::CreateVm {
                index: 2,
                name: "my-pool-2".into(),
                revision: "my-pool-0".into()
            },
        ]
    );
}

#[test]
fn it_should_update_vm_when_vm_template_changes_but_not_vmi_unless_vmi_template_changes() {
    // Generation moved to 123 but the template did not change: the VM's revision
    // (generation 0) still holds an equal template, so nothing is outdated.
    let unchanged = PoolView {
        current_revision: "my-pool-123".into(),
        ..pool(1)
    };
    let observed = observe(
        unchanged,
        vms(1, "my-pool-0", "my-pool-0"),
        vec![revision("my-pool-0", old_template())],
    );
    assert_eq!(reconcile(&observed), vec![]);
}

#[test]
fn it_should_delete_controller_revisions_when_pool_is_being_deleted() {
    let deleting = PoolView {
        deleting: true,
        has_finalizer: false,
        ..pool(1)
    };
    let observed = observe(
        deleting,
        vec![],
        vec![revision("my-pool-0", old_template())],
    );
    assert_eq!(
        reconcile(&observed),
        vec![Action::DeleteRevision {
            name: "my-pool-0".into()
        }]
    );
}

#[test]
fn it_should_update_vm_and_vmi_with_both_vm_and_vmi_template_change() {
    let observed = observe(
        changed_pool(1),
        vms(1, "my-pool-123", "my-pool-0"),
        vec![
            revision("my-pool-0", old_template()),
            revision("my-pool-123", new_template()),
        ],
    );
    let actions = reconcile(&observed);
    assert_eq!(restarted(&actions), names(&[0]));
    assert!(updated(&actions).is_empty());
}

#[test]
fn it_should_prune_unused_controller_revisions() {
    let observed = observe(
        pool(1),
        vms(1, "my-pool-0", "my-pool-0"),
        vec![
            revision("madeup", old_template()),
            revision("my-pool-0", old_template()),
        ],
    );
    assert_eq!(
        reconcile(&observed),
        vec![Action::DeleteRevision {
            name: "madeup".into()
        }]
    );
}

#[test]
fn it_should_not_create_missing_vms_when_it_is_paused() {
    let paused = PoolView {
        paused: true,
        ..pool(3)
    };
    assert_eq!(reconcile(&observe(paused, vec![], vec![])), vec![]);
}

#[test]
fn it_should_create_missing_vms_when_pool_is_resumed() {
    let resumed = PoolView {
        paused: false,
        ..pool(3)
    };
    assert_eq!(
        created(&reconcile(&observe(resumed, vec![], vec![]))),
        names(&[0, 1, 2])
    );
}

#[test]
fn it_should_create_missing_vms_in_batches_of_a_maximum_of_burst_replicas_vms_at_once() {
    let actions = reconcile(&observe(pool(15), vec![], vec![]));
    assert_eq!(created(&actions), names(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
}

#[test]
fn it_should_delete_vms_in_batches_of_a_maximum_of_burst_replicas() {
    let observed = observe(
        pool(0),
        vms(15, "my-pool-0", "my-pool-0"),
        vec![revision("my-pool-0", old_template())],
    );
    let actions = reconcile(&observed);
    let doomed = deleted(&actions);
    assert_eq!(doomed.len(), 10);
    let mut unique = doomed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10, "no VM deleted twice: {doomed:?}");
}

#[test]
fn it_should_not_delete_vms_which_are_already_marked_deleted() {
    let mut all = vms(10, "my-pool-0", "my-pool-0");
    for vm in all.iter_mut().take(5) {
        vm.deleting = true;
    }
    let observed = observe(pool(0), all, vec![revision("my-pool-0", old_template())]);
    let mut doomed = deleted(&reconcile(&observed));
    doomed.sort();
    assert_eq!(doomed, names(&[5, 6, 7, 8, 9]));
}

#[test]
fn it_should_ignore_and_skip_the_name_for_non_matching_vms() {
    let mut stranger = vm(1, "my-pool-0", "my-pool-0");
    stranger.labels = labels(&[("madeup", "value")]);
    stranger.controller_owner_uid = None;
    let actions = reconcile(&observe(pool(3), vec![stranger], vec![]));
    assert_eq!(created(&actions), names(&[0, 2, 3]));
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::ReleaseVm { .. })));
}

#[test]
fn it_should_ignore_orphaned_vms_even_when_selector_matches() {
    let mut orphans = vms(3, "my-pool-0", "my-pool-0");
    for vm in &mut orphans {
        vm.controller_owner_uid = None;
    }
    let actions = reconcile(&observe(
        pool(3),
        orphans,
        vec![revision("my-pool-0", old_template())],
    ));
    // Not adopted: the pool owns nothing, so it creates three more beside them.
    assert_eq!(created(&actions), names(&[3, 4, 5]));
    assert!(deleted(&actions).is_empty());
}

#[test]
fn it_should_detect_a_vm_is_detached_then_release_and_replace_it() {
    // Upstream removes the ownerReferences of my-pool-1: it no longer counts.
    let mut all = vms(3, "my-pool-0", "my-pool-0");
    all[1].controller_owner_uid = None;
    let actions = reconcile(&observe(
        pool(3),
        all,
        vec![revision("my-pool-0", old_template())],
    ));
    assert_eq!(created(&actions), names(&[3]));
}

#[test]
fn owned_vm_whose_labels_stop_matching_is_released_and_replaced() {
    // The other detach path of ReleaseDetachedVirtualMachines: labels changed, owner kept.
    let mut all = vms(3, "my-pool-0", "my-pool-0");
    all[1].labels = labels(&[("selector", "changed")]);
    let actions = reconcile(&observe(
        pool(3),
        all,
        vec![revision("my-pool-0", old_template())],
    ));
    assert_eq!(
        actions[0],
        Action::ReleaseVm {
            name: "my-pool-1".into()
        }
    );
    assert_eq!(created(&actions), names(&[3]));
}

#[test]
fn it_should_not_update_a_vm_if_the_update_strategy_is_set_to_unmanaged() {
    let unmanaged = PoolView {
        update: UpdateStrategy::Unmanaged,
        ..changed_pool(1)
    };
    let observed = observe(
        unmanaged,
        vms(1, "my-pool-0", "my-pool-0"),
        vec![
            revision("my-pool-0", old_template()),
            revision("my-pool-123", new_template()),
        ],
    );
    let actions = reconcile(&observed);
    assert!(updated(&actions).is_empty());
    assert!(restarted(&actions).is_empty());
}

#[test]
fn it_should_update_vms_using_opportunistic_update_strategy() {
    let opportunistic = PoolView {
        update: UpdateStrategy::Opportunistic,
        ..changed_pool(5)
    };
    let observed = observe(
        opportunistic,
        vms(5, "my-pool-0", "my-pool-0"),
        vec![
            revision("my-pool-0", old_template()),
            revision("my-pool-123", new_template()),
        ],
    );
    let actions = reconcile(&observed);
    assert_eq!(updated(&actions), names(&[0, 1, 2, 3, 4]));
    assert!(actions.iter().all(|a| match a {
        Action::UpdateVm { revision, .. } => revision == "my-pool-123",
        _ => true,
    }));
    assert!(
        restarted(&actions).is_empty(),
        "opportunistic never restarts VMIs"
    );
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::CreateRevision { .. })));
}

fn proactive_update_pool(selectors: Option<VmSelectors>, sort_policy: SortPolicy) -> PoolView {
    PoolView {
        update: UpdateStrategy::Proactive {
            sort_policy,
            selectors,
        },
        ..changed_pool(5)
    }
}

fn both_revisions() -> Vec<RevisionView> {
    vec![
        revision("my-pool-0", old_template()),
        revision("my-pool-123", new_template()),
    ]
}

#[test]
fn it_should_update_vmis_using_node_selector_filtering_for_proactive_update_strategy() {
    let selectors = VmSelectors {
        label_selector: None,
        node_selector_requirements: Some(vec![SelectorRequirement {
            key: "node-role.kubernetes.io/worker".into(),
            operator: SelectorOperator::NotIn,
            values: vec!["test".into()],
        }]),
    };
    let mut all = vms(5, "my-pool-123", "my-pool-0");
    for vm in all.iter_mut().take(2) {
        vm.template_node_selector = labels(&[("node-role.kubernetes.io/worker", "test")]);
    }
    let observed = observe(
        proactive_update_pool(Some(selectors), SortPolicy::AscendingOrder),
        all,
        both_revisions(),
    );
    let actions = reconcile(&observed);
    assert_eq!(restarted(&actions), names(&[2, 3, 4]));
    assert!(updated(&actions).is_empty());
}

#[test]
fn it_should_update_vmis_and_vms_using_label_selector_filtering_for_proactive_update_strategy() {
    let selectors = VmSelectors {
        label_selector: Some(LabelSelector::from_labels(&labels(&[("app", "test")]))),
        node_selector_requirements: None,
    };
    let mut all = vms(5, "my-pool-123", "my-pool-0");
    for vm in all.iter_mut().take(2) {
        vm.template_labels = labels(&[("app", "test")]);
    }
    let observed = observe(
        proactive_update_pool(Some(selectors), SortPolicy::Random),
        all,
        both_revisions(),
    );
    let mut restarts = restarted(&reconcile(&observed));
    restarts.sort();
    assert_eq!(restarts, names(&[0, 1]));
}

#[test]
fn it_should_update_newest_vms_first_when_using_newest_sort_policy_for_update_strategy() {
    let observed = observe(
        proactive_update_pool(None, SortPolicy::Newest),
        vms(5, "my-pool-123", "my-pool-0"),
        both_revisions(),
    );
    assert_eq!(restarted(&reconcile(&observed)), names(&[4, 3, 2, 1, 0]));
}

fn scale_in_pool(
    replicas: i32,
    sort_policy: SortPolicy,
    state_preservation: StatePreservation,
) -> PoolView {
    PoolView {
        scale_in: ScaleInStrategy::Proactive {
            sort_policy,
            selectors: None,
            state_preservation,
        },
        ..pool(replicas)
    }
}

#[test]
fn it_should_delete_oldest_vms_first_when_using_oldest_sort_for_scale_in_strategy() {
    let mut all = vms(5, "my-pool-0", "my-pool-0");
    // Creation order differs from name order, so the policy, not the names, decides.
    for (vm, creation_ms) in all.iter_mut().zip([50, 10, 40, 20, 30]) {
        vm.creation_ms = creation_ms;
    }
    let observed = observe(
        scale_in_pool(2, SortPolicy::Oldest, StatePreservation::Disabled),
        all,
        vec![],
    );
    assert_eq!(deleted(&reconcile(&observed)), names(&[1, 3, 4]));
}

#[test]
fn it_should_delete_vms_with_highest_ordinals_first_when_using_descending_order_sort_policy() {
    let observed = observe(
        scale_in_pool(2, SortPolicy::DescendingOrder, StatePreservation::Disabled),
        vms(5, "my-pool-0", "my-pool-0"),
        vec![],
    );
    assert_eq!(deleted(&reconcile(&observed)), names(&[4, 3, 2]));
}

#[test]
fn it_should_remove_finalizer_from_vms_and_data_volumes_references_marked_for_deletion_during_opportunistic_scale_in(
) {
    let opportunistic = PoolView {
        scale_in: ScaleInStrategy::Opportunistic {
            state_preservation: StatePreservation::Offline,
        },
        ..pool(2)
    };
    let mut all = vms(2, "my-pool-0", "my-pool-0");
    all[0].deleting = true;
    let actions = reconcile(&observe(
        opportunistic,
        all,
        vec![revision("my-pool-0", old_template())],
    ));
    assert_eq!(
        actions,
        vec![Action::FinalizeVm {
            name: "my-pool-0".into(),
            preserve_state: true
        }]
    );
}

#[test]
fn it_should_do_proactive_scale_in_with_offline_state_preservation() {
    let observed = observe(
        scale_in_pool(2, SortPolicy::DescendingOrder, StatePreservation::Offline),
        vms(3, "my-pool-0", "my-pool-0"),
        vec![revision("my-pool-0", old_template())],
    );
    assert_eq!(
        reconcile(&observed),
        vec![Action::DeleteVm {
            name: "my-pool-2".into(),
            reason: DeleteReason::ScaleIn,
            preserve_state: true,
            foreground: false,
        }]
    );
}

#[test]
fn it_should_remove_finalizer_on_vms_when_pool_is_marked_for_deletion_and_vms_are_orphaned() {
    let deleting = PoolView {
        deleting: true,
        ..pool(3)
    };
    let mut orphans = vms(3, "my-pool-0", "my-pool-0");
    for vm in &mut orphans {
        vm.controller_owner_uid = None;
    }
    let actions = reconcile(&observe(deleting, orphans, vec![]));
    let finalized: Vec<&Action> = actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::FinalizeVm {
                    preserve_state: false,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(finalized.len(), 3);
    assert_eq!(actions.last(), Some(&Action::RemovePoolFinalizer));
    assert!(created(&actions).is_empty() && deleted(&actions).is_empty());
}

fn max_unavailable_pool() -> PoolView {
    PoolView {
        max_unavailable: IntOrPercent::Percent(25),
        ..changed_pool(4)
    }
}

#[test]
fn it_should_respect_max_unavailable_limit_during_proactive_updates() {
    let observed = observe(
        max_unavailable_pool(),
        vms(4, "my-pool-123", "my-pool-0"),
        both_revisions(),
    );
    let actions = reconcile(&observed);
    assert_eq!(restarted(&actions), names(&[0]));
    assert_eq!(
        actions.last(),
        Some(&Action::RequeueAfter { delay_ms: 3_000 })
    );
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::DeleteRevision { .. })));
}

#[test]
fn it_should_not_trigger_proactive_update_when_vms_are_not_ready() {
    let mut all = vms(4, "my-pool-123", "my-pool-0");
    all[3].vmi.as_mut().unwrap().ready = false;
    let actions = reconcile(&observe(max_unavailable_pool(), all, both_revisions()));
    assert!(restarted(&actions).is_empty());
    assert_eq!(actions, vec![Action::RequeueAfter { delay_ms: 3_000 }]);
}

#[test]
fn it_should_remove_finalizer_from_vms_marked_for_deletion_during_opportunistic_scale_in() {
    let mut all = vms(2, "my-pool-0", "my-pool-0");
    all[0].deleting = true;
    let actions = reconcile(&observe(
        pool(2),
        all,
        vec![revision("my-pool-0", old_template())],
    ));
    assert_eq!(
        actions,
        vec![Action::FinalizeVm {
            name: "my-pool-0".into(),
            preserve_state: false
        }]
    );
}

fn autohealing_pool(replicas: i32) -> PoolView {
    PoolView {
        autohealing: Some(AutohealingView::default()),
        ..pool(replicas)
    }
}

#[test]
fn it_should_cleanup_vms_with_autohealing_when_the_threshold_for_consecutive_failures_is_exceeded()
{
    let mut failing = vm(0, "my-pool-0", "my-pool-0");
    failing.start_failure_consecutive = 3;
    let actions = reconcile(&observe(
        autohealing_pool(1),
        vec![failing],
        vec![revision("my-pool-0", old_template())],
    ));
    assert_eq!(
        actions,
        vec![Action::DeleteVm {
            name: "my-pool-0".into(),
            reason: DeleteReason::Autohealing,
            preserve_state: false,
            foreground: false,
        }],
        "the deletion raises expectations, so no replacement in the same round"
    );
}

fn failing_vm(status: PrintableStatus, not_ready_for_ms: u64) -> VmView {
    let mut failing = vm(0, "my-pool-0", "my-pool-0");
    failing.printable_status = status;
    failing.ready = false;
    failing.ready_false_since_ms = Some(NOW_MS - not_ready_for_ms);
    failing.vmi = None;
    failing
}

#[test]
fn describe_table_should_cleanup_vms_when_vm_is_in_failing_state_for_too_long() {
    for status in [
        PrintableStatus::CrashLoopBackOff,
        PrintableStatus::ErrorUnschedulable,
        PrintableStatus::DataVolumeError,
        PrintableStatus::ErrorPvcNotFound,
        PrintableStatus::ErrImagePull,
        PrintableStatus::ImagePullBackOff,
    ] {
        let observed = observe(
            autohealing_pool(1),
            vec![failing_vm(status, 6 * MINUTE_MS)],
            vec![],
        );
        assert_eq!(deleted(&reconcile(&observed)), names(&[0]), "{status:?}");
        let recent = observe(
            autohealing_pool(1),
            vec![failing_vm(status, 4 * MINUTE_MS)],
            vec![],
        );
        assert!(
            deleted(&reconcile(&recent)).is_empty(),
            "{status:?} not failing for 5m yet"
        );
    }
    for status in [
        PrintableStatus::Starting,
        PrintableStatus::Stopped,
        PrintableStatus::Unknown,
    ] {
        let observed = observe(
            autohealing_pool(1),
            vec![failing_vm(status, 60 * MINUTE_MS)],
            vec![],
        );
        assert!(
            deleted(&reconcile(&observed)).is_empty(),
            "{status:?} is not autohealed"
        );
    }
}

#[test]
fn it_should_not_cleanup_vms_without_autohealing_enabled_even_if_the_vm_failed_to_start() {
    let mut all = vms(3, "my-pool-0", "my-pool-0");
    all[0].start_failure_consecutive = 3;
    let actions = reconcile(&observe(
        pool(3),
        all,
        vec![revision("my-pool-0", old_template())],
    ));
    assert!(deleted(&actions).is_empty());
    assert!(restarted(&actions).is_empty());
}

// ---- Beyond upstream's tests: the three algorithms on a node partition, and edge cases.

/// Three owned VMs; my-pool-1 sits on a partitioned node whose pod is being evicted, so
/// its VMI reads Ready=False, reason PodTerminating (the replica set's "unknown").
fn partitioned(out_of_service: bool) -> Observation {
    let mut all = vms(3, "my-pool-0", "my-pool-0");
    let vmi = all[1].vmi.as_mut().unwrap();
    vmi.ready = false;
    vmi.ready_reason = Some(POD_TERMINATING_REASON.into());
    vmi.node_ready = NodeReadiness::Unknown;
    vmi.node_out_of_service = out_of_service;
    all[1].ready = false;
    observe(pool(3), all, vec![revision("my-pool-0", old_template())])
}

#[test]
fn partition_kubevirt_pool_creates_nothing_for_an_unknown_vm() {
    for out_of_service in [false, true] {
        let actions = reconcile_with("kubevirt-pool", &partitioned(out_of_service));
        assert!(created(&actions).is_empty(), "{actions:?}");
        assert!(deleted(&actions).is_empty(), "{actions:?}");
    }
}

#[test]
fn partition_kubevirt_vmirs_replaces_an_unknown_vm_at_once() {
    let actions = reconcile_with("kubevirt-vmirs", &partitioned(false));
    assert_eq!(created(&actions), names(&[3]));
    assert_eq!(
        actions.last(),
        Some(&Action::DeleteVm {
            name: "my-pool-1".into(),
            reason: DeleteReason::InstanceUnknown,
            preserve_state: false,
            foreground: false,
        })
    );
}

#[test]
fn partition_vmirs_fenced_replaces_an_unknown_vm_only_once_its_node_is_out_of_service() {
    let before = reconcile_with("vmirs-fenced", &partitioned(false));
    assert!(
        created(&before).is_empty() && deleted(&before).is_empty(),
        "{before:?}"
    );
    let after = reconcile_with("vmirs-fenced", &partitioned(true));
    assert_eq!(created(&after), names(&[3]));
    assert_eq!(deleted(&after), names(&[1]));
}

#[test]
fn replica_set_rules_replace_a_vm_whose_instance_failed_and_the_pool_does_not() {
    let mut all = vms(2, "my-pool-0", "my-pool-0");
    all[0].vmi.as_mut().unwrap().phase = VmiPhase::Failed;
    let observed = observe(pool(2), all, vec![revision("my-pool-0", old_template())]);
    assert!(created(&reconcile_with("kubevirt-pool", &observed)).is_empty());
    for algorithm in ["kubevirt-vmirs", "vmirs-fenced"] {
        let actions = reconcile_with(algorithm, &observed);
        assert_eq!(created(&actions), names(&[2]), "{algorithm}");
        assert!(actions.contains(&Action::DeleteVm {
            name: "my-pool-0".into(),
            reason: DeleteReason::InstanceFinished,
            preserve_state: false,
            foreground: false,
        }));
    }
}

#[test]
fn replica_set_rules_do_not_count_terminating_vms_but_the_pool_does() {
    let mut all = vms(2, "my-pool-0", "my-pool-0");
    all[0].deleting = true;
    let observed = observe(pool(2), all, vec![revision("my-pool-0", old_template())]);
    assert!(created(&reconcile_with("kubevirt-pool", &observed)).is_empty());
    assert_eq!(
        created(&reconcile_with("kubevirt-vmirs", &observed)),
        names(&[2])
    );
}

#[test]
fn unsatisfied_expectations_block_scaling_but_not_release() {
    let mut all = vms(1, "my-pool-0", "my-pool-0");
    all[0].labels = labels(&[("selector", "changed")]);
    let mut observed = observe(pool(3), all, vec![]);
    observed.expectations_satisfied = false;
    assert_eq!(
        reconcile(&observed),
        vec![Action::ReleaseVm {
            name: "my-pool-0".into()
        }]
    );
}

#[test]
fn autohealing_considers_every_vm_in_the_namespace_as_upstream_does() {
    // autoHealFailingVMs runs on the namespace list before ownership is checked.
    let mut stranger = failing_vm(PrintableStatus::CrashLoopBackOff, 10 * MINUTE_MS);
    stranger.name = "someone-else".into();
    stranger.controller_owner_uid = Some("other-owner".into());
    let observed = observe(autohealing_pool(0), vec![stranger], vec![]);
    assert_eq!(
        deleted(&reconcile(&observed)),
        vec!["someone-else".to_string()]
    );
}

#[test]
fn scale_in_counts_terminating_vms_and_never_deletes_a_negative_number() {
    // 5 owned, 4 already terminating, replicas 3: upstream computes 2 - 4 = -2 and
    // panics slicing [0:-2]; the model deletes nothing.
    let mut all = vms(5, "my-pool-0", "my-pool-0");
    for vm in all.iter_mut().take(4) {
        vm.deleting = true;
    }
    let actions = reconcile(&observe(pool(3), all, vec![]));
    assert!(
        deleted(&actions).is_empty() && created(&actions).is_empty(),
        "{actions:?}"
    );
}

#[test]
fn opportunistic_and_unmanaged_scale_in_delete_nothing() {
    for scale_in in [
        ScaleInStrategy::Opportunistic {
            state_preservation: StatePreservation::Disabled,
        },
        ScaleInStrategy::Unmanaged,
    ] {
        let observed = observe(
            PoolView {
                scale_in,
                ..pool(1)
            },
            vms(3, "my-pool-0", "my-pool-0"),
            vec![],
        );
        assert!(deleted(&reconcile(&observed)).is_empty());
    }
}

#[test]
fn random_scale_in_is_reproducible_from_the_seed_and_varies_with_it() {
    let observed = observe(pool(5), vms(10, "my-pool-0", "my-pool-0"), vec![]);
    let run = |seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        deleted(
            &builtin("kubevirt-pool")
                .unwrap()
                .reconcile(&observed, &mut rng),
        )
    };
    assert_eq!(run(1), run(1));
    assert_eq!(run(1).len(), 5);
    let distinct: std::collections::BTreeSet<Vec<String>> = (0..8).map(run).collect();
    assert!(
        distinct.len() > 1,
        "the Random policy must depend on the stream"
    );
}

#[test]
fn scale_in_selectors_restrict_which_vms_may_go() {
    let selectors = VmSelectors {
        label_selector: Some(LabelSelector::from_labels(&labels(&[("tier", "spare")]))),
        node_selector_requirements: None,
    };
    let mut all = vms(4, "my-pool-0", "my-pool-0");
    all[2].template_labels = labels(&[("tier", "spare")]);
    let scale_in = ScaleInStrategy::Proactive {
        sort_policy: SortPolicy::AscendingOrder,
        selectors: Some(selectors),
        state_preservation: StatePreservation::Disabled,
    };
    let observed = observe(
        PoolView {
            scale_in,
            ..pool(2)
        },
        all,
        vec![],
    );
    // The replica-set rule deletes only the matching VM, although two are excess.
    assert_eq!(
        deleted(&reconcile_with("kubevirt-vmirs", &observed)),
        names(&[2]),
        "only the matching VM, although two are excess"
    );
    // Upstream slices the one matching VM [0:2] and panics (docs/FIDELITY.md §6);
    // this test expected the clamped deletion of poolsim before.
    assert_eq!(
        reconcile(&observed),
        vec![Action::ControllerPanic {
            message: "runtime error: slice bounds out of range [:2] with capacity 1".into()
        }]
    );
}

#[test]
fn data_volume_template_change_deletes_the_vm_in_the_foreground() {
    let new_volumes = digest("vm-c", "vmi-a", "dv-c");
    let pool = PoolView {
        current_revision: "my-pool-9".into(),
        template: new_volumes.clone(),
        ..pool(1)
    };
    let revisions = vec![
        revision("my-pool-0", old_template()),
        revision("my-pool-9", new_volumes),
    ];
    let actions = reconcile(&observe(pool, vms(1, "my-pool-9", "my-pool-0"), revisions));
    assert_eq!(
        actions,
        vec![Action::DeleteVm {
            name: "my-pool-0".into(),
            reason: DeleteReason::DataVolumeChange,
            preserve_state: false,
            foreground: true,
        }]
    );
}

#[test]
fn label_only_change_patches_the_vmi_revision_without_restart() {
    let relabelled = digest("vm-d", "vmi-a", "dv-a");
    let pool = PoolView {
        current_revision: "my-pool-4".into(),
        template: relabelled.clone(),
        ..pool(1)
    };
    let revisions = vec![
        revision("my-pool-0", old_template()),
        revision("my-pool-4", relabelled),
    ];
    let actions = reconcile(&observe(pool, vms(1, "my-pool-4", "my-pool-0"), revisions));
    assert_eq!(
        actions,
        vec![Action::PatchVmiRevision {
            name: "my-pool-0".into(),
            revision: "my-pool-4".into()
        }]
    );
}
