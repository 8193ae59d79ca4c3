//! The PostgreSQL ledger's leader lease: a fenced row, and what a leader frozen or cut off in
//! the middle of a write leaves behind.

use crate::common;
use crate::ledger::{change, checkpoint};

use std::time::{Duration, Instant};

use common::ledgers::{self, MidWrite};
use pandadoc_api_ext::ledger::{Ledger, LedgerOptions, PostgresLedger, PostgresOptions};
use pandadoc_api_ext::sync::{CheckpointStore, StoreError};

/// The lease is a row with an epoch: one replica holds it; once it expires (here by hand, as
/// when its holder froze) a stand-by takes it with a new epoch, and the old holder's next
/// write is refused inside its own transaction (the fence), nothing written; a released lease
/// is taken at once; a dropped holder's lease is taken within `lease_ttl + lease_poll`.
#[tokio::test]
async fn postgres_the_lease_is_a_fenced_row() {
    let Some(url) = ledgers::postgres_url() else {
        return;
    };
    let schema = ledgers::unique("lease");
    let options = LedgerOptions::default().schema(&schema);
    let ttl = Duration::from_millis(900);
    let pg = |name: &str| {
        PostgresOptions::default()
            .lease_poll(Duration::from_millis(20))
            .lease_ttl(ttl)
            .application_name(name)
    };
    let a = PostgresLedger::connect(&url, &options, &pg("replica-a"))
        .await
        .unwrap();
    let b = PostgresLedger::connect(&url, &options, &pg("replica-b"))
        .await
        .unwrap();
    assert!(a.try_lead().await.unwrap());
    assert!(!b.try_lead().await.unwrap());
    assert!(a.is_leading() && !b.is_leading());
    assert!(
        b.may_poll().is_ok(),
        "a replica that never led writes under the CAS alone"
    );
    let first = b.leader().await.unwrap().expect("a leader");
    assert!(first.holder.starts_with("replica-a#"), "{first:?}");
    // Another ledger (schema) has a lease of its own.
    let other = ledgers::postgres(&url).await;
    assert!(other.try_lead().await.unwrap());
    a.apply(
        &[change("+14155550100", "opt-out", 1)],
        None,
        &checkpoint(10),
    )
    .await
    .unwrap();

    let admin = ledgers::admin(&url).await;
    admin
        .batch_execute(&format!(
            "UPDATE \"{schema}\".pandadoc_sms_lease SET expires = clock_timestamp() - interval '1 second'"
        ))
        .await
        .unwrap();
    assert!(b.try_lead().await.unwrap());
    let second = a.leader().await.unwrap().expect("b leads");
    assert!(second.holder.starts_with("replica-b#"));
    assert_eq!(second.epoch, first.epoch + 1, "a takeover is a new epoch");
    let err = a
        .apply(
            &[change("+14155550101", "opt-in", 11)],
            Some(&checkpoint(10)),
            &checkpoint(20),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");
    assert!(!a.is_leading() && a.may_poll().is_err());
    assert_eq!(
        a.load().await.unwrap(),
        Some(checkpoint(10)),
        "nothing written"
    );
    assert_eq!(a.entry("+14155550101").await.unwrap(), None);
    b.apply(&[], Some(&checkpoint(10)), &checkpoint(20))
        .await
        .unwrap();
    assert!(!a.try_lead().await.unwrap(), "b renews: a stands by");

    b.release().await.unwrap();
    assert!(
        a.try_lead().await.unwrap(),
        "a released lease is taken at once"
    );
    let began = std::time::Instant::now();
    drop(a);
    tokio::time::timeout(Duration::from_secs(30), b.lead())
        .await
        .expect("the stand-by took over")
        .unwrap();
    let took = began.elapsed();
    assert!(b.is_leading());
    assert!(
        took <= ttl + Duration::from_secs(3),
        "a dead holder's lease is taken within lease_ttl + lease_poll (and room): {took:?}"
    );
    admin
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

/// A leader cut off from the database in the middle of a write (after its fence locked the
/// lease row) leaves a transaction the server keeps open: nothing tells the server its client
/// is gone. The server ends it once it has been idle past its bound, so a stand-by still takes
/// over within `lease_ttl + lease_poll` (and room), and the cut-off write commits nothing.
#[tokio::test]
async fn postgres_a_leader_cut_off_mid_write_does_not_keep_the_lease() {
    let Some(url) = ledgers::postgres_url() else {
        return;
    };
    let schema = ledgers::unique("cut");
    let options = LedgerOptions::default().schema(&schema);
    let ttl = Duration::from_millis(1500);
    let name = ledgers::unique("cut-leader");
    let (proxy, proxied) = common::proxy::Proxy::in_front_of(&url).await;
    let a = PostgresLedger::connect(
        &proxied,
        &options,
        &PostgresOptions::default()
            .lease_ttl(ttl)
            // Room to see the write wait at the checkpoint row before a gives it up, on a
            // loaded machine; the server's idle bound stays a third of the lease (0.5 s).
            .statement_timeout(Duration::from_secs(5))
            .application_name(&name),
    )
    .await
    .unwrap();
    let b = PostgresLedger::connect(
        &url,
        &options,
        &PostgresOptions::default()
            .lease_poll(Duration::from_millis(50))
            .lease_ttl(ttl),
    )
    .await
    .unwrap();
    assert!(a.try_lead().await.unwrap());
    a.apply(
        &[change("+14155550100", "opt-out", 1)],
        None,
        &checkpoint(10),
    )
    .await
    .unwrap();

    // The test holds the checkpoint row, so a's next write stops at its compare-and-set with
    // the lease row already locked by its fence.
    let admin = ledgers::admin(&url).await;
    let held = MidWrite::take(&url, &schema).await;
    let write = tokio::spawn({
        let a = a.clone();
        async move {
            a.apply(
                &[change("+14155550101", "opt-in", 11)],
                Some(&checkpoint(10)),
                &checkpoint(20),
            )
            .await
        }
    });
    let held = held.until_waiting(&name).await;
    // The partition; then the checkpoint row is free and a's transaction goes on on the
    // server, to wait for a next statement that never comes.
    proxy.pause();
    held.release().await;
    let began = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), b.lead())
        .await
        .expect("the stand-by took over from a leader cut off mid-write")
        .unwrap();
    let took = began.elapsed();
    assert!(
        took <= ttl + Duration::from_secs(3),
        "taken within lease_ttl + lease_poll (and room): {took:?}"
    );
    let err = write.await.unwrap().unwrap_err();
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
    assert_eq!(
        ledgers::backends(&admin, &name, "idle in transaction").await,
        0,
        "the server ended a's transaction"
    );
    assert_eq!(
        b.load().await.unwrap(),
        Some(checkpoint(10)),
        "nothing written"
    );
    assert_eq!(b.entry("+14155550101").await.unwrap(), None);
    b.apply(&[], Some(&checkpoint(10)), &checkpoint(20))
        .await
        .unwrap();
    drop((a, proxy));
    admin
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .unwrap();
}
