//! The OpenAPI side of refusing unknown fields ([`crate::http::json`]):
//! every object schema an admin request body reaches says
//! `additionalProperties: false`, so the document states what the server
//! does (and schemathesis checks it both ways: a schema-valid body is
//! taken, an extra field is refused). The core types (rules, clauses,
//! variants) are mirrors shared with the SDK's wire types, which may not
//! deny unknown fields, so this is done on the document, not by a serde
//! attribute on each mirror.
//!
//! Left open: the SDK's wire bodies (`/sdk/`), OFREP's (`/ofrep/`) and the
//! alert triggers' (`/hooks/`), which ignore unknown fields on purpose; and
//! a schema that is one part of an `allOf` (a `#[serde(flatten)]`), since
//! closing one part would refuse the other parts' fields. A request body
//! that flattens another type is merged into one closed object instead.

use std::collections::{BTreeMap, BTreeSet};

use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Object, Schema};
use utoipa::openapi::{OpenApi, RefOr};

type Components = BTreeMap<String, RefOr<Schema>>;

/// Whether the bodies of `path` are wire bodies that stay open.
fn stays_open(path: &str) -> bool {
    ["/sdk/", "/ofrep/", "/hooks/"].iter().any(|prefix| path.starts_with(prefix))
}

/// Closes every object schema the admin request bodies of `doc` reach.
pub fn close_request_bodies(doc: &mut OpenApi) {
    let Some(mut components) = doc.components.as_mut().map(|c| std::mem::take(&mut c.schemas)) else { return };
    let mut todo = Vec::new();
    for (_, item) in doc.paths.paths.iter_mut().filter(|(path, _)| !stays_open(path)) {
        for op in super::openapi::operations(item) {
            let bodies = op.request_body.iter_mut().flat_map(|body| body.content.values_mut());
            for schema in bodies.filter_map(|content| content.schema.as_mut()) {
                if let Some(name) = component_name(schema) {
                    merge_all_of(&name, &mut components);
                }
                walk(schema, &mut todo, true);
            }
        }
    }
    let parts = all_of_parts(&components);
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone())
            && let Some(schema) = components.get_mut(&name)
        {
            walk(schema, &mut todo, !parts.contains(&name));
        }
    }
    if let Some(c) = doc.components.as_mut() {
        c.schemas = components;
    }
}

fn component_name(schema: &RefOr<Schema>) -> Option<String> {
    match schema {
        RefOr::Ref(r) => r.ref_location.rsplit('/').next().map(str::to_string),
        RefOr::T(_) => None,
    }
}

/// Closes `schema` (when `close`; its insides in any case), its inline
/// parts, and queues the components it names.
fn walk(schema: &mut RefOr<Schema>, todo: &mut Vec<String>, close: bool) {
    match schema {
        RefOr::Ref(_) => todo.extend(component_name(schema)),
        RefOr::T(Schema::Object(object)) => {
            if close && !object.properties.is_empty() && object.additional_properties.is_none() {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            object.properties.values_mut().for_each(|p| walk(p, todo, true));
            if let Some(AdditionalProperties::RefOr(values)) = object.additional_properties.as_deref_mut() {
                walk(values, todo, true);
            }
        }
        RefOr::T(Schema::Array(array)) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                walk(items, todo, true);
            }
        }
        // The members of an `allOf` are parts of one object: never closed.
        RefOr::T(Schema::AllOf(all)) => all.items.iter_mut().for_each(|i| walk(i, todo, false)),
        RefOr::T(Schema::OneOf(one)) => one.items.iter_mut().for_each(|i| walk(i, todo, true)),
        RefOr::T(Schema::AnyOf(any)) => any.items.iter_mut().for_each(|i| walk(i, todo, true)),
        RefOr::T(_) => {}
    }
}

/// The components that are a part of some `allOf`.
fn all_of_parts(components: &Components) -> BTreeSet<String> {
    let mut parts = BTreeSet::new();
    for schema in components.values() {
        collect_parts(schema, &mut parts);
    }
    parts
}

fn collect_parts(schema: &RefOr<Schema>, parts: &mut BTreeSet<String>) {
    match schema {
        RefOr::T(Schema::AllOf(all)) => parts.extend(all.items.iter().filter_map(component_name)),
        RefOr::T(Schema::Object(object)) => object.properties.values().for_each(|p| collect_parts(p, parts)),
        RefOr::T(Schema::Array(array)) => {
            if let ArrayItems::RefOrSchema(items) = &array.items {
                collect_parts(items, parts);
            }
        }
        RefOr::T(Schema::OneOf(one)) => one.items.iter().for_each(|i| collect_parts(i, parts)),
        RefOr::T(Schema::AnyOf(any)) => any.items.iter().for_each(|i| collect_parts(i, parts)),
        _ => {}
    }
}

/// A request body component that is an `allOf` of objects (a flattened
/// type and the body's own fields) becomes that one object.
fn merge_all_of(name: &str, components: &mut Components) {
    let Some(RefOr::T(Schema::AllOf(all))) = components.get(name) else { return };
    let mut merged: Option<Object> = None;
    for item in &all.items {
        let part = match item {
            RefOr::Ref(_) => component_name(item).and_then(|n| components.get(&n)),
            RefOr::T(_) => Some(item),
        };
        let Some(RefOr::T(Schema::Object(part))) = part else { return };
        match merged.as_mut() {
            None => merged = Some(part.clone()),
            Some(object) => {
                object.properties.extend(part.properties.clone());
                object.required.extend(part.required.iter().cloned());
            }
        }
    }
    if let Some(mut object) = merged {
        object.description = all.description.clone().or(object.description);
        components.insert(name.to_string(), RefOr::T(Schema::Object(object)));
    }
}
