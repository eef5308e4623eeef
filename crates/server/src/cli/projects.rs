//! `switchyard projects list|create` and `switchyard envs list|create|set`:
//! projects (a new one with its environments) and a project's environments
//! in their order, with their colours (admin token to create or change).

use clap::Subcommand;
use serde_json::Value;

use super::remote::Client;
use crate::store::{EnvironmentPatch, NewEnvironment, NewProject};

/// `switchyard projects …`
#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// List the projects the token sees (`--archived`: the archived ones).
    List {
        /// List the archived projects instead.
        #[arg(long)]
        archived: bool,
    },
    /// Create a project (unscoped admin token) with its environments.
    Create {
        /// Project key.
        key: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Environments to create, in order (comma-separated, e.g.
        /// development,staging,production; default: the server's
        /// SWITCHYARD_DEFAULT_ENVIRONMENTS). `--environments ''`: none.
        #[arg(long, value_delimiter = ',')]
        environments: Option<Vec<String>>,
    },
    /// Archive a project (global admin token): without --confirm a dry run
    /// saying whether it is in use (its SDK keys used in the last --days,
    /// instances connected); refused while in use unless --force. Its SDK
    /// keys stop working (the SDKs keep their last flags).
    Archive {
        /// Project key.
        key: String,
        /// Confirm, force, reason, look-back.
        #[command(flatten)]
        how: ArchiveArgs,
    },
    /// Restore an archived project from the archive (global admin token).
    Unarchive {
        /// Project key.
        key: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete an archived project (global admin token); its audit history stays.
    Delete {
        /// Project key.
        key: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
}

/// How to archive a project or an environment (`projects archive`,
/// `envs archive`): a dry run unless `--confirm`.
#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    /// Archive now (needs --reason).
    #[arg(long)]
    confirm: bool,
    /// Archive even though it is in use.
    #[arg(long)]
    force: bool,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
    /// In use when an SDK key was used within this many days (default 7).
    #[arg(long)]
    days: Option<u32>,
}

impl ArchiveArgs {
    /// The archive request's body; `--confirm` needs `--reason` (saying
    /// why the `what` goes).
    pub fn body(&self, what: &str) -> anyhow::Result<Value> {
        let ArchiveArgs { confirm, force, reason, days } = self;
        if *confirm && reason.is_none() {
            anyhow::bail!("--confirm needs --reason: say why the {what} goes");
        }
        Ok(serde_json::json!({"confirm": confirm, "force": force, "reason": reason, "days": days}))
    }
}

/// `switchyard envs …`
#[derive(Debug, Subcommand)]
pub enum EnvsCommand {
    /// List the project's environments in order (position, key, colour, revision).
    List,
    /// Create an environment (its flags start off).
    Create {
        /// Environment key.
        key: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Colour, `#rrggbb` (default: red for production, amber for staging, green for development).
        #[arg(long)]
        color: Option<String>,
        /// Place in the lists (default: last).
        #[arg(long)]
        position: Option<u32>,
    },
    /// Change an environment's name, colour or position.
    Set {
        /// Environment key.
        key: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Colour, `#rrggbb`.
        #[arg(long, conflicts_with = "no_color")]
        color: Option<String>,
        /// Remove the colour.
        #[arg(long)]
        no_color: bool,
        /// Place in the lists (ascending).
        #[arg(long)]
        position: Option<u32>,
    },
    /// Archive an environment (admin): without --confirm a dry run saying
    /// whether it is in use (SDK keys used in the last --days, instances
    /// connected); refused while in use unless --force.
    Archive {
        /// Environment key.
        key: String,
        /// Confirm, force, reason, look-back.
        #[command(flatten)]
        how: ArchiveArgs,
    },
    /// Restore an archived environment from the archive (admin).
    Unarchive {
        /// Environment key.
        key: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete an archived environment (admin); its audit history stays.
    Delete {
        /// Environment key.
        key: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// List the archived environments.
    Archived,
}

impl Client {
    /// Runs a `projects` subcommand. Returns the exit code.
    pub async fn projects(&self, command: &ProjectsCommand) -> anyhow::Result<i32> {
        match command {
            ProjectsCommand::List { archived } => {
                let list = if *archived { self.api.archived_projects().await? } else { self.api.projects().await? };
                self.print(&list, |l| {
                    let names = l.as_array().into_iter().flatten();
                    names
                        .map(|p| format!("{}\t{}\n", p["key"].as_str().unwrap_or(""), p["name"].as_str().unwrap_or("")))
                        .collect()
                });
            }
            ProjectsCommand::Create { key, name, environments } => {
                let environments =
                    environments.as_ref().map(|e| e.iter().filter(|k| !k.trim().is_empty()).cloned().collect());
                let new = NewProject { key: key.clone(), name: name.clone(), description: None, environments };
                let project = self.api.create_project(&new).await?;
                let envs = self.api.environments(key).await?;
                self.print(&envs, |e| format!("created project {}\n{}", project.key, envs_table(e)));
            }
            _ => return self.project_lifecycle(command).await,
        }
        Ok(0)
    }

    /// Runs an `envs` subcommand. Returns the exit code.
    pub async fn envs(&self, command: &EnvsCommand) -> anyhow::Result<i32> {
        let project = self.project()?;
        match command {
            EnvsCommand::List => {
                let list = self.api.environments(project).await?;
                self.print(&list, envs_table);
            }
            EnvsCommand::Create { key, name, color, position } => {
                let new =
                    NewEnvironment { key: key.clone(), name: name.clone(), color: color.clone(), position: *position };
                let env = self.api.create_environment(project, &new).await?;
                self.print(&env, |e| format!("created {}\n", env_line(e)));
            }
            EnvsCommand::Set { key, name, color, no_color, position } => {
                let color = if *no_color { Some(None) } else { color.clone().map(Some) };
                let patch = EnvironmentPatch { name: name.clone(), color, position: *position };
                let env = self.api.update_environment(project, key, &patch).await?;
                self.print(&env, |e| format!("updated {}\n", env_line(e)));
            }
            EnvsCommand::Archived => {
                let list = self.api.archived_environments(project).await?;
                self.print(&list, envs_table);
            }
            EnvsCommand::Archive { .. } | EnvsCommand::Unarchive { .. } | EnvsCommand::Delete { .. } => {
                return self.env_lifecycle(project, command).await;
            }
        }
        Ok(0)
    }
}

fn env_line(e: &Value) -> String {
    format!(
        "{} ({}) position {} colour {}",
        e["key"].as_str().unwrap_or(""),
        e["name"].as_str().unwrap_or(""),
        e["position"],
        e["color"].as_str().unwrap_or("-")
    )
}

fn envs_table(list: &Value) -> String {
    let mut out = format!("{:<4} {:<20} {:<24} {:<8} {}\n", "POS", "KEY", "NAME", "COLOUR", "REVISION");
    for e in list.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<4} {:<20} {:<24} {:<8} {}\n",
            e["position"],
            e["key"].as_str().unwrap_or(""),
            e["name"].as_str().unwrap_or(""),
            e["color"].as_str().unwrap_or("-"),
            e["revision"]
        ));
    }
    out
}
