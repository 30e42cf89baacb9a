//! Decoding and checking the scenario format of DESIGN.md §1.2 into a [`Scenario`].

use super::decode::{child_path, describe, unknown_name_hint, MapReader, Report, Value};
use super::manifest::import::flatten_lists;
use super::yaml::{check_text, parse_documents, parse_single, Limits, Node, NodeKind, Pos};
use super::InitialState;
use super::{
    replicas_limit_message, Action, ClusterNode, Comparison, DataVolumeFailure, DataVolumeRef,
    Diagnostic, ExpectTarget, Expectation, LoadPoint, Loaded, Manifest, NodeRef, ObjectSource,
    Scenario, ScheduledEvent, Severity, API_VERSION, DEFAULT_ALGORITHM, DEFAULT_NAMESPACE,
    DEFAULT_NODE_CPU, DEFAULT_NODE_MEMORY, DEFAULT_NODE_PODS, DEFAULT_SAMPLE_INTERVAL_MS,
    EVENT_ACTIONS, KIND, MAX_DURATION_MS, MAX_EVENTS, MAX_LOAD_POINTS, MAX_MANIFESTS,
    MAX_MANIFEST_FILES_BYTES, MAX_NODES, MAX_REPLICAS, MAX_SAMPLES, MAX_SUBSTITUTED_BYTES,
    MIN_SAMPLE_INTERVAL_MS, SUMMARY_METRICS,
};
use crate::input::FileKind;
use crate::units::{format_duration_ms, parse_quantity, Quantity};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The apimachinery name and label rules, kept here under their old path for callers.
pub use crate::api::validation::{
    is_dns1123_label, is_dns1123_subdomain, label_key_problems, label_value_problems,
};

/// Most pods per node accepted; far above kubelet's practical limits.
const MAX_NODE_PODS: i64 = 100_000;

/// Reads and checks a scenario file, and the manifest files it names.
///
/// `Err` holds every problem found (errors and warnings, in the order found); on
/// `Ok`, the warnings are in [`Loaded::warnings`].
pub fn load(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let bytes = crate::input::read_bytes(path, FileKind::Yaml).map_err(|error| {
        vec![super::diagnostic_at(
            path,
            Severity::Error,
            Pos::default(),
            "",
            format!("cannot read the scenario file: {}", error.problem),
        )]
    })?;
    load_bytes(&bytes, path)
}

/// Checks scenario bytes as if read from `path` (not read: `path` names the file in
/// diagnostics and anchors `manifestFiles`). Bytes that are not UTF-8 text, or are
/// binary, give one diagnostic naming the file.
pub fn load_bytes(bytes: &[u8], path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let text = check_text(bytes, &Limits::default())
        .map_err(|error| vec![yaml_diagnostic(path, &error)])?;
    load_str(text, path)
}

/// Checks scenario text as if read from `path`. `manifestFiles` are read relative to
/// `path`'s folder.
pub fn load_str(text: &str, path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let limits = Limits::default();
    check_text(text.as_bytes(), &limits).map_err(|error| vec![yaml_diagnostic(path, &error)])?;
    let root = parse_single(text, &limits).map_err(|error| vec![yaml_diagnostic(path, &error)])?;
    let mut report = Report::new(path);
    let scenario = decode_scenario(&root, path, &mut report);
    match scenario {
        Some(scenario) if !report.has_errors() => Ok(Loaded {
            scenario,
            warnings: report.diagnostics,
        }),
        _ => Err(report.diagnostics),
    }
}

fn yaml_diagnostic(file: &Path, error: &super::yaml::YamlError) -> Diagnostic {
    super::diagnostic_at(file, Severity::Error, error.pos, "", error.message.clone())
}

fn check_label(value: &Value<'_>, report: &mut Report, what: &str) -> Option<String> {
    let text = value.str(report)?;
    if is_dns1123_label(&text) {
        return Some(text);
    }
    report.error(
        value.pos(),
        &value.path,
        format!(
            "{text:?} is not a valid {what}: use 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit (a DNS-1123 label)"
        ),
    );
    None
}

fn decode_scenario(root: &Node, file: &Path, report: &mut Report) -> Option<Scenario> {
    let mut top = MapReader::new(root, "", report)?;
    if let Some(value) = top.required("apiVersion", report) {
        if let Some(text) = value.str(report) {
            if text != API_VERSION {
                report.error(
                    value.pos(),
                    &value.path,
                    format!("unsupported apiVersion {text:?}; expected {API_VERSION:?}"),
                );
            }
        }
    }
    if let Some(value) = top.required("kind", report) {
        if let Some(text) = value.str(report) {
            if text != KIND {
                report.error(
                    value.pos(),
                    &value.path,
                    format!("unsupported kind {text:?}; expected {KIND:?}"),
                );
            }
        }
    }
    let mut name = None;
    let mut description = String::new();
    if let Some(metadata) = top
        .required("metadata", report)
        .and_then(|value| value.map(report))
    {
        let mut metadata = metadata;
        if let Some(value) = metadata.required("name", report) {
            name = check_label(&value, report, "metadata.name (it names the output folder)");
        }
        if let Some(value) = metadata.optional("description") {
            description = value.str(report).unwrap_or_default();
        }
        metadata.finish_strict(report);
    }
    let spec = top
        .required("spec", report)
        .and_then(|value| value.map(report));
    top.finish_strict(report);
    let spec = spec?;
    let mut scenario = decode_spec(spec, file, report)?;
    scenario.name = name?;
    scenario.description = description;
    Some(scenario)
}

