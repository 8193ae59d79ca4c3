//! `multipart/form-data` request bodies: [`FilePart`], and [`Multipart`], the encoder behind
//! every generated form type.
//!
//! progenitor cannot send multipart bodies, so the generator gives each multipart operation a
//! typed form (`types::<OperationId>Form`): file parts are [`FilePart`]s, other parts have the
//! spec's types. Pass the form to the builder's `body`; it is encoded here, and the client labels
//! the request `multipart/form-data; boundary=...`.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A file to upload: its bytes, the file name the server sees, and its media type.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "FilePartRepr")]
pub struct FilePart {
    bytes: Vec<u8>,
    file_name: String,
    content_type: String,
}

/// Why a [`FilePart`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePartError(String);

impl fmt::Display for FilePartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilePartError {}

impl FilePart {
    /// A file part. The content type must be a media type (`type/subtype`, parameters allowed)
    /// and neither it nor the file name may hold a line break: they go into part headers.
    ///
    /// ```
    /// let pdf = pandadoc_api::FilePart::new(b"%PDF-1.7 ...".to_vec(), "offer.pdf", "application/pdf")?;
    /// assert_eq!(pdf.len(), 12);
    /// # Ok::<(), pandadoc_api::FilePartError>(())
    /// ```
    pub fn new(
        bytes: impl Into<Vec<u8>>,
        file_name: impl Into<String>,
        content_type: impl Into<String>,
    ) -> Result<Self, FilePartError> {
        let (file_name, content_type) = (file_name.into(), content_type.into());
        if file_name.contains(['\r', '\n']) {
            return Err(FilePartError(format!(
                "file name {file_name:?} holds a line break"
            )));
        }
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let valid = essence.split_once('/').is_some_and(|(t, s)| {
            let token = |x: &str| {
                !x.is_empty()
                    && x.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
            };
            token(t) && token(s)
        });
        if !valid || content_type.contains(['\r', '\n']) {
            return Err(FilePartError(format!(
                "content type {content_type:?} is not a media type (such as `application/pdf`)"
            )));
        }
        Ok(Self {
            bytes: bytes.into(),
            file_name,
            content_type,
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file name sent in the part's `Content-Disposition`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The part's `Content-Type`.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// The bytes are not shown: only their count.
impl fmt::Debug for FilePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePart")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Serialized as `{"file_name", "content_type", "bytes"}`; `bytes` is read back from an array
/// of numbers or from a string (its UTF-8 bytes).
#[derive(Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schemars", schemars(rename = "FilePart"))]
struct FilePartRepr {
    file_name: String,
    content_type: String,
    bytes: BytesRepr,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(untagged)]
enum BytesRepr {
    Text(String),
    Raw(Vec<u8>),
}

impl TryFrom<FilePartRepr> for FilePart {
    type Error = FilePartError;
    fn try_from(r: FilePartRepr) -> Result<Self, FilePartError> {
        let bytes = match r.bytes {
            BytesRepr::Text(s) => s.into_bytes(),
            BytesRepr::Raw(b) => b,
        };
        Self::new(bytes, r.file_name, r.content_type)
    }
}

impl Serialize for FilePart {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Borrowed<'a> {
            file_name: &'a str,
            content_type: &'a str,
            bytes: &'a [u8],
        }
        Borrowed {
            file_name: &self.file_name,
            content_type: &self.content_type,
            bytes: &self.bytes,
        }
        .serialize(serializer)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for FilePart {
    fn schema_name() -> String {
        "FilePart".into()
    }
    fn json_schema(generator: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        FilePartRepr::json_schema(generator)
    }
}

/// A `multipart/form-data` body being assembled. Generated forms convert to `reqwest::Body`
/// through it; use it directly to send parts the spec does not declare.
///
/// ```
/// use pandadoc_api::{FilePart, Multipart};
/// let mut form = Multipart::new();
/// form.file("file", FilePart::new(b"%PDF".to_vec(), "a.pdf", "application/pdf")?);
/// form.value("data", &serde_json::json!({ "name": "Offer" }))?;
/// let (content_type, body) = form.encode();
/// assert!(content_type.starts_with("multipart/form-data; boundary="));
/// assert!(String::from_utf8_lossy(&body).contains(r#"{"name":"Offer"}"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Multipart {
    parts: Vec<Part>,
}

#[derive(Debug)]
struct Part {
    /// The part's headers, each line ending in CRLF.
    headers: String,
    body: Vec<u8>,
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file part named `name`.
    pub fn file(&mut self, name: &str, file: FilePart) -> &mut Self {
        let headers = format!(
            "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n",
            quoted(name),
            quoted(&file.file_name),
            file.content_type
        );
        self.parts.push(Part {
            headers,
            body: file.bytes,
        });
        self
    }

    /// Adds a file part named `name` for each file (none for `None` or an empty `Vec`).
    pub fn files(&mut self, name: &str, files: impl IntoIterator<Item = FilePart>) -> &mut Self {
        for file in files {
            self.file(name, file);
        }
        self
    }

    /// Adds a part named `name` for `value`, as OpenAPI encodes form parts by default: nothing
    /// for `null` (an absent optional field), the text itself for a string, number or boolean,
    /// and JSON (`Content-Type: application/json`) for an object or array.
    pub fn value<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<&mut Self, serde_json::Error> {
        let disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"\r\n",
            quoted(name)
        );
        let (headers, body) = match serde_json::to_value(value)? {
            Value::Null => return Ok(self),
            Value::String(s) => (disposition, s.into_bytes()),
            v @ (Value::Number(_) | Value::Bool(_)) => (disposition, v.to_string().into_bytes()),
            v => (
                disposition + "Content-Type: application/json\r\n",
                serde_json::to_vec(&v)?,
            ),
        };
        self.parts.push(Part { headers, body });
        Ok(self)
    }

    /// The `Content-Type` header value and the encoded body. The boundary is random and checked
    /// to occur in no part.
    pub fn encode(self) -> (String, Vec<u8>) {
        let state = RandomState::new();
        let boundary = (0u64..)
            .map(|n| format!("pandadoc-api-{:016x}", state.hash_one(n)))
            .find(|b| {
                !self.parts.iter().any(|p| {
                    contains(p.headers.as_bytes(), b.as_bytes()) || contains(&p.body, b.as_bytes())
                })
            })
            .expect("some boundary occurs in no part");
        let size = self
            .parts
            .iter()
            .map(|p| p.headers.len() + p.body.len() + boundary.len() + 8)
            .sum::<usize>()
            + boundary.len()
            + 6;
        let mut body = Vec::with_capacity(size);
        for part in self.parts {
            body.extend_from_slice(b"--");
            body.extend_from_slice(boundary.as_bytes());
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(part.headers.as_bytes());
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&part.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"--\r\n");
        (format!("multipart/form-data; boundary={boundary}"), body)
    }
}

impl From<Multipart> for reqwest::Body {
    fn from(form: Multipart) -> Self {
        form.encode().1.into()
    }
}

/// A name inside a quoted header parameter, escaped as browsers do (RFC 7578, section 4.2).
fn quoted(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Labels a multipart body sent through an operation's raw-bytes builder: when the request is
/// `application/octet-stream` and its body begins with a multipart delimiter line (`--boundary`
/// and CRLF, as [`Multipart::encode`] and any other encoder write it), the `Content-Type`
/// becomes `multipart/form-data; boundary=...`. Other bodies are left as they are.
pub(crate) fn label(request: &mut reqwest::Request) {
    use reqwest::header::{HeaderValue, CONTENT_TYPE};
    if request.headers().get(CONTENT_TYPE)
        != Some(&HeaderValue::from_static("application/octet-stream"))
    {
        return;
    }
    let Some(first) = request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .and_then(|b| b.split(|&c| c == b'\n').next())
    else {
        return;
    };
    let Some(boundary) = first
        .strip_prefix(b"--")
        .and_then(|l| l.strip_suffix(b"\r"))
    else {
        return;
    };
    // RFC 2046: 1 to 70 characters, none of them a line break or quote.
    let valid = (1..=70).contains(&boundary.len())
        && boundary.last() != Some(&b' ')
        && boundary
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c));
    if let (true, Ok(value)) = (
        valid,
        HeaderValue::from_str(&format!(
            "multipart/form-data; boundary=\"{}\"",
            String::from_utf8_lossy(boundary)
        )),
    ) {
        request.headers_mut().insert(CONTENT_TYPE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_parts_refuse_header_injection_and_non_media_types() {
        assert!(FilePart::new(vec![], "a\r\nX-Evil: 1", "application/pdf").is_err());
        for bad in ["pdf", "", "application/pdf\r\nX: y", "text/"] {
            let e = FilePart::new(vec![], "a.pdf", bad).unwrap_err();
            assert!(e.to_string().contains("not a media type"), "{bad:?}: {e}");
        }
        assert!(FilePart::new(vec![1], "a.pdf", "text/markdown; charset=utf-8").is_ok());
    }

    #[test]
    fn debug_shows_the_size_not_the_bytes() {
        let f = FilePart::new(b"secret contract".to_vec(), "a.pdf", "application/pdf").unwrap();
        let shown = format!("{f:?}");
        assert!(
            shown.contains("len: 15") && !shown.contains("secret"),
            "{shown}"
        );
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let f = FilePart::new(vec![0, 255, 10], "a.bin", "application/octet-stream").unwrap();
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(serde_json::from_value::<FilePart>(json).unwrap(), f);
        let text: FilePart = serde_json::from_value(serde_json::json!({
            "file_name": "n.md", "content_type": "text/markdown", "bytes": "# Hi"
        }))
        .unwrap();
        assert_eq!(text.bytes(), b"# Hi");
        assert!(serde_json::from_value::<FilePart>(serde_json::json!({
            "file_name": "n.md", "content_type": "markdown", "bytes": ""
        }))
        .is_err());
    }

    #[test]
    fn the_boundary_avoids_the_content_and_values_follow_openapi_defaults() {
        let mut form = Multipart::new();
        // A file that holds a multipart body of its own, boundary and all.
        let mut inner = Multipart::new();
        inner.value("x", "y").unwrap();
        let (_, inner_body) = inner.encode();
        form.file(
            "file",
            FilePart::new(inner_body.clone(), "a\"b.txt", "text/plain").unwrap(),
        );
        form.value("data", &serde_json::json!({ "a": [1] }))
            .unwrap();
        form.value("count", &3).unwrap();
        form.value("skipped", &None::<String>).unwrap();
        let (content_type, body) = form.encode();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        assert!(!contains(&inner_body, boundary.as_bytes()));
        let text = String::from_utf8_lossy(&body);
        assert_eq!(text.matches(&format!("--{boundary}\r\n")).count(), 3);
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        assert!(text.contains("filename=\"a%22b.txt\"\r\nContent-Type: text/plain\r\n\r\n"));
        assert!(
            text.contains("name=\"data\"\r\nContent-Type: application/json\r\n\r\n{\"a\":[1]}\r\n")
        );
        assert!(text.contains("name=\"count\"\r\n\r\n3\r\n"));
        assert!(!text.contains("skipped"));
    }

    #[test]
    fn only_octet_stream_bodies_that_open_with_a_delimiter_are_labelled() {
        let request = |content_type: &str, body: &[u8]| {
            let client = reqwest::Client::new();
            client
                .post("http://127.0.0.1:1/")
                .header("content-type", content_type)
                .body(body.to_vec())
                .build()
                .unwrap()
        };
        let mut form = Multipart::new();
        form.value("a", "b").unwrap();
        let (content_type, body) = form.encode();
        let boundary = content_type.rsplit('=').next().unwrap();
        let mut r = request("application/octet-stream", &body);
        label(&mut r);
        assert_eq!(
            r.headers()["content-type"],
            format!("multipart/form-data; boundary=\"{boundary}\"").as_str()
        );
        for (ct, body) in [
            ("application/octet-stream", &b"%PDF-1.7\r\n"[..]),
            ("application/octet-stream", b"--\r\n"),
            ("application/octet-stream", b"--a\"b\r\n"),
            ("application/json", &body[..]),
        ] {
            let mut r = request(ct, body);
            label(&mut r);
            assert_eq!(r.headers()["content-type"], ct, "{body:?}");
        }
    }
}
