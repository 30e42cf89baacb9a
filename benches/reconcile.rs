//! One reconcile of the pure `kubevirt-pool` algorithm (`poolsim::algorithm`) at
//! 10, 100, 1,000 and 10,000 VMs, on Observations built directly (no world): the
//! steady state (every VM ready, nothing to do, the most frequent reconcile in a run)
//! and a 10 % scale-in (random selection, the default `scaleInStrategy`).
//! Run: `cargo bench --bench reconcile`.

use divan::{black_box, Bencher};
use poolsim::algorithm::{
    builtin, IntOrPercent, LabelSelector, NodeReadiness, Observation, PoolView, PrintableStatus,
    RevisionView, ScaleInStrategy, TemplateDigest, UpdateStrategy, VmView, VmiPhase, VmiView,
    UPSTREAM_BURST_REPLICAS,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

const VM_COUNTS: &[u32] = &[10, 100, 1_000, 10_000];
const POOL_UID: &str = "pool-uid";
const REVISION_LABEL: &str = "kubevirt.io/vm-pool-revision-name";

fn main() {
    divan::main();
}

fn template() -> TemplateDigest {
    TemplateDigest {
        vm_template: "vm".into(),
        vmi_template: "vmi".into(),
        data_volume_templates: "dv".into(),
    }
}

fn selector_labels() -> BTreeMap<String, String> {
    BTreeMap::from([("kubevirt.io/vmpool".to_string(), "web".to_string())])
}

/// A ready VM of the pool, as the pool runtime's `vm_view` builds it, on one of 100
/// nodes.
fn ready_vm(index: u32) -> VmView {
    let mut labels = selector_labels();
    labels.insert(REVISION_LABEL.into(), "web-1".into());
    VmView {
        name: format!("web-{index}"),
        uid: format!("uid-{index:06}"),
        labels,
        template_labels: selector_labels(),
        template_node_selector: BTreeMap::new(),
        controller_owner_uid: Some(POOL_UID.into()),
        has_pool_finalizer: true,
        creation_ms: u64::from(index) * 100,
        deleting: false,
        ready: true,
        ready_false_since_ms: None,
        printable_status: PrintableStatus::Running,
        start_failure_consecutive: 0,
        revision: Some("web-1".into()),
        vmi: Some(VmiView {
            phase: VmiPhase::Running,
            ready: true,
            ready_reason: None,
            node: Some(format!("node-{}", index % 100)),
            node_ready: NodeReadiness::True,
            node_out_of_service: false,
            revision: Some("web-1".into()),
            deleting: false,
        }),
    }
}

fn observation(vm_count: u32, replicas: i32) -> Observation {
    let mut vms: Vec<VmView> = (0..vm_count).map(ready_vm).collect();
    vms.sort_by(|a, b| a.name.cmp(&b.name));
    Observation {
        now_ms: 3_600_000,
        pool: PoolView {
            name: "web".into(),
            uid: POOL_UID.into(),
            replicas,
            paused: false,
            deleting: false,
            has_finalizer: true,
            selector: LabelSelector::from_labels(&selector_labels()),
            template_labels: selector_labels(),
            scale_in: ScaleInStrategy::default(),
            update: UpdateStrategy::default(),
            max_unavailable: IntOrPercent::default(),
            autohealing: None,
            current_revision: "web-1".into(),
            template: template(),
        },
        vms,
        revisions: vec![RevisionView {
            name: "web-1".into(),
            template: template(),
        }],
        burst_replicas: UPSTREAM_BURST_REPLICAS,
        expectations_satisfied: true,
    }
}

#[divan::bench(args = VM_COUNTS)]
fn steady_state(bencher: Bencher, vm_count: u32) {
    let algorithm = builtin("kubevirt-pool").expect("built-in algorithm");
    let observed = observation(vm_count, vm_count as i32);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    bencher.bench_local(|| algorithm.reconcile(black_box(&observed), &mut rng));
}

#[divan::bench(args = VM_COUNTS)]
fn scale_in_ten_percent(bencher: Bencher, vm_count: u32) {
    let algorithm = builtin("kubevirt-pool").expect("built-in algorithm");
    let observed = observation(vm_count, (vm_count - vm_count / 10) as i32);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    bencher.bench_local(|| {
        let actions = algorithm.reconcile(black_box(&observed), &mut rng);
        debug_assert!(!actions.is_empty());
        actions
    });
}
