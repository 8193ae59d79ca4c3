//! Request bodies as they arrive: JSON, form-urlencoded and `multipart/form-data` bodies are
//! parsed back (multipart with `multer`, a real parser) and compared with the arguments.

use serde_json::{Map, Value, json};

use super::{Report, includes_declared};
use crate::{Operation, Spec};

/// The bytes of every file part the suite sends: a line break, a would-be delimiter and bytes
/// that are not UTF-8, so that an encoder that mangles or misframes them is caught.
const FILE_BYTES: [u8; 14] = [
    b'%', b'P', b'D', b'F', b'\r', b'\n', b'-', b'-', b'x', b'\r', b'\n', 0, 0xff, 0xfe,
];

fn essence(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_multipart(op: &Operation) -> bool {
    op.request_media
        .as_deref()
        .is_some_and(|m| essence(m) == "multipart/form-data")
}

/// Whether `schema` is a file (`format: binary`), or an array of files.
fn file_kind(spec: &Spec, schema: &Value) -> Option<bool> {
    let schema = spec.resolve(schema);
    let binary = |s: &Value| s["type"] == "string" && s["format"] == "binary";
    if binary(schema) {
        Some(false)
    } else if schema["type"] == "array" && binary(spec.resolve(&schema["items"])) {
        Some(true)
    } else {
        None
    }
}

/// The body argument for `op`: for a multipart body, every file property (given in the example
/// or not) holds a file part in `FilePart`'s serde form.
pub(super) fn body_argument(spec: &Spec, op: &Operation, mut body: Value) -> Value {
    let (true, Some(schema), Some(fields)) = (
        is_multipart(op),
        op.request_body.as_ref().and_then(|m| m.get("schema")),
        body.as_object_mut(),
    ) else {
        return body;
    };
    for (name, prop) in spec.properties(schema) {
        if let Some(array) = file_kind(spec, prop) {
            let part = json!({
                "file_name": format!("{name}.pdf"),
                "content_type": "application/pdf",
                "bytes": FILE_BYTES.to_vec(),
            });
            fields.insert(name.clone(), if array { json!([part]) } else { part });
        }
    }
    body
}

/// Checks the body of a captured request against the `body` argument. Raw bodies
/// (octet-stream, text) are the caller's bytes and are not checked here.
pub(super) async fn check(
    spec: &Spec,
    op: &Operation,
    label: &str,
    argument: Option<&Value>,
    content_type: Option<&str>,
    body: &[u8],
    report: &mut Report,
) {
    let (Some(media), Some(argument)) = (op.request_media.as_deref(), argument) else {
        return;
    };
    let schema = op.request_body.as_ref().and_then(|m| m.get("schema"));
    let sent = content_type.map(essence).unwrap_or_default();
    let expected = essence(media);
    let label = format!("{label} body");
    match expected.as_str() {
        "application/json" | "application/x-www-form-urlencoded" | "multipart/form-data" => {
            report.request_checks += 1;
            if !report.check(sent == expected, || {
                format!("{label}: Content-Type {content_type:?}, the spec says {expected}")
            }) {
                return;
            }
        }
        _ => return,
    }
    match expected.as_str() {
        "application/json" => {
            report.request_checks += 1;
            let result = serde_json::from_slice::<Value>(body)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|actual| {
                    includes_declared(Some(spec), schema, &actual, argument, &mut Vec::new())
                });
            report.check(result.is_ok(), || {
                format!("{label}: {}", result.unwrap_err())
            });
        }
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
            for (name, value) in argument.as_object().into_iter().flatten() {
                let want = match value {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                report.request_checks += 1;
                report.check(pairs.iter().any(|(n, v)| n == name && *v == want), || {
                    format!("{label}: field {name}={want:?} not sent (sent {pairs:?})")
                });
            }
        }
        _ => multipart(spec, &label, schema, argument, content_type, body, report).await,
    }
}

/// One part as `multer` read it.
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

async fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
    let mut form = multer::Multipart::with_reader(body, boundary);
    let mut parts = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(String::from);
        let content_type = field.content_type().map(ToString::to_string);
        let bytes = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
        parts.push(Part {
            name,
            file_name,
            content_type,
            bytes,
        });
    }
    Ok(parts)
}

async fn multipart(
    spec: &Spec,
    label: &str,
    schema: Option<&Value>,
    argument: &Value,
    content_type: Option<&str>,
    body: &[u8],
    report: &mut Report,
) {
    report.request_checks += 1;
    let parts = match parse(content_type.unwrap_or_default(), body).await {
        Ok(parts) => parts,
        Err(e) => {
            report
                .failures
                .push(format!("{label}: not a multipart body a parser reads: {e}"));
            return;
        }
    };
    let empty = Map::new();
    let fields = argument.as_object().unwrap_or(&empty);
    let declared = schema.map(|s| spec.properties(s)).unwrap_or_default();
    for part in &parts {
        report.request_checks += 1;
        report.check(fields.get(&part.name).is_some_and(|v| !v.is_null()), || {
            format!("{label}: part {:?} was not asked for", part.name)
        });
    }
    for (name, value) in fields {
        let sent: Vec<&Part> = parts.iter().filter(|p| p.name == *name).collect();
        let prop = declared.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
        report.request_checks += 1;
        if prop.and_then(|p| file_kind(spec, p)).is_some() {
            let files: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Null => Vec::new(),
                one => vec![one],
            };
            report.check(sent.len() == files.len(), || {
                format!(
                    "{label}: {} file parts {name}, {} given",
                    sent.len(),
                    files.len()
                )
            });
            for (part, file) in sent.iter().zip(files) {
                let bytes: Vec<u8> = serde_json::from_value(file["bytes"].clone())
                    .unwrap_or_else(|_| file["bytes"].as_str().unwrap_or("").as_bytes().to_vec());
                report.request_checks += 3;
                report.check(
                    part.file_name.as_deref() == file["file_name"].as_str(),
                    || format!("{label}: part {name} file name {:?}", part.file_name),
                );
                report.check(
                    part.content_type.as_deref() == file["content_type"].as_str(),
                    || format!("{label}: part {name} content type {:?}", part.content_type),
                );
                report.check(part.bytes == bytes, || {
                    format!(
                        "{label}: part {name}: {} bytes arrived changed",
                        part.bytes.len()
                    )
                });
            }
            continue;
        }
        let [part] = sent.as_slice() else {
            report.check(value.is_null() && sent.is_empty(), || {
                format!("{label}: {} parts {name} for one value", sent.len())
            });
            continue;
        };
        let result = match value {
            Value::String(s) => (part.bytes == s.as_bytes())
                .then_some(())
                .ok_or_else(|| "text changed".to_string()),
            Value::Number(_) | Value::Bool(_) => (part.bytes == value.to_string().as_bytes())
                .then_some(())
                .ok_or_else(|| "text changed".to_string()),
            _ if part.content_type.as_deref() != Some("application/json") => {
                Err(format!("Content-Type {:?}, not JSON", part.content_type))
            }
            _ => serde_json::from_slice::<Value>(&part.bytes)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|actual| {
                    includes_declared(Some(spec), prop, &actual, value, &mut Vec::new())
                }),
        };
        report.check(result.is_ok(), || {
            format!("{label}: part {name}: {}", result.unwrap_err())
        });
    }
}
