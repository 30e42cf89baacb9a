//! Component timings and flags, each with its upstream default and source. A scenario
//! overrides any of them under `spec.settings` by the camelCase name given here.

use crate::engine::time::{HOUR_MS, MINUTE_MS, SECOND_MS};

/// How a setting is written in a scenario, for `spec.settings` decoding and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    DurationMs,
    Count,
    Ratio,
    Flag,
}

macro_rules! settings {
    ($( $(#[doc = $doc:expr])* $field:ident : $ty:ty = $default:expr, $name:literal, $kind:expr; )*) => {
        /// Every tunable of the model. See each field for its upstream source.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Settings {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings { $( $field: $default, )* }
            }
        }

        impl Settings {
            /// `(scenario name, type, doc)` of every setting, in declaration order.
            pub const CATALOGUE: &'static [(&'static str, SettingType, &'static str)] = &[
                $( ($name, $kind, concat!($($doc, "\n"),*)), )*
            ];

            /// Set a setting by its scenario name from an already-typed value
            /// (milliseconds, a count, a ratio, or 0/1 for a flag).
            pub fn set(&mut self, name: &str, value: f64) -> bool {
                match name {
                    $( $name => { self.$field = <$ty as SettingValue>::from_f64(value); true } )*
                    _ => false,
                }
            }
        }
    };
}

/// Settings a scenario could once set that no longer exist, with what to do instead: a
/// scenario naming one gets this message (exit 2) rather than a bare "unknown setting".
pub const REMOVED_SETTINGS: &[(&str, &str)] = &[
    (
        "poolRetryDelay",
        "poolRetryDelay was removed: it changed nothing. Upstream's requeue when the \
         maxUnavailable budget is spent is a constant, not a flag (kubevirt \
         pkg/virt-controller/watch/pool/pool.go, defaultRetryDelay = 3 s); the \
         kubevirt-pool algorithm requeues after 3 s and an exec algorithm chooses its \
         own RequeueAfter delay. Delete the line",
    ),
    (
        "readinessProbeInitialDelay",
        "readinessProbeInitialDelay was removed: the VM template's \
         spec.readinessProbe.initialDelaySeconds is read instead, plus \
         libvirtStartupDelay (10 s) as upstream adds it (kubevirt \
         pkg/virt-controller/services/rendercontainer.go, updateReadinessProbe). Move \
         the value to the manifest's readinessProbe",
    ),
    (
        "readinessProbePeriod",
        "readinessProbePeriod was removed: the VM template's \
         spec.readinessProbe.periodSeconds is read instead (default 10 s, kubevirt \
         SetDefaults_Probe). Move the value to the manifest's readinessProbe",
    ),
];

/// Conversion of a decoded scenario value into a settings field.
pub trait SettingValue {
    fn from_f64(value: f64) -> Self;
}
impl SettingValue for u64 {
    fn from_f64(value: f64) -> Self {
        value.max(0.0).round() as u64
    }
}
impl SettingValue for u32 {
    fn from_f64(value: f64) -> Self {
        value.max(0.0).round() as u32
    }
}
impl SettingValue for f64 {
    fn from_f64(value: f64) -> Self {
        value
    }
}
impl SettingValue for bool {
    fn from_f64(value: f64) -> Self {
        value != 0.0
    }
}

