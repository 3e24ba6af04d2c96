//! Errors as the user sees them: `error: <what>` then `hint: <what to do>`.

use std::fmt;

/// A failure of a command, with its exit code.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong (may span several lines, e.g. a formula with a caret under it).
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The process exit code.
    pub code: u8,
}

impl CliError {
    /// A bad-usage or bad-data error (exit code 2).
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            message: message.into(),
            hint,
            code: 2,
        }
    }

    /// The exit code.
    pub fn exit_code(&self) -> u8 {
        self.code
    }

    /// Print to standard error.
    pub fn print(&self) {
        stderr_line(self);
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

impl From<mixedlm::Error> for CliError {
    fn from(e: mixedlm::Error) -> Self {
        let hint = e.hint();
        Self::usage(e.to_string(), hint)
    }
}

/// Write one line to standard error. A closed standard error (e.g. `2>&-`, or a pipe whose
/// reader exited) is ignored: `eprintln!` would panic there.
pub fn stderr_line(line: impl fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
