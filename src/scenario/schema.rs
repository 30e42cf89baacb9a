//! The JSON Schema (draft 2020-12) of the scenario format (DESIGN.md §1.2), printed by
//! `poolsim schema` for editors and CI linters. Written by hand from the decoder in
//! `spec.rs`; `tests/cli_analysis_test.rs` asks the decoder for the keys it accepts at
//! every level and checks that the schema names each of them, so the two stay in sync.
//! The schema describes shapes; the decoder still checks what a schema cannot (names
//! of nodes and VMs, durations within the run, admission of manifests).

use super::{
    API_VERSION, DEFAULT_ALGORITHM, DEFAULT_NAMESPACE, DEFAULT_NODE_CPU, DEFAULT_NODE_MEMORY,
    DEFAULT_NODE_PODS, KIND, SUMMARY_METRICS,
};
use crate::cluster::settings::{SettingType, Settings};
use serde_json::{json, Value};

/// Go duration syntax plus `d` for days, as `units::parse_duration` reads it.
const DURATION_PATTERN: &str = r"^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+)$";
/// Kubernetes quantity syntax (`500m`, `2Gi`, `1e3`).
const QUANTITY_PATTERN: &str =
    r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$";

fn duration(description: &str) -> Value {
    json!({"type": "string", "pattern": DURATION_PATTERN, "description": description})
}

fn quantity(description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [
            {"type": "string", "pattern": QUANTITY_PATTERN},
            {"type": "number"}
        ]
    })
}

fn name(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

fn closed_object(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties
    })
}

fn node_target() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "the node by name, or the node that VM's instance runs on at that moment",
        "properties": {
            "node": name("a node name from spec.cluster"),
            "nodeOf": name("a VM name; resolves to its instance's node")
        },
        "oneOf": [{"required": ["node"]}, {"required": ["nodeOf"]}]
    })
}

fn kubernetes_object(description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "required": ["apiVersion", "kind", "metadata"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"}
        }
    })
}

/// The `file` of `apply: {file}` and `delete: {file}`.
fn manifest_file_path() -> Value {
    name("a manifest file (multi-document) relative to the scenario, inside its folder")
}

/// `spec.secrets[]`: a Secret as `kubectl create secret generic` makes it.
fn secret_schema() -> Value {
    let source = |other: &str, description: &str| {
        json!({"anyOf": [
            {"type": "string", "minLength": 1, "description": description},
            {
                "type": "object",
                "additionalProperties": false,
                "required": [other],
                "properties": {"key": {"type": "string"}, other: {"type": "string"}}
            }
        ]})
    };
    closed_object(
        &["name"],
        json!({
            "name": name("the Secret's name"),
            "namespace": name("default: spec.namespace"),
            "type": name("kubectl --type; default Opaque"),
            "fromFile": {"type": "array", "items": source("path", "kubectl --from-file=[KEY=]PATH: a file (key: its name) or a folder, relative to the scenario")},
            "fromLiteral": {"type": "array", "items": source("value", "kubectl --from-literal=KEY=VALUE")},
            "fromEnvFile": {"type": "array", "items": name("kubectl --from-env-file=PATH: KEY=VALUE lines")}
        }),
    )
}

