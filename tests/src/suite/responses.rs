//! Responses: every documented one served as documented through both clients, and undocumented
//! or malformed answers classified.

use super::*;

/// One documented response, served as documented, through both clients.
pub(super) async fn documented_response(case: &Case<'_>, response: &Response, report: &mut Report) {
    let Case {
        spec,
        server,
        op,
        hop,
        args,
    } = *case;
    report.responses += 1;
    let code = response.code();
    let label = format!("{} {}", op.id, response.status);
    let body = response.example.clone();
    // The schema is the contract: an example that breaks it is the spec's bug, reported.
    if let (Some(schema), Some(example)) = (&response.schema, &body) {
        let violations = crate::validate::validate(spec, schema, example);
        if let Some(first) = violations.first() {
            report.notes.push(format!(
                "{label}: the spec's example violates its own schema: {first}"
            ));
            return;
        }
    }
    let path = concrete_path(op, args);
    let mock = server
        .mock_async(|when, then| {
            when.method(op.method.to_uppercase().as_str())
                .path(path.as_str());
            let then = then.status(code);
            if let Some(body) = &body {
                then.header("content-type", "application/json")
                    .json_body(body.clone());
            }
        })
        .await;

    match send_raw(&raw_client(server), hop, args).await {
        Err(e) => {
            report.failures.push(format!(
                "{label}: the example arguments do not convert: {e}"
            ));
            mock.delete_async().await;
            return;
        }
        Ok(Ok(value)) => {
            if report.check(response.is_success(), || {
                format!("{label}: raw client decoded an error status as success")
            }) {
                report.check(value.status().as_u16() == code, || {
                    format!("{label}: raw client: status {}", value.status())
                });
                if let Some(body) = &body
                    && let Err(path) = kept(spec, response, &value, body, &label, report)
                {
                    report
                        .failures
                        .push(format!("{label}: raw client lost or changed {path}"));
                }
            }
        }
        Ok(Err(pandadoc_api::Error::ErrorResponse(value))) => {
            if report.check(!response.is_success(), || {
                format!("{label}: raw client decoded a success as an error")
            }) {
                report.check(value.status().as_u16() == code, || {
                    format!("{label}: raw client: status {}", value.status())
                });
                if let Some(body) = &body
                    && let Err(path) = kept(spec, response, &value, body, &label, report)
                {
                    report.failures.push(format!(
                        "{label}: raw client error body lost or changed {path}"
                    ));
                }
            }
        }
        Ok(Err(other)) => report
            .failures
            .push(format!("{label}: raw client: {other}")),
    }

    match send_ext(&ext_client(server), hop, args).await {
        Ok(value) => {
            if report.check(response.is_success(), || {
                format!("{label}: ext client decoded an error status as success")
            }) && let Some(body) = &body
                && let Err(path) = kept(spec, response, &value, body, &label, report)
            {
                report
                    .failures
                    .push(format!("{label}: ext client lost or changed {path}"));
            }
        }
        Err(e) => {
            if report.check(!response.is_success(), || {
                format!("{label}: ext client: {e}")
            }) {
                let expected = ErrorKind::from_status(reqwest_status(code));
                report.check(e.kind() == expected, || {
                    format!(
                        "{label}: ext client: kind {} instead of {expected}",
                        e.kind()
                    )
                });
                report.check(e.status().map(|s| s.as_u16()) == Some(code), || {
                    format!("{label}: ext client lost the status")
                });
                if let Some(body) = &body {
                    check_error_fields(&label, &e, body, report);
                }
            }
        }
    }
    mock.delete_async().await;
}

/// [`includes_declared`] for a documented response, its notes kept in the report.
pub(super) fn kept(
    spec: &Spec,
    response: &Response,
    actual: &Value,
    expected: &Value,
    label: &str,
    report: &mut Report,
) -> Result<(), String> {
    let mut notes = Vec::new();
    let result = includes_declared(
        Some(spec),
        response.schema.as_ref(),
        actual,
        expected,
        &mut notes,
    );
    report
        .notes
        .extend(notes.into_iter().map(|n| format!("{label}: {n}")));
    result
}

pub(super) fn reqwest_status(code: u16) -> reqwest::StatusCode {
    reqwest::StatusCode::from_u16(code).expect("a valid status")
}

