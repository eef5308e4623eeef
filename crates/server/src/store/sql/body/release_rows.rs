//! Release plans and templates as rows, and a plan's stage history (`release`'s).

use sqlx::types::Json;

use super::row::{Conn, Row, get, get_json};
use crate::store::sql::common::to_time;
use crate::store::{PlanState, ReleasePlan, ReleaseTemplate, Result, StageClose, StageEntry, StoreError};

pub(super) fn plan_from_row(row: &Row) -> Result<ReleasePlan> {
    let state: String = get(row, "state")?;
    Ok(ReleasePlan {
        id: get(row, "id")?,
        project: get(row, "project_key")?,
        environment: get(row, "env_key")?,
        flag: get(row, "flag")?,
        template: get(row, "template")?,
        control: get(row, "control")?,
        treatment: get(row, "treatment")?,
        stages: get_json(row, "stages")?,
        guards: get_json(row, "guards")?,
        state: PlanState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("unknown plan state `{state}`")))?,
        stage: get::<Option<i64>>(row, "stage")?.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
        stage_started_at: get::<Option<i64>>(row, "stage_started_at")?.map(to_time).transpose()?,
        summary: get(row, "summary")?,
        history: get_json(row, "history")?,
        created_by: get(row, "created_by")?,
        created_at: to_time(get(row, "created_at")?)?,
        updated_at: to_time(get(row, "updated_at")?)?,
        change_request: get(row, "change_request_id")?,
    })
}

pub(super) fn template_from_row(row: &Row) -> Result<ReleaseTemplate> {
    Ok(ReleaseTemplate {
        key: get(row, "key")?,
        name: get(row, "name")?,
        stages: get_json(row, "stages")?,
        guards: get_json(row, "guards")?,
        created_by: get(row, "created_by")?,
        created_at: to_time(get(row, "created_at")?)?,
    })
}

/// Ends the applied stage in plan `id`'s history with `close` (its summary
/// becomes the plan's) and appends `next` (stage, percent) as applied at
/// `now`; in the caller's transaction, after its compare-and-set.
pub(super) async fn update_history(
    conn: &mut Conn,
    id: i64,
    now: i64,
    close: Option<&StageClose>,
    next: Option<(u32, f64)>,
) -> Result<()> {
    let row = sqlx::query("SELECT history FROM release_plans WHERE id = $1").bind(id).fetch_one(&mut *conn).await?;
    let mut history: Vec<StageEntry> = get_json(&row, "history")?;
    let at = to_time(now)?;
    if let Some(close) = close
        && let Some(last) = history.last_mut().filter(|e| e.ended_at.is_none())
    {
        last.ended_at = Some(at);
        last.verdict = Some(close.verdict.to_string());
        last.summary = Some(close.summary.clone());
        last.guard = close.guard.clone();
    }
    if let Some((stage, percent)) = next {
        let entry =
            StageEntry { stage, percent, started_at: at, ended_at: None, verdict: None, summary: None, guard: None };
        history.push(entry);
    }
    let summary = close.map(|c| c.summary.as_str());
    sqlx::query("UPDATE release_plans SET history = $2, summary = COALESCE($3, summary) WHERE id = $1")
        .bind(id)
        .bind(Json(&history))
        .bind(summary)
        .execute(conn)
        .await?;
    Ok(())
}
