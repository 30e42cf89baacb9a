//! Core and storage kinds: `v1` Service, Secret, ConfigMap, PersistentVolumeClaim;
//! `storage.k8s.io/v1` StorageClass; `snapshot.storage.k8s.io/v1` VolumeSnapshotClass.
//! Field names from kubernetes/kubernetes `staging/src/k8s.io/api/core/v1/types.go`
//! and `staging/src/k8s.io/api/storage/v1/types.go`, and kubernetes-csi
//! external-snapshotter `client/apis/volumesnapshot/v1/types.go`.

use super::{decode_metadata, quantity_value, NameRule};
use crate::api::{
    ConfigMap, LabelSelector, Object, PersistentVolumeClaim, PvcPhase, Secret, Service,
    StorageClass, VolumeBindingMode, VolumeSnapshotClass,
};
use crate::scenario::decode::{MapReader, Report, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Annotation marking the default StorageClass (`storageclass.kubernetes.io/is-default-class`,
/// kubernetes/kubernetes `pkg/apis/storage/v1/util/helpers.go`, `IsDefaultStorageClassAnnotation`).
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
/// CDI `pkg/controller/common/util.go`, `AnnDefaultSnapshotClass`.
pub const DEFAULT_SNAPSHOT_CLASS_ANNOTATION: &str =
    "snapshot.storage.kubernetes.io/is-default-class";
/// The StorageClass annotation CDI's StorageProfile controller turns into the
/// profile's `cloneStrategy` (`storageprofile-controller.go`, `reconcileCloneStrategy`).
pub const CLONE_STRATEGY_ANNOTATION: &str = "cdi.kubevirt.io/clone-strategy";
/// CDI clone strategies (`CDICloneStrategy`: copy, snapshot, csi-clone).
pub const CLONE_STRATEGIES: &[&str] = &["copy", "snapshot", "csi-clone"];
/// poolsim extension on a PersistentVolumeClaim: `"false"` makes a manifest PVC an
/// empty claim instead of a populated image.
pub const POPULATED_ANNOTATION: &str = "poolsim.io/populated";

/// `PersistentVolumeAccessMode` values.
const ACCESS_MODES: &[&str] = &[
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];

/// `Service`: selector, ports and type. Service names are DNS-1035 labels
/// (`ValidateServiceName`). Per-port fields other than `port` (`name`, `protocol`,
/// `targetPort`, `nodePort`, `appProtocol`) are accepted without a warning: traffic is
/// modelled per Service, not per port.
pub(super) fn decode_service(
    root: &mut MapReader<'_>,
    default_namespace: &str,
    report: &mut Report,
) -> Option<Object> {
    let meta = decode_metadata(
        root,
        true,
        NameRule::Dns1035Label,
        default_namespace,
        report,
    );
    let spec_value = root.required("spec", report);
    let spec = spec_value.and_then(|value| {
        let mut spec = value.map(report)?;
        let selector = spec
            .optional("selector")
            .map_or(Some(BTreeMap::new()), |value| value.label_map(report));
        let ports = spec.optional("ports").map_or(Some(Vec::new()), |value| {
            value.seq_of(report, |item, report| {
                let mut port = item.map(report)?;
                let number = port
                    .required("port", report)
                    .and_then(|value| value.i64_in(report, 1, 65535));
                port.allow(&["name", "protocol", "targetPort", "nodePort", "appProtocol"]);
                port.finish_lenient(report);
                number.map(|number| number as u16)
            })
        });
        // `ServiceType` values; ClusterIP when unset (`SetDefaults_Service`).
        let service_type = spec
            .optional("type")
            .map_or(Some("ClusterIP".to_string()), |value| {
                value.one_of(
                    report,
                    &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
                )
            });
        spec.finish_lenient(report);
        Some((selector?, ports?, service_type?))
    });
    let (selector, ports, service_type) = spec?;
    Some(Object::Service(Arc::new(Service {
        meta: meta?,
        selector: LabelSelector::from_labels(selector),
        ports,
        service_type,
    })))
}

/// The keys of `data` plus those of `stringData` (the API server merges `stringData`
/// into `data`), sorted and without repeats.
fn merged_keys(
    root: &mut MapReader<'_>,
    fields: &[&'static str],
    report: &mut Report,
) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    let mut ok = true;
    for field in fields {
        if let Some(value) = root.optional(field) {
            match value.string_map(report) {
                Some(map) => keys.extend(map.into_keys()),
                None => ok = false,
            }
        }
    }
    keys.sort();
    keys.dedup();
    ok.then_some(keys)
}

/// `Secret`: the keys of `data` and `stringData`; `type` is checked to be a string
/// and `immutable` a boolean, neither is modelled further.
pub(super) fn decode_secret(
    root: &mut MapReader<'_>,
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
    let keys = merged_keys(root, &["data", "stringData"], report);
    let secret_type = root.optional("type").map(|value| value.str(report));
    let immutable = root.optional("immutable").map(|value| value.bool(report));
    if matches!(secret_type, Some(None)) || matches!(immutable, Some(None)) {
        return None;
    }
    Some(Object::Secret(Arc::new(Secret {
        meta: meta?,
        keys: keys?,
    })))
}

/// `ConfigMap`: the keys of `data` and `binaryData`.
pub(super) fn decode_config_map(
    root: &mut MapReader<'_>,
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
    let keys = merged_keys(root, &["data", "binaryData"], report);
    let immutable = root.optional("immutable").map(|value| value.bool(report));
    if matches!(immutable, Some(None)) {
        return None;
    }
    Some(Object::ConfigMap(Arc::new(ConfigMap {
        meta: meta?,
        keys: keys?,
    })))
}

/// The parts of a `PersistentVolumeClaimSpec` (or CDI `StorageSpec`) poolsim reads.
pub(super) struct ClaimSpec {
    pub access_modes: Vec<String>,
    /// `resources.requests.storage` in bytes; 0 when absent (CDI's `storage` API then
    /// sizes the volume from its source).
    pub storage_bytes: i64,
    pub storage_class: Option<String>,
}

/// `accessModes`, `resources.requests.storage`, `storageClassName`. `volumeMode` is
/// accepted without a warning (Filesystem and Block bind and clone alike in the model).
pub(super) fn decode_pvc_spec(value: &Value<'_>, report: &mut Report) -> Option<ClaimSpec> {
    let mut spec = value.map(report)?;
    let access_modes = spec
        .optional("accessModes")
        .map_or(Some(Vec::new()), |value| {
            value.seq_of(report, |item, report| item.one_of(report, ACCESS_MODES))
        });
    let storage_bytes = match spec.optional("resources") {
        None => Some(0),
        Some(value) => value.map(report).and_then(|mut resources| {
            let storage = match resources.optional("requests") {
                None => Some(0),
                Some(value) => value.map(report).and_then(|mut requests| {
                    let storage = requests
                        .optional("storage")
                        .map_or(Some(0), |value| quantity_value(&value, report));
                    requests.finish_lenient(report);
                    storage
                }),
            };
            resources.finish_lenient(report);
            storage
        }),
    };
    let storage_class = spec
        .optional("storageClassName")
        .map(|value| value.non_empty_str(report));
    if let Some(value) = spec.optional("volumeMode") {
        value.one_of(report, &["Filesystem", "Block"])?;
    }
    spec.finish_lenient(report);
    let storage_class = match storage_class {
        None => None,
        Some(class) => Some(class?),
    };
    Some(ClaimSpec {
        access_modes: access_modes?,
        storage_bytes: storage_bytes?,
        storage_class,
    })
}

/// `PersistentVolumeClaim`. A claim given in the manifests stands for a volume that
/// exists before the run, typically a golden image to clone: it is populated and Bound
/// (a volume that holds data has been bound, whatever its class's binding mode). With
/// the annotation `poolsim.io/populated: "false"` it is an empty claim instead, left
/// Pending for the storage model to bind as its StorageClass says.
pub(super) fn decode_pvc(
    root: &mut MapReader<'_>,
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
        .and_then(|value| decode_pvc_spec(&value, report));
    let meta = meta?;
    let populated = match meta
        .annotations
        .get(POPULATED_ANNOTATION)
        .map(String::as_str)
    {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            let value = root.optional("metadata").expect("metadata was read");
            report.error(
                value.pos(),
                &format!("{}.annotations.{POPULATED_ANNOTATION}", value.path),
                format!("expected \"true\" or \"false\", got {other:?}"),
            );
            return None;
        }
    };
    let spec = spec?;
    Some(Object::Pvc(Arc::new(PersistentVolumeClaim {
        meta,
        storage_class: spec.storage_class,
        storage_bytes: spec.storage_bytes,
        access_modes: spec.access_modes,
        phase: if populated {
            PvcPhase::Bound
        } else {
            PvcPhase::Pending
        },
        populated,
        selected_node: None,
    })))
}

/// `StorageClass` (cluster-scoped): `provisioner` (required), `volumeBindingMode`
/// (default Immediate, `SetDefaults_StorageClass`), the default-class annotation, and
/// the clone-strategy annotation. `parameters` are driver-specific and accepted without
/// a warning.
pub(super) fn decode_storage_class(
    root: &mut MapReader<'_>,
    report: &mut Report,
) -> Option<Object> {
    let meta = decode_metadata(root, false, NameRule::Dns1123Subdomain, "", report);
    let provisioner = root
        .required("provisioner", report)
        .and_then(|value| value.non_empty_str(report));
    let binding_mode = match root.optional("volumeBindingMode") {
        None => Some(VolumeBindingMode::Immediate),
        Some(value) => value
            .one_of(report, &["Immediate", "WaitForFirstConsumer"])
            .map(|mode| {
                if mode == "WaitForFirstConsumer" {
                    VolumeBindingMode::WaitForFirstConsumer
                } else {
                    VolumeBindingMode::Immediate
                }
            }),
    };
    // `allowVolumeExpansion` (default false: a nil pointer reads as false in CDI's
    // `validateAdvancedClonePVC`).
    let allow_volume_expansion = match root.optional("allowVolumeExpansion") {
        None => Some(false),
        Some(value) => value.bool(report),
    };
    root.allow(&["parameters"]);
    let meta = meta?;
    let metadata_value = root.optional("metadata").expect("metadata was read");
    let annotations_path = format!("{}.annotations", metadata_value.path);
    let is_default = meta
        .annotations
        .get(DEFAULT_CLASS_ANNOTATION)
        .map(String::as_str)
        == Some("true");
    let clone_strategy = match meta.annotations.get(CLONE_STRATEGY_ANNOTATION) {
        None => None,
        Some(strategy) if CLONE_STRATEGIES.contains(&strategy.as_str()) => Some(strategy.clone()),
        Some(strategy) => {
            report.error(
                metadata_value.pos(),
                &format!("{annotations_path}.{CLONE_STRATEGY_ANNOTATION}"),
                format!(
                    "unknown clone strategy {strategy:?}; valid: {}",
                    CLONE_STRATEGIES.join(", ")
                ),
            );
            return None;
        }
    };
    Some(Object::StorageClass(Arc::new(StorageClass {
        meta,
        provisioner: provisioner?,
        volume_binding_mode: binding_mode?,
        is_default,
        clone_strategy,
        allow_volume_expansion: allow_volume_expansion?,
    })))
}

/// `VolumeSnapshotClass` (cluster-scoped): `driver` and `deletionPolicy` are required
/// (Delete or Retain); `parameters` are accepted without a warning.
pub(super) fn decode_snapshot_class(
    root: &mut MapReader<'_>,
    report: &mut Report,
) -> Option<Object> {
    let meta = decode_metadata(root, false, NameRule::Dns1123Subdomain, "", report);
    let driver = root
        .required("driver", report)
        .and_then(|value| value.non_empty_str(report));
    let deletion_policy = root
        .required("deletionPolicy", report)
        .and_then(|value| value.one_of(report, &["Delete", "Retain"]));
    root.allow(&["parameters"]);
    deletion_policy?;
    let meta = meta?;
    let is_default = meta
        .annotations
        .get(DEFAULT_SNAPSHOT_CLASS_ANNOTATION)
        .map(String::as_str)
        == Some("true");
    Some(Object::SnapshotClass(Arc::new(VolumeSnapshotClass {
        meta,
        driver: driver?,
        is_default,
    })))
}
