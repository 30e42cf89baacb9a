//! Issue 13, items 5 and 6d: CDI's clone planner (ported from CDI
//! `pkg/controller/clone/planner_test.go`, "ChooseStrategy tests", PVC source), host
//! clones sharing their source's bandwidth, DataVolume failures and missing claims as
//! the pool's autohealing sees them, and foreground deletion.

use poolsim::api::FOREGROUND_DELETION;
use poolsim::api::*;
use poolsim::check::{run_prepared, RunResult};
use poolsim::cluster::store::Store;
use poolsim::controllers::clone_planner::{
    choose_strategy, profile_clone_strategy, snapshot_class_for_driver, validate_clone_size,
    ClonePlan, CloneStrategy, INCOMPATIBLE_PROVISIONERS, NO_VOLUME_EXPANSION,
    NO_VOLUME_SNAPSHOT_CLASS, SNAPSHOT_CLASS_SELECTED,
};
use poolsim::engine::SimTime;
use poolsim::scenario::load_str;
use poolsim::sim::{prepare_loaded, RunOptions};
use std::path::Path;

const GI: i64 = 1 << 30;

fn class(name: &str, provisioner: &str, strategy: Option<&str>, expansion: bool) -> StorageClass {
    StorageClass {
        meta: ObjectMeta::named("", name),
        provisioner: provisioner.into(),
        volume_binding_mode: VolumeBindingMode::Immediate,
        is_default: false,
        clone_strategy: strategy.map(str::to_string),
        allow_volume_expansion: expansion,
    }
}

fn snapshot_class(name: &str, driver: &str, is_default: bool) -> VolumeSnapshotClass {
    VolumeSnapshotClass {
        meta: ObjectMeta::named("", name),
        driver: driver.into(),
        is_default,
    }
}

/// `createStorageClass` of planner_test.go: provisioner `csi`, expansion allowed.
fn sc() -> StorageClass {
    class("sc", "csi", None, true)
}

fn plan<'a>(
    target: &'a StorageClass,
    source: Option<&'a StorageClass>,
    sizes: (i64, i64),
) -> ClonePlan<'a> {
    ClonePlan {
        target_class: target,
        source_class: source,
        source_bytes: sizes.0,
        target_bytes: sizes.1,
    }
}

const NO_SNAPSHOT_CLASSES: &[VolumeSnapshotClass] = &[];

fn reasons(events: &[poolsim::controllers::clone_planner::PlannerEvent]) -> Vec<&str> {
    events.iter().map(|e| e.reason).collect()
}

#[test]
fn planner_host_assisted_with_no_volumesnapshotclass() {
    // Upstream's test has no StorageProfile, so the strategy starts as snapshot; here
    // the class's clone-strategy annotation says snapshot.
    let target = class("sc", "csi", Some("snapshot"), true);
    let choice = choose_strategy(
        &plan(&target, Some(&target), (10 * GI, 10 * GI)),
        NO_SNAPSHOT_CLASSES,
    );
    assert_eq!(choice.strategy, CloneStrategy::HostAssisted);
    assert_eq!(reasons(&choice.events), [NO_VOLUME_SNAPSHOT_CLASS.0]);
    assert_eq!(choice.events[0].message, NO_VOLUME_SNAPSHOT_CLASS.1);
}

#[test]
fn planner_snapshot_with_volumesnapshotclass() {
    let target = sc();
    let snapshots = [snapshot_class("vsc", "csi", false)];
    let choice = choose_strategy(
        &plan(&target, Some(&target), (10 * GI, 10 * GI)),
        &snapshots,
    );
    assert_eq!(choice.strategy, CloneStrategy::Snapshot);
    assert_eq!(reasons(&choice.events), [SNAPSHOT_CLASS_SELECTED.0]);
    assert_eq!(
        choice.events[0].message,
        "VolumeSnapshotClass selected according to StorageProfile vsc"
    );
}

