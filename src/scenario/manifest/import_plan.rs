//! What becomes of the objects only a cluster export holds (docs/IMPORT.md): `Node`s
//! join the cluster, a pool's VMs and their instances are left to the pool (cold
//! start) or make up the state the run starts from (`spec.initialState:
//! fromManifests`), and a standalone VirtualMachine is applied as any object is.
//!
//! Upstream, for the choices made here:
//! - a VM is its pool's when its controller ownerReference names the pool
//!   (kubevirt `pkg/virt-controller/watch/pool/pool.go`, `resolveControllerRef`); the
//!   pool never adopts an orphan: `execute` calls only
//!   `ReleaseDetachedVirtualMachines` of the ref manager, never `ClaimVirtualMachines`
//!   (`pkg/controller/controller_ref_manager.go`), so a standalone VM stays standalone
//!   even if it matches the pool's selector;
//! - applied to a new cluster, an exported pool's VMs would name an owner uid that no
//!   longer exists, and the garbage collector deletes dependents whose owner is absent
//!   (kubernetes `pkg/controller/garbagecollector/garbagecollector.go`,
//!   `attemptToDeleteItem`); the pool then makes its VMs again. So on a cold start the
//!   pool's VMs are not created: the pool creates them, as it would.

use crate::api::{Kind, Node as ApiNode, Object, ObjectKey, OwnerReference, RunStrategy};
use crate::scenario::decode::{child_path, Report, Value};
use crate::scenario::yaml::Node;
use crate::scenario::{Action, InitialState, Manifest, Scenario, MAX_REPLICAS};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The objects of a cluster export that are not simply applied at 0 s.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    /// Nodes from `Node` objects, in manifest order: they join `spec.cluster`'s.
    pub nodes: Vec<Arc<ApiNode>>,
    /// Standalone VirtualMachines (applied with the other objects), by name: events
    /// may name them.
    pub standalone_vms: Vec<String>,
    /// On a warm start: each pool's VMs as the export shows them.
    pub warm_vms: Vec<WarmVm>,
    /// On a warm start: each HPA's exported replica counts.
    pub warm_hpas: Vec<WarmHpa>,
}

/// A pool VM that exists at 0 s (`spec.initialState: fromManifests`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmVm {
    pub pool: ObjectKey,
    pub name: String,
    pub index: u32,
    /// Its instance's node (VMI `status.nodeName`), if the export names one.
    pub node: Option<String>,
    /// Whether its instance runs: a VMI in phase Running, or a VM whose
    /// `printableStatus` is Running (or unstated) when the export has no VMI for it.
    pub running: bool,
}

/// An HPA's `status.currentReplicas` and `status.desiredReplicas` from the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmHpa {
    pub key: ObjectKey,
    pub current_replicas: i32,
    pub desired_replicas: i32,
}

