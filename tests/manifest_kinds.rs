//! Kinds and apiVersions, the core and storage kinds, and reference warnings.

mod manifest_common;

use manifest_common::{decode, decode_clean, errors, has};
use poolsim::api::{Object, PvcPhase, VolumeBindingMode};
use poolsim::scenario::decode::Report;
use poolsim::scenario::manifest::warn_missing_references;
use std::path::Path;

#[test]
fn unknown_kind_lists_the_supported_ones() {
    let errors = errors("apiVersion: v1\nkind: Deploymnet\nmetadata: {name: x}\n");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("error: s.yaml:2:7: spec.manifests[0].kind: kind \"Deploymnet\" is not supported by poolsim; valid: VirtualMachinePool, HorizontalPodAutoscaler, Service"), "{errors:#?}");
    let near = errors_of("apiVersion: v1\nkind: Servcie\nmetadata: {name: x}\n");
    assert!(has(&near, &["did you mean \"Service\"?"]));
}

fn errors_of(text: &str) -> Vec<String> {
    errors(text)
}

#[test]
fn wrong_api_version_lists_the_served_ones() {
    let errors = errors(
        "apiVersion: kubevirt.io/v1\nkind: VirtualMachinePool\nmetadata: {name: x}\nspec: {}\n",
    );
    assert_eq!(
        errors,
        ["error: s.yaml:1:13: spec.manifests[0].apiVersion: apiVersion \"kubevirt.io/v1\" does not serve kind VirtualMachinePool; valid: pool.kubevirt.io/v1alpha1, pool.kubevirt.io/v1beta1"]
    );
    assert!(has(
        &errors_of(
            "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n"
        ),
        &["valid: autoscaling/v1, autoscaling/v2"]
    ));
}

#[test]
fn secret_and_config_map_keys() {
    let Object::Secret(secret) = decode_clean(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: other}\ntype: Opaque\ndata: {b: eA==}\nstringData: {a: x, b: y}\n",
    ) else {
        panic!()
    };
    assert_eq!(secret.keys, ["a", "b"]);
    assert_eq!(secret.meta.namespace, "other");
    let Object::ConfigMap(config_map) =
        decode_clean("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n")
    else {
        panic!()
    };
    assert_eq!(config_map.keys, ["k"]);
    assert_eq!(config_map.meta.namespace, "lab-user");
}

#[test]
fn service_names_are_dns_1035_labels() {
    let errors = errors(
        "apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {ports: [{port: 80}]}\n",
    );
    assert!(has(
        &errors,
        &["metadata.name: Invalid value: \"1web\": a DNS-1035 label"]
    ));
}

#[test]
fn pvc_in_manifests_is_a_populated_bound_image_unless_marked() {
    let text = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: golden}\nspec:\n  storageClassName: fast\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 20Gi}}\n";
    let Object::Pvc(claim) = decode_clean(text) else {
        panic!()
    };
    assert!(claim.populated);
    assert_eq!(claim.phase, PvcPhase::Bound);
    assert_eq!(claim.storage_bytes, 20 << 30);
    assert_eq!(claim.storage_class.as_deref(), Some("fast"));
    assert!(claim.is_read_write_once());
    let empty = text.replace(
        "name: golden}",
        "name: golden, annotations: {poolsim.io/populated: \"false\"}}",
    );
    let Object::Pvc(claim) = decode_clean(&empty) else {
        panic!()
    };
    assert!(!claim.populated);
    assert_eq!(claim.phase, PvcPhase::Pending);
    let bad_mode = text.replace("ReadWriteOnce", "RWO");
    assert!(has(
        &errors(&bad_mode),
        &["accessModes[0]: unknown value \"RWO\""]
    ));
}

#[test]
fn storage_and_snapshot_classes() {
    let Object::StorageClass(class) = decode_clean(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: longhorn\n  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\n    cdi.kubevirt.io/clone-strategy: csi-clone\nprovisioner: driver.longhorn.io\nvolumeBindingMode: WaitForFirstConsumer\nparameters: {numberOfReplicas: \"3\"}\n",
    ) else {
        panic!()
    };
    assert!(class.is_default);
    assert_eq!(class.meta.namespace, "");
    assert_eq!(class.clone_strategy.as_deref(), Some("csi-clone"));
    assert_eq!(
        class.volume_binding_mode,
        VolumeBindingMode::WaitForFirstConsumer
    );
    let bad = errors("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: x\n  annotations: {cdi.kubevirt.io/clone-strategy: smart}\nprovisioner: p\n");
    assert!(has(
        &bad,
        &["unknown clone strategy \"smart\"; valid: copy, snapshot, csi-clone"]
    ));

    let (object, messages) = decode(
        "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\nmetadata: {name: snap, namespace: x}\ndriver: d\ndeletionPolicy: Delete\n",
    );
    let Some(Object::SnapshotClass(class)) = object else {
        panic!("{messages:#?}")
    };
    assert_eq!(class.driver, "d");
    assert!(has(
        &messages,
        &[
            "warning:",
            "metadata.namespace: this kind is cluster-scoped"
        ]
    ));
}

#[test]
fn references_warn_about_indexed_secrets_missing_pools_and_pod_labels() {
    let pool = "\
apiVersion: pool.kubevirt.io/v1alpha1
kind: VirtualMachinePool
metadata: {name: web}
spec:
  replicas: 3
  nameGeneration: {appendIndexToSecretRefs: true}
  selector: {matchLabels: {app: web}}
  virtualMachineTemplate:
    metadata: {labels: {app: web}}
    spec:
      runStrategy: Always
      template:
        spec:
          domain: {devices: {disks: [{name: ci}]}}
          volumes: [{name: ci, cloudInitNoCloud: {secretRef: {name: seed}}}]
";
    let secret = |name: &str| {
        decode_clean(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\n"
        ))
    };
    let hpa = "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  maxReplicas: 3\n  scaleTargetRef: {apiVersion: pool.kubevirt.io/v1alpha1, kind: VirtualMachinePool, name: webb}\n";
    let objects = vec![
        decode_clean(pool),
        secret("seed-0"),
        secret("seed"),
        decode_clean(hpa),
    ];
    let mut report = Report::new(Path::new("s.yaml"));
    warn_missing_references(&objects, &mut report);
    let messages: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(has(&messages, &[
        "warning: s.yaml: spec.virtualMachineTemplate.spec.template.spec.volumes[0].cloudInitNoCloud.secretRef.name: VirtualMachinePool lab-user/web: the VMs need Secret seed-1, seed-2,"
    ]));
    assert!(has(&messages, &[
        "spec.virtualMachineTemplate.spec.template.metadata.labels: VirtualMachinePool lab-user/web: the selector label app=web is not matched by the VMI template labels"
    ]));
    assert!(has(&messages, &[
        "spec.scaleTargetRef.name: HorizontalPodAutoscaler lab-user/h: targets VirtualMachinePool \"webb\""
    ]));
}
