//! SDK keys, webhooks and their delivery history, triggers, and the
//! readiness probe.

use serde_json::{Value, json};

use super::catalog::{config_path, env_path, project_path};
use super::{Client, Error, Reply};
use crate::http::sdk_keys::CreatedSdkKey;
use crate::http::triggers::CreatedTrigger;
use crate::http::webhooks::CreatedWebhook;
use crate::store::{DeliveryRecord, SdkKey, Trigger, TriggerAction, Webhook};

impl Client {
    /// An environment's SDK keys (prefixes only).
    pub async fn sdk_keys(&self, project: &str, env: &str) -> Result<Vec<SdkKey>, Error> {
        self.get(&format!("{}/sdk-keys", env_path(project, env))).await
    }

    /// Creates an SDK key; its secret is in the answer only.
    pub async fn create_sdk_key(&self, project: &str, env: &str, name: &str) -> Result<CreatedSdkKey, Error> {
        self.post(&format!("{}/sdk-keys", env_path(project, env)), &json!({ "name": name })).await
    }

    /// Revokes an SDK key (its streams are cut).
    pub async fn revoke_sdk_key(&self, project: &str, env: &str, id: i64) -> Result<SdkKey, Error> {
        self.delete(&format!("{}/sdk-keys/{id}", env_path(project, env)), None::<&Value>).await
    }

    /// A project's webhooks, deleted ones included.
    pub async fn webhooks(&self, project: &str) -> Result<Vec<Webhook>, Error> {
        self.get(&format!("{}/webhooks", project_path(project))).await
    }

    /// Creates a webhook (`events` empty: the server's default); its
    /// signing secret is in the answer only.
    pub async fn create_webhook(
        &self,
        project: &str,
        url: &str,
        events: &[String],
        secret: Option<&str>,
    ) -> Result<CreatedWebhook, Error> {
        let mut body = json!({"url": url, "secret": secret});
        if !events.is_empty() {
            body["events"] = json!(events);
        }
        self.post(&format!("{}/webhooks", project_path(project)), &body).await
    }

    /// Deletes a webhook.
    pub async fn delete_webhook(&self, project: &str, id: i64) -> Result<Webhook, Error> {
        self.delete(&format!("{}/webhooks/{id}", project_path(project)), None::<&Value>).await
    }

    /// A webhook's recent deliveries, newest first.
    pub async fn deliveries(&self, project: &str, id: i64, limit: u32) -> Result<Vec<DeliveryRecord>, Error> {
        self.get(&format!("{}/webhooks/{id}/deliveries?limit={limit}", project_path(project))).await
    }

    /// A flag's triggers in an environment.
    pub async fn triggers(&self, project: &str, env: &str, flag: &str) -> Result<Vec<Trigger>, Error> {
        self.get(&format!("{}/triggers", config_path(project, env, flag))).await
    }

    /// Creates a trigger; its secret URL path is in the answer only.
    pub async fn create_trigger(
        &self,
        project: &str,
        env: &str,
        flag: &str,
        name: &str,
        action: TriggerAction,
        restore_on_resolve: bool,
    ) -> Result<CreatedTrigger, Error> {
        let body = json!({"name": name, "action": action, "restore_on_resolve": restore_on_resolve});
        self.post(&format!("{}/triggers", config_path(project, env, flag)), &body).await
    }

    /// Deletes a trigger.
    pub async fn delete_trigger(&self, project: &str, env: &str, flag: &str, id: i64) -> Result<Trigger, Error> {
        self.delete(&format!("{}/triggers/{id}", config_path(project, env, flag)), None::<&Value>).await
    }

    /// Gives a trigger a new secret URL (the old one stops working).
    pub async fn rotate_trigger(&self, project: &str, env: &str, flag: &str, id: i64) -> Result<CreatedTrigger, Error> {
        self.post(&format!("{}/triggers/{id}/rotate", config_path(project, env, flag)), &json!({})).await
    }

    /// `GET /readyz`: `Ok` with the answer whatever its status (503 with
    /// the reason when not ready); `Err` when unreachable.
    pub async fn readiness(&self) -> Result<Reply, Error> {
        self.exchange(reqwest::Method::GET, "/readyz", None).await
    }

    /// Whether `/readyz` answers 2xx.
    pub async fn is_ready(&self) -> bool {
        matches!(self.readiness().await, Ok(Reply { status, .. }) if status.is_success())
    }
}
