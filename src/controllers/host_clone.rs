//! Host-assisted clones (CDI `pkg/controller/clone/host-clone.go`): a source pod reads
//! the source claim and a target pod writes the DataVolume's claim. Clones reading one
//! source at once share its read bandwidth (`cloneSourceReadBytesPerSecond`, an
//! assumption documented in `cluster/settings.rs`): each copies at
//! min(`cloneCopyBytesPerSecond`, bandwidth / clones reading it), and the rates are
//! recomputed whenever a clone starts, finishes, or stops (its DataVolume deleted or
//! failed).

use crate::api::*;
use crate::cluster::world::{Timer, World};
use crate::controllers::cdi;
use std::collections::BTreeMap;

/// The host-assisted clones copying now, by source claim.
#[derive(Debug, Default)]
pub struct HostClones {
    sources: BTreeMap<ObjectKey, SourceReads>,
}

#[derive(Debug, Default)]
struct SourceReads {
    /// Bumped on every change of the set, so an armed `HostCloneDue` for an older set
    /// is ignored.
    epoch: u64,
    /// When `remaining_bytes` were last brought up to date, in ms.
    updated_ms: u64,
    /// DataVolume key → (uid, bytes left to copy).
    clones: BTreeMap<ObjectKey, (String, f64)>,
}

impl HostClones {
    /// How many clones read `source` now.
    pub fn readers(&self, source: &ObjectKey) -> usize {
        self.sources.get(source).map_or(0, |s| s.clones.len())
    }
}

/// Bytes per ms each of `readers` clones of one source copies.
fn rate_per_ms(world: &World, readers: usize) -> f64 {
    let shared = world.settings.clone_source_read_bytes_per_s.max(1) as f64 / readers.max(1) as f64;
    let single = world.settings.clone_copy_bytes_per_s.max(1) as f64;
    shared.min(single) / 1000.0
}

/// Bring the bytes left of every clone of `source` up to now, at the rate they shared
/// since the last change.
fn advance(world: &mut World, source: &ObjectKey) {
    let now_ms = world.now().as_ms();
    let Some(readers) = world
        .host_clones
        .sources
        .get(source)
        .map(|s| s.clones.len())
    else {
        return;
    };
    let rate = rate_per_ms(world, readers);
    let reads = world
        .host_clones
        .sources
        .get_mut(source)
        .expect("found above");
    let elapsed = now_ms.saturating_sub(reads.updated_ms) as f64;
    for (_, remaining) in reads.clones.values_mut() {
        *remaining = (*remaining - elapsed * rate).max(0.0);
    }
    reads.updated_ms = now_ms;
}

/// Arm the timer for the first clone of `source` to finish at the current rate.
fn reschedule(world: &mut World, source: &ObjectKey) {
    let Some(reads) = world.host_clones.sources.get_mut(source) else {
        return;
    };
    reads.epoch += 1;
    if reads.clones.is_empty() {
        world.host_clones.sources.remove(source);
        return;
    }
    let epoch = reads.epoch;
    let least = reads
        .clones
        .values()
        .map(|(_, remaining)| *remaining)
        .fold(f64::INFINITY, f64::min);
    let readers = reads.clones.len();
    // Whole milliseconds: a clone with less than one millisecond of copying left is
    // done (`due`).
    let delay_ms = (least / rate_per_ms(world, readers)).floor() as u64;
    world.schedule_timer(
        delay_ms,
        Timer::HostCloneDue {
            source: source.clone(),
            epoch,
        },
    );
}

/// The clone's worker pods run: it starts reading its source (`Timer::HostCloneStarted`).
pub fn started(world: &mut World, key: &ObjectKey, uid: &str) {
    let Some(dv) = world
        .store
        .get::<DataVolume>(key)
        .filter(|dv| dv.meta.uid == uid && dv.phase == DataVolumePhase::CloneInProgress)
        .filter(|dv| !dv.meta.is_deleting() && !dv.has_error())
        .cloned()
    else {
        return;
    };
    let Some(source) = cdi::clone_source(&dv) else {
        return;
    };
    // The source pod copies the source volume's contents.
    let bytes = world
        .store
        .get::<PersistentVolumeClaim>(&source)
        .map_or(dv.spec.storage_bytes, |s| s.storage_bytes)
        .max(0) as f64;
    advance(world, &source);
    let now_ms = world.now().as_ms();
    let reads = world
        .host_clones
        .sources
        .entry(source.clone())
        .or_insert_with(|| SourceReads {
            updated_ms: now_ms,
            ..SourceReads::default()
        });
    reads.clones.insert(key.clone(), (uid.to_string(), bytes));
    reschedule(world, &source);
}

/// `Timer::HostCloneDue`: the clones of `source` that copied everything finish.
pub fn due(world: &mut World, source: &ObjectKey, epoch: u64) {
    if world
        .host_clones
        .sources
        .get(source)
        .is_none_or(|reads| reads.epoch != epoch)
    {
        return;
    }
    advance(world, source);
    let readers = world.host_clones.readers(source);
    let one_ms = rate_per_ms(world, readers);
    let reads = world.host_clones.sources.get_mut(source).expect("checked");
    let done: Vec<(ObjectKey, String)> = reads
        .clones
        .iter()
        .filter(|(_, (_, remaining))| *remaining < one_ms)
        .map(|(key, (uid, _))| (key.clone(), uid.clone()))
        .collect();
    for (key, _) in &done {
        reads.clones.remove(key);
    }
    reschedule(world, source);
    for (key, uid) in done {
        cdi::clone_finished(world, &key, &uid);
    }
}

/// A DataVolume stopped copying (deleted, deleting or failed): its share goes to the
/// other clones of its source.
pub fn release(world: &mut World, key: &ObjectKey) {
    let source = world
        .host_clones
        .sources
        .iter()
        .find(|(_, reads)| reads.clones.contains_key(key))
        .map(|(source, _)| source.clone());
    let Some(source) = source else {
        return;
    };
    advance(world, &source);
    if let Some(reads) = world.host_clones.sources.get_mut(&source) {
        reads.clones.remove(key);
    }
    reschedule(world, &source);
}
