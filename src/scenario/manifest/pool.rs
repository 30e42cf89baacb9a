//! `VirtualMachinePool` (`pool.kubevirt.io/v1alpha1` and `v1beta1`).
//!
//! Fields: kubevirt/kubevirt `staging/src/kubevirt.io/api/pool/v1beta1/types.go`
//! (`VirtualMachinePoolSpec` and the types it names; v1alpha1 has the same fields), the
//! VM template from `staging/src/kubevirt.io/api/core/v1/types.go` and `schema.go`.
//! Admission: `pkg/virt-api/webhooks/validating-webhook/admitters/vmpool-admitter.go`,
//! `ValidateVMPoolSpec`, which runs `ValidateVirtualMachineSpec` of `vms-admitter.go`
//! on the template; that in turn runs parts of `vmi-create-admitter.go` and
//! `pkg/storage/admitters/data-volume-template.go`. Only the checks that concern fields
//! poolsim reads are made; each names its source.

use super::core::decode_pvc_spec;
use super::{
    check_namespace, check_object_name, decode_label_selector, decode_local_reference,
    decode_metadata, decode_requirement, plain_integer, quantity_milli, quantity_value, NameRule,
};
use crate::api::{
    Autohealing, DataVolumeSource, DataVolumeSpec, DataVolumeTemplate, IntOrPercent, LabelSelector,
    Object, PoolSpec, PoolStatus, RunStrategy, ScaleInStrategy, SelectionPolicy, SortPolicy,
    StatePreservation, TaintEffect, Toleration, UpdateStrategy, VirtualMachinePool, VmSpec,
    VmTemplate, VmiSpec, VmiTemplate, Volume, VolumeSource,
};
use crate::scenario::decode::{child_path, MapReader, Report, Value};
use crate::scenario::yaml::Pos;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `startUpFailureThreshold` default (`pool.go`, `defaultStartUpFailureThreshold`; the
/// types.go doc comment says "Defaults to 3").
pub const DEFAULT_START_UP_FAILURE_THRESHOLD: u32 = 3;
/// `minFailingToStartDuration` default, 5 minutes (types.go doc comment "Defaults to 5
/// minutes"; `pool.go`, `minFailingToStartDuration`, read by `getMinFailingToStartDuration`).
pub const DEFAULT_MIN_FAILING_TO_START_DURATION_MS: u64 = 5 * 60_000;
/// `terminationGracePeriodSeconds` default (`core/v1/types.go`,
/// `DefaultGracePeriodSeconds = 30`).
pub const DEFAULT_TERMINATION_GRACE_PERIOD_S: u64 = 30;

/// Run strategies the VM admitter accepts (`vms-admitter.go`, `validRunStrategies`).
const RUN_STRATEGIES: &[&str] = &["Always", "RerunOnFailure", "Once", "Manual", "Halted"];

pub(super) fn decode_pool(
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
    let spec = root
        .required("spec", report)
        .and_then(|value| decode_pool_spec(&value, report));
    Some(Object::Pool(Arc::new(VirtualMachinePool {
        meta: meta?,
        api_version: api_version.to_string(),
        spec: spec?,
        status: PoolStatus::default(),
    })))
}

fn decode_pool_spec(value: &Value<'_>, report: &mut Report) -> Option<PoolSpec> {
    let mut spec = value.map(report)?;
    // `replicas`: "Defaults to 1"; the CRD schema has `Minimum=0` (types.go
    // `+kubebuilder:validation:Minimum=0`), so a negative count is refused with the
    // OpenAPI validation wording.
    let replicas = match spec.optional("replicas") {
        None => Some(1),
        Some(value) => value
            .i64_in(report, i64::from(i32::MIN), i64::from(i32::MAX))
            .and_then(|replicas| {
                if replicas < 0 {
                    report.error(
                        value.pos(),
                        &value.path,
                        format!("Invalid value: {replicas}: spec.replicas in body should be greater than or equal to 0"),
                    );
                    None
                } else if replicas > crate::scenario::MAX_REPLICAS {
                    report.error(
                        value.pos(),
                        &value.path,
                        crate::scenario::replicas_limit_message(replicas),
                    );
                    None
                } else {
                    Some(replicas as i32)
                }
            }),
    };
    let selector_value = spec.required("selector", report);
    let selector = selector_value
        .as_ref()
        .and_then(|value| decode_label_selector(value, report));
    let template_value = spec.required("virtualMachineTemplate", report);
    let template = template_value
        .as_ref()
        .and_then(|value| decode_vm_template(value, report));
    let paused = optional_bool(&mut spec, "paused", report);
    let name_generation = match spec.optional("nameGeneration") {
        None => Some((false, false)),
        Some(value) => value.map(report).and_then(|mut generation| {
            let config_maps = optional_bool(&mut generation, "appendIndexToConfigMapRefs", report);
            let secrets = optional_bool(&mut generation, "appendIndexToSecretRefs", report);
            generation.finish_lenient(report);
            Some((config_maps?, secrets?))
        }),
    };
    let max_unavailable = match spec.optional("maxUnavailable") {
        None => Some(IntOrPercent::Percent(100)),
        Some(value) => decode_max_unavailable(&value, report),
    };
    let scale_in = match spec.optional("scaleInStrategy") {
        None => Some(ScaleInStrategy::default()),
        Some(value) => decode_scale_in(&value, report),
    };
    let update = match spec.optional("updateStrategy") {
        None => Some(UpdateStrategy::default()),
        Some(value) => decode_update(&value, report),
    };
    let autohealing = match spec.optional("autohealing") {
        None => Some(None),
        Some(value) => decode_autohealing(&value, report).map(Some),
    };
    spec.finish_lenient(report);

    // `ValidateVMPoolSpec`: the selector must select the VM template's labels
    // ("selector does not match labels."), so the pool finds the VMs it creates.
    if let (Some(selector), Some(template), Some(selector_value)) =
        (&selector, &template, &selector_value)
    {
        if !selector.matches(&template.labels) {
            report.error(
                selector_value.pos(),
                &selector_value.path,
                format!(
                    "selector does not match labels. ({:?} does not select spec.virtualMachineTemplate.metadata.labels {})",
                    selector.to_selector_string(),
                    format_labels(&template.labels)
                ),
            );
        }
    }
    let (append_index_to_config_map_refs, append_index_to_secret_refs) = name_generation?;
    Some(PoolSpec {
        replicas: replicas?,
        selector: selector?,
        template: template?,
        paused: paused?,
        append_index_to_config_map_refs,
        append_index_to_secret_refs,
        max_unavailable: max_unavailable?,
        scale_in: scale_in?,
        update: update?,
        autohealing: autohealing?,
    })
}

pub(super) fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "{} (none)".to_string();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn optional_bool(map: &mut MapReader<'_>, key: &'static str, report: &mut Report) -> Option<bool> {
    map.optional(key)
        .map_or(Some(false), |value| value.bool(report))
}

/// `maxUnavailable`, an `IntOrString`, checked as `ValidateVMPoolSpec` does: an
/// integer must be greater than 0; a string must be `N%` with N from 1 to 100.
fn decode_max_unavailable(value: &Value<'_>, report: &mut Report) -> Option<IntOrPercent> {
    if let Some(count) = plain_integer(value) {
        if count <= 0 {
            report.error(
                value.pos(),
                &value.path,
                "maxUnavailable must be greater than 0",
            );
            return None;
        }
        return Some(IntOrPercent::Int(count));
    }
    let text = value.str(report)?;
    let Some(percentage) = text.strip_suffix('%') else {
        report.error(
            value.pos(),
            &value.path,
            format!("maxUnavailable percentage must end with % (got {text:?}; write a whole number unquoted, or a percentage such as \"50%\")"),
        );
        return None;
    };
    match percentage.parse::<i64>() {
        Err(error) => {
            report.error(
                value.pos(),
                &value.path,
                format!("maxUnavailable percentage value {percentage:?} is invalid: {error}"),
            );
            None
        }
        Ok(pct) if !(1..=100).contains(&pct) => {
            report.error(
                value.pos(),
                &value.path,
                format!("maxUnavailable percentage value {pct} must be between 1 and 100"),
            );
            None
        }
        Ok(pct) => Some(IntOrPercent::Percent(pct)),
    }
}

/// `validateMutualExclusivity` (vmpool-admitter.go): at most one of the three
/// strategies. Upstream lists them in Go map order; poolsim in a fixed order.
fn check_one_strategy(value: &Value<'_>, map: &MapReader<'_>, report: &mut Report) -> bool {
    let configured: Vec<&str> = ["unmanaged", "opportunistic", "proactive"]
        .into_iter()
        .filter(|key| map.has(key))
        .collect();
    if configured.len() > 1 {
        report.error(
            value.pos(),
            &value.path,
            format!(
                "only one strategy can be configured at a time: but found {} strategies",
                configured.join(", ")
            ),
        );
        return false;
    }
    true
}

/// `scaleInStrategy`. With none of the three set the pool behaves as proactive with
/// the default selection (`pool.go`: `isUnmanaged`/`isOpportunistic` test their
/// pointers; everything else scales in proactively).
fn decode_scale_in(value: &Value<'_>, report: &mut Report) -> Option<ScaleInStrategy> {
    let mut map = value.map(report)?;
    let single = check_one_strategy(value, &map, report);
    let unmanaged = map
        .optional("unmanaged")
        .map(|value| empty_strategy(&value, report));
    let opportunistic = map.optional("opportunistic").map(|value| {
        let mut strategy = value.map(report)?;
        let preservation = decode_state_preservation(&mut strategy, report);
        strategy.finish_lenient(report);
        preservation
    });
    let proactive = map.optional("proactive").map(|value| {
        let mut strategy = value.map(report)?;
        let selection = decode_selection_policy(&mut strategy, report);
        let preservation = decode_state_preservation(&mut strategy, report);
        strategy.finish_lenient(report);
        Some((selection?, preservation?))
    });
    map.finish_lenient(report);
    if !single {
        return None;
    }
    if let Some(unmanaged) = unmanaged {
        unmanaged?;
        return Some(ScaleInStrategy::Unmanaged);
    }
    if let Some(opportunistic) = opportunistic {
        return Some(ScaleInStrategy::Opportunistic {
            state_preservation: opportunistic?,
        });
    }
    if let Some(proactive) = proactive {
        let (selection, state_preservation) = proactive?;
        return Some(ScaleInStrategy::Proactive {
            selection,
            state_preservation,
        });
    }
    Some(ScaleInStrategy::default())
}

/// `updateStrategy`, same shape as `scaleInStrategy` without state preservation.
fn decode_update(value: &Value<'_>, report: &mut Report) -> Option<UpdateStrategy> {
    let mut map = value.map(report)?;
    let single = check_one_strategy(value, &map, report);
    let unmanaged = map
        .optional("unmanaged")
        .map(|value| empty_strategy(&value, report));
    let opportunistic = map
        .optional("opportunistic")
        .map(|value| empty_strategy(&value, report));
    let proactive = map.optional("proactive").map(|value| {
        let mut strategy = value.map(report)?;
        let selection = decode_selection_policy(&mut strategy, report);
        strategy.finish_lenient(report);
        selection
    });
    map.finish_lenient(report);
    if !single {
        return None;
    }
    if let Some(unmanaged) = unmanaged {
        unmanaged?;
        return Some(UpdateStrategy::Unmanaged);
    }
    if let Some(opportunistic) = opportunistic {
        opportunistic?;
        return Some(UpdateStrategy::Opportunistic);
    }
    if let Some(proactive) = proactive {
        return Some(UpdateStrategy::Proactive {
            selection: proactive?,
        });
    }
    Some(UpdateStrategy::default())
}

/// `{}`: the unmanaged and opportunistic update strategies have no fields.
fn empty_strategy(value: &Value<'_>, report: &mut Report) -> Option<()> {
    value.map(report)?.finish_lenient(report);
    Some(())
}

fn decode_state_preservation(
    map: &mut MapReader<'_>,
    report: &mut Report,
) -> Option<StatePreservation> {
    let Some(value) = map.optional("statePreservation") else {
        return Some(StatePreservation::Disabled);
    };
    let text = value.one_of(report, &["Disabled", "Offline", "Online"])?;
    Some(match text.as_str() {
        "Offline" => StatePreservation::Offline,
        "Online" => StatePreservation::Online,
        _ => StatePreservation::Disabled,
    })
}

/// `selectionPolicy`: `sortPolicy` (default Random, `resolveSelectionPolicy` in
/// `pool.go`) and `selectors` (`labelSelector`, `nodeSelectorRequirementMatcher`).
fn decode_selection_policy(
    strategy: &mut MapReader<'_>,
    report: &mut Report,
) -> Option<SelectionPolicy> {
    let Some(value) = strategy.optional("selectionPolicy") else {
        return Some(SelectionPolicy::default());
    };
    let mut policy = value.map(report)?;
    let sort_policy = match policy.optional("sortPolicy") {
        None => Some(SortPolicy::Random),
        Some(value) => value
            .one_of(
                report,
                &[
                    "AscendingOrder",
                    "DescendingOrder",
                    "Newest",
                    "Oldest",
                    "Random",
                ],
            )
            .map(|text| match text.as_str() {
                "AscendingOrder" => SortPolicy::AscendingOrder,
                "DescendingOrder" => SortPolicy::DescendingOrder,
                "Newest" => SortPolicy::Newest,
                "Oldest" => SortPolicy::Oldest,
                _ => SortPolicy::Random,
            }),
    };
    let selectors = match policy.optional("selectors") {
        None => Some((None, None)),
        Some(value) => value.map(report).and_then(|mut selectors| {
            let label_selector = match selectors.optional("labelSelector") {
                None => Some(None),
                Some(value) => decode_label_selector(&value, report).map(Some),
            };
            let node_selector = match selectors.optional("nodeSelectorRequirementMatcher") {
                None => Some(None),
                Some(value) => value
                    .seq_of(report, |item, report| {
                        // `NodeSelectorRequirement` also allows Gt and Lt.
                        decode_requirement(
                            item,
                            &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"],
                            report,
                        )
                    })
                    .map(|requirements| {
                        Some(LabelSelector {
                            match_labels: BTreeMap::new(),
                            match_expressions: requirements.into_iter().flatten().collect(),
                        })
                    }),
            };
            selectors.finish_lenient(report);
            Some((label_selector?, node_selector?))
        }),
    };
    policy.finish_lenient(report);
    let (label_selector, node_selector) = selectors?;
    Some(SelectionPolicy {
        sort_policy: sort_policy?,
        label_selector,
        node_selector,
    })
}

/// `autohealing`: present (even empty) turns auto-healing on with the defaults for
/// unset fields. `startUpFailureThreshold` has `+kubebuilder:validation:Minimum=1`.
fn decode_autohealing(value: &Value<'_>, report: &mut Report) -> Option<Autohealing> {
    let mut map = value.map(report)?;
    let threshold = match map.optional("startUpFailureThreshold") {
        None => Some(DEFAULT_START_UP_FAILURE_THRESHOLD),
        Some(value) => value
            .i64_in(report, 1, i64::from(u32::MAX))
            .map(|threshold| threshold as u32),
    };
    let duration_ms = match map.optional("minFailingToStartDuration") {
        None => Some(DEFAULT_MIN_FAILING_TO_START_DURATION_MS),
        Some(value) => value.duration_ms(report),
    };
    map.finish_lenient(report);
    Some(Autohealing {
        start_up_failure_threshold: threshold?,
        min_failing_to_start_duration_ms: duration_ms?,
    })
}

// ---------------------------------------------------------------- VM template

/// Labels and annotations of a template's `metadata`; other metadata is not modelled.
fn decode_template_metadata(
    template: &mut MapReader<'_>,
    report: &mut Report,
) -> Option<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let Some(value) = template.optional("metadata") else {
        return Some(Default::default());
    };
    let mut metadata = value.map(report)?;
    let labels = metadata
        .optional("labels")
        .map_or(Some(Default::default()), |value| value.label_map(report));
    let annotations = metadata
        .optional("annotations")
        .map_or(Some(Default::default()), |value| value.string_map(report));
    metadata.finish_lenient(report);
    Some((labels?, annotations?))
}

