//! `safeledger inspection`, `rectification`, `penalty` and `blacklist`: findings about an
//! enterprise.

use super::enterprise_arg;
use crate::cli::act::Acting;
use crate::cli::exit;
use crate::cli::when;
use clap::{Subcommand, ValueEnum};
use safeledger_core::records::{
    BlacklistAction, BlacklistActionKind, InspectionOutcome, InspectionRecord, Penalty,
    PenaltyGrade, RectificationReport, Severity, Violation,
};
use safeledger_core::TxBody;

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

/// A penalty's grade (`--grade`).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Grade {
    /// A rectification notice, a warning.
    Minor,
    /// A fine, a suspension or revocation order: restricts licence grants and renewals
    /// (R3) and opens a review task for every agency licensing the enterprise.
    Severe,
}

/// `safeledger penalty`.
#[derive(Subcommand)]
pub enum PenaltyCmd {
    /// Record an administrative penalty.
    Record {
        /// The penalised enterprise.
        #[arg(long)]
        enterprise: String,
        /// Your agency's case number.
        #[arg(long)]
        case: String,
        /// Its grade.
        #[arg(long, value_enum)]
        grade: Grade,
        /// Kind, e.g. fine, citation, rectification_notice.
        #[arg(long, default_value = "fine")]
        kind: String,
        /// A fine in minor units of --currency (fen: 25000000 is 250,000 yuan).
        #[arg(long, requires = "currency")]
        amount_minor: Option<u64>,
        /// ISO 4217 code of the amount (CNY, USD, ...).
        #[arg(long, requires = "amount_minor")]
        currency: Option<String>,
        /// The grounds.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger blacklist`.
#[derive(Subcommand)]
pub enum BlacklistCmd {
    /// List an enterprise as seriously dishonest (credit grade D) for the governed period
    /// (blacklist_months, 36 by default): licence grants and renewals are refused under its
    /// id and every id linked to it (R2).
    Enter {
        /// The enterprise.
        #[arg(long)]
        enterprise: String,
        /// The grounds.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Remove a listing on request, no earlier than blacklist_removal_after_months (12 by
    /// default) after it (R4).
    Remove {
        /// The enterprise.
        #[arg(long)]
        enterprise: String,
        /// The grounds.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger penalty`.
pub async fn penalty(cmd: PenaltyCmd) -> anyhow::Result<()> {
    let PenaltyCmd::Record {
        enterprise,
        case,
        grade,
        kind,
        amount_minor,
        currency,
        reason,
        acting,
    } = cmd;
    let currency = currency.map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &currency {
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(exit::usage(format!(
                "--currency {c:?} is not an ISO 4217 code (three letters, e.g. CNY)"
            )));
        }
    }
    let body = TxBody::Penalty(Penalty {
        enterprise: enterprise_arg(&enterprise)?,
        case_id: case,
        grade: match grade {
            Grade::Minor => PenaltyGrade::Minor,
            Grade::Severe => PenaltyGrade::Severe,
        },
        kind,
        amount_minor,
        reason,
        currency,
    });
    acting.act(body).await
}

/// `safeledger blacklist`.
pub async fn blacklist(cmd: BlacklistCmd) -> anyhow::Result<()> {
    let (action, enterprise, reason, acting) = match cmd {
        BlacklistCmd::Enter {
            enterprise,
            reason,
            acting,
        } => (BlacklistActionKind::Enter, enterprise, reason, acting),
        BlacklistCmd::Remove {
            enterprise,
            reason,
            acting,
        } => (BlacklistActionKind::Remove, enterprise, reason, acting),
    };
    let body = TxBody::BlacklistAction(BlacklistAction {
        enterprise: enterprise_arg(&enterprise)?,
        action,
        reason,
    });
    acting.act(body).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::exit::Exit;

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