fn decode_spec(mut spec: MapReader<'_>, file: &Path, report: &mut Report) -> Option<Scenario> {
    let spec_pos = spec.pos();
    let seed = spec
        .optional("seed")
        .map_or(Some(0), |value| value.u64(report));
    let duration_ms = decode_duration(spec.required("duration", report), report);
    let sample_interval_ms = decode_sample_interval(&mut spec, duration_ms, report);

    let algorithm_value = spec.optional("algorithm");
    let algorithm = algorithm_value
        .as_ref()
        .map_or(Some(DEFAULT_ALGORITHM.to_string()), |value| {
            value.non_empty_str(report)
        });
    let namespace = spec
        .optional("namespace")
        .map_or(Some(DEFAULT_NAMESPACE.to_string()), |value| {
            check_label(&value, report, "namespace")
        });

    // Optional when the manifests hold Node objects (checked below, docs/IMPORT.md).
    let cluster_value = spec.optional("cluster");
    let nodes = cluster_value
        .as_ref()
        .map_or(Some(Vec::new()), |value| decode_cluster(value, report));
    let settings = spec
        .optional("settings")
        .and_then(|value| decode_settings(&value, report));

    let placeholders_value = spec.optional("placeholders");
    let placeholder_positions = placeholder_positions(placeholders_value.as_ref());
    let placeholders = placeholders_value.map_or(Some(BTreeMap::new()), |value| {
        decode_placeholders(&value, report)
    });
    let mut substitution = Substitution::new(placeholders.clone().unwrap_or_default());

    let mut budget = FileBudget::default();
    let mut manifests = Vec::new();
    if let Some(value) = spec.optional("manifests") {
        decode_inline_manifests(&value, file, &mut substitution, &mut manifests, report);
    }
    if let Some(value) = spec.optional("manifestFiles") {
        let mut files = ScenarioFiles {
            scenario_file: file,
            substitution: &mut substitution,
            budget: &mut budget,
        };
        decode_manifest_files(&value, &mut files, &mut manifests, report);
    }
    if let Some(value) = spec.optional("secrets") {
        super::secrets::decode_secrets(&value, file, &mut budget, &mut manifests, report);
    }

    let initial_state = decode_initial_state(&mut spec, report);
    let load = spec.optional("load").map_or(Some(Vec::new()), |value| {
        if !within_count(
            &value,
            MAX_LOAD_POINTS,
            "load points",
            "MAX_LOAD_POINTS",
            report,
        ) {
            return None;
        }
        decode_load(&value, duration_ms, report)
    });

    let exported_nodes = exported_node_names(&manifests);
    if cluster_value.is_none() && exported_nodes.is_empty() {
        report.error(
            spec_pos,
            "spec.cluster",
            "missing required field \"cluster\"; give spec.cluster (nodes: a count or a list), or Node objects in the manifests (docs/IMPORT.md)",
        );
    }
    let node_names = all_node_names(nodes.as_deref(), &exported_nodes);
    let events = spec.optional("events").map_or(Some(Vec::new()), |value| {
        let mut files = ScenarioFiles {
            scenario_file: file,
            substitution: &mut substitution,
            budget: &mut budget,
        };
        decode_events(&value, node_names.as_ref(), duration_ms, &mut files, report)
    });

    let failures = spec.optional("failures").map_or(Some(Vec::new()), |value| {
        let nodes = nodes.as_deref();
        super::failures::decode(&value, nodes, duration_ms, events.as_deref(), report)
    });

    let expectations = spec.optional("expect").map_or(Some(Vec::new()), |value| {
        value.seq_of(report, |item, report| {
            decode_expectation(item, duration_ms, report)
        })
    });
    spec.finish_strict(report);
    warn_unused_placeholders(&substitution, &placeholder_positions, spec_pos, report);

    let mut events = events?;
    // Stable: events at the same time keep the order they were written in.
    events.sort_by_key(|event| event.at_ms);
    Some(Scenario {
        file: file.to_path_buf(),
        name: String::new(),
        description: String::new(),
        seed: seed?,
        duration_ms: duration_ms?,
        sample_interval_ms: sample_interval_ms?,
        algorithm: algorithm?,
        algorithm_pos: algorithm_value.map(|value| value.pos()),
        namespace: namespace?,
        nodes: nodes?,
        settings: settings.unwrap_or_default(),
        manifests,
        placeholders: placeholders?,
        load: load?,
        events,
        failures: failures?,
        expectations: expectations?,
        initial_state: initial_state?,
    })
}

/// `spec.initialState`: where the run starts from (docs/IMPORT.md).
fn decode_initial_state(spec: &mut MapReader<'_>, report: &mut Report) -> Option<InitialState> {
    spec.optional("initialState")
        .map_or(Some(InitialState::Empty), |value| {
            value
                .one_of(report, InitialState::NAMES)
                .map(|name| match name.as_str() {
                    "fromManifests" => InitialState::FromManifests,
                    _ => InitialState::Empty,
                })
        })
}

/// The names of the `Node` objects among the manifests (a cluster export's nodes), so
/// that events may name them.
fn exported_node_names(manifests: &[Manifest]) -> Vec<String> {
    manifests
        .iter()
        .filter(|manifest| manifest.object.get("kind").and_then(Node::as_scalar) == Some("Node"))
        .filter_map(|manifest| manifest.object.get("metadata")?.get("name")?.as_scalar())
        .map(str::to_string)
        .collect()
}

/// Every node an event may name: `spec.cluster`'s and the exported ones.
fn all_node_names<'a>(
    nodes: Option<&'a [ClusterNode]>,
    exported: &'a [String],
) -> Option<BTreeSet<&'a str>> {
    nodes.map(|nodes| {
        nodes
            .iter()
            .map(|node| node.name.as_str())
            .chain(exported.iter().map(String::as_str))
            .collect()
    })
}

/// `spec.duration`: more than 0 and at most [`MAX_DURATION_MS`].
fn decode_duration(duration_value: Option<Value<'_>>, report: &mut Report) -> Option<u64> {
    let value = duration_value?;
    let duration_ms = value.duration_ms(report)?;
    if duration_ms == 0 || duration_ms > MAX_DURATION_MS {
        report.error(
            value.pos(),
            &value.path,
            format!(
                "expected a duration greater than 0s and at most {}, got {}",
                format_duration_ms(MAX_DURATION_MS),
                format_duration_ms(duration_ms)
            ),
        );
        return None;
    }
    Some(duration_ms)
}

/// `spec.sampleInterval`: at least [`MIN_SAMPLE_INTERVAL_MS`], and few enough rows
/// for the run's duration ([`MAX_SAMPLES`]).
fn decode_sample_interval(
    spec: &mut MapReader<'_>,
    duration_ms: Option<u64>,
    report: &mut Report,
) -> Option<u64> {
    let sample_value = spec.optional("sampleInterval");
    let sample_interval_ms = match &sample_value {
        None => Some(DEFAULT_SAMPLE_INTERVAL_MS),
        Some(value) => value.duration_ms(report).and_then(|interval_ms| {
            if interval_ms < MIN_SAMPLE_INTERVAL_MS {
                report.error(
                    value.pos(),
                    &value.path,
                    format!(
                        "expected at least {}, got {}",
                        format_duration_ms(MIN_SAMPLE_INTERVAL_MS),
                        format_duration_ms(interval_ms)
                    ),
                );
                return None;
            }
            Some(interval_ms)
        }),
    };
    if let (Some(duration_ms), Some(interval_ms)) = (duration_ms, sample_interval_ms) {
        let rows = duration_ms / interval_ms + 1;
        if rows > MAX_SAMPLES {
            let (pos, field) = sample_value.as_ref().map_or_else(
                || (spec.pos(), "spec.sampleInterval".to_string()),
                |value| (value.pos(), value.path.clone()),
            );
            let smallest_ms = duration_ms.div_ceil(MAX_SAMPLES - 1);
            report.error(
                pos,
                &field,
                format!(
                    "{} of {} gives {rows} timeseries rows, more than {MAX_SAMPLES} (poolsim's limit MAX_SAMPLES, docs/LIMITS.md); use a sampleInterval of at least {}",
                    format_duration_ms(interval_ms),
                    format_duration_ms(duration_ms),
                    format_duration_ms(smallest_ms.max(MIN_SAMPLE_INTERVAL_MS))
                ),
            );
        }
    }
    sample_interval_ms
}

