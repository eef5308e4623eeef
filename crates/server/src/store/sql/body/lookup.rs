//! Row decoding and the lookups every operation starts with.
//!
//! Read-only helpers every area shares. Must not write, and must not depend on
//! `tx` or `outbox` (it sits below both).

use std::collections::HashSet;
use std::sync::LazyLock;

use futures_util::TryStreamExt as _;
use switchyard_core::{Flag, Segment};

use super::LOCK_ENV_ROW;
use super::row::{Conn, Row, get, get_json};
use crate::store::sql::common::{ConfigRow, FlagRow, merge, not_found, parse_kind, to_time, to_u64};
use crate::store::{Environment, FlagDefinition, Project, Result, SegmentRecord, Webhook, WebhookTarget};

/// An environment with its project, as every environment-scoped write needs it.
#[derive(Debug, Clone)]
pub(super) struct EnvRef {
    pub id: i64,
    pub project_id: i64,
    pub project: String,
    pub key: String,
    pub name: String,
    pub revision: u64,
    pub color: Option<String>,
    pub position: u32,
    pub created_at: i64,
    /// When it was archived (ms), if it is.
    pub archived_at: Option<i64>,
    /// When its project was archived (ms), if it is.
    pub project_archived_at: Option<i64>,
}

impl EnvRef {
    pub fn environment(&self) -> Result<Environment> {
        Ok(Environment {
            id: self.id,
            project: self.project.clone(),
            key: self.key.clone(),
            name: self.name.clone(),
            revision: self.revision,
            color: self.color.clone(),
            position: self.position,
            created_at: to_time(self.created_at)?,
            archived_at: self.archived_at.map(to_time).transpose()?,
        })
    }
}

macro_rules! env_select {
    ($where:literal) => {
        env_select!("", $where)
    };
    ($more:literal, $where:literal) => {
        concat!(
            "SELECT e.id, e.project_id, p.key AS project_key, e.key, e.name, e.revision, e.color, e.position, e.created_at, \
             e.archived_at, p.archived_at AS project_archived_at",
            $more,
            " FROM environments e JOIN projects p ON p.id = e.project_id WHERE ",
            $where
        )
    };
}

fn env_from_row(row: &Row) -> Result<EnvRef> {
    Ok(EnvRef {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        project: get(row, "project_key")?,
        key: get(row, "key")?,
        name: get(row, "name")?,
        revision: to_u64(get(row, "revision")?)?,
        color: get(row, "color")?,
        position: u32::try_from(get::<i64>(row, "position")?).unwrap_or(u32::MAX),
        created_at: get(row, "created_at")?,
        archived_at: get(row, "archived_at")?,
        project_archived_at: get(row, "project_archived_at")?,
    })
}

/// A project with its row id.
pub(super) struct ProjectRow {
    pub id: i64,
    pub project: Project,
}

pub(super) fn project_from_row(row: &Row) -> Result<ProjectRow> {
    Ok(ProjectRow {
        id: get(row, "id")?,
        project: Project {
            key: get(row, "key")?,
            name: get(row, "name")?,
            description: get(row, "description")?,
            created_at: to_time(get(row, "created_at")?)?,
            archived_at: get::<Option<i64>>(row, "archived_at")?.map(to_time).transpose()?,
        },
    })
}

pub(super) async fn project(conn: &mut Conn, key: &str) -> Result<ProjectRow> {
    let row = sqlx::query("SELECT id, key, name, description, created_at, archived_at FROM projects WHERE key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?;
    project_from_row(&row.ok_or_else(|| not_found("project", key))?)
}

pub(super) async fn env(conn: &mut Conn, project_key: &str, env_key: &str) -> Result<EnvRef> {
    let row = sqlx::query(env_select!("p.key = $1 AND e.key = $2"))
        .bind(project_key)
        .bind(env_key)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => env_from_row(&row),
        None => {
            project(conn, project_key).await?;
            Err(not_found("environment", env_key))
        }
    }
}

/// What [`env_locked`] reads besides the environment.
pub(super) struct Locked {
    /// Its project has an active webhook.
    pub hooked: bool,
    /// The approvals its policy asks of ordinary changes (0: none).
    pub approvals: u32,
}

