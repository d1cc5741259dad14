//! The recipient's commands: `vtj sync`, `vtj register`, `vtj lookup`, `vtj export`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use vtj_sync::{Client, ClientConfig, Progress, Register, SyncReport};

#[derive(Args, Clone)]
pub struct ServiceArgs {
    /// The service's base URL, e.g. https://vtj.example:8443
    #[arg(long, env = "VTJ_SERVICE")]
    service: String,
    /// The permit (tietolupa) to sync under.
    #[arg(long, env = "VTJ_PERMIT")]
    permit: String,
    /// The local register: a SQLite file path, or a postgres:// URL.
    #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
    register: String,
    #[arg(long, env = "VTJ_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// PEM with a client certificate and its key (mutual TLS).
    #[arg(long, env = "VTJ_CLIENT_IDENTITY")]
    client_identity: Option<PathBuf>,
    /// PEM of an extra CA to trust.
    #[arg(long, env = "VTJ_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Sent as X-Road-Client (FI/GOV/<member code>/<subsystem>).
    #[arg(long, env = "VTJ_XROAD_CLIENT")]
    xroad_client: Option<String>,
}

impl ServiceArgs {
    fn client(&self) -> Result<Client> {
        if self.token.is_none() && self.client_identity.is_none() {
            bail!("give a credential: --token (or VTJ_TOKEN) or --client-identity");
        }
        Ok(Client::new(ClientConfig {
            base_url: self.service.clone(),
            permit: self.permit.clone(),
            token: self.token.clone(),
            identity: self.client_identity.clone(),
            ca_cert: self.ca_cert.clone(),
            xroad_client: self.xroad_client.clone(),
            ..ClientConfig::default()
        })?)
    }

    fn register(&self) -> Result<Register> {
        Register::connect(&self.register).with_context(|| format!("opening register {}", redact(&self.register)))
    }
}

#[derive(Args)]
pub struct SyncArgs {
    #[command(flatten)]
    service: ServiceArgs,
    #[arg(long, default_value_t = 1000)]
    page: usize,
    /// Keep syncing every INTERVAL (e.g. 30s, 15m, 1h, 1d).
    #[arg(long, value_parser = parse_interval)]
    watch: Option<Duration>,
    #[arg(long)]
    json: bool,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| format!("{s:?}: expected a number and s, m, h or d"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{s:?}: unit must be s, m, h or d")),
    };
    if secs == 0 {
        return Err("the interval must be positive".into());
    }
    Ok(Duration::from_secs(secs))
}

pub fn sync(args: SyncArgs) -> Result<()> {
    let client = args.service.client()?;
    let mut reg = args.service.register()?;
    // Two workers: one fetches the next page while the other writes this one.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        match args.watch {
            None => {
                let report = run_once(&client, &mut reg, args.page).await?;
                print_report(&report, args.json)?;
            }
            Some(every) => {
                vtj_sync::watch(&client, &mut reg, args.page, every, &mut |r| match r {
                    Ok(report) => {
                        let _ = print_report(&report, args.json);
                    }
                    Err(e) => eprintln!("vtj sync: {e}; retrying in {}s", every.as_secs()),
                })
                .await
            }
        }
        Ok(())
    })
}

pub async fn run_once(client: &Client, reg: &mut Register, page: usize) -> Result<SyncReport> {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("static template"));
    let report = vtj_sync::sync(client, reg, page, &mut |p| match p {
        Progress::Initial { persons } => pb.set_message(format!("initial load: {persons} persons")),
        Progress::Changes { applied, cursor } => pb.set_message(format!("changes: {applied} applied, cursor {cursor}")),
    })
    .await;
    pb.finish_and_clear();
    Ok(report?)
}

fn print_report(r: &SyncReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
    } else {
        println!(
            "synced in {:.1} s: {} persons loaded, {} changes applied ({} censor markers, {} persons removed); {} held, cursor {}",
            r.seconds, r.persons_loaded, r.changes_applied, r.censored, r.removed, r.persons_held, r.cursor
        );
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum RegisterCmd {
    /// Add persons to a hetu-list permit and load their data.
    Add {
        #[command(flatten)]
        service: ServiceArgs,
        hetus: Vec<String>,
        /// A file of hetus, one per line (# comments allowed).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// End customership: remove persons from the list and delete their data.
    Remove {
        #[command(flatten)]
        service: ServiceArgs,
        hetus: Vec<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Delete look-up log entries older than five years.
    PruneLog {
        /// A SQLite file path, or a postgres:// URL.
        #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
        register: String,
    },
}

fn hetus(args: Vec<String>, file: Option<PathBuf>) -> Result<Vec<String>> {
    let mut text = args.join("\n");
    if let Some(f) = file {
        text.push('\n');
        text.push_str(&std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?);
    }
    let list = vtj_sync::parse_hetu_lines(&text)?;
    if list.is_empty() {
        bail!("no hetus given");
    }
    Ok(list)
}

pub fn register(cmd: RegisterCmd) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match cmd {
        RegisterCmd::Add { service, hetus: h, file } => {
            let list = hetus(h, file)?;
            let (client, mut reg) = (service.client()?, service.register()?);
            let n = rt.block_on(vtj_sync::list_add(&client, &mut reg, &list))?;
            println!("{n} hetus added to the list of {}", service.permit);
        }
        RegisterCmd::Remove { service, hetus: h, file } => {
            let list = hetus(h, file)?;
            let (client, mut reg) = (service.client()?, service.register()?);
            let n = rt.block_on(vtj_sync::list_remove(&client, &mut reg, &list))?;
            println!("{} hetus removed from the list; {n} persons' data deleted", list.len());
        }
        RegisterCmd::PruneLog { register } => {
            let now = time::OffsetDateTime::now_utc();
            let cutoff = now.replace_year(now.year() - 5).unwrap_or(now - time::Duration::days(5 * 366));
            let n = Register::connect(&register)?.prune_access_log(&vtj_store::AuditRecord::format_time(cutoff))?;
            println!("{n} look-up log entries older than five years deleted");
        }
    }
    Ok(())
}

/// A register spec for messages, without a password in a URL.
fn redact(spec: &str) -> String {
    match (spec.find("://"), spec.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &spec[..s], &spec[at..]),
        _ => spec.to_string(),
    }
}

#[derive(Args)]
pub struct LookupArgs {
    hetu: String,
    /// A SQLite file path, or a postgres:// URL.
    #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
    register: String,
    /// Who looks (logged).
    #[arg(long)]
    who: String,
    /// Why (logged).
    #[arg(long)]
    why: String,
}

pub fn lookup(a: LookupArgs) -> Result<()> {
    let mut reg = Register::connect(&a.register)?;
    match reg.lookup(&a.hetu, &a.who, &a.why)? {
        Some((hetu, groups)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "henkilotunnus": hetu, "tietoryhmat": groups }))?
            )
        }
        None => bail!("{} is not in the register", a.hetu),
    }
    Ok(())
}

#[derive(Args)]
pub struct ExportArgs {
    /// A SQLite file path, or a postgres:// URL.
    #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
    register: String,
    #[arg(long)]
    who: String,
    #[arg(long)]
    why: String,
}

/// One JSON object per line.
pub fn export(a: ExportArgs) -> Result<()> {
    let mut reg = Register::connect(&a.register)?;
    for (hetu, groups) in reg.export(&a.who, &a.why)? {
        println!("{}", serde_json::json!({ "henkilotunnus": hetu, "tietoryhmat": groups }));
    }
    Ok(())
}
