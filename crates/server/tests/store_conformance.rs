//! Store conformance suite: every case runs unchanged against SQLite and
//! Postgres (see `common` for the harness and the skip rules).

#[macro_use]
mod common;

conformance!(
    projects_environments_and_flags,
    new_environment_gets_default_configs_and_full_change,
    toggle_bumps_revision_and_audits,
    stale_version_conflicts_and_writes_nothing,
    validation_errors_carry_paths,
    kill_is_idempotent_and_survives_config_edits,
    restore_clears_kill,
    revert_to_version_one,
    undo_reverts_one_change_only,
    undo_refuses_when_later_changes_touched_its_fields,
    restore_version_previews_the_whole_diff,
    restore_to_before_the_environment_existed,
    restore_environment_dry_run_and_real,
    change_set_is_all_or_nothing,
    revert_change_set,
    segments_lifecycle,
    flag_definition_update_and_delete,
    flag_list_filters_and_pagination,
    audit_filters_and_pagination,
    audit_is_append_only,
    sdk_keys,
    users_tokens_settings,
    snapshot_matches_replayed_changes,
    changes_since_is_contiguous_and_pruned,
    sink_receives_changes_in_revision_order,
    concurrent_writers_never_lose_updates,
    triggers_lifecycle,
    webhooks_lifecycle,
    webhook_outbox,
    concurrent_claims_are_disjoint,
    kill_receipt_is_audited_without_a_revision,
    incident_events_and_incidents,
    trigger_fires_are_limited_per_trigger,
    hostile_text_is_refused_or_kept_alike,
    release_plans_lifecycle,
    job_claims_are_disjoint_and_leases_lapse,
    scheduled_changes_apply_once_and_compare_and_set,
    change_requests_apply_once_with_approvals_and_without_conflicts,
    telemetry_adds_per_variant_and_minute_and_prunes,
    evaluations_are_attributed_to_instances_and_services,
    stale_flags_are_found_on_seeded_telemetry,
    members_and_session_roles,
    environments_are_ordered_and_coloured,
);

#[path = "common/cases/mod.rs"]
mod cases;
