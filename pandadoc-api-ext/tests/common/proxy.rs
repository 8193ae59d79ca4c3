//! A loopback TCP proxy that can stop forwarding without closing anything: a network partition
//! as a process behind it sees one (its bytes go out and nothing comes back).
#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The proxy; it stops when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    paused: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Forwards every connection to `127.0.0.1:port` to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (paused, watching) = watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let watching = watching.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (from_client, to_client) = inbound.into_split();
                    let (from_server, to_server) = outbound.into_split();
                    tokio::join!(
                        pipe(from_client, to_server, watching.clone()),
                        pipe(from_server, to_client, watching),
                    );
                });
            }
        });
        Self { addr, paused, task }
    }

    /// A proxy in front of the database of the PostgreSQL URL `url` (a loopback address and
    /// port after its `@`), and the same URL through the proxy.
    pub async fn in_front_of(url: &str) -> (Self, String) {
        let database: SocketAddr = url
            .split_once('@')
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|host_port| host_port.parse().ok())
            .expect("the test server is on a loopback address and port");
        let proxy = Self::start(database).await;
        let proxied = url.replace(&database.to_string(), &proxy.addr.to_string());
        (proxy, proxied)
    }

    /// Stops forwarding, in both directions, on every connection (new ones included); nothing
    /// is closed.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Forwards again, what was held first.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn wait_while_paused(paused: &mut watch::Receiver<bool>) -> bool {
    while *paused.borrow_and_update() {
        if paused.changed().await.is_err() {
            return false;
        }
    }
    true
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut paused: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if !wait_while_paused(&mut paused).await {
            return;
        }
        tokio::select! {
            read = from.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                // Bytes read just as the partition began are held until it ends.
                if !wait_while_paused(&mut paused).await || to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            _ = paused.changed() => {}
        }
    }
}
