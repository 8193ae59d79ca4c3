//! TLS to PostgreSQL as libpq means it: `sslmode` and `sslrootcert` read from the URL, on rustls.
//!
//! | `sslmode` | TLS | the server's certificate |
//! | --- | --- | --- |
//! | `disable` | never | — |
//! | `prefer` (the default, as libpq's) | tried first; plain text if the server has none | not checked |
//! | `require` | required | not checked, unless `sslrootcert` is given: then as `verify-ca` (libpq's rule) |
//! | `verify-ca` | required | signed by a root of `sslrootcert` |
//! | `verify-full` | required | signed by a root of `sslrootcert`, and issued for the host connected to |
//!
//! `sslrootcert` is a PEM file of root certificates, or `system` for the platform's roots (the
//! default of the `verify-*` modes here; libpq's default is `~/.postgresql/root.crt`).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;

use crate::sync::StoreError;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Where the roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Roots {
    System,
    Pem(PathBuf),
}

/// The TLS settings of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tls {
    pub mode: Mode,
    pub roots: Option<Roots>,
}

/// Takes `sslmode` and `sslrootcert` out of `url`'s query (tokio-postgres knows neither
/// `verify-*` nor `sslrootcert`): the URL left, and the settings.
pub(crate) fn split(url: &str) -> Result<(String, Tls), StoreError> {
    let invalid = |message: String| StoreError::InvalidInput { message };
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut tls = Tls {
        mode: Mode::Prefer,
        roots: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                tls.mode = match value {
                    "disable" => Mode::Disable,
                    "prefer" | "allow" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(invalid(format!(
                            "sslmode={other} is not one of disable, prefer, require, verify-ca, \
                             verify-full"
                        )));
                    }
                }
            }
            "sslrootcert" => {
                let value = percent_decode(value)?;
                tls.roots = Some(if value == "system" {
                    Roots::System
                } else {
                    Roots::Pem(PathBuf::from(value))
                });
            }
            _ => kept.push(pair),
        }
    }
    if tls.mode == Mode::Require && tls.roots.is_some() {
        tls.mode = Mode::VerifyCa;
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, tls))
}

fn percent_decode(value: &str) -> Result<String, StoreError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(StoreError::InvalidInput {
                    message: "sslrootcert: a % not followed by two hex digits".into(),
                });
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| StoreError::InvalidInput {
        message: "sslrootcert is not UTF-8".into(),
    })
}

impl Tls {
    /// tokio-postgres's mode for these settings.
    pub fn ssl_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// The rustls configuration (`None` for `disable`). A root file that cannot be read or
    /// holds no certificate is invalid input naming it.
    pub fn client_config(
        &self,
        location: &str,
    ) -> Result<Option<rustls::ClientConfig>, StoreError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let setup = |e: rustls::Error| StoreError::Database {
            location: location.to_string(),
            operation: "set up TLS".into(),
            source: Box::new(e),
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(setup)?;
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, &self.roots) {
            (Mode::Disable, _) => return Ok(None),
            (Mode::Prefer | Mode::Require, _) => Arc::new(Unchecked(provider)),
            (mode, roots) => {
                let full: Arc<dyn ServerCertVerifier> = match roots {
                    None | Some(Roots::System) => {
                        Arc::new(rustls_platform_verifier::Verifier::new(provider).map_err(setup)?)
                    }
                    Some(Roots::Pem(path)) => {
                        let mut store = RootCertStore::empty();
                        let unreadable = |why: String| StoreError::InvalidInput {
                            message: format!("sslrootcert {}: {why}", path.display()),
                        };
                        for cert in CertificateDer::pem_file_iter(path)
                            .map_err(|e| unreadable(e.to_string()))?
                        {
                            let cert = cert.map_err(|e| unreadable(e.to_string()))?;
                            store.add(cert).map_err(|e| unreadable(e.to_string()))?;
                        }
                        if store.is_empty() {
                            return Err(unreadable("no certificate in it".into()));
                        }
                        WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
                            .build()
                            .map_err(|e| unreadable(e.to_string()))?
                    }
                };
                if mode == Mode::VerifyCa {
                    Arc::new(AnyName(full))
                } else {
                    full
                }
            }
        };
        Ok(Some(
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth(),
        ))
    }
}

/// `prefer` and `require`: encrypted, the certificate not checked (libpq's meaning). The
/// handshake's signatures still are.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

/// `verify-ca`: the chain checked by the inner verifier, the host name not.
#[derive(Debug)]
struct AnyName(Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_what_tokio_postgres_reads_and_gives_libpqs_modes() {
        let (url, tls) = split(
            "postgres://u@h/d?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/d?connect_timeout=5");
        assert_eq!(tls.mode, Mode::VerifyFull);
        assert_eq!(tls.roots, Some(Roots::Pem("/etc/ca.pem".into())));
        let (url, tls) = split("postgres://u@h/d").unwrap();
        assert_eq!((url.as_str(), tls.mode), ("postgres://u@h/d", Mode::Prefer));
        // libpq: require with a root certificate verifies the chain.
        let (_, tls) = split("postgres://h/d?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!(tls.mode, Mode::VerifyCa);
        assert!(split("postgres://h/d?sslmode=verify-everything").is_err());
        assert_eq!(tls.ssl_mode(), SslMode::Require);
    }

    #[test]
    fn a_root_file_that_holds_no_certificate_is_invalid_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let tls = Tls {
            mode: Mode::VerifyFull,
            roots: Some(Roots::Pem(path)),
        };
        let err = tls.client_config("db").unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
        assert!(err.to_string().contains("empty.pem"), "{err}");
    }
}
