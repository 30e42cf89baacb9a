//! Typed HorizontalPodAutoscaler spec, status and controller settings.
//!
//! Upstream sources (kubernetes/kubernetes):
//! - `staging/src/k8s.io/api/autoscaling/v2/types.go` (field meanings),
//! - `pkg/apis/autoscaling/v2/defaults.go` (`SetDefaults_HorizontalPodAutoscaler`,
//!   `SetDefaults_HorizontalPodAutoscalerBehavior`, `GenerateHPAScaleUpRules`,
//!   `GenerateHPAScaleDownRules`),
//! - `pkg/apis/autoscaling/v1/conversion.go` (autoscaling/v1 → internal),
//! - `pkg/apis/autoscaling/validation/validation.go` (admission checks),
//! - `pkg/controller/podautoscaler/config/v1alpha1/defaults.go`
//!   (`RecommendedDefaultHPAControllerConfiguration`).
//!
//! Quantities are integers in milli-units, as upstream's `Quantity.MilliValue()`:
//! cpu in millicores, memory in milli-bytes.

use std::fmt;

/// A resource the HPA can scale on (`Resource` metric source; `ContainerResource`,
/// `Pods`, `Object` and `External` sources are not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceName {
    Cpu,
    Memory,
}

impl ResourceName {
    /// The Kubernetes spelling, used verbatim in upstream messages ("cpu", "memory").
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
        }
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `spec.scaleTargetRef` (`CrossVersionObjectReference`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScaleTargetRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// `MetricTarget.type`. Upstream validation accepts these three spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricTargetType {
    Utilization,
    Value,
    AverageValue,
}

/// `MetricTarget`: which of the optional fields is set decides what the controller
/// computes (`computeStatusForResourceMetricGeneric`: `averageValue` wins, then
/// `averageUtilization`), not `target_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricTarget {
    pub target_type: MetricTargetType,
    /// `averageUtilization`: percent of the pods' summed requests.
    pub average_utilization_pct: Option<i32>,
    /// `averageValue` in milli-units per pod.
    pub average_value_milli: Option<i64>,
}

impl MetricTarget {
    pub fn utilization(pct: i32) -> Self {
        MetricTarget {
            target_type: MetricTargetType::Utilization,
            average_utilization_pct: Some(pct),
            average_value_milli: None,
        }
    }

    pub fn average_value(milli: i64) -> Self {
        MetricTarget {
            target_type: MetricTargetType::AverageValue,
            average_utilization_pct: None,
            average_value_milli: Some(milli),
        }
    }
}

/// One entry of `spec.metrics`. Only `type: Resource` is modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricSpec {
    Resource {
        name: ResourceName,
        target: MetricTarget,
    },
}

/// `HPAScalingPolicyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalingPolicyType {
    Pods,
    Percent,
}

/// `HPAScalingPolicy`: at most `value` pods (or percent) per `period_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalingPolicy {
    pub policy_type: ScalingPolicyType,
    pub value: i32,
    pub period_seconds: i32,
}

/// `ScalingPolicySelect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

/// `HPAScalingRules` as written in a manifest: every field may be absent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScalingRulesInput {
    pub stabilization_window_seconds: Option<i32>,
    pub select_policy: Option<SelectPolicy>,
    pub policies: Option<Vec<ScalingPolicy>>,
    /// `tolerance` (HPAConfigurableTolerance feature), as a fraction (0.05 = 5 %).
    pub tolerance: Option<f64>,
}

/// `HorizontalPodAutoscalerBehavior` as written in a manifest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BehaviorInput {
    pub scale_up: Option<ScalingRulesInput>,
    pub scale_down: Option<ScalingRulesInput>,
}

