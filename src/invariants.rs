//! Invariants of the modelled system, checked after every event in debug builds and
//! tests, and in release with `--check-invariants`. A broken invariant is a bug in
//! poolsim, so it panics with the time and what broke.

use crate::api::*;
use crate::cluster::truth::GuestState;
use crate::cluster::world::World;
use std::collections::BTreeMap;

pub fn check(world: &World) {
    let objects = world.store().objects();
    // At most one live guest per VM: one VMI per VM name, and guests only of VMIs
    // that exist or have just been removed while their node is unreachable.
    let mut guests_per_vm: BTreeMap<&ObjectKey, usize> = BTreeMap::new();
    for guest in world.truth().guests.values() {
        if matches!(
            guest.state,
            GuestState::Running | GuestState::ShuttingDown | GuestState::Booting
        ) {
            *guests_per_vm.entry(&guest.vmi).or_default() += 1;
        }
    }
    for (vmi, count) in guests_per_vm {
        let reachable = world
            .truth()
            .guests
            .values()
            .filter(|g| &g.vmi == vmi)
            .all(|g| world.truth().node_reporting(&g.node));
        assert!(
            count <= 1 || !reachable,
            "invariant broken at {}: {count} guests for VMI {vmi} on reachable nodes",
            world.now()
        );
    }
    // Every owned VM carries exactly one controller reference.
    for vm in objects.vms.values() {
        let controllers = vm
            .meta
            .owner_references
            .iter()
            .filter(|r| r.controller)
            .count();
        assert!(
            controllers <= 1,
            "invariant broken at {}: VM {} has {controllers} controllers",
            world.now(),
            vm.meta.name
        );
    }
    // Guests never outnumber the VMs the pools created.
    let guests = world
        .truth()
        .guests
        .values()
        .filter(|g| g.pool.is_some())
        .count() as u64;
    assert!(
        guests <= world.pool_state.created_total,
        "invariant broken at {}: {guests} pool guests but only {} VMs created",
        world.now(),
        world.pool_state.created_total
    );
}
