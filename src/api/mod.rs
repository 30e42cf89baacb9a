//! The API objects poolsim models, as typed Rust values: what `kubectl apply` creates
//! and what the controllers read and write.
//!
//! Field names follow the upstream Go types (`kubevirt.io/api/pool/v1beta1`,
//! `kubevirt.io/api/core/v1`, `k8s.io/api/core/v1`, CDI `v1beta1`); only the fields the
//! model acts on are kept. Quantities are stored as integers: CPU in millicores, memory
//! and storage in bytes.

pub mod core;
pub mod kubevirt;
pub mod meta;
pub mod validation;

pub use self::core::*;
pub use kubevirt::*;
pub use meta::*;

pub use crate::hpa::spec::{HpaSpec, HpaStatus};
use std::sync::Arc;

/// A HorizontalPodAutoscaler (`autoscaling/v1` or `v2`), its spec normalized to the
/// v2 form as the API server stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct HorizontalPodAutoscaler {
    pub meta: ObjectMeta,
    pub spec: HpaSpec,
    pub status: HpaStatus,
}

/// An object of any kind, as carried by watch events and kept in the store and the
/// informer caches.
///
/// Each variant holds its object behind an `Arc`: the store and the three informer
/// caches share one copy of each version of an object (a write makes a new version;
/// nothing changes a shared one), so delivering a watch event to a cache is a
/// reference-count increment rather than a deep copy of the object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Pool(Arc<VirtualMachinePool>),
    Vm(Arc<VirtualMachine>),
    Vmi(Arc<VirtualMachineInstance>),
    Pod(Arc<Pod>),
    Node(Arc<Node>),
    DataVolume(Arc<DataVolume>),
    Pvc(Arc<PersistentVolumeClaim>),
    Service(Arc<Service>),
    Secret(Arc<Secret>),
    ConfigMap(Arc<ConfigMap>),
    StorageClass(Arc<StorageClass>),
    SnapshotClass(Arc<VolumeSnapshotClass>),
    Hpa(Arc<HorizontalPodAutoscaler>),
}

impl Object {
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Pool(o) => &o.meta,
            Object::Vm(o) => &o.meta,
            Object::Vmi(o) => &o.meta,
            Object::Pod(o) => &o.meta,
            Object::Node(o) => &o.meta,
            Object::DataVolume(o) => &o.meta,
            Object::Pvc(o) => &o.meta,
            Object::Service(o) => &o.meta,
            Object::Secret(o) => &o.meta,
            Object::ConfigMap(o) => &o.meta,
            Object::StorageClass(o) => &o.meta,
            Object::SnapshotClass(o) => &o.meta,
            Object::Hpa(o) => &o.meta,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Object::Pool(_) => Kind::VirtualMachinePool,
            Object::Vm(_) => Kind::VirtualMachine,
            Object::Vmi(_) => Kind::VirtualMachineInstance,
            Object::Pod(_) => Kind::Pod,
            Object::Node(_) => Kind::Node,
            Object::DataVolume(_) => Kind::DataVolume,
            Object::Pvc(_) => Kind::PersistentVolumeClaim,
            Object::Service(_) => Kind::Service,
            Object::Secret(_) => Kind::Secret,
            Object::ConfigMap(_) => Kind::ConfigMap,
            Object::StorageClass(_) => Kind::StorageClass,
            Object::SnapshotClass(_) => Kind::VolumeSnapshotClass,
            Object::Hpa(_) => Kind::HorizontalPodAutoscaler,
        }
    }
}
