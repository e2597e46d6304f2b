//! The named queries of the node's `Query` call (`safeledger query KIND`): one place that
//! maps a query's name and arguments to its answer as JSON, over committed state.

use crate::state::StateRead;
use safeledger_core::genesis::ValidatorSet;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::Timestamp;

/// Every query name [`route`] answers, in the order the refusal of an unknown one lists
/// them.
pub const QUERY_KINDS: [&str; 19] = [
    "assistance_open",
    "assistance_overdue",
    "assistance_sent",
    "inbox",
    "decisions",
    "timeline",
    "assessment",
    "linked",
    "evidence",
    "validators",
    "upgrades",
    "access_log",
    "read_log",
    "draws",
    "draw",
    "plan",
    "alerts",
    "tip",
    "evidence_file",
];

/// The queries answered to anyone, without an officer's signature: the double-random
/// draws and their outcomes ("double random, one public").
pub const PUBLIC_QUERY_KINDS: [&str; 2] = ["draws", "draw"];

/// The queries answered to auditors as well as officers: who asked to read which private
/// fields and why, with the answers, and the declared reads — the logs an auditor checks
/// (issue 21: the console's Audit page). They hold record ids, field names, agencies and
/// purposes, never a private value.
pub const AUDIT_QUERY_KINDS: [&str; 2] = ["access_log", "read_log"];

/// What a query is asked with. Which fields a kind reads: `agency` for
/// `assistance_open`, `assistance_overdue`, `assistance_sent` and `inbox`; `enterprise` for `decisions`,
/// `timeline`, `assessment` and `linked`; `limit` for the lists; `validators` for `validators`;
/// `agency` for `draws` (the draws it opened, newest first) and `enterprise` for `draw` (the
/// draw's opening transaction id, hex: its state, phase and pool); `enterprise` for
/// `alerts` (its sensor alerts, oldest first), and, unparsed, for `tip` (a tip id: the tip
/// and its follow-ups) and `evidence_file` (a file's BLAKE3 hash, hex: the records listing
/// it and the agency keeping it).
pub struct QueryArgs<'a> {
    /// The agency asked about (must satisfy `known_agency`).
    pub agency: &'a str,
    /// The enterprise asked about, unparsed (`EnterpriseId::parse`).
    pub enterprise: &'a str,
    /// Most entries in a list answer (the caller bounds it).
    pub limit: usize,
    /// The latest committed block time (deadlines and assessments are judged at it).
    pub now: Timestamp,
    /// The committed tip's height with the validator sets of the next two heights; `None`
    /// before any tip is stored.
    pub validators: Option<(u64, &'a ValidatorSet, &'a ValidatorSet)>,
}

/// Why a query was refused (`INVALID_ARGUMENT` but for [`QueryError::Encoding`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// No query of that name.
    #[error("unknown query {0:?}: {kinds}", kinds = QUERY_KINDS.join(", "))]
    UnknownKind(String),
    /// An argument the kind needs is missing or malformed.
    #[error("{0}")]
    BadArgument(String),
    /// The answer did not serialize to JSON (`INTERNAL`: a bug, not the caller's fault).
    #[error("encoding the answer: {0}")]
    Encoding(String),
}

