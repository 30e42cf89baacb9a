//! Issue 15, item 8: `deploy/` is usable as shipped. Every `poolsim` command line in the
//! Jobs is one the real command line accepts (clap's `try_parse_from` on `Cli`), the
//! scenarios they name load, the shard count matches `completions`, the image the Jobs
//! name is the one `deploy/Dockerfile` builds (tagged with the crate's version), the
//! Dockerfile builds and runs the `poolsim` binary as a non-root user in a small final
//! image, the volume is the ReadWriteMany claim of `results-pvc.yaml`, and the minimum
//! Kubernetes version is stated. Nothing here builds the image (CI has no registry).

use clap::Parser;
use poolsim::cli::{Cli, Command};
use poolsim::scenario::yaml::{parse_documents, Limits, Node, NodeKind};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn documents(relative: &str) -> Vec<Node> {
    parse_documents(&read(relative), &Limits::default())
        .unwrap_or_else(|e| panic!("{relative}: {e:?}"))
}

/// `node` at a dotted path of mapping keys.
fn get<'n>(node: &'n Node, path: &str) -> &'n Node {
    path.split('.').fold(node, |node, key| {
        node.get(key).unwrap_or_else(|| panic!("no {path}"))
    })
}

fn scalar<'n>(node: &'n Node, path: &str) -> &'n str {
    get(node, path)
        .as_scalar()
        .unwrap_or_else(|| panic!("{path} is not a scalar"))
}

fn items(node: &Node) -> &[Node] {
    match &node.kind {
        NodeKind::Seq(items) => items,
        _ => panic!("not a list"),
    }
}

/// The Jobs of `deploy/` (every `*.yaml` there), by file.
fn jobs() -> Vec<(String, Node)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("deploy"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut jobs = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .to_string();
        for document in documents(&relative) {
            if document.get("kind").and_then(Node::as_scalar) == Some("Job") {
                jobs.push((relative.clone(), document));
            }
        }
    }
    jobs
}

/// The one container of a Job: its image and `poolsim` argv (the image's entrypoint
/// is the binary, so `args` follow it).
fn container(job: &Node) -> (String, Vec<String>) {
    let containers = items(get(job, "spec.template.spec.containers"));
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    assert!(
        container.get("command").is_none(),
        "the image's entrypoint runs poolsim"
    );
    let args = items(get(container, "args"))
        .iter()
        .map(|arg| arg.as_scalar().unwrap().to_string());
    let argv = std::iter::once("poolsim".to_string()).chain(args).collect();
    (scalar(container, "image").to_string(), argv)
}

#[test]
fn every_poolsim_command_line_in_the_jobs_is_accepted() {
    let jobs = jobs();
    let names: Vec<&str> = jobs
        .iter()
        .map(|(_, job)| scalar(job, "metadata.name"))
        .collect();
    assert_eq!(names, ["poolsim-merge", "poolsim-sweep"]);
    for (file, job) in &jobs {
        let (_, argv) = container(job);
        let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{file}: {argv:?}: {e}"));
        match cli.command {
            Command::Sweep(args) => {
                // Paths are relative to the image's /opt/poolsim, which holds scenarios/.
                let scenario = root().join(&args.scenario);
                poolsim::sim::prepare(&scenario).unwrap_or_else(|d| panic!("{file}: {d:?}"));
                let shards = argv
                    .iter()
                    .find_map(|arg| arg.strip_prefix("--shard=/"))
                    .expect("--shard=/N: the index comes from JOB_COMPLETION_INDEX");
                assert_eq!(
                    shards,
                    scalar(job, "spec.completions"),
                    "{file}: completions = N"
                );
                assert_eq!(scalar(job, "spec.completionMode"), "Indexed");
                // The merge Job reads this sweep's shard folder.
                let stem = args
                    .scenario
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                let merge = jobs
                    .iter()
                    .find(|(_, j)| scalar(j, "metadata.name") == "poolsim-merge")
                    .unwrap();
                assert!(container(&merge.1)
                    .1
                    .contains(&format!("/results/{stem}/sweep-shards")));
            }
            Command::Merge(args) => assert_eq!(args.dirs.len(), 1, "{file}"),
            _ => panic!("{file}: {argv:?} is neither sweep nor merge"),
        }
        assert!(
            argv.contains(&"--out=/results".to_string()),
            "{file}: {argv:?}"
        );
    }
}

