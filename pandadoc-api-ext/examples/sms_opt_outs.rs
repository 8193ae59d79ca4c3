//! Prints the SMS opt-out changes of a time window, one JSON object per line.
//!
//! ```text
//! PANDADOC_API_KEY=... cargo run -q -p pandadoc-api-ext --example sms_opt_outs -- --last 24h
//! PANDADOC_ACCESS_TOKEN=... cargo run -q -p pandadoc-api-ext --example sms_opt_outs -- \
//!     --from 2025-01-28T00:00:00Z --to 2025-01-29T00:00:00Z
//! ```
//!
//! `PANDADOC_BASE_URL` points it at another server (a local mock). On failure it prints one
//! line `error[KIND]: detail` to stderr (`error[KIND]: HTTP 503 Service Unavailable: detail`
//! when the server answered) and exits 2 for invalid input, 1 otherwise.

use std::process::ExitCode;

use chrono::{DateTime, TimeDelta, Utc};
use pandadoc_api_ext::{Client, Error, ErrorKind, TimeRange};

const USAGE: &str = "usage: sms_opt_outs [--last <N>s|m|h|d] [--from <RFC 3339>] [--to <RFC 3339>]";

fn parse_span(text: &str) -> Result<TimeDelta, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| format!("--last {text:?}: expected a number and a unit, like 24h"))?;
    let span = match unit {
        "s" => TimeDelta::try_seconds(n),
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        _ => return Err(format!("--last {text:?}: the unit is one of s, m, h, d")),
    };
    span.ok_or_else(|| format!("--last {text:?}: too long"))
}

fn parse_time(flag: &str, text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{flag} {text:?}: not an RFC 3339 time ({e})"))
}

fn parse_args(args: &[String]) -> Result<TimeRange, String> {
    let (mut last, mut from, mut to) = (None, None, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--last" => last = Some(parse_span(value()?)?),
            "--from" => from = Some(parse_time(flag, value()?)?),
            "--to" => to = Some(parse_time(flag, value()?)?),
            other => return Err(format!("unknown argument {other:?} ({USAGE})")),
        }
    }
    Ok(match (last, from, to) {
        (None, None, None) => TimeRange::default(),
        (Some(span), None, None) => TimeRange::last(span),
        (None, Some(from), None) => TimeRange::since(from),
        (None, Some(from), Some(to)) => TimeRange::between(from, to),
        (None, None, Some(to)) => TimeRange::between(to - TimeDelta::hours(1), to),
        _ => return Err("--last does not go with --from or --to".to_string()),
    })
}

async fn run(range: TimeRange) -> Result<(), Error> {
    let client = Client::from_env()?;
    let page = client.sms_opt_outs(range).await?;
    let mut out = std::io::stdout().lock();
    for change in &page.changes {
        serde_json::to_writer(&mut out, change).expect("stdout");
        std::io::Write::write_all(&mut out, b"\n").expect("stdout");
    }
    eprintln!("{} changes in {}", page.changes.len(), page.window);
    Ok(())
}

/// `error[KIND]: HTTP 503 Service Unavailable: detail`, the status part only when there was one.
fn error_line(e: &Error) -> String {
    let status = match e.status() {
        Some(s) => match s.canonical_reason() {
            Some(reason) => format!("HTTP {} {reason}: ", s.as_u16()),
            None => format!("HTTP {}: ", s.as_u16()),
        },
        None => String::new(),
    };
    format!(
        "error[{}]: {status}{}",
        e.kind(),
        e.message().replace('\n', " ")
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let range = match parse_args(&args) {
        Ok(range) => range,
        Err(message) => {
            eprintln!("error[{}]: {message}", ErrorKind::InvalidInput);
            return ExitCode::from(2);
        }
    };
    match run(range).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_line(&e));
            ExitCode::from(if e.kind() == ErrorKind::InvalidInput {
                2
            } else {
                1
            })
        }
    }
}
