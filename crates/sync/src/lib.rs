//! The recipient's side of VTJ-muutosrajapinta: keep a local register
//! current under one permit, against DVV or any service speaking its
//! interface (this project's `vtj serve`, a county hub).
//!
//! Two kinds of register, as DVV's permits come:
//! - **an area** (a municipality-scoped permit): the first run takes the
//!   cursor of today (`/kirjausavain/{date}`), loads the residents of the
//!   area's municipalities page by page (`/perustiedot-vko`, each page and
//!   where to continue committed together), then follows `/muutokset` from
//!   the load's snapshot cursor until the service says it is up to date;
//! - **a hetu list** kept here (a hetu-scoped permit): `list_add` fetches
//!   newly listed persons from `/perustiedot` in batches of 1000 and puts
//!   each hetu in a bucket for good; `sync` follows `/muutokset` bucket by
//!   bucket, each bucket sending its hetus with its own cursor.
//!
//! Each page of changes and the cursor after it commit together, so a run
//! killed at any point resumes where the last commit left it.
//!
//! - [`register`]: the local register (SQLite or PostgreSQL) and its look-up log.
//! - [`client`]: HTTP with credentials, retries and backoff.
//! - [`import`]: the same register fed by Muutostietopalvelu delivery files.
//! - `witness`: each run checks that the service's audit log still extends
//!   the checkpoint the register kept (a consistency proof), and keeps the new one.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;
use vtj_core::Hetu;
use vtj_wire::paths::{self, MUUTOKSET, PERUSTIEDOT, PERUSTIEDOT_VKO};
use vtj_wire::{
    KirjausavainResponse, MuutoksetRequest, MuutoksetResponse, PerustiedotRequest, PerustiedotResponse,
    PerustiedotVkoRequest, PerustiedotVkoResponse, PERUSTIEDOT_MAX,
};

pub mod client;
pub mod import;
pub mod register;
mod witness;

pub use client::{Client, ClientConfig, ClientError, Retry};
pub use register::{Bucket, Counters, FileBatch, FileProgress, Mode, Noted, Position, Register, RegisterError};

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
    /// An area's cursor; a hetu list's lowest bucket cursor.
    pub cursor: i64,
    pub seconds: f64,
    /// Response bodies received, in bytes.
    pub bytes: u64,
    /// The size of the service's audit log the register's newest kept
    /// checkpoint vouches for (none from a service without one, as DVV's).
    pub audit_checkpoint: Option<u64>,
}

/// Reported after every committed page.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    Initial { persons: u64 },
    Changes { applied: u64, cursor: i64 },
}

/// Hetus per `/muutokset` bucket by default: a body of about 700 kB, under
/// the 1 MB a request body should stay within.
pub const DEFAULT_BUCKET: u64 = 50_000;

/// Today's date for `/kirjausavain/{date}`, in UTC as the service's clock.
fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

async fn cursor_of_today(client: &Client) -> Result<i64, ClientError> {
    Ok(client.get::<KirjausavainResponse>(&paths::kirjausavain(today())).await?.viimeisin_kirjausavain)
}

/// Keeps the register current. `area`: the municipalities of a
/// municipality-scoped permit (needed the first time; a register
/// remembers them); without it the register must already hold a hetu list.
pub async fn sync(
    client: &Client,
    reg: &mut Register,
    area: Option<BTreeSet<String>>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let mode = match (area, reg.mode()?) {
        (Some(kunnat), _) => Mode::Area(kunnat),
        (None, Some(m)) => m,
        (None, None) => {
            return Err(SyncError::Input(
                "the register follows nothing yet: give the permit's municipalities for an area, \
                 or list persons first (`vtj register add`)"
                    .into(),
            ))
        }
    };
    reg.bind(&client.source(), mode.clone())?;
    let before = reg.counters()?;
    let bytes_before = client.bytes_received();
    let (pages, cursor) = match &mode {
        Mode::Area(kunnat) => sync_area(client, reg, kunnat, progress).await?,
        Mode::List => sync_list(client, reg, progress).await?,
        Mode::Files => return Err(SyncError::Input("this register is fed by delivery files (`vtj import`)".into())),
    };
    let audit_checkpoint = witness::witness(client, reg).await?;
    let after = reg.counters()?;
    Ok(SyncReport {
        persons_loaded: after.persons_loaded - before.persons_loaded,
        changes_applied: after.changes_applied - before.changes_applied,
        censored: after.censored - before.censored,
        removed: after.removed - before.removed,
        pages,
        persons_held: reg.held()?,
        cursor,
        seconds: started.elapsed().as_secs_f64(),
        bytes: client.bytes_received() - bytes_before,
        audit_checkpoint,
    })
}

