//! Issue 15, item 3 (and the check of item 4): the lab's files load as written.
//! `spec.secrets` makes a Secret as `kubectl create secret generic --from-file` does,
//! `apply`/`delete` events name manifest files, `validate` on the lab's folder names
//! the cloud-init user data instead of failing, and `scenarios/labs/lab05/` is the
//! lab's folder byte for byte. Bad input in each new form is exit 2 with
//! file:line:column, the field and what is valid.

mod common;

use common::{at, poolsim, poolsim_ok, rows, run_checked};
use poolsim::scenario::{load_str, Action, Manifest};
use std::path::Path;

/// The files of the lab text (KubeVirt lab 5.2), exactly as it creates them in
/// `labs/lab05/`; the HPA, which the lab shows without a file name, under the lab's
/// naming pattern.
const LAB_FILES: &[(&str, &str)] = &[
    (
        "cloudinit-userdata.yaml",
        "#cloud-config\npassword: kubevirt\nchpasswd: { expire: False }\ntimezone: Europe/Zurich\n",
    ),
    (
        "svc_lab05-webserver.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: lab05-webserver\nspec:\n  ports:\n  - port: 80\n    protocol: TCP\n    targetPort: 80\n  selector:\n    kubevirt.io/vmpool: lab05-webserver\n  type: ClusterIP\n",
    ),
    (
        "hpa_lab05-webserver.yaml",
        "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: lab05-webserver\nspec:\n  maxReplicas: 5\n  minReplicas: 2\n  scaleTargetRef:\n    apiVersion: pool.kubevirt.io/v1alpha1\n    kind: VirtualMachinePool\n    name: lab05-webserver\n  targetCPUUtilizationPercentage: 50\n",
    ),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_lab_folder_holds_the_lab_files_byte_for_byte() {
    let folder = root().join("scenarios/labs/lab05");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cloudinit-userdata.yaml",
            "hpa_lab05-webserver.yaml",
            "svc_lab05-webserver.yaml",
            "vmpool_lab05-webserver.yaml"
        ]
    );
    for (name, text) in LAB_FILES {
        let written = std::fs::read_to_string(folder.join(name)).unwrap();
        assert_eq!(&written, text, "{name} differs from the lab text");
    }
    let pool = std::fs::read_to_string(folder.join("vmpool_lab05-webserver.yaml")).unwrap();
    assert!(pool.starts_with("apiVersion: pool.kubevirt.io/v1alpha1\nkind: VirtualMachinePool\n"));
    assert!(pool.ends_with(
        "              namespace: lab-<username>\n              name: fedora-cloud-nginx-base\n"
    ));
    assert!(
        !pool.lines().any(|line| line.ends_with(' ')),
        "the task hint's version, no trailing blanks"
    );
    // scenarios/lab05/ keeps the same three manifests for the older scenarios: they
    // must not drift apart.
    for name in [
        "vmpool_lab05-webserver.yaml",
        "svc_lab05-webserver.yaml",
        "hpa_lab05-webserver.yaml",
    ] {
        let here = std::fs::read(folder.join(name)).unwrap();
        let there = std::fs::read(root().join("scenarios/lab05").join(name)).unwrap();
        assert_eq!(here, there, "{name}");
    }
}

