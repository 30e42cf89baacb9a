//! Diagnostics: one problem found in a scenario or manifest file, with where it is.

use std::fmt;
use std::path::PathBuf;

/// Whether a problem stops the run (`Error`, exit code 2) or is only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, located by file, line, column and field path.
///
/// Displayed as
/// `error: scenarios/x.yaml:12:7: spec.cluster.nodes: expected a whole number from 1 to 10000, got "three"`.
/// A `line` of 0 means the position is unknown (for example, an unreadable file); it is
/// then left out of the display, as is an empty `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: u32,
    pub col: u32,
    /// Dotted path such as `spec.events[2].scale.replicas`.
    pub field: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_position_and_field() {
        let diagnostic = Diagnostic {
            severity: Severity::Error,
            file: PathBuf::from("scenarios/x.yaml"),
            line: 12,
            col: 7,
            field: "spec.cluster.nodes".to_string(),
            message: "expected a whole number from 1 to 10000, got \"three\"".to_string(),
        };
        assert_eq!(
            diagnostic.to_string(),
            "error: scenarios/x.yaml:12:7: spec.cluster.nodes: expected a whole number from 1 to 10000, got \"three\""
        );
        let unplaced = Diagnostic {
            severity: Severity::Warning,
            line: 0,
            field: String::new(),
            message: "m".to_string(),
            ..diagnostic
        };
        assert_eq!(unplaced.to_string(), "warning: scenarios/x.yaml: m");
    }
}
