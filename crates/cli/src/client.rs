//! The recipient's commands: `vtj sync`, `vtj register`, `vtj lookup`, `vtj export`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use vtj_sync::{Client, ClientConfig, Progress, Register, SyncReport};

#[derive(Args, Clone)]
pub struct ServiceArgs {
    /// The address the calls are under, e.g. https://vtj.example:8443/api/v1 or DVV's
    /// https://api.hiekkalaatikko.muutostietopalvelu.dvv.fi/api/v1
    #[arg(long, env = "VTJ_SERVICE")]
    service: String,
    /// The user of your permit (HTTP Basic). Its password comes from VTJ_PASSWORD or --password-file.
    #[arg(long, env = "VTJ_USER")]
    user: Option<String>,
    /// A file holding the user's password (one line).
    #[arg(long, env = "VTJ_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// The local register: a SQLite file path, or a postgres:// URL.
    #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
    register: String,
    /// PEM with a client certificate and its key (mutual TLS).
    #[arg(long, env = "VTJ_CLIENT_IDENTITY")]
    client_identity: Option<PathBuf>,
    /// PEM of an extra CA to trust (DVV's sandbox: DVV Gov. Root CA - G3 RSA).
    #[arg(long, env = "VTJ_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Sent as X-Road-Client (INSTANCE/CLASS/MEMBER/SUBSYSTEM, e.g. FI/GOV/0000000-0/vtj-client).
    #[arg(long, env = "VTJ_XROAD_CLIENT")]
    xroad_client: Option<String>,
    /// The public key of the service's audit log (name+id+key, as `vtj admin
    /// keygen` prints it), to check the signatures of its checkpoints; the
    /// register remembers it.
    #[arg(long, env = "VTJ_SERVICE_AUDIT_KEY")]
    audit_key: Option<String>,
}

impl ServiceArgs {
    /// The password is never a flag: a flag shows in the process list.
    fn password(&self) -> Result<Option<String>> {
        if let Some(f) = &self.password_file {
            let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            return Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()));
        }
        Ok(std::env::var("VTJ_PASSWORD").ok())
    }

    fn client(&self) -> Result<Client> {
        let password = self.password()?;
        match (&self.user, &password, &self.client_identity) {
            (Some(_), None, _) => bail!("--user needs its password: set VTJ_PASSWORD or give --password-file"),
            (None, _, None) => bail!("sign in: --user (or VTJ_USER) with VTJ_PASSWORD, or --client-identity"),
            _ => {}
        }
        Ok(Client::new(ClientConfig {
            base_url: self.service.clone(),
            user: self.user.clone(),
            password,
            identity: self.client_identity.clone(),
            ca_cert: self.ca_cert.clone(),
            xroad_client: self.xroad_client.clone(),
            audit_key: self.audit_key.clone(),
            ..ClientConfig::default()
        })?)
    }

    fn register(&self) -> Result<Register> {
        open_register(&self.register)
    }
}

fn open_register(spec: &str) -> Result<Register> {
    Register::connect(spec).with_context(|| format!("opening register {}", crate::redact(spec)))
}

#[derive(Args)]
pub struct SyncArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// A municipality-scoped permit: its municipalities (codes, comma-separated). Needed on the
    /// first run; the register remembers them.
    #[arg(long, value_delimiter = ',')]
    kunnat: Vec<String>,
    /// ... or its wellbeing services counties (e.g. KS, HE), comma-separated.
    #[arg(long, value_delimiter = ',')]
    hyvinvointialueet: Vec<String>,
    /// Keep syncing every INTERVAL (e.g. 30s, 15m, 1h, 1d).
    #[arg(long, value_parser = parse_interval)]
    watch: Option<Duration>,
    #[arg(long)]
    json: bool,
}

impl SyncArgs {
    /// The client, the register and the area (if given) a run works with.
    pub(crate) fn open(&self) -> Result<(Client, Register, Option<BTreeSet<String>>)> {
        Ok((self.service.client()?, self.service.register()?, self.area()?))
    }

