//! `HorizontalPodAutoscaler` (`autoscaling/v1` and `autoscaling/v2`), decoded into
//! [`HpaSpec`] through [`HpaSpec::from_v1`] / [`HpaSpec::from_v2`] (which apply the API
//! defaults) and checked with [`crate::hpa::spec::validate`], each error placed at the
//! field it names. Field names: kubernetes/kubernetes
//! `staging/src/k8s.io/api/autoscaling/v1/types.go` and `.../v2/types.go`.

use super::{decode_metadata, NameRule};
use crate::api::{HorizontalPodAutoscaler, HpaStatus, Object};
use crate::hpa::spec::{
    validate, BehaviorInput, HpaSpec, MetricSpec, MetricTarget, MetricTargetType, ResourceName,
    ScaleTargetRef, ScalingPolicy, ScalingPolicyType, ScalingRulesInput, SelectPolicy,
};
use crate::scenario::decode::{child_path, MapReader, Report, Value};
use crate::scenario::yaml::{Node, NodeKind, Pos};
use std::sync::Arc;

/// The group of the only kind poolsim's HPA can scale.
pub const POOL_GROUP_PREFIX: &str = "pool.kubevirt.io/";

pub(super) fn decode_hpa(
    root: &mut MapReader<'_>,
    api_version: &str,
    default_namespace: &str,
    report: &mut Report,
) -> Option<Object> {
    let meta = decode_metadata(
        root,
        true,
        NameRule::Dns1123Subdomain,
        default_namespace,
        report,
    );
    let spec_value = root.required("spec", report)?;
    let spec = if api_version == "autoscaling/v1" {
        decode_v1_spec(&spec_value, report)
    } else {
        decode_v2_spec(&spec_value, report)
    }?;
    let mut valid = true;
    for error in validate(&spec) {
        // `validate` writes `spec.<path>: <message>`, paths relative to the object.
        let (relative_path, message) = error.split_once(": ").unwrap_or(("spec", &error));
        let relative_in_spec = relative_path.strip_prefix("spec").unwrap_or(relative_path);
        let relative_in_spec = relative_in_spec
            .strip_prefix('.')
            .unwrap_or(relative_in_spec);
        let (pos, path) = locate(&spec_value, relative_in_spec);
        report.error(pos, &path, message.to_string());
        valid = false;
    }
    let meta = meta?;
    valid.then(|| {
        Object::Hpa(Arc::new(HorizontalPodAutoscaler {
            meta,
            spec,
            status: HpaStatus::default(),
        }))
    })
}

/// The position of the deepest node that exists along `relative` (such as
/// `metrics[0].resource.target.averageValue`) under `base`, and the full field path.
/// Fields the manifest left to defaults point at their nearest written parent.
fn locate(base: &Value<'_>, relative: &str) -> (Pos, String) {
    let full_path = if relative.is_empty() {
        base.path.clone()
    } else {
        child_path(&base.path, relative)
    };
    let mut node: &Node = base.node;
    for segment in relative.split('.').filter(|segment| !segment.is_empty()) {
        let (key, index) = match segment.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let Some(child) = node.get(key) else {
            break;
        };
        node = child;
        if let Some(index) = index {
            match &node.kind {
                NodeKind::Seq(items) if index < items.len() => node = &items[index],
                _ => break,
            }
        }
    }
    (node.pos, full_path)
}

/// `scaleTargetRef`: poolsim's HPA scales VirtualMachinePools only, through their
/// scale subresource.
fn decode_target(spec: &mut MapReader<'_>, report: &mut Report) -> Option<ScaleTargetRef> {
    let value = spec.required("scaleTargetRef", report)?;
    let mut target = value.map(report)?;
    let api_version = target
        .optional("apiVersion")
        .map_or(Some(String::new()), |value| value.str(report));
    let kind = target
        .required("kind", report)
        .and_then(|value| value.str(report));
    let name = target
        .required("name", report)
        .and_then(|value| value.str(report));
    target.finish_lenient(report);
    let (api_version, kind, name) = (api_version?, kind?, name?);
    if kind != "VirtualMachinePool" || !api_version.starts_with(POOL_GROUP_PREFIX) {
        report.error(
            value.pos(),
            &value.path,
            format!(
                "poolsim scales VirtualMachinePools only: scaleTargetRef must have kind VirtualMachinePool and apiVersion pool.kubevirt.io/v1alpha1 or pool.kubevirt.io/v1beta1 (got kind {kind:?}, apiVersion {api_version:?})"
            ),
        );
        return None;
    }
    Some(ScaleTargetRef {
        api_version,
        kind,
        name,
    })
}

