//! Issue 13, items 4, 6b and 6c (docs/FIDELITY.md): VMI readiness and liveness
//! probes with their manifest timings, `hangGuest`; virt-handler relabelling a healed
//! node at its next heartbeat; a Scheduling VMI failing once its pod goes down. Ports
//! of upstream's unit tests where there are some (kubevirt
//! `pkg/virt-controller/services/rendercontainer_test.go`, `template_test.go`,
//! `pkg/virt-controller/watch/vmi/vmi_test.go`).

mod manifest_common;

use manifest_common::{decode, errors, has};
use poolsim::api::{
    ContainerProbe, Object, ObjectMeta, Pod, PodPhase, Probe, ProbeHandler, Resources, VmiPhase,
    VmiSpec,
};
use poolsim::check::{run_prepared, RunResult};
use poolsim::controllers::vmi::scheduling_phase;
use poolsim::engine::SimTime;
use poolsim::output::record::EventRow;
use poolsim::sim::{prepare_bytes, RunOptions};
use std::path::Path;

// ------------------------------------------------------------------ helpers

fn run_file_with(path: &str, edit: impl Fn(String) -> String) -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = edit(std::fs::read_to_string(&path).expect("scenario file"));
    let prepared = prepare_bytes(text.as_bytes(), &path).unwrap_or_else(|d| panic!("{d:?}"));
    run_prepared(&prepared, &RunOptions::default()).expect("runs")
}

fn run_file(path: &str) -> RunResult {
    run_file_with(path, |text| text)
}

fn events<'a>(result: &'a RunResult, object: &str, reason: &str) -> Vec<&'a EventRow> {
    result
        .world
        .events
        .rows
        .iter()
        .filter(|row| row.object.starts_with(object) && row.reason == reason)
        .collect()
}

fn first_event(result: &RunResult, object: &str, reason: &str) -> SimTime {
    events(result, object, reason)
        .first()
        .unwrap_or_else(|| panic!("a {reason} event for {object}"))
        .time
}

/// The launcher pod of `vm` at the end of the run.
fn pod_of<'a>(result: &'a RunResult, vm: &str) -> &'a Pod {
    let prefix = format!("virt-launcher-{vm}-");
    result
        .world
        .store()
        .objects()
        .pods
        .values()
        .find(|pod| pod.meta.name.starts_with(&prefix))
        .expect("a launcher pod")
}

const READINESS: &str = "scenarios/fidelity/readiness-probe-timings.yaml";
const LIVENESS: &str = "scenarios/fidelity/liveness-probe-restarts-hung-guest.yaml";
const RELABEL: &str = "scenarios/fidelity/handler-relabels-at-next-heartbeat.yaml";
const GOING_DOWN: &str = "scenarios/fidelity/scheduling-vmi-fails-when-pod-goes-down.yaml";

// ------------------------------------------------------------------ decoding

fn pool_with_probes(probes: &str) -> String {
    format!(
        "apiVersion: pool.kubevirt.io/v1beta1
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
            devices: {{disks: [{{name: root}}]}}
            resources: {{requests: {{memory: 1Gi}}}}
          volumes:
          - {{name: root, containerDisk: {{image: fedora}}}}
{probes}"
    )
}

fn vmi_spec(object: Option<Object>) -> VmiSpec {
    match object {
        Some(Object::Pool(pool)) => pool.spec.template.spec.template.spec.clone(),
        other => panic!("a pool, got {other:?}"),
    }
}