fn decode_vm_template(value: &Value<'_>, report: &mut Report) -> Option<VmTemplate> {
    let mut template = value.map(report)?;
    let metadata = decode_template_metadata(&mut template, report);
    let spec = template
        .required("spec", report)
        .and_then(|value| decode_vm_spec(&value, report));
    template.finish_lenient(report);
    let (labels, annotations) = metadata?;
    Some(VmTemplate {
        labels,
        annotations,
        spec: spec?,
    })
}

pub(super) fn decode_vm_spec(value: &Value<'_>, report: &mut Report) -> Option<VmSpec> {
    let mut spec = value.map(report)?;
    let running_value = spec.optional("running");
    let running = running_value.as_ref().map(|value| value.bool(report));
    let run_strategy_value = spec.optional("runStrategy");
    let run_strategy = run_strategy_value
        .as_ref()
        .map(|value| decode_run_strategy(value, report));
    let template_value = spec.optional("template");
    let template = template_value
        .as_ref()
        .and_then(|value| decode_vmi_template(value, report));
    let data_volume_templates =
        spec.optional("dataVolumeTemplates")
            .map_or(Some(Vec::new()), |value| {
                value.seq_of(report, |item, report| {
                    decode_data_volume_template(item, report)
                        .map(|template| (template, item.clone()))
                })
            });
    spec.finish_lenient(report);

    // `ValidateVirtualMachineSpec`: "missing virtual machine template."
    if template_value.is_none() {
        report.error(
            value.pos(),
            &child_path(&value.path, "template"),
            "missing virtual machine template.",
        );
        return None;
    }
    // `validateRunStrategy`: exactly one of `running` (deprecated) and `runStrategy`.
    let running_field = child_path(&value.path, "running");
    let strategy = match (running, run_strategy) {
        (Some(_), Some(_)) => {
            let pos = running_value.as_ref().map_or(value.pos(), Value::pos);
            report.error(
                pos,
                &running_field,
                "Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy instead",
            );
            None
        }
        (None, None) => {
            report.error(
                value.pos(),
                &running_field,
                format!(
                    "RunStrategy must be specified (set runStrategy to one of {})",
                    RUN_STRATEGIES.join(", ")
                ),
            );
            None
        }
        // `GetRunStrategy` (`core/v1` `vm.go`): running true → Always, false → Halted.
        (Some(running), None) => running.map(|running| {
            if running {
                RunStrategy::Always
            } else {
                RunStrategy::Halted
            }
        }),
        (None, Some(strategy)) => strategy,
    };
    let template = template?;
    let data_volume_templates = data_volume_templates?;

    // `ValidateDataVolumeTemplate`: every template must be mounted by a volume of the
    // VMI template (a persistentVolumeClaim or dataVolume of the same name).
    let mut referenced_ok = true;
    for (data_volume, item) in &data_volume_templates {
        let mounted = template
            .spec
            .volumes
            .iter()
            .any(|volume| volume.source.claim_name() == Some(data_volume.name.as_str()));
        if !mounted {
            report.error(
                item.pos(),
                &item.path,
                format!(
                    "DataVolumeTemplate entry {} must be referenced in the VMI template's 'volumes' list (as persistentVolumeClaim.claimName or dataVolume.name {:?})",
                    item.path, data_volume.name
                ),
            );
            referenced_ok = false;
        }
    }
    if !referenced_ok {
        return None;
    }
    Some(VmSpec {
        run_strategy: strategy?,
        template,
        data_volume_templates: data_volume_templates
            .into_iter()
            .map(|(template, _)| template)
            .collect(),
    })
}