/// `HPAScalingRules` after `GenerateHPAScale{Up,Down}Rules`: everything is set except,
/// for scale-down, the stabilization window, which the controller fills from its
/// `--horizontal-pod-autoscaler-downscale-stabilization` flag at sync time
/// (`maybeInitScaleDownStabilizationWindow`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingRules {
    pub stabilization_window_seconds: Option<i32>,
    pub select_policy: SelectPolicy,
    pub policies: Vec<ScalingPolicy>,
    pub tolerance: Option<f64>,
}

/// Defaulted behavior (both directions always present).
#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

/// Upstream default scale-up rules (`defaultHPAScaleUpRules` in
/// `pkg/apis/autoscaling/v2/defaults.go`): window 0 s, select Max, 4 pods or 100 %
/// per 15 s, which "repeats previous HPA behavior".
pub fn default_scale_up_rules() -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: Some(0),
        select_policy: SelectPolicy::Max,
        policies: vec![
            ScalingPolicy {
                policy_type: ScalingPolicyType::Pods,
                value: 4,
                period_seconds: 15,
            },
            ScalingPolicy {
                policy_type: ScalingPolicyType::Percent,
                value: 100,
                period_seconds: 15,
            },
        ],
        tolerance: None,
    }
}

/// Upstream default scale-down rules (`defaultHPAScaleDownRules`): window unset (the
/// controller flag, 300 s by default, applies), select Max, 100 % per 15 s.
pub fn default_scale_down_rules() -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: None,
        select_policy: SelectPolicy::Max,
        policies: vec![ScalingPolicy {
            policy_type: ScalingPolicyType::Percent,
            value: 100,
            period_seconds: 15,
        }],
        tolerance: None,
    }
}

/// `copyHPAScalingRules`: every field the manifest set overrides the default.
fn fill_rules(input: Option<&ScalingRulesInput>, mut rules: ScalingRules) -> ScalingRules {
    if let Some(input) = input {
        if let Some(select_policy) = input.select_policy {
            rules.select_policy = select_policy;
        }
        if input.stabilization_window_seconds.is_some() {
            rules.stabilization_window_seconds = input.stabilization_window_seconds;
        }
        if let Some(policies) = &input.policies {
            rules.policies = policies.clone();
        }
        if input.tolerance.is_some() {
            rules.tolerance = input.tolerance;
        }
    }
    rules
}

/// `SetDefaults_HorizontalPodAutoscalerBehavior` applied to a behavior that is present:
/// unset fields take the defaults of `GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules`.
pub fn default_behavior(input: &BehaviorInput) -> Behavior {
    Behavior {
        scale_up: fill_rules(input.scale_up.as_ref(), default_scale_up_rules()),
        scale_down: fill_rules(input.scale_down.as_ref(), default_scale_down_rules()),
    }
}

/// Default CPU utilization target, `autoscaling.DefaultCPUUtilization` (80 %), applied
/// when an HPA names no metric (`SetDefaults_HorizontalPodAutoscaler` for v2, and the
/// v1 conversion when `targetCPUUtilizationPercentage` is absent).
pub const DEFAULT_CPU_UTILIZATION_PCT: i32 = 80;

/// The HPA spec after API defaulting.
///
/// Whether the manifest had a `behavior` decides the normalization path. Upstream
/// (`reconcileAutoscaler` in `horizontal.go`) takes the legacy path
/// (`normalizeDesiredReplicas`) when `spec.behavior == nil`, and the behavior path
/// otherwise. `SetDefaults_HorizontalPodAutoscalerBehavior` only fills a behavior
/// that is present; it never creates one, and the autoscaling/v1 conversion carries
/// no behavior either. So an autoscaling/v1 HPA, or a v2 HPA without `behavior`, takes
/// the legacy path. (The Kubernetes docs describe the default policies as if they
/// always applied; [`AbsentBehaviorMode::DefaultPolicies`] offers that reading.)
#[derive(Debug, Clone, PartialEq)]
pub struct HpaSpec {
    pub scale_target_ref: ScaleTargetRef,
    /// `minReplicas`, defaulted to 1 by `SetDefaults_HorizontalPodAutoscaler`.
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub metrics: Vec<MetricSpec>,
    /// The defaulted behavior; meaningful for normalization only when
    /// `behavior_specified` is true (otherwise it holds the upstream defaults).
    pub behavior: Behavior,
    /// True when the manifest had `spec.behavior` (the behavior path applies).
    pub behavior_specified: bool,
}

