//! Scalars: `date-time` spelled right, string enums open.

use serde_json::{Map, Value, json};

use super::walk::*;

/// **Rule: `format` misspellings of `date-time` are `date-time`.**
///
/// `datetime`, `date_time` and `dateTime` (seen in the wild) would leave a timestamp a plain
/// string; spelled right, it is a typed UTC date-time like every other.
pub fn date_time_spelling(spec: &mut Value) {
    for_each_schema(spec, &mut |schema, _| {
        if let Some(Value::String(format)) = schema.get("format")
            && matches!(
                format.as_str(),
                "datetime" | "date_time" | "dateTime" | "DateTime"
            )
        {
            schema.insert("format".into(), json!("date-time"));
        }
    });
}

/// **Rule: string enums are open.**
///
/// A server adds enum values without a new API version; a client with a closed enum then fails
/// the whole response for one new value (a future `status: "pending"` would lose every record
/// of the page). Every `type: string` schema with an `enum` becomes
/// `oneOf: [<Name>Known (the declared values), <Name>Unknown (any string)]`. progenitor makes
/// that an untagged Rust enum `<Name> { Known(<Name>Known), Unknown(String) }`: declared values
/// decode to `Known`, any other string to `Unknown` with its text kept. `<Name>` follows
/// typify's naming (schema name, then each property name, `Item` for array items). A `null`
/// value or `nullable: true` on an inline enum makes the wrapper `nullable` (the known values
/// drop `null`): its property is then `Option<<Name>>` even when required, so an explicit
/// `null` is `None` rather than a failed response. On a component schema `nullable` moves to
/// the properties that refer to it (`allOf: [$ref]` with `nullable`, which typify makes
/// `Option<<Name>>`, present but possibly `null`): typify would name a nullable component's
/// wrapper and its enum alike. Parameters and request bodies are left closed: what
/// the client sends is checked against what the spec declares.
pub fn open_string_enums(spec: &mut Value) {
    let components: std::collections::BTreeSet<String> = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|s| s.keys().cloned())
        .collect();
    let mut nullable_components = std::collections::BTreeSet::new();
    for_each_response_schema(spec, &mut |schema, name| {
        let is_string = schema.get("type").and_then(Value::as_str) == Some("string");
        let Some(values) = schema.get("enum").and_then(Value::as_array).cloned() else {
            return;
        };
        if !is_string {
            return;
        }
        let known: Vec<Value> = values.iter().filter(|v| !v.is_null()).cloned().collect();
        let mut known_schema = Map::new();
        known_schema.insert("title".into(), json!(format!("{name}Known")));
        for (key, value) in schema.iter() {
            if !matches!(
                key.as_str(),
                "description" | "example" | "nullable" | "default" | "enum"
            ) {
                known_schema.insert(key.clone(), value.clone());
            }
        }
        known_schema.insert("enum".into(), Value::Array(known));
        let mut unknown = json!({ "title": format!("{name}Unknown"), "type": "string" });
        if let Some(format) = schema.get("format") {
            unknown["format"] = format.clone();
        }
        let mut open = Map::new();
        for key in ["description", "example"] {
            if let Some(value) = schema.get(key) {
                open.insert(key.into(), value.clone());
            }
        }
        // Inline only: on a component, typify would name its nullable wrapper and the inner
        // enum alike (two types of one name).
        let nullable =
            schema.get("nullable") == Some(&Value::Bool(true)) || values.iter().any(Value::is_null);
        if nullable && !components.contains(name) {
            open.insert("nullable".into(), json!(true));
        } else if nullable {
            nullable_components.insert(format!("#/components/schemas/{name}"));
        }
        open.insert(
            "oneOf".into(),
            json!([Value::Object(known_schema), unknown]),
        );
        *schema = open;
    });
    // A property that refers to a nullable enum component is nullable itself.
    for_each_schema(spec, &mut |schema, _| {
        for prop in schema
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|p| p.values_mut())
        {
            let Some(target) = prop.get("$ref").and_then(Value::as_str) else {
                continue;
            };
            if nullable_components.contains(target) {
                let reference = json!([{ "$ref": target }]);
                let obj = prop.as_object_mut().expect("a $ref is in an object");
                obj.remove("$ref");
                obj.insert("allOf".into(), reference);
                obj.insert("nullable".into(), json!(true));
            }
        }
    });
}

