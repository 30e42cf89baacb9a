//! The VirtualMachine controller (`pkg/virt-controller/watch/vm/vm.go`): creates each
//! VM's DataVolumes, starts and stops its VMI by run strategy with the start backoff,
//! and publishes `printableStatus`, `created` and `ready`.
// Match arms follow upstream's case order; folding the inner `if`s into guards would
// hide which case a branch handles.
#![allow(clippy::collapsible_match)]

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::world::{ControllerId, World};
use crate::controllers::controller_ref;
use crate::engine::rng::uniform_ms;
use crate::engine::SimTime;

/// The VM controller's finalizer (`VirtualMachineControllerFinalizer`).
pub const VM_FINALIZER: &str = "kubevirt.io/virtualMachineControllerFinalize";
/// The finalizer VMIs carry until their pod is gone (`VirtualMachineInstanceFinalizer`).
pub const VMI_FINALIZER: &str = "foregroundDeleteVirtualMachine";

pub fn sync(world: &mut World, key: &ObjectKey) {
    let objects = world.informer(InformerId::VirtController);
    let Some(vm) = objects.vms.get(key).cloned() else {
        return;
    };
    let vmi = objects.vmis.get(key).cloned();
    let now = world.now();

    if vm.meta.is_deleting() {
        match &vmi {
            Some(vmi) if !vmi.meta.is_deleting() => delete_vmi(world, &vm, vmi, "Deleted"),
            Some(_) => {}
            None => {
                let _ = world.store.modify::<VirtualMachine>(key, |vm| {
                    vm.meta.finalizers.retain(|f| f != VM_FINALIZER);
                });
            }
        }
        update_status(world, &vm, vmi.as_deref(), false, false);
        return;
    }
    if !vm.meta.finalizers.iter().any(|f| f == VM_FINALIZER) {
        let _ = world.store.modify::<VirtualMachine>(key, |vm| {
            vm.meta.finalizers.push(VM_FINALIZER.to_string());
        });
    }

    let (volumes_ready, volume_error) = sync_data_volumes(world, &vm);

    // Start failures (`vm.go`, `syncStartFailureStatus`): a VMI that failed before it
    // ever ran counts; one that reached Running clears the count.
    let mut start_failure = vm.status.start_failure;
    if let Some(vmi) = &vmi {
        if vmi.status.phase == VmiPhase::Failed && vmi.status.running_since.is_none() {
            let seq = uid_sequence(&vmi.meta.uid);
            if start_failure.is_none_or(|f| f.last_failed_vmi_uid_seq != seq) {
                let count = start_failure.map_or(0, |f| f.consecutive_fail_count) + 1;
                let delay = start_backoff_ms(world, count);
                start_failure = Some(StartFailure {
                    consecutive_fail_count: count,
                    retry_after: now + delay,
                    last_failed_vmi_uid_seq: seq,
                });
            }
        } else if vmi.status.running_since.is_some() {
            start_failure = None;
        }
    }
    if start_failure != vm.status.start_failure {
        let _ = world
            .store
            .modify::<VirtualMachine>(key, |vm| vm.status.start_failure = start_failure);
    }

    // Run strategy (`vm.go`, `syncRunStrategy`).
    let strategy = vm.spec.run_strategy;
    match (&vmi, strategy) {
        (Some(vmi), RunStrategy::Halted) => {
            if !vmi.meta.is_deleting() {
                delete_vmi(world, &vm, vmi, "Stopped");
            }
        }
        (Some(vmi), RunStrategy::Always) if vmi.status.phase.is_final() => {
            if !vmi.meta.is_deleting() {
                delete_vmi(world, &vm, vmi, "Restarting");
            }
        }
        (Some(vmi), RunStrategy::RerunOnFailure) if vmi.status.phase == VmiPhase::Failed => {
            if !vmi.meta.is_deleting() {
                delete_vmi(world, &vm, vmi, "Restarting");
            }
        }
        (None, RunStrategy::Always | RunStrategy::RerunOnFailure) | (None, RunStrategy::Once)
            if strategy != RunStrategy::Once || !vm.status.created_once() =>
        {
            if volumes_ready && !volume_error {
                match start_failure {
                    Some(failure) if failure.retry_after > now => {
                        world.enqueue_after(
                            ControllerId::Vm,
                            key.clone(),
                            failure.retry_after.since(now),
                        );
                    }
                    _ => create_vmi(world, &vm),
                }
            }
        }
        _ => {}
    }
    update_status(world, &vm, vmi.as_deref(), volumes_ready, volume_error);
}

