//! Lifecycle commands over the API (admin token): `switchyard flags
//! archive` (a dry run showing, per environment, when the flag was last
//! evaluated and who evaluates it; archived only with `--confirm` and a
//! reason), `flags unarchive` (restore from the archive) and `flags delete`
//! (archived flags only, with a reason). `flags list --archived` lists the
//! archive. The same for environments: `envs archive` (a dry run saying
//! whether it is in use; `--confirm`, `--force` while in use), `envs
//! unarchive`, `envs delete`, `envs archived`; and for projects (global
//! admin token): `projects archive|unarchive|delete`, `projects list --archived`.

use anyhow::Context as _;
use serde_json::Value;

use super::projects::{EnvsCommand, ProjectsCommand};
use super::remote::Client;

impl Client {
    /// `flags archive FLAG [--confirm --reason R]`.
    pub async fn archive(&self, flag: &str, confirm: bool, reason: Option<&str>) -> anyhow::Result<i32> {
        let project = self.project()?;
        if !confirm {
            let preview = self.api.archive_flag(project, flag, None).await?;
            self.print(&preview, archive_preview);
            return Ok(0);
        }
        let reason = reason.context("--confirm needs --reason: say why the flag goes")?;
        let done = self.api.archive_flag(project, flag, Some(reason)).await?;
        self.print(&done, |d| {
            let at = d["flag"]["archived_at"].as_str().unwrap_or("?");
            if d["archived"] == true {
                format!("archived {flag} at {at}: it is in no SDK snapshot any more\n")
            } else {
                format!("{flag} was already archived (at {at}); nothing changed\n")
            }
        });
        Ok(0)
    }

    /// `flags unarchive FLAG [--reason R]`.
    pub async fn unarchive(&self, flag: &str, reason: Option<&str>) -> anyhow::Result<i32> {
        let def = self.api.unarchive_flag(self.project()?, flag, reason).await?;
        self.print(&def, |_| format!("restored {flag} from the archive: back in every SDK snapshot as it was\n"));
        Ok(0)
    }

    /// `flags delete FLAG --reason R`.
    pub async fn delete_flag(&self, flag: &str, reason: &str) -> anyhow::Result<i32> {
        self.api.delete_flag(self.project()?, flag, reason).await?;
        self.print(&Value::Null, |_| format!("deleted {flag} (its audit history stays)\n"));
        Ok(0)
    }
}

