//! A proptest failure, pinned: "2 live guests for VM lab-user/lab05-webserver-2 on
//! nodes that report" (kubevirt-pool, lab05, `crashNode` + `recoverNode` while web-2's
//! guest was booting). On the recovered node's resync virt-handler, whose informer
//! still showed the launcher pod Running, started a domain for the old VMI although
//! the reboot had taken the launcher's containers: that guest outlived its VMI's
//! deletion and ran beside the restarted one. virt-handler starts a domain only
//! through a running launcher (kubevirt `pkg/virt-handler/vm.go`).

mod common;

use common::{rows, run_checked};
use poolsim::api::VirtualMachineInstance;
use poolsim::check::RunResult;
use std::path::Path;

const SCENARIO: &str = "scenarios/regressions/boot-crash-guest-outlives-vmi.yaml";

/// The proptest's minimal input, as found (lab05 manifests, its seed and events).
const PROPTEST_INPUT: &str = "\
apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: generated
spec:
  seed: 3514244111254816783
  duration: 10m
  sampleInterval: 10s
  algorithm: kubevirt-pool
  namespace: lab-user
  placeholders:
    username: user
  cluster:
    nodes: 3
  manifestFiles:
    - lab05/cluster-storage.yaml
    - lab05/secret_lab05-cloudinit.yaml
    - lab05/vmpool_lab05-webserver.yaml
    - lab05/svc_lab05-webserver.yaml
  load:
    - {at: 0s, cores: 0.5}
  events:
    - {at: 0s, scale: {pool: lab05-webserver, replicas: 3}}
    - {at: 172s, crashNode: {node: node-1}}
    - {at: 172s, recoverNode: {nodeOf: lab05-webserver-2}}
";

/// Every guest left at the end belongs to the VMI instance the API has now.
fn assert_guests_match_vmis(result: &RunResult) {
    for (uid, guest) in result.world.truth().guests() {
        let vmi = result
            .world
            .store()
            .get::<VirtualMachineInstance>(&guest.vmi);
        assert!(
            vmi.is_some_and(|v| &v.meta.uid == uid),
            "guest {uid} on {} outlives its VMI {}",
            guest.node,
            guest.vmi
        );
    }
}

#[test]
fn a_guest_booting_at_a_node_crash_does_not_outlive_its_vmi() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCENARIO);
    let text = std::fs::read_to_string(path).expect("readable");
    let result = run_checked(&text, SCENARIO);
    assert!(
        result.summary.expectations.iter().all(|e| e.passed),
        "{:?}",
        result.summary.expectations
    );
    assert!(rows(&result).iter().all(|r| r.guests_running <= 3));
    assert_guests_match_vmis(&result);
}

#[test]
fn the_proptest_input_keeps_the_invariants_and_three_guests() {
    // Resolved as if it sat in `scenarios/`, next to the lab05 manifests.
    let result = run_checked(PROPTEST_INPUT, "scenarios/boot-crash-proptest.yaml");
    let rows = rows(&result);
    assert!(rows.iter().all(|r| r.guests_running <= 3));
    assert_eq!(rows.last().expect("rows").guests_running, 3);
    assert_guests_match_vmis(&result);
}
