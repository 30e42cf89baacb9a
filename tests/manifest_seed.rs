//! The lab's manifests (`/work/shared/seeds`, lab 5.2 "Virtual machine pools") decode
//! as written, once the caller has replaced the `lab-<username>` placeholder.

mod manifest_common;

use manifest_common::{decode_clean, has};
use poolsim::api::{
    DataVolumeSource, IntOrPercent, Object, PersistentVolumeClaim, PvcPhase, RunStrategy,
    ScaleInStrategy, Secret, VolumeSource,
};
use poolsim::hpa::spec::{MetricSpec, ResourceName};
use poolsim::scenario::decode::Report;
use poolsim::scenario::manifest::{decode_manifest, warn_missing_references};
use poolsim::scenario::yaml::{parse_single, Limits};
use poolsim::scenario::Manifest;
use std::path::{Path, PathBuf};

const LAB_POOL: &str = "\
apiVersion: pool.kubevirt.io/v1alpha1
kind: VirtualMachinePool
metadata:
  name: lab05-webserver
spec:
  replicas: 2
  selector:
    matchLabels:
      kubevirt.io/vmpool: lab05-webserver
  virtualMachineTemplate:
    metadata:
      labels:
        kubevirt.io/vmpool: lab05-webserver
    spec:
      runStrategy: Always
      template:
        metadata:
          labels:
            kubevirt.io/vmpool: lab05-webserver
        spec:
          domain:
            cpu:
              cores: 1
            devices:
              disks:
                - name: datavolumedisk
                  disk:
                    bus: virtio
                - name: cloudinitdisk
                  disk:
                    bus: virtio
              interfaces:
              - name: default
                masquerade: {}
            resources:
              requests:
                memory: 2Gi
          networks:
          - name: default
            pod: {}
          volumes:
            - name: datavolumedisk
              persistentVolumeClaim:
                claimName: lab05-webserver-disk
            - name: cloudinitdisk
              cloudInitNoCloud:
                secretRef:
                  name: lab05-cloudinit
      dataVolumeTemplates:
      - metadata:
          name: lab05-webserver-disk
        spec:
          pvc:
            accessModes:
            - ReadWriteOnce
            resources:
              requests:
                storage: 6Gi
          source:
            pvc:
              namespace: lab-<username>
              name: fedora-cloud-nginx-base
";

const LAB_SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: lab05-webserver
spec:
  ports:
  - port: 80
    protocol: TCP
    targetPort: 80
  selector:
    kubevirt.io/vmpool: lab05-webserver
  type: ClusterIP
";

const LAB_HPA: &str = "\
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: lab05-webserver
spec:
  maxReplicas: 5
  minReplicas: 2
  scaleTargetRef:
    apiVersion: pool.kubevirt.io/v1alpha1
    kind: VirtualMachinePool
    name: lab05-webserver
  targetCPUUtilizationPercentage: 50
";

fn substituted(text: &str) -> String {
    text.replace("lab-<username>", "lab-user")
}

#[test]
fn lab_pool_decodes_as_written() {
    let Object::Pool(pool) = decode_clean(&substituted(LAB_POOL)) else {
        panic!("not a pool");
    };
    assert_eq!(pool.meta.name, "lab05-webserver");
    assert_eq!(pool.meta.namespace, "lab-user");
    assert_eq!(pool.api_version, "pool.kubevirt.io/v1alpha1");
    let spec = &pool.spec;
    assert_eq!(spec.replicas, 2);
    assert_eq!(
        spec.selector
            .match_labels
            .get("kubevirt.io/vmpool")
            .map(String::as_str),
        Some("lab05-webserver")
    );
    assert_eq!(spec.max_unavailable, IntOrPercent::Percent(100));
    assert_eq!(spec.scale_in, ScaleInStrategy::default());
    assert!(!spec.paused && spec.autohealing.is_none());
    let vm = &spec.template.spec;
    assert_eq!(vm.run_strategy, RunStrategy::Always);
    let vmi = &vm.template.spec;
    assert_eq!(vmi.vcpus, 1);
    assert_eq!(vmi.memory_request_bytes, 2 * 1024 * 1024 * 1024);
    assert_eq!(vmi.cpu_request_milli, None);
    assert_eq!(vmi.termination_grace_period_s, 30);
    assert!(!vmi.has_readiness_probe());
    assert_eq!(vmi.volumes.len(), 2);
    assert_eq!(
        vmi.volumes[0].source,
        VolumeSource::PersistentVolumeClaim {
            claim_name: "lab05-webserver-disk".into()
        }
    );
    assert_eq!(
        vmi.volumes[1].source,
        VolumeSource::CloudInitNoCloud {
            user_data_secret: Some("lab05-cloudinit".into()),
            network_data_secret: None
        }
    );
    let data_volume = &vm.data_volume_templates[0];
    assert_eq!(data_volume.name, "lab05-webserver-disk");
    assert_eq!(data_volume.spec.storage_bytes, 6 * 1024 * 1024 * 1024);
    assert_eq!(data_volume.spec.access_modes, ["ReadWriteOnce"]);
    assert_eq!(data_volume.spec.storage_class, None);
    assert_eq!(
        data_volume.spec.source,
        DataVolumeSource::Pvc {
            namespace: Some("lab-user".into()),
            name: "fedora-cloud-nginx-base".into()
        }
    );
}

