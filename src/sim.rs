//! From a loaded scenario to a finished run: decode manifests and settings, resolve
//! event actions (merge patches included), build the world, run it, summarise.

use crate::algorithm::ReconcileAlgorithm;
use crate::api::{Kind, Labels, Object, Resources};
use crate::cluster::settings::{SettingType, Settings};
use crate::cluster::world::{ClusterAction, NodeConfig, NodeTarget, World, WorldConfig};
use crate::engine::SimTime;
use crate::load::{LoadCurve, LoadPoint};
use crate::scenario::decode::{unknown_name_hint, Report, Value};
use crate::scenario::diag::{Diagnostic, Severity};
use crate::scenario::manifest::import::summarize_server_fields;
use crate::scenario::manifest::import_plan::{check_apply_kinds, plan_import, ImportPlan};
use crate::scenario::manifest::{
    decode_manifest, decode_object, warn_launcher_only_cpu_requests,
    warn_missing_references_located, LauncherCpu,
};
use crate::scenario::yaml::{Node, NodeKind};
use crate::scenario::{self, Action, NodeRef, Scenario};
use std::collections::BTreeMap;
use std::path::Path;

/// A scenario ready to run: the checked scenario and everything decoded from it.
pub struct Prepared {
    pub scenario: Scenario,
    pub settings: Settings,
    pub objects: Vec<Object>,
    pub actions: Vec<(SimTime, ClusterAction)>,
    pub warnings: Vec<Diagnostic>,
    /// Nodes from Node manifests and the warm start's state (docs/IMPORT.md).
    pub import: ImportPlan,
}

/// Load and fully check a scenario file: every problem is returned at once.
pub fn prepare(path: &Path) -> Result<Prepared, Vec<Diagnostic>> {
    let loaded = scenario::load(path)?;
    prepare_loaded(loaded.scenario, loaded.warnings)
}

/// [`prepare`] for bytes already in memory, as if read from `path` (fuzzing, tests).
pub fn prepare_bytes(bytes: &[u8], path: &Path) -> Result<Prepared, Vec<Diagnostic>> {
    let loaded = scenario::load_bytes(bytes, path)?;
    prepare_loaded(loaded.scenario, loaded.warnings)
}

pub fn prepare_loaded(
    scenario: Scenario,
    mut warnings: Vec<Diagnostic>,
) -> Result<Prepared, Vec<Diagnostic>> {
    let mut report = Report::new(&scenario.file);
    let settings = decode_settings(&scenario, &mut report);
    let mut objects = Vec::new();
    let mut decoded_from = Vec::new();
    let mut sources: BTreeMap<(Kind, String), Node> = BTreeMap::new();
    for manifest in &scenario.manifests {
        if let Some(object) = decode_manifest(manifest, &scenario.namespace, &mut report) {
            sources.insert(
                (object.kind(), object.meta().name.clone()),
                manifest.object.clone(),
            );
            objects.push(object);
            decoded_from.push(manifest);
        }
    }
    // A cluster export's Nodes, pools' VMs and instances (docs/IMPORT.md).
    summarize_server_fields(&scenario.manifests, &mut report);
    let (objects, decoded_from, import) =
        plan_import(&scenario, objects, decoded_from, &mut report);
    check_apply_kinds(&scenario, &mut report);
    warn_missing_references_located(&objects, &decoded_from, &mut report);
    warn_cpu_requests(&scenario, &settings, &objects, &decoded_from, &mut report);
    if crate::algorithm::resolve(&scenario.algorithm).is_err() {
        let names = crate::algorithm::builtin_names();
        let pos = scenario.algorithm_pos.unwrap_or_default();
        report.error(
            pos,
            "spec.algorithm",
            format!(
                "unknown algorithm {:?}: {}",
                scenario.algorithm,
                unknown_name_hint(&scenario.algorithm, names)
            ),
        );
    }
    let pool_names: Vec<String> = objects
        .iter()
        .filter(|o| o.kind() == Kind::VirtualMachinePool)
        .map(|o| o.meta().name.clone())
        .collect();
    let actions = resolve_actions(&scenario, &pool_names, &mut sources, &mut report);
    check_referenced_vms(&scenario, &pool_names, &import, &mut report);
    let (errors, found_warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = report
        .diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(errors);
    }
    warnings.extend(found_warnings);
    Ok(Prepared {
        scenario,
        settings,
        objects,
        actions,
        warnings,
        import,
    })
}