#[test]
fn validate_on_the_lab_folder_passes_and_names_the_cloud_init_file() {
    let output = poolsim_ok(&["validate", "scenarios/labs/lab05/"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("scenarios/labs/lab05/cloudinit-userdata.yaml: note: cloud-init user data (its first line is #cloud-config): not a manifest; use it with spec.secrets[].fromFile, as `kubectl create secret generic NAME --from-file=userdata=PATH` does"),
        "{stdout}"
    );
    for name in [
        "hpa_lab05-webserver.yaml",
        "svc_lab05-webserver.yaml",
        "vmpool_lab05-webserver.yaml",
    ] {
        assert!(
            stdout.contains(&format!(
                "scenarios/labs/lab05/{name}: ok (manifest: 1 object)"
            )),
            "{stdout}"
        );
    }
    // YAML without apiVersion, kind or metadata is named too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("settings.yaml"), "users: [a, b]\n").unwrap();
    let output = poolsim_ok(&["validate", dir.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "settings.yaml: note: YAML without apiVersion, kind or metadata: not a manifest"
        ),
        "{stdout}"
    );
}

#[test]
fn the_lab_scenario_passes_check_and_makes_the_secret_from_the_file() {
    let output = poolsim_ok(&[
        "check",
        "scenarios/lab05-as-written.yaml",
        "--out",
        tempfile::tempdir().unwrap().path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
    let path = root().join("scenarios/lab05-as-written.yaml");
    let loaded = poolsim::scenario::load(&path).unwrap();
    let secret = secret_named(&loaded.scenario.manifests, "lab05-cloudinit");
    // base64 of the file's bytes, as kubectl sends `data`.
    assert_eq!(
        secret.object.get("data").unwrap().get("userdata").unwrap().as_scalar(),
        Some("I2Nsb3VkLWNvbmZpZwpwYXNzd29yZDoga3ViZXZpcnQKY2hwYXNzd2Q6IHsgZXhwaXJlOiBGYWxzZSB9CnRpbWV6b25lOiBFdXJvcGUvWnVyaWNoCg==")
    );
    assert_eq!(secret.field, "spec.secrets[0]");
    // The Service and the HPA come from their files, one apply event each.
    let applied: Vec<(&Path, &str)> = loaded
        .scenario
        .events
        .iter()
        .filter_map(|event| match (&event.action, &event.source) {
            (Action::Apply { .. }, Some(source)) => {
                Some((source.file.as_path(), source.field.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(applied.len(), 2, "{applied:?}");
    assert!(applied[0]
        .0
        .ends_with("labs/lab05/svc_lab05-webserver.yaml"));
    assert!(applied[1]
        .0
        .ends_with("labs/lab05/hpa_lab05-webserver.yaml"));
    assert_eq!(applied[1].1, "[0]");
}

fn secret_named<'m>(manifests: &'m [Manifest], name: &str) -> &'m Manifest {
    manifests
        .iter()
        .find(|m| {
            m.object.get("kind").and_then(|k| k.as_scalar()) == Some("Secret")
                && m.object
                    .get("metadata")
                    .and_then(|n| n.get("name"))
                    .and_then(|n| n.as_scalar())
                    == Some(name)
        })
        .unwrap_or_else(|| panic!("no Secret {name}"))
}

/// A scenario in a fresh folder with `files` beside it; returns the folder.
fn scenario_folder(spec_tail: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let text = format!(
        "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {{name: s}}\nspec:\n  duration: 10m\n  cluster: {{nodes: 1}}\n{spec_tail}"
    );
    std::fs::write(dir.path().join("s.yaml"), text).unwrap();
    dir
}

/// `key -> decoded value` of the first Secret of a scenario.
fn secret_data(dir: &tempfile::TempDir) -> Vec<(String, String)> {
    let loaded =
        poolsim::scenario::load(&dir.path().join("s.yaml")).unwrap_or_else(|d| panic!("{d:#?}"));
    let secret = loaded
        .scenario
        .manifests
        .iter()
        .find(|m| m.object.get("kind").and_then(|k| k.as_scalar()) == Some("Secret"))
        .expect("a Secret");
    let poolsim::scenario::NodeKind::Map(entries) = &secret.object.get("data").unwrap().kind else {
        panic!("data is a mapping");
    };
    entries
        .iter()
        .map(|(k, v)| {
            (
                k.as_scalar().unwrap().to_string(),
                v.as_scalar().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn secret_sources_follow_kubectl() {
    let dir = scenario_folder(
        "  secrets:\n    - name: s1\n      fromLiteral: [passphrase=top=secret, {key: empty, value: \"\"}]\n      fromFile:\n        - conf/app.conf\n        - {key: ud, path: conf/app.conf}\n        - certs\n",
        &[
            ("conf/app.conf", b"x=1\n"),
            ("certs/tls.crt", b"C"),
            ("certs/tls.key", b"K"),
            ("certs/sub/ignored", b"nested folders are left out"),
        ],
    );
    assert_eq!(
        secret_data(&dir),
        [
            ("app.conf", "eD0xCg=="),
            ("empty", ""),
            ("passphrase", "dG9wPXNlY3JldA=="),
            ("tls.crt", "Qw=="),
            ("tls.key", "Sw=="),
            ("ud", "eD0xCg=="),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    let env = scenario_folder(
        "  secrets:\n    - {name: s2, namespace: other, type: Opaque, fromEnvFile: [app.env]}\n",
        &[("app.env", b"# settings\nA=1\n\n  B=two words\n")],
    );
    assert_eq!(
        secret_data(&env),
        [("A", "MQ=="), ("B", "dHdvIHdvcmRz")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
}

/// A bad scenario: the end of its spec, the files beside it, and what its error says.
type BadCase<'a> = (&'a str, &'a [(&'a str, &'a [u8])], &'a [&'a str]);

/// `poolsim validate` on the scenario: exit 2 and its stderr.
fn invalid(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("s.yaml");
    let output = poolsim(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn bad_secret_sources_are_exit_2_with_position_field_and_rule() {
    let cases: &[BadCase] = &[
        (
            "  secrets:\n    - {name: a, fromFile: [userdata=missing.yaml]}\n",
            &[],
            &["s.yaml:8:28: spec.secrets[0].fromFile[0]: cannot read", "missing.yaml"],
        ),
        (
            "  secrets:\n    - {name: a, fromFile: [userdata=../outside.yaml]}\n",
            &[],
            &["s.yaml:8:28: spec.secrets[0].fromFile[0]: \"../outside.yaml\" leaves the scenario file's folder"],
        ),
        (
            "  secrets:\n    - {name: a, fromFile: [\"bad key=u.yaml\"]}\n",
            &[("u.yaml", b"x")],
            &["spec.secrets[0].fromFile[0]: \"bad key\" is not a valid key name for a Secret", "[-._a-zA-Z0-9]+"],
        ),
        (
            "  secrets:\n    - {name: a, fromLiteral: [k=1], fromFile: [k=u.yaml]}\n",
            &[("u.yaml", b"x")],
            &["spec.secrets[0].fromFile[0]: cannot add key k, another key by that name already exists (from spec.secrets[0].fromLiteral[0])"],
        ),
        (
            "  secrets:\n    - {name: a, fromFile: [a=big.bin, b=big.bin]}\n",
            &[("big.bin", &[0u8; 600 * 1024])],
            &["s.yaml:8:7: spec.secrets[0]: the Secret's data holds 1228800 bytes", "1048576 bytes (1 MiB, MaxSecretSize"],
        ),
        (
            "  secrets:\n    - {name: a, fromLiteral: [novalue]}\n",
            &[],
            &["spec.secrets[0].fromLiteral[0]: invalid literal source novalue, expected key=value"],
        ),
        (
            "  secrets:\n    - {name: a, fromLiteral: [k=v], fromEnvFile: [e.env]}\n",
            &[("e.env", b"A=1\n")],
            &["spec.secrets[0].fromEnvFile: fromEnvFile cannot be combined with fromFile or fromLiteral"],
        ),
        (
            "  secrets:\n    - {name: a, fromEnvFile: [e.env]}\n",
            &[("e.env", b"A=1\nHOME\n")],
            &["e.env:2:1: \"HOME\" has no '='", "write HOME=VALUE"],
        ),
        (
            "  secrets:\n    - {name: a, fromFile: [k=dir]}\n",
            &[("dir/x", b"x")],
            &["cannot give a key name for a directory path"],
        ),
        (
            "  secrets:\n    - {name: a}\n    - {name: a}\n",
            &[],
            &["s.yaml:9:14: spec.secrets[1].name: Secret \"a\" is already made on line 8"],
        ),
        (
            "  secrets:\n    - {name: a, fromFiles: [u.yaml]}\n",
            &[],
            &["spec.secrets[0]", "fromFiles", "fromFile"],
        ),
    ];
    for (tail, files, wanted) in cases {
        let stderr = invalid(&scenario_folder(tail, files));
        for piece in *wanted {
            assert!(
                stderr.contains(piece),
                "{tail}\nwanted {piece:?} in:\n{stderr}"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn secret_sources_never_read_outside_the_scenario_folder() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("passwd"), "root:x:0:0\n").unwrap();
    // A link named directly is refused before anything is read.
    let dir = scenario_folder("  secrets:\n    - {name: a, fromFile: [k=link]}\n", &[]);
    std::os::unix::fs::symlink(outside.path().join("passwd"), dir.path().join("link")).unwrap();
    let stderr = invalid(&dir);
    assert!(stderr.contains("spec.secrets[0].fromFile[0]: \"link\" is, or passes through, a symbolic link that leads outside the scenario file's folder"), "{stderr}");
    assert!(!stderr.contains("root:x"), "{stderr}");
    // In a folder source, links are left out, as kubectl leaves out all but regular files.
    let dir = scenario_folder(
        "  secrets:\n    - {name: a, fromFile: [conf]}\n",
        &[("conf/app.conf", b"x")],
    );
    std::os::unix::fs::symlink(
        outside.path().join("passwd"),
        dir.path().join("conf/passwd"),
    )
    .unwrap();
    assert_eq!(
        secret_data(&dir),
        [("app.conf".to_string(), "eA==".to_string())]
    );
}

const POOL: &[u8] = include_bytes!("../scenarios/labs/lab05/vmpool_lab05-webserver.yaml");
const SVC: &[u8] = include_bytes!("../scenarios/labs/lab05/svc_lab05-webserver.yaml");
const HPA: &[u8] = include_bytes!("../scenarios/labs/lab05/hpa_lab05-webserver.yaml");
const USERDATA: &[u8] = include_bytes!("../scenarios/labs/lab05/cloudinit-userdata.yaml");

#[test]
fn bad_apply_and_delete_files_are_exit_2_with_position_field_and_rule() {
    let cases: &[BadCase] = &[
        (
            "  events:\n    - {at: 1m, apply: {file: labs/lab05/cloudinit-userdata.yaml}}\n",
            &[("labs/lab05/cloudinit-userdata.yaml", USERDATA)],
            &["cloudinit-userdata.yaml:1:1: cloud-init user data (its first line is #cloud-config): not a manifest; use it with spec.secrets[].fromFile"],
        ),
        (
            "  events:\n    - {at: 1m, apply: {file: nothing.yaml}}\n",
            &[],
            &["s.yaml:8:30: spec.events[0].apply.file: cannot read manifest file", "nothing.yaml"],
        ),
        (
            "  events:\n    - {at: 1m, delete: {file: /etc/hostname}}\n",
            &[],
            &["spec.events[0].delete.file: \"/etc/hostname\" is an absolute path"],
        ),
        (
            "  events:\n    - {at: 1m, apply: {file: svc.yaml, kind: Service}}\n",
            &[("svc.yaml", SVC)],
            &["spec.events[0].apply: apply takes either {file: PATH}", "remove kind"],
        ),
        (
            "  events:\n    - {at: 1m, delete: {file: d.yaml}}\n",
            &[("d.yaml", b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: p}\n")],
            &["d.yaml:2:7: [0].kind: kind \"Deployment\" is not one poolsim models", "valid: VirtualMachinePool"],
        ),
        (
            "  events:\n    - {at: 1m, delete: {file: d.yaml}}\n",
            &[("d.yaml", b"apiVersion: v1\nkind: Service\nmetadata: {}\n")],
            &["d.yaml:3:11: [0].metadata.name: kubectl delete -f needs each object's metadata.name"],
        ),
        (
            "  manifestFiles: [u.yaml]\n",
            &[("u.yaml", USERDATA)],
            &["u.yaml:1:1: cloud-init user data"],
        ),
    ];
    for (tail, files, wanted) in cases {
        let stderr = invalid(&scenario_folder(tail, files));
        for piece in *wanted {
            assert!(
                stderr.contains(piece),
                "{tail}\nwanted {piece:?} in:\n{stderr}"
            );
        }
    }
}

#[test]
fn apply_and_delete_files_act_on_every_object_in_order() {
    let both: Vec<u8> = [SVC, b"---\n", HPA].concat();
    let dir = scenario_folder(
        "  namespace: lab-user\n  placeholders: {username: user}\n  manifestFiles: [pool.yaml, storage.yaml]\n  secrets: [{name: lab05-cloudinit, fromFile: [userdata=u.yaml]}]\n  events:\n    - {at: 1m, apply: {file: both.yaml}}\n    - {at: 6m, delete: {file: both.yaml}}\n",
        &[
            ("pool.yaml", POOL),
            ("u.yaml", USERDATA),
            ("both.yaml", &both),
            ("storage.yaml", include_bytes!("../scenarios/lab05/cluster-storage.yaml")),
        ],
    );
    let path = dir.path().join("s.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let loaded = load_str(&text, &path).unwrap_or_else(|d| panic!("{d:#?}"));
    let actions: Vec<String> = loaded
        .scenario
        .events
        .iter()
        .map(|e| match &e.action {
            Action::Apply { .. } => {
                format!("{} apply {}", e.at_ms, e.source.as_ref().unwrap().field)
            }
            Action::Delete { kind, name } => format!("{} delete {kind} {name}", e.at_ms),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        actions,
        [
            "60000 apply [0]",
            "60000 apply [1]",
            "360000 delete Service lab05-webserver",
            "360000 delete HorizontalPodAutoscaler lab05-webserver",
        ]
    );
    let result = run_checked(&text, path.to_str().unwrap());
    let rows = rows(&result);
    // The HPA computes while it exists (the booting guests read their whole vCPU
    // against a 105m request, so it scales up), and after `delete -f` nothing changes
    // the pool's replicas any more.
    assert!(at(rows, 300).hpa_desired_replicas.is_some_and(|r| r >= 2));
    let after_delete = at(rows, 370).desired_replicas;
    assert!(rows
        .iter()
        .filter(|r| r.time.0 >= 370_000)
        .all(|r| r.desired_replicas == after_delete && r.hpa_desired_replicas.is_none()));
}

#[test]
fn the_schema_describes_secrets_and_file_forms() {
    let output = poolsim_ok(&["schema"]);
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let spec = &schema["properties"]["spec"]["properties"];
    let secret = &spec["secrets"]["items"]["properties"];
    for key in [
        "name",
        "namespace",
        "type",
        "fromFile",
        "fromLiteral",
        "fromEnvFile",
    ] {
        assert!(secret[key].is_object(), "{key}");
    }
    let events = &spec["events"]["items"]["properties"];
    for action in ["apply", "delete"] {
        assert!(events[action]["properties"]["file"].is_object(), "{action}");
        let forms = events[action]["oneOf"].as_array().unwrap();
        assert!(
            forms
                .iter()
                .any(|f| f["required"] == serde_json::json!(["file"])),
            "{action}"
        );
    }
    // The decoder accepts exactly those keys in a secrets entry.
    let text = "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: 1}, secrets: [{name: a, zzzUnknown: 1}]}\n";
    let diagnostics = load_str(text, Path::new("s.yaml")).unwrap_err();
    let message = diagnostics
        .iter()
        .find(|d| d.message.contains("zzzUnknown"))
        .unwrap();
    for key in secret.as_object().unwrap().keys() {
        assert!(
            message.message.contains(key.as_str()),
            "{key}: {}",
            message.message
        );
    }
}

#[test]
fn readme_first_two_commands_are_what_ci_runs() {
    let readme = include_str!("../README.md");
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let block = readme.split("```sh\n").nth(1).unwrap();
    let commands: Vec<&str> = block
        .lines()
        .take(2)
        .map(|line| line.split(" #").next().unwrap().trim())
        .collect();
    // The test command, as CI runs it (CI adds --locked).
    assert_eq!(commands[1], "cargo test --release");
    assert!(ci.lines().any(|line| line.starts_with(commands[1])), "{ci}");
    // The first command's scenario is one CI validates (validate scenarios/) and
    // `cargo test` runs (check_test runs poolsim check on scenarios/).
    let scenario = commands[0]
        .strip_prefix("cargo run --release -- run ")
        .unwrap();
    assert!(scenario.starts_with("scenarios/") && root().join(scenario).is_file());
    assert!(
        ci.lines()
            .any(|line| line.contains("poolsim validate scenarios/")),
        "{ci}"
    );
    // Installing comes before the first bare `poolsim` command.
    let install = readme.find("cargo install --path .").unwrap();
    assert!(install < readme.find("\npoolsim ").unwrap());
}
