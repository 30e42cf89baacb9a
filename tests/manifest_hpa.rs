//! HorizontalPodAutoscaler manifests: autoscaling/v2 with behavior, targets, and
//! `hpa::spec::validate` errors placed at the field they name.

mod manifest_common;

use manifest_common::{decode_clean, errors, has};
use poolsim::api::Object;
use poolsim::hpa::spec::{MetricSpec, ResourceName, ScalingPolicyType, SelectPolicy};

const V2_HPA: &str = "\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: pool.kubevirt.io/v1beta1
    kind: VirtualMachinePool
    name: web
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: memory
      target:
        type: AverageValue
        averageValue: 1Gi
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 60
      selectPolicy: Min
      policies:
      - {type: Pods, value: 1, periodSeconds: 30}
    scaleUp:
      tolerance: 50m
";

#[test]
fn v2_with_behavior_decodes_and_fills_defaults() {
    let Object::Hpa(hpa) = decode_clean(V2_HPA) else {
        panic!("not an HPA");
    };
    let spec = &hpa.spec;
    assert_eq!((spec.min_replicas, spec.max_replicas), (2, 10));
    assert_eq!(
        spec.scale_target_ref.api_version,
        "pool.kubevirt.io/v1beta1"
    );
    let [MetricSpec::Resource { name, target }] = spec.metrics.as_slice() else {
        panic!()
    };
    assert_eq!(*name, ResourceName::Memory);
    assert_eq!(target.average_value_milli, Some(1024 * 1024 * 1024 * 1000));
    assert!(spec.behavior_specified);
    let down = &spec.behavior.scale_down;
    assert_eq!(down.stabilization_window_seconds, Some(60));
    assert_eq!(down.select_policy, SelectPolicy::Min);
    assert_eq!(down.policies.len(), 1);
    assert_eq!(down.policies[0].policy_type, ScalingPolicyType::Pods);
    // scaleUp had only a tolerance: the upstream default policies fill the rest.
    let up = &spec.behavior.scale_up;
    assert_eq!(up.tolerance, Some(0.05));
    assert_eq!(up.policies.len(), 2);
    assert_eq!(up.stabilization_window_seconds, Some(0));
}

#[test]
fn v2_without_metrics_defaults_to_80_percent_cpu() {
    let text = V2_HPA.split("  metrics:").next().unwrap().to_string();
    let Object::Hpa(hpa) = decode_clean(&text) else {
        panic!()
    };
    let [MetricSpec::Resource { name, target }] = hpa.spec.metrics.as_slice() else {
        panic!()
    };
    assert_eq!(*name, ResourceName::Cpu);
    assert_eq!(target.average_utilization_pct, Some(80));
    assert!(!hpa.spec.behavior_specified);
}

#[test]
fn only_pools_can_be_scaled() {
    let deployment = V2_HPA
        .replace(
            "apiVersion: pool.kubevirt.io/v1beta1",
            "apiVersion: apps/v1",
        )
        .replace("kind: VirtualMachinePool", "kind: Deployment");
    assert!(has(&errors(&deployment), &[
        "s.yaml:7:5: spec.manifests[0].spec.scaleTargetRef: poolsim scales VirtualMachinePools only",
        "Deployment"
    ]));
}

#[test]
fn validation_errors_point_at_their_fields() {
    let text = V2_HPA.replace("minReplicas: 2", "minReplicas: 20").replace(
        "{type: Pods, value: 1, periodSeconds: 30}",
        "{type: Pods, value: 0, periodSeconds: 3000}",
    );
    let errors = errors(&text);
    assert!(has(&errors, &[
        "s.yaml:11:16: spec.manifests[0].spec.maxReplicas: Invalid value: 10: must be greater than or equal to `minReplicas`"
    ]), "{errors:#?}");
    assert!(has(&errors, &[
        "spec.manifests[0].spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero"
    ]));
    assert!(has(&errors, &[
        "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 3000: must be less than or equal to 1800"
    ]));
    let zero_min = V2_HPA.replace("minReplicas: 2", "minReplicas: 0");
    assert!(has(
        &errors_of(&zero_min),
        &["spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"]
    ));
}

fn errors_of(text: &str) -> Vec<String> {
    errors(text)
}

#[test]
fn unmodelled_metric_types_and_wrong_types_are_errors() {
    let pods = V2_HPA.replace("  - type: Resource", "  - type: Pods");
    assert!(has(
        &errors(&pods),
        &["metrics[0].type: metric type Pods is not modelled by poolsim"]
    ));
    let quoted = V2_HPA.replace("maxReplicas: 10", "maxReplicas: \"10\"");
    assert!(has(
        &errors(&quoted),
        &["spec.maxReplicas: expected a whole number"]
    ));
    let missing = V2_HPA.replace("  maxReplicas: 10\n", "");
    assert!(has(
        &errors(&missing),
        &["spec.maxReplicas: missing required field"]
    ));
}
