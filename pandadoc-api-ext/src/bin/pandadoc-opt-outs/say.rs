//! What the program says on stderr: status lines (silenced by `--quiet`), the final error line,
//! and tracing's logs. As text, or with `--log-format json` as one JSON object a line, shaped as
//! tracing-subscriber's (`timestamp`, `level`, `target`, `fields`), so that every stderr line of
//! a JSON run parses. A progress bar on a terminal is suspended while any line is written, so a
//! line is never overdrawn.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use indicatif::ProgressBar;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

struct Settings {
    json: bool,
    quiet: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// How lines are said, for the whole run (before any is).
pub fn init(json: bool, quiet: bool) {
    let _ = SETTINGS.set(Settings { json, quiet });
}

/// Whether lines are JSON.
pub fn json() -> bool {
    SETTINGS.get().is_some_and(|s| s.json)
}

fn quiet() -> bool {
    SETTINGS.get().is_some_and(|s| s.quiet)
}

/// A status line (progress, stand-by, notes); nothing with `--quiet`.
pub fn status(message: &str) {
    if quiet() {
        return;
    }
    if json() {
        line(&object("INFO", message, None));
    } else {
        line(message);
    }
}

/// The error line that ends a run: `error[KIND]: message`, or a JSON object with its kind.
pub fn error(kind: &str, message: &str) {
    if json() {
        line(&object("ERROR", message, Some(kind)));
    } else {
        line(&format!("error[{kind}]: {message}"));
    }
}

fn object(level: &str, message: &str, kind: Option<&str>) -> String {
    let mut fields = json!({ "message": message });
    if let Some(kind) = kind {
        fields["kind"] = json!(kind);
    }
    json!({
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "level": level,
        "target": "pandadoc_opt_outs",
        "fields": fields,
    })
    .to_string()
}

/// The progress bar lines are written around (`None` once it is cleared).
pub fn set_bar(bar: Option<ProgressBar>) {
    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

fn line(text: &str) {
    write(format!("{text}\n").as_bytes());
}

fn write(bytes: &[u8]) {
    let raw = || {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(bytes);
        let _ = stderr.flush();
    };
    match &*BAR.lock().unwrap_or_else(|e| e.into_inner()) {
        Some(bar) => bar.suspend(raw),
        None => raw(),
    }
}

/// tracing's writer: each event buffered, then written as `line`s are.
pub struct Logs;

/// One event's bytes.
pub struct Event(Vec<u8>);

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Event;
    fn make_writer(&'a self) -> Event {
        Event(Vec::new())
    }
}

impl Write for Event {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            write(&self.0);
        }
    }
}