#[test]
fn planner_snapshot_with_bigger_target() {
    let target = sc();
    let snapshots = [snapshot_class("vsc", "csi", false)];
    let choice = choose_strategy(
        &plan(&target, Some(&target), (10 * GI, 15 * GI)),
        &snapshots,
    );
    assert_eq!(choice.strategy, CloneStrategy::Snapshot);
}

#[test]
fn planner_host_assisted_with_bigger_target_and_no_volume_expansion() {
    let target = class("sc", "csi", None, false);
    let snapshots = [snapshot_class("vsc", "csi", false)];
    let choice = choose_strategy(
        &plan(&target, Some(&target), (10 * GI, 15 * GI)),
        &snapshots,
    );
    assert_eq!(choice.strategy, CloneStrategy::HostAssisted);
    assert_eq!(
        reasons(&choice.events),
        [SNAPSHOT_CLASS_SELECTED.0, NO_VOLUME_EXPANSION.0]
    );
}

#[test]
fn planner_csi_clone_if_storage_profile_is_set() {
    let target = class("sc", "csi", Some("csi-clone"), true);
    let choice = choose_strategy(
        &plan(&target, Some(&target), (10 * GI, 10 * GI)),
        NO_SNAPSHOT_CLASSES,
    );
    assert_eq!(choice.strategy, CloneStrategy::CsiClone);
    assert!(choice.events.is_empty());
}

#[test]
fn planner_host_assisted_if_csi_clone_but_source_is_different_driver() {
    let target = class("sc", "csi", Some("csi-clone"), true);
    let source = class("foo", "baz", None, true);
    let choice = choose_strategy(
        &plan(&target, Some(&source), (10 * GI, 10 * GI)),
        NO_SNAPSHOT_CLASSES,
    );
    assert_eq!(choice.strategy, CloneStrategy::HostAssisted);
    assert_eq!(reasons(&choice.events), [INCOMPATIBLE_PROVISIONERS.0]);
}

#[test]
fn planner_fails_target_smaller() {
    let error = validate_clone_size(10 * GI, 5 * GI).unwrap_err();
    assert!(error.starts_with("target resources requests storage size is smaller than the source"));
    assert!(validate_clone_size(10 * GI, 10 * GI).is_ok());
}

/// The finding of issue 13: a snapshot class of another driver makes no snapshot clone.
#[test]
fn snapshot_class_of_another_driver_means_copy() {
    let target = class("longhorn", "driver.longhorn.io", None, false);
    let snapshots = [snapshot_class("hostpath", "hostpath.csi.kubevirt.io", true)];
    assert_eq!(
        profile_clone_strategy(&target, &snapshots),
        CloneStrategy::HostAssisted
    );
    let choice = choose_strategy(&plan(&target, Some(&target), (6 * GI, 6 * GI)), &snapshots);
    assert_eq!(choice.strategy, CloneStrategy::HostAssisted);
    assert!(choice.events.is_empty(), "{:?}", choice.events);
    // A source claim of another class (and provisioner) cannot be snapshot-cloned even
    // when the target's driver has a snapshot class.
    let snap_target = class("fast", "csi", None, true);
    let source = class("slow", "other", None, true);
    let snapshots = [snapshot_class("vsc", "csi", false)];
    let choice = choose_strategy(&plan(&snap_target, Some(&source), (GI, GI)), &snapshots);
    assert_eq!(choice.strategy, CloneStrategy::HostAssisted);
    assert_eq!(reasons(&choice.events), [NO_VOLUME_SNAPSHOT_CLASS.0]);
}

