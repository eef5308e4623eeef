//! The flag list (filters, key-cursor pagination; archived flags only when
//! asked for) and tag lookups.
//!
//! Read-only: the queries behind `FlagStore::list_flags` and `flags_with_tag`.
//! Must not write.

use std::collections::HashMap;

use futures_util::TryStreamExt as _;

use super::This;
use super::lookup::{self, flag_columns, flag_from_row};
use super::row::get;
use crate::store::sql::common::{FlagRow, decode_cursor, encode_cursor, invalid, page_limit, to_time, to_u64};
use crate::store::{FlagEnvState, FlagQuery, FlagSummary, Page, Result};

#[derive(Clone, Copy, PartialEq)]
enum State {
    On,
    Off,
    Killed,
}

fn matches_text(flag: &FlagRow, needle: &str) -> bool {
    let def = &flag.def;
    def.key.to_lowercase().contains(needle)
        || def.name.to_lowercase().contains(needle)
        || def.description.as_deref().is_some_and(|d| d.to_lowercase().contains(needle))
}

pub(super) async fn list(store: &This, project: &str, query: &FlagQuery) -> Result<Page<FlagSummary>> {
    let limit = page_limit(query.limit);
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?.unwrap_or_default();
    let state = match query.state.as_deref() {
        None | Some("") => None,
        Some("on") => Some(State::On),
        Some("off") => Some(State::Off),
        Some("killed") => Some(State::Killed),
        Some(_) => {
            return Err(invalid("state", "invalid_state", "state must be `on`, `off` or `killed`"));
        }
    };
    let needle = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase);
    let tag = query.tag.as_deref().filter(|t| !t.is_empty());

    let mut tx = store.begin_read().await?;
    let p = lookup::project(&mut tx, project).await?;
    // (on, killed) per flag id in the state filter's environment.
    let states: Option<HashMap<i64, (bool, bool)>> = match state {
        None => None,
        Some(_) => {
            let Some(env) = query.environment.as_deref().filter(|e| !e.is_empty()) else {
                return Err(invalid("environment", "required", "the state filter needs an environment"));
            };
            let env = lookup::env(&mut tx, project, env).await?;
            let rows = sqlx::query("SELECT flag_id, on_state, killed FROM flag_configs WHERE environment_id = $1")
                .bind(env.id)
                .fetch_all(&mut *tx)
                .await?;
            let mut map = HashMap::with_capacity(rows.len());
            for row in &rows {
                map.insert(get::<i64>(row, "flag_id")?, (get::<bool>(row, "on_state")?, get::<bool>(row, "killed")?));
            }
            Some(map)
        }
    };

    let mut page: Vec<FlagRow> = Vec::with_capacity(limit + 1);
    {
        let mut rows = sqlx::query(concat!(
            "SELECT ",
            flag_columns!(),
            " FROM flags f WHERE f.project_id = $1 AND f.key > $2 ORDER BY f.key"
        ))
        .bind(p.id)
        .bind(&after)
        .fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let flag = flag_from_row(&row)?;
            if flag.def.archived_at.is_some() != query.archived {
                continue;
            }
            if tag.is_some_and(|t| !flag.def.tags.iter().any(|x| x == t)) {
                continue;
            }
            if needle.as_deref().is_some_and(|n| !matches_text(&flag, n)) {
                continue;
            }
            if let (Some(want), Some(states)) = (state, &states) {
                let Some(&(on, killed)) = states.get(&flag.id) else {
                    continue;
                };
                let actual = if killed {
                    State::Killed
                } else if on {
                    State::On
                } else {
                    State::Off
                };
                if actual != want {
                    continue;
                }
            }
            page.push(flag);
            if page.len() > limit {
                break;
            }
        }
    }
    let next_cursor = if page.len() > limit {
        page.truncate(limit);
        page.last().map(|f| encode_cursor(&f.def.key))
    } else {
        None
    };

    let mut envs: HashMap<i64, Vec<FlagEnvState>> = HashMap::new();
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        let rows = sqlx::query(
            "SELECT c.flag_id, e.key, c.on_state, c.killed, c.version, c.updated_at, c.updated_by \
             FROM flag_configs c JOIN environments e ON e.id = c.environment_id JOIN flags f ON f.id = c.flag_id \
             WHERE f.project_id = $1 AND f.key >= $2 AND f.key <= $3 ORDER BY e.id",
        )
        .bind(p.id)
        .bind(&first.def.key)
        .bind(&last.def.key)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            envs.entry(get(row, "flag_id")?).or_default().push(FlagEnvState {
                environment: get(row, "key")?,
                on: get(row, "on_state")?,
                killed: get(row, "killed")?,
                version: to_u64(get(row, "version")?)?,
                updated_at: to_time(get(row, "updated_at")?)?,
                updated_by: get(row, "updated_by")?,
            });
        }
    }
    let items = page
        .into_iter()
        .map(|f| FlagSummary { environments: envs.remove(&f.id).unwrap_or_default(), flag: f.def })
        .collect();
    Ok(Page { items, next_cursor })
}

pub(super) async fn with_tag(store: &This, project: &str, tag: &str) -> Result<Vec<String>> {
    let mut conn = store.pool.acquire().await?;
    let p = lookup::project(&mut conn, project).await?;
    let flags = lookup::flags(&mut conn, p.id).await?;
    // Archived flags are in no SDK snapshot: a panic by tag leaves them out.
    Ok(flags
        .into_iter()
        .filter(|f| f.def.archived_at.is_none() && f.def.tags.iter().any(|t| t == tag))
        .map(|f| f.def.key)
        .collect())
}