/// **Rule: response strings are read as they come.**
///
/// typify turns `minLength`, `maxLength` and `pattern` into a newtype that refuses any other
/// string. In a response, one identifier a character short then fails the whole page (PandaDoc
/// declares `locked_by_user_id` exactly 22 characters long from 7.26 on). A client must not
/// lose records over a server's formatting, so the three keywords are dropped from every string
/// schema a response can contain, component schemas included: those strings are `String`s.
/// Parameters keep them (the client checks what it sends); a request body that shares a
/// component with a response is checked by the server alone.
pub fn lenient_strings(spec: &mut Value) {
    for_each_response_schema(spec, &mut |schema, _| {
        if schema.get("type").and_then(Value::as_str) == Some("string") {
            for key in ["minLength", "maxLength", "pattern"] {
                schema.remove(key);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn date_time_misspellings_are_corrected() {
        let mut spec = json!({ "components": { "schemas": { "A": { "type": "object", "properties": {
            "a": { "type": "string", "format": "datetime" },
            "b": { "type": "string", "format": "date" }
        }}}}});
        date_time_spelling(&mut spec);
        let props = &spec["components"]["schemas"]["A"]["properties"];
        assert_eq!(
            (props["a"]["format"].as_str(), props["b"]["format"].as_str()),
            (Some("date-time"), Some("date"))
        );
    }

    #[test]
    fn string_enums_in_responses_become_open() {
        let mut spec = json!({
            "paths": { "/x": { "get": {
                "operationId": "getX",
                "parameters": [{ "name": "order", "in": "query", "schema": { "type": "string", "enum": ["asc", "desc"] } }],
                "responses": {}
            }}},
            "components": { "schemas": {
                "Item": { "type": "object", "properties": {
                    "status": { "type": "string", "enum": ["on", "off", null], "description": "d" },
                    "tags": { "type": "array", "items": { "type": "string", "enum": ["a"] } }
                }}
            }}
        });
        open_string_enums(&mut spec);
        let status = &spec["components"]["schemas"]["Item"]["properties"]["status"];
        assert_eq!(status["description"], "d");
        assert_eq!(
            status["nullable"], true,
            "a null value makes the wrapper nullable: null decodes as None"
        );
        assert_eq!(
            status["oneOf"][0],
            json!({ "title": "ItemStatusKnown", "type": "string", "enum": ["on", "off"] })
        );
        assert_eq!(
            status["oneOf"][1],
            json!({ "title": "ItemStatusUnknown", "type": "string" })
        );
        let tags = &spec["components"]["schemas"]["Item"]["properties"]["tags"]["items"];
        assert_eq!(tags["oneOf"][0]["title"], "ItemTagsItemKnown");
        let param = &spec["paths"]["/x"]["get"]["parameters"][0]["schema"];
        assert_eq!(
            param["enum"],
            json!(["asc", "desc"]),
            "parameters stay closed"
        );
    }

    #[test]
    fn response_strings_lose_length_and_pattern_and_parameters_keep_them() {
        let mut spec = json!({
            "paths": { "/x": { "get": {
                "operationId": "getX",
                "parameters": [{ "name": "id", "in": "query",
                                 "schema": { "type": "string", "minLength": 22, "pattern": "^[a-z]+$" } }],
                "responses": {}
            }}},
            "components": { "schemas": { "Lock": { "type": "object", "properties": {
                "by": { "type": "string", "minLength": 22, "maxLength": 22, "pattern": "^[A-Za-z0-9]+$",
                        "description": "d" },
                "n": { "type": "integer", "minimum": 1 }
            }}}}
        });
        lenient_strings(&mut spec);
        let by = &spec["components"]["schemas"]["Lock"]["properties"]["by"];
        assert_eq!(by, &json!({ "type": "string", "description": "d" }));
        assert_eq!(
            spec["components"]["schemas"]["Lock"]["properties"]["n"]["minimum"],
            1
        );
        let param = &spec["paths"]["/x"]["get"]["parameters"][0]["schema"];
        assert_eq!(param["minLength"], 22, "parameters keep their checks");
    }

    #[test]
    fn a_nullable_enum_component_drops_nullable() {
        let mut spec = json!({ "components": { "schemas": {
            "Frequency": { "type": "string", "enum": ["monthly", null], "nullable": true }
        }}});
        open_string_enums(&mut spec);
        let f = &spec["components"]["schemas"]["Frequency"];
        assert!(f.get("nullable").is_none(), "{f}");
        assert_eq!(f["oneOf"][0]["enum"], json!(["monthly"]));
    }

    #[test]
    fn a_required_reference_to_a_nullable_enum_component_decodes_null_as_none() {
        let spec = json!({
            "openapi": "3.0.3", "info": { "title": "t", "version": "1" },
            "paths": { "/x": { "get": { "operationId": "getX", "responses": { "200": {
                "description": "ok",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } }
            }}}}},
            "components": { "schemas": {
                "Freq": { "type": "string", "enum": ["monthly", null], "nullable": true },
                "Item": { "type": "object", "required": ["a"], "properties": {
                    "a": { "$ref": "#/components/schemas/Freq" } } } } }
        });
        let code = super::super::render_fixture(&spec);
        let compact: String = code.split_whitespace().collect();
        assert!(
            compact.contains(
                "#[serde(deserialize_with=\"::std::option::Option::deserialize\")]puba:::std::option::Option<Freq>,"
            ),
            "required, nullable: present but possibly null\n{code}"
        );
    }

    #[test]
    fn a_required_nullable_enum_decodes_null_as_none() {
        let spec = json!({
            "openapi": "3.0.3", "info": { "title": "t", "version": "1" },
            "paths": { "/x": { "get": { "operationId": "getX", "responses": { "200": {
                "description": "ok",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } }
            }}}}},
            "components": { "schemas": { "Item": { "type": "object", "required": ["status"],
                "properties": { "status": { "type": "string", "enum": ["on", "off", null], "nullable": true } } } } }
        });
        let code = super::super::render_fixture(&spec);
        let compact: String = code.split_whitespace().collect();
        assert!(
            compact.contains(
                "#[serde(deserialize_with=\"::std::option::Option::deserialize\")]pubstatus:::std::option::Option<ItemStatus>,"
            ),
            "required, nullable: present but possibly null\n{code}"
        );
        assert!(
            compact.contains(
                "pubenumItemStatus{Known(ItemStatusKnown),Unknown(::std::string::String),}"
            ),
            "{code}"
        );
    }
}