impl VmStatus {
    /// Whether a VMI was ever created for a `Once` VM (poolsim tracks it in `created`
    /// history through the start-failure record and the VMI's existence).
    fn created_once(&self) -> bool {
        self.created || self.start_failure.is_some()
    }
}

fn uid_sequence(uid: &str) -> u64 {
    uid.trim_start_matches("uid-").parse().unwrap_or(0)
}

/// `calculateStartBackoffTime`: `base * n^2` plus a uniform jitter of up to half of
/// it, capped at the maximum.
fn start_backoff_ms(world: &mut World, fail_count: u32) -> u64 {
    let base = world.settings.start_backoff_base_ms;
    let max = world.settings.start_backoff_max_ms;
    let delay = base.saturating_mul(u64::from(fail_count).pow(2)).min(max);
    let jitter = uniform_ms(world.rng("vm-start-backoff"), 0, delay / 2);
    (delay + jitter).min(max)
}

/// Create missing DataVolumes from `dataVolumeTemplates`; report whether all let the
/// VM start and whether any failed.
fn sync_data_volumes(world: &mut World, vm: &VirtualMachine) -> (bool, bool) {
    let mut ready = true;
    let mut error = false;
    for template in &vm.spec.data_volume_templates {
        let key = ObjectKey::new(&vm.meta.namespace, &template.name);
        let existing = world
            .informer(InformerId::VirtController)
            .data_volumes
            .get(&key)
            .cloned();
        match existing {
            Some(dv) => {
                ready &= dv.phase.lets_vm_start();
                error |= dv.has_error();
            }
            None => {
                ready = false;
                let dv = DataVolume {
                    meta: ObjectMeta {
                        owner_references: vec![controller_ref(Kind::VirtualMachine, &vm.meta)],
                        ..ObjectMeta::named(&vm.meta.namespace, &template.name)
                    },
                    spec: template.spec.clone(),
                    phase: DataVolumePhase::Pending,
                    running_error: None,
                };
                let now = world.now();
                if world.store.create(dv, now).is_ok() {
                    world.record(
                        "VirtualMachine",
                        &vm.meta.name,
                        "SuccessfulDataVolumeCreate",
                        format!("Created DataVolume {}", template.name),
                    );
                }
            }
        }
    }
    (ready, error)
}

fn create_vmi(world: &mut World, vm: &VirtualMachine) {
    let template = &vm.spec.template;
    let vmi = VirtualMachineInstance {
        meta: ObjectMeta {
            labels: template.labels.clone(),
            annotations: template.annotations.clone(),
            owner_references: vec![controller_ref(Kind::VirtualMachine, &vm.meta)],
            finalizers: vec![VMI_FINALIZER.to_string()],
            ..ObjectMeta::named(&vm.meta.namespace, &vm.meta.name)
        },
        spec: template.spec.clone(),
        status: VmiStatus::default(),
    };
    let now = world.now();
    match world.store.create(vmi, now) {
        Ok(_) => world.record(
            "VirtualMachine",
            &vm.meta.name,
            "SuccessfulCreate",
            format!(
                "Started the virtual machine by creating the new virtual machine instance {}",
                vm.meta.name
            ),
        ),
        Err(_) => {
            // The old VMI is still being removed: retry when its deletion arrives.
            world.requeue_rate_limited(ControllerId::Vm, vm.meta.key());
        }
    }
}

fn delete_vmi(world: &mut World, vm: &VirtualMachine, vmi: &VirtualMachineInstance, why: &str) {
    let now = world.now();
    if world
        .store
        .delete::<VirtualMachineInstance>(&vmi.meta.key(), None, now)
        .is_ok()
    {
        world.record(
            "VirtualMachine",
            &vm.meta.name,
            "SuccessfulDelete",
            format!(
                "{why}: deleted the virtual machine instance {}",
                vmi.meta.uid
            ),
        );
    }
}

/// Reason of the VM's Ready condition without a VMI (`syncReadyConditionFromVMI`).
pub const REASON_VMI_NOT_EXISTS: &str = "VMINotExists";
/// Reason of the VM's Ready condition while its VMI has none yet (`syncReadyConditionFromVMI`).
pub const REASON_VMI_CONDITION_MISSING: &str = "VMIConditionMissing";

