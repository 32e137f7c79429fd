//! Loading `probes.toml`: parse (serde + toml, with spans), substitute `${ENV}`,
//! then resolve into a validated [`Config`]. Every error points at `FILE:LINE:COL`.

mod channels;
mod duration;
mod flow;
mod maintenance;
mod plan;
mod resolve;
mod schema;
mod text;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub use channels::{bearer, http_url, mailbox, smtp_server_name};
pub use duration::parse_flag as parse_duration;
pub use flow::{Builtin, Capture, CaptureSource, FlowStep, FlowTarget, Piece, Template};
pub use plan::*;
pub use text::Text;

/// One problem in the config file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
    /// The offending source line, for the caret display.
    pub source_line: String,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: crate::bounded_read::ReadError,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: String,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The located problems (empty when the file could not be read).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

fn render_problems(path: &str, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{path}:{}:{}: {}", p.line, p.col, p.message));
        if !p.source_line.is_empty() {
            let gutter = p.line.to_string().len();
            out.push_str(&format!(
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {}^",
                "",
                p.line,
                p.source_line,
                "",
                " ".repeat(p.col.saturating_sub(1))
            ));
        }
        if let Some(h) = &p.hint {
            out.push_str(&format!(
                "\n{:gutter$} = hint: {h}",
                "",
                gutter = p.line.to_string().len()
            ));
        }
    }
    out
}

/// Collects located problems while resolving.
pub(crate) struct Problems<'a> {
    source: &'a str,
    list: Vec<Problem>,
}

impl<'a> Problems<'a> {
    fn new(source: &'a str) -> Self {
        Problems {
            source,
            list: Vec::new(),
        }
    }

    /// Record a problem at a byte span of the source.
    pub(crate) fn at(
        &mut self,
        span: Range<usize>,
        message: impl fmt::Display,
        hint: Option<&str>,
    ) {
        let (line, col) = line_col(self.source, span.start);
        let source_line = self
            .source
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .to_string();
        self.list.push(Problem {
            line,
            col,
            message: message.to_string(),
            hint: hint.map(str::to_string),
            source_line,
        });
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// A hint for the errors serde and toml produce, by what they say.
fn hint_for(message: &str) -> Option<&'static str> {
    if message.contains("unknown field") {
        Some(
            "unknown keys are refused because they are almost always typos; see the config reference in README.md",
        )
    } else if message.contains("environment variable") {
        Some("export the variable before running outpost, or remove the reference")
    } else if message.contains("invalid duration") {
        Some("durations are strings such as \"250ms\", \"10s\", \"5m\", \"1h\"")
    } else if message.contains("regex") {
        Some(
            "regexes use Rust regex syntax; escape backslashes in TOML basic strings or use 'literal' strings",
        )
    } else if message.contains("unknown variant") {
        Some("use one of the listed values")
    } else if message.contains("JSONPath") {
        Some("JSONPath queries start with `$`, for example \"$.status\" (RFC 9535)")
    } else {
        None
    }
}

/// For "environment variable NAME is set but empty": in GitHub Actions a
/// secret that does not exist arrives as an empty variable, so say how to add it.
fn empty_variable_hint(message: &str) -> Option<String> {
    let name = message
        .strip_prefix("environment variable ")?
        .strip_suffix(" is set but empty")?;
    Some(format!(
        "in GitHub Actions, a secret that does not exist arrives as an empty variable: add \
         {name} under Settings > Secrets and variables > Actions > New repository secret, and \
         pass it in the workflow's `env:` as `{name}: ${{{{ secrets.{name} }}}}`; elsewhere, \
         give it a value or remove the reference"
    ))
}

/// Load and validate the config at `path` with the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let source = crate::bounded_read::read_text(path, crate::bounded_read::CONFIG_LIMIT).map_err(
        |source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        },
    )?;
    parse(path, &source, |name| std::env::var(name).ok())
}

/// Parse and validate config `source`, looking `${NAME}` up with `env`.
pub fn parse(
    path: &Path,
    source: &str,
    env: impl Fn(&str) -> Option<String> + 'static,
) -> Result<Config, ConfigError> {
    let display = path.display().to_string();
    let mut problems = Problems::new(source);
    let (parsed, used) = text::with_env(env, || toml::from_str::<schema::File>(source));
    let file = match parsed {
        Ok(f) => f,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().to_string();
            let hint =
                empty_variable_hint(&message).or_else(|| hint_for(&message).map(String::from));
            problems.at(span, &message, hint.as_deref());
            return Err(ConfigError::Invalid {
                path: display,
                problems: problems.list,
            });
        }
    };
    let secrets = crate::redact::Secrets::new(used);
    let base_dir: PathBuf = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let config = resolve::resolve(file, path, &base_dir, secrets, &mut problems);
    if problems.list.is_empty() {
        Ok(config)
    } else {
        problems.list.sort_by_key(|p| (p.line, p.col));
        Err(ConfigError::Invalid {
            path: display,
            problems: problems.list,
        })
    }
}

#[cfg(test)]
mod tests;
