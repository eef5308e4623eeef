//! `switchyard members list|set|remove`: a project's members, users' roles
//! in that one project (issue 19 §5). A token of the project's admins, or a
//! global admin's; never above the caller's own role there.

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

impl Client {
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