/// `runStrategy` as `validateRunStrategy` checks it. `WaitAsReceiver` needs the
/// DecentralizedLiveMigration feature gate, off by default.
fn decode_run_strategy(value: &Value<'_>, report: &mut Report) -> Option<RunStrategy> {
    let text = value.str(report)?;
    let strategy = match text.as_str() {
        "Always" => RunStrategy::Always,
        "RerunOnFailure" => RunStrategy::RerunOnFailure,
        "Once" => RunStrategy::Once,
        "Manual" => RunStrategy::Manual,
        "Halted" => RunStrategy::Halted,
        "WaitAsReceiver" => {
            report.error(
                value.pos(),
                &value.path,
                "Invalid RunStrategy (WaitAsReceiver), DecentralizedLiveMigration feature gate is not enabled in kubevirt resource",
            );
            return None;
        }
        _ => {
            let hint = crate::scenario::decode::unknown_name_hint(&text, RUN_STRATEGIES);
            report.error(
                value.pos(),
                &value.path,
                format!("Invalid RunStrategy ({text}); {hint}"),
            );
            return None;
        }
    };
    Some(strategy)
}

// ---------------------------------------------------------------- VMI template

fn decode_vmi_template(value: &Value<'_>, report: &mut Report) -> Option<VmiTemplate> {
    let mut template = value.map(report)?;
    let metadata = decode_template_metadata(&mut template, report);
    let spec = template
        .required("spec", report)
        .and_then(|value| decode_vmi_spec(&value, report));
    template.finish_lenient(report);
    let (labels, annotations) = metadata?;
    Some(VmiTemplate {
        labels,
        annotations,
        spec: spec?,
    })
}