/// An `int32` field.
fn int32(value: &Value<'_>, report: &mut Report) -> Option<i32> {
    value
        .i64_in(report, i64::from(i32::MIN), i64::from(i32::MAX))
        .map(|number| number as i32)
}

/// `maxReplicas`: an int32 upstream, capped here at [`crate::scenario::MAX_REPLICAS`]
/// so that an HPA can never ask the simulation for an absurd number of VMs.
fn max_replicas(value: &Value<'_>, report: &mut Report) -> Option<i32> {
    let replicas = int32(value, report)?;
    if i64::from(replicas) > crate::scenario::MAX_REPLICAS {
        report.error(
            value.pos(),
            &value.path,
            crate::scenario::replicas_limit_message(i64::from(replicas)),
        );
        return None;
    }
    Some(replicas)
}

fn optional_int32(
    map: &mut MapReader<'_>,
    key: &'static str,
    report: &mut Report,
) -> Option<Option<i32>> {
    match map.optional(key) {
        None => Some(None),
        Some(value) => int32(&value, report).map(Some),
    }
}

fn decode_v1_spec(value: &Value<'_>, report: &mut Report) -> Option<HpaSpec> {
    let mut spec = value.map(report)?;
    let target = decode_target(&mut spec, report);
    let min_replicas = optional_int32(&mut spec, "minReplicas", report);
    let max_replicas = spec
        .required("maxReplicas", report)
        .and_then(|value| max_replicas(&value, report));
    let target_pct = optional_int32(&mut spec, "targetCPUUtilizationPercentage", report);
    spec.finish_lenient(report);
    Some(HpaSpec::from_v1(
        target?,
        min_replicas?,
        max_replicas?,
        target_pct?,
    ))
}

fn decode_v2_spec(value: &Value<'_>, report: &mut Report) -> Option<HpaSpec> {
    let mut spec = value.map(report)?;
    let target = decode_target(&mut spec, report);
    let min_replicas = optional_int32(&mut spec, "minReplicas", report);
    let max_replicas = spec
        .required("maxReplicas", report)
        .and_then(|value| max_replicas(&value, report));
    let metrics = spec.optional("metrics").map_or(Some(Vec::new()), |value| {
        value.seq_of(report, decode_metric)
    });
    let behavior = match spec.optional("behavior") {
        None => Some(None),
        Some(value) => decode_behavior(&value, report).map(Some),
    };
    spec.finish_lenient(report);
    Some(HpaSpec::from_v2(
        target?,
        min_replicas?,
        max_replicas?,
        metrics?,
        behavior?,
    ))
}

/// One `metrics` entry. Only `type: Resource` is modelled: the other sources (Pods,
/// Object, External, ContainerResource) need metrics pipelines poolsim does not
/// simulate, and dropping one silently would change how the HPA scales, so they are
/// errors rather than warnings.
fn decode_metric(item: &Value<'_>, report: &mut Report) -> Option<MetricSpec> {
    let mut metric = item.map(report)?;
    let metric_type = metric.required("type", report).and_then(|value| {
        value.one_of(
            report,
            &[
                "Resource",
                "Pods",
                "Object",
                "External",
                "ContainerResource",
            ],
        )
    })?;
    if metric_type != "Resource" {
        let value = metric.optional("type").expect("type was read");
        report.error(
            value.pos(),
            &value.path,
            format!("metric type {metric_type} is not modelled by poolsim; only Resource metrics (cpu, memory) are"),
        );
        return None;
    }
    let resource = metric.required("resource", report).and_then(|value| {
        let mut resource = value.map(report)?;
        let name = resource
            .required("name", report)
            .and_then(|value| value.one_of(report, &["cpu", "memory"]))
            .map(|name| {
                if name == "cpu" {
                    ResourceName::Cpu
                } else {
                    ResourceName::Memory
                }
            });
        let target = resource
            .required("target", report)
            .and_then(|value| decode_metric_target(&value, report));
        resource.finish_lenient(report);
        Some(MetricSpec::Resource {
            name: name?,
            target: target?,
        })
    });
    metric.finish_lenient(report);
    resource
}