/// The scenario's events as the actions the world performs, in file order: names and
/// kinds checked against the manifests, `apply` and `patch` objects decoded (a patch
/// merged over the latest source of its object, which `sources` keeps).
fn resolve_actions(
    scenario: &Scenario,
    pool_names: &[String],
    sources: &mut BTreeMap<(Kind, String), Node>,
    report: &mut Report,
) -> Vec<(SimTime, ClusterAction)> {
    let mut actions = Vec::new();
    for event in &scenario.events {
        let at = SimTime(event.at_ms);
        let field = &event.field;
        let action = match &event.action {
            Action::Scale { pool, replicas } => {
                if !pool_names.contains(pool) {
                    report.error(
                        event.pos,
                        &format!("{field}.scale.pool"),
                        format!(
                            "no VirtualMachinePool {pool:?} in the scenario's manifests; {}",
                            known_pools(pool_names)
                        ),
                    );
                }
                Some(ClusterAction::Scale {
                    pool: pool.clone(),
                    replicas: (*replicas).min(i32::MAX as u32) as i32,
                })
            }
            Action::Apply { object } => {
                let decoded = match &event.source {
                    // An `apply: {file}` object: reported in its file, at its document.
                    Some(source) => decode_manifest(
                        &scenario::Manifest {
                            file: source.file.clone(),
                            field: source.field.clone(),
                            object: object.clone(),
                        },
                        &scenario.namespace,
                        report,
                    ),
                    None => decode_object(
                        object,
                        &format!("{field}.apply"),
                        &scenario.namespace,
                        report,
                    ),
                };
                decoded.map(|o| {
                    sources.insert((o.kind(), o.meta().name.clone()), object.clone());
                    ClusterAction::Apply(Box::new(o))
                })
            }
            Action::Delete { kind, name } => match Kind::parse(kind) {
                Some(kind) => Some(ClusterAction::Delete {
                    kind,
                    name: name.clone(),
                }),
                None => {
                    report.error(
                        event.pos,
                        &format!("{field}.delete.kind"),
                        format!("unknown kind {kind:?}"),
                    );
                    None
                }
            },
            Action::Patch {
                kind,
                name,
                merge_patch,
            } => resolve_patch(event, kind, name, merge_patch, scenario, sources, report),
            Action::PartitionNode(r) => Some(ClusterAction::PartitionNode(target(r))),
            Action::HealNode(r) => Some(ClusterAction::HealNode(target(r))),
            Action::CrashNode(r) => Some(ClusterAction::CrashNode(target(r))),
            Action::RecoverNode(r) => Some(ClusterAction::RecoverNode(target(r))),
            Action::FenceNode(r) => Some(ClusterAction::FenceNode(target(r))),
            Action::KillGuest { vm } => Some(ClusterAction::KillGuest { vm: vm.clone() }),
            Action::HangGuest { vm } => Some(ClusterAction::HangGuest { vm: vm.clone() }),
            Action::UnhangGuest { vm } => Some(ClusterAction::UnhangGuest { vm: vm.clone() }),
            Action::DetachVm { vm } => Some(ClusterAction::DetachVm { vm: vm.clone() }),
            Action::FailImagePull { image } => Some(ClusterAction::FailImagePull {
                image: image.clone(),
            }),
            Action::FailDataVolume { target, reason } => Some(ClusterAction::FailDataVolume {
                target: target.clone(),
                reason: *reason,
            }),
            Action::SetLoad {
                cores,
                ramp_over_ms,
            } => Some(ClusterAction::SetLoad {
                cores: *cores,
                ramp_over_ms: *ramp_over_ms,
            }),
        };
        if let Some(action) = action {
            actions.push((at, action));
        }
    }
    actions
}

/// A `patch` event: its merge patch over the latest source of the object it names (RFC
/// 7386), decoded again; the merged source becomes the latest.
fn resolve_patch(
    event: &scenario::ScheduledEvent,
    kind: &str,
    name: &str,
    merge_patch: &Node,
    scenario: &Scenario,
    sources: &mut BTreeMap<(Kind, String), Node>,
    report: &mut Report,
) -> Option<ClusterAction> {
    let field = &event.field;
    let Some(kind) = Kind::parse(kind) else {
        report.error(
            event.pos,
            &format!("{field}.patch.kind"),
            format!("unknown kind {kind:?}"),
        );
        return None;
    };
    match sources.get(&(kind, name.to_string())) {
        None => {
            report.error(
                event.pos,
                &format!("{field}.patch.name"),
                format!(
                    "no {} {name:?} in the scenario's manifests to patch",
                    kind.name()
                ),
            );
            None
        }
        Some(source) => {
            let merged = self::merge_patch(source, merge_patch);
            let fields = leaf_paths(merge_patch, "");
            let decoded = decode_object(
                &merged,
                &format!("{field}.patch.mergePatch"),
                &scenario.namespace,
                report,
            );
            decoded.map(|o| {
                sources.insert((kind, name.to_string()), merged.clone());
                ClusterAction::Patch(Box::new(o), fields)
            })
        }
    }
}