/// One event action's schema, by its name in the file.
fn action_schema(action: &str) -> Value {
    match action {
        "scale" => closed_object(
            &["pool", "replicas"],
            json!({
                "pool": name("the VirtualMachinePool"),
                "replicas": {"type": "integer", "minimum": 0, "maximum": i32::MAX}
            }),
        ),
        "apply" => {
            let mut object = kubernetes_object(
                "an object as `kubectl apply` takes it, or {file: PATH}: every object of a manifest file, in order (`kubectl apply -f`)",
            );
            object["properties"]["file"] = manifest_file_path();
            object["required"] = json!([]);
            object["oneOf"] = json!([
                {"required": ["apiVersion", "kind", "metadata"]},
                {"required": ["file"], "maxProperties": 1}
            ]);
            object
        }
        "delete" => json!({
            "type": "object",
            "additionalProperties": false,
            "description": "{kind, name}, or {file: PATH}: every object a manifest file names, in order (`kubectl delete -f`)",
            "properties": {
                "kind": name("object kind"),
                "name": name("object name"),
                "file": manifest_file_path()
            },
            "oneOf": [{"required": ["kind", "name"]}, {"required": ["file"], "maxProperties": 1}]
        }),
        "patch" => closed_object(
            &["kind", "name", "mergePatch"],
            json!({
                "kind": name("object kind"),
                "name": name("object name"),
                "mergePatch": {"type": "object", "description": "a JSON merge patch (RFC 7386)"}
            }),
        ),
        "killGuest" => closed_object(&["vm"], json!({"vm": name("the VM whose guest crashes")})),
        "hangGuest" => closed_object(
            &["vm"],
            json!({"vm": name("the VM whose guest stops answering while it keeps running")}),
        ),
        "unhangGuest" => closed_object(
            &["vm"],
            json!({"vm": name("the VM whose hung guest answers again")}),
        ),
        "detachVm" => closed_object(
            &["vm"],
            json!({"vm": name("the VM that loses the pool's ownerReference")}),
        ),
        "failImagePull" => closed_object(
            &["image"],
            json!({"image": name("the image (a containerDisk's) no pull succeeds for from now on")}),
        ),
        "failDataVolume" => json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "dataVolume": name("the DataVolume that fails"),
                "vm": name("the VM whose DataVolumes fail"),
                "reason": {
                    "enum": ["Failed", "Error", "ImagePullFailed"],
                    "description": "Failed: phase Failed (default); Error or ImagePullFailed: CDI's Running=False condition reason"
                }
            },
            "oneOf": [{"required": ["dataVolume"]}, {"required": ["vm"]}]
        }),
        "setLoad" => closed_object(
            &["cores"],
            json!({
                "cores": {"type": "number", "minimum": 0},
                "rampOver": duration("linear ramp from the current load; default 0s")
            }),
        ),
        // partitionNode, healNode, crashNode, recoverNode, fenceNode
        _ => node_target(),
    }
}

fn settings_schema() -> Value {
    let mut properties = serde_json::Map::new();
    for (setting, kind, doc) in Settings::CATALOGUE {
        let description = doc.trim().replace('\n', " ");
        let schema = match kind {
            SettingType::DurationMs => duration(&description),
            SettingType::Count => json!({
                "type": "integer", "minimum": 0, "maximum": u32::MAX, "description": description
            }),
            SettingType::Ratio => {
                json!({"type": "number", "minimum": 0, "description": description})
            }
            SettingType::Flag => json!({"type": "boolean", "description": description}),
        };
        properties.insert(setting.to_string(), schema);
    }
    json!({
        "type": ["object", "null"],
        "additionalProperties": false,
        "description": "overrides of component timings and flags; each with its upstream default (src/cluster/settings.rs)",
        "properties": properties
    })
}

fn events_schema() -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert("at".into(), duration("when, from the start of the run"));
    for action in super::EVENT_ACTIONS {
        properties.insert(action.to_string(), action_schema(action));
    }
    let one_action: Vec<Value> = super::EVENT_ACTIONS
        .iter()
        .map(|action| json!({"required": [action]}))
        .collect();
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["at"],
            "description": "`at` and exactly one action",
            "properties": properties,
            "oneOf": one_action
        }
    })
}

fn expect_schema() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": false,
            "description": "metric (a summary.json number) or column (a timeseries.csv column, at one time or during a window), and one comparison",
            "properties": {
                "metric": {"enum": SUMMARY_METRICS},
                "column": {"enum": crate::timeseries::expectable_names()},
                "at": duration("the row at this time (column expectations)"),
                "during": {
                    "type": "array",
                    "items": {"type": "string", "pattern": DURATION_PATTERN},
                    "minItems": 2,
                    "maxItems": 2,
                    "description": "[from, to]: every row in the window (column expectations)"
                },
                "atMost": {"type": "number"},
                "atLeast": {"type": "number"},
                "equals": {"type": "number"}
            },
            "oneOf": [{"required": ["metric"]}, {"required": ["column"]}],
            "anyOf": [{"required": ["atMost"]}, {"required": ["atLeast"]}, {"required": ["equals"]}]
        }
    })
}

fn distribution_schema(description: &str) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": description,
        "properties": {
            "exponential": closed_object(&["mean"], json!({
                "mean": duration("the mean; memoryless, a constant rate")
            })),
            "weibull": closed_object(&["shape", "scale"], json!({
                "shape": {"type": "number", "exclusiveMinimum": 0, "description": "below 1 early failures, above 1 wear-out; 1 is exponential"},
                "scale": duration("the scale (63rd percentile)")
            })),
            "fixed": duration("always this long")
        },
        "oneOf": [{"required": ["exponential"]}, {"required": ["weibull"]}, {"required": ["fixed"]}]
    })
}

