//! The rule parameters (DESIGN §5: "parameters are on chain and governed; defaults
//! shown"). They live in state under [`crate::keys::PARAMS`]; until governance first sets
//! one, the executor's defaults apply. A governance proposal changes one parameter by name
//! ([`RuleParams::set`]).

use crate::keys;
use crate::state::{read, StateRead};
use safeledger_core::records::TxKind;
use safeledger_core::Timestamp;
use serde::{Deserialize, Serialize};

/// Every rule parameter. Months are calendar months on UTC dates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleParams {
    /// Longest licence term a grant or renewal may set, in days (R0-licence-term). DESIGN
    /// §5: "a grant runs at most 3 years"; default 1096 = 3 × 365 + one leap day.
    pub max_licence_term_days: u64,
    /// Most linked ids an enterprise may hold over all agencies (R0-linked-ids); keeps the
    /// enterprise value bounded. Default 256 (`core::limits::MAX_LIST_ITEMS`).
    pub max_linked_ids: u64,
    /// A renewal that shows its application date must have applied at least this many
    /// months before the expiry of the current term (R0-renewal-lead; Regulations on Work
    /// Safety Licences art. 9: "3 months before expiry"). Default 3.
    pub renewal_lead_months: u64,
    /// A blacklist listing lasts this many months (R4: "listed 3 years"). Default 36.
    pub blacklist_months: u64,
    /// Removal from the blacklist may be requested this many months after listing (R4).
    /// Default 12.
    pub blacklist_removal_after_months: u64,
    /// A severe penalty restricts licence grants and renewals for this many months unless
    /// cleared earlier (R3). Default 12.
    pub severe_penalty_months: u64,
    /// Consecutive failed inspections that make the risk red (R5). Default 3.
    pub red_consecutive_failed: u64,
    /// Consecutive failed inspections that make the risk orange (R9). Default 2.
    pub orange_consecutive_failed: u64,
    /// An accident this recent (months) makes the risk orange (R9). Default 12.
    pub orange_accident_months: u64,
    /// Window of grade C conditions, months (R9). Default 24.
    pub credit_c_months: u64,
    /// Window of grade B conditions, months (R9). Default 12.
    pub credit_b_months: u64,
    /// Grade C when the rectification rate in the C window is below this, basis points
    /// (R9: "under 80 %"). Default 8000.
    pub min_rectification_rate_bp: u64,
    /// Days between routine inspections at risk below red; red halves it (R5: "red
    /// doubles the inspection frequency"). Default 365.
    pub inspection_interval_days: u64,
    /// Distinct officers of the licensing agency who must sign a licence decision in a
    /// high-risk industry (R6). Default 2.
    pub collective_k: u64,
    /// High-risk industries: GB/T 4754-2017 sections, divisions, groups or classes (R6).
    /// Default B (mining), E (construction), C26 (chemical raw materials and products,
    /// holding explosives, pyrotechnics and fireworks, group 267).
    pub high_risk_industries: Vec<String>,
    /// Hours until an assistance request is due when it names none (R7). Default 24.
    pub assistance_due_hours: u64,
    /// Most findings kept per enterprise beyond the windows' needs; bounds state size.
    /// Default 512.
    pub max_findings: u64,
    /// Most instructions a deployed policy may use per evaluation. Default 200,000.
    pub max_policy_instructions: u64,
    /// Per ISO 4217 currency, the lowest direct loss (minor units) of a larger, major and
    /// especially major accident (R0-accident-level; Order 493 art. 3). Default `CNY`:
    /// 10 M, 50 M and 100 M yuan in fen. A loss in a currency not listed does not count:
    /// the level rests on deaths and serious injuries. Governed by name
    /// `accident_loss_thresholds.<CODE>` with value `larger,major,especially_major` (an
    /// empty value removes the currency).
    pub accident_loss_thresholds: std::collections::BTreeMap<String, [u64; 3]>,
    /// The permission table of officers' posts (issue 19 item 6; R1-role): per role, the
    /// transaction kinds an officer holding it may sign, as submitter or co-signer. An
    /// officer may sign a kind when its agency's role allows it (R1-permission) and one of
    /// its own roles does. Genesis officers hold `head`. Governed by name
    /// `officer_roles.<role>` with value a comma-separated list of kinds (an empty value
    /// removes the role; `head` cannot be removed). Defaults: [`default_officer_roles`].
    pub officer_roles: std::collections::BTreeMap<String, std::collections::BTreeSet<TxKind>>,
    /// Hours a decision proposal stays open for co-signatures when it names none (issue
    /// 19 item 5). Default 168 (7 days).
    pub collective_deadline_hours: u64,
    /// Working days after an application's filing within which its agency accepts it or
    /// gives the one-time notice of missing materials (Administrative Licensing Law art.
    /// 32; issue 19 item 7). Default 5.
    pub licence_notice_working_days: u64,
    /// Working days after the filing (or after the complete resupply that follows a
    /// notice) within which the agency decides (Regulation on Work Safety Licences art.
    /// 7). Default 45.
    pub licence_decision_working_days: u64,
    /// The working-day calendar's exceptions by date `YYYY-MM-DD` (UTC+8): `false` for a
    /// public holiday on a weekday, `true` for a make-up working day on a weekend
    /// ([`crate::calendar`]). Governed by name `work_calendar.<YYYY-MM-DD>` with value
    /// `holiday`, `workday` or empty (back to the weekday rule); at most 4096 dates.
    /// Empty by default: the State Council's holidays are set by governance each year.
    pub work_calendar: std::collections::BTreeMap<String, bool>,
    /// Routine inspections a year of a licensed enterprise by each agency that inspects
    /// it, by risk level green, yellow, orange, red (the regulator's text: at least twice
    /// a year, more for high risk; [`crate::plan`]). Governed by name
    /// `routine_inspections_per_year.<level>`, 1–52. Default 2, 2, 3, 4.
    pub routine_inspections_per_year: [u64; 4],
    /// Years licensed without an accident after which an enterprise needs one routine
    /// inspection a year fewer (never below one; [`crate::plan`]). Default 3.
    pub accident_free_relief_years: u64,
    /// The sharing catalogue (issue 20 item 8): per `agency/kind/field` — a private field
    /// of a kind of record an agency makes — the agencies entitled to read it by default,
    /// as if each such record's field had been granted to them (`access::granted`), so
    /// routine sharing needs no access request per record. Reads are still declared on
    /// chain first. Governed by name `sharing_catalogue.<agency>.<kind>.<field>` with value
    /// a comma-separated list of agencies (empty removes the entry); at most 1024 entries.
    /// Empty by default.
    pub sharing_catalogue: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Seconds within which an enterprise acknowledges a sensor alert before it escalates
    /// ([`crate::monitoring`]; the regulator's text: five minutes). Default 300.
    pub alert_ack_seconds: u64,
    /// Days an escalated sensor alert raises the enterprise's risk level one step
    /// ([`crate::monitoring`], [`crate::rules::assessment`]). Default 30.
    pub alert_escalation_days: u64,
    /// Sensor alerts one gateway may raise per UTC hour of block time; more are refused
    /// (R0-monitor), so that a faulty or compromised gateway cannot flood the ledger and
    /// the agency's inbox ([`crate::monitoring`]). Default 120.
    pub max_alerts_per_gateway_hour: u64,
    /// Days within which the receiving agency triages a public tip-off (its first
    /// follow-up; [`crate::tips`]). Default 7.
    pub tip_triage_days: u64,
}

