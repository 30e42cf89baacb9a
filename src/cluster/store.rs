//! The API store: every object with a resource version, and the watch events its
//! writes produce. Controllers never read it directly: they read an informer cache
//! (`informer.rs`) that applies these watch events after a delay.
//!
//! Deletion follows the API server: an object with finalizers, or a pod bound to a
//! node with a grace period, first gets a `deletionTimestamp` and stays until its
//! finalizers are removed (or the kubelet confirms the pod stopped).

pub use crate::api::Object;
use crate::api::*;
use crate::engine::SimTime;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What every stored kind provides.
pub trait ApiObject: Clone + std::fmt::Debug {
    const KIND: Kind;
    fn meta(&self) -> &ObjectMeta;
    fn meta_mut(&mut self) -> &mut ObjectMeta;
    /// The object as an `Object` sharing it.
    fn wrap(shared: Arc<Self>) -> Object;
    fn table(set: &ObjectSet) -> &Table<Self>;
    fn table_mut(set: &mut ObjectSet) -> &mut Table<Self>;
    /// The grace period of a delete request: only pods bound to a node and still
    /// running have one (`pkg/registry/core/pod/strategy.go`, `CheckGracefulDelete`);
    /// every other object goes at once unless it has finalizers.
    fn deletion_grace_s(&self, _requested_s: Option<u64>) -> u64 {
        0
    }
}

macro_rules! api_object {
    ($ty:ty, $kind:expr, $variant:ident, $field:ident) => {
        api_object!($ty, $kind, $variant, $field, {});
    };
    ($ty:ty, $kind:expr, $variant:ident, $field:ident, {$($extra:item)*}) => {
        impl ApiObject for $ty {
            $($extra)*
            const KIND: Kind = $kind;
            fn meta(&self) -> &ObjectMeta {
                &self.meta
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.meta
            }
            fn wrap(shared: Arc<Self>) -> Object {
                Object::$variant(shared)
            }
            fn table(set: &ObjectSet) -> &Table<Self> {
                &set.$field
            }
            fn table_mut(set: &mut ObjectSet) -> &mut Table<Self> {
                &mut set.$field
            }
        }
    };
}

api_object!(VirtualMachinePool, Kind::VirtualMachinePool, Pool, pools);
api_object!(VirtualMachine, Kind::VirtualMachine, Vm, vms);
api_object!(
    VirtualMachineInstance,
    Kind::VirtualMachineInstance,
    Vmi,
    vmis
);
api_object!(Pod, Kind::Pod, Pod, pods, {
    fn deletion_grace_s(&self, requested_s: Option<u64>) -> u64 {
        if self.node_name.is_none() || self.is_terminated() {
            return 0;
        }
        requested_s.unwrap_or(self.termination_grace_period_s)
    }
});
api_object!(Node, Kind::Node, Node, nodes);
api_object!(DataVolume, Kind::DataVolume, DataVolume, data_volumes);
api_object!(
    PersistentVolumeClaim,
    Kind::PersistentVolumeClaim,
    Pvc,
    pvcs
);
api_object!(Service, Kind::Service, Service, services);
api_object!(Secret, Kind::Secret, Secret, secrets);
api_object!(ConfigMap, Kind::ConfigMap, ConfigMap, config_maps);
api_object!(
    StorageClass,
    Kind::StorageClass,
    StorageClass,
    storage_classes
);
api_object!(
    VolumeSnapshotClass,
    Kind::VolumeSnapshotClass,
    SnapshotClass,
    snapshot_classes
);
api_object!(
    HorizontalPodAutoscaler,
    Kind::HorizontalPodAutoscaler,
    Hpa,
    hpas
);

/// One kind's objects by key, each shared with the watch events and the other caches
/// that hold the same version (see [`Object`]).
pub type Table<T> = BTreeMap<ObjectKey, Arc<T>>;

