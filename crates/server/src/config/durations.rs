//! The parsers of the duration options: each refuses zero (unless it
//! disables the option) and absurd values at start, naming its variable.

use std::time::Duration;

pub(super) const MILLI: Duration = Duration::from_millis(1);
pub(super) const SECOND: Duration = Duration::from_secs(1);
pub(super) const MINUTE: Duration = Duration::from_secs(60);
pub(super) const DAY: Duration = Duration::from_secs(24 * 3600);

/// The parser of a duration option: refuses values outside `min..=max`
/// (`SWITCHYARD_HEARTBEAT=0s` would spin the heartbeat task, a scheduler
/// tick of 0 a busy loop) at start, naming the variable, since clap's own
/// message names only the flag and the value usually comes from the
/// environment.
pub(super) fn within(
    var: &'static str,
    min: Duration,
    max: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |text| {
        let d = humantime::parse_duration(text).map_err(|e| format!("{var}: `{text}` is not a duration ({e})"))?;
        if d < min || d > max {
            let (min, max) = (humantime::format_duration(min), humantime::format_duration(max));
            return Err(format!("{var} must be from {min} to {max}, not `{text}`"));
        }
        Ok(d)
    }
}

/// [`within`], with `0` allowed too (the options where it disables).
pub(super) fn zero_or_within(
    var: &'static str,
    min: Duration,
    max: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    let bounded = within(var, min, max);
    move |text| match humantime::parse_duration(text) {
        Ok(Duration::ZERO) => Ok(Duration::ZERO),
        _ => bounded(text).map_err(|e| format!("{e} (or 0)")),
    }
}
