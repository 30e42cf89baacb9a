//! The kinds a cluster export holds besides what a user writes: `Node`,
//! `VirtualMachine` (kubevirt.io/v1) and `VirtualMachineInstance`.
//!
//! - A `Node` defines a cluster node: `status.allocatable` (what the scheduler fits
//!   pods into: kubernetes/kubernetes `pkg/scheduler/framework/types.go`, `NodeInfo`
//!   takes `node.Status.Allocatable`), or `status.capacity` when no allocatable is
//!   given (the kubelet's allocatable is capacity minus reservations, none here);
//!   `metadata.labels`; `spec.taints` and `spec.unschedulable`. The rest of `status`
//!   (conditions, addresses, nodeInfo, images) is server-set and not read here.
//! - A `VirtualMachine` is decoded as the pool's VM template is (`spec` is a
//!   `VirtualMachineSpec`), with its `ownerReferences`: a controller reference to a
//!   VirtualMachinePool makes it that pool's VM (`sim` and `warm_start` decide what
//!   becomes of it).
//! - A `VirtualMachineInstance` is read for its name and owner only: its spec is its
//!   VM's template as the VM controller copied it (plus webhook defaults), and its
//!   `status.nodeName` matters only to a warm start (docs/IMPORT.md).

use super::pool::decode_vm_spec;
use super::{decode_metadata, quantity_milli, quantity_value, NameRule};
use crate::api::{
    ConditionStatus, Kind, Node, Object, OwnerReference, Resources, Taint, TaintEffect,
    VirtualMachine, VirtualMachineInstance, VmStatus,
};
use crate::engine::SimTime;
use crate::scenario::decode::{child_path, MapReader, Report, Value};
use crate::scenario::DEFAULT_NODE_PODS;
use std::sync::Arc;

/// The owner kinds a VM or VMI reference is resolved against.
const OWNER_KINDS: &[&str] = &["VirtualMachinePool", "VirtualMachine"];

/// `v1 Node`.
pub(super) fn decode_node(root: &mut MapReader<'_>, report: &mut Report) -> Option<Object> {
    let meta = decode_metadata(root, false, NameRule::Dns1123Subdomain, "", report);
    let (taints, unschedulable) = match root.optional("spec") {
        None => Some((Vec::new(), false)),
        Some(value) => decode_node_spec(&value, report),
    }
    .unzip();
    let status_value = root.optional("status");
    let allocatable = decode_node_resources(status_value.as_ref(), root, report);
    let meta = meta?;
    Some(Object::Node(Arc::new(Node {
        meta,
        unschedulable: unschedulable?,
        taints: taints?,
        allocatable: allocatable?,
        // The node starts Ready, whatever the export's conditions say
        // (docs/IMPORT.md): a partition or crash is a scenario event.
        ready: ConditionStatus::True,
        ready_transition: SimTime::ZERO,
    })))
}

fn decode_node_spec(value: &Value<'_>, report: &mut Report) -> Option<(Vec<Taint>, bool)> {
    let mut spec = value.map(report)?;
    let taints = spec
        .optional("taints")
        .map_or(Some(Vec::new()), |value| value.seq_of(report, decode_taint));
    let unschedulable = spec
        .optional("unschedulable")
        .map_or(Some(false), |value| value.bool(report));
    // Set by the node IPAM controller and the cloud provider, not modelled.
    spec.allow(&["podCIDR", "podCIDRs", "providerID", "externalID"]);
    spec.finish_lenient(report);
    Some((taints?, unschedulable?))
}

/// One `spec.taints` entry (`v1.Taint`: key and effect required; `timeAdded` is
/// server-set and read as the start of the run).
fn decode_taint(item: &Value<'_>, report: &mut Report) -> Option<Taint> {
    let mut taint = item.map(report)?;
    let key = taint
        .required("key", report)
        .and_then(|value| value.non_empty_str(report));
    let value = taint
        .optional("value")
        .map_or(Some(String::new()), |value| value.str(report));
    let effect = taint.required("effect", report).and_then(|value| {
        value
            .one_of(report, &["NoSchedule", "PreferNoSchedule", "NoExecute"])
            .map(|effect| match effect.as_str() {
                "NoSchedule" => TaintEffect::NoSchedule,
                "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
                _ => TaintEffect::NoExecute,
            })
    });
    taint.allow(&["timeAdded"]);
    taint.finish_lenient(report);
    Some(Taint {
        key: key?,
        value: value?,
        effect: effect?,
        time_added: SimTime::ZERO,
    })
}

