//! The demo's synthetic supervision records, on top of the real data and marked as such
//! in its summary (issue 20): a joint inspection by CDPH and OSHA of an enterprise CDPH
//! plans to inspect, this month's double-random draw over BACP's enterprises, which the
//! validators' nodes complete by themselves while the network runs, a public tip-off to
//! CDPH followed up, and a sensor alert from a gateway CDPH registers that nobody
//! acknowledges, which escalates (`demo_field.rs`).

use crate::cli::home::Home;
use crate::cli::submit;
use safeledger_client::import::{CHICAGO_BACP, CHICAGO_CDPH, US_OSHA};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{
    DrawInspector, DrawOpen, InspectionOutcome, InspectionRecord, JointInspection, JointSection,
};
use safeledger_core::{Outcome, TxBody};
use std::time::Duration;

fn section(agency: &str, e: &EnterpriseId) -> JointSection {
    JointSection {
        agency: agency.to_string(),
        inspection: InspectionRecord {
            enterprise: e.clone(),
            inspection_id: format!("DEMO-{agency}-J1"),
            inspection_type: "joint (synthetic)".into(),
            outcome: InspectionOutcome::Pass,
            score: None,
            violation_counts: [0, 0, 0],
            violations: Vec::new(),
            follow_up_of: None,
        },
    }
}

fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Accepted => "accepted".into(),
        Outcome::Refused { rule, reason } => format!("refused by {rule}: {reason}"),
    }
}

/// Submits the synthetic records and prints what became of them.
///
/// # Errors
/// A node that cannot be reached or a record that is not committed.
pub async fn run(home: &Home) -> anyhow::Result<()> {
    println!();
    println!("== synthetic supervision records (not from the real data) ==");
    let cdph = home.officer_key(CHICAGO_CDPH)?;
    let now = crate::cli::when::now();
    let plan = home
        .client_for(&cdph)
        .query("plan", CHICAGO_CDPH, "", 1)
        .await?;
    let planned = plan["plan"][0]["enterprise"]
        .as_str()
        .and_then(|e| EnterpriseId::parse(e).ok());
    match planned.as_ref() {
        None => {
            println!("joint inspection         skipped: CDPH inspects no licensed enterprise here")
        }
        Some(e) => {
            let body = TxBody::JointInspection(JointInspection {
                enterprise: e.clone(),
                visit_id: "DEMO-JV-1".into(),
                sections: vec![section(CHICAGO_CDPH, e), section(US_OSHA, e)],
            });
            let (mut tx, c) = submit::sign_next(home, &cdph, body, now).await?;
            tx.cosign(&home.officer_key(US_OSHA)?);
            let r = submit::send_signed(home, c, tx, Duration::from_secs(60)).await?;
            println!(
                "joint inspection         {} by CDPH and OSHA, co-signed: {} ({})",
                e,
                outcome(&r.result.outcome),
                r.tx_id
            );
        }
    }
    let (y, m, _) = now.to_ymd();
    let body = TxBody::DrawOpen(DrawOpen {
        draw_id: format!("DEMO-{y:04}-{m:02}"),
        month: format!("{y:04}-{m:02}"),
        pool_agency: CHICAGO_BACP.into(),
        industry: None,
        risk_levels: Vec::new(),
        fraction_permille: 100,
        inspectors: vec![DrawInspector {
            officer: cdph.public(),
            conflicts: Vec::new(),
        }],
        inspectors_per_enterprise: 1,
        experts: Vec::new(),
        experts_per_enterprise: 0,
        commit_window_secs: 60,
        reveal_window_secs: 60,
    });
    let r = submit::submit_signed_by(
        home,
        CHICAGO_CDPH,
        &cdph,
        body,
        now,
        &[],
        Duration::from_secs(60),
    )
    .await?;
    println!(
        "double-random draw       {y:04}-{m:02} over BACP's enterprises by CDPH: {}; the \
         validators complete it in a few blocks while the network runs: `safeledger draw \
         show {} --home {}`",
        outcome(&r.result.outcome),
        r.tx_id,
        home.dir.display()
    );
    crate::cli::demo_field::run(home, planned.as_ref()).await
}

/// A result's outcome in words (for the synthetic records' lines).
pub(crate) fn outcome_words(o: &Outcome) -> String {
    outcome(o)
}
