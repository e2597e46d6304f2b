//! `safeledger inspection`, `rectification`, `penalty` and `blacklist`: findings about an
//! enterprise.

use super::enterprise_arg;
use crate::cli::act::Acting;
use crate::cli::exit;
use crate::cli::when;
use clap::{Subcommand, ValueEnum};
use safeledger_core::records::{
    AccidentLevel, AccidentReport, BlacklistAction, BlacklistActionKind, Correction,
    CorrectionAction, InspectionOutcome, InspectionRecord, Penalty, PenaltyGrade,
    RectificationReport, Severity, Violation,
};
use safeledger_core::{Timestamp, TxBody};

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
        /// empty, e.g. "E-12:high:2026-12-20:blocked fire exit". A code once per
        /// inspection; a deadline not before the inspection's day (one already passed is
        /// kept as history, not as an open task: the command says so).
        #[arg(long = "hazard", value_name = "HAZARD")]
        hazards: Vec<String>,
        /// For a re-inspection: your agency's id of the inspection it follows up (a pass
        /// closes that inspection's rectified hazards).
        #[arg(long)]
        follow_up_of: Option<String>,
        #[command(flatten)]
        acting: Acting,
    },
    /// Record one visit by several agencies once: each agency's findings in its own
    /// section, co-signed by an officer of each (--cosign here, or --out and `tx cosign`).
    Joint(super::joint::JointArgs),
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

/// What an inspection record is made of, as an officer types it (the CLI's flags, the
/// console's form).
pub struct InspectionInput<'a> {
    /// The inspected enterprise.
    pub enterprise: &'a str,
    /// The agency's id for the inspection.
    pub id: &'a str,
    /// Inspection type (routine, follow-up, ...).
    pub inspection_type: &'a str,
    /// The verdict.
    pub outcome: Verdict,
    /// Score 0 to 100.
    pub score: Option<u32>,
    /// Hazards, each `CODE:SEVERITY:RECTIFY_BY:DESCRIPTION`.
    pub hazards: &'a [String],
    /// The inspection it follows up.
    pub follow_up_of: Option<&'a str>,
}

/// The inspection record of `input` on the day of `at` (`now`: the wall clock), with the
/// notes to show the officer (a hazard whose deadline has passed is kept as history).
///
/// # Errors
/// A usage error (exit 2) naming the bad hazard, a code named twice, a deadline before the
/// inspection, a malformed enterprise id.
pub fn inspection_body(
    input: &InspectionInput<'_>,
    at: Timestamp,
    now: Timestamp,
) -> anyhow::Result<(TxBody, Vec<String>)> {
    let violations = input
        .hazards
        .iter()
        .map(|h| hazard(h))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut counts = [0u32; 3];
    let mut notes = Vec::new();
    for v in &violations {
        counts[v.severity as usize] += 1;
        if violations.iter().filter(|o| o.code == v.code).count() > 1 {
            return Err(exit::usage(format!(
                "--hazard: code {:?} is named twice in one inspection",
                v.code
            )));
        }
        match v.rectify_by {
            Some(due) if due.date_string() < at.date_string() => {
                return Err(exit::usage(format!(
                    "--hazard {}: its deadline {} is before the inspection ({})",
                    v.code,
                    due.date_string(),
                    at.date_string()
                )))
            }
            Some(due) if due < now => notes.push(format!(
                "hazard {}'s deadline {} has passed: the ledger keeps it as history, not as \
                 an open rectification task",
                v.code,
                due.date_string()
            )),
            _ => {}
        }
    }
    let body = TxBody::InspectionRecord(InspectionRecord {
        enterprise: enterprise_arg(input.enterprise)?,
        inspection_id: input.id.to_string(),
        inspection_type: input.inspection_type.to_string(),
        outcome: match input.outcome {
            Verdict::Pass => InspectionOutcome::Pass,
            Verdict::PassWithConditions => InspectionOutcome::PassWithConditions,
            Verdict::Fail => InspectionOutcome::Fail,
            Verdict::NoVerdict => InspectionOutcome::NoVerdict,
        },
        score: input.score,
        violation_counts: counts,
        violations,
        follow_up_of: input.follow_up_of.map(str::to_string),
    });
    Ok((body, notes))
}

