//! Kill switches: kill and restore sets of flags as one revision.
//!
//! Implements `KillStore`. Owns the `kill` field of configurations (no other
//! write changes it); writes through `configs::write_configs`.

use async_trait::async_trait;
use switchyard_core::Kill;

use super::This;
use super::audit::Audit;
use super::configs::{Update, Why, begin_env, write_configs};
use super::lookup;
use super::outbox::Announcement;
use crate::store::KillStore;
use crate::store::sql::common::{invalid, new_group_id, rfc3339};
use crate::store::{
    Actor, DeliveryActor, FlagConfig, FlagConfigRecord, KillRequest, ReceiptOf, Result, WebhookEvent, Written,
};

/// Kill (`Some`) or restore (`None`) a set of flags as one revision.
pub(super) async fn set_kill(
    store: &This,
    actor: &Actor,
    (project, env): (&str, &str),
    flags: &[String],
    kill: Option<KillRequest>,
    (reason, incident): (&str, Option<&str>),
) -> Result<Written<Vec<FlagConfigRecord>>> {
    let (mut tx, env) = begin_env(store, project, env).await?;
    let mut keys: Vec<&str> = Vec::with_capacity(flags.len());
    for key in flags {
        if !keys.contains(&key.as_str()) {
            keys.push(key);
        }
    }
    let mut values = Vec::with_capacity(keys.len());
    let mut updates = Vec::new();
    for key in keys {
        let (flag, current) = lookup::flag_config(tx.conn().await?, &env, key).await?;
        values.push(current.record(&flag.def.key, &env.key)?);
        let config = match &kill {
            Some(_) if current.config.kill.is_some() => continue,
            None if current.config.kill.is_none() => continue,
            Some(req) => FlagConfig {
                kill: Some(Kill {
                    reason: req.reason.clone(),
                    by: actor.name.clone(),
                    at: rfc3339(tx.now)?,
                    incident: req.incident.clone(),
                }),
                ..current.config.clone()
            },
            None => FlagConfig { kill: None, ..current.config.clone() },
        };
        updates.push((values.len() - 1, Update { flag, current, config }));
    }
    if updates.is_empty() {
        return Ok(Written { value: values, changed: false, revision: None });
    }
    let group = new_group_id();
    let action = if kill.is_some() { "flag.kill" } else { "flag.restore" };
    // A restore bypasses every governance step like a kill (approvals never hold it): it says so.
    let detail = match &kill {
        Some(kill) => detail_of(kill),
        None => Some(serde_json::json!({ "break_glass": true })),
    };
    let why = Why { action, reason: Some(reason), group_id: Some(&group), detail, incident };
    let (slots, updates): (Vec<usize>, Vec<Update>) = updates.into_iter().unzip();
    let (records, revision) = write_configs(&mut tx, actor, &env, &updates, &why).await?;
    // Webhooks hear of it in this transaction: named are all the flags the
    // request named, also those that were already in that state.
    tx.announce(Announcement {
        project_id: env.project_id,
        event: match &kill {
            Some(req) if req.panic => WebhookEvent::EnvPanic,
            Some(_) => WebhookEvent::FlagKilled,
            None => WebhookEvent::FlagRestored,
        },
        action: action.to_string(),
        environment: Some(env.key.clone()),
        flags: values.iter().map(|v| v.flag.clone()).collect(),
        segments: Vec::new(),
        actor: DeliveryActor { name: actor.name.clone(), kind: actor.kind },
        reason: Some(reason.to_string()),
        incident: incident.map(str::to_string),
        revision: Some(revision),
    });
    tx.commit(store).await?;
    for (slot, record) in slots.into_iter().zip(records) {
        values[slot] = record;
    }
    Ok(Written { value: values, changed: true, revision: Some(revision) })
}

/// What a kill adds to its audit events' `after`: the request's detail,
/// and `panic: true` for the panic button (the incident timeline tells a
/// panic from a kill by it).
fn detail_of(kill: &KillRequest) -> Option<serde_json::Value> {
    if !kill.panic {
        return kill.detail.clone();
    }
    let mut detail = match &kill.detail {
        Some(serde_json::Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    };
    detail.insert("panic".into(), serde_json::Value::Bool(true));
    Some(serde_json::Value::Object(detail))
}

#[async_trait]
impl KillStore for This {
    async fn restore_flags(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flags: &[String],
        reason: String,
        incident: Option<String>,
    ) -> Result<Written<Vec<FlagConfigRecord>>> {
        guard!(actor, project, env, flags, reason, incident);
        set_kill(self, actor, (project, env), flags, None, (&reason, incident.as_deref())).await
    }

    /// Appends one `flag.kill.applied` (or `flag.restore.applied`) audit
    /// event per flag: the delivery receipt of a kill or restore (who had
    /// applied it, and how fast), with the write's incident. A new event,
    /// since audit events are never updated; no revision bump.
    async fn record_receipt(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flags: &[String],
        of: &ReceiptOf,
        receipt: serde_json::Value,
    ) -> Result<()> {
        guard!(actor, project, env, flags, of, receipt);
        let action = if of.restore { "flag.restore.applied" } else { "flag.kill.applied" };
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let group = new_group_id();
        for flag in flags {
            let audit = Audit {
                project_id: Some(env.project_id),
                environment: Some(&env.key),
                flag: Some(flag),
                action,
                after: Some(receipt.clone()),
                revision: Some(of.revision),
                group_id: Some(&group),
                incident: of.incident.as_deref(),
                ..Audit::default()
            };
            tx.audit(actor, audit).await?;
        }
        tx.commit(self).await?;
        Ok(())
    }

    async fn kill_flags(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        req: KillRequest,
    ) -> Result<Written<Vec<FlagConfigRecord>>> {
        guard!(actor, project, env, kill = req);
        if req.reason.trim().is_empty() {
            return Err(invalid("reason", "required", "a kill needs a reason"));
        }
        let flags = req.flags.clone();
        let (reason, incident) = (req.reason.clone(), req.incident.clone());
        set_kill(self, actor, (project, env), &flags, Some(req), (&reason, incident.as_deref())).await
    }
}