/// `setPrintableStatus` and the Ready condition, in upstream's order of precedence.
fn update_status(
    world: &mut World,
    vm: &VirtualMachine,
    vmi: Option<&VirtualMachineInstance>,
    volumes_ready: bool,
    volume_error: bool,
) {
    let now = world.now();
    let status = printable_status(vm, vmi, volumes_ready, volume_error, now);
    let ready = vmi.is_some_and(|vmi| vmi.status.ready && !vmi.meta.is_deleting());
    let (ready_reason, transition, probe) = vm_ready_condition(vmi, now);
    let created = vmi.is_some();
    let _ = world.store.modify::<VirtualMachine>(&vm.meta.key(), |vm| {
        vm.status.printable_status = status;
        vm.status.created = created;
        // `UpdateCondition` (`pkg/controller/conditions.go`) replaces the condition,
        // times included, only when its status or reason changes: the VM keeps the
        // stamps of the VMI condition it first copied in that status and reason.
        if vm.status.ready != ready || vm.status.ready_reason != ready_reason {
            vm.status.ready = ready;
            vm.status.ready_reason = ready_reason;
            vm.status.ready_transition = transition;
            vm.status.ready_probe = probe;
        }
    });
}

/// `syncReadyConditionFromVMI` (`pkg/virt-controller/watch/vm/vm.go`): the reason,
/// lastTransitionTime and lastProbeTime the VM's Ready condition would be set to.
/// Without a VMI, or with a VMI whose own condition is not written yet, the VM
/// controller stamps `now`; otherwise the VMI's condition is copied with its times.
fn vm_ready_condition(
    vmi: Option<&VirtualMachineInstance>,
    now: SimTime,
) -> (Option<String>, SimTime, SimTime) {
    match vmi {
        None => (Some(REASON_VMI_NOT_EXISTS.to_string()), now, now),
        Some(vmi) if !vmi.status.ready && vmi.status.ready_reason.is_none() => {
            (Some(REASON_VMI_CONDITION_MISSING.to_string()), now, now)
        }
        Some(vmi) => (
            vmi.status.ready_reason.clone(),
            vmi.status.ready_transition,
            vmi.status.ready_probe,
        ),
    }
}

pub fn printable_status(
    vm: &VirtualMachine,
    vmi: Option<&VirtualMachineInstance>,
    volumes_ready: bool,
    volume_error: bool,
    now: SimTime,
) -> PrintableStatus {
    if vm.meta.is_deleting() {
        return PrintableStatus::Terminating;
    }
    if let Some(vmi) = vmi {
        if vmi.meta.is_deleting() {
            return PrintableStatus::Stopping;
        }
        if vmi.status.phase == VmiPhase::Running {
            return PrintableStatus::Running;
        }
    }
    // `isVirtualMachineStatusPvcNotFound` comes before the DataVolume error.
    if vmi.is_some_and(|vmi| vmi.status.pvc_not_found) {
        return PrintableStatus::ErrorPvcNotFound;
    }
    if volume_error {
        return PrintableStatus::DataVolumeError;
    }
    if vmi.is_some_and(|vmi| vmi.status.unschedulable) {
        return PrintableStatus::ErrorUnschedulable;
    }
    if !volumes_ready && !vm.spec.data_volume_templates.is_empty() && vmi.is_none() {
        return PrintableStatus::Provisioning;
    }
    // `isVirtualMachineStatusErrImagePull` / `...ImagePullBackOff`, before Starting.
    match vmi.and_then(|vmi| vmi.status.image_pull_error.as_deref()) {
        Some("ErrImagePull") => return PrintableStatus::ErrImagePull,
        Some("ImagePullBackOff") => return PrintableStatus::ImagePullBackOff,
        _ => {}
    }
    if let Some(vmi) = vmi {
        if !vmi.status.phase.is_final() {
            return PrintableStatus::Starting;
        }
    }
    if vm
        .status
        .start_failure
        .is_some_and(|f| f.retry_after > now && vm.spec.run_strategy != RunStrategy::Halted)
    {
        return PrintableStatus::CrashLoopBackOff;
    }
    PrintableStatus::Stopped
}
