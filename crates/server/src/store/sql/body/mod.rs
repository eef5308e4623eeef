//! The one implementation of [`Store`], compiled once per backend: the
//! including module (`pg` or `sqlite`) supplies `Db`, `This`, `BACKEND`,
//! `BEGIN_WRITE`, `BEGIN_READ` and the hooks `lock_env`, `lock_project` and
//! `notify`. Everything below is backend-neutral, including its SQL.

use async_trait::async_trait;
use switchyard_core::{ChangeEvent, Snapshot};

use super::{
    BACKEND, BEGIN_READ, BEGIN_WRITE, Db, LOCK_TRIGGER, SKIP_LOCKED, This, live_replicas, lock_env, lock_project,
    notify, notify_peers,
};
use crate::store::{
    Actor, ApiToken, AuditEvent, AuditQuery, Backend, ChangeSetRequest, ChangeSetResult, Environment, FlagConfig,
    FlagConfigRecord, FlagDefinition, FlagPatch, FlagQuery, FlagSummary, KillRequest, NewApiToken, NewEnvironment,
    NewFlag, NewProject, NewSdkKey, NewUser, Page, PasswordChange, Project, RestoreDiff, RestoreRequest,
    RestoreVersion, Result, Reverted, SdkKey, SegmentInput, SegmentRecord, Store, UndoChange, User, UserWithHash,
    Written,
};
use crate::store::{ClaimedDelivery, DeliveryRecord, DeliveryUpdate};
use crate::store::{NewTrigger, NewWebhook, SecretHash, Trigger, Webhook};

mod accounts;
mod audit;
mod bulk;
mod configs;
mod fires;
mod flags;
mod history;
mod kill;
mod list;
mod lookup;
mod outbox;
mod projects;
mod row;
mod sdk;
mod segments;
mod triggers;
mod tx;

/// Refuses, before any SQL runs, text the two backends would not store
/// alike (NUL, control characters: see `crate::text`), so that Postgres and
/// SQLite answer every input the same way (`StoreError::InvalidText`).
macro_rules! guard {
    ($($arg:ident),+ $(,)?) => {
        $(crate::text::check_arg(stringify!($arg), &$arg)?;)+
    };
}

#[async_trait]
impl Store for This {
    fn backend(&self) -> Backend {
        BACKEND
    }

    fn pool_stats(&self) -> (u32, u32) {
        (self.pool.size(), self.pool.num_idle() as u32)
    }

    async fn notify_peers(&self, channel: &str, payload: &str) -> Result<()> {
        guard!(channel, payload);
        notify_peers(&self.pool, channel, payload).await
    }

    async fn live_replicas(&self, prefix: &str) -> Result<Vec<String>> {
        guard!(prefix);
        live_replicas(&self.pool, prefix).await
    }

