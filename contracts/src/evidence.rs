//! Evidence of validator misbehaviour committed on chain (DESIGN §5 "evidence of validator
//! misbehaviour"; TENDERMINT.md "Evidence"; issue 3 item 5).
//!
//! A [`ValidatorEvidence`] transaction is signed by the node key of the validator that
//! detected a double-sign, not by an officer. Execution accepts it when:
//! - the reporter's node key is a validator at the block's height (E-evidence-reporter);
//! - the evidence's height is not above the block's, its two messages prove a double-sign
//!   under this chain id, and the offender was a validator of the set of the evidence's
//!   height (the genesis set with the governance changes in force then), named by its
//!   agency id (E-evidence);
//! - no evidence for the same validator and (height, round, step) was recorded before
//!   (E-evidence-duplicate: several nodes usually report one offence; the first counts).
//!
//! An accepted report is stored under `evid/` and listed in `evid-index`, so any agency can
//! see who double-signed where. Nothing else happens to the offender here: removing or
//! reweighting its validator is a governance decision ([`crate::governance`]).

use crate::governance::validator_changes;
use crate::rules::Refusal;
use crate::state::{read, Overlay, StateRead};
use safeledger_core::records::ValidatorEvidence;
use safeledger_core::{to_canonical, PublicKey, TxId, ValidatorSet};
use serde::{Deserialize, Serialize};

/// The reporter's node key is not a validator at the block's height.
pub const E_EVIDENCE_REPORTER: &str = "E-evidence-reporter";
/// The evidence does not prove a double-sign by a validator of its height.
pub const E_EVIDENCE: &str = "E-evidence";
/// Evidence for the same validator and (height, round, step) was recorded already.
pub const E_EVIDENCE_DUPLICATE: &str = "E-evidence-duplicate";

/// Key of the index of recorded evidence.
pub const EVIDENCE_INDEX: &[u8] = b"evid-index";

/// A recorded double-sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceState {
    /// The evidence transaction.
    pub tx_id: TxId,
    /// Height at which it was committed.
    pub committed_at: u64,
    /// The offending validator's node key.
    pub offender: PublicKey,
    /// Its agency.
    pub offender_agency: String,
    /// (height, round, step) of the two messages; step 0 proposal, 1 prevote, 2 precommit.
    pub slot: (u64, u32, u8),
    /// The node key that reported it.
    pub reporter: PublicKey,
}

/// `evid/` ‖ canonical (offender, slot).
pub fn key(offender: &PublicKey, slot: (u64, u32, u8)) -> Vec<u8> {
    let mut k = b"evid/".to_vec();
    k.extend_from_slice(&to_canonical(&(offender, slot)));
    k
}

/// Every recorded double-sign, in commit order.
pub fn recorded(state: &dyn StateRead) -> Vec<EvidenceState> {
    read(state, EVIDENCE_INDEX).unwrap_or_default()
}

/// The validator set of `height`: the genesis set with every governance change passed at
/// or below `height − 2` applied in commit order (a change passed in block c is named by
/// header c+1 and signs from c+2), exactly as the node's ledger applies them block by
/// block.
pub fn validator_set_at(
    genesis_set: &ValidatorSet,
    state: &dyn StateRead,
    height: u64,
) -> ValidatorSet {
    let changes: Vec<_> = validator_changes(state)
        .into_iter()
        .filter(|c| c.height.saturating_add(2) <= height)
        .collect();
    crate::governance::apply_validator_changes(genesis_set, &changes).0
}