impl RuleParams {
    /// The agencies the sharing catalogue entitles to field `field` of `agency`'s records
    /// of `kind`.
    pub fn shared_with(
        &self,
        agency: &str,
        kind: TxKind,
        field: &str,
    ) -> Option<&std::collections::BTreeSet<String>> {
        self.sharing_catalogue
            .get(&format!("{agency}/{}/{field}", kind.name()))
    }
}

/// The default permission table of officers' posts, after the regulator's text ("reviewers
/// read applications but cannot change history; inspectors record results but cannot change
/// licence status"):
///
/// | role | may sign |
/// |---|---|
/// | `head` | every kind (genesis officers; registers officers, governance) |
/// | `acceptor` | enterprise records, licence applications and their steps (acceptance, notice of missing materials, resupply), assessment reports received, tip-off follow-ups, reads and requests |
/// | `reviewer` | reads and requests only (private reads, access and assistance requests, answers to assistance) |
/// | `inspector` | enterprise records, inspections (with hazards), rectification reports, accident reports, monitoring gateway registrations, evidence attachments, tip-off follow-ups, reads and requests |
/// | `approver` | licence decisions (and co-signing them), penalties and their clearance, blacklists, appeals and outcomes, corrections, access grants, licence applications and their steps, opening inspection draws, assessment institutions and reports, monitoring gateway registrations, evidence attachments, tip-off follow-ups, reads and requests |
///
/// "Reads and requests" are `private_read`, `access_request`, `assistance_request` and
/// `assistance_response`.
pub fn default_officer_roles(
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<TxKind>> {
    use TxKind as K;
    let reads = [
        K::PrivateRead,
        K::AccessRequest,
        K::AssistanceRequest,
        K::AssistanceResponse,
    ];
    let with = |kinds: &[TxKind]| -> std::collections::BTreeSet<TxKind> {
        kinds.iter().chain(reads.iter()).copied().collect()
    };
    [
        ("head", TxKind::ALL.into_iter().collect()),
        (
            "acceptor",
            with(&[
                K::EnterpriseRecord,
                K::LicenceApplication,
                K::ApplicationStep,
                K::AssessmentReport,
                K::TipFollowUp,
            ]),
        ),
        ("reviewer", with(&[])),
        (
            "inspector",
            with(&[
                K::EnterpriseRecord,
                K::InspectionRecord,
                K::RectificationReport,
                K::AccidentReport,
                K::MonitorRegistration,
                K::EvidenceAttachment,
                K::TipFollowUp,
            ]),
        ),
        (
            "approver",
            with(&[
                K::LicenceDecision,
                K::DecisionProposal,
                K::DecisionSignature,
                K::Penalty,
                K::PenaltyClearance,
                K::BlacklistAction,
                K::Appeal,
                K::AppealOutcome,
                K::Correction,
                K::AccessGrant,
                K::LicenceApplication,
                K::ApplicationStep,
                K::DrawOpen,
                K::AssessorAction,
                K::AssessmentReport,
                K::MonitorRegistration,
                K::EvidenceAttachment,
                K::TipFollowUp,
            ]),
        ),
    ]
    .into_iter()
    .map(|(r, k)| (r.to_string(), k))
    .collect()
}

/// The role genesis officers (and an added agency's first officer) hold.
pub const HEAD_ROLE: &str = "head";

impl Default for RuleParams {
    fn default() -> Self {
        RuleParams {
            max_licence_term_days: 1096,
            max_linked_ids: safeledger_core::limits::MAX_LIST_ITEMS as u64,
            renewal_lead_months: 3,
            blacklist_months: 36,
            blacklist_removal_after_months: 12,
            severe_penalty_months: 12,
            red_consecutive_failed: 3,
            orange_consecutive_failed: 2,
            orange_accident_months: 12,
            credit_c_months: 24,
            credit_b_months: 12,
            min_rectification_rate_bp: 8000,
            inspection_interval_days: 365,
            collective_k: 2,
            high_risk_industries: vec!["B".into(), "E".into(), "C26".into()],
            assistance_due_hours: 24,
            max_findings: 512,
            max_policy_instructions: 200_000,
            accident_loss_thresholds: [(
                "CNY".to_string(),
                safeledger_core::records::lifecycle::CNY_LOSS_THRESHOLDS,
            )]
            .into(),
            officer_roles: default_officer_roles(),
            collective_deadline_hours: 168,
            licence_notice_working_days: 5,
            licence_decision_working_days: 45,
            work_calendar: std::collections::BTreeMap::new(),
            routine_inspections_per_year: [2, 2, 3, 4],
            accident_free_relief_years: 3,
            sharing_catalogue: std::collections::BTreeMap::new(),
            alert_ack_seconds: 300,
            alert_escalation_days: 30,
            max_alerts_per_gateway_hour: 120,
            tip_triage_days: 7,
        }
    }
}

/// Why a parameter change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rule parameter {name}: {why}")]
pub struct ParamError {
    /// The name given.
    pub name: String,
    /// What is wrong.
    pub why: String,
}

impl RuleParams {
    /// The parameters in force: the governed value in state, else `defaults`.
    pub fn load(state: &dyn StateRead, defaults: &RuleParams) -> RuleParams {
        read(state, keys::PARAMS).unwrap_or_else(|| defaults.clone())
    }

    /// Whether an officer holding `posts` may sign `kind` (R1-role): one of its posts lists
    /// it in [`RuleParams::officer_roles`].
    pub fn posts_allow(&self, posts: &[String], kind: TxKind) -> bool {
        posts.iter().any(|p| {
            self.officer_roles
                .get(p)
                .is_some_and(|kinds| kinds.contains(&kind))
        })
    }

    /// The longest window any rule reads findings over, in months: findings older than
    /// this before the newest one no longer change an outcome.
    pub fn history_months(&self) -> u64 {
        self.credit_c_months
            .max(self.credit_b_months)
            .max(self.severe_penalty_months)
            .max(self.orange_accident_months)
    }

    /// Sets parameter `name` from its text form (an integer; for
    /// `high_risk_industries` a comma-separated list of GB/T 4754-2017 codes). Values must
    /// keep the rules meaningful: counts and windows at least 1, rates at most 10,000 bp.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
        let err = |why: String| ParamError {
            name: name.to_string(),
            why,
        };
        if let Some(code) = name.strip_prefix("accident_loss_thresholds.") {
            if !safeledger_core::records::is_iso_4217(code) {
                return Err(err(format!("{code:?} is not an ISO 4217 code")));
            }
            if value.trim().is_empty() {
                self.accident_loss_thresholds.remove(code);
                return Ok(());
            }
            let parts: Vec<Option<u64>> = value.split(',').map(|p| p.trim().parse().ok()).collect();
            let t = match parts.as_slice() {
                [Some(a), Some(b), Some(c)] if 0 < *a && a < b && b < c => [*a, *b, *c],
                _ => {
                    return Err(err(format!(
                        "{value:?} is not three increasing whole numbers \
                         larger,major,especially_major (minor units)"
                    )))
                }
            };
            self.accident_loss_thresholds.insert(code.to_string(), t);
            return Ok(());
        }
        if let Some(role) = name.strip_prefix("officer_roles.") {
            if !safeledger_core::records::is_role_name(role) {
                return Err(err(format!(
                    "{role:?} is not a role name ([a-z_], 1 to 32 characters)"
                )));
            }
            if value.trim().is_empty() {
                if role == HEAD_ROLE {
                    return Err(err(
                        "head, the genesis officers' role, cannot be removed".into()
                    ));
                }
                self.officer_roles.remove(role);
                return Ok(());
            }
            let mut kinds = std::collections::BTreeSet::new();
            for k in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                let kind = TxKind::from_name(k)
                    .ok_or_else(|| err(format!("{k:?} is not a transaction kind")))?;
                kinds.insert(kind);
            }
            if self.officer_roles.len() >= 64 && !self.officer_roles.contains_key(role) {
                return Err(err("at most 64 roles".into()));
            }
            self.officer_roles.insert(role.to_string(), kinds);
            return Ok(());
        }
        if let Some(date) = name.strip_prefix("work_calendar.") {
            let valid = date.len() == 10
                && date.as_bytes()[4] == b'-'
                && date.as_bytes()[7] == b'-'
                && date[..4]
                    .parse::<i32>()
                    .ok()
                    .zip(date[5..7].parse::<u32>().ok())
                    .zip(date[8..].parse::<u32>().ok())
                    .and_then(|((y, m), d)| Timestamp::from_ymd(y, m, d))
                    .is_some();
            if !valid {
                return Err(err(format!("{date:?} is not a date YYYY-MM-DD")));
            }
            match value.trim() {
                "" => {
                    self.work_calendar.remove(date);
                }
                "holiday" | "workday" => {
                    if self.work_calendar.len() >= 4096 && !self.work_calendar.contains_key(date) {
                        return Err(err("at most 4096 dates".into()));
                    }
                    self.work_calendar
                        .insert(date.to_string(), value.trim() == "workday");
                }
                other => {
                    return Err(err(format!(
                        "{other:?} is neither holiday, workday nor empty"
                    )))
                }
            }
            return Ok(());
        }
        if let Some(entry) = name.strip_prefix("sharing_catalogue.") {
            let parts: Vec<&str> = entry.splitn(3, '.').collect();
            let [agency, kind, field] = parts.as_slice() else {
                return Err(err(
                    "the name is sharing_catalogue.<agency>.<kind>.<field>".into()
                ));
            };
            if !safeledger_core::records::is_agency_id(agency) {
                return Err(err(format!("{agency:?} is not an agency id")));
            }
            let kind = TxKind::from_name(kind)
                .ok_or_else(|| err(format!("{kind:?} is not a transaction kind")))?;
            if !safeledger_core::view::field_names(kind).contains(field) || *field == "type" {
                return Err(err(format!("a {} has no field {field:?}", kind.name())));
            }
            let key = format!("{agency}/{}/{field}", kind.name());
            let mut readers = std::collections::BTreeSet::new();
            for a in value.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                if !safeledger_core::records::is_agency_id(a) {
                    return Err(err(format!("{a:?} is not an agency id")));
                }
                readers.insert(a.to_string());
            }
            if readers.is_empty() {
                self.sharing_catalogue.remove(&key);
            } else {
                if self.sharing_catalogue.len() >= 1024
                    && !self.sharing_catalogue.contains_key(&key)
                {
                    return Err(err("at most 1024 catalogue entries".into()));
                }
                self.sharing_catalogue.insert(key, readers);
            }
            return Ok(());
        }
        if let Some(level) = name.strip_prefix("routine_inspections_per_year.") {
            let i = safeledger_core::records::draw::RISK_LEVELS
                .iter()
                .position(|l| *l == level)
                .ok_or_else(|| {
                    err(format!(
                        "{level:?} is not a risk level (green, yellow, orange, red)"
                    ))
                })?;
            match value.trim().parse::<u64>() {
                Ok(v @ 1..=52) => self.routine_inspections_per_year[i] = v,
                _ => return Err(err(format!("{value:?} is not a whole number in 1..=52"))),
            }
            return Ok(());
        }
        if name == "high_risk_industries" {
            let mut list = Vec::new();
            for code in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                safeledger_core::ids::check_gbt_4754_2017(code)
                    .map_err(|why| err(format!("{code:?}: {why}")))?;
                list.push(code.to_string());
            }
            self.high_risk_industries = list;
            return Ok(());
        }
        let v: u64 = value
            .trim()
            .parse()
            .map_err(|_| err(format!("{value:?} is not a whole number")))?;
        let slot = match name {
            "max_licence_term_days" => &mut self.max_licence_term_days,
            "max_linked_ids" => &mut self.max_linked_ids,
            "renewal_lead_months" => &mut self.renewal_lead_months,
            "blacklist_months" => &mut self.blacklist_months,
            "blacklist_removal_after_months" => &mut self.blacklist_removal_after_months,
            "severe_penalty_months" => &mut self.severe_penalty_months,
            "red_consecutive_failed" => &mut self.red_consecutive_failed,
            "orange_consecutive_failed" => &mut self.orange_consecutive_failed,
            "orange_accident_months" => &mut self.orange_accident_months,
            "credit_c_months" => &mut self.credit_c_months,
            "credit_b_months" => &mut self.credit_b_months,
            "min_rectification_rate_bp" => &mut self.min_rectification_rate_bp,
            "inspection_interval_days" => &mut self.inspection_interval_days,
            "collective_k" => &mut self.collective_k,
            "assistance_due_hours" => &mut self.assistance_due_hours,
            "max_findings" => &mut self.max_findings,
            "max_policy_instructions" => &mut self.max_policy_instructions,
            "collective_deadline_hours" => &mut self.collective_deadline_hours,
            "licence_notice_working_days" => &mut self.licence_notice_working_days,
            "licence_decision_working_days" => &mut self.licence_decision_working_days,
            "accident_free_relief_years" => &mut self.accident_free_relief_years,
            "alert_ack_seconds" => &mut self.alert_ack_seconds,
            "alert_escalation_days" => &mut self.alert_escalation_days,
            "max_alerts_per_gateway_hour" => &mut self.max_alerts_per_gateway_hour,
            "tip_triage_days" => &mut self.tip_triage_days,
            _ => return Err(err("no such parameter".into())),
        };
        let bounds = match name {
            "min_rectification_rate_bp" => 0..=10_000,
            "max_linked_ids" => 1..=safeledger_core::limits::MAX_LIST_ITEMS as u64 * 16,
            "collective_k" => 1..=safeledger_core::limits::MAX_TX_SIGNERS as u64,
            "max_policy_instructions" => 1..=10_000_000,
            "max_findings" => 16..=4096,
            _ => 1..=100_000,
        };
        if !bounds.contains(&v) {
            return Err(err(format!(
                "{v} is outside {}..={}",
                bounds.start(),
                bounds.end()
            )));
        }
        *slot = v;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_set_by_name_within_bounds() {
        let mut p = RuleParams::default();
        p.set("collective_k", "3").unwrap();
        assert_eq!(p.collective_k, 3);
        assert!(p.set("collective_k", "0").is_err());
        assert!(p.set("collective_k", "x").is_err());
        assert!(p.set("no_such", "1").is_err());
        p.set("high_risk_industries", "B, C2671").unwrap();
        assert_eq!(p.high_risk_industries, ["B", "C2671"]);
        assert!(p.set("high_risk_industries", "C12").is_err());
        assert_eq!(RuleParams::default().history_months(), 24);
        p.set(
            "accident_loss_thresholds.USD",
            "150000000,700000000,1500000000",
        )
        .unwrap();
        assert_eq!(
            p.accident_loss_thresholds["USD"],
            [150_000_000, 700_000_000, 1_500_000_000]
        );
        assert!(p.set("accident_loss_thresholds.usd", "1,2,3").is_err());
        assert!(p.set("accident_loss_thresholds.USD", "3,2,1").is_err());
        p.set("accident_loss_thresholds.USD", "").unwrap();
        p.set("officer_roles.clerk", "enterprise_record, private_read")
            .unwrap();
        assert_eq!(p.officer_roles["clerk"].len(), 2);
        assert!(p.set("officer_roles.clerk", "no_kind").is_err());
        assert!(p.set("officer_roles.Clerk", "penalty").is_err());
        assert!(p.set("officer_roles.head", "").is_err());
        p.set("officer_roles.clerk", "").unwrap();
        assert!(!p.officer_roles.contains_key("clerk"));
        assert!(!p.officer_roles["inspector"].contains(&TxKind::LicenceDecision));
        assert!(!p.accident_loss_thresholds.contains_key("USD"));
        p.set("routine_inspections_per_year.red", "6").unwrap();
        assert_eq!(p.routine_inspections_per_year, [2, 2, 3, 6]);
        assert!(p.set("routine_inspections_per_year.pink", "2").is_err());
        assert!(p.set("routine_inspections_per_year.red", "0").is_err());
        p.set("accident_free_relief_years", "5").unwrap();
        p.set(
            "sharing_catalogue.us-osha.accident_report.description",
            "chicago-cdph, sf-dph",
        )
        .unwrap();
        assert_eq!(
            p.shared_with("us-osha", TxKind::AccidentReport, "description")
                .map(|s| s.len()),
            Some(2)
        );
        assert!(p
            .set("sharing_catalogue.us-osha.accident_report.nope", "x")
            .is_err());
        assert!(p
            .set("sharing_catalogue.us-osha.no_kind.description", "x")
            .is_err());
        assert!(p
            .set("sharing_catalogue.us-osha.accident_report", "x")
            .is_err());
        p.set("sharing_catalogue.us-osha.accident_report.description", "")
            .unwrap();
        assert!(p.sharing_catalogue.is_empty());
        assert_eq!(p.accident_free_relief_years, 5);
    }
}
