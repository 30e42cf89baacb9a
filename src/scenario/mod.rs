//! Scenario files (DESIGN.md §1.2): reading, checking and the typed [`Scenario`].
//!
//! Layers: [`yaml`] turns text into a spanned tree, [`decode`] reads typed fields and
//! collects [`diag::Diagnostic`]s, [`spec`] checks the scenario format itself. The
//! model checks what needs the whole cluster (VM and pool names, manifests' contents)
//! using the positions kept here.

pub mod decode;
pub mod diag;
pub mod failures;
pub mod manifest;
pub mod object_files;
pub mod schema;
mod secrets;
pub mod spec;
pub mod yaml;

use crate::units::Quantity;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Severity};
pub use spec::{load, load_bytes, load_str};
pub use yaml::{Node, NodeKind, Pos};

/// The only `apiVersion` accepted for scenario files.
pub const API_VERSION: &str = "poolsim.io/v1alpha1";
/// The only `kind` accepted for scenario files.
pub const KIND: &str = "Scenario";

/// Longest simulated run: 30 days.
pub const MAX_DURATION_MS: u64 = 30 * 24 * 3_600_000;
/// Default spacing of timeseries rows.
pub const DEFAULT_SAMPLE_INTERVAL_MS: u64 = 5_000;
/// Finest sample spacing allowed.
pub const MIN_SAMPLE_INTERVAL_MS: u64 = 100;
/// Most timeseries rows one run may produce (`duration / sampleInterval + 1`).
pub const MAX_SAMPLES: u64 = 1_000_000;
/// Most replicas a pool may ask for (`spec.replicas`, a `scale` event, an HPA's
/// `maxReplicas`). Upstream allows any int32; poolsim caps it at ten times the largest
/// benchmark (10,000 VMs) so that a typo such as `1000000000` is an error rather than
/// a run that never ends. See docs/LIMITS.md.
pub const MAX_REPLICAS: i64 = 100_000;
/// Most entries in `spec.events`. See docs/LIMITS.md.
pub const MAX_EVENTS: usize = 10_000;
/// Most points in `spec.load`. See docs/LIMITS.md.
pub const MAX_LOAD_POINTS: usize = 10_000;
/// Most manifests: inline `spec.manifests` entries plus objects read from
/// `manifestFiles` (and most `manifestFiles` entries). See docs/LIMITS.md.
pub const MAX_MANIFESTS: usize = 1_000;
/// Most bytes read from all of one scenario's `manifestFiles` together: each file may
/// be up to 4 MiB (`input::MAX_YAML_FILE_BYTES`), and without a total one big file
/// listed 1,000 times would be 4 GB to read and parse. Four full files' worth.
/// See docs/LIMITS.md.
pub const MAX_MANIFEST_FILES_BYTES: u64 = 16 * 1024 * 1024;
/// Most bytes that placeholder substitution may produce for one scenario (all
/// substituted manifest files and fields together). One pass never rescans a
/// replacement, but a long value used many times still multiplies. See docs/LIMITS.md.
pub const MAX_SUBSTITUTED_BYTES: usize = 16 * 1024 * 1024;

/// The message for a replica count above [`MAX_REPLICAS`].
pub fn replicas_limit_message(replicas: i64) -> String {
    format!(
        "{replicas} replicas is more than poolsim's limit of {MAX_REPLICAS} (MAX_REPLICAS, docs/LIMITS.md); valid: 0 to {MAX_REPLICAS}"
    )
}

/// Algorithm used when the scenario names none.
pub const DEFAULT_ALGORITHM: &str = "kubevirt-pool";
/// Namespace for manifests that name none, as `kubectl apply` without `-n`.
pub const DEFAULT_NAMESPACE: &str = "default";
/// Most nodes in a cluster (the count form and the list form alike).
pub const MAX_NODES: usize = 10_000;
/// Default node CPU capacity for the count form, in cores.
pub const DEFAULT_NODE_CPU: &str = "16";
/// Default node memory capacity for the count form.
pub const DEFAULT_NODE_MEMORY: &str = "64Gi";
/// Default pods per node: kubelet's `--max-pods` default, 110
/// (kubernetes/kubernetes `pkg/kubelet/apis/config/v1beta1/defaults.go`,
/// `SetDefaults_KubeletConfiguration`, `MaxPods = 110`).
pub const DEFAULT_NODE_PODS: u32 = 110;