/// Splits the decoded `objects` (each with the manifest it came from) into those
/// applied at 0 s and the [`ImportPlan`]; reports conflicts and bad references.
pub fn plan_import<'m>(
    scenario: &Scenario,
    objects: Vec<Object>,
    sources: Vec<&'m Manifest>,
    report: &mut Report,
) -> (Vec<Object>, Vec<&'m Manifest>, ImportPlan) {
    let warm = scenario.initial_state == InitialState::FromManifests;
    let pools: BTreeMap<ObjectKey, &Manifest> = objects
        .iter()
        .zip(&sources)
        .filter(|(object, _)| object.kind() == Kind::VirtualMachinePool)
        .map(|(object, source)| (object.meta().key(), *source))
        .collect();
    let mut plan = ImportPlan::default();
    let mut kept = (Vec::new(), Vec::new());
    let mut pool_vms: Vec<(Arc<crate::api::VirtualMachine>, &Manifest)> = Vec::new();
    let mut vmis = Vec::new();
    let mut node_sources = Vec::new();
    for (object, source) in objects.into_iter().zip(sources) {
        match &object {
            Object::Node(node) => {
                plan.nodes.push(Arc::clone(node));
                node_sources.push(source);
            }
            Object::Vmi(_) => vmis.push((object, source)),
            Object::Vm(vm) => match pool_owner(&vm.meta.owner_references) {
                Some(owner) if pools.contains_key(&owner_key(vm, owner)) => {
                    pool_vms.push((Arc::clone(vm), source));
                }
                Some(owner) => {
                    warn_at(source, report, "metadata.ownerReferences", format!(
                        "its owner VirtualMachinePool {:?} is not among the manifests: the garbage collector would delete a VM whose owner is absent, so poolsim leaves it out",
                        owner.name
                    ));
                }
                None => {
                    plan.standalone_vms.push(vm.meta.name.clone());
                    kept.0.push(object);
                    kept.1.push(source);
                }
            },
            Object::Pvc(_) if owned_by_data_volume(source) => {
                warn_at(source, report, "metadata.ownerReferences", format!(
                    "claim {:?} belongs to a DataVolume, which its VirtualMachine's controller makes (with this claim) from its dataVolumeTemplates: left out; a warm start binds the claims of the VMs it starts",
                    object.meta().name
                ));
            }
            _ => {
                kept.0.push(object);
                kept.1.push(source);
            }
        }
    }
    check_nodes(scenario, &plan.nodes, &node_sources, report);
    let vm_names: BTreeSet<ObjectKey> = pool_vms.iter().map(|(vm, _)| vm.meta.key()).collect();
    let instances = read_instances(&vmis, &vm_names, report);
    if warm {
        plan.warm_vms = warm_vms(&pools, &pool_vms, &instances, report);
        check_warm_nodes(scenario, &plan, &instances, report);
        plan.warm_hpas = warm_hpas(&kept.0, &kept.1, report);
    } else if let Some((_, source)) = pool_vms.first() {
        warn_at(source, report, "", format!(
            "{} VirtualMachine{} owned by a pool in the manifests: on a cold start each pool creates its VMs itself (their exported status is ignored); set spec.initialState: fromManifests to start from them (docs/IMPORT.md)",
            pool_vms.len(),
            if pool_vms.len() == 1 { " is" } else { "s are" }
        ));
    }
    (kept.0, kept.1, plan)
}

/// Whether the exported object names a DataVolume among its owners (its
/// `ownerReferences` are dropped before decoding, so the export is read).
fn owned_by_data_volume(source: &Manifest) -> bool {
    let owners = source
        .object
        .get("metadata")
        .and_then(|metadata| metadata.get("ownerReferences"));
    match owners.map(|owners| &owners.kind) {
        Some(crate::scenario::yaml::NodeKind::Seq(items)) => items
            .iter()
            .any(|owner| owner.get("kind").and_then(Node::as_scalar) == Some("DataVolume")),
        _ => false,
    }
}

fn pool_owner(owners: &[OwnerReference]) -> Option<&OwnerReference> {
    owners
        .iter()
        .find(|owner| owner.controller && owner.kind == Kind::VirtualMachinePool)
}

fn owner_key(vm: &crate::api::VirtualMachine, owner: &OwnerReference) -> ObjectKey {
    ObjectKey::new(&vm.meta.namespace, &owner.name)
}

/// A diagnostic about one manifest, in its own file, at `field` (relative to the
/// object) or at the object.
fn warn_at(source: &Manifest, report: &mut Report, field: &str, message: String) {
    diagnose(source, report, field, message, false);
}

fn error_at(source: &Manifest, report: &mut Report, field: &str, message: String) {
    diagnose(source, report, field, message, true);
}

fn diagnose(source: &Manifest, report: &mut Report, field: &str, message: String, error: bool) {
    let node = field
        .split('.')
        .filter(|part| !part.is_empty())
        .try_fold(&source.object, |node, part| node.get(part))
        .unwrap_or(&source.object);
    let path = if field.is_empty() {
        source.field.clone()
    } else {
        child_path(&source.field, field)
    };
    let mut file_report = Report::new(&source.file);
    if error {
        file_report.error(node.pos, &path, message);
    } else {
        file_report.warning(node.pos, &path, message);
    }
    report.diagnostics.append(&mut file_report.diagnostics);
}