    async fn claim_trigger_fire(
        &self,
        id: i64,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<Option<std::time::Duration>> {
        fires::claim(self, id, limit, window).await
    }

    async fn record_kill_receipt(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flags: &[String],
        revision: u64,
        receipt: serde_json::Value,
    ) -> Result<()> {
        guard!(actor, project, env, flags, receipt);
        kill::record_receipt(self, actor, (project, env), flags, revision, receipt).await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn setting_get_or_insert(&self, key: &str, value: &str) -> Result<String> {
        guard!(key, value);
        accounts::setting_get_or_insert(self, key, value).await
    }

    async fn user_count(&self) -> Result<i64> {
        accounts::user_count(self).await
    }

    async fn create_user(&self, actor: &Actor, user: NewUser) -> Result<User> {
        guard!(actor, user);
        accounts::create_user(self, actor, user).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserWithHash>> {
        guard!(username);
        accounts::user_by_name(self, username).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        accounts::list_users(self).await
    }

    async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        password_hash: &str,
        why: PasswordChange,
    ) -> Result<User> {
        accounts::set_password(self, actor, username, password_hash, why).await
    }

    async fn create_api_token(&self, actor: &Actor, token: NewApiToken) -> Result<ApiToken> {
        guard!(actor, token);
        accounts::create_api_token(self, actor, token).await
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        guard!(hash);
        accounts::api_token_by_hash(self, hash).await
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        accounts::list_api_tokens(self).await
    }

    async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<ApiToken> {
        guard!(actor);
        accounts::revoke_api_token(self, actor, id).await
    }

    async fn create_project(&self, actor: &Actor, project: NewProject) -> Result<Project> {
        guard!(actor, project);
        projects::create_project(self, actor, project).await
    }

    async fn list_projects(&self) -> Result<Vec<Project>> {
        projects::list_projects(self).await
    }

    async fn get_project(&self, project: &str) -> Result<Project> {
        guard!(project);
        projects::get_project(self, project).await
    }

    async fn create_environment(&self, actor: &Actor, project: &str, env: NewEnvironment) -> Result<Environment> {
        guard!(actor, project, env);
        projects::create_environment(self, actor, project, env).await
    }

    async fn list_environments(&self, project: &str) -> Result<Vec<Environment>> {
        guard!(project);
        projects::list_environments(self, project).await
    }

    async fn get_environment(&self, project: &str, env: &str) -> Result<Environment> {
        guard!(project, env);
        projects::get_environment(self, project, env).await
    }

    async fn environment_by_id(&self, id: i64) -> Result<Environment> {
        projects::environment_by_id(self, id).await
    }

    async fn create_flag(&self, actor: &Actor, project: &str, flag: NewFlag) -> Result<FlagDefinition> {
        guard!(actor, project, flag);
        flags::create(self, actor, project, flag).await
    }

    async fn list_flags(&self, project: &str, query: &FlagQuery) -> Result<Page<FlagSummary>> {
        guard!(project, query);
        list::list(self, project, query).await
    }

    async fn get_flag(&self, project: &str, flag: &str) -> Result<FlagDefinition> {
        guard!(project, flag);
        flags::get(self, project, flag).await
    }

    async fn update_flag(
        &self,
        actor: &Actor,
        project: &str,
        flag: &str,
        patch: FlagPatch,
        expected_version: Option<u64>,
    ) -> Result<FlagDefinition> {
        guard!(actor, project, flag, patch);
        flags::update(self, actor, (project, flag), patch, expected_version).await
    }

    async fn delete_flag(&self, actor: &Actor, project: &str, flag: &str, reason: Option<String>) -> Result<()> {
        guard!(actor, project, flag, reason);
        flags::delete(self, actor, project, flag, reason).await
    }

    async fn get_flag_config(&self, project: &str, env: &str, flag: &str) -> Result<FlagConfigRecord> {
        guard!(project, env, flag);
        configs::get_config(self, project, env, flag).await
    }

    async fn put_flag_config(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        config: FlagConfig,
        expected_version: u64,
        reason: Option<String>,
    ) -> Result<Written<FlagConfigRecord>> {
        guard!(actor, project, env, flag, config, reason);
        configs::put(self, actor, project, env, flag, config, expected_version, reason).await
    }

    async fn toggle_flag(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        on: bool,
        reason: Option<String>,
    ) -> Result<Written<FlagConfigRecord>> {
        guard!(actor, project, env, flag, reason);
        configs::toggle(self, actor, (project, env, flag), on, reason).await
    }

    async fn kill_flags(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        kill: KillRequest,
    ) -> Result<Written<Vec<FlagConfigRecord>>> {
        guard!(actor, project, env, kill);
        kill::kill(self, actor, project, env, kill).await
    }

    async fn restore_flags(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flags: &[String],
        reason: String,
    ) -> Result<Written<Vec<FlagConfigRecord>>> {
        guard!(actor, project, env, flags, reason);
        kill::set_kill(self, actor, (project, env), flags, None, &reason).await
    }

    async fn flags_with_tag(&self, project: &str, tag: &str) -> Result<Vec<String>> {
        guard!(project, tag);
        list::with_tag(self, project, tag).await
    }

    async fn config_history(&self, project: &str, env: &str, flag: &str) -> Result<Vec<FlagConfigRecord>> {
        guard!(project, env, flag);
        history::history(self, project, env, flag).await
    }

    async fn revert_flag(
        &self,
        actor: &Actor,
        target: (&str, &str, &str),
        request: RestoreVersion,
    ) -> Result<Reverted> {
        guard!(actor, target, request);
        history::revert(self, actor, target, request).await
    }

    async fn undo_flag_change(
        &self,
        actor: &Actor,
        target: (&str, &str, &str),
        request: UndoChange,
    ) -> Result<Reverted> {
        guard!(actor, target, request);
        history::undo(self, actor, target, request).await
    }

    async fn restore_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        request: RestoreRequest,
    ) -> Result<Written<Vec<RestoreDiff>>> {
        guard!(actor, project, env, request);
        bulk::restore_environment(self, actor, project, env, request).await
    }

    async fn apply_change_set(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        set: ChangeSetRequest,
    ) -> Result<Written<ChangeSetResult>> {
        guard!(actor, project, env, set);
        bulk::apply_change_set(self, actor, project, env, set).await
    }

    async fn revert_change_set(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        change_set: &str,
        reason: String,
    ) -> Result<Written<ChangeSetResult>> {
        guard!(actor, project, env, change_set, reason);
        bulk::revert_change_set(self, actor, (project, env), change_set, reason).await
    }

    async fn create_segment(&self, actor: &Actor, project: &str, segment: SegmentInput) -> Result<SegmentRecord> {
        guard!(actor, project, segment);
        segments::create(self, actor, project, segment).await
    }

    async fn list_segments(&self, project: &str) -> Result<Vec<SegmentRecord>> {
        guard!(project);
        segments::list(self, project).await
    }

    async fn get_segment(&self, project: &str, segment: &str) -> Result<SegmentRecord> {
        guard!(project, segment);
        segments::get_one(self, project, segment).await
    }

    async fn update_segment(
        &self,
        actor: &Actor,
        project: &str,
        segment: &str,
        input: SegmentInput,
        expected_version: u64,
    ) -> Result<SegmentRecord> {
        guard!(actor, project, segment, input);
        segments::update(self, actor, (project, segment), input, expected_version).await
    }

    async fn delete_segment(&self, actor: &Actor, project: &str, segment: &str) -> Result<()> {
        guard!(actor, project, segment);
        segments::delete(self, actor, project, segment).await
    }

    async fn list_audit(&self, project: &str, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        guard!(project, query);
        audit::list(self, project, query).await
    }

    async fn create_sdk_key(&self, actor: &Actor, project: &str, env: &str, key: NewSdkKey) -> Result<SdkKey> {
        guard!(actor, project, env, key);
        sdk::create_key(self, actor, project, env, key).await
    }

    async fn list_sdk_keys(&self, project: &str, env: &str) -> Result<Vec<SdkKey>> {
        guard!(project, env);
        sdk::list_keys(self, project, env).await
    }

    async fn revoke_sdk_key(&self, actor: &Actor, project: &str, env: &str, id: i64) -> Result<SdkKey> {
        guard!(actor, project, env);
        sdk::revoke_key(self, actor, (project, env), id).await
    }

    async fn sdk_key_by_hash(&self, hash: &str) -> Result<Option<SdkKey>> {
        guard!(hash);
        sdk::key_by_hash(self, hash).await
    }

    async fn snapshot(&self, environment_id: i64) -> Result<Snapshot> {
        sdk::snapshot(self, environment_id).await
    }

    async fn changes_since(&self, environment_id: i64, after: u64, limit: u32) -> Result<Option<Vec<ChangeEvent>>> {
        sdk::changes_since(self, environment_id, after, limit).await
    }

    async fn revisions(&self) -> Result<Vec<(i64, u64)>> {
        sdk::revisions(self).await
    }

    async fn create_trigger(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        trigger: NewTrigger,
    ) -> Result<Trigger> {
        guard!(actor, project, env, flag, trigger);
        triggers::create_trigger(self, actor, (project, env, flag), trigger).await
    }

    async fn list_triggers(&self, project: &str, env: &str, flag: &str) -> Result<Vec<Trigger>> {
        guard!(project, env, flag);
        triggers::list_triggers(self, project, env, flag).await
    }

    async fn delete_trigger(&self, actor: &Actor, project: &str, env: &str, flag: &str, id: i64) -> Result<Trigger> {
        guard!(actor, project, env, flag);
        triggers::delete_trigger(self, actor, (project, env, flag), id).await
    }

    async fn rotate_trigger(
        &self,
        actor: &Actor,
        scope: (&str, &str, &str),
        id: i64,
        secret: SecretHash,
    ) -> Result<Trigger> {
        guard!(actor, scope, secret);
        triggers::rotate_trigger(self, actor, scope, id, secret).await
    }

    async fn trigger_by_hash(&self, hash: &str) -> Result<Option<Trigger>> {
        guard!(hash);
        triggers::trigger_by_hash(self, hash).await
    }

    async fn create_webhook(&self, actor: &Actor, project: &str, webhook: NewWebhook) -> Result<Webhook> {
        guard!(actor, project, webhook);
        triggers::create_webhook(self, actor, project, webhook).await
    }

    async fn list_webhooks(&self, project: &str) -> Result<Vec<Webhook>> {
        guard!(project);
        triggers::list_webhooks(self, project).await
    }

    async fn delete_webhook(&self, actor: &Actor, project: &str, id: i64) -> Result<Webhook> {
        guard!(actor, project);
        triggers::delete_webhook(self, actor, project, id).await
    }

    fn outbox_wakeup(&self) -> std::sync::Arc<tokio::sync::Notify> {
        std::sync::Arc::clone(&self.shared.outbox_wakeup)
    }

    async fn claim_deliveries(&self, lease: std::time::Duration, limit: u32) -> Result<Vec<ClaimedDelivery>> {
        outbox::claim(self, lease, limit).await
    }

    async fn finish_delivery(&self, id: i64, attempt: u32, update: DeliveryUpdate) -> Result<bool> {
        outbox::finish(self, id, attempt, update).await
    }

    async fn next_delivery_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        outbox::next_due(self).await
    }

    async fn list_deliveries(&self, project: &str, webhook: i64, limit: u32) -> Result<Vec<DeliveryRecord>> {
        guard!(project);
        outbox::list(self, project, webhook, limit).await
    }

    async fn prune_deliveries(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64> {
        outbox::prune(self, before).await
    }
}
