//! `switchyard members list|set|remove`: a project's members, users' roles
//! in that one project (issue 19 §5). `switchyard tokens list|create|revoke`:
//! the API tokens limited to the project. A token of the project's admins, or
//! a global admin's; never above the caller's own role there.

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::Value;

use super::remote::Client;
use crate::store::Role;

/// `switchyard members …`
#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// List the project's members (role there, global role, granted by, when).
    List,
    /// Give a user a role in the project (the higher of it and their global role applies there).
    Set {
        /// User name.
        user: String,
        /// viewer, responder, editor or admin.
        #[arg(long)]
        role: String,
    },
    /// End a user's membership (their global role applies there again).
    Remove {
        /// User name.
        user: String,
    },
}

/// `switchyard tokens …` (the project's tokens).
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List the tokens limited to the project.
    List,
    /// Create a token limited to the project; prints its secret (shown once).
    Create {
        /// Display name (the audit actor name).
        name: String,
        /// viewer, responder, editor or admin (never above your own role in the project).
        #[arg(long)]
        role: String,
    },
    /// Revoke a token of the project (it stops working at once).
    Revoke {
        /// Token id (see `tokens list`).
        id: i64,
    },
}

impl Client {
    /// Runs a `tokens` subcommand. Returns the exit code.
    pub async fn tokens(&self, command: &TokensCommand) -> anyhow::Result<i32> {
        let project = self.project()?;
        match command {
            TokensCommand::List => {
                let list = self.api.project_tokens(project).await?;
                self.print(&list, tokens_table);
            }
            TokensCommand::Create { name, role } => {
                let role = Role::parse(role).context("--role is viewer, responder, editor or admin")?;
                let created = self.api.create_project_token(project, name, role).await?;
                self.print(&created, |c| format!("{}\n", text(&c["secret"])));
            }
            TokensCommand::Revoke { id } => {
                let token = self.api.revoke_project_token(project, *id).await?;
                self.print(&token, |t| format!("token {} ({}) revoked\n", t["id"], text(&t["name"])));
            }
        }
        Ok(0)
    }

    /// Runs a `members` subcommand. Returns the exit code.
    pub async fn members(&self, command: &MembersCommand) -> anyhow::Result<i32> {
        let project = self.project()?;
        match command {
            MembersCommand::List => {
                let list = self.api.members(project).await?;
                self.print(&list, members_table);
            }
            MembersCommand::Set { user, role } => {
                let role = Role::parse(role).context("--role is viewer, responder, editor or admin")?;
                let member = self.api.set_member(project, user, role).await?;
                self.print(&member, |m| format!("{} is {} in {project}\n", text(&m["username"]), text(&m["role"])));
            }
            MembersCommand::Remove { user } => {
                let member = self.api.remove_member(project, user).await?;
                self.print(&member, |m| format!("{} is no longer a member of {project}\n", text(&m["username"])));
            }
        }
        Ok(0)
    }
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn members_table(list: &Value) -> String {
    let mut out = format!("{:<24} {:<10} {:<10} {:<16} {}\n", "USER", "ROLE", "GLOBAL", "GRANTED BY", "GRANTED AT");
    for m in list.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<24} {:<10} {:<10} {:<16} {}\n",
            text(&m["username"]),
            text(&m["role"]),
            text(&m["global_role"]),
            text(&m["granted_by"]),
            text(&m["granted_at"])
        ));
    }
    out
}

fn tokens_table(list: &Value) -> String {
    let mut out =
        format!("{:<6} {:<24} {:<10} {:<12} {:<16} {}\n", "ID", "NAME", "ROLE", "PREFIX", "CREATED BY", "REVOKED");
    for t in list.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<6} {:<24} {:<10} {:<12} {:<16} {}\n",
            t["id"],
            text(&t["name"]),
            text(&t["role"]),
            text(&t["prefix"]),
            text(&t["created_by"]),
            t["revoked_at"].as_str().unwrap_or("-")
        ));
    }
    out
}