/// `spec.settings`, undecoded (the model owns their names and types): each name with
/// its value.
fn decode_settings(value: &Value<'_>, report: &mut Report) -> Option<Vec<(String, Node)>> {
    let map = value.map(report)?;
    let NodeKind::Map(entries) = &value.node.kind else {
        // An empty `settings:` is null: no overrides.
        drop(map);
        return Some(Vec::new());
    };
    drop(map);
    Some(
        entries
            .iter()
            .map(|(key, value)| {
                (
                    key.as_scalar().unwrap_or_default().to_string(),
                    value.clone(),
                )
            })
            .collect(),
    )
}

/// Where each `spec.placeholders` key was written, for the "not used" warning.
fn placeholder_positions(value: Option<&Value<'_>>) -> BTreeMap<String, Pos> {
    match value.map(|v| &v.node.kind) {
        Some(NodeKind::Map(entries)) => entries
            .iter()
            .map(|(key, _)| (key.as_scalar().unwrap_or_default().to_string(), key.pos))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn warn_unused_placeholders(
    substitution: &Substitution,
    positions: &BTreeMap<String, Pos>,
    spec_pos: Pos,
    report: &mut Report,
) {
    for key in substitution.placeholders.keys() {
        if !substitution.used.contains(key) {
            report.warning(
                positions.get(key).copied().unwrap_or(spec_pos),
                &format!("spec.placeholders.{key}"),
                format!("placeholder <{key}> is not used by any manifest"),
            );
        }
    }
}

/// `spec.manifests`: inline objects, placeholders filled in.
fn decode_inline_manifests(
    value: &Value<'_>,
    file: &Path,
    substitution: &mut Substitution,
    manifests: &mut Vec<Manifest>,
    report: &mut Report,
) {
    if !within_count(value, MAX_MANIFESTS, "manifests", "MAX_MANIFESTS", report) {
        return;
    }
    let Some(items) = value.seq(report) else {
        return;
    };
    for item in items {
        let object = decode_object(&item, report)
            .and_then(|object| substitution.apply_to_node(object, &item, report));
        // A `List` (as `kubectl get -o yaml` writes) stands for its items.
        for (object, field) in object
            .iter()
            .flat_map(|object| flatten_lists(object, &item.path, report))
        {
            manifests.push(Manifest {
                file: file.to_path_buf(),
                field,
                object,
            });
        }
    }
    // Inline `List`s count by their items.
    if manifests.len() > MAX_MANIFESTS {
        report.error(
            value.pos(),
            "spec.manifests",
            format!(
                "the inline manifests hold {} objects, more than poolsim's limit of {MAX_MANIFESTS} (MAX_MANIFESTS, docs/LIMITS.md)",
                manifests.len()
            ),
        );
    }
}

/// `spec.manifestFiles`: each file's documents, in order.
fn decode_manifest_files(
    value: &Value<'_>,
    files: &mut ScenarioFiles<'_, '_>,
    manifests: &mut Vec<Manifest>,
    report: &mut Report,
) {
    if !within_count(
        value,
        MAX_MANIFESTS,
        "manifest files",
        "MAX_MANIFESTS",
        report,
    ) {
        return;
    }
    let Some(items) = value.seq(report) else {
        return;
    };
    for item in items {
        let bytes = read_manifest_file(
            &item,
            files.scenario_file,
            files.substitution,
            manifests,
            report,
        );
        // The same big file listed many times is refused by this total; stop reading
        // files once a limit is passed: the rest cannot help.
        if !files
            .budget
            .add(&item, bytes, FilesRead::ManifestFiles, report)
        {
            break;
        }
        if manifests.len() > MAX_MANIFESTS {
            report.error(
                item.pos(),
                &item.path,
                format!(
                    "the scenario now holds {} manifests, more than poolsim's limit of {MAX_MANIFESTS} (MAX_MANIFESTS, docs/LIMITS.md)",
                    manifests.len()
                ),
            );
            break;
        }
    }
}

/// What decoding needs to read the files a scenario names (`manifestFiles`, the files
/// of `apply` and `delete` events): where the scenario is, its placeholders, and the
/// bytes read so far.
pub(super) struct ScenarioFiles<'a, 'b> {
    pub scenario_file: &'a Path,
    pub substitution: &'b mut Substitution,
    pub budget: &'b mut FileBudget,
}

/// Which files a [`FileBudget`] error talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FilesRead {
    ManifestFiles,
    /// Files of `apply`/`delete` events and Secret sources, read after `manifestFiles`.
    Any,
}

/// The bytes one scenario has read from the files it names, all together bounded by
/// [`MAX_MANIFEST_FILES_BYTES`]: without a total, one big file named 10,000 times
/// (by `manifestFiles`, events or Secret sources) would be gigabytes to read.
#[derive(Debug, Default)]
pub(super) struct FileBudget {
    bytes: u64,
}

impl FileBudget {
    /// Counts `bytes` read for `at`; past the limit, reports it at `at` and returns
    /// false (the caller stops reading files).
    pub(super) fn add(
        &mut self,
        at: &Value<'_>,
        bytes: u64,
        files: FilesRead,
        report: &mut Report,
    ) -> bool {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes <= MAX_MANIFEST_FILES_BYTES {
            return true;
        }
        let (what, scope) = match files {
            FilesRead::ManifestFiles => ("the manifest files", "all manifest files of one scenario"),
            FilesRead::Any => (
                "the files",
                "all files one scenario reads (manifestFiles, apply and delete files, Secret sources)",
            ),
        };
        report.error(
            at.pos(),
            &at.path,
            format!(
                "{what} read so far hold {} bytes, more than poolsim's limit of {MAX_MANIFEST_FILES_BYTES} bytes (16 MiB) for {scope} (MAX_MANIFEST_FILES_BYTES, docs/LIMITS.md)",
                self.bytes
            ),
        );
        false
    }

    /// Whether the limit was already passed (nothing more should be read).
    pub(super) fn exhausted(&self) -> bool {
        self.bytes > MAX_MANIFEST_FILES_BYTES
    }
}

fn default_quantity(text: &str) -> Quantity {
    // The defaults are constants of this module and always parse.
    parse_quantity(text).unwrap_or_else(|error| panic!("default quantity {text}: {error}"))
}

fn decode_cluster(value: &Value<'_>, report: &mut Report) -> Option<Vec<ClusterNode>> {
    let mut cluster = value.map(report)?;
    let nodes_value = cluster.required("nodes", report);
    let capacity_value = cluster.optional("nodeCapacity");
    cluster.finish_strict(report);
    let nodes_value = nodes_value?;
    match &nodes_value.node.kind {
        NodeKind::Seq(_) => {
            if let Some(capacity) = &capacity_value {
                report.error(
                    capacity.pos(),
                    &capacity.path,
                    "nodeCapacity applies only when nodes is a count; with a list, give cpu, memory and pods on each node",
                );
            }
            decode_node_list(&nodes_value, report)
        }
        _ => {
            let count = nodes_value.i64_in(report, 1, MAX_NODES as i64)?;
            let mut cpu = default_quantity(DEFAULT_NODE_CPU);
            let mut memory = default_quantity(DEFAULT_NODE_MEMORY);
            let mut pods = DEFAULT_NODE_PODS;
            if let Some(capacity) = capacity_value {
                let mut capacity = capacity.map(report)?;
                let cpu_value = capacity.optional("cpu");
                let memory_value = capacity.optional("memory");
                let pods_value = capacity.optional("pods");
                capacity.finish_strict(report);
                if let Some(value) = cpu_value {
                    cpu = value.positive_quantity(report)?;
                }
                if let Some(value) = memory_value {
                    memory = value.positive_quantity(report)?;
                }
                if let Some(value) = pods_value {
                    pods = value.i64_in(report, 1, MAX_NODE_PODS)? as u32;
                }
            }
            Some(
                (0..count)
                    .map(|index| ClusterNode {
                        name: format!("node-{index}"),
                        cpu,
                        memory,
                        pods,
                        labels: BTreeMap::new(),
                    })
                    .collect(),
            )
        }
    }
}

fn decode_node_list(value: &Value<'_>, report: &mut Report) -> Option<Vec<ClusterNode>> {
    let items = value.seq(report)?;
    if items.is_empty() || items.len() > MAX_NODES {
        report.error(
            value.pos(),
            &value.path,
            format!("expected from 1 to {MAX_NODES} nodes, got {}", items.len()),
        );
        return None;
    }
    let mut first_line_of_name: BTreeMap<String, u32> = BTreeMap::new();
    let mut nodes = Vec::new();
    let mut all_ok = true;
    for item in &items {
        let Some(mut map) = item.map(report) else {
            all_ok = false;
            continue;
        };
        let name = map.required("name", report).and_then(|value| {
            let name = value.str(report)?;
            if !is_dns1123_subdomain(&name) {
                report.error(
                    value.pos(),
                    &value.path,
                    format!("{name:?} is not a valid node name: use lowercase letters, digits, '-' and '.' (a DNS-1123 subdomain)"),
                );
                return None;
            }
            if let Some(first_line) = first_line_of_name.get(&name) {
                report.error(
                    value.pos(),
                    &value.path,
                    format!("duplicate node name {name:?}, first used on line {first_line}; node names must be unique"),
                );
                return None;
            }
            first_line_of_name.insert(name.clone(), value.pos().line);
            Some(name)
        });
        let cpu = map
            .optional("cpu")
            .map_or(Some(default_quantity(DEFAULT_NODE_CPU)), |value| {
                value.positive_quantity(report)
            });
        let memory = map
            .optional("memory")
            .map_or(Some(default_quantity(DEFAULT_NODE_MEMORY)), |value| {
                value.positive_quantity(report)
            });
        let pods = map
            .optional("pods")
            .map_or(Some(i64::from(DEFAULT_NODE_PODS)), |value| {
                value.i64_in(report, 1, MAX_NODE_PODS)
            });
        let labels = map
            .optional("labels")
            .map_or(Some(BTreeMap::new()), |value| value.label_map(report));
        map.finish_strict(report);
        match (name, cpu, memory, pods, labels) {
            (Some(name), Some(cpu), Some(memory), Some(pods), Some(labels)) => {
                nodes.push(ClusterNode {
                    name,
                    cpu,
                    memory,
                    pods: pods as u32,
                    labels,
                })
            }
            _ => all_ok = false,
        }
    }
    all_ok.then_some(nodes)
}

fn decode_placeholders(value: &Value<'_>, report: &mut Report) -> Option<BTreeMap<String, String>> {
    let map = value.string_map(report)?;
    let mut ok = true;
    for key in map.keys() {
        if key.is_empty() || key.contains(['<', '>']) || key.contains(char::is_whitespace) {
            report.error(
                value.pos(),
                &child_path(&value.path, key),
                format!("placeholder name {key:?} must be non-empty, without spaces, '<' or '>'; it is written <name> in manifests"),
            );
            ok = false;
        }
    }
    ok.then_some(map)
}

/// Replaces `<key>` by its value in manifest text, remembering which keys were used.
///
/// One pass over the text: a replacement is never scanned again, so a value that holds
/// `<other>` stays as written and placeholders cannot expand each other (a chain of
/// doubling placeholders would otherwise grow the text 2^n times). All the text that
/// substitution produces for one scenario is bounded by [`MAX_SUBSTITUTED_BYTES`].
pub(super) struct Substitution {
    placeholders: BTreeMap<String, String>,
    used: BTreeSet<String>,
    /// Bytes of substituted text produced so far (texts that held a placeholder).
    produced: usize,
    /// Whether the limit was passed: reported once, at the first field it happened in.
    exceeded: bool,
}

impl Substitution {
    fn new(placeholders: BTreeMap<String, String>) -> Self {
        Substitution {
            placeholders,
            used: BTreeSet::new(),
            produced: 0,
            exceeded: false,
        }
    }

    /// `text` with its placeholders replaced, or `None` when that would pass
    /// [`MAX_SUBSTITUTED_BYTES`] (the text built so far is dropped at that point).
    fn apply(&mut self, text: &str) -> Option<String> {
        if self.exceeded {
            return None;
        }
        if self.placeholders.is_empty() || !text.contains('<') {
            return Some(text.to_string());
        }
        let mut result = String::new();
        let mut rest = text;
        let mut changed = false;
        while let Some(open) = rest.find('<') {
            result.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let key = after.find('>').map(|close| &after[..close]);
            match key.and_then(|key| self.placeholders.get_key_value(key)) {
                Some((key, replacement)) => {
                    result.push_str(replacement);
                    self.used.insert(key.clone());
                    changed = true;
                    rest = &after[key.len() + 1..];
                }
                None => {
                    result.push('<');
                    rest = after;
                }
            }
            if self.produced + result.len() > MAX_SUBSTITUTED_BYTES {
                self.exceeded = true;
                return None;
            }
        }
        result.push_str(rest);
        if changed {
            self.produced += result.len();
            if self.produced > MAX_SUBSTITUTED_BYTES {
                self.exceeded = true;
                return None;
            }
        }
        Some(result)
    }

    /// [`Substitution::apply`] for text at `pos`/`field`; reports passing the limit
    /// there (only the first time: later fields fail for the same reason).
    fn apply_at(
        &mut self,
        text: &str,
        pos: Pos,
        field: &str,
        report: &mut Report,
    ) -> Option<String> {
        let already = self.exceeded;
        let result = self.apply(text);
        if result.is_none() && !already {
            substitution_limit_error(pos, field, report);
        }
        result
    }

    /// `node` (the object at `at`) with its placeholders replaced, or `None` (reported
    /// at `at`, the first time) when the limit is passed.
    fn apply_to_node(
        &mut self,
        mut node: Node,
        at: &Value<'_>,
        report: &mut Report,
    ) -> Option<Node> {
        let already = self.exceeded;
        self.apply_in_place(&mut node);
        if !self.exceeded {
            return Some(node);
        }
        if !already {
            substitution_limit_error(at.pos(), &at.path, report);
        }
        None
    }

    fn apply_in_place(&mut self, node: &mut Node) {
        match &mut node.kind {
            NodeKind::Null => {}
            NodeKind::Scalar { text, .. } => {
                if let Some(substituted) = self.apply(text) {
                    *text = substituted;
                }
            }
            NodeKind::Seq(items) => items.iter_mut().for_each(|item| self.apply_in_place(item)),
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    self.apply_in_place(key);
                    self.apply_in_place(value);
                }
            }
        }
    }
}