/// The human dry run: one line per environment.
pub fn archive_preview(preview: &Value) -> String {
    let flag = preview["flag"]["key"].as_str().unwrap_or("?");
    let mut out = format!("DRY RUN (nothing changed): archiving {flag} removes it from these SDK snapshots:\n");
    out.push_str(&format!(
        "{:<16} {:<26} {:>9} {:>10} {}\n",
        "ENVIRONMENT", "LAST EVALUATED", "CONNECTED", "EVALUATING", "NEEDED BY"
    ));
    let mut blocked = false;
    for env in preview["environments"].as_array().into_iter().flatten() {
        let dependents: Vec<&str> =
            env["dependents"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        blocked |= !dependents.is_empty();
        out.push_str(&format!(
            "{:<16} {:<26} {:>9} {:>10} {}\n",
            env["environment"].as_str().unwrap_or("?"),
            env["last_evaluated"].as_str().unwrap_or("never (no telemetry)"),
            env["connected"],
            env["evaluating"],
            if dependents.is_empty() { "-".to_string() } else { dependents.join(",") },
        ));
    }
    for env in preview["environments"].as_array().into_iter().flatten() {
        let name = env["environment"].as_str().unwrap_or("?");
        if let Some(plan) = env["release_plan"].as_i64() {
            out.push_str(&format!("stops release plan {plan} in {name} (aborted: flag archived)\n"));
        }
        let ids: Vec<String> =
            env["scheduled_changes"].as_array().into_iter().flatten().map(|id| format!("#{id}")).collect();
        if !ids.is_empty() {
            out.push_str(&format!("cancels scheduled change(s) {} in {name}\n", ids.join(", ")));
        }
        let ids: Vec<String> =
            env["change_requests"].as_array().into_iter().flatten().map(|id| format!("#{id}")).collect();
        if !ids.is_empty() {
            out.push_str(&format!("cancels change request(s) {} in {name}\n", ids.join(", ")));
        }
    }
    if blocked {
        out.push_str("refused while other flags need it as a prerequisite: change or archive those first\n");
    } else {
        out.push_str(&format!("to archive: switchyard flags archive {flag} --confirm --reason \"…\"\n"));
    }
    out
}

impl Client {
    /// `envs archive|unarchive|delete`.
    pub async fn env_lifecycle(&self, project: &str, command: &EnvsCommand) -> anyhow::Result<i32> {
        match command {
            EnvsCommand::Archive { key, how } => {
                let body = how.body("environment")?;
                let outcome = self.api.archive_environment(project, key, &body).await?;
                self.print(&outcome, |o| env_archive_text(key, o));
            }
            EnvsCommand::Unarchive { key, reason } => {
                let env = self.api.unarchive_environment(project, key, reason.as_deref()).await?;
                self.print(&env, |_| format!("restored environment {key} from the archive\n"));
            }
            EnvsCommand::Delete { key, reason } => {
                self.api.delete_environment(project, key, reason).await?;
                self.print(&Value::Null, |_| format!("deleted environment {key} (its audit history stays)\n"));
            }
            _ => {}
        }
        Ok(0)
    }
}

impl Client {
    /// Runs `projects archive|unarchive|delete`. Returns the exit code.
    pub async fn project_lifecycle(&self, command: &ProjectsCommand) -> anyhow::Result<i32> {
        match command {
            ProjectsCommand::Archive { key, how } => {
                let body = how.body("project")?;
                let outcome = self.api.archive_project(key, &body).await?;
                self.print(&outcome, |o| archive_text(("project", "projects"), key, o));
            }
            ProjectsCommand::Unarchive { key, reason } => {
                let project = self.api.unarchive_project(key, reason.as_deref()).await?;
                self.print(&project, |_| format!("restored project {key} from the archive\n"));
            }
            ProjectsCommand::Delete { key, reason } => {
                self.api.delete_project(key, reason).await?;
                self.print(&Value::Null, |_| format!("deleted project {key} (its audit history stays)\n"));
            }
            _ => {}
        }
        Ok(0)
    }
}

/// The human answer of `envs archive`: the in-use evidence, then what happened.
fn env_archive_text(key: &str, o: &Value) -> String {
    archive_text(("environment", "envs"), key, o)
}

/// The human answer of `envs archive` and `projects archive`.
fn archive_text((what, command): (&str, &str), key: &str, o: &Value) -> String {
    let keys: Vec<String> = o["keys_used"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            format!(
                "{} ({}…, last used {})",
                k["name"].as_str().unwrap_or("?"),
                k["prefix"].as_str().unwrap_or(""),
                k["last_used_at"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let usage = format!(
        "{} SDK key(s) used in the last {} days{}; {} SDK instance(s) connected",
        keys.len(),
        o["days"],
        if keys.is_empty() { String::new() } else { format!(": {}", keys.join(", ")) },
        o["connected"]
    );
    if o["archived"] == true {
        return format!("archived {what} {key} ({usage})\n");
    }
    if o[what]["archived_at"].is_string() {
        return format!("{what} {key} was already archived; nothing changed\n");
    }
    let verdict = if o["in_use"] == true { "IN USE: archiving needs --force" } else { "not in use" };
    format!(
        "DRY RUN (nothing changed): {what} {key} is {verdict} ({usage})\nto archive: switchyard {command} archive {key} --confirm --reason \"…\"\n"
    )
}