/// `GetVolumeSnapshotClass`: the default-annotated class of the driver, else the first
/// by name.
#[test]
fn snapshot_class_selection_prefers_the_default_then_the_first_name() {
    let classes = [
        snapshot_class("a", "other", true),
        snapshot_class("b", "csi", false),
        snapshot_class("c", "csi", true),
        snapshot_class("d", "csi", false),
    ];
    assert_eq!(
        snapshot_class_for_driver(&classes, "csi")
            .unwrap()
            .meta
            .name,
        "c"
    );
    assert_eq!(
        snapshot_class_for_driver(&classes[..2], "csi")
            .unwrap()
            .meta
            .name,
        "b"
    );
    assert!(snapshot_class_for_driver(&classes, "none").is_none());
}

fn run_text(text: &str) -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fidelity-cdi-test.yaml");
    let loaded = load_str(text, &path).unwrap_or_else(|d| panic!("{d:?}"));
    let prepared =
        prepare_loaded(loaded.scenario, loaded.warnings).unwrap_or_else(|d| panic!("{d:?}"));
    run_prepared(&prepared, &RunOptions::default()).expect("runs")
}

fn run_file(path: &str) -> RunResult {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("the scenario is shipped");
    run_text(&text)
}

/// Times (s) of the events with this reason on this object kind, in log order.
fn event_times(result: &RunResult, kind: &str, reason: &str) -> Vec<(String, f64)> {
    result
        .world
        .events
        .rows
        .iter()
        .filter(|e| e.kind == kind && e.reason == reason)
        .map(|e| (e.object.clone(), e.time.as_secs_f64()))
        .collect()
}

/// A shipped scenario's text without its `expect` block (the last key of `spec`).
fn shipped_without_expect(path: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("the scenario is shipped");
    text.split("\n  expect:").next().expect("text").to_string() + "\n"
}

/// One VM cloning a 6Gi image, a second one scaled in at 60 s; `settings` go under
/// `spec.settings`.
fn staggered_clones(settings: &str) -> String {
    shipped_without_expect("scenarios/fidelity/cdi-host-clones-share-source-bandwidth.yaml")
        .replace("replicas: 6", "replicas: 1")
        .replace(
            "  duration: 10m\n",
            &format!("  duration: 10m\n  settings: {{{settings}}}\n"),
        )
        + "  events:\n    - {at: 60s, scale: {pool: web, replicas: 2}}\n"
}

/// Host-assisted clones of one source share its bandwidth, and the share is recomputed
/// when one starts and when one finishes: with the source as fast as one clone
/// (45 MB/s), the second clone, started 60 s after the first, slows the first down and
/// finishes exactly the 60 s head start after it (full speed again once alone), where
/// unshared clones would each take the single-clone time.
#[test]
fn host_clones_share_the_source_bandwidth_and_recompute_it() {
    let shared = run_text(&staggered_clones("cloneSourceReadBytesPerSecond: 45000000"));
    let created = event_times(&shared, "VirtualMachine", "SuccessfulDataVolumeCreate");
    let done = event_times(&shared, "DataVolume", "Completed");
    assert_eq!(done.len(), 2, "{done:?}");
    let (d1, d2) = (created[0].1, created[1].1);
    let (t1, t2) = (done[0].1, done[1].1);
    assert_eq!(done[0].0, "web-disk-0");
    // Alone: 10 s of worker pods and 6Gi at 45 MB/s, 143.2 s, after 3 s provisioning.
    let alone = 3.0 + 10.0 + 6.0 * GI as f64 / 45e6;
    assert!(
        t1 - d1 > alone + 30.0,
        "the first clone was slowed: {t1} - {d1}"
    );
    assert!(
        ((t2 - t1) - (d2 - d1)).abs() < 0.5,
        "the second clone finishes its head start after the first: {t1} {t2} {d1} {d2}"
    );

    // The same run with a source fast enough for both: each copies at 45 MB/s.
    let unshared = run_text(&staggered_clones(
        "cloneSourceReadBytesPerSecond: 1000000000",
    ));
    let done = event_times(&unshared, "DataVolume", "Completed");
    let created = event_times(&unshared, "VirtualMachine", "SuccessfulDataVolumeCreate");
    for ((_, t), (_, d)) in done.iter().zip(&created) {
        assert!((t - d - alone).abs() < 1.0, "unshared clone took {}", t - d);
    }
}

