//! What makes two records "the same record" (issue 18, point 12; ARCHITECTURE
//! "Duplicates"): one rule for every kind, used by the rules (R0-duplicate, so every node
//! refuses a duplicate alike) and by the importer (which asks the ledger first and submits
//! nothing already committed).
//!
//! Two records are the same when the same agency records the same kind about the same
//! enterprise with the same natural key:
//!
//! | kind | natural key |
//! |---|---|
//! | inspection record | `inspection_id` |
//! | penalty | `case_id` |
//! | accident report | `report_id` |
//! | licence application | `application_id` |
//! | appeal | `appeal_id` |
//! | decision proposal | `proposal_id` |
//! | licence decision | licence number, decision kind and `valid_from` (for a suspension or revocation, which has none: the effective date) |
//! | enterprise record | the digest of its field values (name, address, linked ids; not their salts), compared with the agency's latest record about the enterprise: a changed name or address is an update, the same values again a duplicate |
//! | governance proposal | `proposal_id` (no enterprise) |
//! | governance vote | `proposal_id` (no enterprise; one vote per agency) |
//!
//! Other kinds (follow-ups, corrections, appeals, officer and access records) refer to
//! earlier transactions by id and have their own rules against repeats; they have no
//! natural key.

use crate::hash::{Domain, Hash};
use crate::ids::EnterpriseId;
use crate::records::{EnterpriseRecord, LicenceDecision, TxBody, TxKind};
use crate::time::Timestamp;
use crate::to_canonical;

/// A record's identity within its agency: (kind, enterprise, natural key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NaturalKey {
    /// The record's kind.
    pub kind: TxKind,
    /// The enterprise it is about (`None` for governance records).
    pub enterprise: Option<EnterpriseId>,
    /// The kind's natural key, as text (see the module table).
    pub key: String,
}

/// The natural key of `body` effective at `effective_at`, or `None` for kinds that have
/// none (module docs).
pub fn natural_key(body: &TxBody, effective_at: Timestamp) -> Option<NaturalKey> {
    let (enterprise, key) = match body {
        TxBody::InspectionRecord(r) => (&r.enterprise, r.inspection_id.clone()),
        TxBody::Penalty(r) => (&r.enterprise, r.case_id.clone()),
        TxBody::AccidentReport(r) => (&r.enterprise, r.report_id.clone()),
        TxBody::LicenceApplication(r) => (&r.enterprise, r.application_id.clone()),
        TxBody::Appeal(r) => (&r.enterprise, r.appeal_id.clone()),
        TxBody::DecisionProposal(r) => (&r.decision.enterprise, r.proposal_id.clone()),
        TxBody::LicenceDecision(d) => (&d.enterprise, decision_key(d, effective_at)),
        TxBody::EnterpriseRecord(r) => (&r.enterprise, values_digest(r).to_hex()),
        TxBody::GovernanceProposal(p) => {
            return Some(NaturalKey {
                kind: TxKind::GovernanceProposal,
                enterprise: None,
                key: p.proposal_id.clone(),
            })
        }
        TxBody::GovernanceVote(v) => {
            return Some(NaturalKey {
                kind: TxKind::GovernanceVote,
                enterprise: None,
                key: v.proposal_id.clone(),
            })
        }
        _ => return None,
    };
    Some(NaturalKey {
        kind: body.kind(),
        enterprise: Some(enterprise.clone()),
        key,
    })
}

/// `number/kind/valid_from ms` (or `@effective_at ms` when the decision has no term).
pub fn decision_key(d: &LicenceDecision, effective_at: Timestamp) -> String {
    let when = match d.valid_from {
        Some(t) => t.0.to_string(),
        None => format!("@{}", effective_at.0),
    };
    let kind = match d.kind {
        crate::records::LicenceDecisionKind::Grant => "grant",
        crate::records::LicenceDecisionKind::Deny => "deny",
        crate::records::LicenceDecisionKind::Renew => "renew",
        crate::records::LicenceDecisionKind::Suspend => "suspend",
        crate::records::LicenceDecisionKind::Revoke => "revoke",
    };
    format!("{}/{kind}/{when}", d.licence_number)
}

/// The digest of an enterprise record's field values: name, address and linked ids,
/// canonically encoded, under [`Domain::RecordValues`].
pub fn values_digest(r: &EnterpriseRecord) -> Hash {
    enterprise_values_digest(&r.name, &r.address, &r.linked_ids)
}

/// [`values_digest`] of the values themselves (the rules compare a stored record's).
pub fn enterprise_values_digest(name: &str, address: &str, linked_ids: &[String]) -> Hash {
    Domain::RecordValues.hash(&to_canonical(&(name, address, linked_ids)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{LicenceDecisionKind, Penalty, PenaltyGrade};

    fn ent() -> EnterpriseId {
        EnterpriseId::parse("us-osha-insp:1").unwrap()
    }

    #[test]
    fn enterprise_records_are_the_same_when_their_values_are() {
        let rec = |name: &str| EnterpriseRecord {
            enterprise: ent(),
            name: name.into(),
            address: "1 Main St".into(),
            linked_ids: vec![],
        };
        let a = natural_key(&TxBody::EnterpriseRecord(rec("Acme")), Timestamp(1)).unwrap();
        let again = natural_key(&TxBody::EnterpriseRecord(rec("Acme")), Timestamp(9)).unwrap();
        let renamed = natural_key(&TxBody::EnterpriseRecord(rec("Acme Ltd")), Timestamp(1));
        assert_eq!(a, again, "the effective date does not matter");
        assert_ne!(Some(a), renamed);
    }

    #[test]
    fn decisions_without_a_term_are_keyed_by_their_date() {
        let d = |kind, valid_from| LicenceDecision {
            enterprise: ent(),
            licence_number: "L1".into(),
            licence_type: "t".into(),
            kind,
            valid_from,
            valid_until: None,
            industry: None,
            reason: "r".into(),
            applied_at: None,
            application: None,
        };
        assert_eq!(
            decision_key(
                &d(LicenceDecisionKind::Grant, Some(Timestamp(5))),
                Timestamp(7)
            ),
            "L1/grant/5"
        );
        assert_eq!(
            decision_key(&d(LicenceDecisionKind::Suspend, None), Timestamp(7)),
            "L1/suspend/@7"
        );
    }

    #[test]
    fn penalties_are_keyed_by_case() {
        let p = TxBody::Penalty(Penalty {
            enterprise: ent(),
            case_id: "C-1".into(),
            grade: PenaltyGrade::Minor,
            kind: "citation".into(),
            amount_minor: None,
            currency: None,
            reason: "r".into(),
        });
        let k = natural_key(&p, Timestamp(0)).unwrap();
        assert_eq!((k.kind, k.key.as_str()), (TxKind::Penalty, "C-1"));
        assert_eq!(k.enterprise, Some(ent()));
    }
}
