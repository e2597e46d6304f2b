//! Records that follow up earlier ones (DESIGN §5): rectification reports, clearance of a
//! severe penalty, blacklist entries and removals, corrections and appeals, and the
//! accident level of State Council Order 493, art. 3.

use crate::ids::EnterpriseId;
use crate::tx::TxId;
use serde::{Deserialize, Serialize};

/// Yuan in minor units (fen).
pub const FEN_PER_YUAN: u64 = 100;

/// The level of a production safety accident (State Council Order 493, art. 3), lowest
/// first so that `Ord` ranks severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccidentLevel {
    /// 一般事故: below every bound of "larger".
    General,
    /// 较大事故: 3–9 deaths, or 10–49 serious injuries, or a direct loss in [10 M, 50 M) yuan.
    Larger,
    /// 重大事故: 10–29 deaths, or 50–99 serious injuries, or [50 M, 100 M) yuan.
    Major,
    /// 特别重大事故: at least 30 deaths, or 100 serious injuries, or 100 M yuan.
    EspeciallyMajor,
}

/// Order 493's loss bounds in fen: larger from 10 M yuan, major from 50 M, especially
/// major from 100 M (the default of the governed `accident_loss_thresholds` for `CNY`).
pub const CNY_LOSS_THRESHOLDS: [u64; 3] = [
    10_000_000 * FEN_PER_YUAN,
    50_000_000 * FEN_PER_YUAN,
    100_000_000 * FEN_PER_YUAN,
];

impl AccidentLevel {
    /// The level by DESIGN §5 (Order 493 art. 3; "at least" includes the bound, "under"
    /// excludes it): the highest level any of the three measures reaches.
    /// `direct_loss_minor` is the direct economic loss in minor units (unknown counts as
    /// zero) and `loss_thresholds` the lowest loss of larger, major and especially major in
    /// the same currency; `None` when that currency has none governed, and then the loss
    /// does not count (the level rests on casualties alone).
    pub fn classify(
        deaths: u32,
        serious_injuries: u32,
        direct_loss_minor: Option<u64>,
        loss_thresholds: Option<[u64; 3]>,
    ) -> Self {
        let loss = direct_loss_minor.unwrap_or(0);
        let by_deaths = match deaths {
            30.. => AccidentLevel::EspeciallyMajor,
            10..=29 => AccidentLevel::Major,
            3..=9 => AccidentLevel::Larger,
            _ => AccidentLevel::General,
        };
        let by_injuries = match serious_injuries {
            100.. => AccidentLevel::EspeciallyMajor,
            50..=99 => AccidentLevel::Major,
            10..=49 => AccidentLevel::Larger,
            _ => AccidentLevel::General,
        };
        let by_loss = match loss_thresholds {
            Some([_, _, em]) if loss >= em => AccidentLevel::EspeciallyMajor,
            Some([_, major, _]) if loss >= major => AccidentLevel::Major,
            Some([larger, _, _]) if loss >= larger => AccidentLevel::Larger,
            _ => AccidentLevel::General,
        };
        by_deaths.max(by_injuries).max(by_loss)
    }

    /// snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            AccidentLevel::General => "general",
            AccidentLevel::Larger => "larger",
            AccidentLevel::Major => "major",
            AccidentLevel::EspeciallyMajor => "especially_major",
        }
    }
}

/// The enterprise reports hazards of an inspection rectified (DESIGN §5 "rectification
/// report"). Recorded by the inspecting agency; closes the named hazards of its inspection
/// `inspection_id` (all of them when `codes` is empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RectificationReport {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The recording agency's id of the inspection whose hazards are rectified.
    pub inspection_id: String,
    /// Violation codes rectified; empty = every hazard of the inspection.
    pub codes: Vec<String>,
    /// What was done.
    pub description: String,
}

/// The penalizing agency records a severe penalty cleared (R3): licence grants and
/// renewals are no longer restricted by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PenaltyClearance {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The agency's case id of the penalty.
    pub case_id: String,
    /// Grounds.
    pub reason: String,
}

