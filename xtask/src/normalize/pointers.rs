//! References: every `$ref` names a component.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, anyhow, bail};
use heck::ToUpperCamelCase;
use openapi_model::{METHODS, lookup, pointer_segments};
use serde_json::{Map, Value};

/// The component kinds a pointer's target can be hoisted into.
const SCHEMAS: &str = "schemas";
const KINDS: [&str; 5] = [
    SCHEMAS,
    "responses",
    "requestBodies",
    "parameters",
    "headers",
];

/// **Rule: every `$ref` names a component** (`#/components/<kind>/<name>`).
///
/// OpenAPI allows a `$ref` to any JSON pointer, and PandaDoc published such documents (into a
/// schema's `properties`, `items` or `allOf` members, into an operation's request body, response
/// or one of its properties); typify panics on any `$ref` that is not a component's. Each
/// pointer's target is **hoisted**: moved to `components/<kind>/<Name>` (a schema, response,
/// request body, parameter or header, by where it sits) and replaced where it was by a `$ref` to
/// its new home, and every `$ref` to it is rewritten.
///
/// Hoisting rather than inlining, because the original place and every pointer to it then share
/// one type (a value read from one converts to the other as it does in the document), and
/// because a target that contains a pointer to itself (a recursive type) stays finite.
///
/// The name is stable and readable, derived from the pointer: the owning component or
/// operation's `operationId`, then the way down (`properties/fields/items` is `FieldsItem`,
/// `allOf/1` is `AllOf1`, `responses/200` is `Response200`, `requestBody` is `Request`), with a
/// number added only when the name is taken. The same document always gives the same names,
/// and two pointers to one place (however spelled) give one type.
///
/// Every local `$ref` must resolve: one that leads nowhere, a chain of references that comes
/// back to itself, or a pointer to something that is none of the kinds above, is an error
/// naming the reference and where it is used.
pub fn pointer_refs(spec: &mut Value) -> Result<()> {
    let mut uses = BTreeMap::new();
    collect_refs(spec, &mut String::from("#"), &mut uses);

    // Every local reference resolves; the pointers are decoded, each place once.
    let mut targets: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (reference, used_at) in &uses {
        if !reference.starts_with('#') {
            continue;
        }
        let context = |e: &dyn std::fmt::Display| anyhow!("{e} (used at {used_at})");
        lookup(spec, reference).map_err(|e| context(&e))?;
        let segments = pointer_segments(reference).map_err(|e| context(&e))?;
        if !is_component(&segments) {
            targets.entry(segments).or_default().push(reference.clone());
        }
    }
    if targets.is_empty() {
        return Ok(());
    }

    // Name each target, or (a target that is itself a reference) note what it stands for.
    let mut taken = taken_names(spec);
    let mut new_ref: BTreeMap<String, String> = BTreeMap::new();
    let mut hoists = Vec::new();
    for (segments, spellings) in &targets {
        let target = lookup(spec, &spellings[0])?;
        let replacement = match target.get("$ref").and_then(Value::as_str) {
            Some(alias) => alias.to_string(),
            None => {
                let kind = kind_of(segments).ok_or_else(|| {
                    anyhow!(
                        "$ref {:?} (used at {}) points at something that is not a schema, \
                         response, request body, parameter or header",
                        spellings[0],
                        uses[&spellings[0]]
                    )
                })?;
                let name = unique(&mut taken, kind, name_for(spec, segments));
                let reference = format!("#/components/{kind}/{}", escape(&name));
                hoists.push((segments.clone(), kind, name));
                reference
            }
        };
        for spelling in spellings {
            new_ref.insert(spelling.clone(), replacement.clone());
        }
    }

    // Deepest first: a target inside another is hoisted before its container moves, so every
    // path stays valid and the container's copy holds the `$ref` to it.
    hoists.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    for (segments, kind, name) in hoists {
        let reference = format!("#/components/{kind}/{}", escape(&name));
        let slot = value_at(spec, &segments).expect("checked above: the target exists");
        let node = std::mem::replace(slot, Value::Object(Map::new()));
        slot["$ref"] = Value::String(reference);
        let components = spec
            .as_object_mut()
            .expect("a document is an object")
            .entry("components")
            .or_insert_with(|| Value::Object(Map::new()));
        let group = components
            .as_object_mut()
            .ok_or_else(|| anyhow!("`components` is not an object"))?
            .entry(kind)
            .or_insert_with(|| Value::Object(Map::new()));
        group
            .as_object_mut()
            .ok_or_else(|| anyhow!("`components/{kind}` is not an object"))?
            .insert(name, node);
    }

    // A reference to a reference stands for what that one ends at.
    let mut finals = BTreeMap::new();
    for reference in new_ref.keys() {
        let mut chain = vec![reference.clone()];
        let mut current = &new_ref[reference];
        while let Some(next) = new_ref.get(current) {
            if chain.contains(current) {
                chain.push(current.clone());
                bail!("$ref cycle: {}", chain.join(" -> "));
            }
            chain.push(current.clone());
            current = next;
        }
        finals.insert(reference.clone(), current.clone());
    }
    rewrite_refs(spec, &finals);
    Ok(())
}

