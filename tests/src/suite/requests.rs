//! Requests: what each client sends for every operation and security scheme.

use super::*;

/// A captured request: method, raw URI, headers and body.
#[derive(Clone, Debug)]
pub(super) struct Captured {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What each client sends: method, path, only declared query parameters, date-times in RFC 3339
/// and percent-encoded, `Accept`, `Authorization` per security scheme, and the body
/// ([`super::bodies`]).
pub(super) async fn requests(case: &Case<'_>, report: &mut Report) {
    let Case {
        spec,
        server,
        op,
        hop,
        args,
    } = *case;
    let success = op.responses.iter().find(|r| r.is_success());
    let captured: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let sink = captured.clone();
    let mock = server
        .mock_async(|when, then| {
            when.is_true(move |req| {
                sink.lock().unwrap().push(Captured {
                    method: req.method_str().to_string(),
                    uri: req
                        .uri()
                        .path_and_query()
                        .map_or_else(String::new, |pq| pq.as_str().to_string()),
                    headers: req.headers_vec().clone(),
                    body: req.body_vec(),
                });
                true
            });
            let then = then.status(success.map_or(200, Response::code));
            if let Some(body) = success.and_then(|r| r.example.clone()) {
                then.header("content-type", "application/json")
                    .json_body(body);
            }
        })
        .await;

    // (label, expected Authorization) for the raw client and each security scheme.
    let mut variants: Vec<(String, Option<String>)> = vec![("raw client".into(), None)];
    let schemes = spec.security_schemes();
    for name in &op.security {
        let Some((_, scheme)) = schemes.iter().find(|(n, _)| n == name) else {
            report
                .failures
                .push(format!("{}: security scheme {name} is not defined", op.id));
            continue;
        };
        match (
            scheme["type"].as_str(),
            scheme["in"].as_str(),
            scheme["scheme"].as_str(),
        ) {
            (Some("apiKey"), Some("header"), _) => {
                // The value's format is the scheme's `x-default` (PandaDoc: "API-Key <key>").
                let prefix = scheme["x-default"]
                    .as_str()
                    .and_then(|d| d.split_once(' '))
                    .map_or("API-Key", |(p, _)| p);
                variants.push((format!("scheme {name}"), Some(format!("{prefix} {KEY}"))));
            }
            (Some("oauth2"), _, _) | (Some("http"), _, Some("bearer")) => {
                variants.push((format!("scheme {name}"), Some(format!("Bearer {TOKEN}"))));
            }
            other => report.failures.push(format!(
                "{}: security scheme {name} ({other:?}) has no contract check",
                op.id
            )),
        }
    }

    for (label, auth) in variants {
        captured.lock().unwrap().clear();
        let result = match &auth {
            None => match send_raw(&raw_client(server), hop, args).await {
                Ok(_) => Ok(()),
                Err(_) => break, // reported with the responses
            },
            Some(header) => {
                let builder = pandadoc_api_ext::Client::builder()
                    .base_url(server.base_url())
                    .retry(RetryPolicy::disabled());
                let builder = if header.starts_with("Bearer ") {
                    builder.access_token(TOKEN)
                } else {
                    builder.api_key(KEY)
                };
                let client = builder.build().expect("a valid client");
                // Only the request matters here: an answer that does not decode is checked
                // with the responses.
                match send_ext(&client, hop, args).await {
                    Err(e) if e.kind() != ErrorKind::InvalidResponse => Err(e.to_string()),
                    _ => Ok(()),
                }
            }
        };
        let label = format!("{} request ({label})", op.id);
        if let Err(e) = result {
            report.failures.push(format!("{label}: {e}"));
            continue;
        }
        let Some(request) = captured.lock().unwrap().last().cloned() else {
            report.failures.push(format!("{label}: nothing captured"));
            continue;
        };
        check_request(&label, op, args, &request, auth.as_deref(), success, report);
        let content_type = request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        super::bodies::check(
            spec,
            op,
            &label,
            args.get("body"),
            content_type,
            &request.body,
            report,
        )
        .await;
    }
    mock.delete_async().await;
}

pub(super) fn check_request(
    label: &str,
    op: &Operation,
    args: &Map<String, Value>,
    request: &Captured,
    auth: Option<&str>,
    success: Option<&Response>,
    report: &mut Report,
) {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (path, query) = request.uri.split_once('?').unwrap_or((&request.uri, ""));
    report.request_checks += 2;
    report.check(request.method.eq_ignore_ascii_case(&op.method), || {
        format!("{label}: method {}", request.method)
    });
    report.check(path == concrete_path(op, args), || {
        format!("{label}: path {path}")
    });

    let declared: Vec<&Value> = op
        .parameters
        .iter()
        .filter(|p| p["in"] == "query")
        .collect();
    // A path key may carry a fixed query marker (`/documents?upload`): it is declared too.
    let markers: Vec<&str> = op
        .path
        .split_once('?')
        .map(|(_, q)| q.split('&').collect())
        .unwrap_or_default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(raw_name);
        report.request_checks += 1;
        if markers.contains(&pair) {
            continue;
        }
        let Some(param) = declared.iter().find(|p| p["name"] == name.as_str()) else {
            report
                .failures
                .push(format!("{label}: undeclared query parameter {name}"));
            continue;
        };
        let value = decode(raw_value);
        if param["schema"]["format"] == "date-time" {
            report.request_checks += 2;
            report.check(chrono::DateTime::parse_from_rfc3339(&value).is_ok(), || {
                format!("{label}: {name}={value} is not RFC 3339")
            });
            report.check(!raw_value.contains(['+', ':', ' ']), || {
                format!("{label}: {name}={raw_value} is not percent-encoded")
            });
            if let Some(Value::String(sent)) = args.get(&name) {
                report.check(same_instant(sent, &value), || {
                    format!("{label}: {name} sent {value} for {sent}")
                });
            }
        }
    }
    for p in &declared {
        let name = p["name"].as_str().unwrap_or_default();
        if args.contains_key(name) {
            report.request_checks += 1;
            report.check(
                query
                    .split('&')
                    .any(|kv| decode(kv.split('=').next().unwrap_or("")) == name),
                || format!("{label}: query parameter {name} was not sent"),
            );
        }
    }
    // A raw success body (mixed success kinds) is asked for as `*/*`: any body is taken.
    let raw_success = harness::raw_success(&op.id);
    if success.is_some_and(|r| r.schema.is_some()) && !raw_success {
        report.request_checks += 1;
        report.check(
            header("accept").is_some_and(|a| a.contains("application/json")),
            || format!("{label}: Accept {:?}", header("accept")),
        );
    }
    report.request_checks += 1;
    report.check(header("authorization") == auth, || match auth {
        Some(_) => format!("{label}: Authorization is not in the scheme's format"),
        None => format!("{label}: the raw client without hooks sent an Authorization header"),
    });
}

pub(super) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
