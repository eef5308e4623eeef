//! Account commands.
//!
//! - `switchyard admin reset-password USER`: on the server host, straight
//!   on the store (the API may be down; a forgotten `admin` password).
//! - `switchyard users list|reset-password`: over the API, admin token.
//! - `switchyard passwd --user USER`: a user changes their own password
//!   over the API (logs in with the current one; no token needed).
//!
//! Passwords are read from standard input (one per line) when it is not a
//! terminal or with `--password-stdin`, prompted without echo on a
//! terminal, or generated and shown once for resets.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use super::remote::Client;
use crate::auth::{password, secret};
use crate::config::DatabaseArgs;
use crate::store::{Actor, NullSink, PasswordChange};

/// `switchyard admin …`: maintenance on the server host.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set a user's password directly in the store (works while the API is
    /// down); ends the user's sessions. Prints a generated password unless
    /// --password-stdin is given.
    ResetPassword {
        /// User name.
        user: String,
        /// Where the new password comes from.
        #[command(flatten)]
        input: PasswordInput,
        /// Which database to open.
        #[command(flatten)]
        database: DatabaseArgs,
        /// Minimum password length.
        #[arg(long, env = "SWITCHYARD_MIN_PASSWORD_LENGTH", default_value_t = 12)]
        min_password_length: u32,
    },
}

/// `switchyard users …` (admin token).
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users and their roles.
    List,
    /// Set another user's password; ends that user's sessions. Prints a
    /// generated password unless --password-stdin is given.
    ResetPassword {
        /// User name.
        user: String,
        /// Where the new password comes from.
        #[command(flatten)]
        input: PasswordInput,
    },
}

/// Where a new password comes from.
#[derive(Debug, Clone, Args)]
pub struct PasswordInput {
    /// Read the new password from the first line of standard input instead
    /// of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

/// A password generated for a reset: 24 random URL-safe characters.
fn generated_password() -> String {
    secret::random_token("pw")[3..27].to_string()
}

/// The new password for a reset, and whether it was generated.
fn reset_password_from(input: &PasswordInput) -> anyhow::Result<(String, bool)> {
    if input.password_stdin {
        let line = std::io::stdin().lock().lines().next().context("no password on standard input")??;
        return Ok((line, false));
    }
    Ok((generated_password(), true))
}

fn print_reset(user: &str, password: &str, generated: bool) {
    if generated {
        println!("Password of `{user}` reset: `{password}` (shown once). Its sessions have ended.");
    } else {
        println!("Password of `{user}` reset. Its sessions have ended.");
    }
}

/// `switchyard admin …`.
pub async fn admin(command: AdminCommand) -> anyhow::Result<i32> {
    let AdminCommand::ResetPassword { user, input, database, min_password_length } = command;
    let (new, generated) = reset_password_from(&input)?;
    password::check_length(&new, min_password_length).map_err(anyhow::Error::msg)?;
    let url = database.effective_url()?;
    let store = crate::store::connect(&url, Arc::new(NullSink)).await.map_err(|e| super::errors::database(&url, &e))?;
    if store.user_by_name(&user).await?.is_none() {
        let names: Vec<String> = store.list_users().await?.into_iter().map(|u| u.username).collect();
        bail!("no user `{user}` in {} (users: {})", crate::config::redact_url(&url), names.join(", "));
    }
    let to_hash = new.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&to_hash)).await??;
    let actor = Actor { name: "switchyard admin".into(), ..Actor::system() };
    store.set_password(&actor, &user, &hash, PasswordChange::Reset).await?;
    print_reset(&user, &new, generated);
    Ok(0)
}

impl Client {
    /// `switchyard users …`. Returns the exit code.
    pub async fn users(&self, command: &UsersCommand) -> anyhow::Result<i32> {
        match command {
            UsersCommand::List => {
                let list = self.api.users().await?;
                self.print(&list, users_table);
            }
            UsersCommand::ResetPassword { user, input } => {
                let (new, generated) = reset_password_from(input)?;
                let done = self.api.reset_password(user, &new).await?;
                let shown = if generated { format!(": `{new}` (shown once)") } else { String::new() };
                self.print(&done, |_| format!("Password of `{user}` reset{shown}. Its sessions have ended.\n"));
            }
        }
        Ok(0)
    }
}

fn users_table(list: &Value) -> String {
    let mut out = format!("{:<24} {:<10} {}\n", "USER", "ROLE", "CREATED");
    for u in list.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<24} {:<10} {}\n",
            u["username"].as_str().unwrap_or(""),
            u["role"].as_str().unwrap_or(""),
            u["created_at"].as_str().unwrap_or("")
        ));
    }
    out
}

/// `switchyard passwd`: the current and the new password (prompted twice
/// on a terminal; two lines on standard input otherwise).
pub async fn passwd(server: &str, user: &str) -> anyhow::Result<i32> {
    let (current, new) = if std::io::stdin().is_terminal() {
        let current = rpassword::prompt_password(format!("Current password of `{user}`: "))?;
        let new = rpassword::prompt_password("New password: ")?;
        if rpassword::prompt_password("New password again: ")? != new {
            bail!("the two new passwords differ; nothing changed");
        }
        (current, new)
    } else {
        let mut lines = std::io::stdin().lock().lines();
        let mut next =
            |what: &str| lines.next().with_context(|| format!("no {what} on standard input")).and_then(|l| Ok(l?));
        (next("current password (first line)")?, next("new password (second line)")?)
    };
    let session = crate::client::Client::new(server).logged_in(user, &current).await?;
    session.change_password(&current, &new).await?;
    println!("Password of `{user}` changed. Every earlier session of `{user}` has ended; log in again.");
    Ok(0)
}
