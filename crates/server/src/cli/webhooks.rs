//! `switchyard webhooks list|create|delete|deliveries`: manage a project's
//! outgoing webhooks and read their delivery history (admin token).

use clap::Subcommand;
use serde_json::Value;

use super::remote::Client;

/// `switchyard webhooks …`
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List the project's webhooks (deleted ones too; never secrets).
    List,
    /// Create a webhook; prints its signing secret once.
    Create {
        /// `http(s)` URL to POST deliveries to.
        #[arg(long)]
        url: String,
        /// Event types (comma-separated): flag.killed, flag.restored,
        /// env.panic, flag.changed, or * for all. Default: the first three.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Signing secret (16–256 characters); generated when absent.
        #[arg(long, env = "SWITCHYARD_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Delete a webhook: no further deliveries (pending ones are dropped).
    Delete {
        /// Webhook id.
        id: i64,
    },
    /// Show a webhook's recent deliveries, newest first.
    Deliveries {
        /// Webhook id.
        id: i64,
        /// How many (at most 500).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

impl Client {
    /// Runs a `webhooks` subcommand. Returns the exit code.
    pub async fn webhooks(&self, command: &WebhooksCommand) -> anyhow::Result<i32> {
        let project = self.project()?;
        match command {
            WebhooksCommand::List => {
                let list = self.api.webhooks(project).await?;
                self.print(&list, webhooks_table);
            }
            WebhooksCommand::Create { url, events, secret } => {
                let created = self.api.create_webhook(project, url, events, secret.as_deref()).await?;
                self.print(&created, |c| {
                    format!(
                        "created webhook {} → {}\n  events: {}\n  signing secret (shown once): {}\n",
                        c["webhook"]["id"],
                        c["webhook"]["url"].as_str().unwrap_or(""),
                        events_text(&c["webhook"]["events"]),
                        c["secret"].as_str().unwrap_or("")
                    )
                });
            }
            WebhooksCommand::Delete { id } => {
                let deleted = self.api.delete_webhook(project, *id).await?;
                self.print(&deleted, |d| {
                    format!("deleted webhook {} ({})\n", d["id"], d["url"].as_str().unwrap_or(""))
                });
            }
            WebhooksCommand::Deliveries { id, limit } => {
                let list = self.api.deliveries(project, *id, *limit).await?;
                self.print(&list, deliveries_table);
            }
        }
        Ok(0)
    }
}

fn events_text(events: &Value) -> String {
    let names: Vec<&str> = events.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    names.join(",")
}

fn webhooks_table(list: &Value) -> String {
    let mut out = format!("{:<6} {:<8} {:<42} {}\n", "ID", "STATE", "EVENTS", "URL");
    for w in list.as_array().into_iter().flatten() {
        let state = if w["disabled_at"].is_string() { "deleted" } else { "active" };
        out.push_str(&format!(
            "{:<6} {:<8} {:<42} {}\n",
            w["id"],
            state,
            events_text(&w["events"]),
            w["url"].as_str().unwrap_or("")
        ));
    }
    out
}

fn deliveries_table(list: &Value) -> String {
    let mut out = format!(
        "{:<25} {:<14} {:<10} {:<8} {:<5} {:<36} {}\n",
        "CREATED", "EVENT", "STATUS", "ATTEMPTS", "CODE", "DELIVERY", "LAST ERROR"
    );
    for d in list.as_array().into_iter().flatten() {
        let code = d["response_status"].as_u64().map_or("-".to_string(), |c| c.to_string());
        out.push_str(&format!(
            "{:<25} {:<14} {:<10} {:<8} {:<5} {:<36} {}\n",
            d["created_at"].as_str().unwrap_or(""),
            d["event"].as_str().unwrap_or(""),
            d["status"].as_str().unwrap_or(""),
            d["attempts"],
            code,
            d["delivery_id"].as_str().unwrap_or(""),
            d["last_error"].as_str().unwrap_or("")
        ));
    }
    out
}
