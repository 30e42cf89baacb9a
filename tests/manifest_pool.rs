//! VirtualMachinePool decoding (every field of `pool/v1beta1/types.go`) and the
//! admission checks of `vmpool-admitter.go` and the VM admitter it calls.

mod manifest_common;

use manifest_common::{decode, decode_clean, errors, has};
use poolsim::api::{
    Autohealing, DataVolumeSource, IntOrPercent, Object, RunStrategy, ScaleInStrategy,
    SelectorOperator, SortPolicy, StatePreservation, TaintEffect, UpdateStrategy, VolumeSource,
};

const FULL_POOL: &str = "\
apiVersion: pool.kubevirt.io/v1beta1
kind: VirtualMachinePool
metadata:
  name: web
  namespace: prod
  labels: {team: a}
  annotations: {note: x}
spec:
  replicas: 4
  paused: true
  selector:
    matchLabels: {app: web}
    matchExpressions:
    - {key: tier, operator: In, values: [front, edge]}
  nameGeneration:
    appendIndexToConfigMapRefs: true
    appendIndexToSecretRefs: true
  maxUnavailable: 2
  scaleInStrategy:
    proactive:
      statePreservation: Offline
      selectionPolicy:
        sortPolicy: Newest
        selectors:
          labelSelector:
            matchLabels: {drain: \"yes\"}
          nodeSelectorRequirementMatcher:
          - {key: zone, operator: NotIn, values: [z1]}
  updateStrategy:
    opportunistic: {}
  autohealing:
    startUpFailureThreshold: 5
    minFailingToStartDuration: 90s
  virtualMachineTemplate:
    metadata:
      labels: {app: web, tier: front}
      annotations: {a: b}
    spec:
      running: false
      template:
        metadata:
          labels: {app: web}
        spec:
          terminationGracePeriodSeconds: 120
          nodeSelector: {disk: ssd}
          tolerations:
          - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 60}
          readinessProbe:
            tcpSocket: {port: 22}
          domain:
            cpu: {cores: 2, sockets: 2, threads: 2}
            memory: {guest: 1Gi}
            resources:
              requests: {cpu: 500m}
              limits: {cpu: \"2\", memory: 2Gi}
            devices:
              disks:
              - {name: root, disk: {bus: virtio}}
              - {name: seed}
              - {name: conf}
              - {name: token}
              - {name: boot}
              - {name: data}
              - {name: scratch}
          volumes:
          - {name: root, dataVolume: {name: root-dv}}
          - name: seed
            cloudInitConfigDrive:
              secretRef: {name: user}
              networkDataSecretRef: {name: net}
          - {name: conf, configMap: {name: settings}}
          - {name: token, secret: {secretName: token}}
          - {name: boot, containerDisk: {image: quay.io/x/y:1}}
          - {name: data, persistentVolumeClaim: {claimName: blank-dv}}
          - {name: scratch, emptyDisk: {capacity: 1Gi}}
      dataVolumeTemplates:
      - metadata: {name: root-dv}
        spec:
          storage:
            storageClassName: fast
            accessModes: [ReadWriteMany]
            resources: {requests: {storage: 10Gi}}
          source:
            registry: {url: \"docker://x\"}
      - metadata: {name: blank-dv}
        spec:
          pvc:
            resources: {requests: {storage: 1Gi}}
          source:
            blank: {}
";

#[test]
fn v1beta1_pool_with_every_field_decodes() {
    let Object::Pool(pool) = decode_clean(FULL_POOL) else {
        panic!("not a pool");
    };
    assert_eq!(pool.api_version, "pool.kubevirt.io/v1beta1");
    assert_eq!(pool.meta.namespace, "prod");
    assert_eq!(pool.meta.labels.get("team").map(String::as_str), Some("a"));
    let spec = &pool.spec;
    assert_eq!(spec.replicas, 4);
    assert!(spec.paused);
    assert!(spec.append_index_to_config_map_refs && spec.append_index_to_secret_refs);
    assert_eq!(spec.max_unavailable, IntOrPercent::Int(2));
    assert_eq!(
        spec.selector.match_expressions[0].operator,
        SelectorOperator::In
    );
    let ScaleInStrategy::Proactive {
        selection,
        state_preservation,
    } = &spec.scale_in
    else {
        panic!("{:?}", spec.scale_in);
    };
    assert_eq!(*state_preservation, StatePreservation::Offline);
    assert_eq!(selection.sort_policy, SortPolicy::Newest);
    assert!(selection
        .label_selector
        .as_ref()
        .unwrap()
        .match_labels
        .contains_key("drain"));
    let node_selector = selection.node_selector.as_ref().unwrap();
    assert_eq!(
        node_selector.match_expressions[0].operator,
        SelectorOperator::NotIn
    );
    assert_eq!(spec.update, UpdateStrategy::Opportunistic);
    assert_eq!(
        spec.autohealing,
        Some(Autohealing {
            start_up_failure_threshold: 5,
            min_failing_to_start_duration_ms: 90_000
        })
    );
    assert_eq!(
        spec.template.annotations.get("a").map(String::as_str),
        Some("b")
    );
    let vm = &spec.template.spec;
    assert_eq!(vm.run_strategy, RunStrategy::Halted);
    let vmi = &vm.template.spec;
    assert_eq!(vmi.vcpus, 8);
    assert_eq!(vmi.cpu_request_milli, Some(500));
    assert_eq!(vmi.cpu_limit_milli, Some(2000));
    // No memory request: the guest size counts, before the limit.
    assert_eq!(vmi.memory_request_bytes, 1 << 30);
    assert_eq!(vmi.termination_grace_period_s, 120);
    assert!(vmi.has_readiness_probe());
    assert_eq!(
        vmi.node_selector.get("disk").map(String::as_str),
        Some("ssd")
    );
    let toleration = &vmi.tolerations[0];
    assert!(toleration.exists);
    assert_eq!(toleration.effect, Some(TaintEffect::NoExecute));
    assert_eq!(toleration.toleration_seconds, Some(60));
    let sources: Vec<&VolumeSource> = vmi.volumes.iter().map(|volume| &volume.source).collect();
    assert_eq!(
        sources,
        [
            &VolumeSource::DataVolume {
                name: "root-dv".into()
            },
            &VolumeSource::CloudInitConfigDrive {
                user_data_secret: Some("user".into()),
                network_data_secret: Some("net".into())
            },
            &VolumeSource::ConfigMap {
                name: "settings".into()
            },
            &VolumeSource::Secret {
                secret_name: "token".into()
            },
            &VolumeSource::ContainerDisk {
                image: "quay.io/x/y:1".into()
            },
            &VolumeSource::PersistentVolumeClaim {
                claim_name: "blank-dv".into()
            },
            &VolumeSource::Other {
                kind: "emptyDisk".into()
            },
        ]
    );
    let root = &vm.data_volume_templates[0].spec;
    assert_eq!(
        root.source,
        DataVolumeSource::Import {
            kind: "registry".into()
        }
    );
    assert_eq!(root.storage_class.as_deref(), Some("fast"));
    assert_eq!(root.access_modes, ["ReadWriteMany"]);
    assert_eq!(root.storage_bytes, 10 << 30);
    assert_eq!(
        vm.data_volume_templates[1].spec.source,
        DataVolumeSource::Blank
    );
}

#[test]
fn replicas_default_to_one_and_percent_max_unavailable_is_read() {
    let text = FULL_POOL
        .replace("  replicas: 4\n", "")
        .replace("maxUnavailable: 2", "maxUnavailable: 25%");
    let Object::Pool(pool) = decode_clean(&text) else {
        panic!()
    };
    assert_eq!(pool.spec.replicas, 1);
    assert_eq!(pool.spec.max_unavailable, IntOrPercent::Percent(25));
}

#[test]
fn selector_must_match_template_labels() {
    let errors = errors(&FULL_POOL.replace("matchLabels: {app: web}", "matchLabels: {app: db}"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(has(
        &errors,
        &[
            "s.yaml:12:5: spec.manifests[0].spec.selector: selector does not match labels.",
            "app=db",
        ]
    ));
}

#[test]
fn selector_is_required() {
    let text = FULL_POOL.replace(
        "  selector:\n    matchLabels: {app: web}\n    matchExpressions:\n    - {key: tier, operator: In, values: [front, edge]}\n",
        "",
    );
    assert!(has(
        &errors(&text),
        &["spec.selector: missing required field \"selector\""]
    ));
}

#[test]
fn negative_replicas_are_refused() {
    let errors = errors(&FULL_POOL.replace("replicas: 4", "replicas: -1"));
    assert!(has(&errors, &[
        "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"
    ]));
}

#[test]
fn max_unavailable_is_checked_as_the_admitter_does() {
    for (written, message) in [
        ("0", "maxUnavailable must be greater than 0"),
        ("\"3\"", "maxUnavailable percentage must end with %"),
        ("abc%", "maxUnavailable percentage value \"abc\" is invalid"),
        (
            "0%",
            "maxUnavailable percentage value 0 must be between 1 and 100",
        ),
        (
            "101%",
            "maxUnavailable percentage value 101 must be between 1 and 100",
        ),
    ] {
        let errors =
            errors(&FULL_POOL.replace("maxUnavailable: 2", &format!("maxUnavailable: {written}")));
        assert!(
            has(&errors, &["spec.maxUnavailable: ", message]),
            "{written}: {errors:#?}"
        );
    }
}

#[test]
fn only_one_scale_in_or_update_strategy() {
    let errors = errors(&FULL_POOL.replace(
        "  scaleInStrategy:\n    proactive:",
        "  scaleInStrategy:\n    unmanaged: {}\n    proactive:",
    ));
    assert!(has(&errors, &[
        "spec.scaleInStrategy: only one strategy can be configured at a time: but found unmanaged, proactive strategies"
    ]));
    let errors = super_errors(
        &FULL_POOL.replace("opportunistic: {}", "opportunistic: {}\n    unmanaged: {}"),
    );
    assert!(has(
        &errors,
        &[
            "spec.updateStrategy: only one strategy",
            "unmanaged, opportunistic"
        ]
    ));
}

fn super_errors(text: &str) -> Vec<String> {
    errors(text)
}

#[test]
fn running_and_run_strategy_are_mutually_exclusive_and_one_is_required() {
    let both = FULL_POOL.replace(
        "running: false",
        "running: false\n      runStrategy: Always",
    );
    assert!(has(
        &errors(&both),
        &["virtualMachineTemplate.spec.running: Running and RunStrategy are mutually exclusive"]
    ));
    let neither = FULL_POOL.replace("      running: false\n", "");
    assert!(has(
        &errors(&neither),
        &["virtualMachineTemplate.spec.running: RunStrategy must be specified"]
    ));
    let invalid = FULL_POOL.replace("running: false", "runStrategy: Alwyas");
    assert!(has(
        &errors(&invalid),
        &[
            "spec.runStrategy: Invalid RunStrategy (Alwyas)",
            "did you mean \"Always\"?"
        ]
    ));
}

#[test]
fn names_must_be_dns_1123() {
    assert!(has(&errors(&FULL_POOL.replace("name: web\n", "name: Web_Pool\n")), &[
        "spec.manifests[0].metadata.name: Invalid value: \"Web_Pool\": a lowercase RFC 1123 subdomain"
    ]));
    assert!(has(
        &errors(&FULL_POOL.replace("  name: web\n", "  generateName: web-\n")),
        &["metadata.name: missing required field \"name\""]
    ));
}

#[test]
fn disks_and_volumes_must_pair_up() {
    let errors = errors(&FULL_POOL.replace("- {name: scratch}", "- {name: scrtch}"));
    assert!(has(
        &errors,
        &["domain.devices.disks[6].name: ", "'scrtch' not found."]
    ));
    assert!(has(
        &errors,
        &["spec.volumes[6].name: ", "'scratch' not found."]
    ));
}

#[test]
fn volume_sources_and_names_are_checked() {
    let two_sources = FULL_POOL.replace(
        "{name: boot, containerDisk: {image: quay.io/x/y:1}}",
        "{name: boot, containerDisk: {image: quay.io/x/y:1}, emptyDisk: {}}",
    );
    assert!(has(
        &errors(&two_sources),
        &["volumes[4] must have exactly one source type set"]
    ));
    let duplicate = FULL_POOL.replace("{name: conf, configMap", "{name: seed, configMap");
    assert!(has(
        &errors(&duplicate),
        &["volumes[2] and ", "volumes[1] must not have the same Name."]
    ));
}

#[test]
fn data_volume_templates_are_checked() {
    let unmounted = FULL_POOL.replace("dataVolume: {name: root-dv}", "dataVolume: {name: other}");
    assert!(has(
        &errors(&unmounted),
        &[
            "dataVolumeTemplates[0]: DataVolumeTemplate entry",
            "must be referenced in the VMI template's 'volumes' list"
        ]
    ));
    let both = FULL_POOL.replace(
        "          pvc:\n            resources",
        "          storage: {}\n          pvc:\n            resources",
    );
    assert!(has(&errors(&both), &["Duplicate storage definition"]));
    let no_source = FULL_POOL.replace("          source:\n            blank: {}\n", "");
    assert!(has(
        &errors(&no_source),
        &["Data volume should have either Source, SourceRef"]
    ));
    let two_sources = FULL_POOL.replace("blank: {}", "blank: {}\n            http: {url: x}");
    assert!(has(&errors(&two_sources), &["Multiple dataVolume sources"]));
    let unnamed = FULL_POOL.replace("- metadata: {name: blank-dv}", "- metadata: {}");
    assert!(has(
        &errors(&unnamed),
        &["'name' field must not be empty for DataVolumeTemplate entry"]
    ));
}

#[test]
fn memory_request_may_not_exceed_limit() {
    let text = FULL_POOL.replace(
        "requests: {cpu: 500m}",
        "requests: {cpu: 500m, memory: 4Gi}",
    );
    assert!(has(
        &errors(&text),
        &["resources.requests.memory '4294967296' is greater than"]
    ));
}

#[test]
fn wrong_types_are_errors_and_unknown_fields_warnings() {
    assert!(has(
        &errors(&FULL_POOL.replace("paused: true", "paused: \"yes\"")),
        &["spec.paused: expected true or false"]
    ));
    let text = FULL_POOL
        .replace("  paused: true\n", "  paused: true\n  replicaz: 3\n")
        .replace(
            "          domain:\n",
            "          evictionStrategy: LiveMigrate\n          domain:\n",
        );
    let (object, messages) = decode(&text);
    assert!(object.is_some(), "{messages:#?}");
    assert_eq!(
        messages,
        [
            "warning: s.yaml:51:11: spec.manifests[0].spec.virtualMachineTemplate.spec.template.spec.evictionStrategy: not modelled by poolsim, ignored",
            "warning: s.yaml:11:3: spec.manifests[0].spec.replicaz: not modelled by poolsim, ignored",
        ]
    );
}

#[test]
fn other_strategies_and_autohealing_defaults() {
    let text = FULL_POOL
        .replace(
            "  scaleInStrategy:\n    proactive:\n      statePreservation: Offline\n      selectionPolicy:\n        sortPolicy: Newest\n        selectors:\n          labelSelector:\n            matchLabels: {drain: \"yes\"}\n          nodeSelectorRequirementMatcher:\n          - {key: zone, operator: NotIn, values: [z1]}\n",
            "  scaleInStrategy:\n    opportunistic: {statePreservation: Online}\n",
        )
        .replace("    startUpFailureThreshold: 5\n    minFailingToStartDuration: 90s\n", "    {}\n")
        .replace("opportunistic: {}", "unmanaged: {}");
    let Object::Pool(pool) = decode_clean(&text) else {
        panic!()
    };
    assert_eq!(
        pool.spec.scale_in,
        ScaleInStrategy::Opportunistic {
            state_preservation: StatePreservation::Online
        }
    );
    assert_eq!(pool.spec.update, UpdateStrategy::Unmanaged);
    assert_eq!(
        pool.spec.autohealing,
        Some(Autohealing {
            start_up_failure_threshold: 3,
            min_failing_to_start_duration_ms: 300_000
        })
    );
}
