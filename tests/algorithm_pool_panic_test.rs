//! Upstream's `scaleIn` (`pkg/virt-controller/watch/pool/pool.go`) slices
//! `eligibleVMs[0:count]` without a bounds check; `kubevirt-pool` returns
//! `Action::ControllerPanic` where that slice panics, after the actions issued before
//! it, and the replica-set algorithms (which have no such slice) never do. Upstream's
//! `pool_test.go` has no case for the panic (it is a bug); its nearest case, "should not
//! delete vms which are already marked deleted", is ported in `algorithm_pool_test.rs`.
//! The pool, VM and observation are built as there (`my-pool`, burst 10), reduced to
//! what these cases need.

use std::collections::BTreeMap;

use poolsim::algorithm::{
    builtin, slice_panic, Action, AutohealingView, LabelSelector, Observation, PoolView,
    PrintableStatus, ScaleInStrategy, SortPolicy, StatePreservation, TemplateDigest, VmSelectors,
    VmView,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const POOL_UID: &str = "my-pool-uid";
const NOW_MS: u64 = 3_600_000;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn template() -> TemplateDigest {
    TemplateDigest {
        vm_template: "vm-a".into(),
        vmi_template: "vmi-a".into(),
        data_volume_templates: "dv-a".into(),
    }
}

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
        update: Default::default(),
        max_unavailable: Default::default(),
        autohealing: None,
        current_revision: "my-pool-0".into(),
        template: template(),
    }
}

/// A pool whose proactive scale-in may only remove VMs whose template labels match.
fn pool_with_scale_in_selector(replicas: i32, match_labels: &[(&str, &str)]) -> PoolView {
    PoolView {
        scale_in: ScaleInStrategy::Proactive {
            sort_policy: SortPolicy::AscendingOrder,
            selectors: Some(VmSelectors {
                label_selector: Some(LabelSelector::from_labels(&labels(match_labels))),
                node_selector_requirements: None,
            }),
            state_preservation: StatePreservation::Disabled,
        },
        ..pool(replicas)
    }
}

/// An owned, ready VM without a VMI (these cases never look at it); `spare` puts the
/// `tier=spare` label on its template.
fn vm(index: u32, deleting: bool, spare: bool) -> VmView {
    VmView {
        name: format!("my-pool-{index}"),
        uid: format!("uid-{index}"),
        labels: labels(&[
            ("selector", "value"),
            ("kubevirt.io/vm-pool-revision-name", "my-pool-0"),
        ]),
        template_labels: if spare {
            labels(&[("tier", "spare")])
        } else {
            BTreeMap::new()
        },
        template_node_selector: BTreeMap::new(),
        controller_owner_uid: Some(POOL_UID.into()),
        has_pool_finalizer: true,
        creation_ms: u64::from(index) * 1_000,
        deleting,
        ready: true,
        ready_false_since_ms: None,
        printable_status: PrintableStatus::Running,
        start_failure_consecutive: 0,
        revision: Some("my-pool-0".into()),
        vmi: None,
    }
}

fn observe(pool: PoolView, vms: Vec<VmView>) -> Observation {
    Observation {
        now_ms: NOW_MS,
        pool,
        vms,
        revisions: Vec::new(),
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

fn panic_message(actions: &[Action]) -> Option<&str> {
    match actions.last() {
        Some(Action::ControllerPanic { message }) => Some(message),
        _ => None,
    }
}

fn never_panics_under_the_replica_set_algorithms(observed: &Observation) {
    for algorithm in ["kubevirt-vmirs", "vmirs-fenced"] {
        let actions = reconcile_with(algorithm, observed);
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::ControllerPanic { .. })),
            "{algorithm}: {actions:?}"
        );
    }
}

/// Five VMs, three of them terminating, and `replicas` wanted.
fn three_terminating_of_five(replicas: i32) -> Observation {
    let vms = (0..5).map(|i| vm(i, i >= 2, false)).collect();
    observe(pool(replicas), vms)
}

#[test]
fn more_vms_terminating_than_the_excess_panics_on_a_negative_slice_bound() {
    // calcDiff = 5 - 4 = 1; proactiveScaleIn: count = 1 - 3 terminating = -2.
    let observed = three_terminating_of_five(4);
    let actions = reconcile_with("kubevirt-pool", &observed);
    assert_eq!(
        actions,
        vec![Action::ControllerPanic {
            message: "runtime error: slice bounds out of range [:-2]".into()
        }]
    );
    never_panics_under_the_replica_set_algorithms(&observed);
}

