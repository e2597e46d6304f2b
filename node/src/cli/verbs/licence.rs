//! `safeledger licence` and `safeledger decision`: licence decisions, alone or collective
//! (issue 19 item 5).

use super::{date_arg, enterprise_arg, tx_id_arg};
use crate::cli::act::Acting;
use crate::cli::exit;
use clap::{Args, Subcommand, ValueEnum};
use safeledger_core::records::{
    ApplicationStep, ApplicationStepKind, DecisionProposal, DecisionSignature, LicenceApplication,
    LicenceApplicationKind, LicenceDecision, LicenceDecisionKind,
};
use safeledger_core::TxBody;

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
    /// Record an application filed with your agency (--effective-at: the filing date).
    /// Its time limits start: acceptance or the one-time notice of missing materials within
    /// licence_notice_working_days (5), the decision within licence_decision_working_days
    /// (45), in working days of the governed calendar.
    Apply {
        /// The applicant.
        #[arg(long)]
        enterprise: String,
        /// Your agency's id for the application.
        #[arg(long)]
        id: String,
        /// A new licence or a renewal.
        #[arg(long, value_enum, default_value = "new")]
        kind: ApplicationKind,
        /// The licence renewed (required for a renewal), or the number reserved.
        #[arg(long)]
        licence: Option<String>,
        /// The licence type applied for.
        #[arg(long)]
        licence_type: String,
        /// Industry code, e.g. GB/T 4754-2017:B0610.
        #[arg(long)]
        industry: Option<String>,
        #[command(flatten)]
        acting: Acting,
    },
    /// Accept an application: its materials are complete.
    Accept {
        /// The application's transaction id (the inbox lists it).
        application: String,
        /// The applicant.
        #[arg(long)]
        enterprise: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// The one-time notice of missing materials, naming every missing item (repeat
    /// --item); the decision's clock stops until `licence resupplied`.
    NotifyMissing {
        /// The application's transaction id.
        application: String,
        /// The applicant.
        #[arg(long)]
        enterprise: String,
        /// A missing item, repeatable.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        #[command(flatten)]
        acting: Acting,
    },
    /// The applicant supplied every item the notice named: the decision's limit runs
    /// from this record's --effective-at.
    Resupplied {
        /// The application's transaction id.
        application: String,
        /// The applicant.
        #[arg(long)]
        enterprise: String,
        #[command(flatten)]
        acting: Acting,
    },
}

/// What an application asks for (`--kind`).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ApplicationKind {
    /// A new licence.
    New,
    /// A further term of --licence.
    Renewal,
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
    /// Hours until co-signatures are refused, 1 to 8760 (the governed default, 168, when
    /// omitted).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8_760))]
    deadline_hours: Option<u32>,
    #[command(flatten)]
    decision: DecisionArgs,
    #[command(flatten)]
    acting: Acting,
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

/// `safeledger licence`.
pub async fn licence(cmd: LicenceCmd) -> anyhow::Result<()> {
    match cmd {
        LicenceCmd::Decide { decision, acting } => {
            acting
                .act(TxBody::LicenceDecision(decision.decision()?))
                .await
        }
        LicenceCmd::Apply {
            enterprise,
            id,
            kind,
            licence,
            licence_type,
            industry,
            acting,
        } => {
            let kind = match kind {
                ApplicationKind::New => LicenceApplicationKind::New,
                ApplicationKind::Renewal => LicenceApplicationKind::Renewal,
            };
            if kind == LicenceApplicationKind::Renewal && licence.is_none() {
                return Err(exit::usage("a renewal application names --licence"));
            }
            let body = TxBody::LicenceApplication(LicenceApplication {
                enterprise: enterprise_arg(&enterprise)?,
                application_id: id,
                kind,
                licence_number: licence,
                licence_type,
                industry,
            });
            acting.act(body).await
        }
        LicenceCmd::Accept {
            application,
            enterprise,
            acting,
        } => {
            application_step(
                &application,
                &enterprise,
                ApplicationStepKind::Accept,
                acting,
            )
            .await
        }
        LicenceCmd::NotifyMissing {
            application,
            enterprise,
            items,
            acting,
        } => {
            if items.iter().any(|i| i.trim().is_empty()) {
                return Err(exit::usage("an --item is blank"));
            }
            let step = ApplicationStepKind::NotifyMissing { items };
            application_step(&application, &enterprise, step, acting).await
        }
        LicenceCmd::Resupplied {
            application,
            enterprise,
            acting,
        } => {
            application_step(
                &application,
                &enterprise,
                ApplicationStepKind::Resupplied,
                acting,
            )
            .await
        }
    }
}

async fn application_step(
    application: &str,
    enterprise: &str,
    step: ApplicationStepKind,
    acting: Acting,
) -> anyhow::Result<()> {
    let body = TxBody::ApplicationStep(ApplicationStep {
        enterprise: enterprise_arg(enterprise)?,
        application: tx_id_arg("APPLICATION", application)?,
        step,
    });
    acting.act(body).await
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
            let mut client = home.client_for(&key);
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