/// `safeledger inspection`.
pub async fn inspection(cmd: InspectionCmd) -> anyhow::Result<()> {
    match cmd {
        InspectionCmd::Joint(args) => super::joint::joint(args).await,
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
            let input = InspectionInput {
                enterprise: &enterprise,
                id: &id,
                inspection_type: &inspection_type,
                outcome,
                score,
                hazards: &hazards,
                follow_up_of: follow_up_of.as_deref(),
            };
            let (body, notes) = inspection_body(&input, acting.effective_at()?, when::now())?;
            for n in notes {
                eprintln!("note: {n}");
            }
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
            acting
                .act(rectification_body(
                    &enterprise,
                    inspection,
                    codes,
                    description,
                )?)
                .await
        }
    }
}

/// The report that hazards `codes` (none: all) of inspection `inspection` of `enterprise`
/// were rectified, as `description` says (the CLI's `rectification report`, the console's
/// form).
///
/// # Errors
/// A usage error (exit 2): a malformed enterprise id.
pub fn rectification_body(
    enterprise: &str,
    inspection: String,
    codes: Vec<String>,
    description: String,
) -> anyhow::Result<TxBody> {
    Ok(TxBody::RectificationReport(RectificationReport {
        enterprise: enterprise_arg(enterprise)?,
        inspection_id: inspection,
        codes,
        description,
    }))
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

/// An accident's level (`--level`), State Council Order 493 art. 3.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Level {
    /// 一般事故.
    General,
    /// 较大事故.
    Larger,
    /// 重大事故.
    Major,
    /// 特别重大事故.
    EspeciallyMajor,
}

