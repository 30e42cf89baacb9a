//! Invariants of the modelled system, checked after every event in debug builds and
//! tests, and in release with `run --check-invariants` (or the `checkInvariants`
//! setting). A broken invariant is a bug in poolsim, so it panics with the simulated
//! time and what broke.
//!
//! What is checked, and why it must hold:
//! - time never goes back (the event queue pops in `(time, sequence)` order);
//! - at most one live guest per VM on nodes that report: a VMI is named after its VM
//!   (kubevirt/kubevirt `pkg/virt-controller/watch/vm.go`, `setupVMIFromVM` uses the
//!   VM's name), and virt-handler runs one domain per VMI; only a node cut off from the
//!   control plane can keep an old guest running while a replacement starts elsewhere;
//! - guests of pool VMs never outnumber the VMs the pools created.
//!   Both guest checks leave out a guest on a node fenced while still running
//!   (`fenceNode` on a powered node) once the API has forgotten its VMI: the
//!   out-of-service taint is for shut-down nodes (kubernetes.io "Node Shutdowns",
//!   non-graceful node shutdown), and on a running one the VM legitimately starts a
//!   second guest elsewhere until the kubelet kills the first as an orphan;
//! - a VM has at most one controller owner reference (apimachinery
//!   `metav1.GetControllerOf`: "only one controller reference"), and a pool never owns
//!   two VMs with the same index (`pkg/virt-controller/watch/pool/pool.go`,
//!   `calculateNewVMNames` picks free indexes only);
//! - an informer cache that has received every watch event equals the store: the
//!   caches are fed only by watch events, so once caught up they cannot differ;
//! - what the metrics scrape reuses between scrapes (each pod's usage class) is what a
//!   pass over every pod gives, whenever the versions it is keyed on have not moved
//!   (`controllers/metrics.rs`, `ScrapeInputs`); likewise the replica counts the
//!   sampler reuses (`output/record.rs`, `CountInputs`), and the scheduler's assumed
//!   pods and their sums per node, kept one informer event at a time
//!   (`controllers/scheduler.rs`, `AssumedPods`).

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::truth::GuestState;
use crate::cluster::world::World;
use crate::engine::SimTime;
use std::collections::{BTreeMap, BTreeSet};

/// Checks the invariants that need no memory of earlier events.
pub fn check(world: &World) {
    check_guests(world);
    check_ownership(world);
}

/// State kept between checks of one run: what needs memory (time going back) or is
/// expensive enough to do once per change (comparing caches with the store).
#[derive(Debug, Default)]
pub struct Checker {
    last_time: SimTime,
    /// Per informer, the store resource version it was last found equal at.
    compared_at: [Option<u64>; 3],
}

impl Checker {
    /// Checks every invariant after one event.
    pub fn check(&mut self, world: &World) {
        let now = world.now();
        assert!(
            now >= self.last_time,
            "invariant broken at {now}: time went back from {}",
            self.last_time
        );
        self.last_time = now;
        check(world);
        self.check_caches(world);
        let reused = crate::controllers::metrics::check_reused_scrape_state(world)
            .and_then(|()| world.samples.check_reused_counts(world))
            .and_then(|()| {
                let informer = world.informer(InformerId::KubeControllerManager);
                match world.scheduler_assumed.agrees_with(informer) {
                    true => Ok(()),
                    false => Err(
                        "the scheduler's assumed pods differ from what its informer shows unbound"
                            .to_string(),
                    ),
                }
            });
        if let Err(broken) = reused {
            panic!("invariant broken at {now}: {broken}");
        }
    }

    /// An informer that has received every watch event must equal the store. Compared
    /// once per store version, so a quiet stretch of the run costs nothing.
    fn check_caches(&mut self, world: &World) {
        if world.store.has_pending_watch_events() {
            return;
        }
        let store_version = world.store.resource_version();
        for informer in InformerId::ALL {
            let cache = &world.informers[informer.index()];
            if cache.last_resource_version != store_version
                || self.compared_at[informer.index()] == Some(store_version)
            {
                continue;
            }
            self.compared_at[informer.index()] = Some(store_version);
            if cache.objects != *world.store.objects() {
                panic!(
                    "invariant broken at {}: the {informer:?} cache has every watch event up to resource version {store_version} but differs from the store: {}",
                    world.now(),
                    describe_difference(&cache.objects, world.store.objects())
                );
            }
        }
    }
}