#[test]
fn the_jobs_run_the_image_the_dockerfile_builds_on_the_results_claim() {
    let image = format!("poolsim:{}", env!("CARGO_PKG_VERSION"));
    let pvc = &documents("deploy/results-pvc.yaml")[0];
    assert_eq!(scalar(pvc, "kind"), "PersistentVolumeClaim");
    let access: Vec<&str> = items(get(pvc, "spec.accessModes"))
        .iter()
        .filter_map(Node::as_scalar)
        .collect();
    assert_eq!(access, ["ReadWriteMany"], "every shard writes at once");
    for (file, job) in jobs() {
        assert_eq!(container(&job).0, image, "{file}");
        let pod = get(&job, "spec.template.spec");
        assert_eq!(scalar(pod, "restartPolicy"), "Never");
        assert_eq!(
            scalar(pod, "securityContext.runAsUser"),
            "65532",
            "the image's user"
        );
        assert_eq!(scalar(pod, "securityContext.runAsNonRoot"), "true");
        let volumes = items(get(pod, "volumes"));
        assert_eq!(
            scalar(&volumes[0], "persistentVolumeClaim.claimName"),
            scalar(pvc, "metadata.name"),
            "{file}"
        );
    }
    // The README builds and names the same image.
    let readme = read("deploy/README.md");
    assert!(
        readme.contains(&format!("docker build -f deploy/Dockerfile -t {image} .")),
        "{readme}"
    );
}

#[test]
fn the_dockerfile_is_multi_stage_and_runs_the_binary_as_non_root() {
    let dockerfile = read("deploy/Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let froms: Vec<&str> = instructions
        .iter()
        .copied()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "a build stage and a final stage: {froms:?}");
    // The builder is the crate's minimum Rust; the final image is distroless (no shell).
    let rust_version = read("Cargo.toml")
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap();
    assert_eq!(
        froms[0],
        format!("FROM rust:{rust_version}-slim-bookworm AS builder")
    );
    assert!(
        froms[1].starts_with("FROM gcr.io/distroless/cc-debian12:nonroot"),
        "{}",
        froms[1]
    );
    // The binary the build makes is the one this crate calls poolsim.
    let binary = Path::new(env!("CARGO_BIN_EXE_poolsim"))
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(dockerfile.contains(&format!("cargo build --release --locked --bin {binary}")));
    assert!(dockerfile.contains(&format!(
        "cp target/release/{binary} /usr/local/bin/{binary}"
    )));
    let final_stage = &instructions[instructions.iter().position(|l| *l == froms[1]).unwrap()..];
    assert!(final_stage.contains(
        &format!("COPY --from=builder /usr/local/bin/{binary} /usr/local/bin/{binary}").as_str()
    ));
    assert!(final_stage.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{binary}\"]").as_str()));
    assert!(
        final_stage.contains(&"WORKDIR /opt/poolsim"),
        "the Jobs' scenario paths are relative to it"
    );
    assert!(final_stage.contains(&"COPY scenarios /opt/poolsim/scenarios"));
    let user = final_stage
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER");
    assert!(
        !matches!(user.split(':').next(), Some("0" | "root")),
        "{user}"
    );
    // The build context leaves out build output.
    assert!(read(".dockerignore").lines().any(|line| line == "target"));
}

#[test]
fn the_minimum_kubernetes_version_is_stated() {
    let job = read("deploy/sweep-indexed-job.yaml");
    assert!(job.contains("backoffLimitPerIndex"));
    assert!(job.contains("Needs Kubernetes 1.29 or later"), "{job}");
    let readme = read("deploy/README.md");
    assert!(readme.contains("**Kubernetes version: 1.29 or later.**"));
    assert!(readme.contains("GA from 1.33"));
}
