//! A verb per task (issue 19 item 4): officers and their posts, licence decisions alone or
//! collective, inspections with their hazards, rectification reports — each with flags,
//! help and validation before signing, and `--dry-run` ([`Acting`]). Hand-written JSON
//! through `tx submit --file` keeps working for every kind.

use crate::cli::act::{officer_key_path, Acting};
use crate::cli::exit::{self, Exit};
use crate::cli::home::write_secret;
use crate::cli::when;
use clap::{Args, Subcommand, ValueEnum};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{
    DecisionProposal, DecisionSignature, InspectionOutcome, InspectionRecord, LicenceDecision,
    LicenceDecisionKind, OfficerAction, OfficerActionKind, RectificationReport, Severity,
    Violation,
};
use safeledger_core::{Hash, PublicKey, SecretKey, TxBody};

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

/// What a licence decision decides (`--kind`).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DecisionKind {
    /// A new licence term (--valid-from and --valid-until).
    Grant,
    /// An application refused.
    Deny,
    /// A further term (--valid-from and --valid-until).
    Renew,
    /// Suspended until further notice.
    Suspend,
    /// Revoked.
    Revoke,
}

/// The fields of a licence decision.
#[derive(Args, Clone, Debug)]
pub struct DecisionArgs {
    /// The licensee, e.g. us-chi-bacp:1234.
    #[arg(long)]
    pub enterprise: String,
    /// The licence number.
    #[arg(long)]
    pub licence: String,
    /// What is decided.
    #[arg(long, value_enum)]
    pub kind: DecisionKind,
    /// The licence type (e.g. "Hazardous chemicals operation").
    #[arg(long, default_value = "")]
    pub licence_type: String,
    /// Start of the term (grant, renew): YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    pub valid_from: Option<String>,
    /// End of the term (grant, renew), at most the governed term after its start.
    #[arg(long)]
    pub valid_until: Option<String>,
    /// Industry code, e.g. GB/T 4754-2017:B0610 (high-risk industries need collective
    /// decisions).
    #[arg(long)]
    pub industry: Option<String>,
    /// The grounds.
    #[arg(long)]
    pub reason: String,
    /// The licence application it answers (grant, deny, renew), by transaction id.
    #[arg(long)]
    pub application: Option<String>,
}

