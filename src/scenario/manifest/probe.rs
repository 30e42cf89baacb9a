//! VMI `readinessProbe` and `livenessProbe` (`kubevirt.io/api/core/v1/types.go`,
//! `Probe`), checked as `vmi-create-admitter.go` `validateProbe` checks them and
//! defaulted as `SetDefaults_Probe` defaults them.

use crate::api::{Probe, ProbeHandler};
use crate::scenario::decode::{child_path, Report, Value};

const HANDLERS: [(&str, ProbeHandler); 4] = [
    ("httpGet", ProbeHandler::HttpGet),
    ("tcpSocket", ProbeHandler::TcpSocket),
    ("exec", ProbeHandler::Exec),
    ("guestAgentPing", ProbeHandler::GuestAgentPing),
];

/// Reads one probe. `liveness` adds the Kubernetes pod validation the launcher pod
/// would fail (`ValidateProbe` in kubernetes `pkg/apis/core/validation`: a liveness
/// probe's `successThreshold` must be 1): poolsim reports it here rather than model a
/// VMI whose pod can never be created.
pub(super) fn decode_probe(
    value: &Value<'_>,
    liveness: bool,
    report: &mut Report,
) -> Option<Probe> {
    let mut probe = value.map(report)?;
    let mut handlers = Vec::new();
    let mut ok = true;
    for (name, handler) in HANDLERS {
        if let Some(handler_value) = probe.optional(name) {
            // What the handler runs or asks for (command, port, path) is not
            // modelled: every handler passes while the guest answers.
            ok &= handler_value.map(report).is_some();
            handlers.push(handler);
        }
    }
    let mut seconds = |key: &'static str, report: &mut Report| match probe.optional(key) {
        None => Some(0),
        Some(value) => value
            .i64_in(report, 0, i64::from(i32::MAX))
            .map(|n| n as u64),
    };
    let initial_delay_s = seconds("initialDelaySeconds", report);
    let timeout_s = seconds("timeoutSeconds", report);
    let period_s = seconds("periodSeconds", report);
    let success_threshold = seconds("successThreshold", report);
    let failure_threshold = seconds("failureThreshold", report);
    let path = probe.path().to_string();
    let pos = probe.pos();
    probe.finish_lenient(report);
    let handler = match handlers.as_slice() {
        [handler] => *handler,
        [] => {
            // `validateProbe`'s message, word for word.
            report.error(
                pos,
                &path,
                format!(
                    "either {}, {} or {} must be set if a {path} is specified",
                    child_path(&path, "tcpSocket"),
                    child_path(&path, "exec"),
                    child_path(&path, "httpGet"),
                ),
            );
            return None;
        }
        _ => {
            report.error(
                pos,
                &path,
                format!("{path} must have exactly one probe type set"),
            );
            return None;
        }
    };
    let success_threshold = success_threshold? as u32;
    if liveness && success_threshold > 1 {
        report.error(
            pos,
            &child_path(&path, "successThreshold"),
            "must be 1 for a liveness probe (the launcher pod would be rejected by the Kubernetes pod validation)",
        );
        return None;
    }
    if !ok {
        return None;
    }
    Some(Probe::defaulted(
        handler,
        initial_delay_s?,
        timeout_s?,
        period_s?,
        success_threshold,
        failure_threshold? as u32,
    ))
}