/// The planner's choice is visible in a run: the DataVolume's phase and the events on
/// the target claim. A bigger target than its source, with a matching snapshot class
/// but no volume expansion, falls back to host-assisted with `NoVolumeExpansion`.
#[test]
fn run_records_the_planner_fallback_on_the_target_claim() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/fidelity/cdi-snapshot-class-driver-mismatch.yaml"),
    )
    .expect("shipped")
    .replace(
        "driver: hostpath.csi.kubevirt.io",
        "driver: driver.longhorn.io",
    )
    .replace(
        "requests: {storage: 6Gi}}\n                  source",
        "requests: {storage: 8Gi}}\n                  source",
    );
    let result = run_text(&text);
    let fallbacks = event_times(&result, "PersistentVolumeClaim", "NoVolumeExpansion");
    assert_eq!(fallbacks.len(), 3, "{fallbacks:?}");
    let selected = event_times(
        &result,
        "PersistentVolumeClaim",
        "VolumeSnapshotClassSelected",
    );
    assert_eq!(selected.len(), 3);
    // Host-assisted: over two minutes, not the 5-30 s of a snapshot clone.
    for (_, t) in event_times(&result, "DataVolume", "Completed") {
        assert!(t > 120.0, "completed at {t}");
    }

    // With volume expansion allowed the same clones are snapshot clones.
    let expandable = text.replace(
        "provisioner: driver.longhorn.io",
        "provisioner: driver.longhorn.io\n      allowVolumeExpansion: true",
    );
    let result = run_text(&expandable);
    assert!(event_times(&result, "PersistentVolumeClaim", "NoVolumeExpansion").is_empty());
    for (_, t) in event_times(&result, "DataVolume", "Completed") {
        assert!(t < 60.0, "completed at {t}");
    }
}

/// `failDataVolume` with ImagePullFailed: the VM shows DataVolumeError and the pool
/// autoheals it; the replacement's DataVolume imports afresh.
#[test]
fn image_pull_failure_is_a_datavolume_error_the_pool_autoheals() {
    let result = run_file("scenarios/fidelity/datavolume-image-pull-failure-autoheals.yaml");
    let deletes: Vec<_> = result
        .world
        .events
        .rows
        .iter()
        .filter(|e| e.reason == "SuccessfulDelete" && e.kind == "VirtualMachinePool")
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(deletes[0].contains("web-0"), "{deletes:?}");
    let store = result.world.store();
    let dv = store
        .get::<DataVolume>(&ObjectKey::new("lab-user", "web-disk-0"))
        .expect("the replacement's DataVolume");
    assert_eq!(dv.phase, DataVolumePhase::Succeeded);
    assert_eq!(dv.running_error, None);
}

/// The printable status the pool acts on, at the moment of the failure.
#[test]
fn failed_datavolume_makes_the_vm_datavolume_error() {
    for reason in ["Failed", "Error", "ImagePullFailed"] {
        let text = shipped_without_expect(
            "scenarios/fidelity/datavolume-image-pull-failure-autoheals.yaml",
        )
        .replace("  duration: 10m", "  duration: 70s")
        .replace(
            "minFailingToStartDuration: 1m",
            "minFailingToStartDuration: 10m",
        )
        .replace(
            "failDataVolume: {vm: web-0, reason: ImagePullFailed}",
            &format!("failDataVolume: {{dataVolume: web-disk-1, reason: {reason}}}"),
        );
        let result = run_text(&text);
        let store = result.world.store();
        let vm = store
            .get::<VirtualMachine>(&ObjectKey::new("lab-user", "web-1"))
            .expect("web-1");
        assert_eq!(
            vm.status.printable_status,
            PrintableStatus::DataVolumeError,
            "{reason}"
        );
        let other = store
            .get::<VirtualMachine>(&ObjectKey::new("lab-user", "web-0"))
            .expect("web-0");
        assert_eq!(other.status.printable_status, PrintableStatus::Provisioning);
    }
}