/// `safeledger licence`.
#[derive(Subcommand)]
pub enum LicenceCmd {
    /// Decide on a licence: grant, deny, renew, suspend or revoke. A decision in a
    /// high-risk industry needs collective_k officers: propose it with `decision propose`
    /// for others to co-sign.
    Decide {
        #[command(flatten)]
        decision: DecisionArgs,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger decision`: collective decisions co-signed over time.
#[derive(Subcommand)]
pub enum DecisionCmd {
    /// Propose a licence decision for officers of your agency to co-sign; your signature is
    /// the first. It takes effect when collective_k officers with an approving post have
    /// signed before the deadline.
    Propose(Box<ProposeArgs>),
    /// Co-sign a proposed decision, named by its transaction id (the inbox lists them).
    Sign {
        /// The proposal's transaction id (hex).
        proposal: String,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger decision propose`'s arguments (boxed: the variant is much larger than `sign`).
#[derive(Args)]
pub struct ProposeArgs {
    /// Your agency's id for the proposal.
    #[arg(long)]
    id: String,
    /// Hours until co-signatures are refused (the governed default, 168, when omitted).
    #[arg(long)]
    deadline_hours: Option<u32>,
    #[command(flatten)]
    decision: DecisionArgs,
    #[command(flatten)]
    acting: Acting,
}

/// An inspection's verdict (`--outcome`).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Verdict {
    /// Passed.
    Pass,
    /// Passed with conditions (rectification required).
    PassWithConditions,
    /// Failed.
    Fail,
    /// Visited without a pass/fail verdict.
    NoVerdict,
}

/// `safeledger inspection`.
#[derive(Subcommand)]
pub enum InspectionCmd {
    /// Record an inspection and the hazards it found.
    Record {
        /// The inspected enterprise.
        #[arg(long)]
        enterprise: String,
        /// Your agency's id for the inspection.
        #[arg(long)]
        id: String,
        /// Inspection type (routine, follow-up, complaint, ...).
        #[arg(long = "type", default_value = "routine")]
        inspection_type: String,
        /// The verdict.
        #[arg(long, value_enum)]
        outcome: Verdict,
        /// Score 0 to 100, where your agency scores.
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100))]
        score: Option<u32>,
        /// A hazard found, repeatable: CODE:SEVERITY:RECTIFY_BY:DESCRIPTION with SEVERITY
        /// low, moderate or high (a major hazard) and RECTIFY_BY a date (YYYY-MM-DD) or
        /// empty, e.g. "E-12:high:2026-12-20:blocked fire exit".
        #[arg(long = "hazard", value_name = "HAZARD")]
        hazards: Vec<String>,
        /// For a re-inspection: your agency's id of the inspection it follows up (a pass
        /// closes that inspection's rectified hazards).
        #[arg(long)]
        follow_up_of: Option<String>,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger rectification`.
#[derive(Subcommand)]
pub enum RectificationCmd {
    /// Report hazards of an inspection rectified (all of them unless --code names some);
    /// recorded by the inspecting agency.
    Report {
        /// The enterprise.
        #[arg(long)]
        enterprise: String,
        /// Your agency's id of the inspection.
        #[arg(long)]
        inspection: String,
        /// A hazard code rectified, repeatable; none: every hazard of the inspection.
        #[arg(long = "code")]
        codes: Vec<String>,
        /// What was done.
        #[arg(long)]
        description: String,
        #[command(flatten)]
        acting: Acting,
    },
}

fn enterprise_arg(s: &str) -> anyhow::Result<EnterpriseId> {
    EnterpriseId::parse(s).map_err(|e| exit::usage(format!("--enterprise {s:?}: {e}")))
}

fn tx_id_arg(flag: &str, s: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(s.trim()).map_err(|e| {
        exit::usage(format!(
            "{flag} {s:?} is not a transaction id (64 hex digits): {e}"
        ))
    })
}

fn date_arg(flag: &str, s: Option<&str>) -> anyhow::Result<Option<safeledger_core::Timestamp>> {
    s.map(|s| when::parse_time(s).map_err(|e| exit::usage(format!("{flag}: {e:#}"))))
        .transpose()
}

impl DecisionArgs {
    /// The decision, checked before signing: a grant or renewal has its term, a suspension
    /// or revocation none and answers no application.
    pub fn decision(&self) -> anyhow::Result<LicenceDecision> {
        let kind = match self.kind {
            DecisionKind::Grant => LicenceDecisionKind::Grant,
            DecisionKind::Deny => LicenceDecisionKind::Deny,
            DecisionKind::Renew => LicenceDecisionKind::Renew,
            DecisionKind::Suspend => LicenceDecisionKind::Suspend,
            DecisionKind::Revoke => LicenceDecisionKind::Revoke,
        };
        let valid_from = date_arg("--valid-from", self.valid_from.as_deref())?;
        let valid_until = date_arg("--valid-until", self.valid_until.as_deref())?;
        let termed = matches!(
            kind,
            LicenceDecisionKind::Grant | LicenceDecisionKind::Renew
        );
        if termed && (valid_from.is_none() || valid_until.is_none()) {
            return Err(exit::usage(
                "a grant or renewal needs --valid-from and --valid-until",
            ));
        }
        if !termed && (valid_from.is_some() || valid_until.is_some()) {
            return Err(exit::usage(
                "only a grant or renewal has a term (--valid-from, --valid-until)",
            ));
        }
        if self.licence.trim().is_empty() {
            return Err(exit::usage("--licence is blank"));
        }
        let application = self
            .application
            .as_deref()
            .map(|a| tx_id_arg("--application", a))
            .transpose()?;
        Ok(LicenceDecision {
            enterprise: enterprise_arg(&self.enterprise)?,
            licence_number: self.licence.trim().to_string(),
            licence_type: self.licence_type.clone(),
            kind,
            valid_from,
            valid_until,
            industry: self.industry.clone(),
            reason: self.reason.clone(),
            applied_at: None,
            application,
        })
    }
}

/// One `--hazard CODE:SEVERITY:RECTIFY_BY:DESCRIPTION`.
fn hazard(s: &str) -> anyhow::Result<Violation> {
    let bad = |why: &str| {
        exit::usage(format!(
            "--hazard {s:?}: {why} (expected CODE:SEVERITY:RECTIFY_BY:DESCRIPTION, e.g. \
             \"E-12:high:2026-12-20:blocked fire exit\")"
        ))
    };
    let mut parts = s.splitn(4, ':');
    let (Some(code), Some(sev), Some(by), Some(description)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("four parts separated by ':' are needed"));
    };
    if code.trim().is_empty() {
        return Err(bad("the code is blank"));
    }
    let severity = match sev.trim() {
        "low" => Severity::Low,
        "moderate" => Severity::Moderate,
        "high" => Severity::High,
        _ => return Err(bad("SEVERITY is low, moderate or high")),
    };
    let rectify_by = match by.trim() {
        "" => None,
        d => Some(when::parse_time(d).map_err(|e| bad(&format!("RECTIFY_BY: {e:#}")))?),
    };
    Ok(Violation {
        code: code.trim().to_string(),
        severity,
        description: description.trim().to_string(),
        rectify_by,
    })
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

/// `safeledger licence`.
pub async fn licence(cmd: LicenceCmd) -> anyhow::Result<()> {
    match cmd {
        LicenceCmd::Decide { decision, acting } => {
            acting
                .act(TxBody::LicenceDecision(decision.decision()?))
                .await
        }
    }
}

/// `safeledger decision`.
pub async fn decision(cmd: DecisionCmd) -> anyhow::Result<()> {
    match cmd {
        DecisionCmd::Propose(args) => {
            let ProposeArgs {
                id,
                deadline_hours,
                decision,
                acting,
            } = *args;
            if deadline_hours == Some(0) {
                return Err(exit::usage("--deadline-hours must be at least 1"));
            }
            let body = TxBody::DecisionProposal(DecisionProposal {
                proposal_id: id,
                decision: decision.decision()?,
                deadline_hours,
            });
            let (home, agency, text) = (
                acting.home.clone(),
                acting.agency.clone(),
                acting.output != crate::cli::args::Output::Json && !acting.dry_run,
            );
            acting.act(body).await?;
            if text {
                eprintln!(
                    "proposed: it takes effect when collective_k approvers of {agency} have \
                     signed; each co-signs with `safeledger decision sign <the id above> --home \
                     {} --agency {agency} --officer NAME` (the inbox lists it)",
                    home.display()
                );
            }
            Ok(())
        }
        DecisionCmd::Sign { proposal, acting } => {
            let id = tx_id_arg("PROPOSAL", &proposal)?;
            let home = acting.load_home()?;
            let key = acting.key(&home)?;
            let mut client = safeledger_client::rpc::LedgerClient::new(home.endpoints()).signed_by(
                safeledger_client::auth::Signer::new(key, home.genesis.chain_id.clone()),
            );
            let (tx, ..) = client.transaction(id).await?;
            let TxBody::DecisionProposal(p) = &tx.payload.body else {
                return Err(exit::usage(format!(
                    "transaction {id} is a {}, not a decision_proposal",
                    tx.payload.body.kind().name()
                )));
            };
            let body = TxBody::DecisionSignature(DecisionSignature {
                enterprise: p.decision.enterprise.clone(),
                proposal: id,
            });
            acting.act(body).await
        }
    }
}

/// `safeledger inspection`.
pub async fn inspection(cmd: InspectionCmd) -> anyhow::Result<()> {
    match cmd {
        InspectionCmd::Record {
            enterprise,
            id,
            inspection_type,
            outcome,
            score,
            hazards,
            follow_up_of,
            acting,
        } => {
            let violations = hazards
                .iter()
                .map(|h| hazard(h))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut counts = [0u32; 3];
            for v in &violations {
                counts[v.severity as usize] += 1;
            }
            let body = TxBody::InspectionRecord(InspectionRecord {
                enterprise: enterprise_arg(&enterprise)?,
                inspection_id: id,
                inspection_type,
                outcome: match outcome {
                    Verdict::Pass => InspectionOutcome::Pass,
                    Verdict::PassWithConditions => InspectionOutcome::PassWithConditions,
                    Verdict::Fail => InspectionOutcome::Fail,
                    Verdict::NoVerdict => InspectionOutcome::NoVerdict,
                },
                score,
                violation_counts: counts,
                violations,
                follow_up_of,
            });
            acting.act(body).await
        }
    }
}

/// `safeledger rectification`.
pub async fn rectification(cmd: RectificationCmd) -> anyhow::Result<()> {
    match cmd {
        RectificationCmd::Report {
            enterprise,
            inspection,
            codes,
            description,
            acting,
        } => {
            let body = TxBody::RectificationReport(RectificationReport {
                enterprise: enterprise_arg(&enterprise)?,
                inspection_id: inspection,
                codes,
                description,
            });
            acting.act(body).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazards_parse_with_their_severity_and_deadline_or_say_what_is_wrong() {
        let h = hazard("E-12:high:2026-12-20:blocked fire exit: north").unwrap();
        assert_eq!(h.code, "E-12");
        assert_eq!(h.severity, Severity::High);
        assert!(h.rectify_by.is_some());
        assert_eq!(h.description, "blocked fire exit: north");
        assert!(hazard("E-1:low::none").unwrap().rectify_by.is_none());
        for bad in [
            "E-1",
            "E-1:grave:2026-01-01:x",
            ":low::x",
            "E-1:low:2026-13-01:x",
        ] {
            let e = hazard(bad).unwrap_err();
            assert_eq!(exit::code_of(&e), Exit::Usage, "{bad}");
        }
    }
}
