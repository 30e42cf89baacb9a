//! Warnings for scenarios that are valid but will not work as the user may think
//! (DESIGN.md §1.2): objects a manifest refers to that no manifest provides, and pool
//! selectors the virt-launcher pods do not match. A real cluster accepts all of these
//! and then waits (a launcher pod without its Secret never starts, an HPA without pods
//! reports `FailedGetResourceMetric`); poolsim does the same, after warning.

use crate::api::{Object, ObjectKey, VirtualMachinePool, VolumeSource};
use crate::scenario::decode::Report;
use crate::scenario::diag::Diagnostic;
use crate::scenario::yaml::{Node, NodeKind, Pos};
use crate::scenario::Manifest;
use std::collections::BTreeSet;

/// What the manifests provide, by namespace and name.
#[derive(Default)]
struct Provided {
    secrets: BTreeSet<ObjectKey>,
    config_maps: BTreeSet<ObjectKey>,
    claims: BTreeSet<ObjectKey>,
    pools: BTreeSet<ObjectKey>,
}

/// Warns, in `report`, about:
/// - a pool's VM template naming a Secret or ConfigMap that no object provides; with
///   `nameGeneration.appendIndexTo{Secret,ConfigMap}Refs` the pool's VM `i` uses
///   `<name>-<i>` (`pool.go`, `indexVMSpec`), so `<name>-0` .. `<name>-<replicas-1>`
///   are needed;
/// - a persistentVolumeClaim volume that neither a `dataVolumeTemplates` entry nor a
///   PersistentVolumeClaim object provides, and a DataVolume template cloning a PVC
///   that no object provides;
/// - a pool selector that the VMI template's labels do not satisfy: the labels reach
///   the virt-launcher pods only from the VMI template, so an HPA on the pool (which
///   lists pods with the pool's selector) finds no pods and a Service selecting them
///   gets no endpoints;
/// - an HPA whose target pool no object provides.
///
/// The objects carry no positions, so each warning names the object and the field.
pub fn warn_missing_references(objects: &[Object], report: &mut Report) {
    warn_missing_references_located(objects, &[], report);
}

/// [`warn_missing_references`], with each warning placed where its object was
/// written: `sources[i]` is the manifest `objects[i]` was decoded from, and the
/// warning names that file, the line of the field, and the field's full path
/// (`[2].spec.virtualMachineTemplate…` in a manifest file). Objects without a source
/// keep the unplaced form.
pub fn warn_missing_references_located(
    objects: &[Object],
    sources: &[&Manifest],
    report: &mut Report,
) {
    let provided = provided_by(objects);
    for (index, object) in objects.iter().enumerate() {
        let mut found = Report::new(&report.file);
        check_object(object, &provided, &mut found);
        for mut diagnostic in found.diagnostics {
            if let Some(source) = sources.get(index) {
                place(&mut diagnostic, source);
            }
            report.diagnostics.push(diagnostic);
        }
    }
}

/// Places a diagnostic found on a decoded object (its field relative to the object)
/// where the object was written: `source`'s file, the line of the field, and the
/// field's full path.
pub(super) fn place(diagnostic: &mut Diagnostic, source: &Manifest) {
    let pos = locate(&source.object, &diagnostic.field);
    diagnostic.file = source.file.clone();
    diagnostic.line = pos.line;
    diagnostic.col = pos.col;
    diagnostic.field = format!("{}.{}", source.field, diagnostic.field);
}

/// The position of the node at dotted `path` (`spec.volumes[1].name`) under `node`,
/// or of the deepest part of the path that exists.
fn locate(node: &Node, path: &str) -> Pos {
    let mut current = node;
    for segment in path.split('.') {
        let (key, indexes) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            let NodeKind::Map(entries) = &current.kind else {
                break;
            };
            match entries.iter().find(|(k, _)| k.as_scalar() == Some(key)) {
                Some((_, value)) => current = value,
                None => break,
            }
        }
        for index in indexes
            .split(['[', ']'])
            .filter(|part| !part.is_empty())
            .filter_map(|part| part.parse::<usize>().ok())
        {
            match &current.kind {
                NodeKind::Seq(items) if index < items.len() => current = &items[index],
                _ => return current.pos,
            }
        }
    }
    current.pos
}

fn provided_by(objects: &[Object]) -> Provided {
    let mut provided = Provided::default();
    for object in objects {
        let key = object.meta().key();
        match object {
            Object::Secret(_) => provided.secrets.insert(key),
            Object::ConfigMap(_) => provided.config_maps.insert(key),
            Object::Pvc(_) => provided.claims.insert(key),
            Object::Pool(_) => provided.pools.insert(key),
            _ => false,
        };
    }
    provided
}

fn check_object(object: &Object, provided: &Provided, report: &mut Report) {
    match object {
        Object::Pool(pool) => check_pool(pool, provided, report),
        Object::Hpa(hpa) => {
            let target = &hpa.spec.scale_target_ref.name;
            if !provided
                .pools
                .contains(&ObjectKey::new(&hpa.meta.namespace, target))
            {
                warn(
                    report,
                    "HorizontalPodAutoscaler",
                    &hpa.meta.key(),
                    "spec.scaleTargetRef.name",
                    format!(
                        "targets VirtualMachinePool {target:?}, which no manifest provides in namespace {:?}; the HPA will report FailedGetScale until one is applied",
                        hpa.meta.namespace
                    ),
                );
            }
        }
        _ => {}
    }
}