fn substitution_limit_error(pos: Pos, field: &str, report: &mut Report) {
    report.error(
        pos,
        field,
        format!(
            "filling in placeholders here makes the substituted text of this scenario more than {MAX_SUBSTITUTED_BYTES} bytes (16 MiB), poolsim's limit (MAX_SUBSTITUTED_BYTES, docs/LIMITS.md); a placeholder value is very long or used very often"
        ),
    );
}

/// A Kubernetes object: a mapping with `apiVersion` and `kind`. Its other fields are
/// checked by the model, as admission would.
pub(super) fn decode_object(value: &Value<'_>, report: &mut Report) -> Option<Node> {
    let NodeKind::Map(_) = value.node.kind else {
        value.expected(
            report,
            "a Kubernetes object (a mapping with apiVersion, kind, metadata, ...)",
        );
        return None;
    };
    let mut ok = true;
    for key in ["apiVersion", "kind"] {
        match value.node.get(key) {
            Some(field) => {
                if Value::new(field, child_path(&value.path, key))
                    .non_empty_str(report)
                    .is_none()
                {
                    ok = false;
                }
            }
            None => {
                report.error(
                    value.pos(),
                    &child_path(&value.path, key),
                    format!("a Kubernetes object needs {key:?}"),
                );
                ok = false;
            }
        }
    }
    ok.then(|| value.node.clone())
}

