//! Start-up errors that say what to do: a port in use, a database that is
//! missing or unreachable, a misspelled SWITCHYARD_* variable; and printing
//! an error chain with each cause once.

use std::net::SocketAddr;

use crate::config::redact_url;

/// `error: …` with each distinct cause once: a cause whose text the
/// message so far already contains (sqlx and anyhow often repeat their
/// source in their own message) is skipped.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.trim().trim_end_matches(':').trim();
        if text.is_empty() || out.contains(text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(text);
    }
    out
}

/// The listen address could not be bound.
pub fn bind(addr: SocketAddr, err: &std::io::Error) -> anyhow::Error {
    match err.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "port {} is already in use on {} (another Switchyard or another program?); \
             choose another with --listen {}:PORT or SWITCHYARD_LISTEN={}:PORT",
            addr.port(),
            addr.ip(),
            addr.ip(),
            addr.ip()
        ),
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "not allowed to listen on {addr} (ports below 1024 need privileges); \
             choose another with --listen or SWITCHYARD_LISTEN"
        ),
        _ => {
            anyhow::anyhow!("cannot listen on {addr}: {err}; choose another address with --listen or SWITCHYARD_LISTEN")
        }
    }
}

/// The store could not be opened: one line with the URL (without its
/// password) and how to fix it.
pub fn database(url: &str, err: &dyn std::fmt::Display) -> anyhow::Error {
    let shown = redact_url(url);
    let text = err.to_string();
    if url.starts_with("sqlite:") {
        return anyhow::anyhow!(
            "cannot open the SQLite database {shown}: {}; check that the directory exists and is writable \
             (SWITCHYARD_DATA_DIR)",
            last_cause(&text)
        );
    }
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return anyhow::anyhow!(
            "SWITCHYARD_DATABASE_URL `{shown}` is not a database URL: use postgres://USER:PASSWORD@HOST:5432/NAME, \
             sqlite://PATH, or leave it unset for the embedded SQLite store"
        );
    }
    if text.contains("does not exist") && text.contains("database") {
        let name = url.rsplit('/').next().unwrap_or("").split('?').next().unwrap_or("");
        return anyhow::anyhow!(
            "the Postgres database `{name}` does not exist ({shown}); create it, e.g. \
             `createdb {name}` or `psql -c 'CREATE DATABASE \"{name}\"'` on that server (migrations run at start)"
        );
    }
    if text.contains("password authentication failed") || text.contains("authentication") {
        return anyhow::anyhow!(
            "Postgres refused the credentials for {shown}: {}; check the user and password \
             (SWITCHYARD_DATABASE_URL, or SWITCHYARD_DB_USER / SWITCHYARD_DB_PASSWORD)",
            last_cause(&text)
        );
    }
    anyhow::anyhow!(
        "cannot reach Postgres at {shown}: {}; is it running and is the host/port right? \
         (or leave SWITCHYARD_DATABASE_URL unset to use the embedded SQLite store)",
        last_cause(&text)
    )
}

/// `a: b: c` → `c`, the root cause of a flattened chain.
fn last_cause(text: &str) -> &str {
    text.rsplit(": ").find(|s| !s.trim().is_empty()).unwrap_or(text).trim()
}

/// Warnings for SWITCHYARD_* variables that no option reads, with the
/// closest known name when one is near.
pub fn unknown_env_vars(known: &[String], present: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut warnings = Vec::new();
    for name in present {
        if !name.starts_with("SWITCHYARD_") || known.contains(&name) {
            continue;
        }
        let closest = known
            .iter()
            .map(|k| (strsim::damerau_levenshtein(k, &name), k))
            .min()
            .filter(|(d, _)| *d <= 3)
            .map(|(_, k)| format!("; did you mean {k}?"))
            .unwrap_or_default();
        warnings.push(format!("warning: {name} is not a Switchyard setting and is ignored{closest}"));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_causes_are_printed_once() {
        let root = anyhow::anyhow!("database \"x\" does not exist");
        let err = root.context("error returned from database: database \"x\" does not exist").context("opening");
        assert_eq!(render(&err), "opening: error returned from database: database \"x\" does not exist");
    }

    #[test]
    fn misspelled_variables_get_the_closest_name() {
        let known = vec!["SWITCHYARD_LISTEN".to_string(), "SWITCHYARD_DATABASE_URL".to_string()];
        let present = ["SWITCHYARD_LISTN", "SWITCHYARD_LISTEN", "PATH", "SWITCHYARD_ZZZZZZZZZZ"].map(String::from);
        let w = unknown_env_vars(&known, present);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("SWITCHYARD_LISTN") && w[0].contains("did you mean SWITCHYARD_LISTEN?"));
        assert!(!w[1].contains("did you mean"));
    }
}