#[test]
fn probe_timings_are_read_from_the_manifest_and_defaulted_like_set_defaults_probe() {
    let (object, messages) = decode(&pool_with_probes(
        "          readinessProbe:
            httpGet: {port: 80}
            initialDelaySeconds: 90
          livenessProbe:
            exec: {command: [cat, /tmp/healthy]}
            initialDelaySeconds: 5
            timeoutSeconds: 4
            periodSeconds: 7
            failureThreshold: 2
",
    ));
    // The liveness probe used to be ignored with "not modelled by poolsim".
    assert!(messages.is_empty(), "{messages:#?}");
    let spec = vmi_spec(object);
    assert_eq!(
        spec.readiness_probe,
        Some(Probe {
            handler: ProbeHandler::HttpGet,
            initial_delay_s: 90,
            timeout_s: 1,
            period_s: 10,
            success_threshold: 1,
            failure_threshold: 3,
        })
    );
    assert_eq!(
        spec.liveness_probe,
        Some(Probe {
            handler: ProbeHandler::Exec,
            initial_delay_s: 5,
            timeout_s: 4,
            period_s: 7,
            success_threshold: 1,
            failure_threshold: 2,
        })
    );
}

#[test]
fn a_probe_needs_exactly_one_handler_as_validate_probe_says() {
    let none = errors(&pool_with_probes(
        "          readinessProbe: {initialDelaySeconds: 5}\n",
    ));
    assert!(
        has(
            &none,
            &["either", ".readinessProbe.tcpSocket", "must be set if a"]
        ),
        "{none:#?}"
    );
    let two = errors(&pool_with_probes(
        "          livenessProbe: {tcpSocket: {port: 22}, httpGet: {port: 80}}\n",
    ));
    assert!(
        has(
            &two,
            &["livenessProbe must have exactly one probe type set"]
        ),
        "{two:#?}"
    );
}

#[test]
fn bad_probe_numbers_are_rejected_with_the_field() {
    let negative = errors(&pool_with_probes(
        "          readinessProbe: {tcpSocket: {port: 22}, periodSeconds: -1}\n",
    ));
    assert!(
        has(&negative, &["periodSeconds", "from 0"]),
        "{negative:#?}"
    );
    let liveness = errors(&pool_with_probes(
        "          livenessProbe: {tcpSocket: {port: 22}, successThreshold: 2}\n",
    ));
    assert!(
        has(&liveness, &["livenessProbe.successThreshold", "must be 1"]),
        "{liveness:#?}"
    );
}

// ------------------------------------------------------------------ rendering (ports)

/// `rendercontainer_test.go`, `dummyProbe`: an HTTP probe 2/3/4/100/200.
fn dummy_probe(handler: ProbeHandler) -> Probe {
    Probe::defaulted(handler, 2, 3, 4, 100, 200)
}

#[test]
fn rendercontainer_probe_gets_an_additional_10_seconds_initial_delay() {
    // "its pod should feature the same probe but with an additional 10 seconds initial
    // delay" (readiness and liveness alike).
    assert_eq!(
        dummy_probe(ProbeHandler::HttpGet).on_compute_container(10_000),
        ContainerProbe {
            initial_delay_ms: 12_000,
            timeout_ms: 3_000,
            period_ms: 4_000,
            success_threshold: 100,
            failure_threshold: 200,
        }
    );
}

#[test]
fn rendercontainer_exec_and_guest_agent_probes_get_one_second_more_timeout() {
    // "should wrap the liveness exec probe command inside virt-probe": virt-probe gets
    // the VMI's timeout, the pod probe that timeout + 1 s (`wrapExecProbeWithVirtProbe`,
    // `wrapGuestAgentPingWithVirtProbe`).
    for handler in [ProbeHandler::Exec, ProbeHandler::GuestAgentPing] {
        let probe = dummy_probe(handler).on_compute_container(10_000);
        assert_eq!(probe.timeout_ms, 4_000, "{handler:?}");
        assert_eq!(probe.initial_delay_ms, 12_000, "{handler:?}");
    }
    let tcp = dummy_probe(ProbeHandler::TcpSocket).on_compute_container(10_000);
    assert_eq!(tcp.timeout_ms, 3_000);
}