/// `safeledger accident`.
#[derive(Subcommand)]
pub enum AccidentCmd {
    /// Report a work accident and its investigation's findings.
    Report {
        /// The employer.
        #[arg(long)]
        enterprise: String,
        /// Your agency's report number.
        #[arg(long)]
        id: String,
        /// Category (fatality, catastrophe, or your agency's own).
        #[arg(long, default_value = "fatality")]
        category: String,
        /// Deaths.
        #[arg(long, default_value_t = 0)]
        deaths: u32,
        /// Serious injuries.
        #[arg(long, default_value_t = 0)]
        serious_injuries: u32,
        /// Direct economic loss in minor units of --currency (fen).
        #[arg(long, requires = "currency")]
        direct_loss_minor: Option<u64>,
        /// ISO 4217 code of the loss.
        #[arg(long, requires = "direct_loss_minor")]
        currency: Option<String>,
        /// Where it happened.
        #[arg(long, default_value = "")]
        location: String,
        /// What happened (may hold personal data: see `tx submit --private`).
        #[arg(long)]
        description: String,
        /// The level; by default classified from deaths, injuries and (in CNY) the loss by
        /// Order 493's bounds — the rules refuse a level the governed thresholds disagree
        /// with.
        #[arg(long, value_enum)]
        level: Option<Level>,
        /// The investigation found the accident concealed (瞒报): blacklists (R4).
        #[arg(long)]
        concealed: bool,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger correction`.
#[derive(Subcommand)]
pub enum CorrectionCmd {
    /// Withdraw an earlier record of your agency: it stays on the timeline, marked, and no
    /// longer counts for the rules.
    Withdraw {
        /// The enterprise the record is about.
        #[arg(long)]
        enterprise: String,
        /// The record (transaction id).
        target: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Amend an earlier record of your agency: its content becomes the record in --file
    /// (the JSON of a record of the same kind about the same enterprise).
    Amend {
        /// The enterprise the record is about.
        #[arg(long)]
        enterprise: String,
        /// The record (transaction id).
        target: String,
        /// The amended record (JSON).
        #[arg(long)]
        file: std::path::PathBuf,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        acting: Acting,
    },
}

/// What an accident report is made of, as an officer types it (the CLI's flags, the
/// console's form).
pub struct AccidentInput<'a> {
    /// The employer.
    pub enterprise: &'a str,
    /// The agency's report number.
    pub id: &'a str,
    /// Category.
    pub category: &'a str,
    /// Deaths.
    pub deaths: u32,
    /// Serious injuries.
    pub serious_injuries: u32,
    /// Direct economic loss in minor units of `currency`.
    pub direct_loss_minor: Option<u64>,
    /// ISO 4217 code of the loss.
    pub currency: Option<&'a str>,
    /// Where.
    pub location: &'a str,
    /// What happened.
    pub description: &'a str,
    /// The level; `None`: classified from deaths, injuries and (in CNY) the loss.
    pub level: Option<Level>,
    /// Found concealed.
    pub concealed: bool,
}

/// The accident report of `a`, its level classified by Order 493's bounds when not given.
///
/// # Errors
/// A usage error (exit 2): a malformed enterprise id.
pub fn accident_body(a: &AccidentInput<'_>) -> anyhow::Result<TxBody> {
    let currency = a.currency.map(|c| c.trim().to_ascii_uppercase());
    let level = match a.level {
        Some(Level::General) => AccidentLevel::General,
        Some(Level::Larger) => AccidentLevel::Larger,
        Some(Level::Major) => AccidentLevel::Major,
        Some(Level::EspeciallyMajor) => AccidentLevel::EspeciallyMajor,
        None => AccidentLevel::classify(
            a.deaths,
            a.serious_injuries,
            a.direct_loss_minor,
            (currency.as_deref() == Some("CNY"))
                .then_some(safeledger_core::records::lifecycle::CNY_LOSS_THRESHOLDS),
        ),
    };
    Ok(TxBody::AccidentReport(AccidentReport {
        enterprise: enterprise_arg(a.enterprise)?,
        report_id: a.id.to_string(),
        category: a.category.to_string(),
        deaths: a.deaths,
        serious_injuries: a.serious_injuries,
        direct_loss_minor: a.direct_loss_minor,
        location: a.location.to_string(),
        description: a.description.to_string(),
        level,
        concealed: a.concealed,
        currency,
    }))
}

/// `safeledger accident`.
pub async fn accident(cmd: AccidentCmd) -> anyhow::Result<()> {
    let AccidentCmd::Report {
        enterprise,
        id,
        category,
        deaths,
        serious_injuries,
        direct_loss_minor,
        currency,
        location,
        description,
        level,
        concealed,
        acting,
    } = cmd;
    let body = accident_body(&AccidentInput {
        enterprise: &enterprise,
        id: &id,
        category: &category,
        deaths,
        serious_injuries,
        direct_loss_minor,
        currency: currency.as_deref(),
        location: &location,
        description: &description,
        level,
        concealed,
    })?;
    acting.act(body).await
}

/// `safeledger correction`.
pub async fn correction(cmd: CorrectionCmd) -> anyhow::Result<()> {
    let (enterprise, target, action, reason, acting) = match cmd {
        CorrectionCmd::Withdraw {
            enterprise,
            target,
            reason,
            acting,
        } => (
            enterprise,
            target,
            CorrectionAction::Withdraw,
            reason,
            acting,
        ),
        CorrectionCmd::Amend {
            enterprise,
            target,
            file,
            reason,
            acting,
        } => {
            let body: TxBody = crate::cli::files::read_json(&file, "a record file", 1 << 16)?;
            (
                enterprise,
                target,
                CorrectionAction::Amend(Box::new(body)),
                reason,
                acting,
            )
        }
    };
    let body = TxBody::Correction(Correction {
        enterprise: enterprise_arg(&enterprise)?,
        target: super::tx_id_arg("TARGET", &target)?,
        action,
        reason,
    });
    acting.act(body).await
}

/// The penalty record of case `case` against `enterprise`, as an officer types it (the
/// CLI's flags, the console's form).
///
/// # Errors
/// A usage error (exit 2): a currency that is not three letters, a malformed enterprise id.
pub fn penalty_body(
    enterprise: &str,
    case: &str,
    grade: Grade,
    kind: &str,
    amount_minor: Option<u64>,
    currency: Option<&str>,
    reason: &str,
) -> anyhow::Result<TxBody> {
    let currency = currency.map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &currency {
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(exit::usage(format!(
                "--currency {c:?} is not an ISO 4217 code (three letters, e.g. CNY)"
            )));
        }
    }
    Ok(TxBody::Penalty(Penalty {
        enterprise: enterprise_arg(enterprise)?,
        case_id: case.to_string(),
        grade: match grade {
            Grade::Minor => PenaltyGrade::Minor,
            Grade::Severe => PenaltyGrade::Severe,
        },
        kind: kind.to_string(),
        amount_minor,
        reason: reason.to_string(),
        currency,
    }))
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
    let body = penalty_body(
        &enterprise,
        &case,
        grade,
        &kind,
        amount_minor,
        currency.as_deref(),
        &reason,
    )?;
    acting.act(body).await
}

/// The blacklist action `action` on `enterprise` for `reason` (the CLI's `blacklist
/// enter|remove`, the console's form).
///
/// # Errors
/// A usage error (exit 2): a malformed enterprise id.
pub fn blacklist_body(
    action: BlacklistActionKind,
    enterprise: &str,
    reason: &str,
) -> anyhow::Result<TxBody> {
    Ok(TxBody::BlacklistAction(BlacklistAction {
        enterprise: enterprise_arg(enterprise)?,
        action,
        reason: reason.to_string(),
    }))
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
    acting
        .act(blacklist_body(action, &enterprise, &reason)?)
        .await
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
