//! The accept loop: HTTP/1.1 with keep-alive, every wait bounded.
//!
//! `axum::serve` has no header or idle timeout, no connection cap and an unbounded drain; this
//! loop adds them on the same hyper it uses:
//! - a connection has `header_timeout` to send a request's head, whether it is new or idle
//!   between requests (a slow or silent client is closed, it holds no slot for long);
//! - at most `connections` at once: the next waits in the kernel's listen queue;
//! - on stop, the listener closes, idle connections close, requests under way finish, and
//!   whatever is left after `drain` is dropped.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The bounds of the accept loop.
pub struct Limits {
    /// Connections at once.
    pub connections: usize,
    /// To send a request's head (and the longest a connection stays idle).
    pub header_timeout: Duration,
    /// How long requests under way may take to finish once stopped.
    pub drain: Duration,
}

/// Serves `app` on `listener` until `stop` resolves, then drains (bounded by `limits.drain`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    stop: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut stop = pin!(stop);
    loop {
        let slot = tokio::select! {
            () = &mut stop => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let stream = loop {
            tokio::select! {
                () = &mut stop => break None,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => break Some(stream),
                    // Out of file descriptors, a connection reset before it was accepted:
                    // the listener itself is fine; a short pause lets descriptors free up.
                    Err(e) => {
                        tracing::warn!(error = %e, "could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                // Reap finished connections so that the set stays small.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        };
        let Some(stream) = stream else { break };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let header_timeout = limits.header_timeout;
        let mut closing = closed.clone();
        connections.spawn(async move {
            let _slot = slot;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = closing.changed() => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = tokio::time::timeout(limits.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "connections still open after the drain; closing them"
        );
        connections.shutdown().await;
    }
}
