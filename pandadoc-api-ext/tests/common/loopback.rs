//! The one loopback HTTP/1.1 server of the tests and benches: it accepts keep-alive
//! connections on 127.0.0.1, reads each request head and hands it, numbered in arrival order, to
//! a handler that writes the answer (or drops, cuts short or stalls the connection). The
//! scripted server, the simulated endpoint and the client benchmark are handlers of it.
//! Request bodies are not read (the clients under test send none).
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a handler returns: whether the connection stays open for the next request.
pub type Answer<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Request {
    /// The head, up to and including the blank line.
    pub head: String,
    /// 0 for the first request the server saw, across connections.
    pub number: usize,
}

impl Request {
    /// The request target (`/path?query`).
    pub fn target(&self) -> &str {
        self.head.split_whitespace().nth(1).unwrap_or("")
    }
}

/// A running server; it stops with the runtime that started it.
#[derive(Clone)]
pub struct Loopback {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    requests: Arc<AtomicUsize>,
}

impl Loopback {
    /// Serves every request with `handler`.
    pub async fn start<H>(handler: H) -> Self
    where
        H: for<'a> Fn(Request, &'a mut TcpStream) -> Answer<'a> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let (handler, counter) = (Arc::new(handler), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let (handler, counter) = (handler.clone(), counter.clone());
                tokio::spawn(async move {
                    let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 8192]);
                    while let Some(head) = read_head(&mut socket, &mut buf, &mut chunk).await {
                        let number = counter.fetch_add(1, Ordering::SeqCst);
                        if !handler(Request { head, number }, &mut socket).await {
                            return;
                        }
                    }
                });
            }
        });
        Self { base_url, requests }
    }

    /// How many request heads have arrived.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Writes a whole answer; `false` when the peer is gone.
pub async fn write_answer(
    socket: &mut TcpStream,
    status: u16,
    headers: &[&str],
    body: &[u8],
) -> bool {
    let mut out = format!(
        "HTTP/1.1 {status} Loopback\r\ncontent-length: {}\r\n",
        body.len()
    );
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    socket.write_all(&out).await.is_ok()
}

/// The next request head (up to the blank line) on `socket`, each byte scanned once; `buf`
/// keeps what was read past it, `chunk` is the connection's read buffer. `None` when the peer
/// closed.
async fn read_head(socket: &mut TcpStream, buf: &mut Vec<u8>, chunk: &mut [u8]) -> Option<String> {
    let mut scanned = 0;
    let end = loop {
        if let Some(p) = buf[scanned..].windows(4).position(|w| w == b"\r\n\r\n") {
            break scanned + p + 4;
        }
        scanned = buf.len().saturating_sub(3);
        match socket.read(chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = match std::str::from_utf8(&buf[..end]) {
        Ok(head) => head.to_owned(),
        Err(_) => String::from_utf8_lossy(&buf[..end]).into_owned(),
    };
    buf.drain(..end);
    Some(head)
}