/// Entry on or removal from the blacklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlacklistActionKind {
    /// Listed (for the governed listing period, default 3 years).
    Enter,
    /// Removed on request (no earlier than the governed minimum, default 12 months).
    Remove,
}

/// A blacklist entry or removal (DESIGN §5; R2, R4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistAction {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// Enter or remove.
    pub action: BlacklistActionKind,
    /// Grounds.
    pub reason: String,
}

/// What a correction does to its target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionAction {
    /// Replace the target's content with this record (same kind, same enterprise).
    Amend(Box<crate::records::TxBody>),
    /// The target no longer counts.
    Withdraw,
}

/// A correction of an earlier record by the agency that recorded it (DESIGN §5; R1). The
/// original stays on the ledger; rules and queries follow the correction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The enterprise the target is about.
    pub enterprise: EnterpriseId,
    /// The corrected transaction.
    pub target: TxId,
    /// Amend or withdraw.
    pub action: CorrectionAction,
    /// Why (required).
    pub reason: String,
}

/// What an appeal is against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum AppealTarget {
    /// A record by its transaction id.
    Record(TxId),
    /// The latest decision on this licence number of the enterprise (for imports, which
    /// know the licence but not the decision's transaction id).
    Licence(String),
}

/// An appeal lodged against a decision or finding (DESIGN §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appeal {
    /// The appellant enterprise.
    pub enterprise: EnterpriseId,
    /// The recording agency's id for the appeal (unique per agency and enterprise).
    pub appeal_id: String,
    /// What is appealed.
    pub target: AppealTarget,
    /// Grounds.
    pub grounds: String,
}

/// How an appeal ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealVerdict {
    /// The decision stands.
    Upheld,
    /// The decision is set aside: rules and queries follow as for a withdrawal.
    Overturned,
}

/// The outcome of an appeal, recorded by the agency whose record was appealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealOutcome {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The agency id of the appeal, as given in [`Appeal::appeal_id`].
    pub appeal_id: String,
    /// Verdict.
    pub verdict: AppealVerdict,
    /// Grounds.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::AccidentLevel::{self, *};
    use super::CNY_LOSS_THRESHOLDS;

    const M: u64 = 1_000_000 * super::FEN_PER_YUAN;

    #[test]
    fn deaths_bounds_are_3_10_30() {
        let l = |d| AccidentLevel::classify(d, 0, None, Some(CNY_LOSS_THRESHOLDS));
        assert_eq!([l(0), l(2), l(3), l(9)], [General, General, Larger, Larger]);
        assert_eq!(
            [l(10), l(29), l(30), l(300)],
            [Major, Major, EspeciallyMajor, EspeciallyMajor]
        );
    }

    #[test]
    fn serious_injury_bounds_are_10_50_100() {
        let l = |i| AccidentLevel::classify(0, i, None, Some(CNY_LOSS_THRESHOLDS));
        assert_eq!(
            [l(9), l(10), l(49), l(50)],
            [General, Larger, Larger, Major]
        );
        assert_eq!([l(99), l(100)], [Major, EspeciallyMajor]);
    }

    #[test]
    fn loss_bounds_are_10_50_100_million_yuan() {
        let l = |f| AccidentLevel::classify(0, 0, Some(f), Some(CNY_LOSS_THRESHOLDS));
        assert_eq!([l(10 * M - 1), l(10 * M)], [General, Larger]);
        assert_eq!([l(50 * M - 1), l(50 * M)], [Larger, Major]);
        assert_eq!([l(100 * M - 1), l(100 * M)], [Major, EspeciallyMajor]);
    }

    #[test]
    fn the_highest_measure_decides() {
        assert_eq!(
            AccidentLevel::classify(2, 50, Some(10 * M), Some(CNY_LOSS_THRESHOLDS)),
            Major
        );
        // A currency without governed thresholds: the loss does not count.
        assert_eq!(AccidentLevel::classify(0, 0, Some(u64::MAX), None), General);
        assert_eq!(AccidentLevel::classify(30, 0, None, None), EspeciallyMajor);
        assert!(General < Larger && Larger < Major && Major < EspeciallyMajor);
    }
}