#[test]
fn template_copies_all_specified_probes() {
    // `template_test.go`, "should copy all specified probes" (a TCP handler: poolsim's
    // admission, like `validateProbe`, refuses the test's two handlers at once).
    let readiness = Probe::defaulted(ProbeHandler::TcpSocket, 2, 3, 4, 5, 6);
    let liveness = Probe::defaulted(ProbeHandler::TcpSocket, 12, 13, 14, 15, 16);
    let rendered = readiness.on_compute_container(10_000);
    assert_eq!(
        (
            rendered.initial_delay_ms,
            rendered.timeout_ms,
            rendered.period_ms
        ),
        (12_000, 3_000, 4_000)
    );
    assert_eq!(
        (rendered.success_threshold, rendered.failure_threshold),
        (5, 6)
    );
    let rendered = liveness.on_compute_container(10_000);
    assert_eq!(
        (
            rendered.initial_delay_ms,
            rendered.timeout_ms,
            rendered.period_ms
        ),
        (22_000, 13_000, 14_000)
    );
    assert_eq!(
        (rendered.success_threshold, rendered.failure_threshold),
        (15, 16)
    );
}

#[test]
fn set_defaults_probe_fills_what_is_below_one() {
    let probe = Probe::defaulted(ProbeHandler::GuestAgentPing, 0, 0, 0, 0, 0);
    assert_eq!(
        (
            probe.timeout_s,
            probe.period_s,
            probe.success_threshold,
            probe.failure_threshold
        ),
        (1, 10, 1, 3)
    );
}

// ------------------------------------------------------------------ probes over time

#[test]
fn readiness_waits_for_the_manifest_initial_delay_plus_libvirt_startup_delay() {
    let result = run_file(READINESS);
    // web-1 is never hung: its pod became Ready at its first probe, 90 s + 10 s after
    // the compute container started, long after its guest was running.
    let pod = pod_of(&result, "web-1");
    let started = pod.start_time.expect("started");
    assert_eq!(pod.ready_transition.0 - started.0, 100_000);
    let running = first_event(&result, "web-1", "Started");
    assert!(running.0 < started.0 + 30_000, "guest ran at {running:?}");
}

#[test]
fn the_libvirt_startup_delay_setting_moves_the_first_probe() {
    let result = run_file_with(READINESS, |text| {
        text.replace(
            "  cluster: {nodes: 3}",
            "  settings: {libvirtStartupDelay: 30s}\n  cluster: {nodes: 3}",
        )
    });
    let pod = pod_of(&result, "web-1");
    assert_eq!(
        pod.ready_transition.0 - pod.start_time.expect("started").0,
        120_000
    );
}

#[test]
fn a_hung_guest_is_not_ready_after_failure_threshold_timed_out_probes() {
    let result = run_file(READINESS);
    let unhealthy = events(&result, "virt-launcher-web-0-", "Unhealthy");
    assert_eq!(unhealthy.len(), 1, "one transition to not ready");
    let hang_ms = 300_000;
    let since_hang = unhealthy[0].time.0 - hang_ms;
    // Three probes, 10 s apart, the last timing out after 2 s: the first probe comes
    // within a period of the hang.
    assert!(
        (2 * 10_000 + 2_000..3 * 10_000 + 2_000).contains(&since_hang),
        "{since_hang} ms"
    );
    // Unhung at 8m: Ready again at the next probe (successThreshold 1).
    let pod = pod_of(&result, "web-0");
    assert!(pod.ready);
    let back = pod.ready_transition.0 - 480_000;
    assert!(back <= 10_000 + 2_000, "{back} ms after the unhang");
    // The guest kept running throughout: no restart.
    assert!(events(&result, "web-0", "Stopped").is_empty());
}

#[test]
fn success_threshold_needs_that_many_successes_in_a_row() {
    let result = run_file_with(READINESS, |text| {
        text.replace(
            "                  failureThreshold: 3",
            "                  failureThreshold: 3\n                  successThreshold: 3",
        )
    });
    let pod = pod_of(&result, "web-1");
    // First probe at 100 s, then 110 s, 120 s: the third success makes it Ready.
    assert_eq!(
        pod.ready_transition.0 - pod.start_time.expect("started").0,
        120_000
    );
}

