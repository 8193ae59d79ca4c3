//! Reading one window ahead: the next window's request runs while the current one is committed.
//!
//! Only a whole window (`max_window` long, ending before the sync's target) is read ahead: its
//! bounds follow from the checkpoint alone, not from the clock, so the next step asks for
//! exactly that window and takes the page read ahead instead of asking again. At most one page
//! is held; it is used only after the window before it was committed (the checkpoint moved to
//! where that page starts), and dropped with everything else when a commit fails.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::Instrument;

use super::{SyncError, SyncOptions};
use crate::{Client, Error, SmsOptOuts, TimeRange};

/// A window read ahead, with its span (the window's span covers its request and its commit).
pub(super) struct Ahead {
    pub(super) from: DateTime<Utc>,
    pub(super) to: DateTime<Utc>,
    pub(super) page: Result<SmsOptOuts, Error>,
    pub(super) span: tracing::Span,
}

impl Ahead {
    /// The page, if this is the window `from..to`.
    pub(super) fn take_if(
        this: &mut Option<Self>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<Self> {
        this.take().filter(|a| a.from == from && a.to == to)
    }
}

/// Requests the window `from..to` after waiting for its turn under the configured rate.
pub(super) async fn fetch(
    client: &Client,
    last_request: &mut Option<tokio::time::Instant>,
    options: &SyncOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<SmsOptOuts, Error> {
    if let Some(limit) = options.requests_per_minute {
        let gap = Duration::from_secs(60) / limit;
        if let Some(last) = *last_request {
            tokio::time::sleep_until(last + gap).await;
        }
    }
    *last_request = Some(tokio::time::Instant::now());
    client.sms_opt_outs(TimeRange::between(from, to)).await
}

/// [`fetch`] inside `span`.
pub(super) async fn fetch_in(
    span: tracing::Span,
    client: &Client,
    last_request: &mut Option<tokio::time::Instant>,
    options: &SyncOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Ahead {
    let page = fetch(client, last_request, options, from, to)
        .instrument(span.clone())
        .await;
    Ahead {
        from,
        to,
        page,
        span,
    }
}

/// Runs `commit` and `read` together: `commit`'s error at once (dropping `read`, its request
/// with it), otherwise both results once both are done.
pub(super) async fn alongside<T, U>(
    commit: impl Future<Output = Result<T, SyncError>>,
    read: impl Future<Output = U>,
) -> Result<(T, U), SyncError> {
    let (mut commit, mut read) = (std::pin::pin!(commit), std::pin::pin!(read));
    let (mut committed, mut was_read) = (None, None);
    std::future::poll_fn(|cx| {
        if committed.is_none()
            && let Poll::Ready(result) = commit.as_mut().poll(cx)
        {
            committed = Some(result?);
        }
        if was_read.is_none()
            && let Poll::Ready(page) = read.as_mut().poll(cx)
        {
            was_read = Some(page);
        }
        match (committed.take(), was_read.take()) {
            (Some(t), Some(u)) => Poll::Ready(Ok((t, u))),
            (t, u) => {
                (committed, was_read) = (t, u);
                Poll::Pending
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_commit_ends_at_once_and_drops_the_read() {
        let read_dropped = std::sync::Arc::new(());
        let held = read_dropped.clone();
        let result = alongside(
            async { Err::<(), _>(SyncError::Rejected("no".into())) },
            async move {
                let _held = held;
                std::future::pending::<()>().await
            },
        )
        .await;
        assert!(matches!(result, Err(SyncError::Rejected(_))));
        assert_eq!(std::sync::Arc::strong_count(&read_dropped), 1);
    }

    #[tokio::test]
    async fn both_results_once_both_are_done() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let result = alongside(
            async move {
                tx.send(7).unwrap();
                Ok::<_, SyncError>("committed")
            },
            async move { rx.await.unwrap() },
        )
        .await
        .unwrap();
        assert_eq!(result, ("committed", 7));
    }
}
