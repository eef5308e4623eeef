//! The server's log: one `tracing` subscriber, to stdout, pretty or JSON;
//! colour only on a terminal and never with `NO_COLOR`.

use crate::config::LogFormat;

/// Sets up the log: `SWITCHYARD_LOG` filter (default `info`), `format`.
pub fn init(format: LogFormat) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SWITCHYARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stdout: escape codes only when it is a terminal, so a
    // file, a pipe or a log collector gets plain text.
    let ansi = colour(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Whether to colour the log: on a terminal, unless NO_COLOR is set to
/// anything but the empty string (<https://no-color.org>).
fn colour(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}
