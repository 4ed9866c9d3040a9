//! How the exporter trusts an `https://` server, as MLflow's client reads
//! it from the environment:
//!
//! - `MLFLOW_TRACKING_SERVER_CERT_PATH`: a PEM bundle of the CA
//!   certificates to trust instead of the system's (MLflow hands it to
//!   `requests` as `verify=`, which replaces the default bundle too);
//! - `MLFLOW_TRACKING_INSECURE_TLS=true`: no verification at all.
//!
//! Without either, the system's roots (`/etc/ssl/certs`, or `SSL_CERT_FILE`
//! / `SSL_CERT_DIR`) are trusted; when the system has none, the Mozilla
//! roots compiled in are.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::error::{ExportError, Result};

/// The variable naming a CA bundle (MLflow's name for it).
pub const CERT_PATH_VAR: &str = "MLFLOW_TRACKING_SERVER_CERT_PATH";
/// The variable that turns verification off (MLflow's name for it).
pub const INSECURE_VAR: &str = "MLFLOW_TRACKING_INSECURE_TLS";

/// TLS settings of the connections to the tracking server.
///
/// Default: the system's roots, verification on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM file of CA certificates to trust instead of the system's.
    pub ca_cert: Option<PathBuf>,
    /// Skip certificate verification (a man in the middle goes unnoticed).
    pub insecure: bool,
}

impl TlsOptions {
    /// The options of the environment (see the module's documentation).
    /// `MLFLOW_TRACKING_INSECURE_TLS` takes `true`/`false` (any case), `1`/`0`.
    pub fn from_env() -> Result<TlsOptions> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let insecure = match var(INSECURE_VAR) {
            None => false,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ExportError::Tls {
                        server: String::new(),
                        reason: format!("{INSECURE_VAR}={v:?}: expected true or false"),
                    })
                }
            },
        };
        Ok(TlsOptions {
            ca_cert: var(CERT_PATH_VAR).map(PathBuf::from),
            insecure,
        })
    }

    /// The ureq configuration: the CA bundle read and checked now, so that
    /// a bad file is named before any request.
    pub(crate) fn config(&self) -> Result<TlsConfig> {
        let builder = TlsConfig::builder();
        if self.insecure {
            return Ok(builder.disable_verification(true).build());
        }
        let roots = match &self.ca_cert {
            Some(path) => RootCerts::Specific(Arc::new(read_bundle(path)?)),
            None => system_roots(),
        };
        Ok(builder.root_certs(roots).build())
    }
}

/// The certificates of PEM file `path`; at least one.
fn read_bundle(path: &Path) -> Result<Vec<Certificate<'static>>> {
    let bad = |reason: String| ExportError::Tls {
        server: String::new(),
        reason: format!("CA bundle {}: {reason}", path.display()),
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        // A key next to the certificates is not ours to use: left out.
        if let PemItem::Certificate(c) = item.map_err(|e| bad(format!("not a PEM file: {e}")))? {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err(bad(
            "no certificate in it (expected PEM \"BEGIN CERTIFICATE\" blocks)".into(),
        ));
    }
    Ok(certs)
}

/// The system's roots, read once per process; Mozilla's when there are none.
pub(crate) fn system_roots() -> RootCerts {
    static ROOTS: OnceLock<RootCerts> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            // Unreadable files among the roots are left out (`errors`): the
            // others still serve.
            let found = rustls_native_certs::load_native_certs();
            let certs: Vec<Certificate<'static>> = found
                .certs
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            if certs.is_empty() {
                RootCerts::WebPki
            } else {
                RootCerts::Specific(Arc::new(certs))
            }
        })
        .clone()
}

/// Why a TLS handshake failed, in words, with what to set; `None` when
/// `error` is not a TLS failure.
pub(crate) fn explain(error: &ureq::Error) -> Option<String> {
    let tls = match error {
        ureq::Error::Rustls(e) => e,
        ureq::Error::Io(e) => e.get_ref()?.downcast_ref::<rustls::Error>()?,
        _ => return None,
    };
    let what = match tls {
        rustls::Error::InvalidCertificate(c) => {
            use rustls::CertificateError as C;
            match c {
                C::UnknownIssuer => {
                    "its certificate is not signed by a trusted certificate authority".to_string()
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "its certificate is not valid for this host name".to_string()
                }
                C::Expired | C::ExpiredContext { .. } => "its certificate has expired".to_string(),
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "its certificate is not valid yet".to_string()
                }
                C::Revoked => "its certificate is revoked".to_string(),
                // webpki's error, which rustls passes on as `Other`; its
                // text is its name.
                C::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
                    "its certificate is a CA certificate (basic constraints CA:TRUE) used as the \
                     server's own, as `openssl req -x509` makes by default; this is refused even \
                     when trusted: give the server a certificate with CA:FALSE (`-addext \
                     basicConstraints=critical,CA:FALSE`) or one signed by a CA"
                        .to_string()
                }
                C::Other(other) => format!("its certificate was refused ({other})"),
                other => format!("its certificate was refused ({other:?})"),
            }
        }
        other => format!("the TLS handshake failed ({other})"),
    };
    Some(format!(
        "{what}; to trust the CA that signed it, set {CERT_PATH_VAR} (or --ca-cert) to its PEM \
         file; to skip verification, set {INSECURE_VAR}=true (or --insecure)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_bundle_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = TlsOptions {
            ca_cert: Some(missing.clone()),
            insecure: false,
        }
        .config()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("missing.pem") && err.contains("cannot read"),
            "{err}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem").unwrap();
        let err = TlsOptions {
            ca_cert: Some(empty),
            insecure: false,
        }
        .config()
        .unwrap_err()
        .to_string();
        assert!(err.contains("no certificate"), "{err}");
        assert!(TlsOptions {
            ca_cert: Some(missing),
            insecure: true
        }
        .config()
        .unwrap()
        .disable_verification());
    }
}