/// A claim that does not exist: no launcher pod, `FailedPvcNotFound`, and the VM is
/// `ErrorPvcNotFound` (not `ErrorUnschedulable`).
#[test]
fn missing_claim_is_error_pvc_not_found() {
    let text = shipped_without_expect("scenarios/fidelity/pvc-not-found-autoheals.yaml")
        .replace("  duration: 5m", "  duration: 30s");
    let result = run_text(&text);
    assert!(result.world.store().objects().pods.is_empty());
    assert_eq!(
        event_times(&result, "VirtualMachineInstance", "FailedPvcNotFound").len(),
        2
    );
    for vm in result.world.store().objects().vms.values() {
        assert_eq!(
            vm.status.printable_status,
            PrintableStatus::ErrorPvcNotFound
        );
    }
}

/// The claim appears later: the waiting VMI is retried and starts.
#[test]
fn vmi_waiting_for_a_claim_starts_when_it_appears() {
    let text = shipped_without_expect("scenarios/fidelity/pvc-not-found-autoheals.yaml")
        .replace("minFailingToStartDuration: 1m", "minFailingToStartDuration: 10m")
        .replace("replicas: 2", "replicas: 1")
        + "  events:\n    - {at: 30s, apply: {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: shared-data}, spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}}}\n";
    let result = run_text(&text);
    let vm = result
        .world
        .store()
        .get::<VirtualMachine>(&ObjectKey::new("lab-user", "web-0"))
        .expect("web-0");
    assert_eq!(vm.status.printable_status, PrintableStatus::Running);
}

/// `failDataVolume` input errors: one of dataVolume or vm, a known reason.
#[test]
fn fail_data_volume_input_is_checked() {
    let base =
        shipped_without_expect("scenarios/fidelity/datavolume-image-pull-failure-autoheals.yaml");
    let path = Path::new("scenarios/x.yaml");
    for (event, message) in [
        (
            "{vm: web-0, dataVolume: web-disk-0}",
            "give either dataVolume",
        ),
        (
            "{reason: Failed}",
            "missing dataVolume (a DataVolume name) or vm",
        ),
        (
            "{vm: web-0, reason: Broken}",
            "Failed, Error, ImagePullFailed",
        ),
        ("{vm: web-0, color: red}", "color"),
    ] {
        let text = base.replace("{vm: web-0, reason: ImagePullFailed}", event);
        let errors = load_str(&text, path).expect_err(event);
        let all = format!("{errors:?}");
        assert!(all.contains(message), "{event}: {all}");
    }
    // A VM no pool creates is caught like killGuest's.
    let text = base.replace("{vm: web-0,", "{vm: db-0,");
    let loaded = load_str(&text, path).expect("loads");
    let outcome = prepare_loaded(loaded.scenario, loaded.warnings);
    let all = match outcome {
        Ok(prepared) => format!("{:?}", prepared.warnings),
        Err(errors) => format!("{errors:?}"),
    };
    assert!(
        all.contains("no pool creates a VM named \\\"db-0\\\""),
        "{all}"
    );
}

