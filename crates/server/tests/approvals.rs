//! Approvals per environment over real sockets, on SQLite and Postgres: an
//! environment's policy gates ordinary changes (409 `approval_required`)
//! while kills and restores go straight through, labelled break-glass; a
//! change request is opened with its diff, cannot be approved by its
//! author, needs the policy's approvals and role, takes comments, and is
//! applied once (re-checked for conflicts: a field changed since is a 409
//! naming it), audited with its author and approvers.

// The scheduled change tests' helpers (seed, requests, audit); not all are used here.
#[allow(dead_code)]
mod schedule {
    pub mod support;
}

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::client::Client;
use switchyard_server::testing::{TestServer, for_each_store, login};

use schedule::support::{Api, FLAG, PROD, admin, audit, call, in_secs, ok, seed, wait_state};

/// An API token of `role` in `shop` named `name`, as a client.
async fn as_token(server: &TestServer, api: &Api, name: &str, role: &str) -> Api {
    let body = json!({"name": name, "role": role, "project": "shop"});
    let created = ok(api, Method::POST, "/api/v1/tokens", Some(body), 201).await;
    Client::new(&server.base).with_token(created["secret"].as_str().unwrap())
}

async fn open(api: &Api, change: Value) -> i64 {
    let body = json!({"change": change, "reason": "planned"});
    ok(api, Method::POST, &format!("{FLAG}/change-requests"), Some(body), 201).await["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_gates_ordinary_changes_but_never_a_kill() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        assert_eq!(ok(&api, Method::GET, &format!("{PROD}/approval-policy"), None, 200).await["approvals"], 0);
        // A change set before the policy, to try reverting it under it.
        let config = ok(&api, Method::GET, FLAG, None, 200).await;
        let change = json!({"flag": "checkout", "version": config["version"], "config": config["config"].clone()});
        let mut set_body = json!({"changes": [change], "reason": "set"});
        set_body["changes"][0]["config"]["on"] = json!(false);
        let set = ok(&api, Method::POST, &format!("{PROD}/changes"), Some(set_body), 200).await;
        let set_id = set["value"]["id"].as_str().expect("a change set id").to_string();
        ok(&api, Method::POST, &format!("{FLAG}/toggle"), Some(json!({"on": true})), 200).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let config = ok(&api, Method::GET, FLAG, None, 200).await;
        let mut put = config["config"].clone();
        put["version"] = config["version"].clone();
        let change = json!({"flag": "checkout", "version": config["version"], "config": config["config"].clone()});
        let token = as_token(&server, &api, "deployer", "editor").await;
        let ordinary = [
            (&api, Method::POST, format!("{FLAG}/toggle"), json!({"on": false})),
            (&token, Method::POST, format!("{FLAG}/toggle"), json!({"on": false})),
            (&api, Method::PUT, FLAG.to_string(), put),
            (&api, Method::POST, format!("{FLAG}/schedule"), json!({"at": in_secs(60), "change": {"on": false}})),
            (&api, Method::POST, format!("{FLAG}/revert"), json!({"to_version": 1, "reason": "back"})),
            (&api, Method::POST, format!("{FLAG}/undo"), json!({"version": config["version"], "reason": "back"})),
            (&api, Method::POST, format!("{PROD}/restore"), json!({"at": in_secs(-1), "reason": "back"})),
            (&api, Method::POST, format!("{PROD}/changes"), json!({"changes": [change], "reason": "again"})),
            (&api, Method::POST, format!("{PROD}/changes/{set_id}/revert"), json!({"reason": "back"})),
        ];
        for (client, method, path, body) in ordinary {
            let (status, problem) = call(client, method.clone(), &path, Some(body)).await;
            assert_eq!(
                (status, problem["code"].as_str()),
                (409, Some("approval_required")),
                "{method} {path}: {problem}"
            );
        }
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["version"], config["version"], "nothing written");
        // Previews write nothing: no approval needed to look.
        let previews = [
            (format!("{FLAG}/revert"), json!({"to_version": 1, "dry_run": true})),
            (format!("{FLAG}/undo"), json!({"version": config["version"], "dry_run": true})),
        ];
        for (path, body) in previews {
            ok(&api, Method::POST, &path, Some(body), 200).await;
        }

        // A release plan is an ordinary change too: it waits for a change request (aborting it
        // cancels that); a change scheduled before the policy fails when due.
        let plan = json!({"stages": [{"percent": 50.0}]});
        let waiting = ok(&api, Method::POST, &format!("{FLAG}/release"), Some(plan), 201).await;
        assert_eq!(waiting["state"], "awaiting_approval", "{waiting}");
        let abort = json!({"reason": "not now"});
        ok(&api, Method::POST, &format!("{FLAG}/release/abort"), Some(abort), 200).await;
        let requests = ok(&api, Method::GET, &format!("{PROD}/change-requests"), None, 200).await;
        assert_eq!(requests[0]["state"], "cancelled", "{requests}");
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 0})), 200).await;
        let body = json!({"at": in_secs(1), "change": {"on": false}});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let failed = wait_state(&api, id, "failed").await;
        assert!(failed["result"].as_str().is_some_and(|r| r.contains("approval")), "{failed}");
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], true, "not applied");

        // An open change request does not hold a kill either.
        open(&api, json!({"on": false})).await;
        let kill = json!({"reason": "errors", "incident": "INC-7"});
        ok(&api, Method::POST, &format!("{FLAG}/kill"), Some(kill), 200).await;
        ok(&api, Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "fixed"})), 200).await;
        let events = audit(&api).await;
        let killed = events.iter().find(|e| e["action"] == "flag.kill").expect("the kill");
        assert_eq!(killed["after"]["break_glass"], true, "{killed}");
        let restored = events.iter().find(|e| e["action"] == "flag.restore").expect("the restore");
        assert_eq!(restored["after"]["break_glass"], true, "{restored}");
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_request_is_approved_by_another_and_applied_once() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(
            &api,
            Method::PUT,
            &format!("{PROD}/approval-policy"),
            Some(json!({"approvals": 1, "approver_role": "editor"})),
            200,
        )
        .await;
        let (alice, bob) =
            (as_token(&server, &api, "alice", "editor").await, as_token(&server, &api, "bob", "editor").await);
        let viewer = as_token(&server, &api, "vic", "viewer").await;
        let id = open(&alice, json!({"on": false})).await;
        let one = format!("{PROD}/change-requests/{id}");
        let request = ok(&alice, Method::GET, &one, None, 200).await;
        assert_eq!(request["diff"], json!([{"field": "on", "before": true, "after": false}]), "{request}");
        assert_eq!((request["state"].as_str(), request["author"].as_str()), (Some("open"), Some("alice")));

        assert_eq!(call(&alice, Method::POST, &format!("{one}/approve"), Some(json!({}))).await.0, 403, "own");
        assert_eq!(call(&viewer, Method::POST, &format!("{one}/approve"), Some(json!({}))).await.0, 403, "viewer");
        let (status, problem) = call(&alice, Method::POST, &format!("{one}/apply"), Some(json!({}))).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("approvals_missing")), "{problem}");
        ok(&bob, Method::POST, &format!("{one}/approve"), Some(json!({"comment": "looks right"})), 200).await;
        assert_eq!(call(&bob, Method::POST, &format!("{one}/approve"), Some(json!({}))).await.0, 409, "twice");
        ok(&alice, Method::POST, &format!("{one}/comments"), Some(json!({"body": "applying at noon"})), 200).await;

        let applied = ok(&alice, Method::POST, &format!("{one}/apply"), Some(json!({})), 200).await;
        assert_eq!((applied["value"]["state"].as_str(), applied["changed"].as_bool()), (Some("applied"), Some(true)));
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], false);
        let kinds: Vec<&str> =
            applied["value"]["notes"].as_array().unwrap().iter().filter_map(|n| n["kind"].as_str()).collect();
        assert_eq!(kinds, ["approval", "comment"]);
        let events = audit(&api).await;
        let write = events.iter().find(|e| e["action"] == "flag.toggle").expect("the write");
        assert_eq!(write["actor"], "alice", "{write}");
        assert_eq!(write["after"]["change_request"]["approvers"], json!(["bob"]), "{write}");
        assert_eq!(write["revision"], applied["revision"], "{write}");
        let (status, problem) = call(&alice, Method::POST, &format!("{one}/apply"), Some(json!({}))).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("change_request_state")), "applied once: {problem}");
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_rechecks_for_conflicts_and_the_policy_role() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let (alice, bob) =
            (as_token(&server, &api, "alice", "editor").await, as_token(&server, &api, "bob", "editor").await);
        let first = open(&alice, json!({"fallthrough": {"variant": "off"}})).await;
        let second = open(&alice, json!({"fallthrough": {"variant": "on"}, "on": false})).await;
        for id in [first, second] {
            ok(&bob, Method::POST, &format!("{PROD}/change-requests/{id}/approve"), Some(json!({})), 200).await;
        }
        ok(&alice, Method::POST, &format!("{PROD}/change-requests/{first}/apply"), Some(json!({})), 200).await;
        let (status, problem) =
            call(&alice, Method::POST, &format!("{PROD}/change-requests/{second}/apply"), Some(json!({}))).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("change_conflict")), "{problem}");
        assert_eq!(problem["errors"][0]["path"], "fallthrough", "{problem}");
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], true, "nothing of it written");
        // Cancelled by its author; an admin-only policy refuses an editor's approval.
        ok(
            &alice,
            Method::POST,
            &format!("{PROD}/change-requests/{second}/cancel"),
            Some(json!({"comment": "stale"})),
            200,
        )
        .await;
        ok(
            &api,
            Method::PUT,
            &format!("{PROD}/approval-policy"),
            Some(json!({"approvals": 1, "approver_role": "admin"})),
            200,
        )
        .await;
        let third = open(&alice, json!({"on": false})).await;
        assert_eq!(
            call(&bob, Method::POST, &format!("{PROD}/change-requests/{third}/approve"), Some(json!({}))).await.0,
            403
        );
        ok(&api, Method::POST, &format!("{PROD}/change-requests/{third}/approve"), Some(json!({})), 200).await;
        let (status, problem) =
            call(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 11}))).await;
        assert_eq!((status, problem["errors"][0]["path"].as_str()), (422, Some("approvals")), "{problem}");
        server
    })
    .await;
}

