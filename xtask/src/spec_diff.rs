//! What changed between two specs, for a client user: the report `cargo xtask bump` writes and
//! `cargo xtask corpus --reports` prints.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use openapi_model::METHODS;
use serde_json::{Map, Value};

/// One change between two specs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Whether code using the client may stop compiling or behave differently.
    pub breaking: bool,
    /// What changed, one line.
    pub what: String,
}

/// Every change from `old` to `new`, in document order.
pub fn changes(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |breaking: bool, what: String| out.push(Change { breaking, what });
    let (old_ops, new_ops) = (operations(old), operations(new));
    for (id, (method, path, _)) in &old_ops {
        if !new_ops.contains_key(id) {
            push(
                true,
                format!(
                    "operation `{id}` ({} {path}) removed",
                    method.to_uppercase()
                ),
            );
        }
    }
    for (id, (method, path, _)) in &new_ops {
        if !old_ops.contains_key(id) {
            push(
                false,
                format!("operation `{id}` ({} {path}) added", method.to_uppercase()),
            );
        }
    }
    for (id, (_, _, new_op)) in &new_ops {
        let Some((_, _, old_op)) = old_ops.get(id) else {
            continue;
        };
        operation_changes(id, old, old_op, new, new_op, &mut push);
    }
    let (old_schemas, new_schemas) = (components(old), components(new));
    for (name, old_schema) in &old_schemas {
        match new_schemas.get(name) {
            None => push(true, format!("schema `{name}` removed")),
            Some(new_schema) => schema_changes(
                &format!("schema `{name}`"),
                old_schema,
                new_schema,
                &mut push,
                0,
            ),
        }
    }
    for name in new_schemas.keys() {
        if !old_schemas.contains_key(name) {
            push(false, format!("schema `{name}` added"));
        }
    }
    out
}

/// The report as Markdown: version change, then breaking changes, then the others.
pub fn report(old: &Value, new: &Value, changes: &[Change]) -> String {
    let info = |s: &Value, key: &str| s["info"][key].as_str().unwrap_or("?").to_string();
    let mut text = format!(
        "## {} {} → {}\n\n",
        info(new, "title"),
        info(old, "version"),
        info(new, "version")
    );
    let breaking: Vec<&Change> = changes.iter().filter(|c| c.breaking).collect();
    let other: Vec<&Change> = changes.iter().filter(|c| !c.breaking).collect();
    if changes.is_empty() {
        text.push_str("No change to operations or schemas.\n");
    }
    for (title, list) in [("Breaking", breaking), ("Not breaking", other)] {
        if !list.is_empty() {
            let _ = writeln!(text, "### {title}\n");
            for c in list {
                let _ = writeln!(
                    text,
                    "- {}{}",
                    if c.breaking { "**breaking**: " } else { "" },
                    c.what
                );
            }
            text.push('\n');
        }
    }
    text
}

type Ops<'a> = std::collections::BTreeMap<String, (&'static str, String, &'a Value)>;

fn operations(spec: &Value) -> Ops<'_> {
    let mut ops = Ops::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                let id = op["operationId"]
                    .as_str()
                    .map_or_else(|| format!("{method} {path}"), String::from);
                ops.insert(id, (method, path.clone(), op));
            }
        }
    }
    ops
}

fn components(spec: &Value) -> Map<String, Value> {
    spec.pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `value`, its `$ref`s followed; as it is when they lead nowhere (the report still reads).
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    openapi_model::resolve(spec, value).unwrap_or(value)
}

fn parameters<'a>(spec: &'a Value, op: &'a Value) -> Vec<(String, &'a Value)> {
    op.get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| resolve(spec, p))
        .map(|p| {
            (
                format!(
                    "{} parameter `{}`",
                    p["in"].as_str().unwrap_or("?"),
                    p["name"].as_str().unwrap_or("?")
                ),
                p,
            )
        })
        .collect()
}

fn operation_changes(
    id: &str,
    old: &Value,
    old_op: &Value,
    new: &Value,
    new_op: &Value,
    push: &mut dyn FnMut(bool, String),
) {
    let (old_params, new_params) = (parameters(old, old_op), parameters(new, new_op));
    for (name, p) in &old_params {
        if !new_params.iter().any(|(n, _)| n == name) {
            push(true, format!("`{id}`: {name} removed"));
        } else if let Some((_, q)) = new_params.iter().find(|(n, _)| n == name) {
            let required = |p: &Value| p.get("required") == Some(&Value::Bool(true));
            if !required(p) && required(q) {
                push(true, format!("`{id}`: {name} is now required"));
            } else if required(p) && !required(q) {
                push(false, format!("`{id}`: {name} is now optional"));
            }
            schema_changes(
                &format!("`{id}`: {name}"),
                &p["schema"],
                &q["schema"],
                push,
                0,
            );
        }
    }
    for (name, p) in &new_params {
        if !old_params.iter().any(|(n, _)| n == name) {
            let required = p.get("required") == Some(&Value::Bool(true));
            push(
                required,
                format!(
                    "`{id}`: {} {name} added",
                    if required { "required" } else { "optional" }
                ),
            );
        }
    }
    let body =
        |spec: &'_ Value, op: &Value| op.get("requestBody").map(|b| resolve(spec, b).clone());
    match (body(old, old_op), body(new, new_op)) {
        (Some(_), None) => push(true, format!("`{id}`: request body removed")),
        (None, Some(_)) => push(true, format!("`{id}`: request body added")),
        (Some(a), Some(b)) => {
            let media = |b: &Value| {
                b["content"]
                    .as_object()
                    .map(|c| c.keys().cloned().collect::<BTreeSet<_>>())
                    .unwrap_or_default()
            };
            if media(&a) != media(&b) {
                push(
                    true,
                    format!(
                        "`{id}`: request media types {:?} became {:?}",
                        media(&a),
                        media(&b)
                    ),
                );
            }
            if let (Some((_, x)), Some((_, y))) = (first_media(&a), first_media(&b)) {
                schema_changes(
                    &format!("`{id}`: request body"),
                    &x["schema"],
                    &y["schema"],
                    push,
                    0,
                );
            }
        }
        (None, None) => {}
    }
    let responses = |op: &Value| op["responses"].as_object().cloned().unwrap_or_default();
    let (old_r, new_r) = (responses(old_op), responses(new_op));
    for (status, r) in &old_r {
        match new_r.get(status) {
            None => push(
                status.starts_with('2'),
                format!("`{id}`: response {status} removed"),
            ),
            Some(s) => {
                let (a, b) = (resolve(old, r), resolve(new, s));
                if let (Some((_, x)), Some((_, y))) = (first_media(a), first_media(b)) {
                    schema_changes(
                        &format!("`{id}`: response {status}"),
                        &x["schema"],
                        &y["schema"],
                        push,
                        0,
                    );
                }
            }
        }
    }
    for status in new_r.keys() {
        if !old_r.contains_key(status) {
            // A new success shape changes the success type; a new error status decodes into the
            // error type (or arrives as UnexpectedResponse), which callers already handle.
            push(
                status.starts_with('2'),
                format!("`{id}`: response {status} added"),
            );
        }
    }
}