/// The numeric fields of `summary.json` (DESIGN.md §1.3 and the comparison metrics of
/// `compare`) that `expect[].metric` may name, in the column order of `sweep.csv` and
/// `compare.csv`.
pub const SUMMARY_METRICS: &[&str] = &[
    "duration_s",
    "events_processed",
    "max_overshoot",
    "max_guests_running",
    "final_desired_replicas",
    "final_vms_ready",
    "overshoot_vm_minutes",
    "minutes_under_ready",
    "vms_created",
    "recovery_s",
    "controller_crashes",
    "max_uncontrolled_overshoot",
    "uncontrolled_overshoot_vm_minutes",
];

/// The event actions of DESIGN.md §1.2, as written in files.
pub const EVENT_ACTIONS: &[&str] = &[
    "scale",
    "apply",
    "delete",
    "patch",
    "partitionNode",
    "healNode",
    "crashNode",
    "recoverNode",
    "fenceNode",
    "killGuest",
    "hangGuest",
    "unhangGuest",
    "detachVm",
    "setLoad",
    "failDataVolume",
    "failImagePull",
];

/// A loaded scenario and the warnings found while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub warnings: Vec<Diagnostic>,
}

/// A checked scenario. Times are milliseconds since the start of the run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario file, as given to [`load`].
    pub file: PathBuf,
    /// `metadata.name`: a DNS-1123 label, so `<out>/<name>/` stays inside `<out>`.
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration_ms: u64,
    pub sample_interval_ms: u64,
    /// Not checked against the list of algorithms: the caller does that.
    pub algorithm: String,
    /// Where `algorithm` was written, for the caller's message (`None` if defaulted).
    pub algorithm_pos: Option<Pos>,
    pub namespace: String,
    pub nodes: Vec<ClusterNode>,
    /// `spec.settings`, undecoded: the model owns their names and types. Each value
    /// keeps its position; its field path is `spec.settings.<name>`.
    pub settings: Vec<(String, Node)>,
    /// Inline manifests, then those of `manifestFiles`, in order.
    pub manifests: Vec<Manifest>,
    pub placeholders: BTreeMap<String, String>,
    pub load: Vec<LoadPoint>,
    /// Sorted by time; events at the same time keep the order they were written in.
    pub events: Vec<ScheduledEvent>,
    /// `spec.failures`: random node failure processes, expanded into node events per
    /// seed when the world is built (`failures::expand_all`).
    pub failures: Vec<failures::FailureSpec>,
    pub expectations: Vec<Expectation>,
    /// `spec.initialState`: what the cluster holds at 0 s (docs/IMPORT.md).
    pub initial_state: InitialState,
}

/// `spec.initialState` (docs/IMPORT.md): where a run starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    /// `empty` (the default): the manifests are applied to an empty cluster, as
    /// `kubectl apply` would; a pool creates its VMs, clones their disks, boots them.
    #[default]
    Empty,
    /// `fromManifests`: the state a cluster export shows is already there at 0 s: the
    /// pools' VMs exist and run on the nodes the export names, their disks are bound,
    /// the HPA starts from its exported status.
    FromManifests,
}

impl InitialState {
    /// The values of `spec.initialState`, as written.
    pub const NAMES: &'static [&'static str] = &["empty", "fromManifests"];
}

/// One node of the simulated cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterNode {
    pub name: String,
    pub cpu: Quantity,
    pub memory: Quantity,
    pub pods: u32,
    pub labels: BTreeMap<String, String>,
}

/// A Kubernetes object to apply at the start, with where it was written.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it was read from (the scenario itself for inline manifests and for
    /// Secrets of `spec.secrets`).
    pub file: PathBuf,
    /// Field path of the object: `spec.manifests[3]` inline, or `[2]` (document index)
    /// in a manifest file. Paths inside it extend this one.
    pub field: String,
    /// The object with `<placeholder>`s already replaced.
    pub object: Node,
}

