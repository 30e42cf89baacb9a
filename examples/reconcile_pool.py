#!/usr/bin/env python3
"""The scale rule of the `kubevirt-pool` algorithm as an external poolsim algorithm.

Speaks poolsim.io/reconcile/v1 (docs/PROTOCOL.md) on stdin/stdout; run it with
`poolsim run SCENARIO --algorithm exec:./examples/reconcile_pool.py`.

What it decides, after `execute` in kubevirt's pkg/virt-controller/watch/pool/pool.go:
  * nothing at all when the pool selector does not match the template labels;
  * release owned VMs whose labels no longer match the selector;
  * add the pool finalizer when it is missing;
  * scale (`scale`, `calcDiff`): every owned VM counts, terminating ones too;
    too few: create the lowest free indices (`calculateNewVMNames`), at most
    `burstReplicas`, creating the current ControllerRevision first if missing;
    too many, proactive scale-in: delete min(excess, burst) minus those already
    terminating, ordered by the sort policy (Random uses `randomSeed`), then
    restricted by the selection selectors (`proactiveScaleIn`, `scaleIn`);
    right count: drop the pool finalizer from terminating VMs (`opportunisticScaleIn`);
  * a pool being deleted drops the finalizers (`handlePoolDeletion`).
It does not autoheal, update VMs or prune revisions (the built-in does). Random order
uses Python's generator, so it differs from the built-in's; every other order matches.

Python 3 standard library only. Logs go to stderr: stdout belongs to the protocol.
"""

import json
import random
import sys

PROTOCOL = "poolsim.io/reconcile/v1"


def label_requirement_matches(requirement, labels):
    """labels.Requirement.Matches: NotIn and DoesNotExist hold for an absent key."""
    key, operator, values = requirement["key"], requirement["operator"], requirement["values"]
    value = labels.get(key)
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        try:
            actual, bound = int(value), int(values[0])
        except ValueError:
            return False
        return actual > bound if operator == "Gt" else actual < bound
    raise ValueError(f"unknown selector operator {operator!r}")


def selector_matches(selector, labels):
    """An empty selector matches everything."""
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items()) and all(
        label_requirement_matches(r, labels) for r in selector["matchExpressions"]
    )


def vm_selectors_match(selectors, vm):
    """filterVMsBasedOnSelectors for one VM."""
    label_selector = selectors.get("labelSelector")
    if label_selector is not None and not selector_matches(label_selector, vm["templateLabels"]):
        return False
    requirements = selectors.get("nodeSelectorRequirements")
    if requirements is not None:
        return all(label_requirement_matches(r, vm["templateNodeSelector"]) for r in requirements)
    return True


def index_from_name(name):
    """indexFromName: the integer after the last '-', or None."""
    try:
        return int(name.rsplit("-", 1)[-1])
    except ValueError:
        return None


def sort_by_policy(vms, policy, rng):
    """sortVMsBasedOnSortPolicy; stable, so ties keep the observation's name order."""
    ordinal = lambda vm: index_from_name(vm["name"]) or 0  # noqa: E731
    if policy == "AscendingOrder":
        vms.sort(key=ordinal)
    elif policy == "DescendingOrder":
        vms.sort(key=ordinal, reverse=True)
    elif policy == "Newest":
        vms.sort(key=lambda vm: vm["creationMs"], reverse=True)
    elif policy == "Oldest":
        vms.sort(key=lambda vm: vm["creationMs"])
    elif policy == "Random":
        rng.shuffle(vms)
    else:
        raise ValueError(f"unknown sort policy {policy!r}")


def lowest_free_indices(names, pool_name, count):
    """calculateNewVMNames: indices whose name <pool>-<i> no VM in the namespace has."""
    taken = set(names)
    indices, candidate = [], 0
    while len(indices) < count:
        if f"{pool_name}-{candidate}" not in taken:
            indices.append(candidate)
        candidate += 1
    return indices


