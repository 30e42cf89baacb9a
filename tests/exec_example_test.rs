//! The protocol's wire format, and `examples/reconcile_pool.py` speaking it: on the
//! scale cases it implements, it decides exactly what the built-in `kubevirt-pool` does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use poolsim::algorithm::{
    builtin, resolve, spawn, Action, DeleteReason, IntOrPercent, LabelSelector, NodeReadiness,
    Observation, PoolView, PrintableStatus, ReconcileAlgorithm, RevisionView, ScaleInStrategy,
    SortPolicy, StatePreservation, TemplateDigest, UpdateStrategy, VmView, VmiPhase, VmiView,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const POOL_UID: &str = "my-pool-uid";

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/reconcile_pool.py")
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn template() -> TemplateDigest {
    TemplateDigest {
        vm_template: "vm-a".into(),
        vmi_template: "vmi-a".into(),
        data_volume_templates: "dv-a".into(),
    }
}

fn current_revision() -> RevisionView {
    RevisionView {
        name: "my-pool-1".into(),
        template: template(),
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
        update: UpdateStrategy::default(),
        max_unavailable: IntOrPercent::default(),
        autohealing: None,
        current_revision: "my-pool-1".into(),
        template: template(),
    }
}

/// An owned, ready, up-to-date VM with a running VMI.
fn vm(index: u32) -> VmView {
    VmView {
        name: format!("my-pool-{index}"),
        uid: format!("uid-{index}"),
        labels: labels(&[("selector", "value")]),
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
        revision: Some("my-pool-1".into()),
        vmi: Some(VmiView {
            phase: VmiPhase::Running,
            ready: true,
            ready_reason: None,
            node: Some("node-0".into()),
            node_ready: NodeReadiness::True,
            node_out_of_service: false,
            revision: Some("my-pool-1".into()),
            deleting: false,
        }),
    }
}

fn observe(pool: PoolView, indices: &[u32], revisions: Vec<RevisionView>) -> Observation {
    let mut vms: Vec<VmView> = indices.iter().map(|&index| vm(index)).collect();
    vms.sort_by(|a, b| a.name.cmp(&b.name));
    Observation {
        now_ms: 3_600_000,
        pool,
        vms,
        revisions,
        burst_replicas: 10,
        expectations_satisfied: true,
    }
}

fn decide(algorithm: &dyn ReconcileAlgorithm, observed: &Observation, seed: u64) -> Vec<Action> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let actions = algorithm.reconcile(observed, &mut rng);
    assert_eq!(algorithm.failure(), None);
    actions
}

fn create(index: u32) -> Action {
    Action::CreateVm {
        index,
        name: format!("my-pool-{index}"),
        revision: "my-pool-1".into(),
    }
}

fn scale_in_delete(index: u32) -> Action {
    Action::DeleteVm {
        name: format!("my-pool-{index}"),
        reason: DeleteReason::ScaleIn,
        preserve_state: false,
        foreground: false,
    }
}

