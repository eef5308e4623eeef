//! Outgoing webhooks of a project: create, list, delete (which cancels
//! their pending deliveries). Nothing here changes what an SDK sees, so
//! writes audit but never bump a revision.
//!
//! Owns the `webhooks` rows; deliveries are `outbox`'s.

use async_trait::async_trait;
use serde_json::json;

use super::This;
use super::audit::Audit;
use super::lookup::{self, webhook_from_row};
use crate::store::WebhookStore;
use crate::store::sql::common::{not_found, to_time};
use crate::store::{Actor, NewWebhook, Result, Webhook};

macro_rules! webhook_select {
    ($where:literal) => {
        concat!(
            "SELECT w.id, p.key AS project_key, w.url, w.events, w.secret, w.prefix, w.created_by, w.created_at, \
             w.disabled_at FROM webhooks w JOIN projects p ON p.id = w.project_id ",
            $where
        )
    };
}

/// The URL as audited: scheme, host and port only. Paths and query strings
/// often carry credentials (chat webhooks), and viewers can read the audit.
fn url_origin(url: &str) -> String {
    match url.find("://") {
        Some(scheme) => {
            let rest = &url[scheme + 3..];
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let authority = &rest[..end];
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{}://{host}", &url[..scheme])
        }
        None => String::new(),
    }
}

fn webhook_json(w: &Webhook) -> serde_json::Value {
    json!({
        "id": w.id,
        "url": url_origin(&w.url),
        "events": w.events,
        "secret_prefix": w.secret_prefix,
    })
}

#[async_trait]
impl WebhookStore for This {
    async fn create_webhook(&self, actor: &Actor, project: &str, webhook: NewWebhook) -> Result<Webhook> {
        guard!(actor, project, webhook);
        let mut tx = self.begin_write().await?;
        let project = lookup::project(tx.conn().await?, project).await?;
        // Waits for the environments' writers in flight: each read "no
        // webhook" under its environment's lock and writes no outbox row.
        tx.lock_project(project.id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (project_id, url, events, secret, prefix, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(project.id)
        .bind(&webhook.url)
        .bind(sqlx::types::Json(&webhook.events))
        .bind(&webhook.secret)
        .bind(&webhook.prefix)
        .bind(&actor.name)
        .bind(tx.now)
        .fetch_one(tx.conn().await?)
        .await?;
        let created = Webhook {
            id,
            project: project.project.key.clone(),
            url: webhook.url,
            events: webhook.events,
            secret_prefix: webhook.prefix,
            created_by: actor.name.clone(),
            created_at: to_time(tx.now)?,
            disabled_at: None,
        };
        let audit = Audit {
            project_id: Some(project.id),
            action: "webhook.create",
            after: Some(webhook_json(&created)),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(created)
    }

    async fn list_webhooks(&self, project: &str) -> Result<Vec<Webhook>> {
        guard!(project);
        let mut conn = self.pool.acquire().await?;
        let project = lookup::project(&mut conn, project).await?;
        let rows = sqlx::query(webhook_select!("WHERE w.project_id = $1 ORDER BY w.id"))
            .bind(project.id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(|r| webhook_from_row(r).map(|t| t.webhook)).collect()
    }

    async fn delete_webhook(&self, actor: &Actor, project: &str, id: i64) -> Result<Webhook> {
        guard!(actor, project);
        let mut tx = self.begin_write().await?;
        let project = lookup::project(tx.conn().await?, project).await?;
        let row = sqlx::query(webhook_select!("WHERE w.id = $1 AND w.project_id = $2"))
            .bind(id)
            .bind(project.id)
            .fetch_optional(tx.conn().await?)
            .await?;
        let mut webhook = webhook_from_row(&row.ok_or_else(|| not_found("webhook", id.to_string()))?)?.webhook;
        if webhook.disabled_at.is_some() {
            return Ok(webhook);
        }
        sqlx::query("UPDATE webhooks SET disabled_at = $2 WHERE id = $1")
            .bind(id)
            .bind(tx.now)
            .execute(tx.conn().await?)
            .await?;
        let now = tx.now;
        super::outbox::cancel(tx.conn().await?, id, now).await?;
        webhook.disabled_at = Some(to_time(tx.now)?);
        let audit = Audit {
            project_id: Some(project.id),
            action: "webhook.delete",
            before: Some(webhook_json(&webhook)),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(webhook)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn audited_urls_keep_only_the_origin() {
        assert_eq!(
            super::url_origin("https://hooks.example.com/services/T0/B0/secret?x=1"),
            "https://hooks.example.com"
        );
        assert_eq!(super::url_origin("http://user:pw@10.0.0.1:8080"), "http://10.0.0.1:8080");
        assert_eq!(super::url_origin("nonsense"), "");
    }
}