#[test]
fn a_failing_liveness_probe_kills_the_guest_and_the_vm_restarts_it() {
    let result = run_file(LIVENESS);
    let killing = first_event(&result, "virt-launcher-web-0-", "Killing");
    // Hang at 5m; three liveness failures 10 s apart, each after the 2 s timeout
    // (1 s + 1 s for the guest-agent wrapper).
    let since_hang = killing.0 - 300_000;
    assert!((22_000..32_000).contains(&since_hang), "{since_hang} ms");
    // The hung guest ignores the ACPI request: qemu goes when the VMI's 30 s grace
    // period runs out, and virt-handler fails the VMI.
    let crashed = first_event(&result, "web-0", "Stopped");
    assert_eq!(crashed.0 - killing.0, 30_000);
    let restarted = events(&result, "web-0", "SuccessfulCreate")
        .into_iter()
        .filter(|row| row.time > crashed && row.message.contains("virtual machine instance"))
        .count();
    assert_eq!(restarted, 1, "runStrategy Always starts a new VMI");
    // web-1 never failed a probe.
    assert!(events(&result, "virt-launcher-web-1-", "Killing").is_empty());
}

#[test]
fn a_hung_guest_without_probes_stays_ready() {
    let result = run_file_with(READINESS, |text| {
        let start = text.find("                readinessProbe:").expect("probe");
        let end = text.find("                volumes:").expect("volumes");
        format!("{}{}", &text[..start], &text[end..])
    });
    // Nothing probes the guest, so nothing notices it hangs.
    assert!(events(&result, "virt-launcher-web-0-", "Unhealthy").is_empty());
    assert!(pod_of(&result, "web-0").ready);
    let rows = &result.world.samples.rows;
    assert!(rows
        .iter()
        .filter(|row| row.time.0 >= 120_000)
        .all(|row| row.vms_ready == 2));
}

// ------------------------------------------------------------------ 6b: heartbeat

#[test]
fn a_healed_node_is_relabelled_schedulable_at_virt_handlers_next_heartbeat() {
    let result = run_file(RELABEL);
    let heal_ms = 720_000;
    let ready = first_event(&result, "node-0", "NodeReady");
    let relabel = events(&result, "node-0", "NodeSchedulable");
    assert_eq!(relabel.len(), 1);
    let relabel = relabel[0].time;
    assert!(relabel > ready, "not with the node's return");
    // The jittered heartbeat: at most 60 s * 2.2 after the heal.
    assert!(relabel.0 - heal_ms <= 132_000, "{relabel:?}");
    // Until then the new launcher pod does not match the node.
    let unschedulable = events(&result, "virt-launcher-web-0-", "FailedScheduling");
    assert!(unschedulable
        .iter()
        .any(|row| row.time > ready && row.message.contains("node affinity/selector")));
    let scheduled = events(&result, "virt-launcher-web-0-", "Scheduled");
    let last = scheduled.last().expect("scheduled again").time;
    assert!(last > relabel);
}

#[test]
fn a_rebooted_node_is_relabelled_at_once_by_the_restarted_virt_handler() {
    let result = run_file_with(RELABEL, |text| {
        text.replace("partitionNode", "crashNode")
            .replace("healNode", "recoverNode")
    });
    let ready = events(&result, "node-0", "NodeReady");
    let ready = ready.last().expect("back").time;
    assert!(events(&result, "node-0", "NodeSchedulable").is_empty());
    let scheduled = events(&result, "virt-launcher-web-0-", "Scheduled");
    let last = scheduled.last().expect("scheduled again").time;
    assert!(
        last > ready && last.0 - ready.0 < 10_000,
        "pod scheduled at {last:?}, node back at {ready:?}"
    );
}

// ------------------------------------------------------------------ 6c: going down

