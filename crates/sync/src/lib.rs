//! The recipient's side of VTJ-muutosrajapinta: keep a local register
//! current under one permit.
//!
//! `sync` walks the register's [`Position`]: a new register loads everyone
//! in scope page by page (each page and the continuation commit together),
//! then follows changes from the snapshot cursor (each page and the new
//! cursor commit together) until the service says it is up to date. A run
//! killed at any point resumes where the last commit left it.
//!
//! - [`register`]: the local register (SQLite) and its look-up log.
//! - [`client`]: HTTP with credentials, retries and backoff.
//! - [`import`]: the same register fed by Muutostietopalvelu delivery files.

use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;
use vtj_api::wire::{self, ChangePage, CursorAt, HetuList, InitialPage, ListAdded, ListRemoved};
use vtj_core::Hetu;

pub mod client;
pub mod import;
pub mod register;

pub use client::{Client, ClientConfig, ClientError, Retry};
pub use register::{Counters, FileBatch, FileProgress, Position, Register, RegisterError};

#[derive(Debug, Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error("{0}")]
    Input(String),
}

/// What one run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub persons_loaded: u64,
    pub changes_applied: u64,
    pub censored: u64,
    pub removed: u64,
    pub pages: u64,
    pub persons_held: u64,
    pub cursor: i64,
    pub seconds: f64,
    /// Response bodies received, in bytes.
    pub bytes: u64,
}

/// Reported after every committed page.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    Initial { persons: u64 },
    Changes { applied: u64, cursor: i64 },
}

/// The most a hetu-list call carries; longer lists go in several calls.
pub const LIST_BATCH: usize = 10_000;

pub async fn sync(
    client: &Client,
    reg: &mut Register,
    page: usize,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    reg.bind(&client.source())?;
    let before = reg.counters()?;
    let bytes_before = client.bytes_received();
    let mut pages = 0;
    // The next page is asked for before this one is stored, so that the
    // service builds it while the register writes: the two overlap instead
    // of taking turns. What was fetched ahead and not stored is simply
    // dropped, so a crash still resumes from the last committed page.
    let mut ahead = Ahead::default();
    loop {
        match reg.position()? {
            Position::New => match client.get::<InitialPage>(wire::PATH_INITIAL, &format!("?sivunKoko={page}")).await {
                Ok(p) => {
                    if let Some(t) = &p.jatkoavain {
                        ahead.initial(client, initial_query(page, t));
                    }
                    reg.set_scope("kuntarajaus")?;
                    reg.store_initial_page(&p.henkilot, p.kirjausavain, p.jatkoavain.as_deref())?;
                    pages += 1;
                    progress(Progress::Initial { persons: reg.counters()?.persons_loaded });
                }
                Err(e) if e.code() == Some("VAARA_RAJAUSTYYPPI") => {
                    // A hetu-list permit: the list is loaded by `list_add`;
                    // follow changes from now on.
                    let today = time::OffsetDateTime::now_utc().date();
                    let at: CursorAt =
                        client.get(wire::PATH_CURSOR_AT, &format!("?paiva={}", vtj_core::date::ymd(today))).await?;
                    reg.set_scope("hetulista")?;
                    reg.store_listed(&[], at.kirjausavain)?;
                }
                Err(e) => return Err(e.into()),
            },
            Position::Loading { jatkoavain, .. } => {
                let q = initial_query(page, &jatkoavain);
                let p: InitialPage = match ahead.take_initial(&q).await {
                    Some(p) => p?,
                    None => client.get(wire::PATH_INITIAL, &q).await?,
                };
                if let Some(t) = &p.jatkoavain {
                    ahead.initial(client, initial_query(page, t));
                }
                reg.store_initial_page(&p.henkilot, p.kirjausavain, p.jatkoavain.as_deref())?;
                pages += 1;
                progress(Progress::Initial { persons: reg.counters()?.persons_loaded });
            }
            Position::Following { cursor } => {
                let q = changes_query(page, cursor);
                let p: ChangePage = match ahead.take_changes(&q).await {
                    Some(p) => p?,
                    None => client.get(wire::PATH_CHANGES, &q).await?,
                };
                if p.viimeinen_kirjausavain < cursor {
                    return Err(ClientError::Answer(format!(
                        "the service went back from cursor {cursor} to {}",
                        p.viimeinen_kirjausavain
                    ))
                    .into());
                }
                if !p.ajantasalla {
                    ahead.changes(client, changes_query(page, p.viimeinen_kirjausavain));
                }
                reg.apply_page(&p.muutokset, p.viimeinen_kirjausavain)?;
                pages += 1;
                progress(Progress::Changes {
                    applied: reg.counters()?.changes_applied,
                    cursor: p.viimeinen_kirjausavain,
                });
                if p.ajantasalla {
                    break;
                }
            }
        }
    }
    let after = reg.counters()?;
    Ok(SyncReport {
        persons_loaded: after.persons_loaded - before.persons_loaded,
        changes_applied: after.changes_applied - before.changes_applied,
        censored: after.censored - before.censored,
        removed: after.removed - before.removed,
        pages,
        persons_held: reg.held()?,
        cursor: match reg.position()? {
            Position::Following { cursor } => cursor,
            _ => 0,
        },
        seconds: started.elapsed().as_secs_f64(),
        bytes: client.bytes_received() - bytes_before,
    })
}

