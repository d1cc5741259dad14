//! The service as the client sees it: authenticated requests with retries.
//! Network errors and 5xx are retried with exponential backoff, 429 after
//! the Retry-After the service gave; any other refusal is final and its
//! problem detail is shown as is.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Certificate, Identity, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;
use vtj_wire::paths::{HEADER_AUDIT_CHECKPOINT, HEADER_XROAD_CLIENT};
use vtj_wire::Problem;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("the service refused ({status}, {code}): {detail}")]
    Refused { status: u16, code: String, detail: String },
    #[error("the service could not be reached after {attempts} attempts: {last}")]
    Unreachable { attempts: u32, last: String },
    #[error("unexpected answer from the service: {0}")]
    Answer(String),
    #[error("client setup: {0}")]
    Setup(String),
    #[error("the service's audit log: {0}")]
    Audit(String),
}

impl ClientError {
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// How to reach the service and who we are.
#[derive(Clone, Default)]
pub struct ClientConfig {
    /// The address the calls are under, e.g.
    /// `https://api.hiekkalaatikko.muutostietopalvelu.dvv.fi/api/v1`.
    pub base_url: String,
    /// The user of the permit (HTTP Basic), with its password.
    pub user: Option<String>,
    pub password: Option<String>,
    /// PEM with the client certificate and its key, for mutual TLS.
    pub identity: Option<PathBuf>,
    /// PEM of a CA to trust besides the system's (a test or private CA).
    pub ca_cert: Option<PathBuf>,
    /// Sent as `X-Road-Client` when going through Suomi.fi-palveluväylä.
    pub xroad_client: Option<String>,
    /// The public key of the service's audit log (`name+id+key`), to check
    /// its checkpoints' signatures; a register remembers it.
    pub audit_key: Option<String>,
    pub retry: Retry,
}

impl std::fmt::Debug for ClientConfig {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("user", &self.user)
            .field("identity", &self.identity)
            .field("ca_cert", &self.ca_cert)
            .field("xroad_client", &self.xroad_client)
            .field("audit_key", &self.audit_key)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry { attempts: 8, first: Duration::from_millis(200), max: Duration::from_secs(30) }
    }
}

/// Cheap to clone: clones share the connection pool and the byte count.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    received: Arc<AtomicU64>,
    checkpoints: Arc<Mutex<Seen>>,
}

/// The audit-log checkpoints the service's answers carried.
#[derive(Debug, Default)]
struct Seen {
    /// The largest, as (size, note); its signature is checked by whoever keeps it.
    newest: Option<(u64, String)>,
    without: u64,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let mut b = reqwest::Client::builder().use_rustls_tls().timeout(Duration::from_secs(120));
        if let Some(ca) = &config.ca_cert {
            let pem = std::fs::read(ca).map_err(|e| ClientError::Setup(format!("{}: {e}", ca.display())))?;
            b = b.add_root_certificate(
                Certificate::from_pem(&pem).map_err(|e| ClientError::Setup(format!("{}: {e}", ca.display())))?,
            );
        }
        if let Some(id) = &config.identity {
            let pem = std::fs::read(id).map_err(|e| ClientError::Setup(format!("{}: {e}", id.display())))?;
            b = b.identity(Identity::from_pem(&pem).map_err(|e| ClientError::Setup(format!("{}: {e}", id.display())))?);
        }
        let http = b.build().map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Client { http, config, received: Arc::new(AtomicU64::new(0)), checkpoints: Arc::default() })
    }

    /// Bytes of successful response bodies so far.
    pub fn bytes_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    pub fn audit_key(&self) -> Option<&str> {
        self.config.audit_key.as_deref()
    }

    /// The newest checkpoint the answers since the last call carried, as
    /// (size, note), and how many answers carried none; starts counting anew.
    pub fn take_checkpoints(&self) -> (Option<(u64, String)>, u64) {
        let seen = std::mem::take(&mut *self.checkpoints.lock().unwrap_or_else(|p| p.into_inner()));
        (seen.newest, seen.without)
    }

    fn saw(&self, header: Option<&reqwest::header::HeaderValue>) -> Result<(), ClientError> {
        use base64::Engine;
        let mut seen = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner());
        let Some(v) = header else {
            seen.without += 1;
            return Ok(());
        };
        let bad = |why: String| ClientError::Audit(format!("the answer's checkpoint is malformed: {why}"));
        let note = base64::engine::general_purpose::STANDARD.decode(v.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let note = String::from_utf8(note).map_err(|e| bad(e.to_string()))?;
        let size = vtj_tlog::note::read_unverified(&note).map_err(|e| bad(e.to_string()))?.size;
        if seen.newest.as_ref().is_none_or(|(n, _)| size > *n) {
            seen.newest = Some((size, note));
        }
        Ok(())
    }

    /// The service's address and the user: what a register is bound to
    /// (a user belongs to one permit).
    pub fn source(&self) -> String {
        let user = self.config.user.as_deref().unwrap_or("(certificate)");
        format!("{} {user}", self.config.base_url.trim_end_matches('/'))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send::<T, ()>(Method::GET, &self.url(path), None).await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        self.send(Method::POST, &self.url(path), Some(body)).await
    }

    async fn send<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let retry = self.config.retry;
        let mut wait = retry.first;
        let mut last = String::new();
        for attempt in 1..=retry.attempts.max(1) {
            let mut req = self.http.request(method.clone(), url).header(reqwest::header::ACCEPT, "application/json");
            if let Some(u) = &self.config.user {
                req = req.basic_auth(u, self.config.password.as_deref());
            }
            if let Some(x) = &self.config.xroad_client {
                req = req.header(HEADER_XROAD_CLIENT, x);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let pause = match req.send().await {
                Ok(r) if r.status().is_success() => {
                    self.saw(r.headers().get(HEADER_AUDIT_CHECKPOINT))?;
                    let bytes = r.bytes().await.map_err(|e| ClientError::Answer(e.to_string()))?;
                    self.received.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    return serde_json::from_slice(&bytes).map_err(|e| ClientError::Answer(e.to_string()));
                }
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let after = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    last = "429 Too Many Requests".into();
                    after.unwrap_or(wait)
                }
                Ok(r) if r.status().is_server_error() => {
                    last = format!("{}", r.status());
                    wait
                }
                Ok(r) => {
                    let status = r.status().as_u16();
                    let bytes = r.bytes().await.unwrap_or_default();
                    return Err(match serde_json::from_slice::<Problem>(&bytes) {
                        Ok(p) => ClientError::Refused { status, code: p.code, detail: p.detail },
                        Err(_) => ClientError::Refused {
                            status,
                            code: String::new(),
                            detail: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
                        },
                    });
                }
                Err(e) => {
                    last = e.to_string();
                    wait
                }
            };
            if attempt < retry.attempts {
                tokio::time::sleep(pause).await;
                wait = (wait * 2).min(retry.max);
            }
        }
        Err(ClientError::Unreachable { attempts: retry.attempts, last })
    }
}
