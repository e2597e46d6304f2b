//! Double-random inspection draws (issue 20 item 2): the opening, the validators' beacon
//! (deal, reveal, recover a withheld secret; [`safeledger_core::beacon`]) and the outcome
//! ([`safeledger_core::draw`]).
//!
//! Phases, judged at the block time `now`:
//! 1. **Commit**: from the opening until every validator of the opening's height dealt,
//!    or `commit_window_secs` passed (the commit phase's close, `closed_at`). A dealing
//!    attests the pool's digest and must verify publicly (every share proven against the
//!    dealer's commitments). Dealings after the close are refused; validators that did not
//!    deal are recorded absent. Fewer than `t = f + 1` dealers fail the draw (it must be
//!    opened again): one honest dealer among them is what makes the outcome unpredictable.
//! 2. **Reveal**: until `closed_at + reveal_window_secs`, each dealer reveals its secret,
//!    checked against its commitment. Reveals start only after the close, so the set of
//!    dealers is fixed before any secret is known.
//! 3. **Recovery**: after the reveal window, every dealer that did not reveal is recorded
//!    as withholding, and any validator posts its decrypted share of that dealer's secret;
//!    `t` verified shares give the same contribution the reveal would have.
//!
//! When every dealer's contribution is known the chain computes the randomness, the
//! selection and the assignment, and the draw is complete. The pool (enterprises the pool
//! agency recorded, restricted by industry and risk level; inspectors with their declared
//! conflicts and the enterprises whose latest inspection they signed) is computed when the
//! draw opens and stored; dealers attest its digest.
//!
//! Refusals: R0-draw (the opening: a draw id used before, an empty pool, an inspector who
//! is not an officer of the opening agency, a pool agency unknown) and R0-draw-beacon (a
//! step out of phase, by a node that is not a validator of the draw, twice, or whose
//! proof or reveal does not verify), each naming the field or step.

use crate::rules::Refusal;
use crate::state::{read, Overlay, StateRead};
use safeledger_core::beacon::{self, Point};
use safeledger_core::draw::{Assignment, DrawPool, PoolExpert, PoolInspector};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::DrawOpen;
use safeledger_core::{Hash, PublicKey, Timestamp, TxId, ValidatorSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A draw's opening refused (the reason names the field).
pub const R0_DRAW: &str = "R0-draw";
/// A beacon step refused (the reason names the step and phase).
pub const R0_DRAW_BEACON: &str = "R0-draw-beacon";

/// The list of every draw, oldest first.
pub const DRAW_INDEX: &[u8] = b"draw-index";

/// The draws still running (neither complete nor failed when last looked at), oldest
/// first: what validator nodes follow after each commit, without decoding finished draws.
pub const OPEN_DRAW_INDEX: &[u8] = b"draw-open-index";

/// A validator's part in a draw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Its agency.
    pub agency: String,
    /// Its node key (the recipient key of its shares).
    pub key: PublicKey,
}

/// What the chain knows of a draw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawState {
    /// The opening transaction.
    pub tx_id: TxId,
    /// The opening agency.
    pub agency: String,
    /// The opening record.
    pub open: DrawOpen,
    /// Block time of the opening.
    pub opened_at: Timestamp,
    /// The validators of the opening's height, in the set's order: recipient `j` is
    /// `participants[j-1]`.
    pub participants: Vec<Participant>,
    /// Shares needed to recover a secret.
    pub threshold: usize,
    /// Digest of the pool (stored under `drwp/`).
    pub pool_digest: Hash,
    /// Enterprises in the pool.
    pub pool_size: usize,
    /// Dealings by agency.
    pub dealings: BTreeMap<String, beacon::Dealing>,
    /// When the commit phase closed, once known.
    pub closed_at: Option<Timestamp>,
    /// Contributions revealed, by agency.
    pub revealed: BTreeMap<String, Point>,
    /// Verified decrypted shares of withholding dealers: dealer → (position → `Sⱼ`).
    pub shares: BTreeMap<String, BTreeMap<usize, Point>>,
    /// Contributions recovered from shares, by agency.
    pub recovered: BTreeMap<String, Point>,
    /// Validators that did not deal in the commit window.
    pub absent: Vec<String>,
    /// Dealers that did not reveal in the reveal window (recorded against them).
    pub withheld: Vec<String>,
    /// The outcome, once complete.
    pub result: Option<DrawResult>,
    /// The accepted beacon steps (transaction ids), in commit order: with the opening,
    /// what `safeledger audit draw export` puts in views.
    pub steps: Vec<TxId>,
}