/// `MetricTarget`. For a Resource metric upstream validation accepts Utilization and
/// AverageValue targets (`validateMetricTarget`, `validateResourceSource`: a raw
/// `value` is not allowed for resources).
fn decode_metric_target(value: &Value<'_>, report: &mut Report) -> Option<MetricTarget> {
    let mut target = value.map(report)?;
    let target_type = target
        .required("type", report)
        .and_then(|value| value.one_of(report, &["Utilization", "AverageValue"]))
        .map(|text| {
            if text == "Utilization" {
                MetricTargetType::Utilization
            } else {
                MetricTargetType::AverageValue
            }
        });
    let average_utilization_pct = optional_int32(&mut target, "averageUtilization", report);
    let average_value_milli = match target.optional("averageValue") {
        None => Some(None),
        Some(value) => value
            .quantity(report)
            .map(|quantity| Some(i64::try_from(quantity.milli_value()).unwrap_or(i64::MAX))),
    };
    target.finish_lenient(report);
    Some(MetricTarget {
        target_type: target_type?,
        average_utilization_pct: average_utilization_pct?,
        average_value_milli: average_value_milli?,
    })
}

fn decode_behavior(value: &Value<'_>, report: &mut Report) -> Option<BehaviorInput> {
    let mut behavior = value.map(report)?;
    let scale_up = match behavior.optional("scaleUp") {
        None => Some(None),
        Some(value) => decode_rules(&value, report).map(Some),
    };
    let scale_down = match behavior.optional("scaleDown") {
        None => Some(None),
        Some(value) => decode_rules(&value, report).map(Some),
    };
    behavior.finish_lenient(report);
    Some(BehaviorInput {
        scale_up: scale_up?,
        scale_down: scale_down?,
    })
}

/// `HPAScalingRules`; `tolerance` is a quantity (`0.05` or `50m`).
fn decode_rules(value: &Value<'_>, report: &mut Report) -> Option<ScalingRulesInput> {
    let mut rules = value.map(report)?;
    let window = optional_int32(&mut rules, "stabilizationWindowSeconds", report);
    let select_policy = match rules.optional("selectPolicy") {
        None => Some(None),
        Some(value) => value
            .one_of(report, &["Max", "Min", "Disabled"])
            .map(|text| {
                Some(match text.as_str() {
                    "Min" => SelectPolicy::Min,
                    "Disabled" => SelectPolicy::Disabled,
                    _ => SelectPolicy::Max,
                })
            }),
    };
    let policies = match rules.optional("policies") {
        None => Some(None),
        Some(value) => value.seq_of(report, decode_policy).map(Some),
    };
    let tolerance = match rules.optional("tolerance") {
        None => Some(None),
        Some(value) => value
            .quantity(report)
            .map(|quantity| Some(quantity.as_f64())),
    };
    rules.finish_lenient(report);
    Some(ScalingRulesInput {
        stabilization_window_seconds: window?,
        select_policy: select_policy?,
        policies: policies?,
        tolerance: tolerance?,
    })
}

fn decode_policy(item: &Value<'_>, report: &mut Report) -> Option<ScalingPolicy> {
    let mut policy = item.map(report)?;
    let policy_type = policy
        .required("type", report)
        .and_then(|value| value.one_of(report, &["Pods", "Percent"]))
        .map(|text| {
            if text == "Pods" {
                ScalingPolicyType::Pods
            } else {
                ScalingPolicyType::Percent
            }
        });
    let value = policy
        .required("value", report)
        .and_then(|value| int32(&value, report));
    let period_seconds = policy
        .required("periodSeconds", report)
        .and_then(|value| int32(&value, report));
    policy.finish_lenient(report);
    Some(ScalingPolicy {
        policy_type: policy_type?,
        value: value?,
        period_seconds: period_seconds?,
    })
}
