//! The OFREP shapes in Switchyard's OpenAPI document, written from the
//! OFREP 0.3 `service/openapi.yaml` (`evaluationRequest`, `context`,
//! `evaluationSuccess`, `evaluationFailure`, `flagNotFound`,
//! `bulkEvaluationSuccess`, `bulkEvaluationFailure`), narrowed to what
//! Switchyard accepts and sends: context properties are strings, numbers,
//! booleans, lists of strings or null (see [`super::request`]); values are
//! any JSON (a flag's kind decides which).

use serde_json::{Value, json};
use utoipa::openapi::{RefOr, Schema};

fn schema(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).unwrap_or_else(|_| RefOr::T(Schema::Object(Default::default())))
}

macro_rules! doc_schema {
    ($(#[$doc:meta])* $name:ident, $json:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                schema($json)
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

doc_schema!(
    /// `evaluationRequest` / `bulkEvaluationRequest`.
    OfrepRequest,
    json!({
        "type": "object",
        "required": ["context"],
        "properties": {"context": {
            "type": "object",
            "description": "`targetingKey` is the context key; the other properties are attributes.",
            "required": ["targetingKey"],
            "properties": {"targetingKey": {"type": "string", "minLength": 1}},
            "additionalProperties": {"oneOf": [
                {"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
                {"type": "array", "items": {"type": "string"}}
            ]}
        }}
    })
);

fn success() -> Value {
    json!({
        "type": "object",
        "required": ["key", "reason", "variant", "value"],
        "properties": {
            "key": {"type": "string"},
            "reason": {"type": "string", "enum": ["STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "UNKNOWN"]},
            "variant": {"type": "string"},
            "value": {"description": "The variant's value, by the flag's kind (JSON flags may hold any JSON).", "oneOf": [
                {"type": "boolean"}, {"type": "string"}, {"type": "number"}, {"type": "object"},
                {"type": "array"}, {"type": "null"}
            ]},
            "metadata": {"type": "object", "additionalProperties": {"oneOf": [
                {"type": "boolean"}, {"type": "string"}, {"type": "number"}
            ]}}
        }
    })
}

fn failure(codes: &[&str], key: bool) -> Value {
    let required: &[&str] = if key { &["key", "errorCode"] } else { &["errorCode"] };
    json!({
        "type": "object",
        "required": required,
        "properties": {
            "key": {"type": "string"},
            "errorCode": {"type": "string", "enum": codes},
            "errorDetails": {"type": "string"}
        }
    })
}

doc_schema!(
    /// `serverEvaluationSuccess`.
    OfrepSuccess,
    success()
);

doc_schema!(
    /// `evaluationFailure` (400) and `flagNotFound` (404).
    OfrepFailure,
    failure(&["PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL", "FLAG_NOT_FOUND"], true)
);

doc_schema!(
    /// `bulkEvaluationFailure`.
    OfrepBulkFailure,
    failure(&["PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL"], false)
);

doc_schema!(
    /// `bulkEvaluationSuccess`.
    OfrepBulk,
    json!({
        "type": "object",
        "required": ["flags"],
        "properties": {
            "flags": {"type": "array", "items": success()},
            "metadata": {"type": "object", "additionalProperties": {"oneOf": [
                {"type": "boolean"}, {"type": "string"}, {"type": "number"}
            ]}},
            "eventStreams": {"type": "array", "items": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"type": "string"},
                    "url": {"type": "string"},
                    "endpoint": {"type": "object", "required": ["requestUri"], "properties": {
                        "origin": {"type": "string"}, "requestUri": {"type": "string", "pattern": "^/"}
                    }},
                    "inactivityDelaySec": {"type": "integer", "minimum": 1}
                }
            }}
        }
    })
);

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    #[test]
    fn every_schema_parses_as_written() {
        for schema in [
            super::OfrepRequest::schema(),
            super::OfrepSuccess::schema(),
            super::OfrepFailure::schema(),
            super::OfrepBulkFailure::schema(),
            super::OfrepBulk::schema(),
        ] {
            let json = serde_json::to_value(&schema).unwrap();
            // Each parsed as written (a schema that did not would fall back to `{"type": "object"}`).
            assert!(json.get("properties").is_some(), "{json}");
        }
        let bulk = serde_json::to_value(super::OfrepBulk::schema()).unwrap();
        assert!(bulk.pointer("/properties/flags/items/properties/value/oneOf").is_some(), "{bulk}");
    }
}