/// `#/components/<kind>/<name>`: what typify and progenitor accept.
fn is_component(segments: &[String]) -> bool {
    segments.len() == 3 && segments[0] == "components"
}

/// Every `$ref` string in `value`, with the place of its first use.
fn collect_refs(value: &Value, at: &mut String, uses: &mut BTreeMap<String, String>) {
    let len = at.len();
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                uses.entry(reference.clone()).or_insert_with(|| at.clone());
            }
            for (key, child) in map {
                at.push('/');
                at.push_str(&escape(key));
                collect_refs(child, at, uses);
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push_str(&format!("/{i}"));
                collect_refs(child, at, uses);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

fn rewrite_refs(value: &mut Value, finals: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some(new) = finals.get(reference.as_str())
            {
                *reference = new.clone();
            }
            map.values_mut().for_each(|v| rewrite_refs(v, finals));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, finals)),
        _ => {}
    }
}

/// A JSON pointer segment, escaped (`~0`, `~1`).
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn value_at<'a>(mut value: &'a mut Value, segments: &[String]) -> Option<&'a mut Value> {
    for segment in segments {
        value = match value {
            Value::Object(map) => map.get_mut(segment)?,
            Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// What the target is, by where it sits: a schema below a `schema` keyword or a component
/// schema; otherwise a response, request body, parameter or header by its last keyword.
fn kind_of(segments: &[String]) -> Option<&'static str> {
    if segments.get(..2) == Some(&["components".into(), SCHEMAS.into()])
        || segments.iter().any(|s| s == "schema")
    {
        return Some(SCHEMAS);
    }
    let n = segments.len();
    let last = segments.last()?.as_str();
    let parent = n.checked_sub(2).map(|i| segments[i].as_str());
    match (parent, last) {
        (Some("responses"), _) => Some("responses"),
        (_, "requestBody") => Some("requestBodies"),
        (Some("parameters"), _) => Some("parameters"),
        (Some("headers"), _) => Some("headers"),
        _ => None,
    }
}

/// Names already used by each kind of component, in the spelling typify gives a type.
fn taken_names(spec: &Value) -> BTreeMap<&'static str, BTreeSet<String>> {
    KINDS
        .iter()
        .map(|kind| {
            let names = spec
                .pointer(&format!("/components/{kind}"))
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|group| group.keys())
                .flat_map(|name| [name.clone(), name.to_upper_camel_case()])
                .collect();
            (*kind, names)
        })
        .collect()
}

fn unique(
    taken: &mut BTreeMap<&'static str, BTreeSet<String>>,
    kind: &'static str,
    name: String,
) -> String {
    let names = taken.entry(kind).or_default();
    let mut candidate = name.clone();
    let mut n = 2;
    while names.contains(&candidate) || names.contains(&candidate.to_upper_camel_case()) {
        candidate = format!("{name}{n}");
        n += 1;
    }
    names.insert(candidate.clone());
    candidate
}

