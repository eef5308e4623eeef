//! Structural checks of the generated OpenAPI document: every operation is
//! tagged, declares exactly the path parameters of its template, and
//! documents the error statuses its shape implies as shared problem+json
//! responses. Fails fast (no server) where schemathesis (tests/schemathesis)
//! would fail slowly; schemathesis then checks the document against the
//! running server.

use std::collections::BTreeSet;

use serde_json::Value;

fn document() -> Value {
    let (_, doc) = switchyard_server::http::api();
    serde_json::to_value(doc).expect("serialisable document")
}

/// Every (method, path, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

fn template_params(path: &str) -> BTreeSet<String> {
    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_string).collect()
}

fn params_in<'a>(op: &'a Value, location: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    op["parameters"].as_array().into_iter().flatten().filter(move |p| p["in"] == location)
}

fn statuses(op: &Value) -> BTreeSet<u16> {
    op["responses"].as_object().expect("responses").keys().filter_map(|s| s.parse().ok()).collect()
}

#[test]
fn every_operation_is_tagged_and_described() {
    let doc = document();
    let ops = operations(&doc);
    assert!(ops.len() >= 50, "only {} operations", ops.len());
    for (method, path, op) in &ops {
        let tags = op["tags"].as_array().map_or(0, Vec::len);
        assert!(tags > 0, "{method} {path}: no tag");
        let text = op["summary"].as_str().or(op["description"].as_str()).unwrap_or("");
        assert!(!text.is_empty(), "{method} {path}: no summary");
        assert!(op["operationId"].is_string(), "{method} {path}: no operationId");
    }
}

#[test]
fn path_parameters_match_the_template() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let declared: BTreeSet<String> =
            params_in(&op, "path").map(|p| p["name"].as_str().unwrap_or("").to_string()).collect();
        assert_eq!(declared, template_params(&path), "{method} {path}: declared path parameters");
        for p in params_in(&op, "path") {
            assert_eq!(p["required"], true, "{method} {path}: path parameter {} not required", p["name"]);
        }
    }
}

#[test]
fn errors_are_shared_problem_responses() {
    let doc = document();
    let shared = doc["components"]["responses"].as_object().expect("components.responses");
    for (name, response) in shared {
        let content = &response["content"]["application/problem+json"];
        assert_eq!(content["schema"]["$ref"], "#/components/schemas/Problem", "{name}");
        assert!(content["example"]["code"].is_string(), "{name}: no example");
    }
    assert!(shared["Unauthorized"]["headers"]["WWW-Authenticate"].is_object());
    assert!(shared["TooManyRequests"]["headers"]["Retry-After"].is_object());
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            // OFREP answers its own 400 and 404 bodies (the protocol's shape),
            // and a problem when a layer in front of the route refuses first.
            if path.starts_with("/ofrep/v1/evaluate/") && (status == "400" || status == "404") {
                let content = &response["content"];
                assert!(content["application/json"]["schema"].is_object(), "{method} {path} {status}: {response}");
                let problem = &content["application/problem+json"]["schema"]["$ref"];
                assert_eq!(problem, "#/components/schemas/Problem", "{method} {path} {status}");
                continue;
            }
            if status.starts_with('4') || status.starts_with('5') {
                let target = response["$ref"].as_str().unwrap_or("");
                let name = target.strip_prefix("#/components/responses/").unwrap_or("");
                assert!(shared.contains_key(name), "{method} {path} {status}: not a shared problem response");
                assert_eq!(
                    shared[name]["content"]["application/problem+json"]["example"]["status"],
                    status.parse::<u16>().unwrap()
                );
            }
        }
    }
}

#[test]
fn every_operation_documents_the_errors_its_shape_implies() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let got = statuses(&op);
        let schemes: Vec<String> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|r| r.keys().cloned())
            .collect();
        let mut want = BTreeSet::new();
        if !schemes.is_empty() {
            want.extend([401, 429]);
        }
        if schemes.iter().any(|s| s == "bearer") {
            want.insert(403);
        }
        if !template_params(&path).is_empty() {
            want.extend([400, 404]);
        }
        if op.get("requestBody").is_some() {
            want.extend([400, 413, 415, 422]);
            let content = op["requestBody"]["content"].as_object().expect("request content");
            assert!(content.contains_key("application/json"), "{method} {path}: body is not JSON");
        }
        if params_in(&op, "query").next().is_some() {
            want.extend([400, 422]);
        }
        let missing: Vec<_> = want.difference(&got).collect();
        assert!(missing.is_empty(), "{method} {path}: undocumented {missing:?}");
        assert!(got.iter().any(|s| (200..400).contains(s)), "{method} {path}: no success response");
    }
}

#[test]
fn admin_routes_use_the_bearer_scheme_and_sdk_routes_the_sdk_key() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let security = serde_json::to_string(&op["security"]).unwrap();
        if path.starts_with("/sdk/") || path.starts_with("/ofrep/v1/evaluate/") {
            assert!(security.contains("sdk_key"), "{method} {path}: {security}");
        } else if path.starts_with("/api/v1/") && path != "/api/v1/auth/login" {
            assert!(security.contains("bearer"), "{method} {path}: {security}");
        }
    }
}

#[test]
fn flag_configurations_document_their_prerequisites() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let field = &schemas["FlagConfig"]["properties"]["prerequisites"];
    assert_eq!(field["items"]["$ref"], "#/components/schemas/Prerequisite", "{field}");
    let prerequisite = &schemas["Prerequisite"];
    assert_eq!(prerequisite["required"], serde_json::json!(["flag", "variant"]), "{prerequisite}");
}

/// The document says what the server does with unknown fields: admin
/// request bodies refuse them at any depth (`additionalProperties: false`,
/// a flattened body merged into one object), the SDK's wire bodies take
/// them (forward compatible).
#[test]
fn admin_bodies_are_closed_and_sdk_wire_bodies_open() {
    let doc = document();
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    for name in [
        "PutConfig",
        "PatchBody",
        "PutSegment",
        "NewFlag",
        "SegmentInput",
        "ToggleRequest",
        "FlagConfig",
        "ConfigChange",
    ] {
        assert_eq!(schema(name)["additionalProperties"], false, "{name}: {}", schema(name));
    }
    let put = schema("PutConfig");
    for field in ["version", "reason", "rules", "fallthrough"] {
        assert!(put["properties"].get(field).is_some(), "PutConfig merged: {put}");
    }
    for name in ["TelemetryBatch", "EvaluationCount", "Ack"] {
        assert_ne!(schema(name)["additionalProperties"], false, "{name} stays open: {}", schema(name));
    }
}
