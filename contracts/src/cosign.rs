//! Collective decisions over time (issue 19 item 5; DESIGN §5 R6): one officer proposes a
//! licence decision on chain ([`DecisionProposal`]), other officers of the same agency
//! co-sign it from their own machines at their own times ([`DecisionSignature`]), and the
//! decision takes effect — with every rule a licence decision meets, R6 counting the
//! distinct signers — in the transaction whose signature brings the distinct signers to
//! the governed [`RuleParams::collective_k`] before the proposal's deadline. Every
//! signature is a transaction of its own, so `query officer` finds each signer's part.
//!
//! Rules (R6-collective-decision unless named):
//! - a proposal's decision must pass its rules at proposal time as if `collective_k`
//!   officers had signed (a proposal that could never take effect is refused at once);
//! - a co-signature names a proposal on the ledger about the same enterprise
//!   (R0-reference), of the signer's own agency (R1-role), not yet in effect, not past its
//!   deadline (block time), and by officers who have not signed it yet;
//! - when the completing signature's decision is refused by a rule then (the state may
//!   have changed since the proposal), that signature is refused with the rule's reason and
//!   counts for nothing.
//!
//! State: `cdp/` ‖ proposal tx id (32 raw bytes) → [`CosignState`].

use crate::rules::{
    when, RecordContext, Refusal, RuleParams, R0_REFERENCE, R1_ROLE, R6_COLLECTIVE,
};
use crate::state::{read, Overlay};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{DecisionProposal, DecisionSignature, LicenceDecision};
use safeledger_core::{PublicKey, Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// Prefix of proposed collective decisions.
pub const PREFIX: &[u8] = b"cdp/";

/// The state key of the proposal made by transaction `tx`.
pub fn key(tx: &TxId) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(&tx.0);
    k
}

/// One signature of a proposed decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignSignature {
    /// The officer.
    pub officer: PublicKey,
    /// The transaction that carried the signature.
    pub tx: TxId,
    /// Its height.
    pub height: u64,
}

/// A proposed collective decision (`cdp/` ‖ proposal tx id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignState {
    /// The proposal transaction.
    pub tx_id: TxId,
    /// The agency's id for it.
    pub proposal_id: String,
    /// The proposing (and deciding) agency.
    pub agency: String,
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The decision that takes effect.
    pub decision: LicenceDecision,
    /// Co-signatures committed after this block time are refused.
    pub deadline: Timestamp,
    /// Signatures so far, the proposer's first, in commit order.
    pub signatures: Vec<CosignSignature>,
    /// The signature transaction in which the decision took effect, and its height.
    pub took_effect: Option<(TxId, u64)>,
}

impl CosignState {
    /// The distinct signers, the proposer first.
    pub fn signers(&self) -> Vec<PublicKey> {
        self.signatures.iter().map(|s| s.officer).collect()
    }
}

/// Records proposal `p` signed by `signers` (the transaction's distinct signers, the
/// submitter first); returns it and whether it is complete already (as many signers as
/// `collective_k`). The caller checks the decision's rules.
pub fn propose(
    view: &mut Overlay<'_>,
    p: &DecisionProposal,
    rc: &RecordContext<'_>,
    signers: &[PublicKey],
    params: &RuleParams,
) -> (CosignState, bool) {
    let hours = p
        .deadline_hours
        .map_or(params.collective_deadline_hours, u64::from);
    let st = CosignState {
        tx_id: rc.tx_id,
        proposal_id: p.proposal_id.clone(),
        agency: rc.agency.to_string(),
        enterprise: p.decision.enterprise.clone(),
        decision: p.decision.clone(),
        deadline: Timestamp(
            rc.block_time
                .0
                .saturating_add(hours.saturating_mul(3_600_000)),
        ),
        signatures: signers
            .iter()
            .map(|k| CosignSignature {
                officer: *k,
                tx: rc.tx_id,
                height: rc.height,
            })
            .collect(),
        took_effect: None,
    };
    let complete = st.signatures.len() as u64 >= params.collective_k;
    view.put(key(&rc.tx_id), &st);
    (st, complete)
}

/// Adds the signatures of `signers` (the transaction's distinct signers) to the proposal
/// `s` names; returns the proposal as it now stands and whether it is complete. Refusals
/// as in the module table.
pub fn sign(
    view: &mut Overlay<'_>,
    s: &DecisionSignature,
    rc: &RecordContext<'_>,
    signers: &[PublicKey],
    params: &RuleParams,
) -> Result<(CosignState, bool), Refusal> {
    let Some(mut st) = read::<CosignState>(view, &key(&s.proposal)) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "field proposal: tx {} is not a decision proposal on the ledger",
                s.proposal
            ),
        ));
    };
    if st.enterprise != s.enterprise {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "field enterprise: proposal {} ({}) is about enterprise {}, not {}",
                st.proposal_id, s.proposal, st.enterprise, s.enterprise
            ),
        ));
    }
    if st.agency != rc.agency {
        return Err(Refusal::new(
            R1_ROLE,
            format!(
                "proposal {} is agency {}'s; an officer of agency {} cannot co-sign it",
                st.proposal_id, st.agency, rc.agency
            ),
        ));
    }
    if let Some((tx, h)) = st.took_effect {
        return Err(Refusal::new(
            R6_COLLECTIVE,
            format!(
                "proposal {} already took effect in tx {tx} at height {h}",
                st.proposal_id
            ),
        ));
    }
    if rc.block_time > st.deadline {
        return Err(Refusal::new(
            R6_COLLECTIVE,
            format!(
                "proposal {} closed for co-signatures at its deadline {}; block time is {}",
                st.proposal_id,
                when(st.deadline),
                when(rc.block_time)
            ),
        ));
    }
    for k in signers {
        if let Some(prev) = st.signatures.iter().find(|x| x.officer == *k) {
            return Err(Refusal::new(
                R6_COLLECTIVE,
                format!(
                    "officer {k} already signed proposal {} in tx {} at height {}",
                    st.proposal_id, prev.tx, prev.height
                ),
            ));
        }
        st.signatures.push(CosignSignature {
            officer: *k,
            tx: rc.tx_id,
            height: rc.height,
        });
    }
    let complete = st.signatures.len() as u64 >= params.collective_k;
    if complete {
        st.took_effect = Some((rc.tx_id, rc.height));
    }
    view.put(key(&s.proposal), &st);
    Ok((st, complete))
}

/// Marks a proposal complete at its own transaction (`collective_k` signed the envelope).
pub fn took_effect_at_once(view: &mut Overlay<'_>, st: &mut CosignState, rc: &RecordContext<'_>) {
    st.took_effect = Some((rc.tx_id, rc.height));
    view.put(key(&rc.tx_id), &*st);
}