impl HpaSpec {
    /// An autoscaling/v2 HPA after `SetDefaults_HorizontalPodAutoscaler`: minReplicas 1
    /// when absent, a cpu 80 % utilization metric when `metrics` is empty, and a
    /// present behavior filled with defaults.
    pub fn from_v2(
        scale_target_ref: ScaleTargetRef,
        min_replicas: Option<i32>,
        max_replicas: i32,
        metrics: Vec<MetricSpec>,
        behavior: Option<BehaviorInput>,
    ) -> Self {
        let metrics = if metrics.is_empty() {
            vec![MetricSpec::Resource {
                name: ResourceName::Cpu,
                target: MetricTarget::utilization(DEFAULT_CPU_UTILIZATION_PCT),
            }]
        } else {
            metrics
        };
        HpaSpec {
            scale_target_ref,
            min_replicas: min_replicas.unwrap_or(1),
            max_replicas,
            metrics,
            behavior: default_behavior(behavior.as_ref().unwrap_or(&BehaviorInput::default())),
            behavior_specified: behavior.is_some(),
        }
    }

    /// An autoscaling/v1 HPA converted as `Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler`
    /// does: `targetCPUUtilizationPercentage` becomes a cpu Resource metric with an
    /// Utilization target (80 when absent), minReplicas defaults to 1
    /// (`pkg/apis/autoscaling/v1/defaults.go`), and there is no behavior.
    pub fn from_v1(
        scale_target_ref: ScaleTargetRef,
        min_replicas: Option<i32>,
        max_replicas: i32,
        target_cpu_utilization_pct: Option<i32>,
    ) -> Self {
        let target_pct = target_cpu_utilization_pct.unwrap_or(DEFAULT_CPU_UTILIZATION_PCT);
        HpaSpec {
            scale_target_ref,
            min_replicas: min_replicas.unwrap_or(1),
            max_replicas,
            metrics: vec![MetricSpec::Resource {
                name: ResourceName::Cpu,
                target: MetricTarget::utilization(target_pct),
            }],
            behavior: default_behavior(&BehaviorInput::default()),
            behavior_specified: false,
        }
    }
}

/// `MaxPeriodSeconds` in `validation.go`.
pub const MAX_PERIOD_SECONDS: i32 = 1800;
/// `MaxStabilizationWindowSeconds` in `validation.go`.
pub const MAX_STABILIZATION_WINDOW_SECONDS: i32 = 3600;

/// Admission errors for `spec`, as `ValidateHorizontalPodAutoscaler` reports them with
/// the HPAScaleToZero feature gate off (alpha, off by default): each names the field
/// path and what is valid, in the `field.Error` wording.
pub fn validate(spec: &HpaSpec) -> Vec<String> {
    validate_with_scale_to_zero(spec, false)
}

