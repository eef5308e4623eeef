//! Approval policies and change requests: a policy per environment; a
//! request's diff; one approval per approver; applied once, only with its
//! approvals and only while the fields it sets are as they were.

use serde_json::json;
use switchyard_core::Serve;
use switchyard_server::store::{
    ApprovalPolicy, ChangeRequestState, ConfigPatch, NewChangeRequest, NoteKind, Role, StoreError,
};

use super::{Ctx, assert_already_exists, assert_not_found, config, revision, setup, user};

fn request(patch: ConfigPatch) -> NewChangeRequest {
    NewChangeRequest { change: patch, reason: Some("planned".into()) }
}

fn serve(variant: &str) -> ConfigPatch {
    ConfigPatch { fallthrough: Some(Serve::Variant(variant.into())), ..ConfigPatch::default() }
}

pub async fn change_requests_apply_once_with_approvals_and_without_conflicts(ctx: Ctx) {
    let store = ctx.store().await;
    let (alice, bob) = (user("alice"), user("bob"));
    setup(&store, &["checkout"]).await;
    assert_eq!(store.approval_policy("shop", "prod").await.unwrap(), ApprovalPolicy::default());
    let policy = ApprovalPolicy { approvals: 1, approver_role: Role::Admin };
    store.set_approval_policy(&alice, ("shop", "prod"), policy.clone()).await.unwrap();
    assert_eq!(store.approval_policy("shop", "prod").await.unwrap(), policy);
    assert_eq!(store.approval_policy("shop", "dev").await.unwrap().approvals, 0);

    let place = ("shop", "prod", "checkout");
    let on = ConfigPatch { on: Some(true), ..ConfigPatch::default() };
    let opened = store.open_change_request(&alice, place, request(on)).await.unwrap();
    assert_eq!(serde_json::to_value(&opened.diff).unwrap(), json!([{"field": "on", "before": false, "after": true}]));
    assert_eq!((opened.state, opened.author.as_str()), (ChangeRequestState::Open, "alice"));
    assert_not_found(store.get_change_request("shop", "dev", opened.id).await, "change request");
    let at = ("shop", "prod", opened.id);
    match store.apply_change_request(&alice, at, 1).await {
        Err(StoreError::Conflict { code: "approvals_missing", .. }) => {}
        other => panic!("expected approvals_missing, got {other:?}"),
    }
    store.add_change_request_note(&bob, at, NoteKind::Approval, None).await.unwrap();
    assert_already_exists(store.add_change_request_note(&bob, at, NoteKind::Approval, None).await);
    store.add_change_request_note(&alice, at, NoteKind::Comment, Some("noon".into())).await.unwrap();
    let before = revision(&store, "prod").await;
    let applied = store.apply_change_request(&alice, at, 1).await.unwrap();
    assert_eq!((applied.value.state, applied.revision), (ChangeRequestState::Applied, Some(before + 1)));
    assert_eq!(applied.value.approvers(), ["bob"]);
    assert!(config(&store, "prod", "checkout").await.1.on);
    match store.apply_change_request(&alice, at, 1).await {
        Err(StoreError::Conflict { code: "change_request_state", .. }) => {}
        other => panic!("applied once, got {other:?}"),
    }

    // Two requests on one field: the second is refused once the first is applied.
    let first = store.open_change_request(&alice, place, request(serve("off"))).await.unwrap();
    let second = store.open_change_request(&alice, place, request(serve("on"))).await.unwrap();
    store.apply_change_request(&alice, ("shop", "prod", first.id), 0).await.unwrap();
    match store.apply_change_request(&alice, ("shop", "prod", second.id), 0).await {
        Err(StoreError::FieldConflict { code: "change_conflict", fields, .. }) => {
            assert_eq!(fields.0[0].path, "fallthrough")
        }
        other => panic!("expected change_conflict, got {other:?}"),
    }
    let cancelled = store.cancel_change_request(&alice, ("shop", "prod", second.id), None).await.unwrap();
    assert_eq!(cancelled.state, ChangeRequestState::Cancelled);
    assert_eq!(store.list_change_requests("shop", "prod").await.unwrap().len(), 3);
}