/// `Store::delete_foreground`: the object stays with a deletionTimestamp and the
/// `foregroundDeletion` finalizer; removing that finalizer removes it.
#[test]
fn foreground_delete_keeps_the_owner_until_released() {
    let mut store = Store::new();
    let key = ObjectKey::new("ns", "dv");
    let dv = DataVolume {
        meta: ObjectMeta::named("ns", "dv"),
        spec: DataVolumeSpec {
            source: DataVolumeSource::Blank,
            storage_bytes: GI,
            access_modes: vec![],
            storage_class: None,
        },
        phase: DataVolumePhase::Succeeded,
        running_error: None,
    };
    store.create(dv, SimTime(0)).expect("created");
    store
        .delete_foreground::<DataVolume>(&key, SimTime(5))
        .expect("deleted");
    let kept = store.get::<DataVolume>(&key).expect("kept");
    assert_eq!(kept.meta.deletion_timestamp, Some(SimTime(5)));
    assert_eq!(kept.meta.finalizers, [FOREGROUND_DELETION]);
    store
        .modify::<DataVolume>(&key, |dv| dv.meta.finalizers.clear())
        .expect("modified");
    assert!(store.get::<DataVolume>(&key).is_none());
}

/// The pool's DataVolume-change delete is in the foreground: the old VM outlives its
/// DataVolumes (background deletion removed them only after the VM).
#[test]
fn datavolume_change_deletes_the_vm_in_the_foreground() {
    let text =
        shipped_without_expect("scenarios/fidelity/foreground-delete-on-datavolume-change.yaml")
            .replace("  duration: 6m", "  duration: 184s");
    let result = run_text(&text);
    let store = result.world.store();
    let objects = store.objects();
    assert_eq!(objects.vms.len(), 3);
    for vm in objects.vms.values() {
        assert!(vm.meta.is_deleting(), "{}", vm.meta.name);
        assert!(vm.meta.finalizers.iter().any(|f| f == FOREGROUND_DELETION));
    }
    assert!(
        objects.data_volumes.is_empty(),
        "{:?}",
        objects.data_volumes.keys()
    );
    assert!(objects.pvcs.is_empty());
    // The VMIs are still shutting down, deleted by the garbage collector or the VM
    // controller; their launcher pods go first.
    assert!(!objects.vmis.is_empty());
}

/// The printable status of `web-0` (its image never pullable) at the end of a run of
/// `duration`, with extra `settings`.
fn image_pull_status(duration: &str, settings: &str) -> PrintableStatus {
    let text =
        shipped_without_expect("scenarios/fidelity/container-disk-image-pull-autoheals.yaml")
            .replace(
                "  duration: 5m\n",
                &format!("  duration: {duration}\n  settings: {{{settings}}}\n"),
            );
    let result = run_text(&text);
    result
        .world
        .store()
        .get::<VirtualMachine>(&ObjectKey::new("default", "web-0"))
        .map(|vm| vm.status.printable_status)
        .expect("web-0")
}

/// A containerDisk image that cannot be pulled: the VM is `ErrImagePull`, then, once
/// the kubelet retries under its back-off (10 s), `ImagePullBackOff`; the two back-off
/// settings move that retry.
#[test]
fn unpullable_container_disk_is_err_image_pull_then_back_off() {
    // The pod fails its first pull at 1.25 s and retries 10 s later.
    assert_eq!(image_pull_status("8s", ""), PrintableStatus::ErrImagePull);
    assert_eq!(
        image_pull_status("20s", ""),
        PrintableStatus::ImagePullBackOff
    );
    assert_eq!(
        image_pull_status("20s", "imagePullBackOffBase: 60s"),
        PrintableStatus::ErrImagePull
    );
    assert_eq!(
        image_pull_status("8s", "imagePullBackOffMax: 5s"),
        PrintableStatus::ImagePullBackOff
    );
}

/// The VMs are replaced by autohealing, their launcher pods never started.
#[test]
fn unpullable_container_disk_is_autohealed() {
    let result = run_file("scenarios/fidelity/container-disk-image-pull-autoheals.yaml");
    let pulls = event_times(&result, "Pod", "Failed");
    assert!(pulls.len() >= 4, "{pulls:?}");
    let autohealed = result
        .world
        .events
        .rows
        .iter()
        .filter(|e| e.reason == "SuccessfulDelete" && e.message.contains("autohealing"))
        .count();
    assert!(autohealed >= 4, "{autohealed}");
}