fn initial_query(page: usize, jatkoavain: &str) -> String {
    format!("?sivunKoko={page}&jatkoavain={jatkoavain}")
}

fn changes_query(page: usize, cursor: i64) -> String {
    format!("?kirjausavain={cursor}&sivunKoko={page}")
}

/// A page asked for ahead, with the query that asked for it; dropped
/// unused, the request is cancelled.
struct Pending<T> {
    query: String,
    fetch: tokio::task::JoinHandle<Result<T, ClientError>>,
}

impl<T> Drop for Pending<T> {
    fn drop(&mut self) {
        self.fetch.abort();
    }
}

impl<T: serde::de::DeserializeOwned + Send + 'static> Pending<T> {
    fn start(client: &Client, path: &'static str, query: String) -> Pending<T> {
        let (c, q) = (client.clone(), query.clone());
        Pending { query, fetch: tokio::spawn(async move { c.get(path, &q).await }) }
    }

    async fn answer(mut self) -> Result<T, ClientError> {
        (&mut self.fetch).await.unwrap_or_else(|e| Err(ClientError::Answer(format!("fetching ahead failed: {e}"))))
    }
}

/// At most one page asked for ahead.
#[derive(Default)]
enum Ahead {
    #[default]
    None,
    Initial(Pending<InitialPage>),
    Changes(Pending<ChangePage>),
}

impl Ahead {
    fn initial(&mut self, client: &Client, query: String) {
        *self = Ahead::Initial(Pending::start(client, wire::PATH_INITIAL, query));
    }

    fn changes(&mut self, client: &Client, query: String) {
        *self = Ahead::Changes(Pending::start(client, wire::PATH_CHANGES, query));
    }

    /// The page fetched ahead for exactly this query, if there is one.
    async fn take_initial(&mut self, query: &str) -> Option<Result<InitialPage, ClientError>> {
        match std::mem::take(self) {
            Ahead::Initial(p) if p.query == query => Some(p.answer().await),
            _ => None,
        }
    }

    async fn take_changes(&mut self, query: &str) -> Option<Result<ChangePage, ClientError>> {
        match std::mem::take(self) {
            Ahead::Changes(p) if p.query == query => Some(p.answer().await),
            _ => None,
        }
    }
}

/// Validates hetus, naming every bad one; nothing is done with a list that has any.
pub fn parse_hetu_lines(text: &str) -> Result<Vec<String>, SyncError> {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match Hetu::parse(line) {
            Ok(h) => ok.push(h.to_string()),
            Err(e) => bad.push(format!("line {}: {line:?}: {e}", i + 1)),
        }
    }
    if bad.is_empty() {
        Ok(ok)
    } else {
        Err(SyncError::Input(format!("{} bad hetus, nothing was sent:\n{}", bad.len(), bad.join("\n"))))
    }
}

/// Adds persons to a hetu-list permit and stores the data the service returns.
pub async fn list_add(client: &Client, reg: &mut Register, hetus: &[String]) -> Result<usize, SyncError> {
    reg.bind(&client.source())?;
    let mut added = 0;
    for chunk in hetus.chunks(LIST_BATCH) {
        let r: ListAdded = client.post(wire::PATH_LIST_ADD, &HetuList { henkilotunnukset: chunk.to_vec() }).await?;
        reg.set_scope("hetulista")?;
        reg.store_listed(&r.henkilot, r.kirjausavain)?;
        added += r.lisatty;
    }
    Ok(added)
}

/// Ends customership: the service stops delivering, then the local data goes.
/// Re-running after a crash between the two finishes the job.
pub async fn list_remove(client: &Client, reg: &mut Register, hetus: &[String]) -> Result<usize, SyncError> {
    reg.bind(&client.source())?;
    for chunk in hetus.chunks(LIST_BATCH) {
        let _: ListRemoved =
            client.post(wire::PATH_LIST_REMOVE, &HetuList { henkilotunnukset: chunk.to_vec() }).await?;
    }
    Ok(reg.remove(hetus)?)
}

/// Runs `sync` every `interval` until `stop` resolves; a failed run is
/// reported and retried at the next tick.
pub async fn watch(
    client: &Client,
    reg: &mut Register,
    page: usize,
    interval: Duration,
    report: &mut dyn FnMut(Result<SyncReport, SyncError>),
) {
    loop {
        report(sync(client, reg, page, &mut |_| {}).await);
        tokio::time::sleep(interval).await;
    }
}