/// A VM named by an event must be one a pool can create: `<pool>-<index>`.
fn check_referenced_vms(
    scenario: &Scenario,
    pool_names: &[String],
    import: &ImportPlan,
    report: &mut Report,
) {
    for reference in scenario.referenced_vms() {
        let standalone = import.standalone_vms.iter().any(|vm| vm == reference.name);
        let plausible = standalone
            || pool_names.iter().any(|pool| {
                reference
                    .name
                    .strip_prefix(pool.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|index| index.parse::<u32>().is_ok())
            });
        if !plausible {
            report.error(
                reference.pos,
                &reference.field,
                format!(
                    "no pool creates a VM named {:?}: pool VMs are named <pool>-<index> ({})",
                    reference.name,
                    known_pools(pool_names)
                ),
            );
        }
    }
}

fn target(node_ref: &NodeRef) -> NodeTarget {
    match node_ref {
        NodeRef::Name(name) => NodeTarget::Node(name.clone()),
        NodeRef::NodeOf(vm) => NodeTarget::NodeOf(vm.clone()),
    }
}

/// Warns about HPAs that target the CPU utilization of launcher pods requesting only
/// KubeVirt's default ([`warn_launcher_only_cpu_requests`]), with the launcher settings
/// and the load at 0 s of this scenario.
fn warn_cpu_requests(
    scenario: &Scenario,
    settings: &Settings,
    objects: &[Object],
    sources: &[&scenario::Manifest],
    report: &mut Report,
) {
    let launcher = LauncherCpu {
        cpu_allocation_ratio: settings.cpu_allocation_ratio,
        serial_console_log: settings.serial_console_log,
    };
    let load_at_start = load_curve(scenario).cores_at(SimTime(0));
    warn_launcher_only_cpu_requests(objects, sources, launcher, load_at_start, report);
}

/// The scenario's `load` points as the offered load curve.
fn load_curve(scenario: &Scenario) -> LoadCurve {
    LoadCurve::new(
        scenario
            .load
            .iter()
            .map(|p| LoadPoint {
                at: SimTime(p.at_ms),
                cores: p.cores,
                ramp_over_ms: p.ramp_over_ms,
            })
            .collect(),
    )
}

fn decode_settings(scenario: &Scenario, report: &mut Report) -> Settings {
    let mut settings = Settings::default();
    let names: Vec<&str> = Settings::CATALOGUE
        .iter()
        .map(|(name, _, _)| *name)
        .collect();
    for (name, node) in &scenario.settings {
        let path = format!("spec.settings.{name}");
        let removed = crate::cluster::settings::REMOVED_SETTINGS
            .iter()
            .find(|(n, _)| n == name);
        if let Some((_, migration)) = removed {
            report.error(node.pos, &path, format!("unknown setting: {migration}"));
            continue;
        }
        let Some((_, kind, _)) = Settings::CATALOGUE.iter().find(|(n, _, _)| n == name) else {
            report.error(
                node.pos,
                &path,
                format!("unknown setting: {}", unknown_name_hint(name, &names)),
            );
            continue;
        };
        let value = Value::new(node, path.clone());
        let decoded = match kind {
            SettingType::DurationMs => value.duration_ms(report).map(|v| v as f64),
            SettingType::Count => value
                .i64_in(report, 0, i64::from(u32::MAX))
                .map(|v| v as f64),
            SettingType::Ratio => value.f64_at_least(report, 0.0),
            SettingType::Flag => value.bool(report).map(|b| if b { 1.0 } else { 0.0 }),
        };
        if let Some(decoded) = decoded {
            if *kind == SettingType::Count
                && decoded == 0.0
                && matches!(
                    name.as_str(),
                    "poolBurstReplicas" | "cpuAllocationRatio" | "cloneCopyBytesPerSecond"
                )
            {
                report.error(node.pos, &path, "must be at least 1");
                continue;
            }
            // Upstream's configuration validation allows 0 to 100
            // (`ValidateKubeSchedulerConfiguration`).
            if name == "percentageOfNodesToScore" && decoded > 100.0 {
                report.error(
                    node.pos,
                    &path,
                    "must be at most 100 (a percentage; 0 means adaptive)",
                );
                continue;
            }
            // A zero period would requeue the HPA (or scrape) at the same instant
            // forever; upstream's flags need a positive duration too.
            if *kind == SettingType::DurationMs
                && decoded == 0.0
                && matches!(name.as_str(), "hpaSyncPeriod" | "metricsResolution")
            {
                report.error(node.pos, &path, "must be more than 0s");
                continue;
            }
            settings.set(name, decoded);
        }
    }
    check_setting_relations(scenario, &settings, report);
    check_back_off_delays(scenario, &settings, report);
    settings
}

