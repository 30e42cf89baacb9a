//! A warning for an HPA whose CPU utilization will not mean what its author expects
//! (DESIGN.md §1.2: valid, but will not work as the user may think).
//!
//! The HPA's utilization is Σusage × 100 / Σrequests over the pods it selects
//! (kubernetes `pkg/controller/podautoscaler/replica_calculator.go`,
//! `GetResourceReplicas`). For a pool those are virt-launcher pods, and when the VM
//! template asks for no CPU, virt-controller gives the compute container vCPUs /
//! `cpuAllocationRatio` (kubevirt `pkg/virt-controller/services/renderresources.go`,
//! `WithoutDedicatedCPU`) and the `guest-console-log` container adds 5m
//! (`services/serialconsolelog.go`): 105m for the lab's one-vCPU VM. The HPA then reads
//! a fraction of a core as hundreds of percent (the lab's 50 % HPA sits at
//! `maxReplicas` under its idle load). A real cluster accepts this and scales on it;
//! poolsim does the same, after this warning.

use super::references::place;
use crate::api::{HorizontalPodAutoscaler, Object, VirtualMachinePool, VmiSpec};
use crate::controllers::metrics::IDLE_CORES;
use crate::controllers::vmi::{launcher_cpu_request_milli, GUEST_CONSOLE_LOG_CPU_MILLI};
use crate::hpa::spec::{MetricSpec, ResourceName};
use crate::scenario::decode::Report;
use crate::scenario::yaml::{NodeKind, Pos};
use crate::scenario::Manifest;

/// The KubeVirt CR settings that decide a launcher pod's CPU request when the VM asks
/// for none (poolsim settings `cpuAllocationRatio` and `serialConsoleLog`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LauncherCpu {
    pub cpu_allocation_ratio: u32,
    pub serial_console_log: bool,
}

/// Warns, in `report`, for every HPA of `objects` that targets a CPU utilization of a
/// pool's launcher pods when the pool's VMs ask for no CPU, so that each pod's request
/// is only KubeVirt's launcher default. The warning gives the pod's request and where
/// it comes from, the target, what an idle guest reads, and (when the scenario offers
/// load from its start, `load_at_start_cores`) what that load reads. `sources[i]` is
/// the manifest `objects[i]` came from, to place the warning on the target field.
pub fn warn_launcher_only_cpu_requests(
    objects: &[Object],
    sources: &[&Manifest],
    launcher: LauncherCpu,
    load_at_start_cores: f64,
    report: &mut Report,
) {
    for (index, object) in objects.iter().enumerate() {
        let Object::Hpa(hpa) = object else {
            continue;
        };
        let Some(pool) = target_pool(hpa, objects) else {
            continue;
        };
        let vmi = &pool.spec.template.spec.template.spec;
        if vmi.cpu_request_milli.is_some() {
            continue;
        }
        let source = sources.get(index).copied();
        for (metric_index, metric) in hpa.spec.metrics.iter().enumerate() {
            let MetricSpec::Resource {
                name: ResourceName::Cpu,
                target,
            } = metric
            else {
                continue;
            };
            // `averageValue` wins over `averageUtilization` (`computeStatusForResourceMetricGeneric`):
            // a value target does not divide by the request.
            let (None, Some(target_pct)) =
                (target.average_value_milli, target.average_utilization_pct)
            else {
                continue;
            };
            let reading = Reading {
                hpa,
                pool,
                vmi,
                launcher,
                target_pct,
                load_at_start_cores,
            };
            let mut found = Report::new(&report.file);
            found.warning(
                Pos::default(),
                &target_field(source, metric_index),
                reading.message(),
            );
            for mut diagnostic in found.diagnostics {
                if let Some(source) = source {
                    place(&mut diagnostic, source);
                }
                report.diagnostics.push(diagnostic);
            }
        }
    }
}

/// The pool an HPA scales, if a manifest provides it.
fn target_pool<'a>(
    hpa: &HorizontalPodAutoscaler,
    objects: &'a [Object],
) -> Option<&'a VirtualMachinePool> {
    let target = &hpa.spec.scale_target_ref;
    if target.kind != "VirtualMachinePool" {
        return None;
    }
    objects.iter().find_map(|object| match object {
        Object::Pool(pool)
            if pool.meta.namespace == hpa.meta.namespace && pool.meta.name == target.name =>
        {
            Some(&**pool)
        }
        _ => None,
    })
}