/// The readable name of the place `segments` points at: its owner, then the way down.
fn name_for(spec: &Value, segments: &[String]) -> String {
    let camel = |s: &str| s.to_upper_camel_case();
    let (mut name, rest) = match segments {
        [c, _, owner, rest @ ..] if c == "components" => (camel(owner), rest),
        [p, path, method, rest @ ..] if p == "paths" && METHODS.contains(&method.as_str()) => {
            let op = spec
                .get("paths")
                .and_then(|paths| paths.get(path))
                .and_then(|item| item.get(method));
            let id = op
                .and_then(|op| op.get("operationId"))
                .and_then(Value::as_str)
                .map_or_else(|| camel(&format!("{method} {path}")), camel);
            (id, rest)
        }
        [p, path, rest @ ..] if p == "paths" => (camel(path), rest),
        _ => (String::from("Hoisted"), segments),
    };
    let mut i = 0;
    while i < rest.len() {
        let next = rest.get(i + 1).map(String::as_str);
        let (part, used) = match (rest[i].as_str(), next) {
            ("properties", Some(field)) => (camel(field), 2),
            ("items", _) => ("Item".into(), 1),
            ("additionalProperties", _) => ("Value".into(), 1),
            (kw @ ("allOf" | "oneOf" | "anyOf"), Some(n)) => (format!("{}{n}", camel(kw)), 2),
            ("content", Some(_)) => (String::new(), 2),
            ("schema", _) => (String::new(), 1),
            ("responses", Some(status)) => (format!("Response{}", camel(status)), 2),
            ("requestBody", _) => ("Request".into(), 1),
            ("parameters", Some(index)) => {
                let prefix: Vec<String> = segments[..segments.len() - rest.len() + i + 2].to_vec();
                let reference = format!(
                    "#/{}",
                    prefix
                        .iter()
                        .map(|s| escape(s))
                        .collect::<Vec<_>>()
                        .join("/")
                );
                let param = lookup(spec, &reference)
                    .ok()
                    .and_then(|p| p.get("name"))
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("Parameter{index}"), camel);
                (param, 2)
            }
            (other, _) => (camel(other), 1),
        };
        name.push_str(&part);
        i += used;
    }
    name
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec_with_pointers() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": { "title": "t", "version": "1" },
            "paths": { "/things/{id}/fields": {
                "get": { "operationId": "listFields", "responses": {
                    "200": { "description": "ok", "content": { "application/json": { "schema": {
                        "type": "object", "properties": { "fields": { "type": "array", "items": {
                            "type": "object", "properties": {
                                "layout": { "type": "object", "properties": { "x": { "type": "number" } } }
                            } } } } } } } },
                    "403": { "$ref": "#/paths/~1things~1%7Bid%7D~1fields/post/responses/403" }
                } },
                "post": { "operationId": "addFields", "responses": {
                    "403": { "description": "no", "content": { "application/json": { "schema": { "type": "string" } } } },
                    "200": { "description": "ok", "content": { "application/json": { "schema": {
                        "$ref": "#/paths/~1things~1{id}~1fields/get/responses/200/content/application~1json/schema/properties/fields/items"
                    } } } } },
                    "requestBody": { "content": { "application/json": { "schema": { "type": "object", "properties": {
                        "layout": { "$ref": "#/paths/~1things~1%7Bid%7D~1fields/get/responses/200/content/application~1json/schema/properties/fields/items/properties/layout" },
                        "pricing": { "$ref": "#/components/schemas/Template/properties/pricing" },
                        "recipient": { "$ref": "#/components/schemas/Recipient/allOf/1" }
                    } } } } }
                }
            } },
            "components": { "schemas": {
                "Template": { "type": "object", "properties": { "pricing": { "type": "object", "properties": {
                    "total": { "type": "number" } } } } },
                "Recipient": { "allOf": [ { "$ref": "#/components/schemas/Template" },
                                          { "type": "object", "properties": { "email": { "type": "string" } } } ] },
                "TemplatePricing": { "type": "string" }
            } }
        })
    }

    #[test]
    fn pointers_are_hoisted_to_named_components_shared_by_every_use() {
        let mut spec = spec_with_pointers();
        pointer_refs(&mut spec).unwrap();
        let schemas = &spec["components"]["schemas"];
        // One type for a place, whatever the spelling of the pointer; the original place uses it.
        let items = "#/components/schemas/ListFieldsResponse200FieldsItem";
        let get = &spec["paths"]["/things/{id}/fields"]["get"];
        let post = &spec["paths"]["/things/{id}/fields"]["post"];
        assert_eq!(
            get["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["fields"]
                ["items"]["$ref"],
            items
        );
        assert_eq!(
            post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            items
        );
        // Nested targets: the inner one is hoisted first, and the outer holds a `$ref` to it.
        let layout = "#/components/schemas/ListFieldsResponse200FieldsItemLayout";
        assert_eq!(
            schemas["ListFieldsResponse200FieldsItem"]["properties"]["layout"]["$ref"],
            layout
        );
        assert_eq!(
            post["requestBody"]["content"]["application/json"]["schema"]["properties"]["layout"]["$ref"],
            layout
        );
        assert_eq!(
            schemas["ListFieldsResponse200FieldsItemLayout"]["properties"]["x"]["type"],
            "number"
        );
        // A name already taken gets a number; members of `allOf` are named by their position.
        assert_eq!(
            schemas["Template"]["properties"]["pricing"]["$ref"],
            "#/components/schemas/TemplatePricing2"
        );
        assert_eq!(schemas["TemplatePricing"]["type"], "string", "left alone");
        assert_eq!(
            schemas["Recipient"]["allOf"][1]["$ref"],
            "#/components/schemas/RecipientAllOf1"
        );
        // A response is hoisted among the responses.
        assert_eq!(
            get["responses"]["403"]["$ref"],
            "#/components/responses/AddFieldsResponse403"
        );
        assert_eq!(
            spec["components"]["responses"]["AddFieldsResponse403"]["description"],
            "no"
        );
        // No pointer is left.
        let mut uses = BTreeMap::new();
        collect_refs(&spec, &mut String::from("#"), &mut uses);
        for reference in uses.keys() {
            assert!(
                is_component(&pointer_segments(reference).unwrap()),
                "{reference}"
            );
            lookup(&spec, reference).unwrap();
        }
    }

    #[test]
    fn the_same_document_gives_the_same_names() {
        let (mut a, mut b) = (spec_with_pointers(), spec_with_pointers());
        pointer_refs(&mut a).unwrap();
        pointer_refs(&mut b).unwrap();
        assert_eq!(a.to_string(), b.to_string());
    }

    #[test]
    fn a_document_without_pointers_is_left_as_it_is() {
        let mut spec = json!({ "paths": {}, "components": { "schemas": {
            "A": { "type": "object", "properties": { "b": { "$ref": "#/components/schemas/B" } } },
            "B": { "type": "string" } } } });
        let before = spec.clone();
        pointer_refs(&mut spec).unwrap();
        assert_eq!(spec, before);
    }

    #[test]
    fn a_pointer_to_a_reference_stands_for_its_target() {
        let mut spec = json!({ "components": { "schemas": {
            "A": { "type": "object", "properties": { "b": { "$ref": "#/components/schemas/B" } } },
            "B": { "type": "string" },
            "C": { "$ref": "#/components/schemas/A/properties/b" } } } });
        pointer_refs(&mut spec).unwrap();
        assert_eq!(
            spec["components"]["schemas"]["C"]["$ref"],
            "#/components/schemas/B"
        );
    }

    #[test]
    fn unresolved_pointers_and_cycles_are_errors_naming_them() {
        let mut spec = json!({ "components": { "schemas": {
            "A": { "type": "object", "properties": { "b": { "$ref": "#/components/schemas/Z/properties/q" } } },
            "Z": { "type": "object" } } } });
        let err = pointer_refs(&mut spec).unwrap_err().to_string();
        assert!(
            err.contains("#/components/schemas/Z/properties/q")
                && err.contains("#/components/schemas/A/properties/b"),
            "{err}"
        );

        let mut spec = json!({ "components": { "schemas": {
            "A": { "type": "object", "properties": {
                "x": { "$ref": "#/components/schemas/A/properties/y" },
                "y": { "$ref": "#/components/schemas/A/properties/x" } } } } } });
        let err = pointer_refs(&mut spec).unwrap_err().to_string();
        assert!(err.contains("cycle"), "{err}");

        let mut spec = json!({ "info": { "x": { "type": "string" } }, "components": { "schemas": {
            "A": { "$ref": "#/info/x" } } } });
        let err = pointer_refs(&mut spec).unwrap_err().to_string();
        assert!(err.contains("not a schema"), "{err}");
    }

    #[test]
    fn a_recursive_target_stays_finite() {
        let mut spec = json!({ "components": { "schemas": {
            "Tree": { "type": "object", "properties": { "node": { "type": "object", "properties": {
                "children": { "type": "array", "items": { "$ref": "#/components/schemas/Tree/properties/node" } }
            } } } } } } });
        pointer_refs(&mut spec).unwrap();
        let node = &spec["components"]["schemas"]["TreeNode"];
        assert_eq!(
            node["properties"]["children"]["items"]["$ref"],
            "#/components/schemas/TreeNode"
        );
    }
}
