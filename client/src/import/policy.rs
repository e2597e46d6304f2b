//! The demo's Rego policy (issue 4 part 7) and the governance records that deploy it at
//! the start of an import: "a failed inspection with at least one critical violation by
//! the inspection agency blocks a licence renewal at the licensing agency within 90 days
//! after it (effective dates)". `chicago-bacp` proposes; `chicago-cdph` and `sf-dph` vote
//! yes: 3 of the 4 demo agencies, more than 2/3, so it passes before the first record.

use super::{ImportItem, CHICAGO_BACP, CHICAGO_CDPH, SF_DPH};
use safeledger_core::records::{
    GovernanceAction, GovernanceProposal, GovernanceVote, PolicySpec, PolicyTest, TxBody, TxKind,
};
use safeledger_core::Timestamp;

/// The policy's name; refusals name the rule `policy:inspection-blocks-renewal`.
pub const POLICY_NAME: &str = "inspection-blocks-renewal";
/// Its Rego source.
pub const POLICY_SOURCE: &str = include_str!("policies/inspection_blocks_renewal.rego");
/// The proposal id that deploys it.
pub const PROPOSAL_ID: &str = "deploy-inspection-blocks-renewal";
/// Source name of the governance items in a plan.
pub const POLICY_SOURCE_FILE: &str = "policies/inspection_blocks_renewal.rego";
/// Instruction budget per evaluation.
pub const POLICY_MAX_INSTRUCTIONS: u64 = 100_000;

const DAY_MS: u64 = 86_400_000;

fn test_case(days_after: u64, critical: u32, expect_deny: bool) -> PolicyTest {
    let inspected = 1_400_000_000_000u64;
    let input = serde_json::json!({ "tx": {
        "kind": "licence_decision", "agency": "bacp", "effective_at": inspected + days_after * DAY_MS,
        "body": { "licence_decision": { "kind": "renew" } } } });
    let data = serde_json::json!({
        "agencies": { "bacp": { "role": "licensing" }, "cdph": { "role": "inspection" } },
        "enterprise": { "findings": [ { "status": "standing", "agency": "cdph", "at": inspected,
            "date": "2014-05-13", "tx_id": "00",
            "what": { "inspection": { "inspection_id": "1", "outcome": "fail", "critical": critical } } } ] } });
    PolicyTest {
        input_json: input.to_string(),
        data_json: data.to_string(),
        expect_deny,
    }
}

/// The policy as deployed, with test cases on both sides of the 90-day bound and without
/// a critical violation.
pub fn policy_spec() -> PolicySpec {
    PolicySpec {
        name: POLICY_NAME.to_string(),
        source: POLICY_SOURCE.to_string(),
        applies_to: vec![TxKind::LicenceDecision],
        max_instructions: POLICY_MAX_INSTRUCTIONS,
        tests: vec![
            test_case(90, 1, true),
            test_case(91, 1, false),
            test_case(10, 0, false),
        ],
    }
}

/// The proposal and the two votes, effective at `at` (the plan's first date).
pub fn governance_items(at: Timestamp) -> Vec<ImportItem> {
    let item = |agency: &str, line, body| ImportItem {
        source: POLICY_SOURCE_FILE.to_string(),
        line,
        agency: agency.to_string(),
        effective_at: at,
        body,
    };
    let vote = || {
        TxBody::GovernanceVote(GovernanceVote {
            proposal_id: PROPOSAL_ID.to_string(),
            approve: true,
        })
    };
    vec![
        item(
            CHICAGO_BACP,
            0,
            TxBody::GovernanceProposal(GovernanceProposal {
                proposal_id: PROPOSAL_ID.to_string(),
                action: GovernanceAction::DeployPolicy(policy_spec()),
                reason: "a critical failed inspection blocks renewal for 90 days".to_string(),
            }),
        ),
        item(CHICAGO_CDPH, 0, vote()),
        item(SF_DPH, 0, vote()),
    ]
}
