//! Fidelity answers (docs/FIDELITY.md) pinned as behaviour: when a launcher pod and
//! its VMI are Ready, and what wakes a pool whose VMs fail to start.

use poolsim::check::{run_prepared, RunResult};
use poolsim::engine::SimTime;
use poolsim::scenario::load_str;
use poolsim::sim::{prepare_loaded, RunOptions};
use std::path::Path;

fn run_text(text: &str) -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fidelity-test.yaml");
    let loaded = load_str(text, &path).unwrap_or_else(|d| panic!("{d:?}"));
    let prepared =
        prepare_loaded(loaded.scenario, loaded.warnings).unwrap_or_else(|d| panic!("{d:?}"));
    run_prepared(&prepared, &RunOptions::default()).expect("runs")
}

/// One VM on three nodes for two minutes; `probe` adds a VMI readiness probe.
fn one_vm(probe: bool) -> String {
    let probe = if probe {
        "\n                readinessProbe: {tcpSocket: {port: 80}}"
    } else {
        ""
    };
    format!(
        "apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata: {{name: ready-timing}}
spec:
  seed: 4
  duration: 2m
  cluster: {{nodes: 3}}
  manifests:
    - apiVersion: pool.kubevirt.io/v1beta1
      kind: VirtualMachinePool
      metadata: {{name: web}}
      spec:
        replicas: 1
        selector: {{matchLabels: {{kubevirt.io/vmpool: web}}}}
        virtualMachineTemplate:
          metadata: {{labels: {{kubevirt.io/vmpool: web}}}}
          spec:
            runStrategy: Always
            template:
              metadata: {{labels: {{kubevirt.io/vmpool: web}}}}
              spec:
                domain:
                  cpu: {{cores: 1}}
                  devices: {{disks: [{{name: rootdisk, disk: {{bus: virtio}}}}]}}
                  resources: {{requests: {{memory: 1Gi}}}}{probe}
                volumes:
                  - name: rootdisk
                    containerDisk: {{image: quay.io/containerdisks/fedora:latest}}
"
    )
}

/// (pod start, pod Ready transition, VMI Running since, VMI Ready transition, VM Ready
/// transition) of the one VM.
fn ready_times(result: &RunResult) -> (SimTime, SimTime, SimTime, SimTime, SimTime) {
    let objects = result.world.store().objects();
    let pod = objects.pods.values().next().expect("a launcher pod");
    let vmi = objects.vmis.values().next().expect("a VMI");
    let vm = objects.vms.values().next().expect("a VM");
    assert!(
        pod.ready && vmi.status.ready && vm.status.ready,
        "all Ready at 2m"
    );
    (
        pod.start_time.expect("started"),
        pod.ready_transition,
        vmi.status.running_since.expect("running"),
        vmi.status.ready_transition,
        vm.status.ready_transition,
    )
}

#[test]
fn launcher_pod_without_probe_is_ready_when_its_containers_start_before_the_guest_runs() {
    let (started, pod_ready, running, vmi_ready, vm_ready) = ready_times(&run_text(&one_vm(false)));
    assert_eq!(pod_ready, started, "no probe: Ready with the containers");
    assert!(
        running > pod_ready,
        "the guest starts only after the pod is Ready"
    );
    assert_eq!(
        vmi_ready, pod_ready,
        "the VMI copies the pod's lastTransitionTime"
    );
    assert_eq!(
        vm_ready, vmi_ready,
        "the VM copies the VMI's lastTransitionTime"
    );
}

#[test]
fn launcher_pod_with_a_readiness_probe_is_ready_at_the_first_probe_after_the_guest_runs() {
    let (started, pod_ready, running, vmi_ready, _) = ready_times(&run_text(&one_vm(true)));
    assert!(
        pod_ready >= running,
        "the probe cannot pass before the guest runs"
    );
    let since_start = pod_ready.0 - started.0;
    // First probe at 10 s (LibvirtStartupDelay), then every 10 s (periodSeconds).
    assert!(
        since_start >= 10_000 && since_start % 10_000 == 0,
        "{since_start} ms"
    );
    assert!(
        pod_ready.0 - running.0 < 10_000,
        "within one period of the guest"
    );
    assert_eq!(vmi_ready, pod_ready);
}

fn autohealing_scenario() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/regressions/autohealing-needs-an-event-17300.yaml");
    std::fs::read_to_string(path).expect("readable")
}

fn first_autoheal_s(result: &RunResult) -> Option<f64> {
    result
        .world
        .events
        .rows
        .iter()
        .find(|row| row.message.ends_with("(autohealing)"))
        .map(|row| row.time.0 as f64 / 1000.0)
}

#[test]
fn opportunistic_pool_is_not_autohealed_until_an_event_wakes_it() {
    let result = run_text(&autohealing_scenario());
    // The VMs pass the 5 m threshold at about 301 s; the scale at 1200 s is the first
    // event, and its sync (after the 1 s enqueue delay) autoheals.
    assert_eq!(first_autoheal_s(&result), Some(1201.05));
}

#[test]
fn proactive_pool_autoheals_within_the_retry_delay_of_the_threshold() {
    let text = autohealing_scenario().replace("        updateStrategy: {opportunistic: {}}\n", "");
    assert!(!text.contains("updateStrategy"));
    let result = run_text(&text);
    // VMs created at 1.05 s fail from then on: threshold 301.05 s; the budget-spent
    // requeue every 3 s (defaultRetryDelay) finds them within 3 s.
    let first = first_autoheal_s(&result).expect("autohealed");
    assert!(
        (301.05..=304.05).contains(&first),
        "first autoheal at {first} s"
    );
}

#[test]
fn pool_informer_resync_wakes_a_stuck_pool() {
    let text = autohealing_scenario()
        .replace(
            "  events:\n    - {at: 20m, scale: {pool: web, replicas: 2}}\n",
            "",
        )
        .replace(
            "  expect:",
            "  settings: {informerResyncMin: 10m}\n  expect-off:",
        )
        .replace("  duration: 30m", "  duration: 25m");
    let text = text[..text.find("  expect-off:").unwrap()].to_string();
    let result = run_text(&text);
    // The resync period is drawn once from [10 m, 20 m): the first resync after the
    // 301 s threshold autoheals, one enqueue delay later.
    let first = first_autoheal_s(&result).expect("the resync woke the pool");
    assert!(
        (601.0..1201.0).contains(&first),
        "first autoheal at {first} s"
    );
    let without_resync = run_text(&text.replace("informerResyncMin: 10m", "informerResyncMin: 0s"));
    assert_eq!(first_autoheal_s(&without_resync), None);
}