#[test]
fn lab_service_decodes_as_written() {
    let Object::Service(service) = decode_clean(LAB_SERVICE) else {
        panic!("not a service");
    };
    assert_eq!(service.meta.namespace, "lab-user");
    assert_eq!(service.ports, [80]);
    assert_eq!(service.service_type, "ClusterIP");
    assert_eq!(
        service
            .selector
            .match_labels
            .get("kubevirt.io/vmpool")
            .map(String::as_str),
        Some("lab05-webserver")
    );
}

#[test]
fn lab_hpa_decodes_as_written() {
    let Object::Hpa(hpa) = decode_clean(LAB_HPA) else {
        panic!("not an HPA");
    };
    assert_eq!(hpa.spec.min_replicas, 2);
    assert_eq!(hpa.spec.max_replicas, 5);
    assert_eq!(hpa.spec.scale_target_ref.name, "lab05-webserver");
    assert!(!hpa.spec.behavior_specified);
    let [MetricSpec::Resource { name, target }] = hpa.spec.metrics.as_slice() else {
        panic!("{:?}", hpa.spec.metrics);
    };
    assert_eq!(*name, ResourceName::Cpu);
    assert_eq!(target.average_utilization_pct, Some(50));
}

fn manifest(text: &str, index: usize) -> Manifest {
    Manifest {
        file: PathBuf::from(format!("manifests/{index}.yaml")),
        field: format!("[{index}]"),
        object: parse_single(text, &Limits::default()).unwrap(),
    }
}

#[test]
fn lab_without_secret_and_source_image_warns_about_both() {
    let mut report = Report::new(Path::new("scenario.yaml"));
    let objects: Vec<Object> = [substituted(LAB_POOL), LAB_SERVICE.into(), LAB_HPA.into()]
        .iter()
        .enumerate()
        .map(|(index, text)| {
            decode_manifest(&manifest(text, index), "lab-user", &mut report).unwrap()
        })
        .collect();
    assert!(report.diagnostics.is_empty(), "{:#?}", report.diagnostics);
    warn_missing_references(&objects, &mut report);
    let messages: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(has(
        &messages,
        &[
            "warning:",
            "volumes[1].cloudInitNoCloud.secretRef.name",
            "Secret lab05-cloudinit",
        ]
    ));
    assert!(has(
        &messages,
        &[
            "dataVolumeTemplates[0].spec.source.pvc",
            "lab-user/fedora-cloud-nginx-base",
        ]
    ));

    // With the Secret and the golden image provided, nothing is left to warn about.
    let mut complete = objects.clone();
    complete.push(Object::Secret(std::sync::Arc::new(Secret {
        meta: poolsim::api::ObjectMeta::named("lab-user", "lab05-cloudinit"),
        keys: vec!["userdata".into()],
    })));
    complete.push(Object::Pvc(std::sync::Arc::new(PersistentVolumeClaim {
        meta: poolsim::api::ObjectMeta::named("lab-user", "fedora-cloud-nginx-base"),
        storage_class: None,
        storage_bytes: 0,
        access_modes: Vec::new(),
        phase: PvcPhase::Bound,
        populated: true,
        selected_node: None,
    })));
    let mut clean = Report::new(Path::new("scenario.yaml"));
    warn_missing_references(&complete, &mut clean);
    assert!(clean.diagnostics.is_empty(), "{:#?}", clean.diagnostics);
}

#[test]
fn diagnostics_of_a_manifest_file_name_that_file() {
    let broken = LAB_SERVICE.replace("port: 80\n", "port: eighty\n");
    let mut report = Report::new(Path::new("scenario.yaml"));
    assert!(decode_manifest(&manifest(&broken, 3), "lab-user", &mut report).is_none());
    let messages: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        ["error: manifests/3.yaml:7:11: [3].spec.ports[0].port: expected a whole number from 1 to 65535, got \"eighty\""]
    );
}