/// An environment of a write, read and locked (`LOCK_ENV_ROW`) in one
/// statement, with whether its project has an active webhook and its
/// approval policy. The revision read is current: no other writer can bump
/// it until this one commits; nor can the policy change under the write
/// (setting it locks the environment too).
pub(super) async fn env_locked(conn: &mut Conn, project_key: &str, env_key: &str) -> Result<(EnvRef, Locked)> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let select = env_select!(
            ", EXISTS (SELECT 1 FROM webhooks w WHERE w.project_id = e.project_id AND w.disabled_at IS NULL) AS hooked, \
             COALESCE((SELECT a.approvals FROM approval_policies a WHERE a.environment_id = e.id), 0) AS approvals",
            "p.key = $1 AND e.key = $2"
        );
        format!("{select}{LOCK_ENV_ROW}")
    });
    let row = sqlx::query(&SQL).bind(project_key).bind(env_key).fetch_optional(&mut *conn).await?;
    match row {
        Some(row) => {
            let approvals = u32::try_from(get::<i64>(&row, "approvals")?).unwrap_or(u32::MAX);
            Ok((env_from_row(&row)?, Locked { hooked: get(&row, "hooked")?, approvals }))
        }
        None => {
            project(conn, project_key).await?;
            Err(not_found("environment", env_key))
        }
    }
}

pub(super) async fn env_by_id(conn: &mut Conn, id: i64) -> Result<EnvRef> {
    let row = sqlx::query(env_select!("e.id = $1")).bind(id).fetch_optional(conn).await?;
    env_from_row(&row.ok_or_else(|| not_found("environment", id.to_string()))?)
}

/// A project's environments in creation (id) order: the order writes lock
/// them in (lists sort by position, [`by_position`]).
pub(super) async fn project_envs(conn: &mut Conn, project_id: i64) -> Result<Vec<EnvRef>> {
    let rows = sqlx::query(env_select!("e.project_id = $1 ORDER BY e.id")).bind(project_id).fetch_all(conn).await?;
    rows.iter().map(env_from_row).collect()
}

/// Sorts environments for lists: by position, ties by creation.
pub(super) fn by_position(envs: &mut [EnvRef]) {
    envs.sort_by_key(|e| (e.position, e.id));
}

macro_rules! flag_columns {
    () => {
        "f.id, f.key, f.name, f.description, f.kind, f.variants, f.tags, f.owner, f.temporary, f.salt, \
         f.off_variant, f.on_variant, f.version, f.created_at, f.updated_at, f.expires_at, f.archived_at"
    };
}
pub(super) use flag_columns;

pub(super) fn flag_from_row(row: &Row) -> Result<FlagRow> {
    Ok(FlagRow {
        id: get(row, "id")?,
        def: FlagDefinition {
            key: get(row, "key")?,
            name: get(row, "name")?,
            description: get(row, "description")?,
            kind: parse_kind(&get::<String>(row, "kind")?)?,
            variants: get_json(row, "variants")?,
            tags: get_json(row, "tags")?,
            owner: get(row, "owner")?,
            temporary: get(row, "temporary")?,
            expires_at: get::<Option<i64>>(row, "expires_at")?.map(to_time).transpose()?,
            salt: get(row, "salt")?,
            version: to_u64(get(row, "version")?)?,
            created_at: to_time(get(row, "created_at")?)?,
            updated_at: to_time(get(row, "updated_at")?)?,
            archived_at: get::<Option<i64>>(row, "archived_at")?.map(to_time).transpose()?,
        },
        off_variant: get(row, "off_variant")?,
        on_variant: get(row, "on_variant")?,
    })
}

pub(super) async fn flag(conn: &mut Conn, project_id: i64, key: &str) -> Result<FlagRow> {
    let row = sqlx::query(concat!("SELECT ", flag_columns!(), " FROM flags f WHERE f.project_id = $1 AND f.key = $2"))
        .bind(project_id)
        .bind(key)
        .fetch_optional(conn)
        .await?;
    flag_from_row(&row.ok_or_else(|| not_found("flag", key))?)
}

