//! Alert triggers (secret URLs that kill or restore one flag in one
//! environment) and outgoing webhooks. Neither changes anything an SDK can
//! see, so their writes audit but never bump a revision.

use serde_json::json;

use super::This;
use super::audit::Audit;
use super::lookup::{self, EnvRef, webhook_from_row};
use super::row::{Row, get};
use crate::store::sql::common::{not_found, to_time, unique_or};
use crate::store::{Actor, NewTrigger, NewWebhook, Result, SecretHash, StoreError, Trigger, TriggerAction, Webhook};

macro_rules! trigger_select {
    ($where:literal) => {
        concat!(
            "SELECT t.id, t.environment_id, p.key AS project_key, e.key AS env_key, f.key AS flag_key, t.name, \
             t.action, t.restore_on_resolve, t.prefix, t.created_by, t.created_at, t.disabled_at \
             FROM triggers t JOIN environments e ON e.id = t.environment_id \
             JOIN projects p ON p.id = e.project_id JOIN flags f ON f.id = t.flag_id ",
            $where
        )
    };
}

fn trigger_from_row(row: &Row) -> Result<Trigger> {
    let action: String = get(row, "action")?;
    Ok(Trigger {
        id: get(row, "id")?,
        environment_id: get(row, "environment_id")?,
        project: get(row, "project_key")?,
        environment: get(row, "env_key")?,
        flag: get(row, "flag_key")?,
        name: get(row, "name")?,
        action: TriggerAction::parse(&action)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown trigger action `{action}`")))?,
        restore_on_resolve: get(row, "restore_on_resolve")?,
        prefix: get(row, "prefix")?,
        created_by: get(row, "created_by")?,
        created_at: to_time(get(row, "created_at")?)?,
        disabled_at: get::<Option<i64>>(row, "disabled_at")?.map(to_time).transpose()?,
    })
}

fn trigger_json(t: &Trigger) -> serde_json::Value {
    json!({
        "id": t.id,
        "name": t.name,
        "action": t.action,
        "restore_on_resolve": t.restore_on_resolve,
        "prefix": t.prefix,
    })
}

/// One trigger of this flag in this environment, or `NotFound`.
async fn trigger_of(conn: &mut super::row::Conn, env: &EnvRef, flag_id: i64, id: i64) -> Result<Trigger> {
    let row = sqlx::query(trigger_select!("WHERE t.id = $1 AND t.environment_id = $2 AND t.flag_id = $3"))
        .bind(id)
        .bind(env.id)
        .bind(flag_id)
        .fetch_optional(conn)
        .await?;
    trigger_from_row(&row.ok_or_else(|| not_found("trigger", id.to_string()))?)
}