/// All objects of all kinds: the store's contents, and each informer cache's copy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectSet {
    pub pools: Table<VirtualMachinePool>,
    pub vms: Table<VirtualMachine>,
    pub vmis: Table<VirtualMachineInstance>,
    pub pods: Table<Pod>,
    pub nodes: Table<Node>,
    pub data_volumes: Table<DataVolume>,
    pub pvcs: Table<PersistentVolumeClaim>,
    pub services: Table<Service>,
    pub secrets: Table<Secret>,
    pub config_maps: Table<ConfigMap>,
    pub storage_classes: Table<StorageClass>,
    pub snapshot_classes: Table<VolumeSnapshotClass>,
    pub hpas: Table<HorizontalPodAutoscaler>,
}

impl ObjectSet {
    pub fn get<T: ApiObject>(&self, key: &ObjectKey) -> Option<&T> {
        T::table(self).get(key).map(|shared| &**shared)
    }

    /// Objects of kind `T` in `namespace`, in key order.
    pub fn in_namespace<'a, T: ApiObject + 'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a T> + 'a {
        let start = ObjectKey::new(namespace, "");
        T::table(self)
            .range(start..)
            .take_while(move |(key, _)| key.namespace == namespace)
            .map(|(_, object)| &**object)
    }

    /// Apply a watch event, as an informer does.
    pub fn apply(&mut self, event: &WatchEvent) {
        match &event.object {
            // Shares the event's copy.
            Some(object) => self.put(object.clone()),
            None => self.remove(event.kind, &event.key),
        }
    }

    fn put(&mut self, object: Object) {
        macro_rules! put {
            ($field:ident, $o:expr) => {{
                let key = $o.meta.key();
                self.$field.insert(key, $o);
            }};
        }
        match object {
            Object::Pool(o) => put!(pools, o),
            Object::Vm(o) => put!(vms, o),
            Object::Vmi(o) => put!(vmis, o),
            Object::Pod(o) => put!(pods, o),
            Object::Node(o) => put!(nodes, o),
            Object::DataVolume(o) => put!(data_volumes, o),
            Object::Pvc(o) => put!(pvcs, o),
            Object::Service(o) => put!(services, o),
            Object::Secret(o) => put!(secrets, o),
            Object::ConfigMap(o) => put!(config_maps, o),
            Object::StorageClass(o) => put!(storage_classes, o),
            Object::SnapshotClass(o) => put!(snapshot_classes, o),
            Object::Hpa(o) => put!(hpas, o),
        }
    }

    fn remove(&mut self, kind: Kind, key: &ObjectKey) {
        match kind {
            Kind::VirtualMachinePool => drop(self.pools.remove(key)),
            Kind::VirtualMachine => drop(self.vms.remove(key)),
            Kind::VirtualMachineInstance => drop(self.vmis.remove(key)),
            Kind::Pod => drop(self.pods.remove(key)),
            Kind::Node => drop(self.nodes.remove(key)),
            Kind::DataVolume => drop(self.data_volumes.remove(key)),
            Kind::PersistentVolumeClaim => drop(self.pvcs.remove(key)),
            Kind::Service => drop(self.services.remove(key)),
            Kind::Secret => drop(self.secrets.remove(key)),
            Kind::ConfigMap => drop(self.config_maps.remove(key)),
            Kind::StorageClass => drop(self.storage_classes.remove(key)),
            Kind::VolumeSnapshotClass => drop(self.snapshot_classes.remove(key)),
            Kind::HorizontalPodAutoscaler => drop(self.hpas.remove(key)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as a watch delivers it: the object after the change (None once deleted).
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub event_type: WatchEventType,
    pub kind: Kind,
    pub key: ObjectKey,
    pub object: Option<Object>,
    /// The object before the change, for handlers that compare (`updateVMHandler`).
    pub old: Option<Object>,
    pub resource_version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{kind} \"{key}\" already exists")]
    AlreadyExists { kind: &'static str, key: ObjectKey },
    #[error("{kind} \"{key}\" not found")]
    NotFound { kind: &'static str, key: ObjectKey },
}

/// The resource version of the last change to each kind, so a reader that derives
/// something from every object of a kind (the metrics scrape, from every pod) can tell
/// that nothing of that kind changed since it last looked. Kept by the store for its
/// writes and by each informer for the watch events it applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindVersions([u64; Kind::ALL.len()]);

impl KindVersions {
    pub fn get(&self, kind: Kind) -> u64 {
        self.0[kind as usize]
    }

    pub(crate) fn record(&mut self, kind: Kind, resource_version: u64) {
        self.0[kind as usize] = resource_version;
    }
}

/// The API server's storage: objects, resource versions, and the watch events to
/// deliver to informers.
#[derive(Debug, Default)]
pub struct Store {
    objects: ObjectSet,
    resource_version: u64,
    kind_versions: KindVersions,
    next_uid: u64,
    /// Watch events produced since the world last drained them.
    pending: Vec<WatchEvent>,
}

impl Store {
    pub fn new() -> Self {
        Store::default()
    }

    /// The current contents, for ground-truth observers (metrics sampling, invariant
    /// checks, scenario event resolution). Controllers read their caches instead.
    pub fn objects(&self) -> &ObjectSet {
        &self.objects
    }

    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// The resource version of the last write to each kind.
    pub fn kind_versions(&self) -> &KindVersions {
        &self.kind_versions
    }

    pub fn take_watch_events(&mut self) -> Vec<WatchEvent> {
        std::mem::take(&mut self.pending)
    }

    pub fn has_pending_watch_events(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn get<T: ApiObject>(&self, key: &ObjectKey) -> Option<&T> {
        self.objects.get(key)
    }

    fn emit(
        &mut self,
        event_type: WatchEventType,
        kind: Kind,
        key: ObjectKey,
        object: Option<Object>,
        old: Option<Object>,
    ) {
        self.kind_versions.record(kind, self.resource_version);
        self.pending.push(WatchEvent {
            event_type,
            kind,
            key,
            object,
            old,
            resource_version: self.resource_version,
        });
    }

    /// Create an object: assigns uid, resource version and creation time.
    pub fn create<T: ApiObject>(
        &mut self,
        mut object: T,
        now: SimTime,
    ) -> Result<String, ApiError> {
        let key = object.meta().key();
        if T::table(&self.objects).contains_key(&key) {
            return Err(ApiError::AlreadyExists {
                kind: T::KIND.name(),
                key,
            });
        }
        self.resource_version += 1;
        self.next_uid += 1;
        let uid = format!("uid-{:06}", self.next_uid);
        {
            let meta = object.meta_mut();
            meta.uid = uid.clone();
            meta.resource_version = self.resource_version;
            meta.creation_timestamp = now;
            if meta.generation == 0 {
                meta.generation = 1;
            }
        }
        let shared = Arc::new(object);
        T::table_mut(&mut self.objects).insert(key.clone(), shared.clone());
        self.emit(
            WatchEventType::Added,
            T::KIND,
            key,
            Some(T::wrap(shared)),
            None,
        );
        Ok(uid)
    }

    /// Read-modify-write of the current object (a patch). Returns whether anything
    /// changed; an unchanged object produces no watch event, as the API server skips
    /// no-op updates. If the change removes the last finalizer of an object being
    /// deleted, the object is removed.
    pub fn modify<T: ApiObject + PartialEq>(
        &mut self,
        key: &ObjectKey,
        change: impl FnOnce(&mut T),
    ) -> Result<bool, ApiError> {
        let Some(current) = T::table(&self.objects).get(key) else {
            return Err(ApiError::NotFound {
                kind: T::KIND.name(),
                key: key.clone(),
            });
        };
        let mut updated = T::clone(current);
        change(&mut updated);
        if updated == **current {
            return Ok(false);
        }
        self.resource_version += 1;
        updated.meta_mut().resource_version = self.resource_version;
        let meta = updated.meta();
        let table = T::table_mut(&mut self.objects);
        if meta.deletion_timestamp.is_some()
            && meta.finalizers.is_empty()
            && !Self::awaits_kubelet(&updated)
        {
            let old = table.remove(key).expect("found above");
            self.emit(
                WatchEventType::Deleted,
                T::KIND,
                key.clone(),
                None,
                Some(T::wrap(old)),
            );
            return Ok(true);
        }
        // The new version is shared by the store, the watch event and (once
        // delivered) the caches; the old one moves into the event.
        let shared = Arc::new(updated);
        let slot = table.get_mut(key).expect("found above");
        let old = std::mem::replace(slot, shared.clone());
        self.emit(
            WatchEventType::Modified,
            T::KIND,
            key.clone(),
            Some(T::wrap(shared)),
            Some(T::wrap(old)),
        );
        Ok(true)
    }

    /// A pod bound to a node, deleted with a grace period, stays until the kubelet
    /// reports its containers stopped (`pkg/registry/core/pod/strategy.go`,
    /// `CheckGracefulDelete`: unscheduled or terminated pods are deleted at once).
    fn awaits_kubelet<T: ApiObject>(object: &T) -> bool {
        T::KIND == Kind::Pod
            && object
                .meta()
                .deletion_grace_period_seconds
                .is_some_and(|g| g > 0)
    }

    /// Delete with the API server's semantics. `grace_period_s` applies to pods
    /// (`None`: the pod's own default); `Some(0)` is a force delete.
    pub fn delete<T: ApiObject + PartialEq>(
        &mut self,
        key: &ObjectKey,
        grace_period_s: Option<u64>,
        now: SimTime,
    ) -> Result<(), ApiError> {
        let Some(current) = T::table(&self.objects).get(key) else {
            return Err(ApiError::NotFound {
                kind: T::KIND.name(),
                key: key.clone(),
            });
        };
        let grace_s = current.deletion_grace_s(grace_period_s);
        let graceful_pod = grace_s > 0;
        let has_finalizers = !current.meta().finalizers.is_empty();
        if !graceful_pod && !has_finalizers {
            self.resource_version += 1;
            let old = T::table_mut(&mut self.objects)
                .remove(key)
                .expect("found above");
            self.emit(
                WatchEventType::Deleted,
                T::KIND,
                key.clone(),
                None,
                Some(T::wrap(old)),
            );
            return Ok(());
        }
        self.modify::<T>(key, |object| {
            let meta = object.meta_mut();
            if meta.deletion_timestamp.is_none() {
                meta.deletion_timestamp = Some(now);
            }
            if graceful_pod {
                // A shorter grace period replaces a longer one, never the reverse.
                let current = meta.deletion_grace_period_seconds.unwrap_or(u64::MAX);
                meta.deletion_grace_period_seconds = Some(grace_s.min(current));
            }
        })?;
        Ok(())
    }

    /// Delete with `propagationPolicy: Foreground`: the object stays, with a
    /// deletionTimestamp and the `foregroundDeletion` finalizer, until the garbage
    /// collector has deleted the dependents that block it (kubernetes
    /// `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`,
    /// `deletionFinalizersForGarbageCollection`; `controllers::gc`). For owners only:
    /// a pod's grace period is not applied here.
    pub fn delete_foreground<T: ApiObject + PartialEq>(
        &mut self,
        key: &ObjectKey,
        now: SimTime,
    ) -> Result<(), ApiError> {
        self.modify::<T>(key, |object| {
            let meta = object.meta_mut();
            if meta.deletion_timestamp.is_none() {
                meta.deletion_timestamp = Some(now);
            }
            if !meta.finalizers.iter().any(|f| f == FOREGROUND_DELETION) {
                meta.finalizers.push(FOREGROUND_DELETION.to_string());
            }
        })?;
        Ok(())
    }

    /// Remove a pod whose containers the kubelet confirmed stopped, or any object
    /// outright (a force delete with grace 0 of a pod).
    pub fn remove_now<T: ApiObject>(&mut self, key: &ObjectKey) -> Result<(), ApiError> {
        let Some(old) = T::table_mut(&mut self.objects).remove(key) else {
            return Err(ApiError::NotFound {
                kind: T::KIND.name(),
                key: key.clone(),
            });
        };
        self.resource_version += 1;
        self.emit(
            WatchEventType::Deleted,
            T::KIND,
            key.clone(),
            None,
            Some(T::wrap(old)),
        );
        Ok(())
    }
}