/// Whether a list holds at most `max` items; if not, reports an error naming the limit
/// (`limit_name` is the constant in `scenario`, documented in docs/LIMITS.md).
fn within_count(
    value: &Value<'_>,
    max: usize,
    what: &str,
    limit_name: &str,
    report: &mut Report,
) -> bool {
    match &value.node.kind {
        NodeKind::Seq(items) if items.len() > max => {
            report.error(
                value.pos(),
                &value.path,
                format!(
                    "{} {what}, more than poolsim's limit of {max} ({limit_name}, docs/LIMITS.md)",
                    items.len()
                ),
            );
            false
        }
        _ => true,
    }
}

/// Resolves a `manifestFiles` entry inside the scenario's folder.
///
/// Decision: absolute paths and paths that climb out of the scenario's folder with
/// `..` are refused, so a scenario folder is self-contained (it can be shared, checked
/// in and run by others) and a scenario can never make poolsim read arbitrary files.
/// `a/../b` is fine. Symbolic links are resolved, and one that leads out of the folder
/// is refused before the file is read (`crate::input::inside_folder`).
fn resolve_inside(scenario_dir: &Path, relative: &str) -> Result<PathBuf, String> {
    crate::input::inside_folder(scenario_dir, relative, "the scenario file's folder")
}

pub(super) fn read_manifest_file(
    item: &Value<'_>,
    scenario_file: &Path,
    substitution: &mut Substitution,
    manifests: &mut Vec<Manifest>,
    report: &mut Report,
) -> u64 {
    let Some(relative) = item.non_empty_str(report) else {
        return 0;
    };
    let scenario_dir = scenario_file.parent().unwrap_or(Path::new(""));
    let path = match resolve_inside(scenario_dir, &relative) {
        Ok(path) => path,
        Err(message) => {
            report.error(item.pos(), &item.path, message);
            return 0;
        }
    };
    let bytes = match crate::input::read_bytes(&path, FileKind::Yaml) {
        Ok(bytes) => bytes,
        Err(error) => {
            report.error(
                item.pos(),
                &item.path,
                format!("cannot read manifest file {error}"),
            );
            return 0;
        }
    };
    let limits = Limits::default();
    let mut file_report = Report::new(&path);
    let documents = match check_text(&bytes, &limits) {
        Err(error) => Err(error),
        Ok(text) => match substitution.apply_at(text, item.pos(), &item.path, report) {
            // Reported at the manifestFiles entry.
            None => return bytes.len() as u64,
            Some(text) => parse_documents(&text, &limits),
        },
    };
    let not_manifest = super::object_files::not_a_manifest(&bytes, documents.as_deref().ok());
    match (documents, not_manifest) {
        (Err(error), _) => file_report.error(error.pos, "", error.message),
        (Ok(_), Some(what)) => file_report.error(Pos { line: 1, col: 1 }, "", what.explanation()),
        (Ok(documents), None) => {
            let mut found_any = false;
            for (index, document) in documents.iter().enumerate() {
                // kubectl skips empty documents (for example after a trailing ---).
                if document.kind == NodeKind::Null {
                    continue;
                }
                found_any = true;
                let value = Value::new(document, format!("[{index}]"));
                if let Some(object) = decode_object(&value, &mut file_report) {
                    for (object, field) in flatten_lists(&object, &value.path, &mut file_report) {
                        manifests.push(Manifest {
                            file: path.clone(),
                            field,
                            object,
                        });
                    }
                }
            }
            if !found_any {
                file_report.error(
                    Pos { line: 1, col: 1 },
                    "",
                    "the manifest file holds no object",
                );
            }
        }
    }
    report.diagnostics.append(&mut file_report.diagnostics);
    bytes.len() as u64
}