/// A complete draw's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawResult {
    /// The randomness.
    pub randomness: Hash,
    /// The enterprises selected, in order, with their inspectors.
    pub assignments: Vec<Assignment>,
    /// Block time of completion.
    pub completed_at: Timestamp,
    /// Height of completion.
    pub height: u64,
}

/// Where a draw is, at a block time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Validators deal.
    Commit,
    /// Dealers reveal.
    Reveal,
    /// Withheld secrets are recovered from shares.
    Recovery,
    /// The outcome is known.
    Complete,
    /// Too few dealers.
    Failed,
}

fn key(tx: &TxId) -> Vec<u8> {
    [b"drw/".as_slice(), &tx.0].concat()
}

fn pool_key(tx: &TxId) -> Vec<u8> {
    [b"drwp/".as_slice(), &tx.0].concat()
}

fn id_key(agency: &str, draw_id: &str) -> Vec<u8> {
    format!("drwid/{agency}/{draw_id}").into_bytes()
}

fn last_inspectors_key(e: &EnterpriseId) -> Vec<u8> {
    format!("linsp/{e}").into_bytes()
}

/// Records that `agency` recorded enterprise `e` for the first time (the pool's index).
pub fn index_enterprise(view: &mut Overlay<'_>, agency: &str, e: &EnterpriseId) {
    crate::state::list_push(view, &format!("aent/{agency}"), e);
}

/// Every enterprise `agency` has recorded, in first-recorded order.
pub fn agency_enterprises(state: &dyn StateRead, agency: &str) -> Vec<EnterpriseId> {
    crate::state::list_read(state, &format!("aent/{agency}"))
}

/// Records the signers of `e`'s latest inspection (excluded from its next draw).
pub fn note_inspectors(view: &mut Overlay<'_>, e: &EnterpriseId, signers: &[PublicKey]) {
    view.put(last_inspectors_key(e), &signers);
}

/// The draw opened by transaction `tx`.
pub fn get(state: &dyn StateRead, tx: &TxId) -> Option<DrawState> {
    read(state, &key(tx))
}

/// The pool of the draw opened by `tx`.
pub fn pool(state: &dyn StateRead, tx: &TxId) -> Option<DrawPool> {
    read(state, &pool_key(tx))
}

/// Every draw, oldest first.
pub fn all(state: &dyn StateRead) -> Vec<TxId> {
    read(state, DRAW_INDEX).unwrap_or_default()
}

/// The draws still running, oldest first ([`OPEN_DRAW_INDEX`]).
pub fn running(state: &dyn StateRead) -> Vec<TxId> {
    read(state, OPEN_DRAW_INDEX).unwrap_or_default()
}

/// The published results of a complete draw: each selected enterprise's latest
/// inspection when it was recorded after the draw opened (date, verdict), else `null`.
pub fn inspected(state: &dyn StateRead, d: &DrawState) -> Vec<serde_json::Value> {
    let Some(r) = &d.result else {
        return Vec::new();
    };
    r.assignments
        .iter()
        .map(|a| {
            let latest = crate::query::enterprise(state, &a.enterprise).and_then(|e| {
                let at = e.inspections.last_inspection_at?;
                (at >= d.opened_at).then(|| {
                    serde_json::json!({
                        "date": at.date_string(),
                        "outcome": e.inspections.last_outcome,
                        "tx_id": e.inspections.last_inspection,
                    })
                })
            });
            serde_json::json!({"enterprise": a.enterprise, "inspection": latest})
        })
        .collect()
}

