//! `vtj hub`: a county hub. `init` makes its store; `follow` keeps the
//! hub's register current from upstream (DVV or `vtj serve`) with the sync
//! client and mirrors what came into the store, which `vtj serve` serves
//! to the county's own systems under sub-permits.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use vtj_hub::Published;
use vtj_store::Backend;
use vtj_sync::{Client, Register, SyncReport};

#[derive(Subcommand)]
pub enum HubCmd {
    /// Create the hub's store (then record the upstream permit in it with
    /// `vtj admin recipient-add` and `permit-add`).
    Init {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, env = "VTJ_DB", default_value = "hub.db")]
        db: String,
    },
    /// Follow upstream into the hub's register and mirror it into the hub's store.
    Follow(Box<FollowArgs>),
    /// After restoring the hub's store or register from a backup (before
    /// serving again): mirror the whole register into the store anew and
    /// start a new epoch of the hub's log, so that every internal system is
    /// told to load its data again rather than miss changes.
    Restored {
        /// The hub's store: a SQLite file path or a postgres:// URL.
        #[arg(long, env = "VTJ_DB", default_value = "hub.db")]
        db: String,
        /// The hub's register.
        #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
        register: String,
        /// The upstream permit as recorded in the hub's store.
        #[arg(long)]
        ylalupa: String,
    },
}

#[derive(Args)]
pub struct FollowArgs {
    /// Upstream, the hub's register (--register), the permit's area, --watch.
    #[command(flatten)]
    sync: crate::client::SyncArgs,
    /// The hub's store, which `vtj serve --db` serves: a SQLite file path or a postgres:// URL.
    #[arg(long, env = "VTJ_DB", default_value = "hub.db")]
    db: String,
    /// The upstream permit as recorded in the hub's store (`vtj admin permit-add`).
    #[arg(long)]
    ylalupa: String,
    /// Persons mirrored per transaction of the hub's store.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
}

pub fn run(cmd: HubCmd) -> Result<()> {
    match cmd {
        HubCmd::Init { db } => {
            if !vtj_store::is_url(&db) && std::path::Path::new(&db).exists() {
                bail!("{db} exists already; a hub's store is made once");
            }
            let mut store = crate::open(&db)?;
            let base = vtj_hub::epoch_base(time::OffsetDateTime::now_utc());
            store.begin_epoch(base)?;
            println!("hub store {} created; its change log begins at {base}", crate::redact(&db));
            Ok(())
        }
        HubCmd::Follow(args) => follow(*args),
        HubCmd::Restored { db, register, ylalupa } => {
            let mut store = crate::open_existing(&db)?;
            let mut reg =
                Register::connect(&register).with_context(|| format!("opening {}", crate::redact(&register)))?;
            let upstream =
                store.permit(&ylalupa)?.with_context(|| format!("the hub's store has no permit {ylalupa}"))?;
            let now = time::OffsetDateTime::now_utc();
            let base = vtj_hub::epoch_base(now);
            store.begin_epoch(base)?;
            let p = vtj_hub::reconcile(&mut reg, &mut *store, &upstream, now.date(), 5_000)?;
            println!(
                "the hub's log begins anew at {base}: {} persons of the register mirrored, {} changes; \
                 internal systems are told to load their data again",
                p.noted, p.events
            );
            Ok(())
        }
    }
}

fn follow(args: FollowArgs) -> Result<()> {
    let mut store = crate::open_existing(&args.db)?;
    let (client, mut reg, area) = args.sync.open()?;
    reg.enable_outbox().context("the hub's register")?;
    // The store's blocking database clients stay outside the runtime.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    loop {
        match round(&rt, &client, &mut reg, &mut *store, &args, area.clone()) {
            Ok((report, published)) => print(&report, &published, &*store, args.sync.json())?,
            Err(e) => match args.sync.watch() {
                Some(every) => eprintln!("vtj hub: {e:#}; retrying in {}s", every.as_secs()),
                None => return Err(e),
            },
        }
        match args.sync.watch() {
            Some(every) => std::thread::sleep(every),
            None => return Ok(()),
        }
    }
}

/// One round: the upstream permit must be in force; what an earlier round
/// left unmirrored goes first, then a sync, then its mirror.
fn round(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    reg: &mut Register,
    store: &mut dyn Backend,
    args: &FollowArgs,
    area: Option<std::collections::BTreeSet<String>>,
) -> Result<(SyncReport, Published)> {
    let today = time::OffsetDateTime::now_utc().date();
    let Some(upstream) = store.permit(&args.ylalupa)? else {
        bail!(
            "the hub's store has no permit {0}: record the upstream permit first (vtj admin permit-add --db {1} --tunnus {0} ...)",
            args.ylalupa,
            crate::redact(&args.db)
        );
    };
    vtj_core::hub::check_upstream(&upstream)?;
    if !upstream.is_active(today) {
        bail!(
            "the upstream permit {} is revoked or not valid today: the hub follows nothing under it, \
             and `vtj serve` discloses nothing under its sub-permits",
            upstream.tunnus
        );
    }
    let mut published = vtj_hub::publish(reg, store, &upstream, today, args.batch)?;
    let report = rt.block_on(crate::client::run_once(client, reg, area))?;
    published += vtj_hub::publish(reg, store, &upstream, today, args.batch)?;
    Ok((report, published))
}

fn print(report: &SyncReport, p: &Published, store: &dyn Backend, json: bool) -> Result<()> {
    let cursor = store.last_cursor()?;
    if json {
        let v = serde_json::json!({
            "upstream": report,
            "mirrored": {"noted": p.noted, "changes": p.events, "untyped": p.untyped,
                         "outsideProduct": p.outside_product, "hubCursor": cursor.0},
        });
        println!("{v}");
        return Ok(());
    }
    crate::client::print_report(report, false)?;
    println!(
        "mirrored {} noted persons into the hub's log: {} changes, hub cursor {cursor}{}{}",
        p.noted,
        p.events,
        if p.untyped > 0 {
            format!("; {} group instances the core does not model left out", p.untyped)
        } else {
            String::new()
        },
        if p.outside_product > 0 {
            format!("; {} group instances outside the upstream product left out", p.outside_product)
        } else {
            String::new()
        },
    );
    Ok(())
}