/// Answers query `kind` with `args` over `state` as JSON; `known_agency` says whether an
/// agency id exists (the node asks its genesis).
///
/// # Errors
/// [`QueryError::UnknownKind`] for a name not in [`QUERY_KINDS`]; [`QueryError::BadArgument`]
/// for an enterprise id that does not parse or an agency `known_agency` does not know.
pub fn route(
    state: &dyn StateRead,
    kind: &str,
    args: &QueryArgs<'_>,
    known_agency: impl Fn(&str) -> bool,
) -> Result<serde_json::Value, QueryError> {
    use crate::{access, assistance, evidence, governance, query};
    let enterprise =
        || EnterpriseId::parse(args.enterprise).map_err(|e| QueryError::BadArgument(e.to_string()));
    let agency = || {
        if !known_agency(args.agency) {
            return Err(QueryError::BadArgument(format!(
                "agency {:?} is not in the genesis",
                args.agency
            )));
        }
        Ok(args.agency)
    };
    let (now, limit) = (args.now, args.limit);
    let json = match kind {
        "assistance_open" => serde_json::to_value(assistance::open_requests(state, agency()?, now)),
        "assistance_overdue" => {
            serde_json::to_value(assistance::overdue_requests(state, agency()?, now))
        }
        "assistance_sent" => serde_json::to_value(
            assistance::sent(state, agency()?, now, limit)
                .into_iter()
                .map(|(request, status)| serde_json::json!({"status": status, "request": request}))
                .collect::<Vec<_>>(),
        ),
        "inbox" => serde_json::to_value(query::open_inbox(state, agency()?, now, limit)),
        "decisions" => serde_json::to_value(query::decisions(state, &enterprise()?, &[], limit)),
        "timeline" => {
            serde_json::to_value(query::cross_agency_timeline(state, &enterprise()?, limit))
        }
        "linked" => {
            // The linked closure the grant rules judge (crate::links), each id with the
            // standing link it was reached over.
            let id = enterprise()?;
            let ent = query::enterprise(state, &id)
                .ok_or_else(|| QueryError::BadArgument(format!("enterprise {id} is unknown")))?;
            let params = crate::RuleParams::load(state, &Default::default());
            let linked = crate::links::closure(state, &ent, &params)
                .map_err(|r| QueryError::BadArgument(format!("{}: {}", r.rule, r.reason)))?;
            serde_json::to_value(
                linked
                    .iter()
                    .map(|l| serde_json::json!({"enterprise": l.ent.id, "basis": l.basis}))
                    .collect::<Vec<_>>(),
            )
        }
        "assessment" => {
            let params = crate::RuleParams::load(state, &Default::default());
            serde_json::to_value(query::assessment_at(state, &enterprise()?, now, &params))
        }
        "plan" => {
            // The routine plan at `now`: every entry, by due date (the caller picks a month).
            let all = crate::plan::agency_plan(state, agency()?, now);
            let overdue = all.iter().filter(|p| p.due < now).count();
            Ok(serde_json::json!({
                "agency": args.agency,
                "as_of": now,
                "entries": all.len(),
                "overdue": overdue,
                "plan": all.into_iter().take(limit).collect::<Vec<_>>(),
            }))
        }
        "draws" => {
            let agency = agency()?;
            let draws: Vec<serde_json::Value> = crate::draw::all(state)
                .iter()
                .rev()
                .filter_map(|id| crate::draw::get(state, id))
                .filter(|d| d.agency == agency)
                .take(limit)
                .map(|d| serde_json::json!({"phase": d.phase(now), "draw": d}))
                .collect();
            Ok(serde_json::Value::Array(draws))
        }
        "draw" => {
            let id = safeledger_core::Hash::from_hex(args.enterprise.trim()).map_err(|e| {
                QueryError::BadArgument(format!("a draw is named by its transaction id: {e}"))
            })?;
            let d = crate::draw::get(state, &id)
                .ok_or_else(|| QueryError::BadArgument(format!("no draw opened by {id}")))?;
            Ok(serde_json::json!({
                "phase": d.phase(now),
                "inspected": crate::draw::inspected(state, &d),
                "draw": d,
                "pool": crate::draw::pool(state, &id),
            }))
        }
        "alerts" => {
            let all = crate::monitoring::alerts_of(state, &enterprise()?);
            let skip = all.len().saturating_sub(limit);
            serde_json::to_value(&all[skip..])
        }
        "tip" => serde_json::to_value(
            crate::tips::get(state, args.enterprise.trim())
                .ok_or_else(|| QueryError::BadArgument(format!("no tip {:?}", args.enterprise)))?,
        ),
        "evidence_file" => {
            let h = safeledger_core::Hash::from_hex(args.enterprise.trim()).map_err(|e| {
                QueryError::BadArgument(format!("an evidence file is named by its hash: {e}"))
            })?;
            serde_json::to_value(crate::attachments::listings(state, &h))
        }
        "access_log" => serde_json::to_value(access::log(state, limit)),
        "read_log" => serde_json::to_value(access::reads(state, limit)),
        "evidence" => {
            let all = evidence::recorded(state);
            let skip = all.len().saturating_sub(limit);
            serde_json::to_value(&all[skip..])
        }
        "upgrades" => Ok(serde_json::json!({
            "schedule": crate::upgrade::schedule(state),
            "params": crate::state::read::<crate::RuleParams>(state, crate::keys::PARAMS),
        })),
        "validators" => match args.validators {
            Some((height, current, next)) => Ok(serde_json::json!({
                "height": height + 1,
                "validators": current,
                "next_validators": next,
                "pending_changes": governance::validator_changes(state)
                    .into_iter()
                    .filter(|c| c.height >= height.saturating_sub(1))
                    .collect::<Vec<_>>(),
            })),
            None => Ok(serde_json::Value::Null),
        },
        other => return Err(QueryError::UnknownKind(other.to_string())),
    };
    json.map_err(|e| QueryError::Encoding(e.to_string()))
}
