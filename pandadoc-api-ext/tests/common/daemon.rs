//! `pandadoc-opt-outs serve` as a process: on a free loopback port, its stderr read line by
//! line, stopped with SIGTERM or killed when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a test waits for a line it expects (a loaded machine is slow, never this slow).
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Daemon {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    lines: Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

impl Daemon {
    /// Starts `serve ARGS --listen 127.0.0.1:0` with `env`, and waits until it listens.
    pub fn serve(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = super::program();
        command
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Self {
            child,
            base: String::new(),
            lines,
            seen: Vec::new(),
        };
        let line = daemon
            .wait_for(|l| l.starts_with("listening on http://"))
            .unwrap_or_else(|| panic!("serve did not listen: {:?}", daemon.seen));
        daemon.base = line.trim_start_matches("listening on ").to_string();
        daemon
    }

    /// The first line from now on (or already seen) that `wanted` accepts; `None` if the
    /// process ends or [`PATIENCE`] passes first.
    pub fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> Option<String> {
        if let Some(line) = self.seen.iter().find(|l| wanted(l)) {
            return Some(line.clone());
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to end, and reads the rest of its stderr.
    pub fn wait(&mut self) -> ExitStatus {
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            self.seen.push(line);
        }
        status
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scrape of `/metrics`, parsed as Prometheus parses it.
pub async fn scrape(http: &reqwest::Client, url: &str) -> prometheus_parse::Scrape {
    let answer = http.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let kind = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = answer.text().await.unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The value of the sample `name` whose labels include `labels`: a counter's, a gauge's, or a
/// histogram's count (its `+Inf` bucket).
pub fn value(
    scrape: &prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    use prometheus_parse::Value;
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(0.0, |b| b.count),
            Value::Summary(_) => panic!("{name} is a summary"),
        })
}