/// What the domain contributes to the VMI spec, plus the device names the volume
/// checks need.
struct Domain {
    vcpus: u32,
    cpu_request_milli: Option<i64>,
    cpu_limit_milli: Option<i64>,
    memory_request_bytes: i64,
    /// `devices.disks[].name` with where each was written.
    disks: Vec<(String, Pos, String)>,
    /// `devices.filesystems[].name`.
    filesystems: Vec<String>,
}

fn decode_vmi_spec(value: &Value<'_>, report: &mut Report) -> Option<VmiSpec> {
    let mut spec = value.map(report)?;
    let domain = spec
        .required("domain", report)
        .and_then(|value| decode_domain(&value, report));
    let volumes = spec.optional("volumes").map_or(Some(Vec::new()), |value| {
        value.seq_of(report, |item, report| {
            decode_volume(item, report).map(|volume| (volume, item.clone()))
        })
    });
    let node_selector = spec
        .optional("nodeSelector")
        .map_or(Some(BTreeMap::new()), |value| value.label_map(report));
    let tolerations = spec
        .optional("tolerations")
        .map_or(Some(Vec::new()), |value| {
            value.seq_of(report, decode_toleration)
        });
    let grace_period_s = match spec.optional("terminationGracePeriodSeconds") {
        None => Some(DEFAULT_TERMINATION_GRACE_PERIOD_S),
        Some(value) => value
            .i64_in(report, 0, i64::MAX)
            .map(|seconds| seconds as u64),
    };
    // Probes: `Some(None)` when absent, `None` when written wrongly.
    let readiness_probe = spec.optional("readinessProbe").map_or(Some(None), |value| {
        super::probe::decode_probe(&value, false, report).map(Some)
    });
    let liveness_probe = spec.optional("livenessProbe").map_or(Some(None), |value| {
        super::probe::decode_probe(&value, true, report).map(Some)
    });
    // Network wiring does not change what poolsim simulates.
    spec.allow(&["networks"]);
    spec.finish_lenient(report);

    let domain = domain?;
    let volumes = volumes?;
    if !check_volumes_and_disks(value, &domain, &volumes, report) {
        return None;
    }
    Some(VmiSpec {
        vcpus: domain.vcpus,
        cpu_request_milli: domain.cpu_request_milli,
        cpu_limit_milli: domain.cpu_limit_milli,
        memory_request_bytes: domain.memory_request_bytes,
        volumes: volumes.into_iter().map(|(volume, _)| volume).collect(),
        node_selector: node_selector?,
        tolerations: tolerations?,
        termination_grace_period_s: grace_period_s?,
        readiness_probe: readiness_probe?,
        liveness_probe: liveness_probe?,
    })
}

