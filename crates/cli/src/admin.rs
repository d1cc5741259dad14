//! `vtj admin`: recipients, permits, users and the fee report.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use time::Date;
use vtj_api::admin::{self, PermitSpec};

use crate::{open_existing, parse_day};

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Make the key that signs the audit log's checkpoints: written to a new
    /// file only its owner may read (keep it outside the database); the
    /// public key printed, for publishing to recipients and supervisors.
    Keygen {
        /// The new key file.
        #[arg(long)]
        out: std::path::PathBuf,
        /// The log's name (its checkpoints' origin), e.g. the service's host and path.
        #[arg(long, default_value = "vtj-muutosrajapinta/audit")]
        name: String,
    },
    /// Create or rename a recipient (luvansaaja).
    RecipientAdd {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        tunnus: String,
        #[arg(long)]
        nimi: String,
    },
    /// Create a user of a permit (HTTP Basic on the REST interface); its password is printed
    /// once and stored only as an argon2id hash.
    UserAdd {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        tietolupa: String,
        #[arg(long)]
        kayttaja: String,
    },
    /// End a user at once (and its certificates). Its name is never reused.
    UserRevoke {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        kayttaja: String,
    },
    /// List users: name, permit, whether revoked.
    Users {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
    },
    /// Register a client certificate (PEM) for a user: mutual TLS then signs in as the user.
    CertAdd {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        kayttaja: String,
        #[arg(long)]
        cert: PathBuf,
    },
    /// Set a new token for the admin API (`vtj serve --admin-listen`), replacing the old one.
    AdminTokenIssue {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
    },
    /// Create a permit (tietolupa).
    PermitAdd {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        tunnus: String,
        #[arg(long)]
        luvansaaja: String,
        #[arg(long)]
        kayttotarkoitus: String,
        /// ASREK, PERUSTASO, LAAJAT, K2000, PSOP, APOTTI, or a name of your own with --ryhmat.
        #[arg(long)]
        tuote: String,
        /// Comma-separated group names: the product's groups.
        #[arg(long, value_delimiter = ',')]
        ryhmat: Option<Vec<String>>,
        /// Kuntarajaus: comma-separated municipality codes.
        #[arg(long, value_delimiter = ',')]
        kunnat: Vec<String>,
        /// Kuntarajaus: comma-separated wellbeing services county codes (e.g. KS, HEL).
        #[arg(long, value_delimiter = ',')]
        hyvinvointialueet: Vec<String>,
        /// Hetu-list scope, maintained by the recipient.
        #[arg(long)]
        hetulista: bool,
        /// The permit grants turvakielto data (address groups and home municipality of protected persons).
        #[arg(long)]
        turvakielto_oikeus: bool,
        #[arg(long, value_parser = parse_day)]
        alkaen: Option<Date>,
        #[arg(long, value_parser = parse_day)]
        asti: Option<Date>,
        /// A county hub's sub-permit: the upstream permit it is carved
        /// from. Refused, with every reason, if it would be wider.
        #[arg(long)]
        ylalupa: Option<String>,
    },
    /// Apply a recipient's .HTT hetu-list upload (L add, P remove) to a hetu-list permit.
    HetulistaUpload {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        permit: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Revoke a permit: it stops answering at once.
    PermitRevoke {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        tunnus: String,
    },
    /// List permits as JSON.
    Permits {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
    },
    /// Fees per permit from what the audit log shows was delivered.
    Fees {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        /// Permits whose recipient moved from the file service (no onboarding fee).
        #[arg(long, value_delimiter = ',')]
        from_files: Vec<String>,
    },
}

pub fn run(cmd: AdminCmd) -> Result<()> {
    match cmd {
        AdminCmd::Keygen { out, name } => {
            let signer = crate::audit::write_key(&out, &name)?;
            eprintln!("signing key written to {} (mode 0600); its public key, to publish:", out.display());
            println!("{}", signer.verifier().text());
        }
        AdminCmd::RecipientAdd { db, tunnus, nimi } => {
            admin::add_recipient(&mut *open_existing(&db)?, &tunnus, &nimi)?;
            println!("recipient {tunnus} saved");
        }
        AdminCmd::UserAdd { db, tietolupa, kayttaja } => {
            let password = admin::add_user(&mut *open_existing(&db)?, &tietolupa, &kayttaja)?;
            eprintln!("user {kayttaja} of permit {tietolupa} created; its password (shown once):");
            println!("{password}");
        }
        AdminCmd::UserRevoke { db, kayttaja } => {
            admin::revoke_user(&mut *open_existing(&db)?, &kayttaja)?;
            println!("user {kayttaja} revoked");
        }
        AdminCmd::Users { db } => {
            for u in open_existing(&db)?.users()? {
                println!("{:<24} {:<24} {}", u.name, u.permit, if u.revoked { "revoked" } else { "active" });
            }
        }
        AdminCmd::CertAdd { db, kayttaja, cert } => {
            let hash = vtj_api::tls::cert_file_hash(&cert)?;
            admin::add_user_cert(&mut *open_existing(&db)?, &kayttaja, &hash)?;
            println!("certificate sha256:{hash} registered for user {kayttaja}");
        }
        AdminCmd::AdminTokenIssue { db } => {
            println!("{}", vtj_api::admin_api::issue_admin_token(&mut *open_existing(&db)?)?);
        }
        AdminCmd::PermitAdd {
            db,
            tunnus,
            luvansaaja,
            kayttotarkoitus,
            tuote,
            ryhmat,
            kunnat,
            hyvinvointialueet,
            hetulista,
            turvakielto_oikeus,
            alkaen,
            asti,
            ylalupa,
        } => {
            let today = time::OffsetDateTime::now_utc().date();
            let spec = PermitSpec {
                tunnus,
                luvansaaja,
                kayttotarkoitus,
                tuote,
                ryhmat,
                kunnat,
                hyvinvointialueet,
                hetulista,
                turvakielto_oikeus,
                alkaen: alkaen.unwrap_or(today),
                asti,
                ylalupa,
            };
            let p = admin::add_permit(&mut *open_existing(&db)?, &spec)?;
            println!("{}", serde_json::to_string_pretty(&p)?);
        }
        AdminCmd::HetulistaUpload { db, permit, file } => {
            let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let (added, removed) = admin::upload_hetu_list(&mut *open_existing(&db)?, &permit, &bytes)?;
            println!("{}: {added} hetus added to and {removed} removed from the list of {permit}", file.display());
        }
        AdminCmd::PermitRevoke { db, tunnus } => {
            admin::revoke_permit(&mut *open_existing(&db)?, &tunnus)?;
            println!("permit {tunnus} revoked");
        }
        AdminCmd::Permits { db } => {
            println!("{}", serde_json::to_string_pretty(&open_existing(&db)?.permits()?)?);
        }
        AdminCmd::Fees { db, from_files } => {
            let from: BTreeSet<String> = from_files.into_iter().collect();
            let lines = admin::fee_report(&*open_existing(&db)?, &from)?;
            println!(
                "{:<16} {:<16} {:>12} {:>12} {:>12} {:>12}",
                "permit", "recipient", "persons", "initial €", "onboarding €", "total €"
            );
            for l in lines {
                println!(
                    "{:<16} {:<16} {:>12} {:>12.2} {:>12.2} {:>12.2}",
                    l.permit, l.recipient, l.initial_persons, l.initial_fee_eur, l.onboarding_fee_eur, l.total_eur
                );
            }
        }
    }
    Ok(())
}
