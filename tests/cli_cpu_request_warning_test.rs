//! Through the CLI (issue 13, item 7): `validate` and `run` warn when an HPA targets
//! the CPU utilization of launcher pods whose CPU request is only KubeVirt's launcher
//! default (the VM asks for no CPU), with the numbers; and the node monitor grace
//! period is upstream's current default (50 s).

mod common;
use common::{poolsim, poolsim_ok};
use poolsim::cluster::settings::Settings;

/// The phrase that marks the warning.
const WARNING: &str = "CPU request is only KubeVirt's launcher default";

fn stderr_of(args: &[&str]) -> String {
    String::from_utf8_lossy(&poolsim_ok(args).stderr).into_owned()
}

#[test]
fn validate_warns_about_the_labs_hpa_with_the_numbers() {
    let stderr = stderr_of(&["validate", "scenarios/lab05-hpa-no-cpu-request.yaml"]);
    let warning = stderr
        .lines()
        .find(|line| line.contains(WARNING))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    // Placed on the target field of the HPA's own file.
    assert!(
        warning.starts_with(
            "warning: scenarios/lab05/hpa_lab05-webserver.yaml:12:35: [0].spec.targetCPUUtilizationPercentage: "
        ),
        "{warning}"
    );
    for part in [
        "HorizontalPodAutoscaler lab-user/lab05-webserver",
        "targets 50% CPU utilization",
        "VirtualMachinePool \"lab05-webserver\"",
        "launcher default of 105m",
        "compute container 100m = 1 vCPU / cpuAllocationRatio 10",
        "guest-console-log 5m",
        "52m of CPU per pod already meets the target",
        "an idle guest (20m) reads 19%",
        "load at 0s (0.2 cores over 2 VMs) reads 114%",
        "maxReplicas 5",
        "domain.resources.requests.cpu",
    ] {
        assert!(warning.contains(part), "{part:?} missing: {warning}");
    }
    // A warning is not an error: the file is valid.
    assert!(String::from_utf8_lossy(
        &poolsim_ok(&["validate", "scenarios/lab05-hpa-no-cpu-request.yaml"]).stdout
    )
    .contains("lab05-hpa-no-cpu-request.yaml: ok"));
}

#[test]
fn run_warns_once_and_the_run_reads_what_the_warning_says() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = poolsim_ok(&[
        "run",
        "scenarios/lab05-hpa-no-cpu-request.yaml",
        "--out",
        out.path().to_str().expect("utf-8"),
    ]);
    // (`--quiet` leaves warnings out, as it does every other.)
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches(WARNING).count(), 1, "{stderr}");
    // The warning's 114% is what the HPA reports once both VMs run.
    let csv = std::fs::read_to_string(out.path().join("lab05-hpa-no-cpu-request/timeseries.csv"))
        .expect("csv");
    let row = csv
        .lines()
        .find(|line| line.starts_with("240,"))
        .expect("row at 4m");
    let cpu = row.split(',').nth(10).expect("cpu_utilization_pct");
    assert_eq!(cpu, "114");
}

#[test]
fn idle_guests_read_what_the_warning_says() {
    let stderr = stderr_of(&[
        "validate",
        "scenarios/fidelity/hpa-launcher-only-cpu-request-idle.yaml",
    ]);
    let warning = stderr
        .lines()
        .find(|line| line.contains(WARNING))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(
        warning.contains("an idle guest (20m) reads 19%"),
        "{warning}"
    );
    assert!(!warning.contains("load at 0s"), "no load, no load reading");
    // The scenario's expect block pins the reading at 19%.
    let out = tempfile::tempdir().expect("tempdir");
    poolsim_ok(&[
        "check",
        "scenarios/fidelity/hpa-launcher-only-cpu-request-idle.yaml",
        "--out",
        out.path().to_str().expect("utf-8"),
    ]);
}

#[test]
fn no_warning_when_the_vm_requests_cpu() {
    let stderr = stderr_of(&["validate", "scenarios/lab05-hpa-load-wave.yaml"]);
    assert!(!stderr.contains(WARNING), "{stderr}");
}

