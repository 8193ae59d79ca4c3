//! Test support: a scripted loopback HTTP/1.1 server (httpmock cannot answer a sequence) and
//! a client for a mock base URL.
#![allow(dead_code)]

pub mod ledgers;
pub mod sim;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const KEY: &str = "test-key-7f3a9c2e1b";

/// One scripted answer.
#[derive(Clone)]
pub enum Reply {
    /// Status, extra header lines (`name: value`), body.
    Http(u16, Vec<String>, String),
    /// Close the connection without answering.
    Drop,
    /// Status and a body cut short: the head promises more bytes than are sent, then the
    /// connection closes.
    CutShort(u16, String),
}

pub fn json(status: u16, body: serde_json::Value) -> Reply {
    Reply::Http(
        status,
        vec!["content-type: application/json".into()],
        body.to_string(),
    )
}

/// A server that answers the n-th request with the n-th reply (the last one repeats), and
/// records each request's head.
pub struct Scripted {
    pub base_url: String,
    hits: Arc<AtomicUsize>,
    pub heads: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (h, r) = (hits.clone(), heads.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (hits, heads, replies) = (h.clone(), r.clone(), replies.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let Some(head) = read_head(&mut socket, &mut buf).await else {
                            return;
                        };
                        heads.lock().unwrap().push(head);
                        let n = hits.fetch_add(1, Ordering::SeqCst);
                        match &replies[n.min(replies.len() - 1)] {
                            Reply::Drop => return,
                            Reply::CutShort(status, body) => {
                                let head = format!(
                                    "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                                    body.len() + 100
                                );
                                let _ = socket.write_all(head.as_bytes()).await;
                                return;
                            }
                            Reply::Http(status, headers, body) => {
                                let mut head = format!(
                                    "HTTP/1.1 {status} Scripted\r\ncontent-length: {}\r\n",
                                    body.len()
                                );
                                for h in headers {
                                    head.push_str(h);
                                    head.push_str("\r\n");
                                }
                                head.push_str("\r\n");
                                if socket.write_all(head.as_bytes()).await.is_err()
                                    || socket.write_all(body.as_bytes()).await.is_err()
                                {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        Self {
            base_url,
            hits,
            heads,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The next request head (up to the blank line) on `socket`; `buf` keeps what was read past
/// it. `None` when the peer closed. Request bodies are not read (the client sends none here).
pub async fn read_head(socket: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end);
    Some(head)
}

/// The `pandadoc-opt-outs` program, with no environment but what a test gives it.
pub fn program() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("pandadoc-opt-outs"));
    command.env_clear();
    command
}

pub fn client(base_url: &str) -> pandadoc_api_ext::ClientBuilder {
    pandadoc_api_ext::Client::builder()
        .api_key(KEY)
        .base_url(base_url)
}

pub fn page() -> serde_json::Value {
    serde_json::json!({"results": [
        {"phone_number": "+1234567890", "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00Z"}
    ]})
}