/// Names the first kind and key where two object sets differ.
fn describe_difference(
    cache: &crate::cluster::store::ObjectSet,
    store: &crate::cluster::store::ObjectSet,
) -> String {
    fn first<T: PartialEq>(
        kind: &str,
        cache: &BTreeMap<ObjectKey, T>,
        store: &BTreeMap<ObjectKey, T>,
    ) -> Option<String> {
        let keys: BTreeSet<&ObjectKey> = cache.keys().chain(store.keys()).collect();
        keys.into_iter()
            .find_map(|key| match (cache.get(key), store.get(key)) {
                (Some(a), Some(b)) if a == b => None,
                (Some(_), Some(_)) => Some(format!("{kind} {key} differs")),
                (Some(_), None) => Some(format!("{kind} {key} is only in the cache")),
                (None, _) => Some(format!("{kind} {key} is only in the store")),
            })
    }
    first("VirtualMachinePool", &cache.pools, &store.pools)
        .or_else(|| first("VirtualMachine", &cache.vms, &store.vms))
        .or_else(|| first("VirtualMachineInstance", &cache.vmis, &store.vmis))
        .or_else(|| first("Pod", &cache.pods, &store.pods))
        .or_else(|| first("Node", &cache.nodes, &store.nodes))
        .or_else(|| first("DataVolume", &cache.data_volumes, &store.data_volumes))
        .or_else(|| first("PersistentVolumeClaim", &cache.pvcs, &store.pvcs))
        .or_else(|| first("Service", &cache.services, &store.services))
        .or_else(|| first("Secret", &cache.secrets, &store.secrets))
        .or_else(|| first("ConfigMap", &cache.config_maps, &store.config_maps))
        .or_else(|| {
            first(
                "StorageClass",
                &cache.storage_classes,
                &store.storage_classes,
            )
        })
        .or_else(|| {
            first(
                "VolumeSnapshotClass",
                &cache.snapshot_classes,
                &store.snapshot_classes,
            )
        })
        .or_else(|| first("HorizontalPodAutoscaler", &cache.hpas, &store.hpas))
        .unwrap_or_else(|| "no difference found".to_string())
}

fn check_guests(world: &World) {
    let truth = world.truth();
    // Live guests per VM (a VMI is keyed by its VM's name), split by whether their
    // node reports. A guest the API has forgotten after a fence of its running node
    // is a split brain upstream allows (`controllers::scenario::fence_node`): its VM
    // may run a second guest, so it counts towards neither check.
    let mut live_on_reporting_nodes: BTreeMap<&ObjectKey, usize> = BTreeMap::new();
    let mut pool_guests = 0u64;
    for guest in truth.guests().values() {
        if forgotten_after_fence(world, guest) {
            continue;
        }
        let live = matches!(
            guest.state,
            GuestState::Running | GuestState::ShuttingDown | GuestState::Booting
        );
        if live && truth.node_reporting(&guest.node) {
            *live_on_reporting_nodes.entry(&guest.vmi).or_default() += 1;
        }
        pool_guests += u64::from(guest.pool.is_some());
    }
    for (vm, count) in live_on_reporting_nodes {
        assert!(
            count <= 1,
            "invariant broken at {}: {count} live guests for VM {vm} on nodes that report",
            world.now()
        );
    }
    assert!(
        pool_guests <= world.pool_state.created_total,
        "invariant broken at {}: {pool_guests} pool guests but only {} VMs created",
        world.now(),
        world.pool_state.created_total
    );
}

/// A guest left running on a node fenced while powered whose VMI the API no longer
/// has: its pod was force-deleted and its VM may have started it again elsewhere.
/// Only such guests are exempt; one whose VMI still exists is counted as usual.
fn forgotten_after_fence(world: &World, guest: &crate::cluster::truth::Guest) -> bool {
    guest.fenced_while_running
        && world
            .store()
            .get::<VirtualMachineInstance>(&guest.vmi)
            .is_none_or(|vmi| vmi.meta.uid != guest.vmi_uid)
}

fn check_ownership(world: &World) {
    let objects = world.store().objects();
    let mut indexes: BTreeSet<(&str, &str, u64)> = BTreeSet::new();
    for vm in objects.vms.values() {
        let mut controllers = vm.meta.owner_references.iter().filter(|r| r.controller);
        let controller = controllers.next();
        assert!(
            controllers.next().is_none(),
            "invariant broken at {}: VM {} has more than one controller reference",
            world.now(),
            vm.meta.key()
        );
        let Some(owner) = controller.filter(|r| r.kind == Kind::VirtualMachinePool) else {
            continue;
        };
        // Pool VMs are named `<pool>-<index>`; two names with one index (`web-1`,
        // `web-01`) would be one VM counted twice.
        let Some(index) = vm
            .meta
            .name
            .strip_prefix(owner.name.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|index| index.parse::<u64>().ok())
        else {
            continue;
        };
        assert!(
            indexes.insert((&vm.meta.namespace, &owner.uid, index)),
            "invariant broken at {}: pool {} owns two VMs with index {index} (one is {})",
            world.now(),
            owner.name,
            vm.meta.key()
        );
    }
}

