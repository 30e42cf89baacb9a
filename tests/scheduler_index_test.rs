//! The scheduler's node index (`controllers/scheduler_index.rs`): every decision it
//! makes equals a walk of every node (the invariant checker compares them at each
//! scheduling attempt and panics on a difference), and its work grows with the pods
//! placed, not with pods times nodes.

mod common;

/// A pool template of `name` requesting `cpu` and `memory`.
fn pool(name: &str, replicas: u32, cpu: &str, memory: &str) -> String {
    format!(
        r#"    - apiVersion: pool.kubevirt.io/v1beta1
      kind: VirtualMachinePool
      metadata:
        name: {name}
      spec:
        replicas: {replicas}
        selector:
          matchLabels:
            kubevirt.io/vmpool: {name}
        virtualMachineTemplate:
          metadata:
            labels:
              kubevirt.io/vmpool: {name}
          spec:
            runStrategy: Always
            template:
              metadata:
                labels:
                  kubevirt.io/vmpool: {name}
              spec:
                domain:
                  devices:
                    disks:
                      - name: containerdisk
                        disk: {{bus: virtio}}
                  resources:
                    requests:
                      cpu: {cpu}
                      memory: {memory}
                volumes:
                  - name: containerdisk
                    containerDisk:
                      image: quay.io/containerdisks/fedora:40
"#
    )
}

/// Two pools of different sizes on `nodes` nodes of 8 cores: `web` spreads over the nodes
/// (a Service selects its pods), `batch` does not. Scaled past what the nodes hold, so
/// some pods wait (`Insufficient cpu`), with nodes partitioned and crashed in between.
fn two_pools(nodes: u32) -> String {
    format!(
        r#"apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: scheduler-index
spec:
  seed: 7
  duration: 40m
  sampleInterval: 1m
  namespace: index
  cluster:
    nodes: {nodes}
    nodeCapacity: {{cpu: "8", memory: 32Gi}}
  manifests:
{web}{batch}    - apiVersion: v1
      kind: Service
      metadata:
        name: web
      spec:
        selector:
          kubevirt.io/vmpool: web
        ports:
          - {{port: 80, targetPort: 80, protocol: TCP}}
  events:
    - {{at: 8m, partitionNode: {{node: node-7}}}}
    - {{at: 10m, scale: {{pool: web, replicas: 400}}}}
    - {{at: 12m, crashNode: {{node: node-31}}}}
    - {{at: 16m, healNode: {{node: node-7}}}}
    - {{at: 18m, scale: {{pool: batch, replicas: 150}}}}
    - {{at: 22m, recoverNode: {{node: node-31}}}}
    - {{at: 30m, scale: {{pool: web, replicas: 100}}}}
"#,
        web = pool("web", 200, "500m", "1Gi"),
        batch = pool("batch", 100, "1500m", "2Gi"),
    )
}

#[test]
fn the_index_decides_as_a_walk_of_every_node_and_costs_the_pods_placed() {
    let result = common::run_checked(&two_pools(50), "scenarios/scheduler-index.yaml");
    let rows = &result.world.events.rows;
    let scheduled = rows.iter().filter(|r| r.reason == "Scheduled").count();
    let waited = rows
        .iter()
        .filter(|r| r.reason == "FailedScheduling" && r.message.contains("Insufficient cpu"))
        .count();
    // 400 web and 150 batch pods ask for 425 of the 400 cores: some must wait, and the
    // index's failure message is compared with the walk's as well as its choices.
    assert!(scheduled >= 500, "{scheduled} pods scheduled");
    assert!(waited > 0, "no pod waited for cpu");
    let evaluations = result.world.scheduler_evaluations();
    // A walk of every node costs 50 per attempt: at least 50 x the pods scheduled.
    // The index evaluates each node again only when its pods change, and every node
    // after each of the node changes (a few dozen here).
    assert!(
        evaluations * 5 < scheduled as u64 * 50,
        "{evaluations} evaluations for {scheduled} pods on 50 nodes"
    );
}

#[test]
fn beyond_100_nodes_each_search_stops_at_its_share_and_the_next_starts_after_it() {
    // 250 nodes: upstream's adaptive percentageOfNodesToScore is 50 - 250/125 = 48 %,
    // so a search stops at the 120th feasible node (`numFeasibleNodesToFind`). The
    // invariant checker compares every decision with a walk of every node that stops
    // the same way.
    let result = common::run_checked(&two_pools(250), "scenarios/scheduler-index.yaml");
    let mut names: Vec<String> = (0..250).map(|i| format!("node-{i}")).collect();
    names.sort();
    let placed: Vec<usize> = result
        .world
        .events
        .rows
        .iter()
        .filter(|r| r.reason == "Scheduled")
        .map(|r| {
            let node = r.message.rsplit(' ').next().expect("a node name");
            names.iter().position(|n| n == node).expect("a known node")
        })
        .collect();
    // On empty nodes every candidate ties: the first pod lands among the first 120
    // nodes in name order, the second among the next 120, the third wraps around.
    assert!(placed[0] < 120, "{placed:?}");
    assert!((120..240).contains(&placed[1]), "{placed:?}");
    assert!(placed[2] >= 240 || placed[2] < 110, "{placed:?}");
}