/// `spec.failures` (src/scenario/failures.rs).
fn failures_schema() -> Value {
    json!({
        "type": "array",
        "maxItems": super::failures::MAX_FAILURE_PROCESSES,
        "description": "random node failure processes, drawn per seed into node events",
        "items": closed_object(&["kind", "timeToFailure", "timeToRepair"], json!({
            "name": name("names the process's random streams; default its index"),
            "kind": {"enum": super::failures::FAILURE_KINDS, "description": "crash: crashNode then recoverNode; partition: partitionNode then healNode"},
            "nodes": {
                "description": "which nodes fail, each on its own; default all",
                "anyOf": [
                    {"const": "all"},
                    {"type": "array", "items": name("a node name from spec.cluster"), "minItems": 1},
                    closed_object(&["matchLabels"], json!({
                        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
                    }))
                ]
            },
            "timeToFailure": distribution_schema("up time before each failure"),
            "timeToRepair": distribution_schema("down time of each failure"),
            "fenceAfter": duration("crash only: fenceNode this long after the crash if the node is still down; the taint is removed when it recovers")
        }))
    })
}

fn cluster_schema() -> Value {
    let node = closed_object(
        &["name"],
        json!({
            "name": name("node name"),
            "cpu": quantity(&format!("CPU capacity; default {DEFAULT_NODE_CPU}")),
            "memory": quantity(&format!("memory capacity; default {DEFAULT_NODE_MEMORY}")),
            "pods": {"type": "integer", "minimum": 1, "default": DEFAULT_NODE_PODS},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}
        }),
    );
    closed_object(
        &["nodes"],
        json!({
            "nodes": {
                "description": "a count (nodes node-0, node-1, ...) or a list of nodes",
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": super::MAX_NODES},
                    {"type": "array", "items": node, "minItems": 1}
                ]
            },
            "nodeCapacity": closed_object(
                &[],
                json!({
                    "cpu": quantity(&format!("default {DEFAULT_NODE_CPU}")),
                    "memory": quantity(&format!("default {DEFAULT_NODE_MEMORY}")),
                    "pods": {"type": "integer", "minimum": 1, "default": DEFAULT_NODE_PODS}
                }),
            )
        }),
    )
}

/// The whole schema.
pub fn scenario_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://poolsim.io/schemas/scenario-v1alpha1.json",
        "title": "poolsim scenario",
        "description": "One simulation scenario of a KubeVirt VirtualMachinePool (DESIGN.md §1.2)",
        "type": "object",
        "additionalProperties": false,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": KIND},
            "metadata": closed_object(&["name"], json!({
                "name": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
                    "description": "a DNS-1123 label; names the output folder"
                },
                "description": {"type": "string"}
            })),
            "spec": closed_object(&["duration"], json!({
                "seed": {"type": "integer", "minimum": 0, "default": 0},
                "duration": duration("simulated time to run (at most 30d)"),
                "sampleInterval": duration("spacing of timeseries rows; default 5s, at least 100ms"),
                "algorithm": {
                    "type": "string",
                    "minLength": 1,
                    "default": DEFAULT_ALGORITHM,
                    "description": "a built-in algorithm (poolsim algorithms) or exec:PATH"
                },
                "namespace": {"type": "string", "default": DEFAULT_NAMESPACE},
                "cluster": cluster_schema(),
                "settings": settings_schema(),
                "placeholders": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "fills <key> in manifests"
                },
                "manifests": {
                    "type": "array",
                    "items": kubernetes_object("a Kubernetes or KubeVirt object")
                },
                "initialState": {
                    "enum": super::InitialState::NAMES,
                    "default": "empty",
                    "description": "empty, or fromManifests: start from the state a cluster export shows (docs/IMPORT.md)"
                },
                "manifestFiles": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "YAML files (multi-document) relative to the scenario"
                },
                "secrets": {
                    "type": "array",
                    "items": secret_schema(),
                    "description": "Secrets made as `kubectl create secret generic` makes them"
                },
                "load": {
                    "type": "array",
                    "items": closed_object(&["at", "cores"], json!({
                        "at": duration("when this load starts"),
                        "cores": {"type": "number", "minimum": 0},
                        "rampOver": duration("linear ramp from the previous load")
                    }))
                },
                "events": events_schema(),
                "failures": failures_schema(),
                "expect": expect_schema()
            }))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_and_action_is_described() {
        let schema = scenario_schema();
        let spec = &schema["properties"]["spec"]["properties"];
        for (setting, _, _) in Settings::CATALOGUE {
            assert!(
                spec["settings"]["properties"][setting].is_object(),
                "{setting}"
            );
        }
        for action in super::super::EVENT_ACTIONS {
            assert!(
                spec["events"]["items"]["properties"][action].is_object(),
                "{action}"
            );
        }
    }
}