/// Node objects must not reuse a name of `spec.cluster`'s nodes, nor each other's.
fn check_nodes(
    scenario: &Scenario,
    nodes: &[Arc<ApiNode>],
    sources: &[&Manifest],
    report: &mut Report,
) {
    let mut seen: BTreeSet<&str> = scenario.nodes.iter().map(|n| n.name.as_str()).collect();
    for (node, source) in nodes.iter().zip(sources) {
        if !seen.insert(node.meta.name.as_str()) {
            error_at(source, report, "metadata.name", format!(
                "node {:?} is defined twice (in spec.cluster or by another Node object); each node has one definition: drop it from spec.cluster.nodes or remove one Node object (docs/IMPORT.md)",
                node.meta.name
            ));
        }
    }
}

/// What the export says of a VM's instance.
#[derive(Debug, Clone)]
struct Instance {
    /// `status.nodeName`, with the manifest it was read from.
    node: Option<String>,
    running: bool,
    source: Manifest,
}

/// Each VMI's node and phase, by its VM's key. A VMI whose controller is not a VM of
/// the manifests is an error: it is read only as a VM's instance.
fn read_instances(
    vmis: &[(Object, &Manifest)],
    vms: &BTreeSet<ObjectKey>,
    report: &mut Report,
) -> BTreeMap<ObjectKey, Instance> {
    let mut instances = BTreeMap::new();
    for (object, source) in vmis {
        let meta = object.meta();
        let owner = meta
            .owner_references
            .iter()
            .find(|owner| owner.controller && owner.kind == Kind::VirtualMachine);
        let Some(owner) = owner else {
            error_at(source, report, "metadata", format!(
                "VirtualMachineInstance {:?} has no controller ownerReference to a VirtualMachine: poolsim reads a VMI only as the instance of a VirtualMachine; valid: export its VM too, or leave the VMI out",
                meta.name
            ));
            continue;
        };
        let vm = ObjectKey::new(&meta.namespace, &owner.name);
        // The instance of a standalone VM: its VM controller starts it again.
        if !vms.contains(&vm) {
            continue;
        }
        let status = source.object.get("status");
        let phase = status
            .and_then(|s| s.get("phase"))
            .and_then(Node::as_scalar);
        let node = status
            .and_then(|s| s.get("nodeName"))
            .and_then(Node::as_scalar)
            .filter(|name| !name.is_empty())
            .map(str::to_string);
        instances.insert(
            vm,
            Instance {
                node,
                running: phase == Some("Running"),
                source: (*source).clone(),
            },
        );
    }
    instances
}

/// The pools' VMs at 0 s: the exported VMs of each pool, or, for a pool the export
/// holds no VM of, `status.replicas` VMs named as the pool names them
/// (`<pool>-0`, `<pool>-1`, ...: `calculateNewVMNames` in `pool.go` on an empty
/// namespace).
fn warm_vms(
    pools: &BTreeMap<ObjectKey, &Manifest>,
    pool_vms: &[(Arc<crate::api::VirtualMachine>, &Manifest)],
    instances: &BTreeMap<ObjectKey, Instance>,
    report: &mut Report,
) -> Vec<WarmVm> {
    let mut warm: BTreeMap<ObjectKey, WarmVm> = BTreeMap::new();
    for (vm, source) in pool_vms {
        let owner = pool_owner(&vm.meta.owner_references).expect("a pool's VM");
        let pool = owner_key(vm, owner);
        let index = vm
            .meta
            .name
            .strip_prefix(&format!("{}-", owner.name))
            .and_then(|index| index.parse::<u32>().ok())
            .filter(|index| i64::from(*index) < MAX_REPLICAS);
        let Some(index) = index else {
            error_at(source, report, "metadata.name", format!(
                "VM {:?} is owned by pool {:?} but is not named as the pool names its VMs, <pool>-<index> (pool.go, calculateNewVMNames); a warm start needs the index",
                vm.meta.name, owner.name
            ));
            continue;
        };
        let instance = instances.get(&vm.meta.key());
        let halted = vm.spec.run_strategy == RunStrategy::Halted;
        let running = match instance {
            Some(instance) => instance.running,
            None => source
                .object
                .get("status")
                .and_then(|s| s.get("printableStatus"))
                .and_then(Node::as_scalar)
                .is_none_or(|status| status == "Running"),
        };
        warm.insert(
            vm.meta.key(),
            WarmVm {
                pool,
                name: vm.meta.name.clone(),
                index,
                node: instance.and_then(|i| i.node.clone()),
                running: running && !halted,
            },
        );
    }
    let with_vms: BTreeSet<&ObjectKey> = warm.values().map(|vm| &vm.pool).collect();
    let mut from_status = Vec::new();
    for (pool, source) in pools.iter().filter(|(pool, _)| !with_vms.contains(pool)) {
        let count = exported_count(source, "status.replicas", report);
        for index in 0..count.unwrap_or(0).max(0) as u32 {
            from_status.push(WarmVm {
                pool: pool.clone(),
                name: format!("{}-{index}", pool.name),
                index,
                node: None,
                running: true,
            });
        }
        if count.is_none() {
            warn_at(source, report, "", format!(
                "pool {:?}: the manifests hold none of its VMs and no status.replicas, so the warm start has no VM of it to start from; it starts empty",
                pool.name
            ));
        }
    }
    warm.into_values().chain(from_status).collect()
}

