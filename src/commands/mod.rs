//! One file per subcommand; each returns the process exit code.

pub mod alert_test;
pub mod check;
pub mod demo;
pub mod init;
pub mod merge;
pub mod render;
pub mod report;
pub mod run;
pub mod watch;

/// Documented exit codes (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing is down (per `--fail-on`).
    Ok = 0,
    /// At least one probe is down (or degraded with `--fail-on degraded`).
    Failing = 1,
    /// Usage or config error.
    Usage = 2,
    /// The store could not be read or written.
    Store = 3,
}

/// An error that ends a command with a specific exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub exit: Exit,
    pub message: String,
}

impl CommandError {
    pub fn usage(message: impl Into<String>) -> Self {
        CommandError {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    pub fn store(message: impl Into<String>) -> Self {
        CommandError {
            exit: Exit::Store,
            message: message.into(),
        }
    }
}
