//! Admission of an external algorithm's answer: the checks the API server and the
//! work queue would apply to the writes a real controller makes, so that an `exec:`
//! program is trusted no further than a manifest is.
//!
//! Built-in algorithms are not checked here: their actions come from poolsim's own
//! code, which the test suite holds to upstream's behaviour. An external program's
//! actions are data from outside, and a write upstream would refuse (a VM name the API
//! server rejects, a VM that does not exist) or a requeue no upstream queue performs
//! would otherwise reach the store, the outputs or the event loop unchecked.

use std::collections::BTreeSet;

use super::action::Action;
use super::observation::Observation;
use crate::api::validation::is_dns1123_subdomain;

/// The shortest `requeueAfter` an external program may ask for, in milliseconds: the
/// base delay of client-go's default controller rate limiter, 5 ms
/// (`k8s.io/client-go/util/workqueue/default_rate_limiters.go`,
/// `DefaultTypedControllerRateLimiter`: `NewTypedItemExponentialFailureRateLimiter(5ms,
/// 1000s)`), the shortest delay upstream's queue ever puts on a pool key of its own
/// accord (the pool controller's own requeue is `defaultRetryDelay` = 3 s). A delay of
/// 0 would make the same pool due again at the same simulated instant, forever: a hot
/// loop inside one event that no event budget sees.
pub const MIN_REQUEUE_AFTER_MS: u64 = 5;

/// Why an answer is refused: the action's position and kind, the field, and the rule
/// it breaks, each shown escaped (`{:?}`) wherever it quotes the program's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub position: usize,
    pub action: &'static str,
    pub field: &'static str,
    pub rule: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "action {} ({}), field `{}`: {}",
            self.position, self.action, self.field, self.rule
        )
    }
}

/// Longest `controllerPanic` message an external algorithm may send (it becomes the
/// message of a `ControllerCrashed` event); Go's panic texts for the scale-in slice
/// are under 100 characters.
pub const MAX_PANIC_MESSAGE_CHARS: usize = 1024;

/// The protocol name of an action, for messages.
fn kind(action: &Action) -> &'static str {
    match action {
        Action::ReleaseVm { .. } => "releaseVm",
        Action::AddPoolFinalizer => "addPoolFinalizer",
        Action::CreateRevision { .. } => "createRevision",
        Action::CreateVm { .. } => "createVm",
        Action::DeleteVm { .. } => "deleteVm",
        Action::FinalizeVm { .. } => "finalizeVm",
        Action::UpdateVm { .. } => "updateVm",
        Action::RestartVm { .. } => "restartVm",
        Action::PatchVmiRevision { .. } => "patchVmiRevision",
        Action::DeleteRevision { .. } => "deleteRevision",
        Action::RemovePoolFinalizer => "removePoolFinalizer",
        Action::RequeueAfter { .. } => "requeueAfter",
        Action::ControllerPanic { .. } => "controllerPanic",
    }
}

/// The rule a VM or ControllerRevision name breaks, if any. Both are custom or
/// apps/v1 resources whose names the API server checks with `NameIsDNSSubdomain`
/// (apiextensions-apiserver `customResourceStrategy.Validate` →
/// `ValidateObjectMetaAccessor`; KubeVirt's VM admitter,
/// `pkg/virt-api/webhooks/validating-webhook/admitters/vms-admitter.go`, adds no
/// name rule of its own), the rule scenario manifests are held to.
fn name_problem(name: &str) -> Option<String> {
    if is_dns1123_subdomain(name) {
        return None;
    }
    Some(format!(
        "Invalid value: {}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most 253 characters)",
        quote(name)
    ))
}

/// The rule a revision label value breaks, if any: `IsValidLabelValue`
/// (kubernetes/kubernetes
/// `staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`): at most 63
/// characters, empty or alphanumeric at both ends with `-`, `_`, `.` between.
fn label_value_problem(value: &str) -> Option<String> {
    if crate::api::validation::label_value_problems(value).is_empty() {
        return None;
    }
    Some(format!(
        "Invalid value: {}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)",
        quote(value)
    ))
}

/// The program's text quoted with every control or unprintable character escaped
/// (`\u{1b}` for ESC, `\n` for a newline), and cut to 160 characters: a name of 100k
/// characters must not flood the terminal either.
pub fn quote(text: &str) -> String {
    quote_at_most(text, 160)
}

/// [`quote`], cut to `max_chars` characters.
pub fn quote_at_most(text: &str, max_chars: usize) -> String {
    let cut: String = text.chars().take(max_chars).collect();
    if cut.len() < text.len() {
        format!("{cut:?}... ({} characters in all)", text.chars().count())
    } else {
        format!("{cut:?}")
    }
}

