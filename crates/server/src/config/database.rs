//! Where the store is: a URL, discrete Postgres settings (a password with
//! `@`, `/`, `:` or `%` needs no escaping), or the embedded SQLite default.
//! Shared by `switchyard serve` and `switchyard admin …` (which works on the
//! store directly).

use std::path::PathBuf;

use clap::Args;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Escape everything but unreserved characters in URL user info and path.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Database options.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `postgres://…` for production, `sqlite://…` for
    /// embedded. Unset or empty: SQLite in the data directory (or the
    /// SWITCHYARD_DB_* settings when SWITCHYARD_DB_HOST is set).
    #[arg(long, env = "SWITCHYARD_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the embedded SQLite database.
    #[arg(long, env = "SWITCHYARD_DATA_DIR", default_value = "switchyard-data")]
    pub data_dir: PathBuf,

    /// Postgres host, instead of a URL: the URL is then built from the
    /// SWITCHYARD_DB_* settings, escaping them (any password works as is).
    #[arg(long, env = "SWITCHYARD_DB_HOST")]
    pub db_host: Option<String>,

    /// Postgres port (with --db-host).
    #[arg(long, env = "SWITCHYARD_DB_PORT", default_value_t = 5432)]
    pub db_port: u16,

    /// Postgres user (with --db-host).
    #[arg(long, env = "SWITCHYARD_DB_USER", default_value = "switchyard")]
    pub db_user: String,

    /// Postgres password (with --db-host); taken literally, no escaping.
    #[arg(long, env = "SWITCHYARD_DB_PASSWORD", hide_env_values = true)]
    pub db_password: Option<String>,

    /// Postgres database name (with --db-host).
    #[arg(long, env = "SWITCHYARD_DB_NAME", default_value = "switchyard")]
    pub db_name: String,
}

impl DatabaseArgs {
    /// The embedded default for `data_dir`.
    pub fn sqlite_in(data_dir: PathBuf) -> Self {
        DatabaseArgs {
            database_url: None,
            data_dir,
            db_host: None,
            db_port: 5432,
            db_user: "switchyard".into(),
            db_password: None,
            db_name: "switchyard".into(),
        }
    }

    /// The URL in effect: the URL when set and not blank, else one built
    /// from the SWITCHYARD_DB_* settings when a host is set, else SQLite in
    /// the data directory. Both a URL and a host: refused (one line).
    pub fn effective_url(&self) -> anyhow::Result<String> {
        let url = self.database_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        match (url, self.db_host.as_deref().filter(|h| !h.trim().is_empty())) {
            (Some(_), Some(_)) => {
                anyhow::bail!("both SWITCHYARD_DATABASE_URL and SWITCHYARD_DB_HOST are set; set only one of them")
            }
            (Some(url), None) => Ok(url.to_string()),
            (None, Some(host)) => Ok(self.postgres_url(host)),
            (None, None) => Ok(format!("sqlite://{}", self.data_dir.join("switchyard.db").display())),
        }
    }

    fn postgres_url(&self, host: &str) -> String {
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
        let auth = match &self.db_password {
            Some(pw) => format!("{}:{}", enc(&self.db_user), enc(pw)),
            None => enc(&self.db_user),
        };
        format!("postgres://{auth}@{host}:{}/{}", self.db_port, enc(&self.db_name))
    }
}

impl std::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &self.database_url.as_deref().map(super::redact_url))
            .field("data_dir", &self.data_dir)
            .field("db_host", &self.db_host)
            .field("db_port", &self.db_port)
            .field("db_user", &self.db_user)
            .field("db_password", &self.db_password.as_ref().map(|_| "<redacted>"))
            .field("db_name", &self.db_name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::postgres::PgConnectOptions;

    use super::*;

    #[test]
    fn blank_url_means_the_embedded_default() {
        let mut args = DatabaseArgs::sqlite_in("data".into());
        args.database_url = Some("  ".into());
        assert_eq!(args.effective_url().unwrap(), "sqlite://data/switchyard.db");
    }

    #[test]
    fn discrete_settings_survive_url_special_characters() {
        let mut args = DatabaseArgs::sqlite_in("data".into());
        args.db_host = Some("db.internal".into());
        args.db_user = "app@ops".into();
        args.db_password = Some("p@ss:w/rd%?#&=".into());
        args.db_name = "flags/prod".into();
        let url = args.effective_url().unwrap();
        let opts = PgConnectOptions::from_str(&url).unwrap();
        assert_eq!((opts.get_host(), opts.get_port(), opts.get_username()), ("db.internal", 5432, "app@ops"));
        assert_eq!(opts.get_database(), Some("flags/prod"));
        // sqlx decodes the password from the URL the same way.
        assert!(url.contains("p%40ss%3Aw%2Frd%25%3F%23%26%3D"), "{url}");
        args.database_url = Some("postgres://x@y/z".into());
        assert!(args.effective_url().unwrap_err().to_string().contains("only one"));
    }
}
