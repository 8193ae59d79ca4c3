//! Random instances of spec schemas, and the comparison of a spec schema with the JSON Schema
//! the generated types derive (schemars).

use serde_json::{Map, Value, json};

use crate::Spec;

/// One random instance of a response schema.
#[derive(Clone, Debug)]
pub struct Case {
    /// Valid against the schema, except that some string enum values are unknown ones: a
    /// client must decode it and keep every value.
    pub expected: Value,
    /// `expected` plus unknown fields in every object: must decode too (the extras may go).
    pub with_extras: Value,
}

/// `n` instances of `schema`, reproducible from `seed`.
pub fn instances(spec: &Spec, schema: &Value, seed: u64, n: usize) -> Vec<Case> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|_| {
            let (expected, with_extras) = generate(spec, schema, &mut rng, 0);
            Case {
                expected,
                with_extras,
            }
        })
        .collect()
}

fn generate(spec: &Spec, schema: &Value, rng: &mut fastrand::Rng, depth: usize) -> (Value, Value) {
    let schema = spec.resolve(schema);
    let both = |v: Value| (v.clone(), v);
    if schema.get("nullable") == Some(&Value::Bool(true)) && rng.u8(..10) == 0 {
        return both(Value::Null);
    }
    if let Some(values) = schema
        .get("enum")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
    {
        if schema.get("type").and_then(Value::as_str) == Some("string") && rng.u8(..4) == 0 {
            return both(json!(format!("zz-unknown-{}", rng.u16(..))));
        }
        return both(values[rng.usize(..values.len())].clone());
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema
            .get(key)
            .and_then(Value::as_array)
            .filter(|b| !b.is_empty())
        {
            let branch = &branches[rng.usize(..branches.len())];
            let (mut a, mut b) = generate(spec, branch, rng, depth + 1);
            // With a discriminator, the tag names the branch the value was made from.
            if let Some((tag, value)) = crate::discriminator_value(schema, branch) {
                for v in [&mut a, &mut b] {
                    if let Some(fields) = v.as_object_mut() {
                        fields.insert(tag.clone(), json!(value));
                    }
                }
            }
            return (a, b);
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let (mut a, mut b) = (Map::new(), Map::new());
        for part in parts {
            match generate(spec, part, rng, depth + 1) {
                (Value::Object(x), Value::Object(y)) => {
                    a.extend(x);
                    b.extend(y);
                }
                // An `allOf` of a scalar (a `$ref` with siblings, like `nullable`): that value.
                scalar => return scalar,
            }
        }
        return (Value::Object(a), Value::Object(b));
    }
    match crate::schema_type(schema) {
        "object" => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let (mut a, mut b) = (Map::new(), Map::new());
            // Deep down only the required properties, so that every instance stays valid.
            if depth < crate::MAX_DEPTH {
                for (name, prop) in schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let required = required.contains(&name.as_str());
                    if required || (depth < 6 && rng.u8(..10) < 7) {
                        let (x, y) = generate(spec, prop, rng, depth + 1);
                        a.insert(name.clone(), x);
                        b.insert(name.clone(), y);
                    }
                }
            }
            match schema.get("additionalProperties") {
                // A map: its extra keys are values of the declared type.
                Some(values) if values.is_object() && depth < 6 => {
                    for _ in 0..rng.usize(..3) {
                        let key = format!("key_{}", rng.u16(..));
                        let (x, y) = generate(spec, values, rng, depth + 1);
                        a.insert(key.clone(), x);
                        b.insert(key, y);
                    }
                }
                _ => {
                    b.insert(
                        format!("x_unknown_{}", rng.u16(..)),
                        json!({"nested": [1, "two", null]}),
                    );
                }
            }
            (Value::Object(a), Value::Object(b))
        }
        "array" => {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            if depth < 6 {
                for _ in 0..rng.usize(..4) {
                    let (x, y) = generate(spec, &schema["items"], rng, depth + 1);
                    a.push(x);
                    b.push(y);
                }
            }
            (Value::Array(a), Value::Array(b))
        }
        "string" => both(match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => {
                let t = chrono::DateTime::from_timestamp(rng.i64(946_684_800..4_102_444_800), 0)
                    .unwrap();
                json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, rng.bool()))
            }
            Some("date") => json!(format!(
                "20{:02}-{:02}-{:02}",
                rng.u8(..99),
                rng.u8(1..13),
                rng.u8(1..29)
            )),
            Some("uuid") => json!(format!(
                "{:08x}-0000-4000-8000-{:012x}",
                rng.u32(..),
                rng.u64(..1 << 48)
            )),
            _ => {
                let len = rng.usize(..12);
                let mut s: String = (0..len).map(|_| rng.alphanumeric()).collect();
                if rng.u8(..8) == 0 {
                    s.push_str("é+ \"/😀");
                }
                json!(s)
            }
        }),
        "integer" => {
            // Within the declared bounds (typify types `minimum: 1` as a NonZero integer).
            let bound = |key: &str, exclusive: &str, step: i64| {
                schema.get(key).and_then(Value::as_f64).map(|b| {
                    let b = b as i64;
                    if schema.get(exclusive) == Some(&Value::Bool(true)) {
                        b + step
                    } else {
                        b
                    }
                })
            };
            let lo = bound("minimum", "exclusiveMinimum", 1)
                .unwrap_or(i64::from(i32::MIN))
                .max(i64::from(i32::MIN));
            let hi = bound("maximum", "exclusiveMaximum", -1)
                .unwrap_or(i64::from(i32::MAX))
                .min(i64::from(i32::MAX));
            both(json!(if lo <= hi { rng.i64(lo..=hi) } else { lo }))
        }
        // Exact in f32 too (`format: float`): at most 24 significant bits.
        "number" => both(json!(f64::from(rng.i32(-(1 << 20)..(1 << 20))) / 8.0)),
        "boolean" => both(json!(rng.bool())),
        _ => both(match rng.u8(..3) {
            0 => json!("any"),
            1 => json!(rng.i32(..)),
            _ => json!({"any": [true]}),
        }),
    }
}