def reconcile(observation, rng):
    pool = observation["pool"]
    actions = []
    if not selector_matches(pool["selector"], pool["templateLabels"]):
        return actions

    owned = []
    for vm in observation["vms"]:
        if vm["controllerOwnerUid"] != pool["uid"]:
            continue
        if selector_matches(pool["selector"], vm["labels"]):
            owned.append(vm)
        elif not pool["deleting"]:
            actions.append({"action": "releaseVm", "name": vm["name"]})

    if not pool["deleting"] and not pool["hasFinalizer"]:
        actions.append({"action": "addPoolFinalizer"})

    if pool["deleting"]:
        for vm in observation["vms"]:
            if selector_matches(pool["selector"], vm["labels"]) and vm["hasPoolFinalizer"]:
                actions.append({"action": "finalizeVm", "name": vm["name"], "preserveState": False})
        if pool["hasFinalizer"]:
            actions.append({"action": "removePoolFinalizer"})
    elif observation["expectationsSatisfied"] and not pool["paused"]:
        scale(observation, owned, rng, actions)
    return actions


def scale(observation, owned, rng, actions):
    pool = observation["pool"]
    scale_in = pool["scaleIn"]
    burst = observation["burstReplicas"]
    diff = len(owned) - pool["replicas"]
    if diff == 0:
        if scale_in["kind"] == "unmanaged":
            return
        preserve = scale_in["kind"] == "opportunistic" and scale_in["statePreservation"] != "Disabled"
        for vm in owned:
            if vm["deleting"] and (preserve or vm["hasPoolFinalizer"]):
                actions.append({"action": "finalizeVm", "name": vm["name"], "preserveState": preserve})
    elif diff < 0:
        names = [vm["name"] for vm in observation["vms"]]
        indices = lowest_free_indices(names, pool["name"], min(-diff, burst))
        revision = pool["currentRevision"]
        if not any(r["name"] == revision for r in observation["revisions"]):
            actions.append({"action": "createRevision", "name": revision})
        for index in indices:
            actions.append(
                {"action": "createVm", "index": index, "name": f"{pool['name']}-{index}", "revision": revision}
            )
    elif scale_in["kind"] == "proactive":
        terminating = sum(1 for vm in owned if vm["deleting"])
        eligible = [vm for vm in owned if not vm["deleting"]]
        count = min(min(diff, burst) - terminating, len(eligible))
        if count <= 0:
            return
        sort_by_policy(eligible, scale_in["sortPolicy"], rng)
        if scale_in["selectors"] is not None:
            eligible = [vm for vm in eligible if vm_selectors_match(scale_in["selectors"], vm)]
        preserve = scale_in["statePreservation"] != "Disabled"
        for vm in eligible[:count]:
            actions.append(
                {
                    "action": "deleteVm",
                    "name": vm["name"],
                    "reason": "scaleIn",
                    "preserveState": preserve,
                    "foreground": False,
                }
            )


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    for line in sys.stdin:
        request = json.loads(line)
        kind = request.get("type")
        if kind == "hello":
            if request.get("protocol") != PROTOCOL:
                send({"type": "error", "message": f"speaks {PROTOCOL}, not {request.get('protocol')}"})
                return
            send(
                {
                    "type": "hello",
                    "protocol": PROTOCOL,
                    "name": "python-kubevirt-pool",
                    "summary": "kubevirt-pool scale rule in Python (examples/reconcile_pool.py): no autohealing, update or prune",
                }
            )
        elif kind == "reconcile":
            rng = random.Random(request["randomSeed"])
            try:
                actions = reconcile(request["observation"], rng)
            except (KeyError, ValueError) as error:
                send({"type": "error", "message": f"cannot decide: {error!r}"})
                return
            send({"type": "actions", "seq": request["seq"], "actions": actions})
        else:
            send({"type": "error", "message": f"unknown request type {kind!r}"})
            return
    print("reconcile_pool.py: stdin closed, exiting", file=sys.stderr)


if __name__ == "__main__":
    main()