fn decode_load(
    value: &Value<'_>,
    duration_ms: Option<u64>,
    report: &mut Report,
) -> Option<Vec<LoadPoint>> {
    let points = value.seq_of(report, |item, report| {
        let mut map = item.map(report)?;
        let at = map
            .required("at", report)
            .and_then(|v| v.duration_ms(report));
        let cores = map
            .required("cores", report)
            .and_then(|v| v.f64_at_least(report, 0.0));
        let ramp = map
            .optional("rampOver")
            .map_or(Some(0), |v| v.duration_ms(report));
        map.finish_strict(report);
        Some((
            LoadPoint {
                at_ms: at?,
                cores: cores?,
                ramp_over_ms: ramp?,
            },
            item.pos(),
            item.path.clone(),
        ))
    })?;
    let mut previous_ms = 0;
    let mut ok = true;
    for (point, pos, path) in &points {
        if point.at_ms < previous_ms {
            report.error(
                *pos,
                &child_path(path, "at"),
                format!(
                    "load points must be in time order: {} comes after {}",
                    format_duration_ms(point.at_ms),
                    format_duration_ms(previous_ms)
                ),
            );
            ok = false;
        }
        previous_ms = previous_ms.max(point.at_ms);
        if let Some(duration_ms) = duration_ms {
            if point.at_ms > duration_ms {
                report.warning(
                    *pos,
                    &child_path(path, "at"),
                    format!(
                        "{} is after the end of the run ({}); this point has no effect",
                        format_duration_ms(point.at_ms),
                        format_duration_ms(duration_ms)
                    ),
                );
            }
        }
    }
    ok.then(|| points.into_iter().map(|(point, _, _)| point).collect())
}

fn decode_event(
    item: &Value<'_>,
    node_names: Option<&BTreeSet<&str>>,
    duration_ms: Option<u64>,
    files: &mut ScenarioFiles<'_, '_>,
    report: &mut Report,
) -> Option<Vec<ScheduledEvent>> {
    let mut map = item.map(report)?;
    let at_value = map.required("at", report);
    let at_ms = at_value.as_ref().and_then(|v| v.duration_ms(report));
    let present: Vec<&'static str> = EVENT_ACTIONS
        .iter()
        .copied()
        .filter(|action| map.has(action))
        .collect();
    let mut actions = Vec::new();
    for action in EVENT_ACTIONS {
        if let Some(value) = map.optional(action) {
            actions.push((*action, value));
        }
    }
    let has_other_keys = match &item.node.kind {
        NodeKind::Map(entries) => entries.len() > present.len() + usize::from(at_value.is_some()),
        _ => false,
    };
    map.finish_strict(report);
    let action = match actions.as_slice() {
        [] => {
            if !has_other_keys {
                report.error(
                    item.pos(),
                    &item.path,
                    format!(
                        "an event needs one action; valid actions: {}",
                        EVENT_ACTIONS.join(", ")
                    ),
                );
            }
            None
        }
        [(name, value)] => decode_actions(name, value, node_names, files, report),
        [_, (_, second), ..] => {
            report.error(
                second.pos(),
                &item.path,
                format!(
                    "one event can do one thing, but this one has {}; split it into one event per action (same `at` is fine)",
                    present.join(" and ")
                ),
            );
            None
        }
    };
    let at_ms = at_ms?;
    if let (Some(duration_ms), Some(at_value)) = (duration_ms, &at_value) {
        if at_ms > duration_ms {
            report.warning(
                at_value.pos(),
                &at_value.path,
                format!(
                    "{} is after the end of the run ({}); this event will never happen",
                    format_duration_ms(at_ms),
                    format_duration_ms(duration_ms)
                ),
            );
        }
    }
    // One event per object of an apply or delete file, as `kubectl apply -f` makes
    // one request per object, in the file's order.
    let events = action?
        .into_iter()
        .map(|(action, source)| ScheduledEvent {
            at_ms,
            action,
            field: item.path.clone(),
            pos: item.pos(),
            source,
        })
        .collect();
    Some(events)
}

/// `spec.events`: each entry, the objects of apply and delete files expanded into one
/// event each; at most [`MAX_EVENTS`] entries, and at most that many events.
fn decode_events(
    value: &Value<'_>,
    node_names: Option<&BTreeSet<&str>>,
    duration_ms: Option<u64>,
    files: &mut ScenarioFiles<'_, '_>,
    report: &mut Report,
) -> Option<Vec<ScheduledEvent>> {
    if !within_count(value, MAX_EVENTS, "events", "MAX_EVENTS", report) {
        return None;
    }
    let lists = value.seq_of(report, |item, report| {
        decode_event(item, node_names, duration_ms, files, report)
    })?;
    let events: Vec<ScheduledEvent> = lists.into_iter().flatten().collect();
    if events.len() > MAX_EVENTS {
        report.error(
            value.pos(),
            &value.path,
            format!(
                "with one event per object of each apply and delete file, {} events, more than poolsim's limit of {MAX_EVENTS} (MAX_EVENTS, docs/LIMITS.md)",
                events.len()
            ),
        );
        return None;
    }
    Some(events)
}

/// The actions of one event: one, or one per object for `apply: {file}` and
/// `delete: {file}` (each with the file and document it came from).
fn decode_actions(
    name: &str,
    value: &Value<'_>,
    node_names: Option<&BTreeSet<&str>>,
    files: &mut ScenarioFiles<'_, '_>,
    report: &mut Report,
) -> Option<Vec<(Action, Option<ObjectSource>)>> {
    match name {
        "apply" | "delete" if super::object_files::names_a_file(value) => {
            super::object_files::decode_file_action(name, value, files, report)
        }
        _ => decode_action(name, value, node_names, files.substitution, report)
            .map(|action| vec![(action, None)]),
    }
}

fn required_name(
    map: &mut MapReader<'_>,
    key: &'static str,
    report: &mut Report,
) -> Option<String> {
    map.required(key, report)?.non_empty_str(report)
}