fn launcher_pod(phase: PodPhase, deleting: bool) -> Pod {
    let mut meta = ObjectMeta::named("default", "virt-launcher-testvmi-abcde");
    if deleting {
        meta.deletion_timestamp = Some(SimTime(1_000));
    }
    Pod {
        meta,
        node_name: Some("node-0".into()),
        requests: Resources::default(),
        tolerations: Vec::new(),
        node_selector: Default::default(),
        secret_refs: Vec::new(),
        config_map_refs: Vec::new(),
        claim_refs: Vec::new(),
        termination_grace_period_s: 60,
        phase,
        ready: false,
        ready_transition: SimTime::ZERO,
        start_time: None,
        unschedulable: false,
        images: Vec::new(),
        image_pull_error: None,
    }
}

#[test]
fn vmi_test_moves_the_vmi_to_failed_if_pod_is_not_handed_over() {
    // `vmi_test.go`, "should move the vmi to failed if pod is not handed over".
    for phase in [PodPhase::Succeeded, PodPhase::Failed] {
        assert_eq!(
            scheduling_phase(&launcher_pod(phase, false), false),
            VmiPhase::Failed,
            "{phase:?}"
        );
    }
}

#[test]
fn vmi_test_hands_over_a_running_pod_and_waits_for_a_pending_one() {
    // "should hand over pod to virt-handler if pod is ready and running".
    assert_eq!(
        scheduling_phase(&launcher_pod(PodPhase::Running, false), false),
        VmiPhase::Scheduled
    );
    assert_eq!(
        scheduling_phase(&launcher_pod(PodPhase::Pending, false), false),
        VmiPhase::Scheduling
    );
    // `IsPodReady(pod) && vmi.DeletionTimestamp == nil`: a deleted VMI is not handed
    // over, nor failed while its pod is alive.
    assert_eq!(
        scheduling_phase(&launcher_pod(PodPhase::Running, false), true),
        VmiPhase::Scheduling
    );
}

#[test]
fn a_scheduling_vmi_fails_once_its_pod_is_going_down() {
    // `IsPodDownOrGoingDown`: a deletionTimestamp is enough (no upstream unit test
    // covers this case in Scheduling; it follows from `lifecycle.go`).
    for phase in [PodPhase::Pending, PodPhase::Running] {
        assert_eq!(
            scheduling_phase(&launcher_pod(phase, true), false),
            VmiPhase::Failed,
            "{phase:?}"
        );
    }
}

#[test]
fn a_scheduling_vmi_on_a_partitioned_node_fails_at_the_eviction_not_at_the_heal() {
    let result = run_file(GOING_DOWN);
    let evicted = first_event(&result, "virt-launcher-web-0-", "TaintManagerEviction");
    let failed = first_event(&result, "web-0", "FailedPodGoingDown");
    // One watch delay later, long before the heal at 12m.
    assert!(
        failed > evicted && failed.0 - evicted.0 <= 100,
        "{failed:?}"
    );
    assert!(failed.0 < 720_000);
    assert!(events(&result, "web-0", "FailedPodGone").is_empty());
}

#[test]
fn the_removed_readiness_probe_settings_say_to_use_the_manifest() {
    // Probe timings come from the VM template's readinessProbe now (issue 13, item 4);
    // a scenario naming the old settings is told where the value goes.
    let path = "scenarios/lab05-webserver.yaml";
    let text = std::fs::read_to_string(path).expect("the scenario");
    for setting in ["readinessProbeInitialDelay", "readinessProbePeriod"] {
        let changed = text.replacen(
            "spec:\n",
            &format!("spec:\n  settings: {{{setting}: 5s}}\n"),
            1,
        );
        let errors = poolsim::sim::prepare_bytes(changed.as_bytes(), std::path::Path::new(path))
            .err()
            .expect("a removed setting is an error");
        let message = format!("{errors:?}");
        assert!(
            message.contains(&format!("{setting} was removed")),
            "{message}"
        );
        assert!(message.contains("readinessProbe"), "{message}");
    }
}