/// A change request is its author's change: approvals vouch for what it
/// does, not for who asked. One whose author's token was revoked after it
/// was approved is not applied (409 `author_not_authorized`, nothing
/// written, still open to be cancelled); one by an author still allowed is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_author_was_revoked_is_not_applied() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let body = json!({"name": "bot", "role": "editor", "project": "shop"});
        let created = ok(&api, Method::POST, "/api/v1/tokens", Some(body), 201).await;
        let bot = Client::new(&server.base).with_token(created["secret"].as_str().unwrap());
        let by_bot = open(&bot, json!({"on": false})).await;
        let reviewer = as_token(&server, &api, "reviewer", "editor").await;
        let one = format!("{PROD}/change-requests/{by_bot}");
        let opened = ok(&api, Method::GET, &one, None, 200).await;
        assert_eq!(opened["author_principal"]["kind"], "token", "{opened}");
        ok(&reviewer, Method::POST, &format!("{one}/approve"), Some(json!({})), 200).await;
        let token_id = created["token"]["id"].as_i64().unwrap();
        ok(&api, Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None, 200).await;

        let (status, problem) = call(&api, Method::POST, &format!("{one}/apply"), Some(json!({}))).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("author_not_authorized")), "{problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("bot") && d.contains("revoked")), "{problem}");
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], true, "nothing written");
        assert_eq!(ok(&api, Method::GET, &one, None, 200).await["state"], "open");
        ok(&api, Method::POST, &format!("{one}/cancel"), Some(json!({"comment": "author revoked"})), 200).await;

        // The same change asked for by a principal still allowed is applied.
        let again = open(&api, json!({"on": false})).await;
        let path = format!("{PROD}/change-requests/{again}");
        ok(&reviewer, Method::POST, &format!("{path}/approve"), Some(json!({})), 200).await;
        ok(&api, Method::POST, &format!("{path}/apply"), Some(json!({})), 200).await;
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], false);
        server
    })
    .await;
}