fn decode_action(
    name: &str,
    value: &Value<'_>,
    node_names: Option<&BTreeSet<&str>>,
    substitution: &mut Substitution,
    report: &mut Report,
) -> Option<Action> {
    if name == "apply" {
        let object = decode_object(value, report)?;
        return Some(Action::Apply {
            object: substitution.apply_to_node(object, value, report)?,
        });
    }
    let mut map = value.map(report)?;
    let action = match name {
        "scale" => {
            let pool = required_name(&mut map, "pool", report);
            let replicas = map.required("replicas", report).and_then(|v| {
                let replicas = v.i64_in(report, 0, i64::from(i32::MAX))?;
                if replicas > MAX_REPLICAS {
                    report.error(v.pos(), &v.path, replicas_limit_message(replicas));
                    return None;
                }
                Some(replicas)
            });
            Some(Action::Scale {
                pool: pool?,
                replicas: replicas? as u32,
            })
        }
        "delete" => {
            let kind = required_name(&mut map, "kind", report);
            let name = required_name(&mut map, "name", report);
            Some(Action::Delete {
                kind: kind?,
                name: name?,
            })
        }
        "patch" => {
            let kind = required_name(&mut map, "kind", report);
            let name = required_name(&mut map, "name", report);
            let patch = map.required("mergePatch", report).and_then(|v| {
                if let NodeKind::Map(_) = v.node.kind {
                    substitution.apply_to_node(v.node.clone(), &v, report)
                } else {
                    v.expected(report, "a JSON merge patch (a mapping)");
                    None
                }
            });
            Some(Action::Patch {
                kind: kind?,
                name: name?,
                merge_patch: patch?,
            })
        }
        "killGuest" => Some(Action::KillGuest {
            vm: required_name(&mut map, "vm", report)?,
        }),
        "hangGuest" => Some(Action::HangGuest {
            vm: required_name(&mut map, "vm", report)?,
        }),
        "unhangGuest" => Some(Action::UnhangGuest {
            vm: required_name(&mut map, "vm", report)?,
        }),
        "detachVm" => Some(Action::DetachVm {
            vm: required_name(&mut map, "vm", report)?,
        }),
        "failDataVolume" => decode_fail_data_volume(&mut map, value, report),
        "failImagePull" => Some(Action::FailImagePull {
            image: required_name(&mut map, "image", report)?,
        }),
        "setLoad" => {
            let cores = map
                .required("cores", report)
                .and_then(|v| v.f64_at_least(report, 0.0));
            let ramp = map
                .optional("rampOver")
                .map_or(Some(0), |v| v.duration_ms(report));
            Some(Action::SetLoad {
                cores: cores?,
                ramp_over_ms: ramp?,
            })
        }
        _ => {
            let node_ref = decode_node_ref(&mut map, value, node_names, report);
            map.finish_strict(report);
            let node_ref = node_ref?;
            return Some(match name {
                "partitionNode" => Action::PartitionNode(node_ref),
                "healNode" => Action::HealNode(node_ref),
                "crashNode" => Action::CrashNode(node_ref),
                "recoverNode" => Action::RecoverNode(node_ref),
                _ => Action::FenceNode(node_ref),
            });
        }
    };
    map.finish_strict(report);
    action
}

/// `failDataVolume`: exactly one of `dataVolume` (a DataVolume name) or `vm` (a VM,
/// whose DataVolumes fail), and an optional `reason` (default Failed).
fn decode_fail_data_volume(
    map: &mut MapReader<'_>,
    value: &Value<'_>,
    report: &mut Report,
) -> Option<Action> {
    let by_name = map.optional("dataVolume");
    let by_vm = map.optional("vm");
    let reason = match map.optional("reason") {
        None => Some(DataVolumeFailure::Failed),
        Some(reason) => reason
            .one_of(report, DataVolumeFailure::NAMES)
            .and_then(|name| DataVolumeFailure::from_name(&name)),
    };
    let target = match (by_name, by_vm) {
        (Some(name), None) => DataVolumeRef::Name(name.non_empty_str(report)?),
        (None, Some(vm)) => DataVolumeRef::OfVm(vm.non_empty_str(report)?),
        (Some(_), Some(vm)) => {
            report.error(
                vm.pos(),
                &value.path,
                "give either dataVolume (a DataVolume name) or vm (a VM name), not both",
            );
            return None;
        }
        (None, None) => {
            report.error(
                value.pos(),
                &value.path,
                "missing dataVolume (a DataVolume name) or vm (a VM whose DataVolumes fail)",
            );
            return None;
        }
    };
    Some(Action::FailDataVolume {
        target,
        reason: reason?,
    })
}

fn decode_node_ref(
    map: &mut MapReader<'_>,
    value: &Value<'_>,
    node_names: Option<&BTreeSet<&str>>,
    report: &mut Report,
) -> Option<NodeRef> {
    let by_name = map.optional("node");
    let by_vm = map.optional("nodeOf");
    match (by_name, by_vm) {
        (Some(node), None) => {
            let name = node.non_empty_str(report)?;
            if let Some(names) = node_names {
                if !names.contains(name.as_str()) {
                    let listed: Vec<&str> = names.iter().copied().collect();
                    let hint = if listed.len() <= 20 {
                        unknown_name_hint(&name, &listed)
                    } else {
                        match super::decode::did_you_mean(&name, &listed) {
                            Some(suggestion) => format!("did you mean {suggestion:?}?"),
                            None => format!(
                                "the cluster has {} nodes, named in spec.cluster",
                                listed.len()
                            ),
                        }
                    };
                    report.error(
                        node.pos(),
                        &node.path,
                        format!("no node named {name:?} in spec.cluster; {hint}"),
                    );
                    return None;
                }
            }
            Some(NodeRef::Name(name))
        }
        (None, Some(vm)) => Some(NodeRef::NodeOf(vm.non_empty_str(report)?)),
        (Some(_), Some(vm)) => {
            report.error(
                vm.pos(),
                &value.path,
                "give either node (a node name) or nodeOf (a VM name), not both",
            );
            None
        }
        (None, None) => {
            report.error(
                value.pos(),
                &value.path,
                format!(
                    "expected {{node: NODE_NAME}} or {{nodeOf: VM_NAME}}, got {}",
                    describe(value.node)
                ),
            );
            None
        }
    }
}

