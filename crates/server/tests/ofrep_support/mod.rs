//! Conformance support for `tests/ofrep.rs`: the OFREP 0.3 OpenAPI document
//! (`service/openapi.yaml` of open-feature/protocol, vendored unchanged at
//! `tests/ofrep/spec/openapi.yaml`) and a small validator of JSON values
//! against its component schemas.
//!
//! The validator covers what that document uses: `$ref`, `type`, `enum`,
//! `required`, `properties`, `additionalProperties`, `items`, `allOf`,
//! `oneOf`, `not`, `pattern` (a leading `^` literal prefix only) and
//! `minimum`. `oneOf` is checked as "at least one": the document's
//! alternatives overlap (`codeDefaultFlag` is any object, an integer is a
//! number), so as strict JSON Schema no response could match exactly one;
//! the tests check each value's type against its flag's kind themselves.

#![allow(dead_code)]

use serde_json::Value;

/// The vendored OFREP document, as JSON.
pub fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/ofrep/spec/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("tests/ofrep/spec/openapi.yaml");
    serde_yaml::from_str(&text).expect("the OFREP document parses")
}

/// Asserts that `value` validates against `#/components/schemas/{name}`.
pub fn assert_valid(spec: &Value, name: &str, value: &Value) {
    let schema = &spec["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name} in the OFREP document");
    if let Err(why) = validate(spec, schema, value, "$") {
        panic!("response does not match OFREP `{name}`: {why}\n{value:#}");
    }
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(spec, spec.pointer(pointer).unwrap_or_else(|| panic!("dangling {reference}")))
        }
        None => schema,
    }
}

fn type_ok(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// Validates `value` against `schema` (resolved against `spec`).
pub fn validate(spec: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(spec, schema);
    if let Some(kind) = schema.get("type").and_then(Value::as_str)
        && !type_ok(kind, value)
    {
        return Err(format!("{at}: expected {kind}, got {value}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if let (Some(pattern), Some(s)) = (schema.get("pattern").and_then(Value::as_str), value.as_str()) {
        let prefix = pattern.trim_start_matches('^');
        if pattern.starts_with('^') && !prefix.contains(['.', '*', '+', '[', '(', '\\', '$']) && !s.starts_with(prefix)
        {
            return Err(format!("{at}: {s:?} does not match {pattern}"));
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), value.as_f64())
        && n < min
    {
        return Err(format!("{at}: {n} < minimum {min}"));
    }
    if let Some(object) = value.as_object() {
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: missing required `{name}`"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, item) in object {
            let at = format!("{at}.{name}");
            match (properties.and_then(|p| p.get(name)), schema.get("additionalProperties")) {
                (Some(property), _) => validate(spec, property, item, &at)?,
                (None, Some(Value::Bool(false))) => return Err(format!("{at}: not allowed")),
                (None, Some(extra)) if extra.is_object() => validate(spec, extra, item, &at)?,
                _ => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(spec, items, item, &format!("{at}[{i}]"))?;
        }
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        validate(spec, part, value, at)?;
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let errors: Vec<String> = options.iter().filter_map(|o| validate(spec, o, value, at).err()).collect();
        if errors.len() == options.len() {
            return Err(format!("{at}: matches none of oneOf: {errors:?}"));
        }
    }
    if let Some(not) = schema.get("not")
        && validate(spec, not, value, at).is_ok()
    {
        return Err(format!("{at}: matches `not` {not}"));
    }
    Ok(())
}

#[test]
fn the_validator_rejects_what_the_spec_rejects() {
    let spec = spec();
    let ok = serde_json::json!({"key": "f", "value": true, "reason": "STATIC", "variant": "on"});
    assert!(validate(&spec, &spec["components"]["schemas"]["serverEvaluationSuccess"], &ok, "$").is_ok());
    for bad in [
        serde_json::json!({"key": "f", "value": true, "reason": "KILLED", "variant": "on"}),
        serde_json::json!({"value": true, "reason": "STATIC"}),
        serde_json::json!({"key": "f", "value": true, "reason": "STATIC", "metadata": {"a": [1]}}),
    ] {
        assert!(
            validate(&spec, &spec["components"]["schemas"]["serverEvaluationSuccess"], &bad, "$").is_err(),
            "{bad}"
        );
    }
    let failure = serde_json::json!({"key": "f", "errorCode": "NOPE"});
    assert!(validate(&spec, &spec["components"]["schemas"]["evaluationFailure"], &failure, "$").is_err());
}
