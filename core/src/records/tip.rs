//! Public tip-offs (issue 20 item 5; the regulator's text: a public channel for reports of
//! hazards, rewards up to 100,000 yuan, the tipster protected).
//!
//! Anyone hands a tip to an agency's node without a key; the node records it as a
//! [`TipIntake`] signed with its node key and gives the tipster a secret receipt code.
//! The code never reaches the ledger: the tip's id is derived from it
//! ([`tip_id_of_receipt`], a one-way function of 128 random bits), so the tipster — and
//! only someone holding the code — finds the tip again. The description is a private
//! field (only its commitment is replicated; [`crate::private`]). The receiving agency
//! answers with [`TipFollowUp`]s, whose `note` the tipster reads by receipt code; a reward
//! claimant's real name is a private field.

use super::attachment::{check_files, EvidenceFile};
use super::{bounds, FieldError};
use crate::ids::EnterpriseId;
use serde::{Deserialize, Serialize};

/// Most bytes of a tip's description (a tip is bounded at intake: [`MAX_TIP_FILES`]
/// files and this much text).
pub const MAX_TIP_TEXT_BYTES: usize = 4096;
/// Most evidence files a tip carries.
pub const MAX_TIP_FILES: usize = 4;
/// Largest reward the regulator's text allows, in yuan.
pub const MAX_REWARD_YUAN: u32 = 100_000;
/// Characters of a tip id: 32 lowercase hex digits (128 bits).
pub const TIP_ID_CHARS: usize = 32;

/// A tip handed to an agency's node by the public, recorded by that node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TipIntake {
    /// The tip's id, derived from the receipt code ([`tip_id_of_receipt`]).
    pub tip_id: String,
    /// The receiving agency (the node's).
    pub agency: String,
    /// The enterprise reported, when the tipster named a known one.
    pub enterprise: Option<EnterpriseId>,
    /// The site's address as the tipster gave it (may be empty when `enterprise` names it).
    pub address: String,
    /// What the tipster reports: private (withheld at the receiving node).
    pub description: String,
    /// Evidence files handed in with it, kept by the receiving node.
    pub evidence: Vec<EvidenceFile>,
}

/// Where a tip stands after a follow-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TipStatus {
    /// Triaged: being investigated.
    UnderInvestigation,
    /// The report was verified.
    Verified,
    /// The report could not be verified.
    NotVerified,
    /// A reward was decided (only for a verified tip).
    RewardDecided,
}

impl TipStatus {
    /// snake_case name, as in JSON and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            TipStatus::UnderInvestigation => "under_investigation",
            TipStatus::Verified => "verified",
            TipStatus::NotVerified => "not_verified",
            TipStatus::RewardDecided => "reward_decided",
        }
    }
}

/// The receiving agency's follow-up of a tip, linked to it by its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TipFollowUp {
    /// The tip.
    pub tip_id: String,
    /// The new status.
    pub status: TipStatus,
    /// What the agency tells the tipster (shown by receipt code).
    pub note: String,
    /// The reward in yuan, with `reward_decided` (1 to [`MAX_REWARD_YUAN`]).
    pub reward_yuan: Option<u32>,
    /// The real name of the reward's claimant, with `reward_decided`: private (withheld
    /// at the agency's node).
    pub claimant_name: String,
}

/// The tip id a receipt code opens: the first 128 bits of BLAKE3's key derivation over the
/// code, in hex. One-way: the ledger's tip ids do not give the codes away.
pub fn tip_id_of_receipt(receipt: &str) -> String {
    // Codes are copied by hand: case and surrounding space do not matter.
    let code = receipt.trim().to_ascii_uppercase();
    let h = blake3::derive_key("safeledger 2026 tip receipt", code.as_bytes());
    h[..TIP_ID_CHARS / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn tip_id(s: &str) -> Result<(), FieldError> {
    if s.len() == TIP_ID_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        Ok(())
    } else {
        Err(FieldError {
            field: "tip_id",
            why: format!("not {TIP_ID_CHARS} lowercase hex digits"),
        })
    }
}

/// Most bytes of a tip's address.
pub const MAX_TIP_ADDRESS_BYTES: usize = 512;

/// Text from the public or for it: no control characters but line feeds and tabs.
pub(super) fn plain_text(field: &'static str, s: &str) -> Result<(), FieldError> {
    match s
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        Some(c) => Err(FieldError {
            field,
            why: format!("holds the control character U+{:04X}", c as u32),
        }),
        None => Ok(()),
    }
}

/// Stateless bounds of an intake.
pub(super) fn check_intake(r: &TipIntake) -> Result<(), FieldError> {
    tip_id(&r.tip_id)?;
    bounds::nonempty("agency", &r.agency)?;
    if r.enterprise.is_none() {
        bounds::nonempty("address", &r.address)?;
    }
    if r.address.len() > MAX_TIP_ADDRESS_BYTES {
        return Err(FieldError {
            field: "address",
            why: format!("{} bytes exceeds {MAX_TIP_ADDRESS_BYTES}", r.address.len()),
        });
    }
    plain_text("address", &r.address)?;
    plain_text("description", &r.description)?;
    if r.description.len() > MAX_TIP_TEXT_BYTES {
        return Err(FieldError {
            field: "description",
            why: format!("{} bytes exceeds {MAX_TIP_TEXT_BYTES}", r.description.len()),
        });
    }
    if r.evidence.len() > MAX_TIP_FILES {
        return Err(FieldError {
            field: "evidence",
            why: format!(
                "{} files: a tip carries at most {MAX_TIP_FILES}",
                r.evidence.len()
            ),
        });
    }
    check_files("evidence", &r.evidence)
}

/// Stateless bounds of a follow-up.
pub(super) fn check_follow_up(r: &TipFollowUp) -> Result<(), FieldError> {
    tip_id(&r.tip_id)?;
    bounds::text("note", &r.note)?;
    plain_text("note", &r.note)?;
    bounds::text("claimant_name", &r.claimant_name)?;
    let reward = r.status == TipStatus::RewardDecided;
    match r.reward_yuan {
        Some(y) if !reward => Err(FieldError {
            field: "reward_yuan",
            why: format!(
                "{y} yuan given with status {}: only reward_decided carries a reward",
                r.status.name()
            ),
        }),
        None if reward => Err(FieldError {
            field: "reward_yuan",
            why: "reward_decided names no amount".into(),
        }),
        Some(y) if y == 0 || y > MAX_REWARD_YUAN => Err(FieldError {
            field: "reward_yuan",
            why: format!("{y} yuan is outside 1..={MAX_REWARD_YUAN}"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tip_ids_are_one_way_hex_and_ignore_surrounding_space() {
        let id = tip_id_of_receipt("TIP-ABCD");
        assert_eq!(id.len(), TIP_ID_CHARS);
        assert!(tip_id(&id).is_ok());
        assert_eq!(id, tip_id_of_receipt(" TIP-ABCD\n"));
        assert_ne!(id, tip_id_of_receipt("TIP-ABCE"));
    }
}
