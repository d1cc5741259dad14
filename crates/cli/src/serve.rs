//! `vtj serve`: the REST service, configured by flags, environment
//! (`VTJ_*`) or a TOML file, in that order of precedence.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;
use vtj_api::tls::{serve_tls, server_config, TlsFiles};
use vtj_api::{App, Config};

#[derive(Args)]
pub struct ServeArgs {
    /// A TOML file with any of: listen, db, rate_per_second, rate_burst, page, vko_page, max_list,
    /// body_limit, log_cache, page_cache_mib, tls_cert, tls_key, tls_client_ca, admin_listen, audit_key.
    #[arg(long, env = "VTJ_CONFIG")]
    config: Option<PathBuf>,
    #[arg(long, env = "VTJ_LISTEN")]
    listen: Option<SocketAddr>,
    /// A SQLite file path or a postgres:// URL.
    #[arg(long, env = "VTJ_DB")]
    db: Option<String>,
    /// Requests per second per recipient, refilled continuously.
    #[arg(long, env = "VTJ_RATE_PER_SECOND")]
    rate_per_second: Option<f64>,
    #[arg(long, env = "VTJ_RATE_BURST")]
    rate_burst: Option<u32>,
    /// Decoded change-log summaries kept for every recipient to share (0:
    /// none; default 4096, some 45 MiB).
    #[arg(long, env = "VTJ_LOG_CACHE")]
    log_cache: Option<usize>,
    /// MiB of rendered pages (of changes, and of an area's residents, the
    /// next of a load made ahead) kept for recipients of the same kind of
    /// permit to share (0: none, and no page made ahead; default 64).
    #[arg(long, env = "VTJ_PAGE_CACHE_MIB")]
    page_cache_mib: Option<usize>,
    /// Also serve the admin API here (plain HTTP: keep it on loopback or an
    /// operations network). Needs `vtj admin admin-token-issue` first.
    #[arg(long, env = "VTJ_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,
    /// Serve HTTPS with this certificate chain (PEM) ...
    #[arg(long, env = "VTJ_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// ... and this private key (PEM).
    #[arg(long, env = "VTJ_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Accept client certificates issued by this CA (PEM) as credentials.
    #[arg(long, env = "VTJ_TLS_CLIENT_CA")]
    tls_client_ca: Option<PathBuf>,
    /// The key that signs the audit log's checkpoints (made by `vtj admin
    /// keygen`; a file only its owner may read). Required, unless --unsigned.
    #[arg(long, env = "VTJ_AUDIT_KEY")]
    audit_key: Option<PathBuf>,
    /// For tests only: answer without signed audit checkpoints.
    #[arg(long, conflicts_with = "audit_key")]
    unsigned: bool,
    /// For `vtj bench` only: serve without audit logging, to measure its
    /// cost. Refused on any database `vtj bench` did not make.
    #[arg(long, hide = true)]
    unaudited_benchmark: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    db: Option<String>,
    rate_per_second: Option<f64>,
    rate_burst: Option<u32>,
    /// Changes in one /muutokset answer.
    page: Option<usize>,
    /// Persons in one /perustiedot-vko page.
    vko_page: Option<usize>,
    /// Hetus in one /muutokset list.
    max_list: Option<usize>,
    body_limit: Option<usize>,
    log_cache: Option<usize>,
    page_cache_mib: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    admin_listen: Option<SocketAddr>,
    audit_key: Option<PathBuf>,
}

/// The service's blocking threads (see `run`): the reads' slots, the
/// writer and a password check or two at once, with room to spare.
const BLOCKING_THREADS: usize = 8;

pub fn run(args: ServeArgs) -> Result<()> {
    let file: FileConfig = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("in {}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let listen = args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let db = args.db.or(file.db).unwrap_or_else(|| "vtj.db".to_string());
    if !vtj_store::is_url(&db) && !std::path::Path::new(&db).exists() {
        anyhow::bail!("database {db} does not exist; create it with `vtj generate --db {db}`");
    }
    let mut config = Config::new(db.clone());
    config.audited = !args.unaudited_benchmark;
    match args.audit_key.or(file.audit_key) {
        Some(path) if !args.unsigned => config.signer = Some(std::sync::Arc::new(crate::audit::load_signer(&path)?)),
        Some(_) => anyhow::bail!("--unsigned and an audit key exclude each other"),
        None if args.unsigned => {
            eprintln!("vtj serve: UNSIGNED: answers carry no audit checkpoints (for tests only)");
            config.unsigned = true;
        }
        None => anyhow::bail!(
            "the service signs its audit log's checkpoints: give --audit-key FILE (make one with \
             `vtj admin keygen --out FILE`), or --unsigned for tests"
        ),
    }
    if let Some(r) = args.rate_per_second.or(file.rate_per_second) {
        anyhow::ensure!(r.is_finite() && r > 0.0, "rate_per_second must be positive");
        config.rate_per_second = r;
    }
    if let Some(b) = args.rate_burst.or(file.rate_burst) {
        config.rate_burst = b;
    }
    for (given, limit) in [(file.page, &mut config.limits.page), (file.vko_page, &mut config.limits.vko_page)] {
        if let Some(n) = given {
            anyhow::ensure!((1..=100_000).contains(&n), "page sizes are 1 to 100000, got {n}");
            *limit = n;
        }
    }
    if let Some(n) = file.max_list {
        config.limits.max_list = n;
    }
    if let Some(n) = file.body_limit {
        config.body_limit = n;
    }
    if let Some(n) = args.log_cache.or(file.log_cache) {
        config.log_cache = n;
    }
    if let Some(mib) = args.page_cache_mib.or(file.page_cache_mib) {
        config.page_cache = mib.checked_mul(1 << 20).context("page_cache_mib is too large")?;
    }
    let tls = match (args.tls_cert.or(file.tls_cert), args.tls_key.or(file.tls_key)) {
        (Some(cert), Some(key)) => {
            let files = TlsFiles { cert, key, client_ca: args.tls_client_ca.or(file.tls_client_ca) };
            Some(server_config(&files)?)
        }
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both tls_cert and tls_key"),
    };
    let admin_listen = args.admin_listen.or(file.admin_listen);
    if admin_listen.is_some() {
        let s = vtj_store::open(&db)?;
        if s.meta(vtj_api::admin_api::ADMIN_TOKEN_META)?.is_none() {
            anyhow::bail!("the admin API needs a token: run `vtj admin admin-token-issue --db {db}` first");
        }
    }
    let app = App::new(&config).with_context(|| format!("opening {}", crate::redact(&db)))?;
    // Blocking work is the store's reads (bounded by their slots), the one
    // writer and password checks. Under mimalloc each thread that allocates
    // keeps a heap of its own, and what another thread frees into it
    // returns only when it runs again: tokio's default of 512 threads let
    // 64 clients' audit writes, each waiting for the writer on a thread of
    // its own, spread the service over 866 MiB (BENCHMARKS.md).
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(BLOCKING_THREADS).build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
        if let Some(addr) = admin_listen {
            let admin = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
            eprintln!("vtj serve: admin API on http://{}", admin.local_addr()?);
            let app = app.clone();
            tokio::spawn(async move {
                if let Err(e) = vtj_api::admin_api::serve_admin(admin, app).await {
                    eprintln!("vtj serve: admin API stopped: {e}");
                }
            });
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!("vtj serve: {scheme}://{} on {}", listener.local_addr()?, crate::redact(&db));
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match tls {
            Some(tls) => serve_tls(listener, app, tls, shutdown).await,
            None => vtj_api::serve(listener, app, shutdown).await,
        }
        .context("serving")
    })
}