/// A whole number in the export's `status` (`field` is a dotted path); `None` when
/// absent, an error when it is not a count.
fn exported_count(source: &Manifest, field: &str, report: &mut Report) -> Option<i64> {
    let node = field
        .split('.')
        .try_fold(&source.object, |node, part| node.get(part))?;
    let mut file_report = Report::new(&source.file);
    let value = Value::new(node, child_path(&source.field, field));
    let count = value.i64_in(&mut file_report, 0, MAX_REPLICAS);
    report.diagnostics.append(&mut file_report.diagnostics);
    count
}

/// Every node a warm VM's instance names must be a node of the cluster.
fn check_warm_nodes(
    scenario: &Scenario,
    plan: &ImportPlan,
    instances: &BTreeMap<ObjectKey, Instance>,
    report: &mut Report,
) {
    let nodes: BTreeSet<&str> = scenario
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .chain(plan.nodes.iter().map(|n| n.meta.name.as_str()))
        .collect();
    for instance in instances.values() {
        let Some(node) = &instance.node else {
            continue;
        };
        if !nodes.contains(node.as_str()) {
            let shown: Vec<&str> = nodes.iter().copied().take(10).collect();
            error_at(&instance.source, report, "status.nodeName", format!(
                "node {node:?} is not in the cluster, so the warm start cannot run this instance there; nodes: {}{} (spec.cluster and Node objects; docs/IMPORT.md)",
                shown.join(", "),
                if nodes.len() > shown.len() { ", ..." } else { "" }
            ));
        }
    }
}

/// Each HPA's `status.currentReplicas` and `status.desiredReplicas`, when the export
/// has both.
fn warm_hpas(objects: &[Object], sources: &[&Manifest], report: &mut Report) -> Vec<WarmHpa> {
    objects
        .iter()
        .zip(sources)
        .filter(|(object, _)| object.kind() == Kind::HorizontalPodAutoscaler)
        .filter_map(|(object, source)| {
            let current = exported_count(source, "status.currentReplicas", report);
            let desired = exported_count(source, "status.desiredReplicas", report);
            Some(WarmHpa {
                key: object.meta().key(),
                current_replicas: current? as i32,
                desired_replicas: desired? as i32,
            })
        })
        .collect()
}

/// `apply` events may not bring a Node or a VirtualMachineInstance: nodes are the
/// cluster's from the start, and an instance is its VM's to make.
pub fn check_apply_kinds(scenario: &Scenario, report: &mut Report) {
    for event in &scenario.events {
        let Action::Apply { object } = &event.action else {
            continue;
        };
        let kind = object.get("kind").and_then(Node::as_scalar);
        if let Some(kind @ ("Node" | "VirtualMachineInstance")) = kind {
            report.error(
                event.pos,
                &format!("{}.apply.kind", event.field),
                format!(
                    "a {kind} cannot be applied during a run: nodes are defined at the start (spec.cluster or Node manifests) and a VMI is made by its VirtualMachine; valid: apply a VirtualMachine, or add nodes to the manifests"
                ),
            );
        }
    }
}