/// [`validate`] with the HPAScaleToZero gate set explicitly (lowers the minReplicas
/// bound to 0; minReplicas 0 then needs an Object or External metric, which poolsim
/// does not model, so it is still rejected).
pub fn validate_with_scale_to_zero(spec: &HpaSpec, scale_to_zero_enabled: bool) -> Vec<String> {
    let mut errors = Vec::new();
    let min_replicas_lower_bound = if scale_to_zero_enabled { 0 } else { 1 };
    if spec.min_replicas < min_replicas_lower_bound {
        errors.push(format!(
            "spec.minReplicas: Invalid value: {}: must be greater than or equal to {}",
            spec.min_replicas, min_replicas_lower_bound
        ));
    }
    if spec.max_replicas < 1 {
        errors.push(format!(
            "spec.maxReplicas: Invalid value: {}: must be greater than 0",
            spec.max_replicas
        ));
    }
    if spec.max_replicas < spec.min_replicas {
        errors.push(format!(
            "spec.maxReplicas: Invalid value: {}: must be greater than or equal to `minReplicas`",
            spec.max_replicas
        ));
    }
    validate_cross_version_object_reference(&spec.scale_target_ref, &mut errors);
    for (index, metric) in spec.metrics.iter().enumerate() {
        validate_metric(metric, &format!("spec.metrics[{index}]"), &mut errors);
    }
    if spec.min_replicas == 0 {
        errors.push(
            "spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas"
                .to_string(),
        );
    }
    if spec.behavior_specified {
        validate_scaling_rules(
            &spec.behavior.scale_up,
            "spec.behavior.scaleUp",
            &mut errors,
        );
        validate_scaling_rules(
            &spec.behavior.scale_down,
            "spec.behavior.scaleDown",
            &mut errors,
        );
    }
    errors
}

/// `ValidateCrossVersionObjectReference` (without the path-segment character checks,
/// which only reject names containing `/` or `%` or equal to `.`/`..`).
fn validate_cross_version_object_reference(reference: &ScaleTargetRef, errors: &mut Vec<String>) {
    for (field, value) in [("kind", &reference.kind), ("name", &reference.name)] {
        if value.is_empty() {
            errors.push(format!("spec.scaleTargetRef.{field}: Required value"));
        } else if value == "." || value == ".." {
            errors.push(format!(
                "spec.scaleTargetRef.{field}: Invalid value: \"{value}\": may not be '{value}'"
            ));
        } else if value.contains('/') || value.contains('%') {
            errors.push(format!(
                "spec.scaleTargetRef.{field}: Invalid value: \"{value}\": may not contain '/' or '%'"
            ));
        }
    }
}

/// `validateResourceSource` and `validateMetricTarget`.
fn validate_metric(metric: &MetricSpec, path: &str, errors: &mut Vec<String>) {
    let MetricSpec::Resource { target, .. } = metric;
    let target_path = format!("{path}.resource.target");
    if let Some(value) = target.average_value_milli {
        if value <= 0 {
            errors.push(format!(
                "{target_path}.averageValue: Invalid value: \"{value}m\": must be positive"
            ));
        }
    }
    if let Some(pct) = target.average_utilization_pct {
        if pct < 1 {
            errors.push(format!(
                "{target_path}.averageUtilization: Invalid value: {pct}: must be greater than 0"
            ));
        }
    }
    match (target.average_utilization_pct, target.average_value_milli) {
        (None, None) => errors.push(format!(
            "{target_path}.averageUtilization: Required value: must set either a target raw value or a target utilization"
        )),
        (Some(_), Some(_)) => errors.push(format!(
            "{target_path}.averageValue: Forbidden: may not set both a target raw value and a target utilization"
        )),
        _ => {}
    }
}

/// `validateScalingRules` and `validateScalingPolicy`.
fn validate_scaling_rules(rules: &ScalingRules, path: &str, errors: &mut Vec<String>) {
    if let Some(window) = rules.stabilization_window_seconds {
        if window < 0 {
            errors.push(format!(
                "{path}.stabilizationWindowSeconds: Invalid value: {window}: must be greater than or equal to zero"
            ));
        }
        if window > MAX_STABILIZATION_WINDOW_SECONDS {
            errors.push(format!(
                "{path}.stabilizationWindowSeconds: Invalid value: {window}: must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"
            ));
        }
    }
    if rules.policies.is_empty() {
        errors.push(format!(
            "{path}.policies: Required value: must specify at least one Policy"
        ));
    }
    for (index, policy) in rules.policies.iter().enumerate() {
        let policy_path = format!("{path}.policies[{index}]");
        if policy.value <= 0 {
            errors.push(format!(
                "{policy_path}.value: Invalid value: {}: must be greater than zero",
                policy.value
            ));
        }
        if policy.period_seconds <= 0 {
            errors.push(format!(
                "{policy_path}.periodSeconds: Invalid value: {}: must be greater than zero",
                policy.period_seconds
            ));
        }
        if policy.period_seconds > MAX_PERIOD_SECONDS {
            errors.push(format!(
                "{policy_path}.periodSeconds: Invalid value: {}: must be less than or equal to {MAX_PERIOD_SECONDS}",
                policy.period_seconds
            ));
        }
    }
}

