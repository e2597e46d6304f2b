//! Joint inspections (issue 20 item 3): one visit by several agencies, recorded once.
//!
//! Signers (R0-signer, R1-permission): every signer is a current officer; the agencies of
//! the signers are exactly the agencies with a section (each agency co-signs its own
//! findings, no agency signs for another), and each of them may record inspections.
//! R1-role then requires every signer's posts to allow `inspection_record`.
//!
//! Execution: each section is applied as that agency's inspection — its own inspection id
//! claimed against duplicates, its findings and hazards in the enterprise's state under
//! that agency (so every co-signing agency's inbox, plan and risk assessment see them),
//! the enterprise indexed in that agency's plan. The timeline holds the one record, with
//! every signer.

use super::escalation::Deadline;
use super::{findings, RecordContext, Refusal, R0_SIGNER};
use crate::model::EnterpriseState;
use crate::registry::Registry;
use crate::state::{Overlay, StateRead};
use safeledger_core::records::{JointInspection, TxKind};
use safeledger_core::Transaction;
use std::collections::BTreeSet;

/// The signer checks of a joint inspection (module docs).
pub fn check_signers(
    registry: &Registry,
    state: &dyn StateRead,
    tx: &Transaction,
    j: &JointInspection,
) -> Result<(), Refusal> {
    let mut signed_by = BTreeSet::new();
    for s in &tx.signatures {
        let o = registry
            .officer(state, &s.signer)
            .map_err(|why| Refusal::new(R0_SIGNER, format!("co-signer: {why}")))?;
        signed_by.insert(o.agency);
    }
    let sections: BTreeSet<String> = j.sections.iter().map(|s| s.agency.clone()).collect();
    if let Some(a) = sections.difference(&signed_by).next() {
        return Err(Refusal::new(
            R0_SIGNER,
            format!(
                "no officer of {a} co-signs its section of joint inspection {}",
                j.visit_id
            ),
        ));
    }
    if let Some(a) = signed_by.difference(&sections).next() {
        return Err(Refusal::new(
            R0_SIGNER,
            format!(
                "an officer of {a} signs joint inspection {}, which has no section of {a}",
                j.visit_id
            ),
        ));
    }
    for a in &sections {
        registry.check_permission(state, a, TxKind::InspectionRecord)?;
    }
    Ok(())
}

/// Applies every section as its agency's inspection; the hazard deadlines to watch.
pub fn apply(
    view: &mut Overlay<'_>,
    ent: &mut EnterpriseState,
    j: &JointInspection,
    rc: &RecordContext<'_>,
) -> Result<Vec<Deadline>, Refusal> {
    let mut deadlines = Vec::new();
    for s in &j.sections {
        let rc_s = RecordContext {
            agency: &s.agency,
            ..rc.clone()
        };
        super::duplicate::claim(
            view,
            TxKind::InspectionRecord,
            &ent.id,
            "inspection_id",
            &s.inspection.inspection_id,
            &rc_s,
        )?;
        deadlines.extend(findings::inspection(ent, &s.inspection, &rc_s)?);
        crate::plan::index_inspected(view, &s.agency, &ent.id);
    }
    Ok(deadlines)
}
