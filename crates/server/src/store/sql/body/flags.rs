//! Flag definitions: create, read, update, delete. Definition changes the
//! SDKs can see bump every environment of the project.
//!
//! Implements `FlagStore` (the list queries are `list`'s). Owns the `flags`
//! rows; a new flag's first configurations go through
//! `configs::insert_config`. Must not edit existing configurations.

use std::collections::HashSet;

use async_trait::async_trait;
use switchyard_core::{ChangeEvent, ValidationError, ValidationErrors};

use super::This;
use super::audit::Audit;
use super::configs::insert_config;
use super::lookup::EnvRef;
use super::tx::WriteTx;
use super::{list, lookup, prereqs};
use crate::store::FlagStore;
use crate::store::sql::common::{
    ConfigRow, FlagRow, check_flag, check_key, default_config, kind_str, merge, new_flag_defaults, now_ms, random_salt,
    resolve_defaults, to_i64, to_json, to_time, unique_or, version_conflict,
};
use crate::store::{Actor, FlagDefinition, FlagPatch, FlagQuery, FlagSummary, NewFlag, Page, Result, StoreError};

/// Longest accepted bucketing salt, in bytes.
const MAX_SALT_LEN: usize = 256;

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Paths of a merged-flag validation error that concern the definition.
fn is_definition_path(path: &str) -> bool {
    ["key", "kind", "salt", "variants"].iter().any(|p| path.starts_with(p))
}

#[async_trait]
impl FlagStore for This {
    async fn list_flags(&self, project: &str, query: &FlagQuery) -> Result<Page<FlagSummary>> {
        guard!(project, query);
        list::list(self, project, query).await
    }

    async fn flags_with_tag(&self, project: &str, tag: &str) -> Result<Vec<String>> {
        guard!(project, tag);
        list::with_tag(self, project, tag).await
    }