/// Where the utilization target was written: `targetCPUUtilizationPercentage` in an
/// autoscaling/v1 manifest (absent means the default 80 %, and the warning then
/// points at `spec`), the metric's `averageUtilization` in v2.
fn target_field(source: Option<&Manifest>, metric_index: usize) -> String {
    let is_v1 = source.is_some_and(|source| match &source.object.kind {
        NodeKind::Map(entries) => entries.iter().any(|(key, value)| {
            key.as_scalar() == Some("apiVersion") && value.as_scalar() == Some("autoscaling/v1")
        }),
        _ => false,
    });
    if is_v1 {
        "spec.targetCPUUtilizationPercentage".to_string()
    } else {
        format!("spec.metrics[{metric_index}].resource.target.averageUtilization")
    }
}

/// What the HPA will read, for the warning's numbers.
struct Reading<'a> {
    hpa: &'a HorizontalPodAutoscaler,
    pool: &'a VirtualMachinePool,
    vmi: &'a VmiSpec,
    launcher: LauncherCpu,
    target_pct: i32,
    load_at_start_cores: f64,
}

impl Reading<'_> {
    /// The pod's CPU request, in millicores, as the HPA sums it.
    fn request_milli(&self) -> i64 {
        launcher_cpu_request_milli(
            self.vmi,
            self.launcher.cpu_allocation_ratio,
            self.launcher.serial_console_log,
        )
    }

    /// The utilization a pod using `usage_milli` shows: integer percent, as
    /// `GetResourceUtilizationRatio` computes it.
    fn utilization_pct(&self, usage_milli: i64) -> i64 {
        usage_milli * 100 / self.request_milli().max(1)
    }

    /// Where the request comes from, container by container.
    fn request_origin(&self) -> String {
        let vcpus = self.vmi.vcpus.max(1);
        let ratio = self.launcher.cpu_allocation_ratio.max(1);
        let compute = i64::from(vcpus) * 1000 / i64::from(ratio);
        let mut origin = format!(
            "compute container {compute}m = {vcpus} vCPU / cpuAllocationRatio {ratio}, kubevirt services/renderresources.go"
        );
        if self.launcher.serial_console_log {
            origin.push_str(&format!(
                ", plus guest-console-log {GUEST_CONSOLE_LOG_CPU_MILLI}m, services/serialconsolelog.go"
            ));
        }
        origin
    }

    /// The scenario's load at 0 s over the replicas the pool starts with (within the
    /// HPA's bounds), as the HPA would read it, and what the HPA then does; None
    /// without load.
    fn load_reading(&self) -> Option<String> {
        if self.load_at_start_cores <= 0.0 {
            return None;
        }
        let spec = &self.hpa.spec;
        let replicas = self
            .pool
            .spec
            .replicas
            .clamp(spec.min_replicas.max(1), spec.max_replicas.max(1));
        let share_milli = self.load_at_start_cores * 1000.0 / f64::from(replicas);
        let usage_milli = ((IDLE_CORES * 1000.0 + share_milli) as i64)
            .min(i64::from(self.vmi.vcpus.max(1)) * 1000);
        let pct = self.utilization_pct(usage_milli);
        let consequence = if pct > i64::from(self.target_pct) {
            format!(
                ", above the target: the HPA scales toward maxReplicas {}",
                spec.max_replicas
            )
        } else {
            String::new()
        };
        Some(format!(
            "; the scenario's load at 0s ({} cores over {replicas} VMs) reads {pct}%{consequence}",
            self.load_at_start_cores
        ))
    }

    fn message(&self) -> String {
        let idle_milli = (IDLE_CORES * 1000.0) as i64;
        let request_milli = self.request_milli();
        let target_milli = request_milli * i64::from(self.target_pct) / 100;
        let vcpus = self.vmi.vcpus.max(1);
        format!(
            "HorizontalPodAutoscaler {}: targets {}% CPU utilization of the launcher pods of VirtualMachinePool {:?}, whose VMs request no CPU, so each pod's CPU request is only KubeVirt's launcher default of {request_milli}m ({}): {target_milli}m of CPU per pod already meets the target, and an idle guest ({idle_milli}m) reads {}%{}. Set spec.virtualMachineTemplate.spec.template.spec.domain.resources.requests.cpu (for example {vcpus} for {vcpus} vCPU) for a utilization relative to what a VM may use",
            self.hpa.meta.key(),
            self.target_pct,
            self.pool.meta.name,
            self.request_origin(),
            self.utilization_pct(idle_milli),
            self.load_reading().unwrap_or_default(),
        )
    }
}