/// Back-off delays that reschedule the same work on the same object: at 0s the
/// kubelet retries an image pull or a mount, or restarts the crashed virt-controller,
/// at the same instant forever (hostile review, issue 17: `imagePullBackOffBase: 0s`
/// ran for minutes). A base above its maximum stays valid: both upstream back-offs cap
/// at the maximum (client-go `flowcontrol.Backoff`), and tests rely on it.
fn check_back_off_delays(scenario: &Scenario, settings: &Settings, report: &mut Report) {
    let delays = [
        ("imagePullBackOffBase", settings.image_pull_backoff_base_ms),
        ("imagePullBackOffMax", settings.image_pull_backoff_max_ms),
        (
            "containerRestartBackoffInitial",
            settings.container_restart_backoff_initial_ms,
        ),
        (
            "containerRestartBackoffMax",
            settings.container_restart_backoff_max_ms,
        ),
        ("mountRetryMax", settings.mount_retry_max_ms),
    ];
    for (name, delay_ms) in delays {
        if delay_ms > 0 {
            continue;
        }
        let pos = scenario
            .settings
            .iter()
            .find(|(written, _)| written == name)
            .map_or_else(Default::default, |(_, node)| node.pos);
        report.error(
            pos,
            &format!("spec.settings.{name}"),
            format!("{name} is a back-off delay and must be longer than 0s (at 0s the same retry repeats at one instant forever); valid: a duration such as 10s"),
        );
    }
}

/// Settings that are valid alone but not together: a `...Min` above its `...Max`, a
/// period of 0 (a component that would reschedule itself at the same instant forever).
/// Each error is reported at the setting the scenario wrote (defaults are valid).
fn check_setting_relations(scenario: &Scenario, settings: &Settings, report: &mut Report) {
    let written = |name: &str| scenario.settings.iter().find(|(n, _)| n == name);
    let show = |ms: u64| crate::units::format_duration_ms(ms);
    let ranges = [
        (
            "guestShutdownMin",
            "guestShutdownMax",
            settings.guest_shutdown_min_ms,
            settings.guest_shutdown_max_ms,
        ),
        (
            "handlerHeartbeatMin",
            "handlerHeartbeatMax",
            settings.handler_heartbeat_min_ms,
            settings.handler_heartbeat_max_ms,
        ),
        (
            "cloneFastMin",
            "cloneFastMax",
            settings.clone_fast_min_ms,
            settings.clone_fast_max_ms,
        ),
    ];
    for (min_name, max_name, min_ms, max_ms) in ranges {
        if min_ms <= max_ms {
            continue;
        }
        // At the Min when the scenario wrote it, else at the Max it lowered.
        let (name, node) = written(min_name)
            .or_else(|| written(max_name))
            .map_or((min_name, None), |(name, node)| (name.as_str(), Some(node)));
        let pos = node.map_or_else(Default::default, |node| node.pos);
        report.error(
            pos,
            &format!("spec.settings.{name}"),
            format!(
                "{min_name} ({}) is larger than {max_name} ({}); valid: {min_name} at most {max_name}",
                show(min_ms),
                show(max_ms)
            ),
        );
    }
    let periods = [
        ("nodeLeaseRenew", settings.node_lease_renew_ms),
        ("nodeMonitorPeriod", settings.node_monitor_period_ms),
        ("metricsResolution", settings.metrics_resolution_ms),
        ("handlerRecheckInterval", settings.handler_recheck_ms),
        ("podGcPeriod", settings.pod_gc_period_ms),
    ];
    for (name, period_ms) in periods {
        if period_ms == 0 {
            let pos = written(name).map_or_else(Default::default, |(_, node)| node.pos);
            report.error(
                pos,
                &format!("spec.settings.{name}"),
                format!(
                    "{name} is a period and must be longer than 0s; valid: a duration such as 10s"
                ),
            );
        }
    }
}

/// RFC 7386 JSON merge patch over YAML trees: maps merge key by key, `null` removes.
/// The pools a scenario defines, for messages about a name that is not one of them.
fn known_pools(names: &[String]) -> String {
    if names.is_empty() {
        "the scenario defines no VirtualMachinePool (or its manifest did not decode)".into()
    } else {
        format!("pools: {}", names.join(", "))
    }
}

