//! The `outpost` binary: parse flags, set up logging and the runtime, map
//! outcomes to exit codes. The work is in the library.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use outpost::cli::{AlertCommand, Cli, Command, LogFormat};
use outpost::commands::{self, Exit};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match &cli.command {
        Command::Check(args) => commands::check::check(args),
        Command::Init(args) => commands::init::init(args),
        Command::Render(args) => commands::render::render(args),
        Command::Report(args) => commands::report::report(args),
        Command::Run(args) => match runtime() {
            Ok(rt) => rt.block_on(commands::run::run(args)),
            Err(e) => Err(e),
        },
        Command::Watch(args) => match runtime() {
            Ok(rt) => rt.block_on(commands::watch::watch(args)),
            Err(e) => Err(e),
        },
        Command::Demo(args) => match runtime() {
            Ok(rt) => rt.block_on(commands::demo::demo(args)),
            Err(e) => Err(e),
        },
        Command::Merge(args) => match runtime() {
            Ok(rt) => rt.block_on(commands::merge::merge(args)),
            Err(e) => Err(e),
        },
        Command::Alert(AlertCommand::Test(args)) => match runtime() {
            Ok(rt) => rt.block_on(commands::alert_test::alert_test(args)),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            // Not eprintln!: it panics when stderr cannot be written (a full
            // disk, a closed pipe), and the exit code is the message that counts.
            let _ = writeln!(std::io::stderr(), "error: {}", e.message);
            ExitCode::from(e.exit as u8)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, commands::CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| commands::CommandError {
            exit: Exit::Usage,
            message: format!("cannot start the async runtime: {e}"),
        })
}

/// Logs go to stderr and are never worth a run: a write that fails is
/// dropped, and tracing-subscriber is told not to report it (it would do so
/// with `eprintln!`, which panics on the same broken stderr).
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .log_internal_errors(false)
        .with_writer(|| LossyStderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Standard error that reports every write as done: a log line that cannot be
/// written is lost, and nothing else happens.
struct LossyStderr;

impl Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}