#[test]
fn as_many_vms_terminating_as_the_excess_or_fewer_do_not_panic() {
    // replicas 2: count = 3 - 3 = 0, nothing to do; replicas 1: count = 1, one deleted.
    for (replicas, deleted) in [(2, 0), (1, 1)] {
        let actions = reconcile_with("kubevirt-pool", &three_terminating_of_five(replicas));
        assert_eq!(panic_message(&actions), None, "replicas {replicas}");
        let deletions = actions
            .iter()
            .filter(|a| matches!(a, Action::DeleteVm { .. }))
            .count();
        assert_eq!(deletions, deleted, "replicas {replicas}");
    }
}

#[test]
fn scale_in_selectors_that_match_no_vm_panic_on_an_empty_slice() {
    let vms = (0..3).map(|i| vm(i, false, false)).collect();
    let observed = observe(pool_with_scale_in_selector(2, &[("tier", "spare")]), vms);
    let actions = reconcile_with("kubevirt-pool", &observed);
    assert_eq!(
        panic_message(&actions),
        Some("runtime error: slice bounds out of range [:1] with capacity 0")
    );
    assert_eq!(actions.len(), 1, "no deletion before the panic");
    never_panics_under_the_replica_set_algorithms(&observed);
}

#[test]
fn scale_in_selectors_that_leave_too_few_vms_panic_by_slice_capacity() {
    // Matching VMs are appended one by one, so the slice's capacity is the next power
    // of two: past it the slice panics; within it, nil entries reach
    // `controller.VirtualMachineKeys` and the dereference panics.
    let cases = [
        (
            2,
            2,
            "runtime error: slice bounds out of range [:3] with capacity 2",
        ),
        (
            3,
            1,
            "runtime error: invalid memory address or nil pointer dereference",
        ),
    ];
    for (spares, replicas, message) in cases {
        let vms = (0..5).map(|i| vm(i, false, i < spares)).collect();
        let pool = pool_with_scale_in_selector(replicas, &[("tier", "spare")]);
        let actions = reconcile_with("kubevirt-pool", &observe(pool, vms));
        assert_eq!(panic_message(&actions), Some(message), "{spares} spares");
    }
    // Enough matches: the selected VMs are deleted, no panic.
    let vms = (0..5).map(|i| vm(i, false, i < 4)).collect();
    let actions = reconcile_with(
        "kubevirt-pool",
        &observe(pool_with_scale_in_selector(1, &[("tier", "spare")]), vms),
    );
    assert_eq!(panic_message(&actions), None);
    assert_eq!(actions.len(), 4);
}

#[test]
fn autohealing_with_a_scale_in_selector_panics_before_anything_else() {
    // autoHealFailingVMs calls scaleIn with every failing VM: the same slice.
    let mut failing = vm(0, false, false);
    failing.start_failure_consecutive = 3;
    let pool = PoolView {
        autohealing: Some(AutohealingView::default()),
        has_finalizer: false,
        ..pool_with_scale_in_selector(1, &[("tier", "spare")])
    };
    let actions = reconcile_with("kubevirt-pool", &observe(pool, vec![failing]));
    assert_eq!(
        actions,
        vec![Action::ControllerPanic {
            message: "runtime error: slice bounds out of range [:1] with capacity 0".into()
        }],
        "autohealing runs first: not even the pool finalizer is added"
    );
}

#[test]
fn the_writes_before_the_scale_step_are_issued_before_the_panic() {
    let mut observed = three_terminating_of_five(4);
    observed.pool.has_finalizer = false;
    let actions = reconcile_with("kubevirt-pool", &observed);
    assert_eq!(actions.first(), Some(&Action::AddPoolFinalizer));
    assert!(panic_message(&actions).is_some());
    assert_eq!(actions.len(), 2);
}

#[test]
fn slice_panic_reports_go_runtime_errors() {
    assert_eq!(slice_panic(2, 2, 2), None);
    assert_eq!(slice_panic(0, 0, 0), None);
    assert_eq!(
        slice_panic(-1, 3, 4).as_deref(),
        Some("runtime error: slice bounds out of range [:-1]")
    );
    assert_eq!(
        slice_panic(5, 3, 4).as_deref(),
        Some("runtime error: slice bounds out of range [:5] with capacity 4")
    );
    assert_eq!(
        slice_panic(4, 3, 4).as_deref(),
        Some("runtime error: invalid memory address or nil pointer dereference")
    );
}
