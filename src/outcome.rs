//! What a command ends with, and the exit code `main` maps it to (DESIGN.md §1.1). It
//! sits below the commands and the libraries they call (`check`'s verdict converts into
//! it), so neither imports the command line.

/// What a command ends with.
pub enum Outcome {
    Success,
    /// An expectation, golden trace or comparison threshold failed.
    Failed,
    /// Invalid input: nothing was written.
    Invalid,
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Invalid => 2,
        }
    }
}