/// A user with a global `role`, editor in `shop` by membership, logged in.
async fn member(server: &TestServer, api: &Api, name: &str, role: &str) -> Api {
    let body = json!({"username": name, "password": "a-long-password", "role": role});
    ok(api, Method::POST, "/api/v1/users", Some(body), 201).await;
    ok(api, Method::PUT, &format!("{MEMBERS}/{name}"), Some(json!({"role": "editor"})), 200).await;
    Client::new(&server.base).with_token(&login(&server.base, name, "a-long-password").await)
}

const MEMBERS: &str = "/api/v1/projects/shop/members";

/// An approval counts only while its approver may still approve: one whose
/// token was revoked, who was demoted below the approver role, or who was
/// removed from the project since approving no longer counts, and a
/// request left with too few is 409 `approvals_no_longer_valid` naming each
/// such approval and why, nothing written; another approval applies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_whose_approver_lost_the_right_no_longer_count() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 2})), 200).await;
        let body = json!({"name": "bot", "role": "editor", "project": "shop"});
        let created = ok(&api, Method::POST, "/api/v1/tokens", Some(body), 201).await;
        let bot = Client::new(&server.base).with_token(created["secret"].as_str().unwrap());
        let (dee, rex, kim) = (
            member(&server, &api, "dee", "viewer").await,
            member(&server, &api, "rex", "viewer").await,
            member(&server, &api, "kim", "viewer").await,
        );
        let id = open(&api, json!({"on": false})).await;
        let one = format!("{PROD}/change-requests/{id}");
        for approver in [&bot, &dee, &rex, &kim] {
            ok(approver, Method::POST, &format!("{one}/approve"), Some(json!({})), 200).await;
        }
        let noted = ok(&api, Method::GET, &one, None, 200).await;
        assert_eq!(noted["notes"][0]["author_principal"]["kind"], "token", "{noted}");
        assert_eq!(noted["notes"][1]["author_principal"]["kind"], "user", "{noted}");
        let token_id = created["token"]["id"].as_i64().unwrap();
        ok(&api, Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None, 200).await;
        ok(&api, Method::PUT, &format!("{MEMBERS}/dee"), Some(json!({"role": "viewer"})), 200).await;
        ok(&api, Method::DELETE, &format!("{MEMBERS}/rex"), None, 200).await;

        let (status, problem) = call(&api, Method::POST, &format!("{one}/apply"), Some(json!({}))).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("approvals_no_longer_valid")), "{problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        for (name, why) in [("bot", "was revoked"), ("dee", "is now viewer"), ("rex", "is now viewer")] {
            assert!(detail.contains(&format!("`{name}`")) && detail.contains(why), "{name}: {problem}");
        }
        assert!(!detail.contains("kim"), "kim's approval still counts: {problem}");
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], true, "nothing written");
        assert_eq!(ok(&api, Method::GET, &one, None, 200).await["state"], "open");

        // A second approver still allowed makes two that count: applied.
        let lee = member(&server, &api, "lee", "viewer").await;
        ok(&lee, Method::POST, &format!("{one}/approve"), Some(json!({})), 200).await;
        ok(&api, Method::POST, &format!("{one}/apply"), Some(json!({})), 200).await;
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], false);
        server
    })
    .await;
}