    pub(crate) fn watch(&self) -> Option<Duration> {
        self.watch
    }

    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// The area's municipality codes, if given.
    fn area(&self) -> Result<Option<BTreeSet<String>>> {
        let mut out = BTreeSet::new();
        for k in &self.kunnat {
            let code = vtj_core::KuntaCode::parse(k).with_context(|| format!("--kunnat {k}"))?;
            anyhow::ensure!(code.is_municipality(), "--kunnat {k}: not a municipality");
            out.insert(code.to_string());
        }
        for r in &self.hyvinvointialueet {
            out.extend(vtj_core::kunta::region_kunnat(r)?.iter().map(|k| k.to_string()));
        }
        Ok((!out.is_empty()).then_some(out))
    }
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
    let area = args.area()?;
    // Two workers: one fetches the next page while the other writes this one.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        match args.watch {
            None => {
                let report = run_once(&client, &mut reg, area).await?;
                print_report(&report, args.json)?;
            }
            Some(every) => {
                vtj_sync::watch(&client, &mut reg, area, every, &mut |r| match r {
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

pub async fn run_once(client: &Client, reg: &mut Register, area: Option<BTreeSet<String>>) -> Result<SyncReport> {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("static template"));
    let report = vtj_sync::sync(client, reg, area, &mut |p| match p {
        Progress::Initial { persons } => pb.set_message(format!("initial load: {persons} persons")),
        Progress::Changes { applied, cursor } => pb.set_message(format!("changes: {applied} applied, cursor {cursor}")),
    })
    .await;
    pb.finish_and_clear();
    Ok(report?)
}

pub(crate) fn print_report(r: &SyncReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
    } else {
        let audit = r
            .audit_checkpoint
            .map_or(String::new(), |n| format!("; the service's audit checkpoint of {n} entries checked and kept"));
        println!(
            "synced in {:.1} s: {} persons loaded, {} changes applied ({} censor markers, {} persons removed); {} held, cursor {}{audit}",
            r.seconds, r.persons_loaded, r.changes_applied, r.censored, r.removed, r.persons_held, r.cursor
        );
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum RegisterCmd {
    /// List persons of a hetu-scoped permit and load their data (in batches of 1000).
    Add {
        #[command(flatten)]
        service: ServiceArgs,
        hetus: Vec<String>,
        /// A file of hetus, one per line (# comments allowed).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Hetus per /muutokset bucket (a hetu's bucket never changes).
        #[arg(long, default_value_t = vtj_sync::DEFAULT_BUCKET)]
        bucket_size: u64,
    },
    /// End customership: take persons off the list and delete their data.
    Remove {
        /// A SQLite file path, or a postgres:// URL.
        #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
        register: String,
        hetus: Vec<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Print the service's audit checkpoints this register has checked and
    /// kept, as a JSON list: what `vtj audit verify --checkpoints` takes.
    Checkpoints {
        /// A SQLite file path, or a postgres:// URL.
        #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
        register: String,
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
        RegisterCmd::Add { service, hetus: h, file, bucket_size } => {
            let list = hetus(h, file)?;
            let (client, mut reg) = (service.client()?, service.register()?);
            let n = rt.block_on(vtj_sync::list_add(&client, &mut reg, &list, bucket_size))?;
            println!(
                "{} hetus newly listed; the service gave the data of {} ({} already listed)",
                n.listed,
                n.found,
                list.len() - n.listed
            );
        }
        RegisterCmd::Remove { register, hetus: h, file } => {
            let list = hetus(h, file)?;
            let n = vtj_sync::list_remove(&mut open_register(&register)?, &list)?;
            println!("{} hetus taken off the list; {n} persons' data deleted", list.len());
        }
        RegisterCmd::Checkpoints { register } => {
            println!("{}", serde_json::to_string_pretty(&open_register(&register)?.checkpoints()?)?);
        }
        RegisterCmd::PruneLog { register } => {
            let now = time::OffsetDateTime::now_utc();
            let cutoff = now.replace_year(now.year() - 5).unwrap_or(now - time::Duration::days(5 * 366));
            let n = open_register(&register)?.prune_access_log(&vtj_store::AuditRecord::format_time(cutoff))?;
            println!("{n} look-up log entries older than five years deleted");
        }
    }
    Ok(())
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
    let mut reg = open_register(&a.register)?;
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
    use std::io::Write;
    let mut reg = open_register(&a.register)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = reg.export(&a.who, &a.why)?.into_iter().try_for_each(|(hetu, groups)| {
        serde_json::to_writer(&mut out, &serde_json::json!({ "henkilotunnus": hetu, "tietoryhmat": groups }))?;
        out.write_all(b"\n")
    });
    match written.and_then(|()| out.flush()) {
        // `vtj export | head` is a reader that has seen enough, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
