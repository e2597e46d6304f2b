//! Public tip-offs (issue 20 item 5; `safeledger_core::records::tip`).
//!
//! - `tip_intake` (signed by the receiving agency's validator node key): the node must be a
//!   validator of the agency the tip names (R0-signer); each tip id once (R0-duplicate); a
//!   named enterprise must be on the ledger (R0-reference). The tip waits for triage: a
//!   `tip_triage` task in the agency's inbox due [`RuleParams::tip_triage_days`] after
//!   the intake's block time, closed by its first follow-up.
//! - `tip_follow_up` (an officer of the receiving agency, R0-tip otherwise): a status and a
//!   note for the tipster. `reward_decided` only after the tip was `verified`, and once:
//!   it closes the tip, no follow-up comes after it (R0-tip); its amount is bounded
//!   statelessly (at most 100,000 yuan).
//!
//! The tipster reads the tip's status by receipt code ([`public_status`]): dates,
//! statuses, notes and the reward — never the description or a claimant's name (private
//! fields, blank on the ledger).

use crate::keys::join;
use crate::query::tasks::{Task, TaskKind};
use crate::rules::{RecordContext, Refusal, RuleParams, R0_DUPLICATE, R0_REFERENCE, R0_SIGNER};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{EvidenceFile, TipFollowUp, TipIntake, TipStatus};
use safeledger_core::{PublicKey, Timestamp, TxId, ValidatorSet};
use serde::{Deserialize, Serialize};

/// A follow-up out of order: by another agency than the receiving one, about an unknown
/// tip, a reward before verification or a second reward.
pub const R0_TIP: &str = "R0-tip";

/// Prefix of tip states (an inbox task source).
pub const PREFIX: &[u8] = b"tip/";

/// One follow-up, as the tipster sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpEntry {
    /// The follow-up's transaction.
    pub tx_id: TxId,
    /// Its block time.
    pub at: Timestamp,
    /// The status it set.
    pub status: TipStatus,
    /// The note to the tipster.
    pub note: String,
    /// The reward decided, in yuan.
    pub reward_yuan: Option<u32>,
}

/// A tip and its follow-ups (`tip/<tip id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TipState {
    /// The tip's id.
    pub tip_id: String,
    /// The intake's transaction.
    pub tx_id: TxId,
    /// The receiving agency.
    pub agency: String,
    /// The enterprise named, if any.
    pub enterprise: Option<EnterpriseId>,
    /// The address given.
    pub address: String,
    /// Evidence files handed in, kept by the receiving node.
    pub evidence: Vec<EvidenceFile>,
    /// Block time of the intake.
    pub received_at: Timestamp,
    /// The triage deadline.
    pub triage_due: Timestamp,
    /// Follow-ups, oldest first.
    pub follow_ups: Vec<FollowUpEntry>,
}

impl TipState {
    /// The latest status (`None`: not triaged yet).
    pub fn status(&self) -> Option<TipStatus> {
        self.follow_ups.last().map(|f| f.status)
    }
}

/// What the tipster reads by receipt code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicTipStatus {
    /// The receiving agency.
    pub agency: String,
    /// The intake's date (UTC).
    pub received: String,
    /// The triage deadline's date (UTC).
    pub triage_due: String,
    /// The latest status, `awaiting_triage` before the first follow-up.
    pub status: String,
    /// The follow-ups, oldest first.
    pub follow_ups: Vec<PublicFollowUp>,
}

/// One follow-up as the tipster reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicFollowUp {
    /// Its date (UTC).
    pub date: String,
    /// The status it set.
    pub status: TipStatus,
    /// The agency's note to the tipster.
    pub note: String,
    /// The reward decided, in yuan.
    pub reward_yuan: Option<u32>,
}

fn key(tip_id: &str) -> Vec<u8> {
    join(PREFIX, tip_id.as_bytes())
}

/// `tipx/<tx id>`: the record reference of a tip intake or follow-up, so that its private
/// field (the description, a claimant's name) can be declared read and granted like a
/// timeline record's ([`crate::access`]).
pub fn record_key(tx: &TxId) -> Vec<u8> {
    join(b"tipx/", &tx.0)
}

/// The record reference of a tip intake or follow-up `tx`.
pub fn record(state: &dyn StateRead, tx: &TxId) -> Option<crate::model::RecordRef> {
    read(state, &record_key(tx))
}

fn put_record(
    view: &mut Overlay<'_>,
    kind: safeledger_core::records::TxKind,
    agency: &str,
    (tx_id, height, index, at): (TxId, u64, u32, Timestamp),
    signers: Vec<PublicKey>,
) {
    view.put(
        record_key(&tx_id),
        &crate::model::RecordRef {
            height,
            index,
            tx_id,
            kind,
            agency: agency.to_string(),
            effective_at: at,
            signers,
            corrected_by: None,
        },
    );
}

/// A tip by id.
pub fn get(state: &dyn StateRead, tip_id: &str) -> Option<TipState> {
    read(state, &key(tip_id))
}