async fn sync_area(
    client: &Client,
    reg: &mut Register,
    kunnat: &BTreeSet<String>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(u64, i64), SyncError> {
    let kuntakoodit: Vec<String> = kunnat.iter().cloned().collect();
    let vko = |jatkoavain: Option<String>| PerustiedotVkoRequest { kuntakoodit: kuntakoodit.clone(), jatkoavain };
    let mut pages = 0;
    // The next page is asked for before this one is stored, so that the
    // service builds it while the register writes: the two overlap instead
    // of taking turns. What was fetched ahead and not stored is dropped,
    // so a crash still resumes from the last committed page.
    let mut ahead = Ahead::default();
    loop {
        let (p, snapshot) = match reg.position()? {
            Position::New => {
                // Taken before the load: following from it can only repeat
                // changes the pages already show, never miss one.
                let start = cursor_of_today(client).await?;
                let p: PerustiedotVkoResponse = client.post(PERUSTIEDOT_VKO, &vko(None)).await?;
                let snapshot = p.viimeisin_kirjausavain.unwrap_or(start);
                (p, snapshot)
            }
            Position::Loading { snapshot, jatkoavain } => {
                let p = match ahead.take_vko(&jatkoavain).await {
                    Some(p) => p?,
                    None => client.post(PERUSTIEDOT_VKO, &vko(Some(jatkoavain))).await?,
                };
                (p, snapshot)
            }
            Position::Following { cursor } => {
                let (last, done) = follow(client, cursor, None, &mut ahead, |changes, last| {
                    reg.apply_page(changes, last)?;
                    pages += 1;
                    progress(Progress::Changes { applied: reg.counters()?.changes_applied, cursor: last });
                    Ok(())
                })
                .await?;
                if done {
                    return Ok((pages, last));
                }
                continue;
            }
        };
        let next = p.jatkoavain.clone().filter(|_| !p.ajan_tasalla);
        if let Some(j) = &next {
            ahead.vko(client, vko(Some(j.clone())));
        }
        reg.store_initial_page(p.perustiedot, snapshot, next.as_deref())?;
        pages += 1;
        progress(Progress::Initial { persons: reg.counters()?.persons_loaded });
    }
}

async fn sync_list(
    client: &Client,
    reg: &mut Register,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(u64, i64), SyncError> {
    let mut pages = 0;
    let mut lowest: Option<i64> = None;
    for bucket in reg.buckets()? {
        let mut ahead = Ahead::default();
        let mut cursor = bucket.cursor;
        if !bucket.members.is_empty() {
            loop {
                let (last, done) = follow(client, cursor, Some(&bucket.members), &mut ahead, |changes, last| {
                    reg.apply_bucket_page(bucket.id, changes, last)?;
                    pages += 1;
                    progress(Progress::Changes { applied: reg.counters()?.changes_applied, cursor: last });
                    Ok(())
                })
                .await?;
                cursor = last;
                if done {
                    break;
                }
            }
        }
        lowest = Some(lowest.map_or(cursor, |l| l.min(cursor)));
    }
    Ok((pages, lowest.unwrap_or(0)))
}

/// One page of `/muutokset` from `cursor` (with the page after it asked
/// for ahead), given to `store`; returns the new cursor and whether the
/// service said it is up to date.
async fn follow(
    client: &Client,
    cursor: i64,
    list: Option<&[String]>,
    ahead: &mut Ahead,
    mut store: impl FnMut(Vec<vtj_wire::ChangeRecord>, i64) -> Result<(), RegisterError>,
) -> Result<(i64, bool), SyncError> {
    let request = |c: i64| MuutoksetRequest {
        viimeisin_kirjausavain: c,
        hetulista: list.map(<[String]>::to_vec),
        tuotekoodi: None,
    };
    let p: MuutoksetResponse = match ahead.take_changes(cursor).await {
        Some(p) => p?,
        None => client.post(MUUTOKSET, &request(cursor)).await?,
    };
    if p.viimeisin_kirjausavain < cursor {
        return Err(ClientError::Answer(format!(
            "the service went back from kirjausavain {cursor} to {}",
            p.viimeisin_kirjausavain
        ))
        .into());
    }
    if !p.ajan_tasalla {
        ahead.changes(client, request(p.viimeisin_kirjausavain));
    }
    store(p.muutokset, p.viimeisin_kirjausavain)?;
    Ok((p.viimeisin_kirjausavain, p.ajan_tasalla))
}

/// A page asked for ahead, read straight into its answer type, with what
/// tells its request apart (a `jatkoavain`, a cursor); dropped unused, the
/// request is cancelled.
struct Pending<T> {
    key: String,
    fetch: tokio::task::JoinHandle<Result<T, ClientError>>,
}

impl<T> Drop for Pending<T> {
    fn drop(&mut self) {
        self.fetch.abort();
    }
}

impl<T: serde::de::DeserializeOwned + Send + 'static> Pending<T> {
    fn start<B: Serialize + Send + Sync + 'static>(client: &Client, path: &'static str, body: B, key: String) -> Self {
        let c = client.clone();
        Pending { key, fetch: tokio::spawn(async move { c.post(path, &body).await }) }
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
    Vko(Pending<PerustiedotVkoResponse>),
    Changes(Pending<MuutoksetResponse>),
}

impl Ahead {
    fn vko(&mut self, client: &Client, body: PerustiedotVkoRequest) {
        let key = body.jatkoavain.clone().unwrap_or_default();
        *self = Ahead::Vko(Pending::start(client, PERUSTIEDOT_VKO, body, key));
    }

    fn changes(&mut self, client: &Client, body: MuutoksetRequest) {
        let key = body.viimeisin_kirjausavain.to_string();
        *self = Ahead::Changes(Pending::start(client, MUUTOKSET, body, key));
    }

    /// The page fetched ahead for exactly this `jatkoavain`, if there is one.
    async fn take_vko(&mut self, jatkoavain: &str) -> Option<Result<PerustiedotVkoResponse, ClientError>> {
        match std::mem::take(self) {
            Ahead::Vko(p) if p.key == jatkoavain => Some(p.answer().await),
            _ => None,
        }
    }

    /// The page fetched ahead for exactly this cursor, if there is one.
    async fn take_changes(&mut self, cursor: i64) -> Option<Result<MuutoksetResponse, ClientError>> {
        match std::mem::take(self) {
            Ahead::Changes(p) if p.key == cursor.to_string() => Some(p.answer().await),
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
        Err(SyncError::Input(format!("{} bad hetus, nothing was done:\n{}", bad.len(), bad.join("\n"))))
    }
}

/// What a list addition did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// Hetus newly on the list.
    pub listed: usize,
    /// Of them, persons the service gave data of (the others are unknown to
    /// it or outside the permit; they stay listed and are followed).
    pub found: usize,
}

/// Lists persons of a hetu-scoped permit and stores their current data,
/// fetched in batches of 1000; each batch and the persons' places in the
/// buckets commit together.
pub async fn list_add(client: &Client, reg: &mut Register, hetus: &[String], bucket: u64) -> Result<Listed, SyncError> {
    reg.bind(&client.source(), Mode::List)?;
    let known = reg.listed(hetus)?;
    let mut new: Vec<String> = hetus.iter().filter(|h| !known.contains(*h)).cloned().collect();
    new.sort();
    new.dedup();
    if new.is_empty() {
        return Ok(Listed::default());
    }
    // Taken before the persons are read: a bucket made now follows from here.
    let start = cursor_of_today(client).await?;
    let mut found = 0;
    for chunk in new.chunks(PERUSTIEDOT_MAX) {
        let p: PerustiedotResponse =
            client.post(PERUSTIEDOT, &PerustiedotRequest { hetulista: chunk.to_vec(), tietoryhmat: None }).await?;
        found += p.perustiedot.len();
        reg.add_listed(chunk, &p.perustiedot, bucket, start)?;
    }
    witness::witness(client, reg).await?;
    Ok(Listed { listed: new.len(), found })
}

/// Ends customership: the persons leave the list (so their changes are no
/// longer asked for) and their data is deleted. The service keeps no list
/// to tell.
pub fn list_remove(reg: &mut Register, hetus: &[String]) -> Result<usize, SyncError> {
    Ok(reg.remove(hetus)?)
}

/// Runs `sync` every `interval`; a failed run is reported and retried at
/// the next tick.
pub async fn watch(
    client: &Client,
    reg: &mut Register,
    area: Option<BTreeSet<String>>,
    interval: Duration,
    report: &mut dyn FnMut(Result<SyncReport, SyncError>),
) {
    loop {
        report(sync(client, reg, area.clone(), &mut |_| {}).await);
        tokio::time::sleep(interval).await;
    }
}