fn first_media(holder: &Value) -> Option<(&String, &Value)> {
    holder
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.iter().next())
}

/// Changes inside a schema: type, format, enum values, properties (added, removed, required).
/// Referenced component schemas are compared where they are defined, not at each use.
fn schema_changes(
    at: &str,
    a: &Value,
    b: &Value,
    push: &mut dyn FnMut(bool, String),
    depth: usize,
) {
    if depth > 12 {
        return;
    }
    let (ra, rb) = (
        a.get("$ref").and_then(Value::as_str),
        b.get("$ref").and_then(Value::as_str),
    );
    if ra.is_some() || rb.is_some() {
        if ra != rb {
            push(
                true,
                format!(
                    "{at}: schema {} became {}",
                    ra.unwrap_or("(inline)"),
                    rb.unwrap_or("(inline)")
                ),
            );
        }
        return;
    }
    let (ta, tb) = (describe(a), describe(b));
    if ta != tb {
        push(true, format!("{at}: {ta} → {tb}"));
        return;
    }
    let values = |s: &Value| -> BTreeSet<String> {
        s.get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect()
    };
    let (va, vb) = (values(a), values(b));
    for v in va.difference(&vb) {
        push(true, format!("{at}: enum value {v} removed"));
    }
    for v in vb.difference(&va) {
        // Response enums are open: a new value decodes as `Unknown(text)`.
        push(false, format!("{at}: enum value {v} added"));
    }
    let props = |s: &Value| {
        s.get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let required = |s: &Value| -> BTreeSet<String> {
        s.get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    };
    let (pa, pb) = (props(a), props(b));
    for (name, sa) in &pa {
        match pb.get(name) {
            None => push(true, format!("{at}: property `{name}` removed")),
            Some(sb) => schema_changes(&format!("{at}.{name}"), sa, sb, push, depth + 1),
        }
    }
    for name in pb.keys() {
        if !pa.contains_key(name) {
            let req = required(b).contains(name);
            push(
                req,
                format!(
                    "{at}: {} property `{name}` added",
                    if req { "required" } else { "optional" }
                ),
            );
        }
    }
    for name in required(b).difference(&required(a)) {
        if pa.contains_key(name) {
            push(true, format!("{at}: property `{name}` is now required"));
        }
    }
    for name in required(a).difference(&required(b)) {
        if pb.contains_key(name) {
            push(true, format!("{at}: property `{name}` is now optional"));
        }
    }
    if let (Some(ia), Some(ib)) = (a.get("items"), b.get("items")) {
        schema_changes(&format!("{at}[]"), ia, ib, push, depth + 1);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        // Same members by kind (`describe` matched): compare each one's insides.
        if let (Some(la), Some(lb)) = (
            a.get(key).and_then(Value::as_array),
            b.get(key).and_then(Value::as_array),
        ) {
            for (i, (x, y)) in la.iter().zip(lb).enumerate() {
                schema_changes(&format!("{at}.{key}[{i}]"), x, y, push, depth + 1);
            }
        }
    }
}

/// What a schema accepts, in a few words: `string (date-time)`, `array`, `one of (string,
/// object)`, `any JSON`, or a component's name. Arrays and objects are described shallowly:
/// their items and properties are compared one by one.
fn describe(schema: &Value) -> String {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        return format!("`{}`", name.rsplit('/').next().unwrap_or(name));
    }
    for (key, words) in [
        ("oneOf", "one of"),
        ("anyOf", "any of"),
        ("allOf", "all of"),
    ] {
        if let Some(members) = schema.get(key).and_then(Value::as_array) {
            let members: Vec<String> = members.iter().map(describe).collect();
            return format!("{words} ({})", members.join(", "));
        }
    }
    let mut text = match schema.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None if schema.get("properties").is_some() => "object".into(),
        None => "any JSON".into(),
    };
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        text = format!("{text} ({format})");
    }
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        text.push_str(" or null");
    }
    text
}
