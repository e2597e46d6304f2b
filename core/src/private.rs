//! Private fields (DESIGN §4 "Private fields"; issue 5 item 7).
//!
//! A text field no rule reads (free-text descriptions, personal names, addresses) may be
//! **withheld**: the replicated transaction carries, for that field, only its leaf
//! H_field(salt ‖ name ‖ value) in [`TxPayload::withheld`]; the body holds the blank value
//! (the empty string) and the salt is zero. The field root — and so the transaction id and
//! every signature — is unchanged, because the withheld leaf takes the place of the one the
//! value would give. Withholding therefore happens after signing, at the recording agency's
//! node, which keeps the [`PrivateValue`] (salt and value) and replicates the rest.
//!
//! Anyone holding a [`PrivateValue`] can check it against the committed transaction
//! ([`TxPayload::check_private`]); a view can reveal it with its salt like any field.
//! Rules and policies see a withheld field as blank: only the fields of [`withholdable`]
//! may be withheld, and no rule reads them.

use crate::hash::Hash;
use crate::records::{TxBody, TxKind};
use crate::tx::{field_leaf, Salt, TxError, TxPayload};
use serde::{Deserialize, Serialize};

/// A field withheld from the replicated transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    /// Index of the field in `body.fields()` (the leaf's position in the field tree).
    pub index: u16,
    /// H_field(salt ‖ name ‖ canonical value) of the withheld value.
    pub leaf: Hash,
}

/// The value of a withheld field, as the recording agency keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateValue {
    /// Index of the field in `body.fields()`.
    pub index: u16,
    /// The field's name.
    pub name: String,
    /// Its salt.
    pub salt: Salt,
    /// Its canonical value bytes.
    pub value: Vec<u8>,
}

/// The fields of a record kind that may be withheld: text no rule reads.
pub fn withholdable(kind: TxKind) -> &'static [&'static str] {
    match kind {
        TxKind::EnterpriseRecord => &["name", "address"],
        TxKind::AccidentReport => &["location", "description"],
        TxKind::RectificationReport => &["description"],
        TxKind::Penalty => &["reason"],
        TxKind::TipIntake => &["description"],
        TxKind::TipFollowUp => &["claimant_name"],
        _ => &[],
    }
}

/// The canonical bytes of a blank (withheld) text field: the empty string.
pub fn blank_value() -> Vec<u8> {
    crate::to_canonical(&String::new())
}

/// `body` with the fields `names` blanked as withholding them leaves them on the ledger
/// (names that are not [`withholdable`] are left as they are): what the rules will see.
pub fn blanked(body: &TxBody, names: &[&str]) -> TxBody {
    let mut b = body.clone();
    for n in names {
        blank(&mut b, n);
    }
    b
}

/// Sets the text field `name` of `body` to the empty string; false when it is not one of
/// [`withholdable`].
fn blank(body: &mut TxBody, name: &str) -> bool {
    let field = match (body, name) {
        (TxBody::EnterpriseRecord(r), "name") => &mut r.name,
        (TxBody::EnterpriseRecord(r), "address") => &mut r.address,
        (TxBody::AccidentReport(r), "location") => &mut r.location,
        (TxBody::AccidentReport(r), "description") => &mut r.description,
        (TxBody::RectificationReport(r), "description") => &mut r.description,
        (TxBody::Penalty(r), "reason") => &mut r.reason,
        (TxBody::TipIntake(r), "description") => &mut r.description,
        (TxBody::TipFollowUp(r), "claimant_name") => &mut r.claimant_name,
        _ => return false,
    };
    field.clear();
    true
}

/// Why fields could not be withheld or a private value does not match.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PrivateError {
    /// The record has no such field, or it may not be withheld.
    #[error("field {name:?} of a {kind} may not be withheld (withholdable: {allowed})")]
    NotWithholdable {
        /// The field asked for.
        name: String,
        /// The record kind.
        kind: &'static str,
        /// The kind's withholdable fields, comma-separated.
        allowed: String,
    },
    /// The field is withheld already.
    #[error("field {0:?} is withheld already")]
    AlreadyWithheld(String),
    /// The value does not hash to the withheld leaf.
    #[error("the value of field {0:?} does not match its committed leaf")]
    Mismatch(String),
    /// No withheld field at this index.
    #[error("no withheld field at index {0}")]
    NotWithheld(u16),
}

impl TxPayload {
    /// Withholds the fields `names` (each one of [`withholdable`]): returns their values
    /// with salts, blanks them in the body, zeroes their salts and records their leaves.
    /// The field root, and so the id and signatures, stay valid.
    pub fn withhold(&mut self, names: &[&str]) -> Result<Vec<PrivateValue>, PrivateError> {
        let kind = self.body.kind();
        let allowed = withholdable(kind);
        let mut out = Vec::new();
        for name in names {
            let fields = self.body.fields();
            let Some(index) = fields.iter().position(|(n, _)| n == name) else {
                return Err(not_withholdable(kind, name));
            };
            if !allowed.contains(name) {
                return Err(not_withheldable_err(kind, name, allowed));
            }
            if self.withheld.iter().any(|w| w.index as usize == index) {
                return Err(PrivateError::AlreadyWithheld(name.to_string()));
            }
            let Some(salt) = self.field_salts.get(index).copied() else {
                return Err(not_withholdable(kind, name));
            };
            let value = fields[index].1.clone();
            let leaf = field_leaf(&salt, name, &value);
            blank(&mut self.body, name);
            self.field_salts[index] = [0; 16];
            let w = Withheld {
                index: index as u16,
                leaf,
            };
            let at = self.withheld.partition_point(|x| x.index < w.index);
            self.withheld.insert(at, w);
            out.push(PrivateValue {
                index: index as u16,
                name: name.to_string(),
                salt,
                value,
            });
        }
        Ok(out)
    }

