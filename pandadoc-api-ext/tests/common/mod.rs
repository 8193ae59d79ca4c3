//! Test support: a scripted server on the shared loopback server (httpmock cannot answer a
//! sequence), the simulated endpoint, ledgers, and a client for a mock base URL.
#![allow(dead_code)]

pub mod cluster;
pub mod daemon;
pub mod ledgers;
pub mod loopback;
pub mod proxy;
pub mod sim;

use std::sync::{Arc, Mutex};

use loopback::{Loopback, write_answer};
use tokio::io::AsyncWriteExt;

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
    server: Loopback,
    pub heads: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = heads.clone();
        let server = Loopback::start(move |request, socket| {
            recorded.lock().unwrap().push(request.head);
            let reply = replies[request.number.min(replies.len() - 1)].clone();
            Box::pin(async move {
                match reply {
                    Reply::Drop => false,
                    Reply::CutShort(status, body) => {
                        let head = format!(
                            "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len() + 100
                        );
                        let _ = socket.write_all(head.as_bytes()).await;
                        false
                    }
                    Reply::Http(status, headers, body) => {
                        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
                        write_answer(socket, status, &headers, body.as_bytes()).await
                    }
                }
            })
        })
        .await;
        Self {
            base_url: server.base_url.clone(),
            server,
            heads,
        }
    }

    pub fn hits(&self) -> usize {
        self.server.requests()
    }
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