pub(super) async fn create_trigger(
    store: &This,
    actor: &Actor,
    (project, env, flag): (&str, &str, &str),
    trigger: NewTrigger,
) -> Result<Trigger> {
    let mut tx = store.begin_write().await?;
    let env = lookup::env(tx.conn(), project, env).await?;
    let flag = lookup::flag(tx.conn(), env.project_id, flag).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO triggers (environment_id, flag_id, name, action, restore_on_resolve, hash, prefix, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(env.id)
    .bind(flag.id)
    .bind(&trigger.name)
    .bind(trigger.action.as_str())
    .bind(trigger.restore_on_resolve)
    .bind(&trigger.secret.hash)
    .bind(&trigger.secret.prefix)
    .bind(&actor.name)
    .bind(tx.now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| unique_or(e, "trigger", &trigger.secret.prefix))?;
    let created = Trigger {
        id,
        environment_id: env.id,
        project: env.project.clone(),
        environment: env.key.clone(),
        flag: flag.def.key.clone(),
        name: trigger.name,
        action: trigger.action,
        restore_on_resolve: trigger.restore_on_resolve,
        prefix: trigger.secret.prefix,
        created_by: actor.name.clone(),
        created_at: to_time(tx.now)?,
        disabled_at: None,
    };
    let audit = Audit {
        project_id: Some(env.project_id),
        environment: Some(&env.key),
        flag: Some(&created.flag),
        action: "trigger.create",
        after: Some(trigger_json(&created)),
        ..Audit::default()
    };
    tx.audit(actor, audit).await?;
    tx.commit(store).await?;
    Ok(created)
}

pub(super) async fn list_triggers(store: &This, project: &str, env: &str, flag: &str) -> Result<Vec<Trigger>> {
    let mut conn = store.pool.acquire().await?;
    let env = lookup::env(&mut conn, project, env).await?;
    let flag = lookup::flag(&mut conn, env.project_id, flag).await?;
    let rows = sqlx::query(trigger_select!("WHERE t.environment_id = $1 AND t.flag_id = $2 ORDER BY t.id"))
        .bind(env.id)
        .bind(flag.id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(trigger_from_row).collect()
}

pub(super) async fn delete_trigger(
    store: &This,
    actor: &Actor,
    (project, env, flag): (&str, &str, &str),
    id: i64,
) -> Result<Trigger> {
    let mut tx = store.begin_write().await?;
    let env = lookup::env(tx.conn(), project, env).await?;
    let flag = lookup::flag(tx.conn(), env.project_id, flag).await?;
    let mut trigger = trigger_of(tx.conn(), &env, flag.id, id).await?;
    if trigger.disabled_at.is_some() {
        return Ok(trigger);
    }
    sqlx::query("UPDATE triggers SET disabled_at = $2 WHERE id = $1").bind(id).bind(tx.now).execute(tx.conn()).await?;
    trigger.disabled_at = Some(to_time(tx.now)?);
    let audit = Audit {
        project_id: Some(env.project_id),
        environment: Some(&env.key),
        flag: Some(&trigger.flag),
        action: "trigger.delete",
        before: Some(trigger_json(&trigger)),
        ..Audit::default()
    };
    tx.audit(actor, audit).await?;
    tx.commit(store).await?;
    Ok(trigger)
}

pub(super) async fn rotate_trigger(
    store: &This,
    actor: &Actor,
    (project, env, flag): (&str, &str, &str),
    id: i64,
    secret: SecretHash,
) -> Result<Trigger> {
    let mut tx = store.begin_write().await?;
    let env = lookup::env(tx.conn(), project, env).await?;
    let flag = lookup::flag(tx.conn(), env.project_id, flag).await?;
    let mut trigger = trigger_of(tx.conn(), &env, flag.id, id).await?;
    if trigger.disabled_at.is_some() {
        return Err(StoreError::Conflict {
            code: "trigger_disabled",
            message: format!("trigger {id} is deleted; create a new one"),
            current_version: None,
        });
    }
    sqlx::query("UPDATE triggers SET hash = $2, prefix = $3 WHERE id = $1")
        .bind(id)
        .bind(&secret.hash)
        .bind(&secret.prefix)
        .execute(tx.conn())
        .await
        .map_err(|e| unique_or(e, "trigger", &secret.prefix))?;
    let before = trigger_json(&trigger);
    trigger.prefix = secret.prefix;
    let audit = Audit {
        project_id: Some(env.project_id),
        environment: Some(&env.key),
        flag: Some(&trigger.flag),
        action: "trigger.rotate",
        before: Some(before),
        after: Some(trigger_json(&trigger)),
        ..Audit::default()
    };
    tx.audit(actor, audit).await?;
    tx.commit(store).await?;
    Ok(trigger)
}

pub(super) async fn trigger_by_hash(store: &This, hash: &str) -> Result<Option<Trigger>> {
    let row = sqlx::query(trigger_select!("WHERE t.hash = $1")).bind(hash).fetch_optional(&store.pool).await?;
    row.as_ref().map(trigger_from_row).transpose()
}

// ---- webhooks ----

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

pub(super) async fn create_webhook(store: &This, actor: &Actor, project: &str, webhook: NewWebhook) -> Result<Webhook> {
    let mut tx = store.begin_write().await?;
    let project = lookup::project(tx.conn(), project).await?;
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
    .fetch_one(tx.conn())
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
    tx.commit(store).await?;
    Ok(created)
}

pub(super) async fn list_webhooks(store: &This, project: &str) -> Result<Vec<Webhook>> {
    let mut conn = store.pool.acquire().await?;
    let project = lookup::project(&mut conn, project).await?;
    let rows = sqlx::query(webhook_select!("WHERE w.project_id = $1 ORDER BY w.id"))
        .bind(project.id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| webhook_from_row(r).map(|t| t.webhook)).collect()
}

pub(super) async fn delete_webhook(store: &This, actor: &Actor, project: &str, id: i64) -> Result<Webhook> {
    let mut tx = store.begin_write().await?;
    let project = lookup::project(tx.conn(), project).await?;
    let row = sqlx::query(webhook_select!("WHERE w.id = $1 AND w.project_id = $2"))
        .bind(id)
        .bind(project.id)
        .fetch_optional(tx.conn())
        .await?;
    let mut webhook = webhook_from_row(&row.ok_or_else(|| not_found("webhook", id.to_string()))?)?.webhook;
    if webhook.disabled_at.is_some() {
        return Ok(webhook);
    }
    sqlx::query("UPDATE webhooks SET disabled_at = $2 WHERE id = $1").bind(id).bind(tx.now).execute(tx.conn()).await?;
    let now = tx.now;
    super::outbox::cancel(tx.conn(), id, now).await?;
    webhook.disabled_at = Some(to_time(tx.now)?);
    let audit = Audit {
        project_id: Some(project.id),
        action: "webhook.delete",
        before: Some(webhook_json(&webhook)),
        ..Audit::default()
    };
    tx.audit(actor, audit).await?;
    tx.commit(store).await?;
    Ok(webhook)
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
