//! TLS to PostgreSQL as libpq means it, against a server of the test's own with `ssl=on` and a
//! certificate for `localhost` from a CA made here: `verify-full` passes; a wrong CA, a wrong
//! host name, and a server without TLS under `require` each fail with a clear error;
//! `verify-ca` ignores the name; `prefer` falls back to plain text.

use crate::common;

use common::cluster::{self, Cluster};
use pandadoc_api_ext::ledger::{Ledger, LedgerOptions, LedgerUrl};
use pandadoc_api_ext::sync::StoreError;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A CA: its certificate (PEM) and what signs with it.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(params, key))
}

async fn open(url: &str) -> Result<(), StoreError> {
    let ledger = LedgerUrl::parse(url)?
        .open(&LedgerOptions::default())
        .await?;
    ledger.stats().await.map(drop)
}

fn chain_of(err: &StoreError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        text.push_str(&format!(" / {e}"));
        source = e.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_as_libpq_means_it() {
    let Some(bin) = cluster::binaries("the PostgreSQL TLS test") else {
        return;
    };
    let (other_pem, _) = ca("another CA");
    let (ca_pem, ca) = ca("pandadoc test CA");
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let cert_pem = cert.pem();
    let key_pem = key.serialize_pem();
    let server = tokio::task::spawn_blocking(move || {
        Cluster::start(
            &bin,
            &[
                ("server.crt", cert_pem.as_bytes()),
                ("server.key", key_pem.as_bytes()),
            ],
            &[("ssl", "on")],
        )
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("ca.pem");
    std::fs::write(&roots, &ca_pem).unwrap();
    let wrong = dir.path().join("other.pem");
    std::fs::write(&wrong, &other_pem).unwrap();
    let with = |host: &str, mode: &str, root: &std::path::Path| {
        server.url(
            host,
            &format!("?sslmode={mode}&sslrootcert={}", root.display()),
        )
    };

    // verify-full: the ledger's sessions are up, and encrypted (counted while it is open).
    let url = LedgerUrl::parse(&with("localhost", "verify-full", &roots)).unwrap();
    let verified = url.open(&LedgerOptions::default()).await.unwrap();
    verified.stats().await.unwrap();
    let err = open(&with("localhost", "verify-full", &wrong))
        .await
        .unwrap_err();
    assert!(
        chain_of(&err).to_lowercase().contains("certificate"),
        "{}",
        chain_of(&err)
    );
    let err = open(&with("127.0.0.1", "verify-full", &roots))
        .await
        .unwrap_err();
    let chain = chain_of(&err);
    assert!(
        chain.contains("not valid for name") || chain.contains("NotValidForName"),
        "{chain}"
    );
    // verify-ca checks the chain, not the name; require and prefer encrypt without checking.
    open(&with("127.0.0.1", "verify-ca", &roots)).await.unwrap();
    let err = open(&with("127.0.0.1", "verify-ca", &wrong))
        .await
        .unwrap_err();
    assert!(
        chain_of(&err).to_lowercase().contains("certificate"),
        "{}",
        chain_of(&err)
    );
    open(&server.url("127.0.0.1", "?sslmode=require"))
        .await
        .unwrap();
    open(&server.url("127.0.0.1", "")).await.unwrap();
    let (client, connection) = tokio_postgres::connect(
        &server.url("127.0.0.1", "?sslmode=disable"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let encrypted: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl WHERE ssl AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        encrypted >= 1,
        "the ledger's sessions are encrypted: {}",
        server.log()
    );
    drop(verified);

    // A server without TLS: require fails, clearly; prefer and disable connect in plain text.
    if let Some(plain) = common::ledgers::postgres_url() {
        let separator = if plain.contains('?') { '&' } else { '?' };
        let err = open(&format!("{plain}{separator}sslmode=require"))
            .await
            .unwrap_err();
        assert!(
            chain_of(&err).contains("TLS") || chain_of(&err).contains("SSL"),
            "{}",
            chain_of(&err)
        );
        open(&format!("{plain}{separator}sslmode=prefer"))
            .await
            .unwrap();
    }
}