/// Differences between a spec schema and the generated type's schema.
#[derive(Debug, Default)]
pub struct SchemaDiff {
    /// The generated type rejects values the spec allows (missing property, other type or
    /// format, missing enum value).
    pub narrowing: Vec<String>,
    /// The generated type accepts more than the spec (open enums, union error bodies).
    pub widening: Vec<String>,
}

/// Compares `spec_schema` (OpenAPI) with `generated` (a schemars root schema): property names,
/// types, enums and formats.
pub fn compare_schemas(spec: &Spec, spec_schema: &Value, generated: &Value) -> SchemaDiff {
    let mut diff = SchemaDiff::default();
    compare(spec, spec_schema, generated, generated, "$", &mut diff, 0);
    diff
}

fn resolve_generated<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/definitions/"))
        {
            Some(name) => schema = &root["definitions"][name],
            None => break,
        }
    }
    schema
}

/// The non-null branches of a generated schema (Option<T> adds a `null` branch or type).
fn branches<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let schema = resolve_generated(root, schema);
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            return list
                .iter()
                .filter(|b| b.get("type") != Some(&json!("null")))
                .flat_map(|b| branches(root, b))
                .collect();
        }
    }
    vec![schema]
}

fn types_of(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn compare(
    spec: &Spec,
    s: &Value,
    g: &Value,
    root: &Value,
    path: &str,
    diff: &mut SchemaDiff,
    depth: usize,
) {
    if depth > 12 {
        return;
    }
    let s = spec.resolve(s);
    let gs = branches(root, g);
    // A branch without any constraint accepts anything.
    let accepts_any = gs.iter().any(|b| {
        b.as_object().is_none_or(|m| {
            m.keys().all(|k| {
                matches!(
                    k.as_str(),
                    "description" | "title" | "default" | "$schema" | "definitions"
                )
            })
        })
    });
    let s_type = s
        .get("type")
        .and_then(Value::as_str)
        .or(if s.get("properties").is_some() {
            Some("object")
        } else {
            None
        });
    if accepts_any {
        if let Some(t) = s_type {
            diff.widening
                .push(format!("{path}: any JSON accepted where the spec says {t}"));
        }
        return;
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        let known: Vec<&Value> = gs
            .iter()
            .filter_map(|b| b.get("enum").and_then(Value::as_array))
            .flatten()
            .collect();
        for v in values.iter().filter(|v| !v.is_null()) {
            if !known.contains(&v) {
                diff.narrowing
                    .push(format!("{path}: enum value {v} is missing"));
            }
        }
        if gs
            .iter()
            .any(|b| b.get("enum").is_none() && types_of(b).contains(&"string".to_string()))
        {
            diff.widening.push(format!(
                "{path}: enum is open (unknown values kept as text)"
            ));
        }
        return;
    }
    let Some(s_type) = s_type else { return };
    let g_types: Vec<String> = gs.iter().flat_map(|b| types_of(b)).collect();
    let compatible = g_types
        .iter()
        .any(|t| t == s_type || (s_type == "integer" && t == "number"));
    if !compatible {
        diff.narrowing.push(format!(
            "{path}: type {s_type} in the spec, {g_types:?} generated"
        ));
        return;
    }
    if let Some(format) = s.get("format").and_then(Value::as_str) {
        let g_formats: Vec<&str> = gs
            .iter()
            .filter_map(|b| b.get("format").and_then(Value::as_str))
            .collect();
        if !g_formats.is_empty() && !g_formats.contains(&format) && s_type == "string" {
            diff.narrowing.push(format!(
                "{path}: format {format} in the spec, {g_formats:?} generated"
            ));
        } else if g_formats.is_empty() && s_type == "string" {
            diff.widening
                .push(format!("{path}: format {format} not enforced"));
        }
    }
    match s_type {
        "object" => {
            let g_object = gs
                .iter()
                .find(|b| types_of(b).contains(&"object".to_string()));
            let g_props = g_object
                .and_then(|o| o.get("properties"))
                .and_then(Value::as_object);
            for (name, prop) in s
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                match g_props.and_then(|p| p.get(name)) {
                    None => diff.narrowing.push(format!(
                        "{path}.{name}: property missing from the generated type"
                    )),
                    Some(gp) => compare(
                        spec,
                        prop,
                        gp,
                        root,
                        &format!("{path}.{name}"),
                        diff,
                        depth + 1,
                    ),
                }
            }
            let s_props = s.get("properties").and_then(Value::as_object);
            for name in g_props.into_iter().flatten().map(|(n, _)| n) {
                if s_props.is_none_or(|p| !p.contains_key(name)) {
                    diff.widening.push(format!(
                        "{path}.{name}: extra property in the generated type"
                    ));
                }
            }
        }
        "array" => {
            if let Some(items) = gs.iter().find_map(|b| b.get("items")) {
                compare(
                    spec,
                    &s["items"],
                    items,
                    root,
                    &format!("{path}[]"),
                    diff,
                    depth + 1,
                );
            }
        }
        _ => {}
    }
}