/// Checks and records `ev`, reported by `reporter` in the block at `height`.
pub fn apply(
    view: &mut Overlay<'_>,
    chain_id: &str,
    genesis_set: &ValidatorSet,
    reporter: &PublicKey,
    ev: &ValidatorEvidence,
    tx_id: TxId,
    height: u64,
) -> Result<(), Refusal> {
    let bad = |why: String| Err(Refusal::new(E_EVIDENCE, why));
    if validator_set_at(genesis_set, view, height).power_of(reporter) == 0 {
        return Err(Refusal::new(
            E_EVIDENCE_REPORTER,
            format!("reporter {reporter} is not a validator at height {height}"),
        ));
    }
    let e = &ev.evidence;
    let at = e.height();
    if at == 0 || at > height {
        return bad(format!("evidence height {at} is not in 1..={height}"));
    }
    let vals = validator_set_at(genesis_set, view, at);
    if let Err(err) = e.verify(chain_id, &vals) {
        return bad(format!("evidence at height {at}: {err}"));
    }
    let offender = e.offender();
    let agency = vals
        .get(&offender)
        .map(|v| v.agency.clone())
        .unwrap_or_default();
    if agency != ev.offender_agency {
        return bad(format!(
            "offender_agency {:?}: the validator {offender} belongs to {agency:?}",
            ev.offender_agency
        ));
    }
    let k = key(&offender, e.slot());
    if let Some(first) = read::<EvidenceState>(view, &k) {
        return Err(Refusal::new(
            E_EVIDENCE_DUPLICATE,
            format!("already recorded by transaction {}", first.tx_id),
        ));
    }
    let st = EvidenceState {
        tx_id,
        committed_at: height,
        offender,
        offender_agency: agency,
        slot: e.slot(),
        reporter: *reporter,
    };
    view.put(k, &st);
    let mut all = recorded(view);
    all.push(st);
    view.put(EVIDENCE_INDEX.to_vec(), &all);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::{apply_validator_changes, ValidatorChange};
    use crate::keys::VALIDATOR_CHANGES;
    use safeledger_core::evidence::DoubleSign;
    use safeledger_core::{Hash, SecretKey, Validator, Vote, VoteType};
    use std::collections::BTreeMap;

    fn key(i: u8) -> SecretKey {
        SecretKey::from_bytes(&[i + 1; 32])
    }

    fn set(n: u8) -> ValidatorSet {
        ValidatorSet {
            validators: (0..n)
                .map(|i| Validator {
                    agency: format!("a{i}"),
                    key: key(i).public(),
                    power: 1,
                })
                .collect(),
        }
    }

    fn change(
        agency: &str,
        node_key: Option<PublicKey>,
        power: u64,
        height: u64,
    ) -> ValidatorChange {
        ValidatorChange {
            agency: agency.into(),
            node_key,
            power,
            proposal: "p".into(),
            height,
        }
    }

    fn double_vote(signer: u8, height: u64) -> DoubleSign {
        let k = key(signer);
        let a = Vote::new("c", &k, height, 0, VoteType::Prevote, Some(Hash([1; 32])));
        let b = Vote::new("c", &k, height, 0, VoteType::Prevote, None);
        DoubleSign::from_votes(a, b).expect("conflict")
    }

    #[test]
    fn validator_changes_apply_in_order_and_unusable_ones_are_skipped() {
        let base = set(4);
        let new_key = key(9).public();
        let (next, skipped) = apply_validator_changes(
            &base,
            &[
                change("a0", None, 3, 5),
                change("a1", Some(new_key), 1, 5),
                change("a3", None, 0, 5),
                change("a7", Some(key(7).public()), 2, 5),
                // Skipped: no validator to remove, no key for a new one, a key held twice.
                change("a9", None, 0, 5),
                change("a8", None, 1, 5),
                change("a2", Some(new_key), 1, 5),
            ],
        );
        let got: Vec<(String, PublicKey, u64)> = next
            .validators
            .iter()
            .map(|v| (v.agency.clone(), v.key, v.power))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a0".into(), key(0).public(), 3),
                ("a1".into(), new_key, 1),
                ("a2".into(), key(2).public(), 1),
                ("a7".into(), key(7).public(), 2),
            ]
        );
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        // Removing every validator leaves the last one in place.
        let one = set(1);
        let (same, skipped) = apply_validator_changes(&one, &[change("a0", None, 0, 1)]);
        assert_eq!(same, one);
        assert_eq!(skipped.len(), 1);
    }

    #[test]
    fn the_set_of_a_height_follows_changes_from_two_heights_after_they_passed() {
        let base = set(4);
        let mut state = BTreeMap::new();
        state.insert(
            VALIDATOR_CHANGES.to_vec(),
            to_canonical(&vec![change("a3", None, 0, 10)]),
        );
        assert_eq!(validator_set_at(&base, &state, 11), base);
        assert_eq!(validator_set_at(&base, &state, 12).validators.len(), 3);
    }

    #[test]
    fn evidence_is_recorded_once_and_checked_against_its_heights_set() {
        let base = set(4);
        let state = BTreeMap::new();
        let mut view = Overlay::new(&state);
        let ev = |agency: &str, e: DoubleSign| ValidatorEvidence {
            offender_agency: agency.into(),
            evidence: e,
        };
        let reporter = key(0).public();
        let tx = |b: u8| -> TxId { Hash([b; 32]) };
        let run = |view: &mut Overlay<'_>, who: &PublicKey, e: &ValidatorEvidence, h| {
            apply(view, "c", &base, who, e, tx(h as u8), h).map_err(|r| r.rule.to_string())
        };
        // An outsider may not report; the agency must be the offender's; not from the future.
        assert_eq!(
            run(&mut view, &key(8).public(), &ev("a2", double_vote(2, 3)), 5),
            Err(E_EVIDENCE_REPORTER.into())
        );
        assert_eq!(
            run(&mut view, &reporter, &ev("a1", double_vote(2, 3)), 5),
            Err(E_EVIDENCE.into())
        );
        assert_eq!(
            run(&mut view, &reporter, &ev("a2", double_vote(2, 9)), 5),
            Err(E_EVIDENCE.into())
        );
        // A key that is no validator cannot be an offender.
        assert_eq!(
            run(&mut view, &reporter, &ev("a2", double_vote(8, 3)), 5),
            Err(E_EVIDENCE.into())
        );
        assert_eq!(
            run(&mut view, &reporter, &ev("a2", double_vote(2, 3)), 5),
            Ok(())
        );
        assert_eq!(
            run(&mut view, &key(1).public(), &ev("a2", double_vote(2, 3)), 6),
            Err(E_EVIDENCE_DUPLICATE.into())
        );
        let all = recorded(&view);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].offender, key(2).public());
        assert_eq!(all[0].offender_agency, "a2");
        assert_eq!(all[0].slot, (3, 0, 1));
    }
}
