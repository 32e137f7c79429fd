//! Command-line flags (SPEC §4), parsed into plain data; `commands/` acts on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Outpost watches services from the outside.
#[derive(Debug, Parser)]
#[command(name = "outpost", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log line format on stderr (filter with RUST_LOG, e.g. RUST_LOG=outpost=debug).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe every target once, store the results and report.
    Run(RunArgs),
    /// Long-running: probe each target on its own interval until stopped.
    Watch(WatchArgs),
    /// Validate the config (syntax, env vars, references) without probing; with
    /// --db, check a store and checkpoint it for saving.
    Check(CheckArgs),
    /// Scaffold probes.toml and, with --github, the status workflow.
    Init(InitArgs),
    /// Alert channels.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Write the static status site from the store.
    Render(RenderArgs),
    /// Uptime, latency percentiles and SLO budget per probe.
    Report(ReportArgs),
    /// Fold shards from other locations into one store (idempotent).
    Merge(MergeArgs),
    /// A self-contained status page: local endpoints, 90 days of simulated history.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The output folder (with --probes: render only when given).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep the demo's store at this new file (default: a temporary file, removed at exit).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Simulate a store at real size instead: N HTTP probes `p1` … `pN`,
    /// no live run, no page unless --out is given (needs --db).
    #[arg(long, value_name = "N", requires = "db",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub probes: Option<u32>,
    /// Days of simulated history, ending now (with --probes).
    #[arg(long, value_name = "D", default_value_t = 30, requires = "probes",
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// Time between simulated rounds (with --probes).
    #[arg(long, value_name = "DURATION", default_value = "1m", requires = "probes",
          value_parser = crate::config::parse_duration)]
    pub every: std::time::Duration,
    /// Locations `sim-1` … `sim-L` probing every probe (with --probes).
    #[arg(long, value_name = "L", default_value_t = 1, requires = "probes",
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub locations: u32,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The SQLite store.
    #[arg(long, default_value = "outpost.db")]
    pub db: PathBuf,
    /// The output folder.
    #[arg(long, default_value = "public")]
    pub out: PathBuf,
    /// A folder of templates overriding the built-in ones by file name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Render as of this RFC 3339 instant (tests, replays).
    #[arg(long, env = "OUTPOST_NOW", hide = true, value_parser = parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Stores written by `outpost run` at other locations; read, never changed.
    #[arg(required = true, value_name = "SHARD.db")]
    pub shards: Vec<PathBuf>,
    /// The store to merge into (created if missing).
    #[arg(long, value_name = "outpost.db")]
    pub into: PathBuf,
    /// The config, for states, quorum, incidents, alerts, maintenance and
    /// retention [default: probes.toml; without it only results, rollups and
    /// location states are merged].
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Queue and send no notification for state changes the merge finds.
    #[arg(long)]
    pub no_alert: bool,
    /// Merge as of this RFC 3339 instant (tests, replays).
    #[arg(long, env = "OUTPOST_NOW", hide = true, value_parser = parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The SQLite store.
    #[arg(long, default_value = "outpost.db")]
    pub db: PathBuf,
    /// The window, in days ending today (UTC).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Report as of this RFC 3339 instant (tests, replays).
    #[arg(long, env = "OUTPOST_NOW", hide = true, value_parser = parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Send a test notification through a channel and show its answer.
    Test(AlertTestArgs),
}

#[derive(Debug, Args)]
pub struct AlertTestArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The `name` of a [[channel]].
    pub channel: String,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(short = 'c', long = "config", default_value = "probes.toml")]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Check this store instead of the config: integrity (`quick_check`), then
    /// a WAL checkpoint so the file alone holds every committed round (run it
    /// before copying or committing the store). Exit 3 when it is damaged.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also write .github/workflows/status.yml (GitHub Actions and Pages).
    #[arg(long)]
    pub github: bool,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
    /// The folder to write into (the repository root).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The SQLite store.
    #[arg(long, default_value = "outpost.db")]
    pub db: PathBuf,
    /// Where this run probes from (default: the host name).
    #[arg(long, env = "OUTPOST_LOCATION")]
    pub location: Option<String>,
    /// Probe only these ids (repeatable).
    #[arg(long = "only", value_name = "ID")]
    pub only: Vec<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Queue and send no notification for this run.
    #[arg(long)]
    pub no_alert: bool,
    /// Which outcome makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Down)]
    pub fail_on: FailOn,
    /// Probes in flight at once, across all hosts (at most 4 per host).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Render the status site into DIR after the run.
    #[arg(long, value_name = "DIR")]
    pub render: Option<PathBuf>,
    /// Templates overriding the built-in ones (with --render).
    #[arg(long, value_name = "DIR", requires = "render")]
    pub templates: Option<PathBuf>,
    /// Probe rounds in this process, each stored, evaluated, alerted and
    /// rendered like a run of its own (with --every).
    #[arg(long, value_name = "N", requires = "every",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub repeat: Option<u32>,
    /// Time from one round's start to the next's with --repeat, e.g. "1m":
    /// `--repeat 5 --every 1m` gives one-minute resolution in a 5-minute cron job.
    #[arg(long, value_name = "DURATION", requires = "repeat",
          value_parser = crate::config::parse_duration)]
    pub every: Option<std::time::Duration>,
    /// Pretend the run starts at this RFC 3339 instant (tests, replays).
    #[arg(long, env = "OUTPOST_NOW", hide = true, value_parser = parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The SQLite store.
    #[arg(long, default_value = "outpost.db")]
    pub db: PathBuf,
    /// Where this process probes from (default: the host name).
    #[arg(long, env = "OUTPOST_LOCATION")]
    pub location: Option<String>,
    /// Probes in flight at once, across all hosts (at most 4 per host).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Queue and send no notification.
    #[arg(long)]
    pub no_alert: bool,
    /// Keep the status site in DIR up to date.
    #[arg(long, value_name = "DIR")]
    pub render: Option<PathBuf>,
    /// Templates overriding the built-in ones (with --render).
    #[arg(long, value_name = "DIR", requires = "render")]
    pub templates: Option<PathBuf>,
    /// Render at most this often, and only when new results came in.
    #[arg(long, value_name = "DURATION", default_value = "30s", requires = "render",
          value_parser = crate::config::parse_duration)]
    pub render_every: std::time::Duration,
    /// Pretend the watch starts at this RFC 3339 instant (tests, replays).
    #[arg(long, env = "OUTPOST_NOW", hide = true, value_parser = parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant: {e}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    /// One JUnit XML test case per probe.
    Junit,
    /// GitHub Actions annotations, the table, and a job summary in $GITHUB_STEP_SUMMARY.
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Down,
    Degraded,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