/// The volume checks of `vmi-create-admitter.go`: names unique (`validateVolumes`),
/// every disk backed by a volume (`validateBootOrder`), every volume used by a disk or
/// filesystem (`validateVirtualMachineInstanceSpecVolumeDisks`; memoryDump volumes
/// are exempt). Upstream's paths say `domain.volumes` and `disks[i].Name`; poolsim
/// names the fields where they are written.
fn check_volumes_and_disks(
    spec_value: &Value<'_>,
    domain: &Domain,
    volumes: &[(Volume, Value<'_>)],
    report: &mut Report,
) -> bool {
    let mut ok = true;
    let mut first_index: BTreeMap<&str, &Value<'_>> = BTreeMap::new();
    for (volume, item) in volumes {
        if let Some(first) = first_index.get(volume.name.as_str()) {
            report.error(
                item.pos(),
                &child_path(&item.path, "name"),
                format!(
                    "{} and {} must not have the same Name.",
                    item.path, first.path
                ),
            );
            ok = false;
        } else {
            first_index.insert(&volume.name, item);
        }
    }
    for (name, pos, path) in &domain.disks {
        if !first_index.contains_key(name.as_str()) {
            report.error(
                *pos,
                path,
                format!("{path} '{name}' not found. (no volume of spec.volumes has this name)"),
            );
            ok = false;
        }
    }
    for (volume, item) in volumes {
        let exempt = matches!(&volume.source, VolumeSource::Other { kind } if kind == "memoryDump");
        let used = domain.disks.iter().any(|(name, _, _)| *name == volume.name)
            || domain.filesystems.contains(&volume.name);
        if !exempt && !used {
            let name_path = child_path(&item.path, "name");
            report.error(
                item.pos(),
                &name_path,
                format!(
                    "{name_path} '{}' not found. (no disk of {}.domain.devices.disks uses this volume)",
                    volume.name, spec_value.path
                ),
            );
            ok = false;
        }
    }
    ok
}

fn decode_domain(value: &Value<'_>, report: &mut Report) -> Option<Domain> {
    let mut domain = value.map(report)?;
    // vCPUs: cores × sockets × threads, each 1 when unset or 0 (`GetNumberOfVCPUs`,
    // `pkg/util/hardware/hw_utils.go`).
    let vcpus = match domain.optional("cpu") {
        None => Some(1),
        Some(value) => value.map(report).and_then(|mut cpu| {
            let mut topology = [Some(1u32); 3];
            for (slot, key) in topology.iter_mut().zip(["cores", "sockets", "threads"]) {
                if let Some(value) = cpu.optional(key) {
                    *slot = value
                        .i64_in(report, 0, i64::from(u32::MAX))
                        .map(|count| (count as u32).max(1));
                }
            }
            cpu.finish_lenient(report);
            let [cores, sockets, threads] = topology;
            cores?.checked_mul(sockets?)?.checked_mul(threads?)
        }),
    };
    let guest_memory_bytes = match domain.optional("memory") {
        None => Some(None),
        Some(value) => value.map(report).and_then(|mut memory| {
            let guest = memory
                .optional("guest")
                .map(|value| quantity_value(&value, report));
            memory.finish_lenient(report);
            match guest {
                None => Some(None),
                Some(guest) => guest.map(Some),
            }
        }),
    };
    let resources = match domain.optional("resources") {
        None => Some(Resources::default()),
        Some(value) => decode_domain_resources(&value, report),
    };
    let devices = match domain.optional("devices") {
        None => Some((Vec::new(), Vec::new())),
        Some(value) => decode_devices(&value, report),
    };
    domain.finish_lenient(report);
    let resources = resources?;
    let (disks, filesystems) = devices?;
    // Memory as `vmi-create-admitter.go` resolves it: requests, else guest, else limits.
    let memory_request_bytes = resources
        .memory_request_bytes
        .filter(|bytes| *bytes != 0)
        .or(guest_memory_bytes?)
        .or(resources.memory_limit_bytes)
        .unwrap_or(0);
    Some(Domain {
        vcpus: vcpus?,
        cpu_request_milli: resources.cpu_request_milli,
        cpu_limit_milli: resources.cpu_limit_milli,
        memory_request_bytes,
        disks,
        filesystems,
    })
}

#[derive(Default)]
struct Resources {
    cpu_request_milli: Option<i64>,
    cpu_limit_milli: Option<i64>,
    memory_request_bytes: Option<i64>,
    memory_limit_bytes: Option<i64>,
}

/// One of `requests` / `limits`: cpu in millicores, memory in bytes with its path.
type ResourceList = (Option<i64>, Option<(i64, String)>);

fn decode_resource_list(value: &Value<'_>, report: &mut Report) -> Option<ResourceList> {
    let mut list = value.map(report)?;
    let cpu = list
        .optional("cpu")
        .map(|value| quantity_milli(&value, report));
    let memory = list
        .optional("memory")
        .map(|value| quantity_value(&value, report).map(|bytes| (bytes, value.path.clone())));
    list.finish_lenient(report);
    let cpu = match cpu {
        None => None,
        Some(cpu) => Some(cpu?),
    };
    let memory = match memory {
        None => None,
        Some(memory) => Some(memory?),
    };
    Some((cpu, memory))
}

fn decode_domain_resources(value: &Value<'_>, report: &mut Report) -> Option<Resources> {
    let mut resources = value.map(report)?;
    let requests = resources
        .optional("requests")
        .map_or(Some((None, None)), |value| {
            decode_resource_list(&value, report)
        });
    let limits = resources
        .optional("limits")
        .map_or(Some((None, None)), |value| {
            decode_resource_list(&value, report)
        });
    // Whether the guest overhead counts against the request: a scheduling detail the
    // model does not need.
    resources.allow(&["overcommitGuestOverhead"]);
    resources.finish_lenient(report);
    let (cpu_request_milli, memory_request) = requests?;
    let (cpu_limit_milli, memory_limit) = limits?;
    // `validateMemoryLimitsNegativeOrNull`: the request may not exceed the limit.
    if let (Some((request, request_path)), Some((limit, limit_path))) =
        (&memory_request, &memory_limit)
    {
        if *limit > 0 && request > limit {
            report.error(
                value.pos(),
                request_path,
                format!("{request_path} '{request}' is greater than {limit_path} '{limit}'"),
            );
            return None;
        }
    }
    Some(Resources {
        cpu_request_milli,
        cpu_limit_milli,
        memory_request_bytes: memory_request.map(|(bytes, _)| bytes),
        memory_limit_bytes: memory_limit.map(|(bytes, _)| bytes),
    })
}

/// `devices`: disk and filesystem names are read for the volume checks; the rest of
/// a disk (bus, boot order, ...) and `interfaces` are accepted without a warning, since
/// they do not change what poolsim simulates.
#[allow(clippy::type_complexity)]
fn decode_devices(
    value: &Value<'_>,
    report: &mut Report,
) -> Option<(Vec<(String, Pos, String)>, Vec<String>)> {
    let mut devices = value.map(report)?;
    let disks = devices.optional("disks").map_or(Some(Vec::new()), |value| {
        value.seq_of(report, |item, report| {
            let mut disk = item.map(report)?;
            let name = disk.required("name", report)?;
            let text = name.non_empty_str(report)?;
            Some((text, name.pos(), name.path.clone()))
        })
    });
    let filesystems = devices
        .optional("filesystems")
        .map_or(Some(Vec::new()), |value| {
            value.seq_of(report, |item, report| {
                let mut filesystem = item.map(report)?;
                filesystem.required("name", report)?.non_empty_str(report)
            })
        });
    devices.allow(&["interfaces"]);
    devices.finish_lenient(report);
    Some((disks?, filesystems?))
}

/// The volume sources of `schema.go` `VolumeSource` that poolsim keeps only by name.
const OTHER_VOLUME_SOURCES: &[&str] = &[
    "sysprep",
    "ephemeral",
    "emptyDisk",
    "hostDisk",
    "downwardAPI",
    "serviceAccount",
    "downwardMetrics",
    "memoryDump",
    "containerPath",
];

/// One volume; `validateVolumes`: exactly one source ("must have exactly one source
/// type set"), and a dataVolume needs a name ("DataVolume 'name' must be set").
fn decode_volume(item: &Value<'_>, report: &mut Report) -> Option<Volume> {
    let mut volume = item.map(report)?;
    let name = volume
        .required("name", report)
        .and_then(|value| value.non_empty_str(report));
    let mut sources: Vec<Option<VolumeSource>> = Vec::new();
    if let Some(value) = volume.optional("persistentVolumeClaim") {
        sources.push(value.map(report).and_then(|mut claim| {
            let claim_name = claim
                .required("claimName", report)
                .and_then(|value| value.non_empty_str(report));
            claim.allow(&["readOnly", "hotpluggable"]);
            claim.finish_lenient(report);
            Some(VolumeSource::PersistentVolumeClaim {
                claim_name: claim_name?,
            })
        }));
    }
    if let Some(value) = volume.optional("dataVolume") {
        sources.push(value.map(report).and_then(|mut data_volume| {
            let name = match data_volume.optional("name") {
                Some(value) => value.non_empty_str(report),
                None => {
                    report.error(
                        value.pos(),
                        &child_path(&value.path, "name"),
                        "DataVolume 'name' must be set",
                    );
                    None
                }
            };
            data_volume.allow(&["hotpluggable"]);
            data_volume.finish_lenient(report);
            Some(VolumeSource::DataVolume { name: name? })
        }));
    }
    for key in ["cloudInitNoCloud", "cloudInitConfigDrive"] {
        let key: &'static str = key;
        if let Some(value) = volume.optional(key) {
            sources.push(decode_cloud_init(&value, key == "cloudInitNoCloud", report));
        }
    }
    if let Some(value) = volume.optional("secret") {
        sources.push(value.map(report).and_then(|mut secret| {
            let secret_name = secret
                .required("secretName", report)
                .and_then(|value| value.non_empty_str(report));
            secret.allow(&["optional", "volumeLabel"]);
            secret.finish_lenient(report);
            Some(VolumeSource::Secret {
                secret_name: secret_name?,
            })
        }));
    }
    if let Some(value) = volume.optional("configMap") {
        sources.push(value.map(report).and_then(|mut config_map| {
            let name = config_map
                .required("name", report)
                .and_then(|value| value.non_empty_str(report));
            config_map.allow(&["optional", "volumeLabel"]);
            config_map.finish_lenient(report);
            Some(VolumeSource::ConfigMap { name: name? })
        }));
    }
    if let Some(value) = volume.optional("containerDisk") {
        sources.push(value.map(report).and_then(|mut disk| {
            let image = disk
                .required("image", report)
                .and_then(|value| value.non_empty_str(report));
            disk.allow(&["imagePullPolicy", "imagePullSecret", "path"]);
            disk.finish_lenient(report);
            Some(VolumeSource::ContainerDisk { image: image? })
        }));
    }
    for key in OTHER_VOLUME_SOURCES {
        if volume.optional(key).is_some() {
            sources.push(Some(VolumeSource::Other {
                kind: key.to_string(),
            }));
        }
    }
    volume.finish_lenient(report);
    if sources.len() != 1 {
        report.error(
            item.pos(),
            &item.path,
            format!(
                "{} must have exactly one source type set (found {})",
                item.path,
                sources.len()
            ),
        );
        return None;
    }
    let source = sources.pop().flatten()?;
    Some(Volume {
        name: name?,
        source,
    })
}

/// `cloudInitNoCloud` / `cloudInitConfigDrive`: `secretRef` (user data) and
/// `networkDataSecretRef` name Secrets; inline data needs none.
fn decode_cloud_init(
    value: &Value<'_>,
    no_cloud: bool,
    report: &mut Report,
) -> Option<VolumeSource> {
    let mut cloud_init = value.map(report)?;
    let user_data_secret = cloud_init
        .optional("secretRef")
        .map(|value| decode_local_reference(&value, report));
    let network_data_secret = cloud_init
        .optional("networkDataSecretRef")
        .map(|value| decode_local_reference(&value, report));
    for key in [
        "userData",
        "userDataBase64",
        "networkData",
        "networkDataBase64",
    ] {
        if let Some(value) = cloud_init.optional(key) {
            value.str(report)?;
        }
    }
    cloud_init.finish_lenient(report);
    let user_data_secret = match user_data_secret {
        None => None,
        Some(name) => Some(name?),
    };
    let network_data_secret = match network_data_secret {
        None => None,
        Some(name) => Some(name?),
    };
    Some(if no_cloud {
        VolumeSource::CloudInitNoCloud {
            user_data_secret,
            network_data_secret,
        }
    } else {
        VolumeSource::CloudInitConfigDrive {
            user_data_secret,
            network_data_secret,
        }
    })
}

/// `core/v1` `Toleration`: `operator` Exists or Equal (default Equal), `effect` empty
/// for all effects.
fn decode_toleration(item: &Value<'_>, report: &mut Report) -> Option<Toleration> {
    let mut toleration = item.map(report)?;
    let key = toleration
        .optional("key")
        .map_or(Some(String::new()), |value| value.str(report));
    let exists = match toleration.optional("operator") {
        None => Some(false),
        Some(value) => value
            .one_of(report, &["Exists", "Equal"])
            .map(|operator| operator == "Exists"),
    };
    let value = toleration
        .optional("value")
        .map_or(Some(String::new()), |value| value.str(report));
    let effect = match toleration.optional("effect") {
        None => Some(None),
        Some(value) => value
            .one_of(report, &["", "NoSchedule", "PreferNoSchedule", "NoExecute"])
            .map(|effect| match effect.as_str() {
                "NoSchedule" => Some(TaintEffect::NoSchedule),
                "PreferNoSchedule" => Some(TaintEffect::PreferNoSchedule),
                "NoExecute" => Some(TaintEffect::NoExecute),
                _ => None,
            }),
    };
    // A zero or negative tolerationSeconds means evict at once (`v1.Toleration` doc).
    let toleration_seconds = match toleration.optional("tolerationSeconds") {
        None => Some(None),
        Some(value) => value
            .i64_in(report, i64::MIN, i64::MAX)
            .map(|seconds| Some(seconds.max(0) as u64)),
    };
    toleration.finish_lenient(report);
    Some(Toleration {
        key: key?,
        exists: exists?,
        value: value?,
        effect: effect?,
        toleration_seconds: toleration_seconds?,
    })
}

// ---------------------------------------------------------------- DataVolume templates

/// The CDI `DataVolumeSource` kinds (`pkg/apis/core/v1beta1/types.go`).
const DATA_VOLUME_SOURCES: &[&str] = &[
    "http", "s3", "gcs", "registry", "pvc", "upload", "blank", "imageio", "vddk", "snapshot",
];

/// One `dataVolumeTemplates` entry, checked as `validateDataVolume`
/// (`data-volume-template.go`) does.
fn decode_data_volume_template(
    item: &Value<'_>,
    report: &mut Report,
) -> Option<DataVolumeTemplate> {
    let mut template = item.map(report)?;
    let name_field = child_path(&child_path(&item.path, "metadata"), "name");
    let name = match template.optional("metadata") {
        None => None,
        Some(value) => value.map(report).and_then(|mut metadata| {
            let name = metadata
                .optional("name")
                .and_then(|value| value.str(report));
            // Labels and annotations of the DataVolume do not change what poolsim
            // simulates.
            metadata.allow(&["labels", "annotations"]);
            metadata.finish_lenient(report);
            name
        }),
    };
    let name = match name {
        Some(name) if !name.is_empty() => Some(name),
        _ => {
            report.error(
                item.pos(),
                &name_field,
                format!(
                    "'name' field must not be empty for DataVolumeTemplate entry {name_field}."
                ),
            );
            None
        }
    };
    let spec = template
        .required("spec", report)
        .and_then(|value| decode_data_volume_spec(&value, report));
    template.finish_lenient(report);
    Some(DataVolumeTemplate {
        name: name?,
        spec: spec?,
    })
}

fn decode_data_volume_spec(value: &Value<'_>, report: &mut Report) -> Option<DataVolumeSpec> {
    let mut spec = value.map(report)?;
    let pvc = spec.optional("pvc");
    let storage = spec.optional("storage");
    let target = match (&pvc, &storage) {
        (None, None) => {
            report.error(
                value.pos(),
                &value.path,
                "Missing Data volume PVC or Storage (set spec.pvc or spec.storage)",
            );
            None
        }
        (Some(_), Some(_)) => {
            report.error(
                value.pos(),
                &value.path,
                "Duplicate storage definition, both target storage and target pvc defined",
            );
            None
        }
        (Some(target), None) | (None, Some(target)) => decode_pvc_spec(target, report),
    };
    let source = match (spec.optional("source"), spec.optional("sourceRef")) {
        (Some(value), _) => decode_data_volume_source(&value, report),
        (None, Some(value)) => value.map(report).map(|mut reference| {
            // A DataSource reference: CDI resolves it to a PVC or snapshot; poolsim
            // treats it as an import of unknown origin.
            reference.allow(&["kind", "name", "namespace"]);
            if let Some(value) = reference.optional("namespace") {
                check_namespace(&value, report);
            }
            if let Some(value) = reference.optional("name") {
                check_object_name(&value, NameRule::Dns1123Subdomain, report);
            }
            reference.finish_lenient(report);
            DataVolumeSource::Import {
                kind: "sourceRef".to_string(),
            }
        }),
        (None, None) => {
            report.error(
                value.pos(),
                &child_path(&value.path, "source"),
                "Data volume should have either Source, SourceRef, or be externally populated",
            );
            None
        }
    };
    spec.finish_lenient(report);
    let target = target?;
    Some(DataVolumeSpec {
        source: source?,
        storage_bytes: target.storage_bytes,
        access_modes: target.access_modes,
        storage_class: target.storage_class,
    })
}

/// `spec.source`, with `validateNumberOfSources`: exactly one kind.
fn decode_data_volume_source(value: &Value<'_>, report: &mut Report) -> Option<DataVolumeSource> {
    let mut source = value.map(report)?;
    let present: Vec<(&str, Value<'_>)> = DATA_VOLUME_SOURCES
        .iter()
        .filter_map(|key| source.optional(key).map(|value| (*key, value)))
        .collect();
    source.finish_lenient(report);
    match present.as_slice() {
        [] => {
            report.error(
                value.pos(),
                &value.path,
                format!(
                    "Missing dataVolume valid source; valid: {}",
                    DATA_VOLUME_SOURCES.join(", ")
                ),
            );
            None
        }
        [("pvc", pvc)] => {
            let mut pvc_map = pvc.map(report)?;
            // The source PVC's namespace and name pass the rules of any PVC's
            // metadata: often they come from a `<placeholder>`, and a value no PVC
            // could carry would make the clone wait forever on nothing.
            let namespace = pvc_map
                .optional("namespace")
                .map(|value| check_namespace(&value, report));
            let name = pvc_map
                .required("name", report)
                .and_then(|value| check_object_name(&value, NameRule::Dns1123Subdomain, report));
            pvc_map.finish_lenient(report);
            let namespace = match namespace {
                None => None,
                Some(namespace) => Some(namespace?),
            };
            Some(DataVolumeSource::Pvc {
                namespace,
                name: name?,
            })
        }
        [("blank", blank)] => {
            blank.map(report)?.finish_lenient(report);
            Some(DataVolumeSource::Blank)
        }
        // Where the import reads from (URL, image, ...) does not change the model:
        // imports run at the copy throughput.
        [(kind, _)] => Some(DataVolumeSource::Import {
            kind: kind.to_string(),
        }),
        _ => {
            report.error(value.pos(), &value.path, "Multiple dataVolume sources");
            None
        }
    }
}