/// Each case with the actions the built-in decides, which the example must match.
fn equivalence_cases() -> Vec<(&'static str, Observation, Vec<Action>)> {
    let descending = ScaleInStrategy::Proactive {
        sort_policy: SortPolicy::DescendingOrder,
        selectors: None,
        state_preservation: StatePreservation::Disabled,
    };
    let newest_preserving = ScaleInStrategy::Proactive {
        sort_policy: SortPolicy::Newest,
        selectors: None,
        state_preservation: StatePreservation::Offline,
    };
    let mut terminating = observe(pool(2), &[0, 1, 2, 3], vec![current_revision()]);
    terminating.vms[3].deleting = true;
    let mut burst_limited = observe(pool(30), &[], vec![current_revision()]);
    burst_limited.burst_replicas = 4;

    vec![
        (
            "scale out from 0 creates the revision first",
            observe(pool(3), &[], vec![]),
            vec![
                Action::CreateRevision {
                    name: "my-pool-1".into(),
                },
                create(0),
                create(1),
                create(2),
            ],
        ),
        (
            "scale out fills the gaps {1,3}",
            observe(pool(5), &[1, 3], vec![current_revision()]),
            vec![create(0), create(2), create(4)],
        ),
        (
            "scale out stops at the burst",
            burst_limited,
            vec![create(0), create(1), create(2), create(3)],
        ),
        (
            "scale in by DescendingOrder",
            observe(
                PoolView {
                    scale_in: descending,
                    ..pool(2)
                },
                &[0, 1, 2, 3, 4],
                vec![current_revision()],
            ),
            vec![scale_in_delete(4), scale_in_delete(3), scale_in_delete(2)],
        ),
        (
            "scale in by Newest with state preservation",
            observe(
                PoolView {
                    scale_in: newest_preserving,
                    ..pool(1)
                },
                &[0, 1, 2],
                vec![current_revision()],
            ),
            vec![
                Action::DeleteVm {
                    name: "my-pool-2".into(),
                    reason: DeleteReason::ScaleIn,
                    preserve_state: true,
                    foreground: false,
                },
                Action::DeleteVm {
                    name: "my-pool-1".into(),
                    reason: DeleteReason::ScaleIn,
                    preserve_state: true,
                    foreground: false,
                },
            ],
        ),
        (
            "a terminating VM counts against the excess",
            PoolView {
                scale_in: ScaleInStrategy::Proactive {
                    sort_policy: SortPolicy::AscendingOrder,
                    selectors: None,
                    state_preservation: StatePreservation::Disabled,
                },
                ..pool(2)
            }
            .pipe(|pool| Observation {
                pool,
                ..terminating
            }),
            vec![scale_in_delete(0)],
        ),
        (
            "paused: only the missing pool finalizer is added",
            observe(
                PoolView {
                    paused: true,
                    has_finalizer: false,
                    ..pool(3)
                },
                &[],
                vec![],
            ),
            vec![Action::AddPoolFinalizer],
        ),
        (
            "the right count is stable",
            observe(pool(2), &[0, 1], vec![current_revision()]),
            vec![],
        ),
    ]
}

/// Lets a case build its observation from a pool in one expression.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for PoolView {}

#[test]
fn the_python_example_decides_as_the_builtin_kubevirt_pool() {
    let builtin = builtin("kubevirt-pool").expect("built-in");
    let external = spawn(&example_path()).expect("the example starts and says hello");
    assert_eq!(external.name(), "python-kubevirt-pool");
    assert!(external.summary().contains("Python"));
    // One session for every case: the sequence numbers advance across reconciles.
    for (case, observed, expected) in equivalence_cases() {
        assert_eq!(
            decide(builtin.as_ref(), &observed, 7),
            expected,
            "built-in: {case}"
        );
        assert_eq!(decide(&external, &observed, 7), expected, "example: {case}");
    }
}

#[test]
fn random_scale_in_through_the_example_is_reproducible_from_the_seed() {
    let observed = observe(pool(2), &[0, 1, 2, 3, 4, 5, 6, 7], vec![current_revision()]);
    let first = spawn(&example_path()).expect("starts");
    let second = spawn(&example_path()).expect("starts");
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..6 {
        let actions = decide(&first, &observed, seed);
        assert_eq!(actions.len(), 6, "seed {seed}: {actions:?}");
        assert_eq!(decide(&second, &observed, seed), actions, "seed {seed}");
        seen.insert(format!("{actions:?}"));
    }
    assert!(seen.len() > 1, "different seeds should pick different VMs");
}

#[test]
fn resolve_starts_an_exec_program() {
    let selector = format!("exec:{}", example_path().display());
    let algorithm = resolve(&selector).expect("resolves");
    assert_eq!(algorithm.name(), "python-kubevirt-pool");
    let observed = observe(pool(1), &[], vec![current_revision()]);
    assert_eq!(decide(algorithm.as_ref(), &observed, 1), vec![create(0)]);
}

