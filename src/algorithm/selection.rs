//! Label selectors, selection policies and VM naming, as `pool.go` and apimachinery do them.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::RngCore;

use super::observation::{
    LabelSelector, SelectorOperator, SelectorRequirement, SortPolicy, VmSelectors, VmView,
};

impl LabelSelector {
    /// A selector with only `matchLabels`.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> LabelSelector {
        LabelSelector {
            match_labels: labels.clone(),
            match_expressions: Vec::new(),
        }
    }

    /// `metav1.LabelSelectorAsSelector(...).Matches(labels)`: every `matchLabels` pair
    /// and every expression must hold; an empty selector matches everything.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
            && self
                .match_expressions
                .iter()
                .all(|requirement| requirement.matches(labels))
    }
}

impl SelectorRequirement {
    /// `labels.Requirement.Matches` (`k8s.io/apimachinery/pkg/labels/selector.go`):
    /// NotIn and DoesNotExist hold for an absent key; Gt and Lt need the label and the
    /// single value to parse as integers.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            SelectorOperator::In => value.is_some_and(|value| self.values.contains(value)),
            SelectorOperator::NotIn => value.is_none_or(|value| !self.values.contains(value)),
            SelectorOperator::Exists => value.is_some(),
            SelectorOperator::DoesNotExist => value.is_none(),
            SelectorOperator::Gt | SelectorOperator::Lt => {
                let (Some(value), [bound]) = (value, self.values.as_slice()) else {
                    return false;
                };
                let (Ok(value), Ok(bound)) = (value.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.operator == SelectorOperator::Gt {
                    value > bound
                } else {
                    value < bound
                }
            }
        }
    }
}

impl VmSelectors {
    /// `filterVMsBasedOnSelectors` for one VM: the label selector against the VM's
    /// template labels, the node selector requirements against its template node
    /// selector; a part that is absent does not filter.
    pub fn matches(&self, vm: &VmView) -> bool {
        let labels_match = self
            .label_selector
            .as_ref()
            .is_none_or(|selector| selector.matches(&vm.template_labels));
        let node_selector_matches =
            self.node_selector_requirements
                .as_ref()
                .is_none_or(|requirements| {
                    requirements
                        .iter()
                        .all(|requirement| requirement.matches(&vm.template_node_selector))
                });
        labels_match && node_selector_matches
    }
}

/// `generateVMName`: `<pool>-<index>`.
pub fn vm_name(pool_name: &str, index: u32) -> String {
    format!("{pool_name}-{index}")
}

/// `indexFromName`: the integer after the last `-`, if it parses.
pub fn index_from_name(name: &str) -> Option<i64> {
    name.rsplit('-').next()?.parse().ok()
}

/// `calculateNewVMNames`: the `count` lowest indices whose name `<pool>-<index>` no VM
/// in the namespace cache has, whatever its owner and even if it is terminating.
/// Existing {1, 3}, 3 new: 0, 2, 4.
pub fn lowest_free_indices<'a>(
    existing_names_in_namespace: impl IntoIterator<Item = &'a str>,
    pool_name: &str,
    count: usize,
) -> Vec<u32> {
    let taken: std::collections::BTreeSet<&str> = existing_names_in_namespace.into_iter().collect();
    let mut indices = Vec::with_capacity(count);
    let mut candidate: u32 = 0;
    while indices.len() < count {
        if !taken.contains(vm_name(pool_name, candidate).as_str()) {
            indices.push(candidate);
        }
        candidate += 1;
    }
    indices
}

/// `sortVMsBasedOnSortPolicy`. Upstream uses the unstable `sort.Slice` on a list in
/// cache order, so ties are broken arbitrarily; here the sort is stable over the
/// observation's name order, so ties keep name order. A name without a numeric suffix
/// sorts as index 0, as upstream's `sortVMsByOrdinal` does.
pub fn sort_by_policy(vms: &mut [&VmView], policy: SortPolicy, rng: &mut dyn RngCore) {
    let ordinal = |vm: &VmView| index_from_name(&vm.name).unwrap_or(0);
    match policy {
        SortPolicy::AscendingOrder => vms.sort_by_key(|vm| ordinal(vm)),
        SortPolicy::DescendingOrder => vms.sort_by_key(|vm| std::cmp::Reverse(ordinal(vm))),
        SortPolicy::Newest => vms.sort_by_key(|vm| std::cmp::Reverse(vm.creation_ms)),
        SortPolicy::Oldest => vms.sort_by_key(|vm| vm.creation_ms),
        SortPolicy::Random => vms.shuffle(rng),
    }
}