/// The status a receipt code opens (`None`: no such tip).
pub fn public_status(state: &dyn StateRead, receipt: &str) -> Option<PublicTipStatus> {
    let tip = get(
        state,
        &safeledger_core::records::tip::tip_id_of_receipt(receipt),
    )?;
    Some(PublicTipStatus {
        agency: tip.agency.clone(),
        received: tip.received_at.date_string(),
        triage_due: tip.triage_due.date_string(),
        status: tip
            .status()
            .map_or("awaiting_triage", TipStatus::name)
            .to_string(),
        follow_ups: tip
            .follow_ups
            .iter()
            .map(|f| PublicFollowUp {
                date: f.at.date_string(),
                status: f.status,
                note: f.note.clone(),
                reward_yuan: f.reward_yuan,
            })
            .collect(),
    })
}

/// `tip_intake` `tx_id` signed by node key `node`, judged against `validators` (the set of
/// the height), at position `index` of block `height` with time `now`.
///
/// # Errors
/// R0-signer, R0-duplicate, R0-reference as in the module documentation.
pub fn intake(
    view: &mut Overlay<'_>,
    node: &PublicKey,
    validators: &ValidatorSet,
    t: &TipIntake,
    (tx_id, height, index, now): (TxId, u64, u32, Timestamp),
    params: &RuleParams,
) -> Result<(), Refusal> {
    if !validators
        .validators
        .iter()
        .any(|v| v.key == *node && v.agency == t.agency)
    {
        return Err(Refusal::new(
            R0_SIGNER,
            format!("key {node} is not a validator node of {}", t.agency),
        ));
    }
    if let Some(first) = get(view, &t.tip_id) {
        return Err(Refusal::new(
            R0_DUPLICATE,
            format!("tip {} was taken in by {}", t.tip_id, first.tx_id),
        ));
    }
    if let Some(e) = &t.enterprise {
        if crate::query::enterprise(view, e).is_none() {
            return Err(Refusal::new(
                R0_REFERENCE,
                format!("field enterprise: {e} is not on the ledger"),
            ));
        }
    }
    let due = Timestamp(
        now.0.saturating_add(
            params
                .tip_triage_days
                .saturating_mul(safeledger_core::time::DAY_MS),
        ),
    );
    view.put(
        key(&t.tip_id),
        &TipState {
            tip_id: t.tip_id.clone(),
            tx_id,
            agency: t.agency.clone(),
            enterprise: t.enterprise.clone(),
            address: t.address.clone(),
            evidence: t.evidence.clone(),
            received_at: now,
            triage_due: due,
            follow_ups: Vec::new(),
        },
    );
    for f in &t.evidence {
        crate::attachments::index(view, f, tx_id, &t.agency);
    }
    put_record(
        view,
        safeledger_core::records::TxKind::TipIntake,
        &t.agency,
        (tx_id, height, index, now),
        vec![*node],
    );
    Ok(())
}

/// `tip_follow_up` signed by `signers`.
///
/// # Errors
/// R0-tip as in the module documentation.
pub fn follow_up(
    view: &mut Overlay<'_>,
    f: &TipFollowUp,
    rc: &RecordContext<'_>,
    signers: Vec<PublicKey>,
) -> Result<(), Refusal> {
    let refuse = |why: String| Err(Refusal::new(R0_TIP, why));
    let Some(mut tip) = get(view, &f.tip_id) else {
        return refuse(format!("field tip_id: no tip {}", f.tip_id));
    };
    if tip.agency != rc.agency {
        return refuse(format!(
            "tip {} was received by {}; only it follows the tip up",
            f.tip_id, tip.agency
        ));
    }
    if let Some(r) = tip
        .follow_ups
        .iter()
        .find(|x| x.status == TipStatus::RewardDecided)
    {
        return refuse(format!(
            "tip {} was closed by its reward decision {}",
            f.tip_id, r.tx_id
        ));
    }
    if f.status == TipStatus::RewardDecided {
        if let Some(r) = tip
            .follow_ups
            .iter()
            .find(|x| x.status == TipStatus::RewardDecided)
        {
            return refuse(format!("a reward was decided by {}", r.tx_id));
        }
        if tip.status() != Some(TipStatus::Verified) {
            return refuse(format!(
                "a reward is decided only for a verified tip; tip {} stands at {}",
                f.tip_id,
                tip.status().map_or("awaiting_triage", TipStatus::name)
            ));
        }
    }
    tip.follow_ups.push(FollowUpEntry {
        tx_id: rc.tx_id,
        at: rc.block_time,
        status: f.status,
        note: f.note.clone(),
        reward_yuan: f.reward_yuan,
    });
    view.put(key(&f.tip_id), &tip);
    put_record(
        view,
        safeledger_core::records::TxKind::TipFollowUp,
        rc.agency,
        (rc.tx_id, rc.height, rc.index, rc.effective_at),
        signers,
    );
    Ok(())
}

/// The triage task of a tip not followed up yet.
pub fn tasks(tip: &TipState) -> Vec<Task> {
    if !tip.follow_ups.is_empty() {
        return Vec::new();
    }
    let about = match &tip.enterprise {
        Some(e) => format!("about {e}"),
        None => format!("about {}", tip.address.chars().take(80).collect::<String>()),
    };
    vec![Task {
        agency: tip.agency.clone(),
        kind: TaskKind::TipTriage,
        due: Some(tip.triage_due),
        enterprise: tip.enterprise.as_ref().map(|e| e.as_str().to_string()),
        source: tip.tx_id,
        what: format!(
            "triage public tip {} {about} received {}",
            tip.tip_id,
            tip.received_at.date_string()
        ),
        closed_by: format!("a tip_follow_up of tip {}", tip.tip_id),
    }]
}
