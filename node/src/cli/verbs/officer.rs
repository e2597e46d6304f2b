//! `safeledger officer`: an agency's officers and their posts (issue 19 item 6).

use crate::cli::act::{officer_key_path, Acting};
use crate::cli::exit::{self, Exit};
use crate::cli::home::write_secret;
use clap::Subcommand;
use safeledger_core::records::{OfficerAction, OfficerActionKind};
use safeledger_core::{PublicKey, SecretKey, TxBody};

/// `safeledger officer`: your agency's officers and their posts.
#[derive(Subcommand)]
pub enum OfficerCmd {
    /// Register a new officer of your agency with its posts (roles of the governed table
    /// officer_roles: acceptor, reviewer, inspector, approver, head by default). Makes its
    /// key in HOME/AGENCY/officers/NAME.key (mode 0600) unless --public-key names one it
    /// made itself; signed by --officer (a head) or the agency's first officer.
    Register {
        /// The officer's badge: its name on the ledger and its key file's name
        /// ([A-Za-z0-9._-], 1 to 64 characters).
        #[arg(long)]
        name: String,
        /// Its posts, comma-separated or repeated.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// The officer's own public key (hex), when it keeps its key on its own machine.
        #[arg(long)]
        public_key: Option<String>,
        #[command(flatten)]
        acting: Acting,
    },
    /// Make an officer's key on the officer's own machine, HOME/AGENCY/officers/NAME.key
    /// (mode 0600), and print its public key for a head to register with `officer register
    /// --public-key`. Nothing is sent.
    Key {
        /// The network directory (its genesis.json).
        #[arg(long)]
        home: std::path::PathBuf,
        /// The officer's agency.
        #[arg(long)]
        agency: String,
        /// The officer's badge ([A-Za-z0-9._-], 1 to 64 characters).
        #[arg(long)]
        name: String,
    },
    /// Replace an officer's posts.
    Roles {
        /// The officer: a badge registered from this directory, or a public key (hex).
        of: String,
        /// Its posts from now on, comma-separated or repeated.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        #[command(flatten)]
        acting: Acting,
    },
    /// Revoke an officer: its signatures are refused from the committing transaction on;
    /// what it signed stays listed by `query officer`.
    Revoke {
        /// The officer: a badge registered from this directory, or a public key (hex).
        of: String,
        #[command(flatten)]
        acting: Acting,
    },
}

/// The officer `of` names: a badge with a key file under HOME/AGENCY/officers, or a key.
fn officer_arg(acting: &Acting, of: &str) -> anyhow::Result<PublicKey> {
    if of.len() == 64 {
        if let Ok(k) = PublicKey::from_hex(of) {
            return Ok(k);
        }
    }
    let home = acting.load_home()?;
    let path = officer_key_path(&home, &acting.agency, of)?;
    if !path.exists() {
        return Err(exit::usage(format!(
            "{of:?} is neither a public key (64 hex digits) nor an officer registered from \
             this directory ({} does not exist)",
            path.display()
        )));
    }
    Ok(crate::cli::home::read_key(&path)?.public())
}

fn officer_action(
    officer: PublicKey,
    action: OfficerActionKind,
    name: &str,
    roles: Vec<String>,
) -> TxBody {
    TxBody::OfficerAction(OfficerAction {
        officer,
        action,
        name: name.to_string(),
        roles,
    })
}

/// `safeledger officer`.
pub async fn officer(cmd: OfficerCmd) -> anyhow::Result<()> {
    match cmd {
        OfficerCmd::Register {
            name,
            roles,
            public_key,
            acting,
        } => {
            let home = acting.load_home()?;
            let path = officer_key_path(&home, &acting.agency, &name)?;
            let (public, made) = match public_key {
                Some(k) => (
                    PublicKey::from_hex(k.trim())
                        .map_err(|e| exit::usage(format!("--public-key: {e}")))?,
                    None,
                ),
                None => {
                    if path.exists() {
                        return Err(exit::usage(format!(
                            "{} exists: officer {name} was registered from this directory \
                             already",
                            path.display()
                        )));
                    }
                    let key = SecretKey::generate(&mut rand::rngs::OsRng);
                    (key.public(), Some(key))
                }
            };
            let posts = roles.join(", ");
            let body = officer_action(public, OfficerActionKind::Register, &name, roles);
            if acting.dry_run {
                return acting.act(body).await;
            }
            // The key is kept before the registration is submitted, and removed again if
            // the registration does not commit accepted.
            if let Some(key) = &made {
                let dir = path.parent().expect("a key path has a directory");
                std::fs::create_dir_all(dir)?;
                write_secret(&path, key)?;
            }
            let out = acting.act(body).await;
            if out.is_err() && made.is_some() && !committed_maybe(&out) {
                let _ = std::fs::remove_file(&path);
            }
            if out.is_ok() && made.is_some() && acting.output != crate::cli::args::Output::Json {
                println!(
                    "officer {name} ({public}) holds [{posts}]; its key is {} (sign as it \
                     with --officer {name})",
                    path.display()
                );
            }
            out
        }
        OfficerCmd::Key { home, agency, name } => {
            let home = crate::cli::home::Home::load(&home)?;
            home.known_agency(&agency)?;
            let path = officer_key_path(&home, &agency, &name)?;
            if path.exists() {
                return Err(exit::usage(format!(
                    "{} exists: officer {name} has a key here already",
                    path.display()
                )));
            }
            let key = SecretKey::generate(&mut rand::rngs::OsRng);
            std::fs::create_dir_all(path.parent().expect("a key path has a directory"))?;
            write_secret(&path, &key)?;
            println!("{}", key.public());
            eprintln!(
                "officer {name}'s key is {}: send the public key above to a head of {agency} \
                 (officer register --name {name} --public-key ...)",
                path.display()
            );
            Ok(())
        }
        OfficerCmd::Roles { of, roles, acting } => {
            let key = officer_arg(&acting, &of)?;
            acting
                .act(officer_action(key, OfficerActionKind::SetRoles, "", roles))
                .await
        }
        OfficerCmd::Revoke { of, acting } => {
            let key = officer_arg(&acting, &of)?;
            acting
                .act(officer_action(
                    key,
                    OfficerActionKind::Revoke,
                    "",
                    Vec::new(),
                ))
                .await
        }
    }
}

/// True when `out` failed in a way that may still leave the transaction committed (timed
/// out or interrupted): its key must then be kept.
fn committed_maybe(out: &anyhow::Result<()>) -> bool {
    match out {
        Ok(()) => true,
        Err(e) => matches!(exit::code_of(e), Exit::Unavailable | Exit::Interrupted),
    }
}