/// The author cannot approve their own request through a token they
/// minted, nor through a token such a token minted: a token minted by
/// anyone but a global admin answers for its creator. (Found in review:
/// project admins mint project tokens, and the check compared names only,
/// so one project admin could meet any number of approvals alone.) Tokens
/// a global admin mints stay separate principals (service tokens): a
/// global admin can change the policy or create users anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_cannot_approve_through_a_token_they_minted() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let body = json!({"username": "alice", "password": "a-long-password", "role": "viewer"});
        ok(&api, Method::POST, "/api/v1/users", Some(body), 201).await;
        ok(&api, Method::PUT, &format!("{MEMBERS}/alice"), Some(json!({"role": "admin"})), 200).await;
        let alice = Client::new(&server.base).with_token(&login(&server.base, "alice", "a-long-password").await);
        let body = json!({"name": "alt", "role": "admin"});
        let minted = ok(&alice, Method::POST, "/api/v1/projects/shop/tokens", Some(body), 201).await;
        let alt = Client::new(&server.base).with_token(minted["secret"].as_str().unwrap());
        let body = json!({"name": "alt2", "role": "editor"});
        let minted = ok(&alt, Method::POST, "/api/v1/projects/shop/tokens", Some(body), 201).await;
        let alt2 = Client::new(&server.base).with_token(minted["secret"].as_str().unwrap());

        let id = open(&alice, json!({"on": false})).await;
        let one = format!("{PROD}/change-requests/{id}");
        for token in [&alt, &alt2] {
            let (status, problem) = call(token, Method::POST, &format!("{one}/approve"), Some(json!({}))).await;
            assert_eq!(status, 403, "a token alice minted approved her request: {problem}");
        }
        ok(&api, Method::POST, &format!("{one}/approve"), Some(json!({})), 200).await;
        ok(&api, Method::POST, &format!("{one}/apply"), Some(json!({})), 200).await;

        // The other way too: alice may not approve what her token asked for.
        let id = open(&alt2, json!({"on": true})).await;
        let one = format!("{PROD}/change-requests/{id}");
        let (status, problem) = call(&alice, Method::POST, &format!("{one}/approve"), Some(json!({}))).await;
        assert_eq!(status, 403, "alice approved her token's request: {problem}");
        server
    })
    .await;
}
