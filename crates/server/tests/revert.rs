//! Undo one change and restore one version over real HTTP, on SQLite and
//! Postgres: the trial's failure (undoing an old edit turned off a
//! production flag someone had turned on since), dry runs that write
//! nothing and show the diff, the 409 naming the fields in the way, and a
//! restore-to-time before the environment existed.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestDb, TestServer};

const P: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";
const FLAG: &str = "/api/v1/projects/shop/environments/production/flags/checkout";

/// v2: alice's rule; v3: turned on for the launch.
async fn seed(admin: &Api) {
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": "production"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
    let mut cfg = admin.ok(Method::GET, FLAG, None, 200).await["config"].clone();
    cfg["version"] = json!(1);
    cfg["rules"] = json!([{"id": "se", "clauses": [{"attribute": "country", "op": "in", "values": ["SE"]}], "serve": {"variant": "on"}}]);
    admin.ok(Method::PUT, FLAG, Some(cfg), 200).await;
    admin.ok(Method::POST, &format!("{FLAG}/toggle"), Some(json!({"on": true, "reason": "launch"})), 200).await;
}

async fn state(admin: &Api) -> (Value, Value) {
    let flag = admin.ok(Method::GET, FLAG, None, 200).await;
    let audit = admin.ok(Method::GET, &format!("{P}/audit?limit=1000"), None, 200).await;
    (flag, json!(audit["items"].as_array().map_or(0, Vec::len)))
}

async fn each_store<F, Fut>(test: F)
where
    F: Fn(Api) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = TestServer::start(&db.url()).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        test(admin).await;
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn undo_on_an_audit_entry_keeps_a_later_toggle() {
    each_store(|admin| async move {
        let events = admin.ok(Method::GET, &format!("{P}/audit?flag=checkout&environment=production"), None, 200).await;
        let edit = events["items"].as_array().unwrap().iter().find(|e| e["action"] == "flag.config.update").unwrap();
        let version = edit["after"]["version"].clone();
        let before = state(&admin).await;

        let dry =
            admin.ok(Method::POST, &format!("{FLAG}/undo?dry_run=true"), Some(json!({"version": version})), 200).await;
        assert_eq!((dry["dry_run"].clone(), dry["changed"].clone()), (json!(true), json!(false)));
        let fields: Vec<&str> =
            dry["diff"]["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["rules"], "{dry}");
        assert_eq!(dry["diff"]["after"]["on"], true);
        assert_eq!(state(&admin).await, before, "a dry run writes nothing");

        let body = json!({"version": version, "reason": "the rule was wrong"});
        let done = admin.ok(Method::POST, &format!("{FLAG}/undo"), Some(body), 200).await;
        assert_eq!((done["changed"].clone(), done["value"]["version"].clone()), (json!(true), json!(4)));
        let now = admin.ok(Method::GET, FLAG, None, 200).await;
        assert_eq!(now["config"]["on"], true, "the launch toggle made after that entry stays: {now}");
        assert_eq!(now["config"]["rules"], json!([]));
        let events = admin.ok(Method::GET, &format!("{P}/audit?flag=checkout&limit=1"), None, 200).await;
        let undo = &events["items"][0];
        assert_eq!((undo["action"].clone(), undo["reason"].clone()), (json!("flag.undo"), json!("the rule was wrong")));
        assert_eq!(undo["after"]["undid"], json!({"version": 2, "fields": ["rules"]}));
    })
    .await;
}

#[tokio::test]
async fn undo_conflict_is_a_409_problem_naming_the_fields() {
    each_store(|admin| async move {
        admin.ok(Method::POST, &format!("{FLAG}/toggle"), Some(json!({"on": false})), 200).await;
        let before = state(&admin).await;
        let (status, problem) = admin.post(&format!("{FLAG}/undo"), json!({"version": 3, "reason": "x"})).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(problem["code"], "undo_conflict");
        assert!(problem["detail"].as_str().unwrap().contains("`on`"), "{problem}");
        assert_eq!(
            problem["errors"],
            json!([{"path": "on", "code": "changed_later",
            "message": "`on` was changed again after version 3: version 4 by admin"}])
        );
        assert_eq!(state(&admin).await, before);
        let (status, problem) = admin.post(&format!("{FLAG}/undo"), json!({"version": 1, "reason": "x"})).await;
        assert_eq!((status.as_u16(), problem["code"].clone()), (409, json!("nothing_to_undo")), "{problem}");
    })
    .await;
}

#[tokio::test]
async fn restore_version_dry_run_returns_the_diff_and_writes_nothing() {
    each_store(|admin| async move {
        let before = state(&admin).await;
        for path in [format!("{FLAG}/revert?dry_run=true"), format!("{FLAG}/revert")] {
            let body =
                if path.contains('?') { json!({"to_version": 1}) } else { json!({"to_version": 1, "dry_run": true}) };
            let dry = admin.ok(Method::POST, &path, Some(body), 200).await;
            assert_eq!(
                (dry["dry_run"].clone(), dry["changed"].clone(), dry["revision"].clone()),
                (json!(true), json!(false), Value::Null)
            );
            let changes = &dry["diff"]["changes"];
            assert_eq!(changes[0], json!({"field": "on", "before": true, "after": false}), "{dry}");
            assert_eq!(changes[1]["field"], "rules");
            assert_eq!(dry["diff"]["serving_state_changes"], true);
            assert!(dry["diff"]["warning"].as_str().unwrap().contains("OFF"), "{dry}");
            assert_eq!(state(&admin).await, before, "{path}: a dry run writes nothing");
        }
        let (status, problem) = admin.post(&format!("{FLAG}/revert"), json!({"to_version": 1})).await;
        assert_eq!((status.as_u16(), problem["errors"][0]["path"].clone()), (422, json!("reason")), "{problem}");
    })
    .await;
}

#[tokio::test]
async fn restore_to_a_time_before_the_environment_existed_says_so() {
    each_store(|admin| async move {
        let before = state(&admin).await;
        let (status, problem) = admin
            .post(&format!("{PROD}/restore"), json!({"at": "2001-01-01T00:00:00Z", "reason": "x", "dry_run": true}))
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["path"], "at");
        assert_eq!(problem["errors"][0]["code"], "before_environment");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("did not exist"), "{problem}");
        assert_eq!(state(&admin).await, before);
    })
    .await;
}