fn decode_expectation(
    item: &Value<'_>,
    duration_ms: Option<u64>,
    report: &mut Report,
) -> Option<Expectation> {
    let mut map = item.map(report)?;
    let metric = map.optional("metric");
    let column = map.optional("column");
    let at = map.optional("at");
    let during = map.optional("during");
    let mut comparisons = Vec::new();
    for key in ["atMost", "atLeast", "equals"] {
        if let Some(value) = map.optional(key) {
            comparisons.push((key, value));
        }
    }
    map.finish_strict(report);

    let comparison = match comparisons.as_slice() {
        [(key, value)] => value.f64(report).map(|number| match *key {
            "atMost" => Comparison::AtMost(number),
            "atLeast" => Comparison::AtLeast(number),
            _ => Comparison::Equals(number),
        }),
        [] => {
            report.error(
                item.pos(),
                &item.path,
                "an expectation needs one of atMost, atLeast or equals",
            );
            None
        }
        [_, (_, second), ..] => {
            report.error(
                second.pos(),
                &item.path,
                "give only one of atMost, atLeast or equals; write two expectations for a range",
            );
            None
        }
    };

    let target = match (metric, column) {
        (Some(metric), None) => {
            for value in [&at, &during].into_iter().flatten() {
                report.error(
                    value.pos(),
                    &value.path,
                    "at and during apply to column expectations; a metric is one number for the whole run",
                );
            }
            let name = metric.one_of(report, SUMMARY_METRICS)?;
            if at.is_some() || during.is_some() {
                return None;
            }
            ExpectTarget::Metric(name)
        }
        (None, Some(column)) => {
            let name = column.one_of(report, &crate::timeseries::expectable_names());
            decode_column_window(name, item, at, during, duration_ms, report)?
        }
        (Some(_), Some(column)) => {
            report.error(
                column.pos(),
                &item.path,
                "give either metric (a summary.json field) or column (a timeseries.csv column), not both",
            );
            return None;
        }
        (None, None) => {
            report.error(
                item.pos(),
                &item.path,
                "an expectation needs metric (a summary.json field) or column (a timeseries.csv column)",
            );
            return None;
        }
    };
    Some(Expectation {
        target,
        comparison: comparison?,
        field: item.path.clone(),
        pos: item.pos(),
    })
}

fn check_within_run(
    value: &Value<'_>,
    time_ms: u64,
    duration_ms: Option<u64>,
    report: &mut Report,
) -> bool {
    match duration_ms {
        Some(duration_ms) if time_ms > duration_ms => {
            report.error(
                value.pos(),
                &value.path,
                format!(
                    "{} is after the end of the run ({}); there is no row to check",
                    format_duration_ms(time_ms),
                    format_duration_ms(duration_ms)
                ),
            );
            false
        }
        _ => true,
    }
}

fn decode_column_window(
    name: Option<String>,
    item: &Value<'_>,
    at: Option<Value<'_>>,
    during: Option<Value<'_>>,
    duration_ms: Option<u64>,
    report: &mut Report,
) -> Option<ExpectTarget> {
    match (at, during) {
        (Some(at), None) => {
            let at_ms = at.duration_ms(report)?;
            if !check_within_run(&at, at_ms, duration_ms, report) {
                return None;
            }
            Some(ExpectTarget::ColumnAt {
                column: name?,
                at_ms,
            })
        }
        (None, Some(during)) => {
            let bounds = during.seq(report)?;
            if bounds.len() != 2 {
                during.expected(report, "[FROM, TO], two durations");
                return None;
            }
            let from_ms = bounds[0].duration_ms(report);
            let to_ms = bounds[1].duration_ms(report);
            let (from_ms, to_ms) = (from_ms?, to_ms?);
            if from_ms > to_ms {
                report.error(
                    bounds[1].pos(),
                    &during.path,
                    format!(
                        "the window ends ({}) before it starts ({})",
                        format_duration_ms(to_ms),
                        format_duration_ms(from_ms)
                    ),
                );
                return None;
            }
            if !check_within_run(&bounds[1], to_ms, duration_ms, report) {
                return None;
            }
            Some(ExpectTarget::ColumnDuring {
                column: name?,
                from_ms,
                to_ms,
            })
        }
        (Some(_), Some(during)) => {
            report.error(
                during.pos(),
                &item.path,
                "give either at (one time) or during ([FROM, TO]), not both",
            );
            None
        }
        (None, None) => {
            report.error(
                item.pos(),
                &item.path,
                "a column expectation needs at: TIME or during: [FROM, TO]",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for good in ["a", "lab05-node-partition", "0abc", &"a".repeat(63)] {
            assert!(is_dns1123_label(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a.b",
            "../x",
            "x/y",
            &"a".repeat(64),
        ] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        assert!(is_dns1123_subdomain("worker-1.example"));
        assert!(!is_dns1123_subdomain("worker..1"));
    }

    #[test]
    fn manifest_paths_stay_inside_the_scenario_folder() {
        let dir = Path::new("scenarios/lab");
        assert_eq!(
            resolve_inside(dir, "manifests/pool.yaml").unwrap(),
            Path::new("scenarios/lab/manifests/pool.yaml")
        );
        assert!(resolve_inside(dir, "a/../b.yaml").is_ok());
        assert!(resolve_inside(dir, "../b.yaml")
            .unwrap_err()
            .contains("leaves"));
        assert!(resolve_inside(dir, "a/../../b.yaml")
            .unwrap_err()
            .contains("leaves"));
        assert!(resolve_inside(dir, "/etc/passwd")
            .unwrap_err()
            .contains("absolute"));
        assert!(resolve_inside(dir, ".")
            .unwrap_err()
            .contains("does not name"));
    }

    #[test]
    fn label_keys_and_values_follow_upstream_rules() {
        for key in ["app", "kubevirt.io/vmpool", "a_b.c-d", "A1"] {
            assert!(label_key_problems(key).is_empty(), "{key}");
        }
        for key in [
            "bad key",
            "emoji🙂",
            "-a",
            "a/",
            "/a",
            "Example.com/a",
            "a/b/c",
            "",
        ] {
            assert!(!label_key_problems(key).is_empty(), "{key:?}");
        }
        assert!(!label_key_problems(&"a".repeat(64)).is_empty());
        for value in ["", "x", "1.2_3-A"] {
            assert!(label_value_problems(value).is_empty(), "{value:?}");
        }
        for value in ["two words", "🙂", "a-", &"a".repeat(64)] {
            assert!(!label_value_problems(value).is_empty(), "{value:?}");
        }
    }

    #[test]
    fn substitution_is_one_pass_and_bounded() {
        let mut substitution = Substitution::new(BTreeMap::from([
            ("a".to_string(), "<b><b>".to_string()),
            ("b".to_string(), "x".to_string()),
        ]));
        // The replacement of <a> is not scanned again.
        assert_eq!(substitution.apply("<a> <b>").unwrap(), "<b><b> x");
        let mut big = Substitution::new(BTreeMap::from([(
            "big".to_string(),
            "x".repeat(1024 * 1024),
        )]));
        let text = "<big>".repeat(17);
        assert!(big.apply(&text).is_none());
        // Once over the limit, every later text is refused too.
        assert!(big.apply("<big>").is_none());
    }

    #[test]
    fn substitution_replaces_every_occurrence_and_tracks_use() {
        let mut substitution = Substitution::new(BTreeMap::from([
            ("username".to_string(), "alice".to_string()),
            ("unused".to_string(), "x".to_string()),
        ]));
        assert_eq!(
            substitution
                .apply("lab-<username> <username> <other>")
                .unwrap(),
            "lab-alice alice <other>"
        );
        assert_eq!(substitution.used, BTreeSet::from(["username".to_string()]));
    }
}