    async fn create_flag(&self, actor: &Actor, project: &str, new: NewFlag) -> Result<FlagDefinition> {
        guard!(actor, project, flag = new);
        check_key(&new.key, "key")?;
        if new.salt.as_ref().is_some_and(|salt| salt.len() > MAX_SALT_LEN) {
            return Err(StoreError::Validation(ValidationErrors(vec![ValidationError::new(
                "salt",
                "invalid_value",
                format!("a salt has at most {MAX_SALT_LEN} bytes"),
            )])));
        }
        let (variants, off, on) = new_flag_defaults(&new);
        let mut def = FlagDefinition {
            key: new.key.clone(),
            name: non_empty(new.name.clone()).unwrap_or_else(|| new.key.clone()),
            description: non_empty(new.description.clone()),
            kind: new.kind,
            variants,
            tags: new.tags.clone(),
            owner: non_empty(new.owner.clone()),
            temporary: new.temporary,
            expires_at: new.expires_at,
            salt: new.salt.clone().unwrap_or_else(random_salt),
            version: 1,
            created_at: to_time(now_ms())?,
            updated_at: to_time(now_ms())?,
            archived_at: None,
        };
        let config = default_config(off.clone(), on.clone());
        // A default configuration has no rules, hence no segment references.
        check_flag(&merge(&def, 1, &config), &HashSet::new()).map_err(|errors| {
            // The default fallthrough is the requested `on_variant`.
            let errors = errors
                .0
                .into_iter()
                .map(|mut e| {
                    if new.on_variant.is_some() && e.path.starts_with("fallthrough") {
                        e.path = "on_variant".into();
                    }
                    e
                })
                .collect();
            StoreError::Validation(ValidationErrors(errors))
        })?;

        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        tx.lock_project(p.id).await?;
        let now = tx.now;
        def.created_at = to_time(now)?;
        def.updated_at = def.created_at;
        let envs = lookup::project_envs(tx.conn().await?, p.id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO flags (project_id, key, name, description, kind, variants, tags, owner, temporary, salt, \
             off_variant, on_variant, version, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13, $14) RETURNING id",
        )
        .bind(p.id)
        .bind(&def.key)
        .bind(&def.name)
        .bind(&def.description)
        .bind(kind_str(def.kind))
        .bind(sqlx::types::Json(&def.variants))
        .bind(sqlx::types::Json(&def.tags))
        .bind(&def.owner)
        .bind(def.temporary)
        .bind(&def.salt)
        .bind(&off)
        .bind(&on)
        .bind(now)
        .bind(def.expires_at.map(|t| t.timestamp_millis()))
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "flag", &def.key))?;
        let row = FlagRow { id, def: def.clone(), off_variant: off, on_variant: on };
        tx.audit(
            actor,
            Audit {
                project_id: Some(p.id),
                flag: Some(&def.key),
                action: "flag.create",
                after: Some(to_json(&def)?),
                ..Audit::default()
            },
        )
        .await?;
        for env in &envs {
            insert_config(tx.conn().await?, env.id, &row, &config, &actor.name, now).await?;
            let event = ChangeEvent { flags: vec![merge(&def, 1, &config)], ..ChangeEvent::default() };
            tx.bump(env, event).await?;
        }
        tx.commit(self).await?;
        Ok(def)
    }

    async fn get_flag(&self, project: &str, flag: &str) -> Result<FlagDefinition> {
        guard!(project, flag);
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;
        Ok(lookup::flag(&mut conn, p.id, flag).await?.def)
    }

    async fn update_flag(
        &self,
        actor: &Actor,
        project: &str,
        key: &str,
        patch: FlagPatch,
        expected_version: Option<u64>,
    ) -> Result<FlagDefinition> {
        guard!(actor, project, flag = key, patch);
        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        tx.lock_project(p.id).await?;
        let current = lookup::flag(tx.conn().await?, p.id, key).await?;
        if current.def.archived_at.is_some() {
            return Err(super::configs::archived(key));
        }
        if let Some(expected) = expected_version
            && expected != current.def.version
        {
            return Err(version_conflict("flag", key, current.def.version, expected));
        }
        let old = &current.def;
        let mut def = old.clone();
        if let Some(name) = patch.name {
            def.name = non_empty(Some(name)).unwrap_or_else(|| def.key.clone());
        }
        if let Some(description) = patch.description {
            def.description = non_empty(Some(description));
        }
        if let Some(variants) = patch.variants {
            def.variants = variants;
        }
        if let Some(tags) = patch.tags {
            def.tags = tags;
        }
        if let Some(owner) = patch.owner {
            def.owner = non_empty(Some(owner));
        }
        if let Some(temporary) = patch.temporary {
            def.temporary = temporary;
        }
        if let Some(expires_at) = patch.expires_at {
            def.expires_at = expires_at;
        }
        let variants_changed = def.variants != old.variants;
        if !variants_changed
            && def.name == old.name
            && def.description == old.description
            && def.tags == old.tags
            && def.owner == old.owner
            && def.temporary == old.temporary
            && def.expires_at == old.expires_at
        {
            return Ok(current.def);
        }
        def.version = old.version + 1;
        def.updated_at = to_time(tx.now)?;

        let envs = lookup::project_envs(tx.conn().await?, p.id).await?;
        let mut configs = Vec::with_capacity(envs.len());
        if variants_changed {
            let segments = lookup::segment_keys(tx.conn().await?, p.id).await?;
            let (off, on) = resolve_defaults(&def.variants, Some(&current.off_variant), Some(&current.on_variant));
            let mut errors = match check_flag(&merge(&def, 1, &default_config(off, on)), &segments) {
                Ok(()) => Vec::new(),
                Err(e) => e.0.into_iter().filter(|e| is_definition_path(&e.path)).collect(),
            };
            for env in &envs {
                let config = lookup::config(tx.conn().await?, env, &current).await?;
                if let Err(e) = check_flag(&merge(&def, config.version, &config.config), &segments) {
                    errors.extend(e.0.into_iter().filter(|e| !is_definition_path(&e.path)).map(|e| ValidationError {
                        path: "variants".into(),
                        code: "variant_in_use",
                        message: format!("environment `{}` still needs it: {}: {}", env.key, e.path, e.message),
                    }));
                }
                configs.push(config);
            }
            for gone in old.variants.iter().filter(|v| !def.variants.iter().any(|n| n.key == v.key)) {
                let users = prereqs::users(tx.conn().await?, p.id, key, Some(&gone.key)).await?;
                if !users.is_empty() {
                    errors.push(ValidationError {
                        path: "variants".into(),
                        code: "variant_in_use",
                        message: format!("variant `{}` is a prerequisite of {users}", gone.key),
                    });
                }
            }
            if !errors.is_empty() {
                return Err(StoreError::Validation(ValidationErrors(errors)));
            }
        }

        sqlx::query(
            "UPDATE flags SET name = $2, description = $3, variants = $4, tags = $5, owner = $6, temporary = $7, \
             version = $8, updated_at = $9, expires_at = $10 WHERE id = $1",
        )
        .bind(current.id)
        .bind(&def.name)
        .bind(&def.description)
        .bind(sqlx::types::Json(&def.variants))
        .bind(sqlx::types::Json(&def.tags))
        .bind(&def.owner)
        .bind(def.temporary)
        .bind(to_i64(def.version))
        .bind(tx.now)
        .bind(def.expires_at.map(|t| t.timestamp_millis()))
        .execute(tx.conn().await?)
        .await?;
        tx.audit(
            actor,
            Audit {
                project_id: Some(p.id),
                flag: Some(&def.key),
                action: "flag.update",
                before: Some(to_json(old)?),
                after: Some(to_json(&def)?),
                ..Audit::default()
            },
        )
        .await?;
        // Only the variants are visible to SDKs (names, tags, owner are not).
        send_everywhere(&mut tx, &def, &envs, &configs).await?;
        tx.commit(self).await?;
        Ok(def)
    }

    async fn delete_flag(&self, actor: &Actor, project: &str, key: &str, reason: Option<String>) -> Result<()> {
        guard!(actor, project, flag = key, reason);
        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        tx.lock_project(p.id).await?;
        let flag = lookup::flag(tx.conn().await?, p.id, key).await?;
        if flag.def.archived_at.is_none() {
            return Err(StoreError::Conflict {
                code: "not_archived",
                message: format!("flag `{key}` is not archived: archive it first (POST …/flags/{key}/archive)"),
                current_version: None,
            });
        }
        let users = prereqs::users(tx.conn().await?, p.id, key, None).await?;
        if !users.is_empty() {
            return Err(StoreError::Conflict {
                code: "prerequisite_in_use",
                message: format!("flag `{key}` is a prerequisite of {users}; remove it there first"),
                current_version: None,
            });
        }
        sqlx::query("DELETE FROM flag_configs WHERE flag_id = $1").bind(flag.id).execute(tx.conn().await?).await?;
        sqlx::query("DELETE FROM flags WHERE id = $1").bind(flag.id).execute(tx.conn().await?).await?;
        tx.audit(
            actor,
            Audit {
                project_id: Some(p.id),
                flag: Some(key),
                action: "flag.delete",
                reason: reason.as_deref(),
                before: Some(to_json(&flag.def)?),
                ..Audit::default()
            },
        )
        .await?;
        // Archived, it already left every snapshot: no revision to bump.
        tx.commit(self).await
    }
}

/// Bumps each of `envs` with `def` merged with its configuration there
/// (`configs`, in the same order): how SDKs get a definition's change.
pub(super) async fn send_everywhere(
    tx: &mut WriteTx,
    def: &FlagDefinition,
    envs: &[EnvRef],
    configs: &[ConfigRow],
) -> Result<()> {
    for (env, config) in envs.iter().zip(configs) {
        let event = ChangeEvent { flags: vec![merge(def, config.version, &config.config)], ..ChangeEvent::default() };
        tx.bump(env, event).await?;
    }
    Ok(())
}