/// A point of the offered load curve: at `at_ms` the load starts to move from its
/// current level to `cores`, linearly over `ramp_over_ms` (0: a step), and then stays
/// there until the next point. `setLoad` events mean the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadPoint {
    pub at_ms: u64,
    pub cores: f64,
    pub ramp_over_ms: u64,
}

/// Which node an event concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRef {
    /// A node by name; checked to exist in the cluster.
    Name(String),
    /// The node the named VM's instance runs on when the event fires; the VM name is
    /// checked by the model.
    NodeOf(String),
}

/// What an event does (DESIGN.md §1.2, event actions).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Scale {
        pool: String,
        replicas: u32,
    },
    Apply {
        object: Node,
    },
    Delete {
        kind: String,
        name: String,
    },
    Patch {
        kind: String,
        name: String,
        merge_patch: Node,
    },
    PartitionNode(NodeRef),
    HealNode(NodeRef),
    CrashNode(NodeRef),
    RecoverNode(NodeRef),
    FenceNode(NodeRef),
    KillGuest {
        vm: String,
    },
    /// The guest stops answering (probes, ACPI) while it keeps running.
    HangGuest {
        vm: String,
    },
    UnhangGuest {
        vm: String,
    },
    DetachVm {
        vm: String,
    },
    /// A DataVolume fails: by name, or each of a VM's DataVolumes.
    FailDataVolume {
        target: DataVolumeRef,
        reason: DataVolumeFailure,
    },
    SetLoad {
        cores: f64,
        ramp_over_ms: u64,
    },
    /// From now on no kubelet can pull this image.
    FailImagePull {
        image: String,
    },
}

/// Which DataVolumes a `failDataVolume` event fails.
#[derive(Debug, Clone, PartialEq)]
pub enum DataVolumeRef {
    /// `dataVolume: NAME`.
    Name(String),
    /// `vm: NAME`: every DataVolume the VM's volumes name.
    OfVm(String),
}

/// How a DataVolume fails (`failDataVolume.reason`). Each makes KubeVirt report
/// `DataVolumeError` (`pkg/storage/types/dv.go`, `HasDataVolumeErrors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataVolumeFailure {
    /// `Failed`: the DataVolume's phase becomes Failed.
    Failed,
    /// `Error`: CDI's worker pod stopped on an error (`Running=False`, reason Error).
    Error,
    /// `ImagePullFailed`: a registry import whose image cannot be pulled
    /// (`Running=False`, reason ImagePullFailed; CDI `pkg/controller/util.go`).
    ImagePullFailed,
}

impl DataVolumeFailure {
    pub const NAMES: &'static [&'static str] = &["Failed", "Error", "ImagePullFailed"];

    pub fn from_name(name: &str) -> Option<DataVolumeFailure> {
        match name {
            "Failed" => Some(DataVolumeFailure::Failed),
            "Error" => Some(DataVolumeFailure::Error),
            "ImagePullFailed" => Some(DataVolumeFailure::ImagePullFailed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DataVolumeFailure::Failed => "Failed",
            DataVolumeFailure::Error => "Error",
            DataVolumeFailure::ImagePullFailed => "ImagePullFailed",
        }
    }
}

impl Action {
    /// The action's name as written in files (`scale`, `partitionNode`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Scale { .. } => "scale",
            Action::Apply { .. } => "apply",
            Action::Delete { .. } => "delete",
            Action::Patch { .. } => "patch",
            Action::PartitionNode(_) => "partitionNode",
            Action::HealNode(_) => "healNode",
            Action::CrashNode(_) => "crashNode",
            Action::RecoverNode(_) => "recoverNode",
            Action::FenceNode(_) => "fenceNode",
            Action::KillGuest { .. } => "killGuest",
            Action::HangGuest { .. } => "hangGuest",
            Action::UnhangGuest { .. } => "unhangGuest",
            Action::DetachVm { .. } => "detachVm",
            Action::SetLoad { .. } => "setLoad",
            Action::FailDataVolume { .. } => "failDataVolume",
            Action::FailImagePull { .. } => "failImagePull",
        }
    }
}