settings! {
    /// Delay between an API write and its arrival in every informer cache. Not an
    /// upstream constant: a typical in-cluster watch latency (inferred), kept small.
    watch_delay_ms: u64 = 50, "watchDelay", SettingType::DurationMs;

    /// `enqueuePool` delays every pool sync by 1 s (`pool.go`, `defaultAddDelay`).
    pool_enqueue_delay_ms: u64 = SECOND_MS, "poolEnqueueDelay", SettingType::DurationMs;
    /// `BurstReplicas` (`pkg/virt-controller/watch/application.go` passes
    /// `controller.BurstReplicas` = 250 to the pool controller).
    pool_burst_replicas: u32 = 250, "poolBurstReplicas", SettingType::Count;
    /// Resync of virt-controller's shared informers: `ResyncPeriod(12h)`, i.e. 12 h times
    /// a factor drawn once from [1, 2), so 12-24 h (kubevirt `pkg/controller/virtinformers.go`,
    /// `NewKubeInformerFactory` and `ResyncPeriod`). A resync replays every cached pool to
    /// `updatePool`, which enqueues it; the VM and VMI informers' resyncs do not reach the
    /// pool queue (`updateVMHandler` drops equal resource versions, `addVMIHandler` wants a
    /// revision mismatch). 0 turns the resync off.
    informer_resync_min_ms: u64 = 12 * HOUR_MS, "informerResyncMin", SettingType::DurationMs;
    /// Replicas of the virt-controller deployment: one leads, the others stand by
    /// (`pkg/virt-operator/resource/generate/components/deployments.go`,
    /// `NewControllerDeployment`, `Replicas: 2`). Matters only when the pool controller
    /// panics (`controllers::virt_controller`); 0 is read as 1.
    virt_controller_replicas: u32 = 2, "virtControllerReplicas", SettingType::Count;
    /// virt-controller's leader election lease: a standby takes over this long after the
    /// leader crashed (`pkg/virt-controller/leaderelectionconfig/config.go`,
    /// `DefaultLeaseDuration`; renew deadline 10 s and retry period 2 s not modelled).
    leader_elect_lease_duration_ms: u64 = 15 * SECOND_MS, "leaderElectLeaseDuration", SettingType::DurationMs;
    /// The kubelet's crash-loop back-off for a container that exits: the first restart
    /// is immediate, then this delay, doubling up to `containerRestartBackoffMax`, and
    /// forgotten after twice the maximum without a crash (kubernetes
    /// `pkg/kubelet/kubelet.go`, `backOffPeriod` and `MaxContainerBackOff`;
    /// `flowcontrol.Backoff`). Applied to the virt-controller container.
    container_restart_backoff_initial_ms: u64 = 10 * SECOND_MS, "containerRestartBackoffInitial", SettingType::DurationMs;
    container_restart_backoff_max_ms: u64 = 300 * SECOND_MS, "containerRestartBackoffMax", SettingType::DurationMs;
    /// Expectations expire after 5 minutes (`pkg/controller/expectations.go`,
    /// `ExpectationsTimeout`).
    expectations_timeout_ms: u64 = 5 * MINUTE_MS, "expectationsTimeout", SettingType::DurationMs;

    /// Median of VM creation to VMI Running (`docs/perf-scale-benchmarks.md`).
    vm_start_p50_ms: u64 = 17 * SECOND_MS, "vmStartP50", SettingType::DurationMs;
    /// 95th percentile of VM creation to VMI Running (same source).
    vm_start_p95_ms: u64 = 27 * SECOND_MS, "vmStartP95", SettingType::DurationMs;
    /// Time for the virt-launcher pod's containers to start once scheduled and its
    /// volumes are ready (image cached; inferred).
    pod_start_ms: u64 = 2 * SECOND_MS, "podStart", SettingType::DurationMs;
    /// `LibvirtStartupDelay`, 10 s, added to the `initialDelaySeconds` of every VMI
    /// readiness and liveness probe when it is copied onto the compute container
    /// (kubevirt `pkg/virt-controller/services/template.go`; added in
    /// `services/rendercontainer.go`, `updateReadinessProbe` and
    /// `updateLivenessProbe`). A constant upstream; a setting here to show its weight.
    /// The probes' own timings (`initialDelaySeconds`, `periodSeconds`,
    /// `timeoutSeconds`, thresholds) come from the VMI template (docs/FIDELITY.md,
    /// issue 13 item 4).
    libvirt_startup_delay_ms: u64 = 10 * SECOND_MS, "libvirtStartupDelay", SettingType::DurationMs;
    /// ACPI shutdown of a guest asked to stop; bounded by the VMI's grace period
    /// (inferred: a small Linux guest powers off in a few seconds).
    guest_shutdown_min_ms: u64 = 2 * SECOND_MS, "guestShutdownMin", SettingType::DurationMs;
    guest_shutdown_max_ms: u64 = 8 * SECOND_MS, "guestShutdownMax", SettingType::DurationMs;
    /// Start backoff for VMIs that fail before Running: `10 s * n^2` capped at 300 s,
    /// plus jitter (`vm.go`, `calculateStartBackoffTime`).
    start_backoff_base_ms: u64 = 10 * SECOND_MS, "startBackoffBase", SettingType::DurationMs;
    start_backoff_max_ms: u64 = 300 * SECOND_MS, "startBackoffMax", SettingType::DurationMs;

    /// Node lease renewal (`kubelet` `nodeLeaseDurationSeconds` 40 × 0.25).
    node_lease_renew_ms: u64 = 10 * SECOND_MS, "nodeLeaseRenew", SettingType::DurationMs;
    /// `--node-monitor-period` (kube-controller-manager, 5 s).
    node_monitor_period_ms: u64 = 5 * SECOND_MS, "nodeMonitorPeriod", SettingType::DurationMs;
    /// `--node-monitor-grace-period`: 50 s since Kubernetes 1.32 (kubernetes
    /// `pkg/controller/nodelifecycle/config/v1alpha1/defaults.go`,
    /// `RecommendedDefaultNodeLifecycleControllerConfiguration`, changed from 40 s by
    /// PR #126287); set 40s to model older clusters.
    node_monitor_grace_ms: u64 = 50 * SECOND_MS, "nodeMonitorGracePeriod", SettingType::DurationMs;
    /// `DefaultTolerationSeconds` admission: 300 s for not-ready and unreachable.
    default_toleration_ms: u64 = 300 * SECOND_MS, "defaultTolerationSeconds", SettingType::DurationMs;
    /// Pod GC period (`pkg/controller/podgc/gc_controller.go`, `gcCheckPeriod` 20 s).
    pod_gc_period_ms: u64 = 20 * SECOND_MS, "podGcPeriod", SettingType::DurationMs;
    /// Orphaned pods (node deleted) are removed after a 40 s quarantine
    /// (`gc_controller.go`, `quarantineTime`).
    pod_gc_quarantine_ms: u64 = 40 * SECOND_MS, "podGcQuarantine", SettingType::DurationMs;
    /// RWO volumes of a pod deleted on an unreachable node are force-detached after
    /// 6 min (`pkg/controller/volume/attachdetach/reconciler`, `maxWaitForUnmountDuration`).
    force_detach_ms: u64 = 6 * MINUTE_MS, "forceDetachAfter", SettingType::DurationMs;
    /// Volume mount retries back off from 500 ms to 2 m 2 s
    /// (`pkg/volume/util/nestedpendingoperations`).
    mount_retry_max_ms: u64 = 122 * SECOND_MS, "mountRetryMax", SettingType::DurationMs;
    /// The kubelet's image pull back-off: 10 s doubling up to 300 s (kubernetes
    /// `pkg/kubelet/kubelet.go`, `imageBackOff := flowcontrol.NewBackOff(backOffPeriod,
    /// MaxContainerBackOff)`, 10 s and 300 s).
    image_pull_backoff_base_ms: u64 = 10 * SECOND_MS, "imagePullBackOffBase", SettingType::DurationMs;
    image_pull_backoff_max_ms: u64 = 300 * SECOND_MS, "imagePullBackOffMax", SettingType::DurationMs;
    /// Unschedulable pods are retried at least every 5 min
    /// (kube-scheduler `podMaxInUnschedulablePodsDuration`).
    unschedulable_retry_ms: u64 = 5 * MINUTE_MS, "unschedulableRetry", SettingType::DurationMs;

    /// virt-handler heartbeat: every 60 s with jitter factor 1.2, i.e. 60-132 s
    /// (`pkg/virt-handler/heartbeat/heartbeat.go`).
    handler_heartbeat_min_ms: u64 = 60 * SECOND_MS, "handlerHeartbeatMin", SettingType::DurationMs;
    handler_heartbeat_max_ms: u64 = 132 * SECOND_MS, "handlerHeartbeatMax", SettingType::DurationMs;
    /// KubeVirt's node controller: unresponsive after 5 min without a heartbeat,
    /// checked every minute (`pkg/virt-controller/watch/node/node.go`).
    handler_unresponsive_ms: u64 = 5 * MINUTE_MS, "handlerUnresponsiveAfter", SettingType::DurationMs;
    handler_recheck_ms: u64 = MINUTE_MS, "handlerRecheckInterval", SettingType::DurationMs;

    /// CDI host-assisted clone throughput in bytes per second (~40-50 MB/s, CDI issue
    /// #955).
    clone_copy_bytes_per_s: u64 = 45_000_000, "cloneCopyBytesPerSecond", SettingType::Count;
    /// Read bandwidth of one host-assisted clone source, shared by the clones copying
    /// from it at once: each copies at min(`cloneCopyBytesPerSecond`, this / the
    /// number of clones reading the source), recomputed as clones start and finish. An
    /// assumption, not an upstream constant: CDI starts one source pod per clone
    /// (`pkg/controller/clone/host-clone.go`) and they all read the same volume. The
    /// default, 125 MB/s, is one 1 GbE link (a networked volume such as Longhorn
    /// reads its replica over the network; inferred): two clones still copy at the
    /// single-clone rate, a third and more share the link.
    clone_source_read_bytes_per_s: u64 = 125_000_000, "cloneSourceReadBytesPerSecond", SettingType::Count;
    /// Start of a CDI worker pod (source and target) before copying (inferred).
    clone_pod_start_ms: u64 = 10 * SECOND_MS, "clonePodStart", SettingType::DurationMs;
    /// Snapshot and CSI clones: 5-30 s (inferred, CDI `doc/smart-clone.md`).
    clone_fast_min_ms: u64 = 5 * SECOND_MS, "cloneFastMin", SettingType::DurationMs;
    clone_fast_max_ms: u64 = 30 * SECOND_MS, "cloneFastMax", SettingType::DurationMs;
    /// Dynamic provisioning of a PV for a PVC (inferred).
    provision_ms: u64 = 3 * SECOND_MS, "provisionDelay", SettingType::DurationMs;

    /// `cpuAllocationRatio` of the KubeVirt CR: launcher pods without a CPU request get
    /// vCPUs / ratio cores (`pkg/virt-config/virt-config.go`,
    /// `DefaultCPUAllocationRatio` = 10; `services/renderresources.go`).
    cpu_allocation_ratio: u32 = 10, "cpuAllocationRatio", SettingType::Count;

    /// The `guest-console-log` container in every launcher pod, requesting 5m CPU
    /// (kubevirt `pkg/virt-controller/services/serialconsolelog.go`,
    /// `isSerialConsoleLogEnabled`: on unless the KubeVirt CR sets
    /// `virtualMachineOptions.disableSerialConsoleLog`, which it does not by default).
    serial_console_log: bool = true, "serialConsoleLog", SettingType::Flag;

    /// CPU a booting guest uses, as a share of its vCPUs, from the domain's start to the
    /// end of its boot (kubelet CPU counters, so metrics-server and the HPA see it). No
    /// upstream figure exists: an assumption (docs/FIDELITY.md) that firmware, kernel
    /// and init keep every vCPU busy while booting, so the default is the guest's full
    /// vCPUs. 0 models the old behaviour (a booting guest uses nothing).
    guest_boot_cpu: f64 = 1.0, "guestBootCpu", SettingType::Ratio;

    /// Time for a powered-off node to boot and its kubelet to report again (inferred).
    node_boot_ms: u64 = 60 * SECOND_MS, "nodeBoot", SettingType::DurationMs;

    /// metrics-server `--metric-resolution`: 15 s in its shipped manifests
    /// (`kubernetes-sigs/metrics-server` `manifests/base/deployment.yaml`; the binary
    /// default is 60 s).
    metrics_resolution_ms: u64 = 15 * SECOND_MS, "metricsResolution", SettingType::DurationMs;

    /// kube-controller-manager `--horizontal-pod-autoscaler-sync-period`, 15 s
    /// (`pkg/controller/podautoscaler/config/v1alpha1/defaults.go`,
    /// `RecommendedDefaultHPAControllerConfiguration`). Each HPA syncs one period after
    /// its informer sees it, then one period after each sync (`horizontal.go`,
    /// `processNextWorkItem`; `controllers::hpa`), independent of metrics scrapes.
    hpa_sync_period_ms: u64 = 15 * SECOND_MS, "hpaSyncPeriod", SettingType::DurationMs;
    /// `--horizontal-pod-autoscaler-tolerance`, 0.1 (same file): a usage ratio within
    /// 1 ± tolerance changes nothing.
    hpa_tolerance: f64 = 0.1, "hpaTolerance", SettingType::Ratio;
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`, 5 min (same file).
    hpa_cpu_initialization_period_ms: u64 = 5 * MINUTE_MS, "hpaCpuInitializationPeriod", SettingType::DurationMs;
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`, 30 s (same file).
    hpa_initial_readiness_delay_ms: u64 = 30 * SECOND_MS, "hpaInitialReadinessDelay", SettingType::DurationMs;
    /// `--horizontal-pod-autoscaler-downscale-stabilization`, 5 min (same file): the
    /// window of the legacy path (HPAs without `behavior`).
    hpa_downscale_stabilization_ms: u64 = 5 * MINUTE_MS, "hpaDownscaleStabilization", SettingType::DurationMs;
    /// The `HPAConfigurableTolerance` feature gate (alpha, off by default): per-HPA
    /// `behavior.scaleUp/scaleDown.tolerance` (`horizontal.go`, `tolerancesForHpa`).
    hpa_configurable_tolerance: bool = false, "hpaConfigurableTolerance", SettingType::Flag;
    /// An option, not upstream's code: HPAs without `behavior` take the default
    /// behavior policies, as the Kubernetes docs describe them, instead of the legacy
    /// path the controller code runs (`horizontal.go`: `normalizeDesiredReplicas` when
    /// `Behavior == nil`). Off: model the code.
    hpa_absent_behavior_uses_default_policies: bool = false, "hpaAbsentBehaviorUsesDefaultPolicies", SettingType::Flag;

    /// kube-scheduler's `percentageOfNodesToScore` (KubeSchedulerConfiguration, 0 to
    /// 100): the scheduler stops filtering once it has found this share of the nodes
    /// feasible, and scores only those. 0, the default, is upstream's adaptive share,
    /// 50 % minus 1 % per 125 nodes, at least 5 %; at least 100 nodes are always found,
    /// so it changes nothing below 101 nodes (kubernetes `pkg/scheduler/schedule_one.go`,
    /// `numFeasibleNodesToFind`, `minFeasibleNodesToFind` = 100,
    /// `minFeasibleNodesPercentageToFind` = 5; each search starts where the last one
    /// stopped, `nextStartNodeIndex`).
    percentage_of_nodes_to_score: u32 = 0, "percentageOfNodesToScore", SettingType::Count;

    /// Check every invariant after each event (always on in debug builds and tests).
    check_invariants: bool = false, "checkInvariants", SettingType::Flag;

    /// poolsim's runtime bound, not an upstream setting: the most events one run may
    /// process before it stops with an error (exit 2); 0 means the default,
    /// `world::DEFAULT_MAX_EVENTS_PROCESSED`. See docs/LIMITS.md.
    max_events_processed: u64 = 0, "maxEventsProcessed", SettingType::Count;
    /// poolsim's runtime bound on the scheduler, not an upstream setting: the most
    /// (pod, node) evaluations (one node filtered for one pod's scheduling attempt) one
    /// run may make before it stops with an error (exit 2); 0 means the default,
    /// `scheduler::DEFAULT_MAX_SCHEDULER_EVALUATIONS`. See docs/LIMITS.md.
    max_scheduler_evaluations: u64 = 0, "maxSchedulerEvaluations", SettingType::Count;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_set_by_scenario_name() {
        let mut settings = Settings::default();
        assert!(settings.set("nodeMonitorGracePeriod", 40_000.0));
        assert_eq!(settings.node_monitor_grace_ms, 40_000);
        assert!(!settings.set("noSuchSetting", 1.0));
        assert!(Settings::CATALOGUE
            .iter()
            .any(|(name, kind, doc)| *name == "watchDelay"
                && *kind == SettingType::DurationMs
                && !doc.is_empty()));
    }
}
