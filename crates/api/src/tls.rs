//! TLS, and mutual TLS as a way to authenticate: a recipient's client
//! certificate, verified against the configured CA, is a credential whose
//! SHA-256 (of the DER) is registered like a token's hash.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Extension;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::App;

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// When set, clients may present a certificate issued by this CA; a
    /// request with neither a valid certificate nor a token is still refused.
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The SHA-256 of the verified client certificate of the connection, if any.
#[derive(Debug, Clone)]
pub struct ClientCert(pub Option<String>);

/// The credential hash of a PEM certificate file, for `vtj admin cert-add`.
pub fn cert_file_hash(path: &Path) -> Result<String, TlsError> {
    let certs = read_certs(path)?;
    let first = certs.first().ok_or_else(|| file_err(path, "no certificate in the file"))?;
    Ok(vtj_store::audit::sha256_hex(first.as_ref()))
}

fn file_err(path: &Path, message: impl ToString) -> TlsError {
    TlsError::File { path: path.to_path_buf(), message: message.to_string() }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, e))
}

pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(&files.cert)?;
    if certs.is_empty() {
        return Err(file_err(&files.cert, "no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| file_err(&files.key, e))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs(ca)? {
                roots.add(c).map_err(|e| file_err(ca, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves HTTPS until `shutdown` resolves. Each connection's verified
/// client certificate reaches the handlers as a request extension, which a
/// client cannot forge the way it could a header.
pub async fn serve_tls(
    listener: TcpListener,
    app: Arc<App>,
    config: Arc<ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    let router = crate::router(app);
    tokio::pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut shutdown => return Ok(()),
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            // A failed handshake (wrong CA, plain HTTP) just ends the connection.
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| vtj_store::audit::sha256_hex(c.as_ref()));
            let service = TowerToHyperService::new(router.layer(Extension(ClientCert(cert))));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