/// A pool without a CPU request and an HPA, the HPA written by the caller (indented
/// as a list item of `spec.manifests`), with `settings`.
fn scenario_with(settings: &str, hpa: &str) -> String {
    format!(
        r#"apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata: {{name: hpa-warning}}
spec:
  duration: 1m
  cluster: {{nodes: 1}}
  settings: {settings}
  manifests:
    - apiVersion: pool.kubevirt.io/v1beta1
      kind: VirtualMachinePool
      metadata: {{name: web}}
      spec:
        replicas: 1
        selector: {{matchLabels: {{app: web}}}}
        virtualMachineTemplate:
          metadata: {{labels: {{app: web}}}}
          spec:
            runStrategy: Always
            template:
              metadata: {{labels: {{app: web}}}}
              spec:
                domain:
                  cpu: {{cores: 2}}
                  devices: {{disks: [{{name: rootdisk, disk: {{bus: virtio}}}}]}}
                  resources: {{requests: {{memory: 1Gi}}}}
                volumes:
                  - name: rootdisk
                    containerDisk: {{image: quay.io/containerdisks/fedora:latest}}
{hpa}"#
    )
}

const V2_HPA: &str = r#"    - apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: web}
      spec:
        minReplicas: 1
        maxReplicas: 4
        scaleTargetRef: {apiVersion: pool.kubevirt.io/v1beta1, kind: VirtualMachinePool, name: web}
        metrics:
          - type: Resource
            resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
"#;

fn validate_text(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, text).expect("write");
    let output = poolsim(&["validate", path.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stderr
}

#[test]
fn a_v2_hpa_is_warned_on_its_metric_and_settings_change_the_numbers() {
    let stderr = validate_text(&scenario_with("{}", V2_HPA));
    let warning = stderr
        .lines()
        .find(|line| line.contains(WARNING))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(
        warning.contains(
            ":38:83: spec.manifests[1].spec.metrics[0].resource.target.averageUtilization: "
        ),
        "{warning}"
    );
    // Two vCPUs / 10 = 200m, plus 5m: 205m; 70% of it is 143m; idle 20m is 9%.
    assert!(warning.contains("launcher default of 205m"), "{warning}");
    assert!(warning.contains("143m of CPU per pod"), "{warning}");
    assert!(warning.contains("reads 9%"), "{warning}");

    // A denser cpuAllocationRatio and no console log container: 2 / 20 = 100m.
    let stderr = validate_text(&scenario_with(
        "{cpuAllocationRatio: 20, serialConsoleLog: false}",
        V2_HPA,
    ));
    assert!(stderr.contains("launcher default of 100m"), "{stderr}");
    assert!(
        stderr.contains("compute container 100m = 2 vCPU / cpuAllocationRatio 20, kubevirt services/renderresources.go)"),
        "{stderr}"
    );
    assert!(!stderr.contains("guest-console-log"), "{stderr}");
    assert!(stderr.contains("reads 20%"), "{stderr}");
}

#[test]
fn a_value_target_or_a_memory_metric_does_not_divide_by_the_cpu_request() {
    let value_target = V2_HPA.replace(
        "{type: Utilization, averageUtilization: 70}",
        "{type: AverageValue, averageValue: 500m}",
    );
    let stderr = validate_text(&scenario_with("{}", &value_target));
    assert!(!stderr.contains(WARNING), "{stderr}");
    let memory = V2_HPA.replace("{name: cpu,", "{name: memory,");
    let stderr = validate_text(&scenario_with("{}", &memory));
    assert!(!stderr.contains(WARNING), "{stderr}");
}

#[test]
fn the_node_monitor_grace_period_is_upstreams_50s() {
    // kubernetes PR #126287 (1.32): RecommendedDefaultNodeLifecycleControllerConfiguration.
    assert_eq!(Settings::default().node_monitor_grace_ms, 50_000);
    let out = tempfile::tempdir().expect("tempdir");
    poolsim_ok(&[
        "run",
        "scenarios/fidelity/node-monitor-grace-period-50s.yaml",
        "--out",
        out.path().to_str().expect("utf-8"),
        "--quiet",
    ]);
    let events =
        std::fs::read_to_string(out.path().join("node-monitor-grace-period-50s/events.csv"))
            .expect("events.csv");
    let crash = events
        .lines()
        .find(|line| line.contains(",crashNode,"))
        .expect("the crash");
    let not_ready = events
        .lines()
        .find(|line| line.contains(",NodeNotReady,"))
        .expect("NodeNotReady");
    let seconds = |line: &str| -> f64 { line.split(',').next().unwrap().parse().unwrap() };
    assert_eq!(seconds(not_ready) - seconds(crash), 50.0);
}
