//! Where in a JSON body a decode error happened, as a path (`$.results[3].opt_out_changed`).
//!
//! progenitor decodes with plain `serde_json`, whose errors give a line and column only. The
//! path is recovered from the body itself: the bytes before that position are scanned, keeping
//! the stack of open objects (with the key being read) and arrays (with the index).

/// The JSON path of the value being read at `line` and `column` (1-based, as `serde_json`
/// reports them) of `body`; `None` if the position is not inside the body.
pub(crate) fn at(body: &[u8], line: usize, column: usize) -> Option<String> {
    let offset = offset(body, line, column)?;
    enum Frame {
        Object {
            key: Option<String>,
            expect_key: bool,
        },
        Array(usize),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < offset {
        match body[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(index)) => *index += 1,
                Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key, expect_key }) = stack.last_mut()
                    && *expect_key
                {
                    let raw = &body[start..i.min(body.len())];
                    *key = Some(
                        serde_json::from_slice::<String>(&[b"\"", raw, b"\""].concat())
                            .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned()),
                    );
                    *expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::from("$");
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(k), .. } => {
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.is_empty() {
                    path.push('.');
                    path.push_str(k);
                } else {
                    path.push_str(&format!("[{k:?}]"));
                }
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array(index) => path.push_str(&format!("[{index}]")),
        }
    }
    Some(path)
}

/// The byte offset of `line`:`column`; a column of 0 (an error before the line's first byte)
/// is the line's start.
fn offset(body: &[u8], line: usize, column: usize) -> Option<usize> {
    let mut start = 0;
    for _ in 1..line {
        start += body.get(start..)?.iter().position(|&b| b == b'\n')? + 1;
    }
    let offset = start + column.saturating_sub(1);
    (offset <= body.len()).then_some(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of_error<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        let e = serde_json::from_str::<T>(body).unwrap_err();
        at(body.as_bytes(), e.line(), e.column()).unwrap()
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        results: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        n: u8,
        #[serde(rename = "odd key")]
        odd: Option<u8>,
    }

    #[test]
    fn the_path_names_the_field_that_failed() {
        let body = r#"{"results": [{"n": 1}, {"x": "a,\"}]", "n": "two"}]}"#;
        assert_eq!(path_of_error::<Page>(body), "$.results[1].n");
        let body = "{\n  \"results\": [\n    {\"n\": 1, \"odd key\": -1}\n  ]\n}";
        assert_eq!(path_of_error::<Page>(body), "$.results[0][\"odd key\"]");
    }

    #[test]
    fn a_position_outside_the_body_has_no_path() {
        assert_eq!(at(b"{}", 3, 1), None);
        assert_eq!(at(b"{}", 1, 10), None);
        assert_eq!(at(b"", 1, 0).as_deref(), Some("$"));
    }
}