/// `status.allocatable`, else `status.capacity`: `cpu` and `memory` required, `pods`
/// defaulting to the kubelet's 110. Other resources (ephemeral-storage, hugepages,
/// device plugins such as `devices.kubevirt.io/kvm`) are not modelled.
fn decode_node_resources(
    status: Option<&Value<'_>>,
    root: &MapReader<'_>,
    report: &mut Report,
) -> Option<Resources> {
    let missing = |report: &mut Report, pos, field: &str| {
        report.error(
            pos,
            field,
            "a Node needs status.allocatable (or status.capacity) with cpu and memory, as `kubectl get node -o yaml` shows them; valid: for example status: {allocatable: {cpu: \"16\", memory: 64Gi, pods: \"110\"}}",
        );
        None
    };
    let Some(status) = status else {
        return missing(report, root.pos(), &child_path(root.path(), "status"));
    };
    let mut status_map = status.map(report)?;
    // The rest of a Node's status is server-set: read nothing else, warn of nothing.
    let resources = status_map
        .optional("allocatable")
        .or_else(|| status_map.optional("capacity"));
    let Some(resources) = resources else {
        return missing(report, status.pos(), &status.path);
    };
    let mut map = resources.map(report)?;
    let cpu = map.optional("cpu");
    let memory = map.optional("memory");
    let pods = map.optional("pods");
    let (Some(cpu), Some(memory)) = (cpu, memory) else {
        return missing(report, resources.pos(), &resources.path);
    };
    let cpu_milli = quantity_milli(&cpu, report);
    let memory_bytes = quantity_value(&memory, report);
    let pods = pods.map_or(Some(i64::from(DEFAULT_NODE_PODS)), |value| {
        quantity_value(&value, report)
    });
    Some(Resources {
        cpu_milli: cpu_milli?,
        memory_bytes: memory_bytes?,
        pods: pods?,
    })
}

/// `kubevirt.io/v1 VirtualMachine`, with the owner references read beforehand.
pub(super) fn decode_vm(
    root: &mut MapReader<'_>,
    owners: Vec<OwnerReference>,
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
        .and_then(|value| decode_vm_spec(&value, report));
    let mut meta = meta?;
    meta.owner_references = owners;
    Some(Object::Vm(Arc::new(VirtualMachine {
        meta,
        spec: spec?,
        status: VmStatus::default(),
    })))
}

/// `kubevirt.io/v1 VirtualMachineInstance`: name, labels and owner only.
pub(super) fn decode_vmi(
    root: &mut MapReader<'_>,
    owners: Vec<OwnerReference>,
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
    // The VM controller's copy of its VM's template: its VM says what runs.
    root.allow(&["spec"]);
    let mut meta = meta?;
    meta.owner_references = owners;
    Some(Object::Vmi(Arc::new(VirtualMachineInstance {
        meta,
        spec: Default::default(),
        status: Default::default(),
    })))
}

/// `metadata.ownerReferences` of a VM or VMI: kind, name and `controller`; the `uid`
/// is the exporting cluster's and is matched by name here. A reference to a kind
/// poolsim does not model is ignored with a warning.
pub(super) fn decode_owner_references(
    value: &Value<'_>,
    report: &mut Report,
) -> Option<Vec<OwnerReference>> {
    let owners = value.seq_of(report, |item, report| {
        let mut owner = item.map(report)?;
        let kind_value = owner.required("kind", report);
        let kind = kind_value.as_ref().and_then(|v| v.non_empty_str(report));
        let name = owner
            .required("name", report)
            .and_then(|v| v.non_empty_str(report));
        let controller = owner
            .optional("controller")
            .map_or(Some(false), |v| v.bool(report));
        let block = owner
            .optional("blockOwnerDeletion")
            .map_or(Some(false), |v| v.bool(report));
        owner.allow(&["apiVersion", "uid"]);
        owner.finish_lenient(report);
        let (kind, name, controller, block) = (kind?, name?, controller?, block?);
        let modelled = Kind::parse(&kind).filter(|k| OWNER_KINDS.contains(&k.name()));
        let Some(kind) = modelled.filter(|k| k.name() == kind) else {
            let kind_value = kind_value.expect("kind was read");
            report.warning(
                kind_value.pos(),
                &kind_value.path,
                format!(
                    "an owner of kind {kind} is not modelled by poolsim, ignored; owners read: {}",
                    OWNER_KINDS.join(", ")
                ),
            );
            return Some(None);
        };
        Some(Some(OwnerReference {
            kind,
            name,
            uid: String::new(),
            controller,
            block_owner_deletion: block,
        }))
    })?;
    Some(owners.into_iter().flatten().collect())
}