/// The pool `open` names over `state`: the enterprises `pool_agency` recorded that match
/// the industry and risk filters (sorted), and the inspectors with their exclusions.
pub fn compute_pool(state: &dyn StateRead, open: &DrawOpen) -> DrawPool {
    let mut enterprises: Vec<EnterpriseId> = agency_enterprises(state, &open.pool_agency)
        .into_iter()
        .filter_map(|id| crate::query::enterprise(state, &id))
        .filter(|e| {
            open.risk_levels.is_empty()
                || open
                    .risk_levels
                    .iter()
                    .any(|l| l == e.assessment.risk.name())
        })
        .filter(|e| match &open.industry {
            None => true,
            Some(prefix) => e.licences.values().any(|l| {
                l.industry
                    .as_deref()
                    .is_some_and(|i| i.starts_with(prefix.as_str()))
            }),
        })
        .map(|e| e.id)
        .collect();
    enterprises.sort();
    enterprises.dedup();
    let last: BTreeMap<&EnterpriseId, Vec<PublicKey>> = enterprises
        .iter()
        .map(|e| (e, read(state, &last_inspectors_key(e)).unwrap_or_default()))
        .collect();
    let inspectors = open
        .inspectors
        .iter()
        .map(|i| {
            let mut excluded: BTreeSet<EnterpriseId> = i.conflicts.iter().cloned().collect();
            excluded.extend(
                last.iter()
                    .filter(|(_, signers)| signers.contains(&i.officer))
                    .map(|(e, _)| (*e).clone()),
            );
            PoolInspector {
                officer: i.officer,
                excluded: excluded.into_iter().collect(),
            }
        })
        .collect();
    let experts = open
        .experts
        .iter()
        .map(|x| {
            let mut excluded: Vec<EnterpriseId> = x.conflicts.clone();
            excluded.sort();
            excluded.dedup();
            PoolExpert {
                expert_id: x.expert_id.clone(),
                excluded,
            }
        })
        .collect();
    DrawPool {
        enterprises,
        inspectors,
        experts,
    }
}

fn refuse<T>(rule: &'static str, reason: String) -> Result<T, Refusal> {
    Err(Refusal::new(rule, reason))
}