/// `HorizontalPodAutoscalerConditionType` (ScaledToZero is not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionType {
    AbleToScale,
    ScalingActive,
    ScalingLimited,
}

/// `ConditionStatus` (the controller only writes True and False).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
}

/// `HorizontalPodAutoscalerCondition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpaCondition {
    pub condition_type: ConditionType,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
    /// Changes only when `status` changes (`setConditionInList`).
    pub last_transition_ms: u64,
}

/// `MetricStatus` for a Resource metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricStatus {
    pub resource: ResourceName,
    /// `current.averageUtilization`, set for Utilization targets only.
    pub average_utilization_pct: Option<i32>,
    /// `current.averageValue` in milli-units per pod.
    pub average_value_milli: i64,
}

/// `HorizontalPodAutoscalerStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HpaStatus {
    pub current_replicas: i32,
    pub desired_replicas: i32,
    /// One entry per metric that could be computed (upstream also keeps an empty entry
    /// for each metric that failed; poolsim leaves those out).
    pub current_metrics: Vec<MetricStatus>,
    pub last_scale_time_ms: Option<u64>,
    pub conditions: Vec<HpaCondition>,
}

impl HpaStatus {
    /// The condition of the given type, if present.
    pub fn condition(&self, condition_type: ConditionType) -> Option<&HpaCondition> {
        self.conditions
            .iter()
            .find(|condition| condition.condition_type == condition_type)
    }
}

/// What to do with an HPA whose manifest has no `behavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AbsentBehaviorMode {
    /// What the controller code does: `normalizeDesiredReplicas` (max recommendation
    /// over the downscale window, scale-up limit max(2 × current, 4)).
    #[default]
    Legacy,
    /// What the Kubernetes docs suggest: apply the default behavior policies
    /// (`normalizeDesiredReplicasWithBehaviors` with the defaults).
    DefaultPolicies,
}

/// kube-controller-manager settings of the HPA controller. Defaults from
/// `RecommendedDefaultHPAControllerConfiguration`
/// (`pkg/controller/podautoscaler/config/v1alpha1/defaults.go`).
#[derive(Debug, Clone, PartialEq)]
pub struct HpaSettings {
    /// `--horizontal-pod-autoscaler-sync-period`, default 15 s: how often the caller
    /// should call [`crate::hpa::sync`].
    pub sync_period_ms: u64,
    /// `--horizontal-pod-autoscaler-tolerance`, default 0.1.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`, default 5 min.
    pub cpu_initialization_period_ms: u64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`, default 30 s.
    pub initial_readiness_delay_ms: u64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`, default 5 min.
    pub downscale_stabilization_window_ms: u64,
    /// HPAConfigurableTolerance feature gate (alpha in 1.33, off by default):
    /// when on, `behavior.scale{Up,Down}.tolerance` override `tolerance`
    /// (`tolerancesForHpa`).
    pub configurable_tolerance_enabled: bool,
    /// Normalization path for HPAs without `behavior`; see [`AbsentBehaviorMode`].
    pub absent_behavior_mode: AbsentBehaviorMode,
}

impl Default for HpaSettings {
    fn default() -> Self {
        HpaSettings {
            sync_period_ms: 15_000,
            tolerance: 0.1,
            cpu_initialization_period_ms: 5 * 60_000,
            initial_readiness_delay_ms: 30_000,
            downscale_stabilization_window_ms: 5 * 60_000,
            configurable_tolerance_enabled: false,
            absent_behavior_mode: AbsentBehaviorMode::Legacy,
        }
    }
}