/// The ext error keeps `type`, `detail`, `info_message` and `links` of the body.
pub(super) fn check_error_fields(
    label: &str,
    e: &pandadoc_api_ext::Error,
    body: &Value,
    report: &mut Report,
) {
    if let Some(t) = body.get("type").and_then(Value::as_str) {
        report.check(e.error_type() == Some(t), || {
            format!("{label}: ext client lost `type`")
        });
    }
    match body.get("detail") {
        Some(Value::String(s)) => {
            report.check(e.detail() == Some(&Detail::Text(s.clone())), || {
                format!("{label}: ext client lost `detail`")
            });
        }
        Some(Value::Object(fields)) => {
            let kept: BTreeSet<&String> = e
                .field_errors()
                .map(|f| f.keys().collect())
                .unwrap_or_default();
            report.check(kept == fields.keys().collect(), || {
                format!("{label}: ext client lost `detail` fields")
            });
        }
        _ => {}
    }
    if let Some(info) = body.get("info_message").and_then(Value::as_str) {
        report.check(e.info_message() == Some(info), || {
            format!("{label}: ext client lost `info_message`")
        });
    }
    if let Some(links) = body.get("links").and_then(Value::as_array) {
        report.check(e.links().len() == links.len(), || {
            format!("{label}: ext client lost `links`")
        });
    }
}

/// Undocumented and malformed answers: classified by the ext client with their status; the raw
/// client returns an error, never a panic.
pub(super) async fn bad_responses(case: &Case<'_>, report: &mut Report) {
    let Case {
        spec,
        server,
        op,
        hop,
        args,
    } = *case;
    let example = op
        .responses
        .iter()
        .find(|r| r.is_success())
        .and_then(|r| r.example.clone());
    let truncated = example.as_ref().map(|e| {
        let text = e.to_string();
        text[..text.len() / 2].to_string()
    });
    let documented: BTreeSet<u16> = op.responses.iter().map(Response::code).collect();
    let ok = op
        .responses
        .iter()
        .find(|r| r.is_success())
        .map_or(200, Response::code);
    // (what, status, content type, body, expected kind; None: decodes)
    let mut cases: Vec<(&str, u16, &str, String, Option<ErrorKind>)> = Vec::new();
    let mut bad_bodies = vec![
        ("empty body", "application/json", String::new()),
        (
            "HTML",
            "text/html",
            "<html><body>Oops</body></html>".to_string(),
        ),
        (
            "wrong JSON types",
            "application/json",
            "[1, 2, 3]".to_string(),
        ),
    ];
    if let Some(t) = truncated {
        bad_bodies.push(("truncated JSON", "application/json", t));
    }
    for (what, content_type, body) in bad_bodies {
        // Only where the success type rejects it (raw bytes and any-JSON types take anything).
        if matches!(harness::decode(&op.id, true, body.as_bytes()), Some(Err(_))) {
            cases.push((
                what,
                ok,
                content_type,
                body,
                Some(ErrorKind::InvalidResponse),
            ));
        }
    }
    for (status, kind) in [
        (404, ErrorKind::NotFound),
        (500, ErrorKind::Server),
        (502, ErrorKind::Server),
    ] {
        if !documented.contains(&status) {
            let json_body = json!({"type": "x", "detail": "y"}).to_string();
            cases.push((
                "undocumented status, JSON",
                status,
                "application/json",
                json_body,
                Some(kind),
            ));
            cases.push((
                "undocumented status, HTML",
                status,
                "text/html",
                "<html>down</html>".into(),
                Some(kind),
            ));
        }
    }
    // A valid body with the wrong content type is decoded: the body, not the label, counts.
    let valid = |r: &Response| match (&r.schema, &r.example) {
        (Some(schema), Some(example)) => {
            crate::validate::validate(spec, schema, example).is_empty()
        }
        _ => true,
    };
    if let Some(e) = &example
        && op
            .responses
            .iter()
            .find(|r| r.is_success())
            .is_some_and(valid)
    {
        cases.push((
            "wrong content type, valid JSON",
            ok,
            "text/plain",
            e.to_string(),
            None,
        ));
    }
    let path = concrete_path(op, args);
    for (what, status, content_type, body, kind) in cases {
        report.bad_responses += 1;
        let mock = server
            .mock_async(|when, then| {
                when.path(path.as_str());
                then.status(status)
                    .header("content-type", content_type)
                    .body(body.clone());
            })
            .await;
        let label = format!("{} {what} ({status})", op.id);
        let raw = send_raw(&raw_client(server), hop, args).await;
        if raw.is_err() {
            mock.delete_async().await;
            break; // the arguments do not convert: reported with the responses
        }
        let ext = send_ext(&ext_client(server), hop, args).await;
        let Some(kind) = kind else {
            report.check(matches!(raw, Ok(Ok(_))) && ext.is_ok(), || {
                format!("{label}: not decoded")
            });
            mock.delete_async().await;
            continue;
        };
        {
            report.check(matches!(raw, Ok(Err(_))), || {
                format!("{label}: the raw client did not fail")
            });
            match ext {
                Ok(_) => report
                    .failures
                    .push(format!("{label}: the ext client did not fail")),
                Err(e) => {
                    report.check(e.kind() == kind, || {
                        format!("{label}: kind {} instead of {kind}", e.kind())
                    });
                    report.check(e.status().map(|s| s.as_u16()) == Some(status), || {
                        format!("{label}: status lost ({e})")
                    });
                }
            }
        }
        mock.delete_async().await;
    }
}