/// Opens a draw (R0-draw); `validators` is the set of this height.
pub fn open(
    view: &mut Overlay<'_>,
    open: &DrawOpen,
    rc: &crate::rules::RecordContext<'_>,
    validators: &ValidatorSet,
    registry: &crate::registry::Registry,
) -> Result<(), Refusal> {
    let is_officer_of = |k: &PublicKey, agency: &str| {
        registry
            .officer(&*view, k)
            .is_ok_and(|o| o.agency == agency)
    };
    let known_agency = |a: &str| registry.agencies(&*view).contains_key(a);
    if read::<TxId>(view, &id_key(rc.agency, &open.draw_id)).is_some() {
        return refuse(
            R0_DRAW,
            format!(
                "draw_id {:?} was used before by {}",
                open.draw_id, rc.agency
            ),
        );
    }
    if !known_agency(&open.pool_agency) {
        return refuse(
            R0_DRAW,
            format!("pool_agency {:?} is not an agency", open.pool_agency),
        );
    }
    if let Some(i) = open
        .inspectors
        .iter()
        .find(|i| !is_officer_of(&i.officer, rc.agency))
    {
        return refuse(
            R0_DRAW,
            format!(
                "inspectors: {} is not an officer of {}",
                i.officer, rc.agency
            ),
        );
    }
    for x in &open.experts {
        match crate::assessors::expert(&*view, &x.expert_id) {
            None => {
                return refuse(
                    R0_DRAW,
                    format!("experts: {:?} is not a registered expert", x.expert_id),
                )
            }
            Some(e)
                if e.banned.is_some()
                    || crate::assessors::institution(&*view, &e.institution)
                        .is_some_and(|i| i.banned.is_some()) =>
            {
                return refuse(
                    crate::assessors::R0_ASSESSOR_BANNED,
                    format!(
                        "experts: {:?} (of {}) is banned for life",
                        x.expert_id, e.institution
                    ),
                )
            }
            Some(_) => {}
        }
    }
    let pool = compute_pool(view, open);
    if pool.enterprises.is_empty() {
        return refuse(
            R0_DRAW,
            format!(
                "the pool is empty: no enterprise recorded by {} matches industry {:?} and risk levels {:?}",
                open.pool_agency, open.industry, open.risk_levels
            ),
        );
    }
    let participants: Vec<Participant> = validators
        .validators
        .iter()
        .map(|v| Participant {
            agency: v.agency.clone(),
            key: v.key,
        })
        .collect();
    let state = DrawState {
        tx_id: rc.tx_id,
        agency: rc.agency.to_string(),
        open: open.clone(),
        opened_at: rc.block_time,
        threshold: beacon::threshold(participants.len()),
        participants,
        pool_digest: pool.digest(),
        pool_size: pool.enterprises.len(),
        dealings: BTreeMap::new(),
        closed_at: None,
        revealed: BTreeMap::new(),
        shares: BTreeMap::new(),
        recovered: BTreeMap::new(),
        absent: Vec::new(),
        withheld: Vec::new(),
        result: None,
        steps: Vec::new(),
    };
    view.put(id_key(rc.agency, &open.draw_id), &rc.tx_id);
    view.put(pool_key(&rc.tx_id), &pool);
    view.put(key(&rc.tx_id), &state);
    let mut index = all(view);
    index.push(rc.tx_id);
    view.put(DRAW_INDEX.to_vec(), &index);
    // Draws that failed by now (too few dealers) leave the running list here; complete
    // ones leave it when they complete.
    let mut open: Vec<TxId> = running(view)
        .into_iter()
        .filter(|id| get(view, id).is_some_and(|d| d.phase(rc.block_time) != Phase::Failed))
        .collect();
    open.push(rc.tx_id);
    view.put(OPEN_DRAW_INDEX.to_vec(), &open);
    Ok(())
}

impl DrawState {
    fn secs(s: u32) -> u64 {
        u64::from(s) * 1000
    }

    /// When the commit phase closes, if it has by `now`.
    pub fn close_time(&self, now: Timestamp) -> Option<Timestamp> {
        self.closed_at.or_else(|| {
            let deadline = Timestamp(self.opened_at.0 + Self::secs(self.open.commit_window_secs));
            (now >= deadline).then_some(deadline)
        })
    }

    /// The end of the reveal window, once the commit phase closed.
    pub fn reveal_deadline(&self, now: Timestamp) -> Option<Timestamp> {
        self.close_time(now)
            .map(|c| Timestamp(c.0 + Self::secs(self.open.reveal_window_secs)))
    }

    /// The phase at block time `now`.
    pub fn phase(&self, now: Timestamp) -> Phase {
        if self.result.is_some() {
            return Phase::Complete;
        }
        if self.close_time(now).is_some() && self.dealings.len() < self.threshold {
            return Phase::Failed;
        }
        match self.reveal_deadline(now) {
            None => Phase::Commit,
            Some(d) if now < d => Phase::Reveal,
            Some(_) => Phase::Recovery,
        }
    }

    /// The dealers whose contribution is still unknown.
    pub fn missing(&self) -> Vec<&String> {
        self.dealings
            .keys()
            .filter(|a| !self.revealed.contains_key(*a) && !self.recovered.contains_key(*a))
            .collect()
    }

    /// The dealing context of `dealer`: draw id ‖ dealer key.
    pub fn context(&self, dealer: &PublicKey) -> Vec<u8> {
        [self.tx_id.0.as_slice(), &dealer.0].concat()
    }

    fn recipients(&self) -> Vec<PublicKey> {
        self.participants.iter().map(|p| p.key).collect()
    }

    fn key_of(&self, agency: &str) -> Option<PublicKey> {
        self.participants
            .iter()
            .find(|p| p.agency == agency)
            .map(|p| p.key)
    }
}

#[path = "draw_beacon.rs"]
mod steps;
pub use steps::apply_beacon;
