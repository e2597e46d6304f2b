//! Encrypted transport to the nodes (issue 8, item 1): gRPC over TLS 1.3 (rustls with
//! ring), each node's certificate pinned in genesis.
//!
//! A node whose genesis entry carries a `tls_cert` (PEM) serves its API over TLS only, at an
//! `https://` address. A client trusts, for each such address, exactly the certificate
//! genesis gives it — no certificate authority, no system roots — so only the holder of that
//! node's TLS key can answer. [`pin_genesis`] registers a genesis's certificates for the
//! process (the CLI and test harness do so when they load a network directory); [`endpoint`]
//! builds a channel endpoint for a URL with its pinned certificate.

use safeledger_core::Genesis;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

fn pins() -> &'static RwLock<HashMap<String, String>> {
    static PINS: OnceLock<RwLock<HashMap<String, String>>> = OnceLock::new();
    PINS.get_or_init(Default::default)
}

fn normalize(url: &str) -> String {
    url.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Trusts `cert_pem` (and only it) for the node at `url` (`https://host:port`).
pub fn pin(url: &str, cert_pem: &str) {
    if let Ok(mut p) = pins().write() {
        p.insert(normalize(url), cert_pem.to_string());
    }
}

/// Pins the certificate of every agency of `genesis` that has one, at its gRPC address.
pub fn pin_genesis(genesis: &Genesis) {
    for a in &genesis.agencies {
        if !a.tls_cert.is_empty() {
            pin(&a.grpc_addr, &a.tls_cert);
        }
    }
}

/// The certificate pinned for `url`, if any.
pub fn pinned(url: &str) -> Option<String> {
    pins().read().ok()?.get(&normalize(url)).cloned()
}

/// Why an endpoint could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Not a URL tonic accepts.
    #[error("invalid endpoint {0}")]
    Url(String),
    /// An `https://` URL with no certificate pinned for it.
    #[error(
        "no pinned TLS certificate for {0}: pass --home (its genesis pins each node's \
         certificate) or --tls-cert FILE"
    )]
    NotPinned(String),
    /// The pinned certificate or TLS settings were refused.
    #[error("TLS configuration for {0}: {1}")]
    Config(String, String),
}

/// A channel endpoint for `url` with `connect_timeout`: plain for `http://`, TLS trusting
/// only the pinned certificate for `https://`.
///
/// Errors: [`TlsError`].
pub fn endpoint(url: &str, connect_timeout: Duration) -> Result<Endpoint, TlsError> {
    let ep = Endpoint::from_shared(url.to_string())
        .map_err(|_| TlsError::Url(url.to_string()))?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true);
    if !normalize(url).starts_with("https://") {
        return Ok(ep);
    }
    let pem = pinned(url).ok_or_else(|| TlsError::NotPinned(url.to_string()))?;
    ep.tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
        .map_err(|e| TlsError::Config(url.to_string(), e.to_string()))
}

/// Connects to `url` (see [`endpoint`]).
///
/// Errors: the endpoint's, or the transport error as text.
pub async fn connect(url: &str) -> Result<Channel, String> {
    endpoint(url, Duration::from_secs(3))
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))
}

/// A fresh self-signed certificate and its private key (both PEM) for a node reachable at
/// `host` (an IP address or DNS name; it becomes the certificate's subject alternative
/// name).
///
/// Errors: the host is not a valid name, or generation failed.
pub fn generate_identity(host: &str) -> Result<(String, String), String> {
    let ck = rcgen::generate_simple_self_signed(vec![host.to_string()])
        .map_err(|e| format!("TLS certificate for {host}: {e}"))?;
    Ok((ck.cert.pem(), ck.key_pair.serialize_pem()))
}

/// The host of a URL such as `https://10.0.0.4:50051` (`10.0.0.4`).
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .or(Some(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(host_of("https://10.0.0.4:50051"), Some("10.0.0.4"));
        assert_eq!(host_of("https://node.example:1/x"), Some("node.example"));
        assert_eq!(host_of("https://[::1]:5"), Some("::1"));
    }

    #[test]
    fn an_https_url_needs_a_pinned_certificate() {
        let url = "https://127.0.0.1:9";
        assert!(matches!(
            endpoint(url, Duration::from_secs(1)),
            Err(TlsError::NotPinned(_))
        ));
        let (cert, _key) = generate_identity("127.0.0.1").expect("identity");
        pin(url, &cert);
        assert!(endpoint("HTTPS://127.0.0.1:9/", Duration::from_secs(1)).is_ok());
        assert!(endpoint("http://127.0.0.1:9", Duration::from_secs(1)).is_ok());
    }
}