/// An event with its time and where it was written (for the model's messages).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledEvent {
    pub at_ms: u64,
    pub action: Action,
    /// `spec.events[i]`.
    pub field: String,
    pub pos: Pos,
    /// For the objects of `apply: {file}` and `delete: {file}`: the manifest file and
    /// the document the object came from, so its problems are reported there.
    pub source: Option<ObjectSource>,
}

/// Where the object of an event came from when a file named it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSource {
    pub file: PathBuf,
    /// The document, `[k]`.
    pub field: String,
}

/// How an observed value is compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparison {
    AtMost(f64),
    AtLeast(f64),
    Equals(f64),
}

impl Comparison {
    /// Whether `observed` satisfies the comparison.
    pub fn holds(&self, observed: f64) -> bool {
        match *self {
            Comparison::AtMost(limit) => observed <= limit,
            Comparison::AtLeast(limit) => observed >= limit,
            Comparison::Equals(expected) => observed == expected,
        }
    }
}

/// What an expectation looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectTarget {
    /// A field of `summary.json` (one of [`SUMMARY_METRICS`]).
    Metric(String),
    /// A timeseries column (an observed one of [`crate::timeseries::COLUMNS`]) at one time: the row at
    /// `at_ms`, or the last row before it when `at_ms` is not on the sample grid.
    ColumnAt { column: String, at_ms: u64 },
    /// A timeseries column on every row with `from_ms <= time <= to_ms`.
    ColumnDuring {
        column: String,
        from_ms: u64,
        to_ms: u64,
    },
}

/// One `expect` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub target: ExpectTarget,
    pub comparison: Comparison,
    /// `spec.expect[i]`.
    pub field: String,
    pub pos: Pos,
}

/// A name the model must resolve, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'s> {
    pub name: &'s str,
    pub field: String,
    pub pos: Pos,
}

impl Scenario {
    /// VM names referenced by events (`nodeOf`, `killGuest`, `detachVm`), for the
    /// model to check against the VMs the pools will create.
    pub fn referenced_vms(&self) -> Vec<Reference<'_>> {
        let mut references = Vec::new();
        for event in &self.events {
            let action_field = format!("{}.{}", event.field, event.action.name());
            let vm = match &event.action {
                Action::PartitionNode(NodeRef::NodeOf(vm))
                | Action::HealNode(NodeRef::NodeOf(vm))
                | Action::CrashNode(NodeRef::NodeOf(vm))
                | Action::RecoverNode(NodeRef::NodeOf(vm))
                | Action::FenceNode(NodeRef::NodeOf(vm)) => {
                    Some((vm, format!("{action_field}.nodeOf")))
                }
                Action::KillGuest { vm }
                | Action::HangGuest { vm }
                | Action::UnhangGuest { vm }
                | Action::DetachVm { vm }
                | Action::FailDataVolume {
                    target: DataVolumeRef::OfVm(vm),
                    ..
                } => Some((vm, format!("{action_field}.vm"))),
                _ => None,
            };
            if let Some((name, field)) = vm {
                references.push(Reference {
                    name,
                    field,
                    pos: event.pos,
                });
            }
        }
        references
    }

    /// Pool names referenced by `scale` events.
    pub fn referenced_pools(&self) -> Vec<Reference<'_>> {
        self.events
            .iter()
            .filter_map(|event| match &event.action {
                Action::Scale { pool, .. } => Some(Reference {
                    name: pool,
                    field: format!("{}.scale.pool", event.field),
                    pos: event.pos,
                }),
                _ => None,
            })
            .collect()
    }

    /// A diagnostic about this scenario file, for checks done by the caller.
    pub fn diagnostic(
        &self,
        severity: Severity,
        pos: Pos,
        field: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        diagnostic_at(&self.file, severity, pos, field, message)
    }
}

/// A diagnostic in `file`.
pub fn diagnostic_at(
    file: &Path,
    severity: Severity,
    pos: Pos,
    field: &str,
    message: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        severity,
        file: file.to_path_buf(),
        line: pos.line,
        col: pos.col,
        field: field.to_string(),
        message: message.into(),
    }
}
