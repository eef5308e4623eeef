//! The audit log: the event a write appends ([`Audit`], appended by
//! `tx::WriteTx::audit`) and reading the log: newest first, filtered,
//! cursor-paginated by id.
//!
//! Owns audit rows; never writes anything but through the write transaction.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;

use super::This;
use super::lookup;
use super::row::{Row, get};
use crate::store::AuditStore;
use crate::store::sql::common::{decode_cursor, encode_cursor, invalid, page_limit, to_time, to_u64};
use crate::store::{ActorKind, AuditEvent, AuditQuery, IncidentSummary, Page, Result, StoreError};

/// One audit event to append (actor fields come from the [`Actor`]).
#[derive(Default)]
pub(super) struct Audit<'a> {
    pub project_id: Option<i64>,
    pub environment: Option<&'a str>,
    pub flag: Option<&'a str>,
    pub segment: Option<&'a str>,
    pub action: &'a str,
    pub reason: Option<&'a str>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub revision: Option<u64>,
    pub group_id: Option<&'a str>,
    pub incident: Option<&'a str>,
}

/// The columns of an [`AuditEvent`], selected from `audit_events`.
const COLUMNS: &str = "SELECT id, environment, flag, segment, actor, actor_kind, action, reason, before, after, \
                       revision, request_id, client_addr, group_id, incident, at FROM audit_events";

enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

fn event_from_row(row: &Row, project: &str) -> Result<AuditEvent> {
    let kind: String = get(row, "actor_kind")?;
    Ok(AuditEvent {
        id: get(row, "id")?,
        project: project.to_string(),
        environment: get(row, "environment")?,
        flag: get(row, "flag")?,
        segment: get(row, "segment")?,
        actor: get(row, "actor")?,
        actor_kind: ActorKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown actor kind `{kind}`")))?,
        action: get(row, "action")?,
        reason: get(row, "reason")?,
        before: get::<Option<Json<Value>>>(row, "before")?.map(|j| j.0),
        after: get::<Option<Json<Value>>>(row, "after")?.map(|j| j.0),
        revision: get::<Option<i64>>(row, "revision")?.map(to_u64).transpose()?,
        request_id: get(row, "request_id")?,
        client_addr: get(row, "client_addr")?,
        group_id: get(row, "group_id")?,
        incident: get(row, "incident")?,
        at: to_time(get(row, "at")?)?,
    })
}

#[async_trait]
impl AuditStore for This {
    async fn list_audit(&self, project: &str, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        guard!(project, query);
        let limit = page_limit(query.limit);
        let before_id = match query.cursor.as_deref() {
            None => None,
            Some(c) => Some(
                decode_cursor(c)?
                    .parse::<i64>()
                    .map_err(|_| invalid("cursor", "invalid_cursor", "the cursor is not one this server issued"))?,
            ),
        };
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;

        // The same `$N` SQL on both backends, built from the filters given.
        let mut sql = format!("{COLUMNS} WHERE project_id = $1");
        let mut args = vec![Arg::Int(p.id)];
        let mut filter = |column: &str, op: &str, arg| {
            args.push(arg);
            sql.push_str(&format!(" AND {column} {op} ${}", args.len()));
        };
        if let Some(env) = query.environment.as_deref() {
            filter("environment", "=", Arg::Text(env));
        }
        if let Some(flag) = query.flag.as_deref() {
            filter("flag", "=", Arg::Text(flag));
        }
        if let Some(actor) = query.actor.as_deref() {
            filter("actor", "=", Arg::Text(actor));
        }
        if let Some(from) = query.from {
            filter("at", ">=", Arg::Int(from.timestamp_millis()));
        }
        if let Some(to) = query.to {
            filter("at", "<", Arg::Int(to.timestamp_millis()));
        }
        if let Some(id) = before_id {
            filter("id", "<", Arg::Int(id));
        }
        args.push(Arg::Int(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", args.len()));

        let mut q = sqlx::query(&sql);
        for arg in args {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
            };
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let mut items = rows.iter().map(|r| event_from_row(r, &p.project.key)).collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|e| encode_cursor(&e.id.to_string()))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn incident_events(&self, project: &str, incident: &str, limit: u32) -> Result<Vec<AuditEvent>> {
        guard!(project, incident);
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;
        // The prefix is what `audit_events_incident_idx` holds (migration 0010).
        let sql = format!(
            "{COLUMNS} WHERE project_id = $1 AND substr(incident, 1, 200) = substr($2, 1, 200) AND incident = $2 \
             ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql).bind(p.id).bind(incident).bind(i64::from(limit)).fetch_all(&mut *conn).await?;
        rows.iter().map(|r| event_from_row(r, &p.project.key)).collect()
    }

    async fn list_incidents(&self, project: &str, limit: u32) -> Result<Vec<IncidentSummary>> {
        guard!(project);
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;
        let rows = sqlx::query(
            "SELECT incident, MIN(at) AS first_at, MAX(at) AS last_at, COUNT(*) AS events FROM audit_events \
             WHERE project_id = $1 AND incident IS NOT NULL GROUP BY incident ORDER BY MAX(at) DESC, incident LIMIT $2",
        )
        .bind(p.id)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        let summary = |row: &Row| -> Result<IncidentSummary> {
            Ok(IncidentSummary {
                incident: get(row, "incident")?,
                first_at: to_time(get(row, "first_at")?)?,
                last_at: to_time(get(row, "last_at")?)?,
                events: to_u64(get(row, "events")?)?,
            })
        };
        rows.iter().map(summary).collect()
    }
}