/// A flag by id, if it still exists.
pub(super) async fn flag_by_id(conn: &mut Conn, id: i64) -> Result<Option<FlagRow>> {
    let row = sqlx::query(concat!("SELECT ", flag_columns!(), " FROM flags f WHERE f.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(flag_from_row).transpose()
}

/// All flags of a project, by key (archived ones too: see `FlagDefinition::archived_at`).
pub(super) async fn flags(conn: &mut Conn, project_id: i64) -> Result<Vec<FlagRow>> {
    let rows = sqlx::query(concat!("SELECT ", flag_columns!(), " FROM flags f WHERE f.project_id = $1 ORDER BY f.key"))
        .bind(project_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(flag_from_row).collect()
}

macro_rules! config_columns {
    () => {
        "c.version, c.config, c.updated_at, c.updated_by"
    };
}

pub(super) fn config_from_row(row: &Row) -> Result<ConfigRow> {
    Ok(ConfigRow {
        version: to_u64(get(row, "version")?)?,
        config: get_json(row, "config")?,
        updated_at: get(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

pub(super) async fn config(conn: &mut Conn, env: &EnvRef, flag: &FlagRow) -> Result<ConfigRow> {
    let row = sqlx::query(concat!(
        "SELECT ",
        config_columns!(),
        " FROM flag_configs c WHERE c.environment_id = $1 AND c.flag_id = $2"
    ))
    .bind(env.id)
    .bind(flag.id)
    .fetch_optional(conn)
    .await?;
    config_from_row(&row.ok_or_else(|| not_found("flag configuration", format!("{}/{}", env.key, flag.def.key)))?)
}

/// A flag and its configuration in `env`, in one statement.
pub(super) async fn flag_config(conn: &mut Conn, env: &EnvRef, key: &str) -> Result<(FlagRow, ConfigRow)> {
    let row = sqlx::query(concat!(
        "SELECT ",
        flag_columns!(),
        ", c.version AS c_version, c.config AS c_config, c.updated_at AS c_updated_at, c.updated_by AS c_updated_by \
         FROM flags f LEFT JOIN flag_configs c ON c.flag_id = f.id AND c.environment_id = $1 \
         WHERE f.project_id = $2 AND f.key = $3"
    ))
    .bind(env.id)
    .bind(env.project_id)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Err(not_found("flag", key)) };
    let flag = flag_from_row(&row)?;
    let Some(version) = get::<Option<i64>>(&row, "c_version")? else {
        return Err(not_found("flag configuration", format!("{}/{}", env.key, flag.def.key)));
    };
    let config = ConfigRow {
        version: to_u64(version)?,
        config: get_json(&row, "c_config")?,
        updated_at: get(&row, "c_updated_at")?,
        updated_by: get(&row, "c_updated_by")?,
    };
    Ok((flag, config))
}

/// Every flag of an environment merged with its configuration, by key:
/// what its SDKs see, so archived flags are left out.
pub(super) async fn env_flags(conn: &mut Conn, env_id: i64) -> Result<Vec<Flag>> {
    let mut rows = sqlx::query(concat!(
        "SELECT ",
        flag_columns!(),
        ", c.version AS config_version, c.config FROM flags f JOIN flag_configs c ON c.flag_id = f.id \
         WHERE c.environment_id = $1 AND f.archived_at IS NULL ORDER BY f.key"
    ))
    .bind(env_id)
    .fetch(conn);
    let mut flags = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let flag = flag_from_row(&row)?;
        flags.push(merge(&flag.def, to_u64(get(&row, "config_version")?)?, &get_json(&row, "config")?));
    }
    Ok(flags)
}

pub(super) fn segment_from_row(row: &Row) -> Result<SegmentRecord> {
    let mut segment: Segment = get_json(row, "segment")?;
    segment.key = get(row, "key")?;
    segment.version = to_u64(get(row, "version")?)?;
    Ok(SegmentRecord {
        name: get(row, "name")?,
        description: get(row, "description")?,
        segment,
        updated_at: to_time(get(row, "updated_at")?)?,
    })
}

/// A project's segments, by key.
pub(super) async fn segments(conn: &mut Conn, project_id: i64) -> Result<Vec<SegmentRecord>> {
    let rows = sqlx::query(
        "SELECT key, name, description, segment, version, updated_at FROM segments WHERE project_id = $1 ORDER BY key",
    )
    .bind(project_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(segment_from_row).collect()
}

pub(super) async fn segment_keys(conn: &mut Conn, project_id: i64) -> Result<HashSet<String>> {
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT key FROM segments WHERE project_id = $1").bind(project_id).fetch_all(conn).await?;
    Ok(keys.into_iter().collect())
}

/// A webhook with its secret from a row of `webhook_select!` columns
/// (also the outbox claim's).
pub(super) fn webhook_from_row(row: &Row) -> Result<WebhookTarget> {
    Ok(WebhookTarget {
        webhook: Webhook {
            id: get(row, "id")?,
            project: get(row, "project_key")?,
            url: get(row, "url")?,
            events: get_json(row, "events")?,
            secret_prefix: get(row, "prefix")?,
            created_by: get(row, "created_by")?,
            created_at: to_time(get(row, "created_at")?)?,
            disabled_at: get::<Option<i64>>(row, "disabled_at")?.map(to_time).transpose()?,
        },
        secret: get(row, "secret")?,
    })
}