#[test]
fn actions_have_the_documented_json_form() {
    let cases = vec![
        (
            Action::CreateVm {
                index: 3,
                name: "my-pool-3".into(),
                revision: "my-pool-1".into(),
            },
            json!({"action": "createVm", "index": 3, "name": "my-pool-3", "revision": "my-pool-1"}),
        ),
        (
            Action::DeleteVm {
                name: "my-pool-0".into(),
                reason: DeleteReason::DataVolumeChange,
                preserve_state: false,
                foreground: true,
            },
            json!({"action": "deleteVm", "name": "my-pool-0", "reason": "dataVolumeChange",
                   "preserveState": false, "foreground": true}),
        ),
        (
            Action::AddPoolFinalizer,
            json!({"action": "addPoolFinalizer"}),
        ),
        (
            Action::RequeueAfter { delay_ms: 3_000 },
            json!({"action": "requeueAfter", "delayMs": 3000}),
        ),
        (
            Action::PatchVmiRevision {
                name: "my-pool-2".into(),
                revision: "my-pool-4".into(),
            },
            json!({"action": "patchVmiRevision", "name": "my-pool-2", "revision": "my-pool-4"}),
        ),
    ];
    for (action, expected) in cases {
        assert_eq!(serde_json::to_value(&action).unwrap(), expected);
        assert_eq!(serde_json::from_value::<Action>(expected).unwrap(), action);
    }
}

#[test]
fn observations_have_the_documented_json_form_and_round_trip() {
    let mut observed = observe(
        PoolView {
            scale_in: ScaleInStrategy::Opportunistic {
                state_preservation: StatePreservation::Online,
            },
            update: UpdateStrategy::Proactive {
                sort_policy: SortPolicy::Oldest,
                selectors: None,
            },
            max_unavailable: IntOrPercent::Percent(25),
            ..pool(1)
        },
        &[0],
        vec![current_revision()],
    );
    observed.vms[0].printable_status = PrintableStatus::ErrorUnschedulable;
    let value = serde_json::to_value(&observed).unwrap();

    assert_eq!(value["nowMs"], json!(3_600_000));
    assert_eq!(value["burstReplicas"], json!(10));
    assert_eq!(value["expectationsSatisfied"], json!(true));
    let pool = &value["pool"];
    assert_eq!(pool["hasFinalizer"], json!(true));
    assert_eq!(pool["currentRevision"], json!("my-pool-1"));
    assert_eq!(pool["maxUnavailable"], json!("25%"));
    assert_eq!(pool["autohealing"], json!(null));
    assert_eq!(
        pool["selector"],
        json!({"matchLabels": {"selector": "value"}, "matchExpressions": []})
    );
    assert_eq!(
        pool["scaleIn"],
        json!({"kind": "opportunistic", "statePreservation": "Online"})
    );
    assert_eq!(
        pool["update"],
        json!({"kind": "proactive", "sortPolicy": "Oldest", "selectors": null})
    );
    assert_eq!(
        pool["template"],
        json!({"vmTemplate": "vm-a", "vmiTemplate": "vmi-a", "dataVolumeTemplates": "dv-a"})
    );
    let vm = &value["vms"][0];
    assert_eq!(vm["controllerOwnerUid"], json!(POOL_UID));
    assert_eq!(vm["printableStatus"], json!("ErrorUnschedulable"));
    assert_eq!(vm["readyFalseSinceMs"], json!(null));
    assert_eq!(vm["vmi"]["phase"], json!("Running"));
    assert_eq!(vm["vmi"]["nodeReady"], json!("True"));
    assert_eq!(vm["vmi"]["nodeOutOfService"], json!(false));
    assert_eq!(value["revisions"][0]["name"], json!("my-pool-1"));

    let back: Observation = serde_json::from_value(value).unwrap();
    assert_eq!(back, observed);
    assert_eq!(
        serde_json::to_value(IntOrPercent::Int(2)).unwrap(),
        json!(2)
    );
    assert!(serde_json::from_value::<IntOrPercent>(json!("a lot")).is_err());
}