/// A scenario shipped in `scenarios/`, run to its end under `algorithm` with every
/// invariant checked after every event (for unit tests of what the checker covers).
#[cfg(test)]
pub(crate) fn run_shipped_scenario(file: &str, algorithm: &str) -> World {
    use crate::sim::{build_world, prepare, RunOptions};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let prepared = prepare(&path).expect("the shipped scenario prepares");
    let algorithm = crate::algorithm::resolve(algorithm).expect("built in");
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let mut world = build_world(&prepared, &options, algorithm);
    world.run();
    assert!(world.fatal.is_none());
    world
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab05 scenario, run to its end with every invariant checked.
    fn finished_world() -> World {
        run_shipped_scenario("lab05-node-partition.yaml", "kubevirt-vmirs")
    }

    #[test]
    fn a_finished_run_keeps_every_invariant() {
        let world = finished_world();
        Checker::default().check(&world);
    }

    #[test]
    #[should_panic(expected = "cache has every watch event")]
    fn a_cache_that_differs_from_the_store_is_caught() {
        let mut world = finished_world();
        let cache = &mut world.informers[InformerId::NodeAgents.index()].objects;
        let key = cache.vms.keys().next().cloned().expect("the pool made VMs");
        cache.vms.remove(&key);
        Checker::default().check(&world);
    }

    #[test]
    #[should_panic(expected = "the sampler would reuse")]
    fn reused_replica_counts_that_differ_from_a_count_are_caught() {
        let mut world = finished_world();
        // The sample's inputs are unchanged, but the counts kept are off by one VM.
        let mut samples = std::mem::take(&mut world.samples);
        samples.record(&world);
        samples.corrupt_reused_counts_for_test();
        world.samples = samples;
        Checker::default().check(&world);
    }

    /// Copies of one pool guest under new VMI uids: guests no VM created. With
    /// `same_vmi`, one copy that names the original's VMI (key and uid) instead.
    fn with_extra_guests(world: &mut World, fenced_while_running: bool, same_vmi: bool) {
        let count = match same_vmi {
            true => 1,
            false => world.pool_state.created_total + 1,
        };
        let guests = world.truth.guests_mut();
        let original = guests
            .values()
            .next()
            .cloned()
            .expect("the pool runs guests");
        for n in 0..count {
            let mut extra = original.clone();
            extra.fenced_while_running = fenced_while_running;
            if !same_vmi {
                extra.vmi_uid = format!("uid-extra-{n}");
                extra.vmi = ObjectKey::new(&original.vmi.namespace, &format!("extra-{n}"));
            }
            guests.insert(format!("uid-extra-{n}"), extra);
        }
    }

    #[test]
    #[should_panic(expected = "pool guests but only")]
    fn pool_guests_no_vm_accounts_for_are_caught() {
        let mut world = finished_world();
        with_extra_guests(&mut world, false, false);
        check(&world);
    }

    #[test]
    #[should_panic(expected = "live guests for VM")]
    fn a_guest_of_a_fenced_node_whose_vmi_still_exists_is_still_counted() {
        // Only a guest the API has forgotten is exempt: this one names the VMI the
        // store still has, so it is a second guest for that VMI.
        let mut world = finished_world();
        with_extra_guests(&mut world, true, true);
        check(&world);
    }

    #[test]
    fn forgotten_guests_of_a_node_fenced_while_running_are_exempt() {
        let mut world = finished_world();
        with_extra_guests(&mut world, true, false);
        check(&world);
    }

    #[test]
    #[should_panic(expected = "time went back")]
    fn time_going_back_is_caught() {
        let world = finished_world();
        let mut checker = Checker {
            last_time: world.now() + 1,
            ..Checker::default()
        };
        checker.check(&world);
    }

    #[test]
    #[should_panic(expected = "more than one controller reference")]
    fn a_vm_with_two_controllers_is_caught() {
        let mut world = finished_world();
        let key = world.store.objects().vms.keys().next().cloned().unwrap();
        world
            .store
            .modify::<VirtualMachine>(&key, |vm| {
                let mut second = vm.meta.owner_references[0].clone();
                second.name = "another".into();
                vm.meta.owner_references.push(second);
            })
            .unwrap();
        check(&world);
    }
}