fn warn(report: &mut Report, kind: &str, key: &ObjectKey, field: &str, message: String) {
    report.warning(Pos::default(), field, format!("{kind} {key}: {message}"));
}

/// The names a reference resolves to for each VM of the pool.
fn indexed_names(name: &str, append_index: bool, replicas: i32) -> Vec<String> {
    if append_index {
        (0..replicas.max(0))
            .map(|index| format!("{name}-{index}"))
            .collect()
    } else {
        vec![name.to_string()]
    }
}

fn check_pool(pool: &VirtualMachinePool, provided: &Provided, report: &mut Report) {
    let key = pool.meta.key();
    let namespace = &pool.meta.namespace;
    let spec = &pool.spec;
    let vm_spec = &spec.template.spec;
    let vmi_path = "spec.virtualMachineTemplate.spec.template";
    let missing_in = |set: &BTreeSet<ObjectKey>, names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|name| !set.contains(&ObjectKey::new(namespace, name)))
            .collect()
    };
    let template_claims: BTreeSet<&str> = vm_spec
        .data_volume_templates
        .iter()
        .map(|template| template.name.as_str())
        .collect();

    for (index, volume) in vm_spec.template.spec.volumes.iter().enumerate() {
        let volume_path = format!("{vmi_path}.spec.volumes[{index}]");
        let mut secret_fields: Vec<(&str, String)> = Vec::new();
        match &volume.source {
            VolumeSource::CloudInitNoCloud {
                user_data_secret,
                network_data_secret,
            }
            | VolumeSource::CloudInitConfigDrive {
                user_data_secret,
                network_data_secret,
            } => {
                let source_key = if matches!(volume.source, VolumeSource::CloudInitNoCloud { .. }) {
                    "cloudInitNoCloud"
                } else {
                    "cloudInitConfigDrive"
                };
                if let Some(name) = user_data_secret {
                    secret_fields
                        .push((name, format!("{volume_path}.{source_key}.secretRef.name")));
                }
                if let Some(name) = network_data_secret {
                    secret_fields.push((
                        name,
                        format!("{volume_path}.{source_key}.networkDataSecretRef.name"),
                    ));
                }
            }
            VolumeSource::Secret { secret_name } => {
                secret_fields.push((secret_name, format!("{volume_path}.secret.secretName")));
            }
            VolumeSource::ConfigMap { name } => {
                let missing = missing_in(
                    &provided.config_maps,
                    indexed_names(name, spec.append_index_to_config_map_refs, spec.replicas),
                );
                if !missing.is_empty() {
                    warn(
                        report,
                        "VirtualMachinePool",
                        &key,
                        &format!("{volume_path}.configMap.name"),
                        format!(
                            "the VMs need ConfigMap {}, which no manifest provides; their launcher pods will not start without it",
                            missing.join(", ")
                        ),
                    );
                }
            }
            VolumeSource::PersistentVolumeClaim { claim_name }
                if !template_claims.contains(claim_name.as_str())
                    && !provided
                        .claims
                        .contains(&ObjectKey::new(namespace, claim_name)) =>
            {
                warn(
                    report,
                    "VirtualMachinePool",
                    &key,
                    &format!("{volume_path}.persistentVolumeClaim.claimName"),
                    format!(
                        "PersistentVolumeClaim {claim_name:?} is neither a dataVolumeTemplates entry nor provided by a manifest; the VMs will stay in ErrorPvcNotFound"
                    ),
                );
            }
            _ => {}
        }
        for (name, field) in secret_fields {
            let missing = missing_in(
                &provided.secrets,
                indexed_names(name, spec.append_index_to_secret_refs, spec.replicas),
            );
            if !missing.is_empty() {
                warn(
                    report,
                    "VirtualMachinePool",
                    &key,
                    &field,
                    format!(
                        "the VMs need Secret {}, which no manifest provides; their launcher pods will not start without it",
                        missing.join(", ")
                    ),
                );
            }
        }
    }

    for (index, template) in vm_spec.data_volume_templates.iter().enumerate() {
        if let crate::api::DataVolumeSource::Pvc {
            namespace: source_namespace,
            name,
        } = &template.spec.source
        {
            let source_namespace = source_namespace.as_deref().unwrap_or(namespace);
            if !provided
                .claims
                .contains(&ObjectKey::new(source_namespace, name))
            {
                warn(
                    report,
                    "VirtualMachinePool",
                    &key,
                    &format!("spec.virtualMachineTemplate.spec.dataVolumeTemplates[{index}].spec.source.pvc"),
                    format!(
                        "clones PersistentVolumeClaim {source_namespace}/{name}, which no manifest provides; the DataVolumes will wait for the source"
                    ),
                );
            }
        }
    }

    let vmi_labels = &vm_spec.template.labels;
    if !spec.selector.matches(vmi_labels) {
        let missing: Vec<String> = spec
            .selector
            .match_labels
            .iter()
            .filter(|(label, value)| vmi_labels.get(*label) != Some(*value))
            .map(|(label, value)| format!("{label}={value}"))
            .collect();
        let what = if missing.is_empty() {
            format!("the selector {:?}", spec.selector.to_selector_string())
        } else {
            format!("the selector label {}", missing.join(", "))
        };
        warn(
            report,
            "VirtualMachinePool",
            &key,
            &format!("{vmi_path}.metadata.labels"),
            format!(
                "{what} is not matched by the VMI template labels; the virt-launcher pods carry only these, so an HPA on this pool finds no pods and a Service selecting the pool label gets no endpoints"
            ),
        );
    }
}