pub fn merge_patch(target: &Node, patch: &Node) -> Node {
    match (&target.kind, &patch.kind) {
        (NodeKind::Map(target_entries), NodeKind::Map(patch_entries)) => {
            let mut entries = target_entries.clone();
            for (key, value) in patch_entries {
                let existing = entries
                    .iter()
                    .position(|(k, _)| k.as_scalar() == key.as_scalar());
                if matches!(value.kind, NodeKind::Null) {
                    if let Some(i) = existing {
                        entries.remove(i);
                    }
                    continue;
                }
                match existing {
                    Some(i) => entries[i].1 = merge_patch(&entries[i].1, value),
                    None => entries.push((
                        key.clone(),
                        merge_patch(
                            &Node {
                                pos: value.pos,
                                kind: NodeKind::Null,
                            },
                            value,
                        ),
                    )),
                }
            }
            Node {
                pos: target.pos,
                kind: NodeKind::Map(entries),
            }
        }
        (_, NodeKind::Map(_)) => merge_patch(
            &Node {
                pos: patch.pos,
                kind: NodeKind::Map(Vec::new()),
            },
            patch,
        ),
        _ => patch.clone(),
    }
}

/// Dotted paths of the fields a merge patch sets (maps are descended, lists are leaves).
fn leaf_paths(patch: &Node, prefix: &str) -> Vec<String> {
    match &patch.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .flat_map(|(key, value)| {
                let name = key.as_scalar().unwrap_or_default();
                let path = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}.{name}")
                };
                let nested = leaf_paths(value, &path);
                if nested.is_empty() {
                    vec![path]
                } else {
                    nested
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Overrides from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub seed: Option<u64>,
    pub algorithm: Option<String>,
    pub check_invariants: bool,
}

/// Build the world for a prepared scenario.
pub fn build_world(
    prepared: &Prepared,
    options: &RunOptions,
    algorithm: Box<dyn ReconcileAlgorithm>,
) -> World {
    let scenario = &prepared.scenario;
    let mut settings = prepared.settings.clone();
    settings.check_invariants |= options.check_invariants;
    let from_scenario = scenario.nodes.iter().map(|n| {
        let resources = Resources {
            cpu_milli: n.cpu.milli_value().clamp(0, i64::MAX as i128) as i64,
            memory_bytes: n.memory.value().clamp(0, i64::MAX as i128) as i64,
            pods: i64::from(n.pods),
        };
        node_config(&n.name, &n.labels, resources)
    });
    let exported = prepared
        .import
        .nodes
        .iter()
        .map(|n| node_config(&n.meta.name, &n.meta.labels, n.allocatable));
    let nodes = from_scenario.chain(exported).collect();
    let load = load_curve(scenario);
    let seed = options.seed.unwrap_or(scenario.seed);
    // Random failures are drawn per seed (a sweep prepares once, runs many seeds) and
    // join the explicit events; the sort is stable, so at one instant explicit first.
    let mut actions = prepared.actions.clone();
    actions.extend(crate::scenario::failures::expand_all(
        &scenario.failures,
        &scenario.nodes,
        scenario.duration_ms,
        &crate::engine::RngStreams::new(seed),
    ));
    actions.sort_by_key(|(at, _)| *at);
    let mut world = World::new(WorldConfig {
        scenario_name: scenario.name.clone(),
        namespace: scenario.namespace.clone(),
        nodes,
        settings,
        seed,
        duration: SimTime(scenario.duration_ms),
        sample_interval_ms: scenario.sample_interval_ms,
        objects: prepared.objects.clone(),
        actions,
        algorithm,
        load,
    });
    crate::cluster::warm_start::apply(&mut world, &prepared.import);
    world
}

/// A node as the world builds it: the kubelet's `kubernetes.io/hostname` label and
/// virt-handler's `kubevirt.io/schedulable` one added to its own.
fn node_config(name: &str, labels: &Labels, resources: Resources) -> NodeConfig {
    let mut labels = labels.clone();
    labels
        .entry("kubernetes.io/hostname".into())
        .or_insert_with(|| name.to_string());
    labels.insert(
        crate::controllers::node::SCHEDULABLE_LABEL.into(),
        "true".into(),
    );
    NodeConfig {
        name: name.to_string(),
        cpu_milli: resources.cpu_milli,
        memory_bytes: resources.memory_bytes,
        pods: resources.pods,
        labels,
    }
}