    /// Checks a private value against this payload's withheld leaf of its field.
    pub fn check_private(&self, v: &PrivateValue) -> Result<(), PrivateError> {
        let w = self
            .withheld
            .iter()
            .find(|w| w.index == v.index)
            .ok_or(PrivateError::NotWithheld(v.index))?;
        let fields = self.body.fields();
        let name_ok = fields
            .get(v.index as usize)
            .is_some_and(|(n, _)| *n == v.name);
        if !name_ok || field_leaf(&v.salt, &v.name, &v.value) != w.leaf {
            return Err(PrivateError::Mismatch(v.name.clone()));
        }
        Ok(())
    }
}

fn not_withholdable(kind: TxKind, name: &str) -> PrivateError {
    not_withheldable_err(kind, name, withholdable(kind))
}

fn not_withheldable_err(kind: TxKind, name: &str, allowed: &[&str]) -> PrivateError {
    PrivateError::NotWithholdable {
        name: name.to_string(),
        kind: kind.name(),
        allowed: allowed.join(","),
    }
}

/// Checks the withheld list of a payload against its body: indices strictly increasing,
/// each a withholdable field whose body value is blank and whose salt is zero.
pub fn check_withheld(p: &TxPayload) -> Result<(), TxError> {
    let kind = p.body.kind();
    let allowed = withholdable(kind);
    let fields = p.body.fields();
    let blank = blank_value();
    let mut last: Option<u16> = None;
    for w in &p.withheld {
        let bad = |why: &str| {
            Err(TxError::Withheld {
                index: w.index,
                why: why.to_string(),
            })
        };
        if last.is_some_and(|l| w.index <= l) {
            return bad("indices must increase");
        }
        last = Some(w.index);
        let Some((name, value)) = fields.get(w.index as usize) else {
            return bad("no such field");
        };
        if !allowed.contains(name) {
            return bad("the field may not be withheld");
        }
        if *value != blank {
            return bad("a withheld field's value must be blank");
        }
        if p.field_salts.get(w.index as usize) != Some(&[0u8; 16]) {
            return bad("a withheld field's salt must be zero");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EnterpriseId;
    use crate::records::AccidentReport;
    use crate::{SecretKey, Timestamp, Transaction};
    use rand::SeedableRng;

    fn report() -> Transaction {
        let body = TxBody::AccidentReport(AccidentReport {
            enterprise: EnterpriseId::parse("us-osha-insp:1").unwrap(),
            report_id: "R1".into(),
            category: "fall".into(),
            deaths: 1,
            serious_injuries: 0,
            direct_loss_minor: None,
            currency: None,
            location: "Chicago, IL".into(),
            description: "Employee J. Doe fell from a ladder".into(),
            level: crate::records::AccidentLevel::General,
            concealed: false,
        });
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let p = TxPayload::new("c", 1, Timestamp(1), body, &mut rng);
        Transaction::sign(p, &[&SecretKey::from_bytes(&[1; 32])])
    }

    #[test]
    fn withholding_keeps_id_signatures_and_root_and_the_value_checks_back() {
        let tx = report();
        let mut w = tx.clone();
        let private = w.payload.withhold(&["description"]).unwrap();
        assert_eq!(w.id(), tx.id());
        assert_eq!(w.check_stateless("c"), Ok(()));
        let TxBody::AccidentReport(r) = &w.payload.body else {
            unreachable!()
        };
        assert!(r.description.is_empty());
        assert_eq!(private.len(), 1);
        assert_eq!(w.payload.check_private(&private[0]), Ok(()));
        let mut wrong = private[0].clone();
        wrong.value = crate::to_canonical(&"someone else".to_string());
        assert!(w.payload.check_private(&wrong).is_err());
    }

    #[test]
    fn only_withholdable_fields_and_consistent_lists_pass() {
        let tx = report();
        let mut w = tx.clone();
        assert!(matches!(
            w.payload.withhold(&["deaths"]),
            Err(PrivateError::NotWithholdable { .. })
        ));
        w.payload.withhold(&["description"]).unwrap();
        assert!(matches!(
            w.payload.withhold(&["description"]),
            Err(PrivateError::AlreadyWithheld(_))
        ));
        // A withheld leaf over a field whose value is still there is refused.
        let mut bad = tx.clone();
        let mut tmp = tx.clone();
        tmp.payload.withhold(&["description"]).unwrap();
        bad.payload.withheld = tmp.payload.withheld.clone();
        assert!(matches!(
            bad.check_stateless("c"),
            Err(TxError::Withheld { .. })
        ));
        // A leaf changed after signing breaks the field root.
        let mut forged = w.clone();
        forged.payload.withheld[0].leaf = Hash([9; 32]);
        assert_eq!(forged.check_stateless("c"), Err(TxError::FieldRoot));
    }
}
