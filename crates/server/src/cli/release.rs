//! `switchyard release start|status|pause|resume|abort|promote`: a flag's
//! release plan in an environment, over the typed client.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::remote::Client;
use crate::store::{ReleaseGuards, ReleaseStage, StartRelease};

/// The flag and environment of a `release` command.
#[derive(Debug, Clone, Args)]
pub struct ReleaseTarget {
    /// Flag key.
    pub flag: String,
    /// Environment key.
    #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
    pub env: String,
}

/// `switchyard release …`
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Start a plan: `--stages 1,5,25,50,100` (percent of treatment) or `--template`.
    Start {
        /// Flag and environment.
        #[command(flatten)]
        target: ReleaseTarget,
        /// Template key of the project.
        #[arg(long)]
        template: Option<String>,
        /// Treatment percentages, in order (comma-separated).
        #[arg(long, value_delimiter = ',')]
        stages: Vec<f64>,
        /// Least time per stage (e.g. `10m`).
        #[arg(long, value_parser = humantime::parse_duration)]
        min_duration: Option<std::time::Duration>,
        /// Least requests per variant per stage.
        #[arg(long)]
        min_sample: Option<u64>,
        /// Control variant (boolean flags: `off`).
        #[arg(long)]
        control: Option<String>,
        /// Treatment variant (boolean flags: `on`).
        #[arg(long)]
        treatment: Option<String>,
        /// A custom event the guard also compares.
        #[arg(long)]
        event: Option<String>,
        /// Why.
        #[arg(long, short = 'r')]
        reason: Option<String>,
    },
    /// Show the flag's newest plan.
    Status(ReleaseTarget),
    /// Hold the plan at its stage.
    Pause(ActionArgs),
    /// Resume a paused plan.
    Resume(ActionArgs),
    /// Stop the plan and serve the control variant to everyone (reason required).
    Abort(ActionArgs),
    /// Apply the next stage now.
    Promote(ActionArgs),
}

/// Flag, environment and reason of pause, resume, abort and promote.
#[derive(Debug, Clone, Args)]
pub struct ActionArgs {
    /// Flag and environment.
    #[command(flatten)]
    target: ReleaseTarget,
    /// Why.
    #[arg(long, short = 'r')]
    reason: Option<String>,
}

impl Client {
    /// Runs a `release` subcommand. Returns the exit code.
    pub async fn release(&self, command: &ReleaseCommand) -> anyhow::Result<i32> {
        let project = self.project()?;
        let (action, args) = match command {
            ReleaseCommand::Start { target, .. } => {
                let start = start_body(command);
                let plan = self.api.start_release(project, &target.env, &target.flag, &start).await?;
                self.print(&plan, plan_text);
                return Ok(0);
            }
            ReleaseCommand::Status(target) => {
                let plan = self.api.release(project, &target.env, &target.flag).await?;
                self.print(&plan, plan_text);
                return Ok(0);
            }
            ReleaseCommand::Pause(args) => ("pause", args),
            ReleaseCommand::Resume(args) => ("resume", args),
            ReleaseCommand::Abort(args) => ("abort", args),
            ReleaseCommand::Promote(args) => ("promote", args),
        };
        let at = (project, args.target.env.as_str(), args.target.flag.as_str());
        let plan = self.api.release_action(at, action, args.reason.as_deref()).await?;
        self.print(&plan, plan_text);
        Ok(0)
    }
}

fn start_body(command: &ReleaseCommand) -> StartRelease {
    let ReleaseCommand::Start { template, stages, min_duration, min_sample, control, treatment, event, reason, .. } =
        command
    else {
        return StartRelease::default();
    };
    let stages = (!stages.is_empty()).then(|| {
        let seconds = min_duration.map_or(0, |d| d.as_secs());
        let sample = min_sample.unwrap_or(0);
        stages
            .iter()
            .map(|&percent| ReleaseStage { percent, min_duration_seconds: seconds, min_sample: sample })
            .collect()
    });
    let guards = event.as_ref().map(|e| ReleaseGuards { event: Some(e.clone()), ..ReleaseGuards::default() });
    StartRelease {
        template: template.clone(),
        control: control.clone(),
        treatment: treatment.clone(),
        stages,
        guards,
        reason: reason.clone(),
    }
}

/// The plan as people read it: state, then the stage timeline.
pub fn plan_text(plan: &Value) -> String {
    let current = plan["stage"].as_u64();
    let mut out = format!(
        "release plan {} of {} in {}: {} ({} vs {})\n",
        plan["id"],
        plan["flag"].as_str().unwrap_or(""),
        plan["environment"].as_str().unwrap_or(""),
        plan["state"].as_str().unwrap_or("").to_uppercase(),
        plan["treatment"].as_str().unwrap_or(""),
        plan["control"].as_str().unwrap_or(""),
    );
    for (i, stage) in plan["stages"].as_array().into_iter().flatten().enumerate() {
        let mark = match current {
            Some(c) if c == i as u64 => "▶",
            Some(c) if c > i as u64 => "✓",
            _ => " ",
        };
        out.push_str(&format!(
            "  {mark} stage {}: {}%  (at least {} s, {} requests per variant)\n",
            i + 1,
            stage["percent"],
            stage["min_duration_seconds"],
            stage["min_sample"]
        ));
        let ran = plan["history"].as_array().into_iter().flatten().find(|e| e["stage"].as_u64() == Some(i as u64));
        if let Some(entry) = ran {
            let started = entry["started_at"].as_str().unwrap_or("");
            let verdict = entry["verdict"].as_str().unwrap_or("current");
            out.push_str(&format!("      started {started}, {verdict}\n"));
        }
    }
    if let Some(summary) = plan["summary"].as_str() {
        out.push_str(&format!("  last: {summary}\n"));
    }
    out
}