/// Checks every action of one answer against `observed`; the first refusal, if any.
///
/// - names of VMs created and revisions created or deleted are DNS-1123 subdomains,
///   revision labels are label values;
/// - a created VM's name is not taken by an observed VM or an earlier create in the
///   same answer;
/// - at most `burstReplicas` creations per answer (upstream's `BurstReplicas`);
/// - a VM that an action changes (`releaseVm`, `deleteVm`, `finalizeVm`, `updateVm`,
///   `restartVm`, `patchVmiRevision`) is in the observation;
/// - `requeueAfter` is at least [`MIN_REQUEUE_AFTER_MS`].
pub fn admit(observed: &Observation, actions: &[Action]) -> Result<(), Refusal> {
    let existing: BTreeSet<&str> = observed.vms.iter().map(|vm| vm.name.as_str()).collect();
    let mut created: BTreeSet<&str> = BTreeSet::new();
    for (position, action) in actions.iter().enumerate() {
        let refuse = |field: &'static str, rule: String| Refusal {
            position,
            action: kind(action),
            field,
            rule,
        };
        match action {
            Action::CreateVm { name, revision, .. } => {
                if let Some(rule) = name_problem(name) {
                    return Err(refuse("name", rule));
                }
                if existing.contains(name.as_str()) || !created.insert(name.as_str()) {
                    return Err(refuse(
                        "name",
                        format!(
                            "a VM named {} already exists (names must be unique in the namespace: AlreadyExists)",
                            quote(name)
                        ),
                    ));
                }
                if created.len() > observed.burst_replicas {
                    return Err(refuse(
                        "name",
                        format!(
                            "more than burstReplicas = {} creations in one answer (upstream's BurstReplicas; the observation says how many)",
                            observed.burst_replicas
                        ),
                    ));
                }
                if let Some(rule) = label_value_problem(revision) {
                    return Err(refuse("revision", rule));
                }
            }
            Action::ReleaseVm { name }
            | Action::DeleteVm { name, .. }
            | Action::FinalizeVm { name, .. }
            | Action::RestartVm { name } => existing_vm(&existing, name, &refuse)?,
            Action::UpdateVm { name, revision } | Action::PatchVmiRevision { name, revision } => {
                existing_vm(&existing, name, &refuse)?;
                if let Some(rule) = label_value_problem(revision) {
                    return Err(refuse("revision", rule));
                }
            }
            Action::CreateRevision { name } | Action::DeleteRevision { name } => {
                if let Some(rule) = name_problem(name) {
                    return Err(refuse("name", rule));
                }
            }
            Action::RequeueAfter { delay_ms } if *delay_ms < MIN_REQUEUE_AFTER_MS => {
                return Err(refuse(
                    "delayMs",
                    format!(
                        "{delay_ms} ms is below the floor of {MIN_REQUEUE_AFTER_MS} ms (client-go's rate limiter base delay); a shorter requeue would reconcile the pool again at the same instant, forever"
                    ),
                ));
            }
            Action::ControllerPanic { message } => {
                if message.chars().count() > MAX_PANIC_MESSAGE_CHARS
                    || message.chars().any(needs_escape)
                {
                    return Err(refuse(
                        "message",
                        format!(
                            "{} must be at most {MAX_PANIC_MESSAGE_CHARS} printable characters on one line: it goes into events.csv as the crash's message",
                            quote(message)
                        ),
                    ));
                }
            }
            Action::RequeueAfter { .. }
            | Action::AddPoolFinalizer
            | Action::RemovePoolFinalizer => {}
        }
    }
    Ok(())
}

/// Whether `c` must be escaped before it reaches a terminal or a file: a control
/// character (ESC starts terminal escape sequences) or one Rust's `escape_debug`
/// deems unprintable (format characters such as U+202E, which reorders text).
pub fn needs_escape(c: char) -> bool {
    !matches!(c, '"' | '\'' | '\\') && c.escape_debug().nth(1).is_some()
}

/// `text` with every character [`needs_escape`] says must be escaped written as
/// `\u{...}` (or `\n`, `\t`, `\r`), the rest as it is.
pub fn escape_unprintable(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            escaped.extend(c.escape_debug());
        } else {
            escaped.push(c);
        }
    }
    escaped
}

fn existing_vm(
    existing: &BTreeSet<&str>,
    name: &str,
    refuse: &impl Fn(&'static str, String) -> Refusal,
) -> Result<(), Refusal> {
    if existing.contains(name) {
        return Ok(());
    }
    Err(refuse(
        "name",
        format!(
            "no VM named {} in the observation (an action may change only a VM the controller observed: NotFound)",
            quote(name)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_control_characters_and_cuts_long_text() {
        assert_eq!(quote("\u{1b}[2J"), "\"\\u{1b}[2J\"");
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        let long = quote(&"x".repeat(100_000));
        assert!(long.len() < 250, "{long}");
        assert!(long.ends_with("(100000 characters in all)"), "{long}");
    }

    #[test]
    fn unprintable_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_unprintable("ok \"x\" é"), "ok \"x\" é");
        assert_eq!(
            escape_unprintable("\u{1b}[2J\u{202e}"),
            "\\u{1b}[2J\\u{202e}"
        );
        assert_eq!(escape_unprintable("a\tb"), "a\\tb");
    }

    #[test]
    fn label_values_follow_is_valid_label_value() {
        for good in ["", "my-pool-1", "A.b_c-9"] {
            assert_eq!(label_value_problem(good), None, "{good}");
        }
        for bad in ["-a", "a-", "a b", "ä", &"x".repeat(64)] {
            assert!(label_value_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn names_follow_the_dns_subdomain_rule() {
        assert_eq!(name_problem("my-pool-3"), None);
        assert_eq!(name_problem("a.b"), None);
        for bad in ["", "../../x", "Upper", "a\nb", &"x".repeat(254)] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
    }
}
