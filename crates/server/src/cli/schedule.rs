//! `switchyard schedule add|list|edit|cancel`: scheduled changes of a
//! flag's configuration in an environment, over the typed client.

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::Value;
use switchyard_core::{Rollout, Serve, WeightedVariant};

use super::remote::Client;
use crate::store::{ConfigPatch, NewScheduledChange, ScheduleEdit};

/// When: `--at` a time or `--in` a duration from now.
#[derive(Debug, Clone, Default, Args)]
pub struct When {
    /// At this time (RFC 3339, e.g. `2026-12-24T09:00:00Z`).
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
    /// In this long from now (e.g. `2h`, `30m`).
    #[arg(long = "in", value_parser = humantime::parse_duration)]
    pub after: Option<std::time::Duration>,
}

/// What: a toggle, a fallthrough (one variant or a rollout), or any change as JSON.
#[derive(Debug, Clone, Default, Args)]
pub struct What {
    /// Turn targeting on.
    #[arg(long, conflicts_with = "off")]
    pub on: bool,
    /// Turn targeting off.
    #[arg(long)]
    pub off: bool,
    /// Serve this variant when nothing else matches.
    #[arg(long, conflicts_with = "rollout")]
    pub serve: Option<String>,
    /// Serve a percentage rollout when nothing else matches: `on=25,off=75`.
    #[arg(long, value_delimiter = ',')]
    pub rollout: Vec<String>,
    /// Any change as JSON (`{"rules": […], "targets": […]}`), merged with the options above.
    #[arg(long)]
    pub change: Option<String>,
}

/// `switchyard schedule …`
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Schedule a change of a flag.
    Add {
        /// Flag key.
        flag: String,
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
        /// When.
        #[command(flatten)]
        when: When,
        /// What.
        #[command(flatten)]
        what: What,
        /// Why.
        #[arg(long, short = 'r')]
        reason: Option<String>,
    },
    /// List the environment's scheduled changes.
    List {
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
    },
    /// Change a pending change's time, change or reason.
    Edit {
        /// Scheduled change id.
        id: i64,
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
        /// When.
        #[command(flatten)]
        when: When,
        /// What (replaces the whole change when given).
        #[command(flatten)]
        what: What,
        /// Why.
        #[arg(long, short = 'r')]
        reason: Option<String>,
    },
    /// Cancel a pending change.
    Cancel {
        /// Scheduled change id.
        id: i64,
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
        /// Why.
        #[arg(long, short = 'r')]
        reason: Option<String>,
    },
}

impl When {
    fn time(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        match (self.at, self.after) {
            (Some(_), Some(_)) => bail!("give --at or --in, not both"),
            (Some(at), None) => Ok(Some(at)),
            (None, Some(after)) => Ok(Some(Utc::now() + chrono::Duration::from_std(after)?)),
            (None, None) => Ok(None),
        }
    }
}

impl What {
    /// The change these options describe.
    pub(super) fn patch(&self) -> anyhow::Result<ConfigPatch> {
        let mut patch: ConfigPatch = match &self.change {
            Some(json) => serde_json::from_str(json).context("--change is not a change")?,
            None => ConfigPatch::default(),
        };
        if self.on || self.off {
            patch.on = Some(self.on);
        }
        if let Some(variant) = &self.serve {
            patch.fallthrough = Some(Serve::Variant(variant.clone()));
        }
        if !self.rollout.is_empty() {
            patch.fallthrough = Some(Serve::Rollout(Rollout { bucket_by: None, variations: rollout(&self.rollout)? }));
        }
        Ok(patch)
    }
}

/// `on=25` … → weights in thousandths of a percent.
fn rollout(arms: &[String]) -> anyhow::Result<Vec<WeightedVariant>> {
    arms.iter()
        .map(|arm| {
            let (variant, percent) = arm.split_once('=').context("--rollout takes variant=percent,…")?;
            let percent: f64 = percent.trim().parse().with_context(|| format!("`{percent}` is not a percentage"))?;
            let weight = (percent * 1000.0).round();
            if !(0.0..=100_000.0).contains(&weight) {
                bail!("`{percent}` is not between 0 and 100");
            }
            Ok(WeightedVariant { variant: variant.trim().to_string(), weight: weight as u32 })
        })
        .collect()
}

impl Client {
    /// Runs a `schedule` subcommand. Returns the exit code.
    pub async fn schedule(&self, command: &ScheduleCommand) -> anyhow::Result<i32> {
        let project = self.project()?;
        match command {
            ScheduleCommand::Add { flag, env, when, what, reason } => {
                let at = when.time()?.context("give --at or --in")?;
                let body = NewScheduledChange { at, change: what.patch()?, reason: reason.clone() };
                let created = self.api.schedule_change((project, env.as_str(), flag.as_str()), &body).await?;
                self.print(&created, |c| format!("scheduled {}", change_line(c)));
            }
            ScheduleCommand::List { env } => {
                let changes = self.api.scheduled_changes(project, env).await?;
                self.print(&changes, |list| list.as_array().into_iter().flatten().map(change_line).collect());
            }
            ScheduleCommand::Edit { id, env, when, what, reason } => {
                let change = what.patch()?;
                let edit = ScheduleEdit {
                    at: when.time()?,
                    change: (!change.is_empty()).then_some(change),
                    reason: reason.clone(),
                };
                let edited = self.api.edit_scheduled_change((project, env.as_str(), *id), &edit).await?;
                self.print(&edited, |c| format!("edited {}", change_line(c)));
            }
            ScheduleCommand::Cancel { id, env, reason } => {
                let cancelled =
                    self.api.cancel_scheduled_change((project, env.as_str(), *id), reason.as_deref()).await?;
                self.print(&cancelled, |c| format!("cancelled {}", change_line(c)));
            }
        }
        Ok(0)
    }
}

/// One change as people read it: `#12 checkout at 2026-… PENDING {"on":true} by alice`.
pub fn change_line(c: &Value) -> String {
    let text = |key: &str| c[key].as_str().unwrap_or("").to_string();
    let mut line = format!(
        "#{} {} in {} at {}: {} {} (requested by {})",
        c["id"],
        text("flag"),
        text("environment"),
        text("at"),
        text("state").to_uppercase(),
        c["change"],
        text("requested_by"),
    );
    if let Some(result) = c["result"].as_str() {
        line.push_str(&format!(" — {result}"));
    }
    line.push('\n');
    line
}
