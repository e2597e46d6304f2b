//! The per-transaction pipeline (DESIGN §3 "Order, then execute").
//!
//! At the start of each block, watched rectification deadlines at or before the block
//! time escalate (R8, [`crate::rules::escalation`]). Then, for each transaction, in order:
//!
//! 1. R0-signer — the submitter is a current officer (genesis or registered on chain, not
//!    revoked, of an active agency). Refusal still uses up the sequence when it is above
//!    the submitter's last, so every committed transaction's sequence is at most its
//!    submitter's last (the node's "already committed" checks rely on it).
//! 2. R0-sequence — its sequence is above the submitter's last committed one. Refusal
//!    advances nothing (the sequence is already at most the last).
//! 3. From here on the submitter's sequence advances whatever the outcome, and the
//!    transaction's own writes are staged apart and kept only if it is accepted:
//!    R0-signer for co-signers, R1-permission, R0-effective-date; then by kind:
//!    - officer actions ([`crate::registry`]) and governance ([`crate::governance`]);
//!    - records about an enterprise: R0-enterprise (or, for an enterprise record,
//!      R0-linked-ids), the record's own rules and state transition (licence
//!      applications; the application a decision answers, the licence lifecycle, then R6,
//!      R2, R3; findings; corrections and appeals; assistance), R5/R9
//!      reassessment, then every deployed policy that judges the kind
//!      ([`crate::policy`]), and finally the entry on the enterprise's timeline.
//!
//! The first refusal wins. Later transactions of a block see earlier ones' writes. Rule
//! parameters are read from state for every transaction, so a governance change applies
//! from the next transaction on.

use crate::keys;
use crate::model::{EnterpriseState, RecordLocation, RecordRef};
use crate::policy::{self, PolicyCache, ProgramCache};
use crate::registry::Registry;
use crate::rules::{
    application, assessment, blacklist, collective, correction, duplicate, effective_date,
    enterprise, escalation, findings, licence, restriction, sequence, RecordContext, Refusal,
    RuleParams,
};
use crate::state::{Overlay, ReadCache, StateRead};
use crate::{assistance, cosign, governance};
use safeledger_core::records::identity::natural_key;
use safeledger_core::records::{PenaltyGrade, TxBody, TxKind};
use safeledger_core::{Genesis, Timestamp, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// The block being executed: its height and its time (the proposer's, DESIGN §3 "Block
/// time"), in ms since the Unix epoch. Execution reads no other clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of the block.
    pub height: u64,
    /// The block's time.
    pub time: Timestamp,
}

pub use safeledger_core::result::{Outcome, TxResult};

impl From<Refusal> for Outcome {
    fn from(r: Refusal) -> Outcome {
        Outcome::Refused {
            rule: r.rule.into_owned(),
            reason: r.reason,
        }
    }
}

/// A block's results (one per transaction, in block order) and its writes to state (key
/// order; `None` deletes the key). The node applies `writes` atomically with the block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockExecution {
    /// Results in block order.
    pub results: Vec<TxResult>,
    /// Writes to committed state.
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// Executes transactions under the genesis's agencies, officers and role table as
/// changed on chain, and the governed rule parameters. Holds no state of its own (its
/// cache of compiled policies changes no outcome): the same inputs give the same outputs.
#[derive(Clone, Debug)]
pub struct Executor {
    registry: Registry,
    chain_id: String,
    genesis_validators: safeledger_core::ValidatorSet,
    params: RuleParams,
    programs: ProgramCache,
    policies: PolicyCache,
}

/// Runs `f` over a fresh overlay of `block`: its writes join the block on success and are
/// discarded on a refusal, which becomes the outcome.
fn staged(
    block: &mut Overlay<'_>,
    f: impl FnOnce(&mut Overlay<'_>) -> Result<(), Refusal>,
) -> Outcome {
    let result = {
        let mut view = Overlay::new(&*block);
        f(&mut view).map(|()| view.into_writes())
    };
    match result {
        Ok(writes) => {
            block.absorb(writes);
            Outcome::Accepted
        }
        Err(r) => r.into(),
    }
}

impl Executor {
    /// An executor for `genesis` with the default [`RuleParams`].
    pub fn new(genesis: &Genesis) -> Executor {
        Executor::with_params(genesis, RuleParams::default())
    }

    /// An executor for `genesis` whose rule parameters, until governance sets them in
    /// state, are `params`.
    pub fn with_params(genesis: &Genesis, params: RuleParams) -> Executor {
        Executor {
            registry: Registry::from_genesis(genesis),
            chain_id: genesis.chain_id.clone(),
            genesis_validators: genesis.validator_set(),
            params,
            programs: ProgramCache::default(),
            policies: PolicyCache::default(),
        }
    }

    /// The rule parameters in force over `state`.
    pub fn params(&self, state: &dyn StateRead) -> RuleParams {
        RuleParams::load(state, &self.params)
    }

    /// The agency and officer registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Executes `txs` in order over committed `state` (DESIGN §3 "Order, then execute"),
    /// after firing the deadlines due by the block time. Every transaction gets a result;
    /// nothing is dropped. `txs` are assumed to have passed
    /// `Transaction::check_stateless`; a transaction without signatures is refused
    /// (R0-signer), never a panic.
    ///
    /// # Panics
    /// On corrupted state (a stored value that does not decode), or a block of more than
    /// `u32::MAX` transactions.
    pub fn execute_block(
        &self,
        state: &dyn StateRead,
        ctx: &BlockContext,
        txs: &[Transaction],
    ) -> BlockExecution {
        // Committed state does not change while the block executes: each key is read from
        // it once.
        let committed = ReadCache::new(state);
        let mut block = Overlay::new(&committed);
        let before = self.params(&block);
        crate::upgrade::run(&mut block, ctx.height, &before);
        let params = self.params(&block);
        escalation::run(&mut block, ctx.height, ctx.time, &params);
        crate::monitoring::run(&mut block, ctx.height, ctx.time, &params);
        let results = txs
            .iter()
            .enumerate()
            .map(|(i, tx)| {
                let index = u32::try_from(i).expect("block of more than u32::MAX transactions");
                TxResult {
                    tx_id: tx.id(),
                    outcome: self.execute_tx(&mut block, ctx, index, tx),
                }
            })
            .collect();
        BlockExecution {
            results,
            writes: block.into_writes(),
        }
    }

    /// The mempool's pre-check: the outcome `tx` would have if it were the first
    /// transaction of a block at `ctx` over committed `state` (same rules as execution,
    /// nothing written, no escalations). The node passes the next height and its local
    /// time. The outcome recorded at execution is the one that counts.
    pub fn check_tx(&self, state: &dyn StateRead, ctx: &BlockContext, tx: &Transaction) -> Outcome {
        let mut scratch = Overlay::new(state);
        self.execute_tx(&mut scratch, ctx, 0, tx)
    }

    fn execute_tx(
        &self,
        block: &mut Overlay<'_>,
        ctx: &BlockContext,
        index: u32,
        tx: &Transaction,
    ) -> Outcome {
        if let TxBody::ValidatorEvidence(ev) = &tx.payload.body {
            return self.execute_evidence(block, ctx, tx, ev);
        }
        if let TxBody::DrawBeacon(b) = &tx.payload.body {
            let id = tx.id();
            return self.execute_node_signed(block, ctx, tx, |view, node| {
                crate::draw::apply_beacon(view, node, b, id, (ctx.height, ctx.time))
            });
        }
        if let Some(outcome) = self.execute_one_key(block, ctx, index, tx) {
            return outcome;
        }
        let seq = tx.payload.sequence;
        let (submitter, agency) = match self.registry.submitter(block, tx) {
            Ok(s) => s,
            Err(r) => {
                // Refused (an officer revoked since admission), yet it still uses up its
                // sequence: every committed transaction's sequence is then at most its
                // signer's last, which lets the node skip its "already committed" lookup
                // for any transaction above that (node mempool admission and `valid(v)`).
                if let Some(key) = tx.submitter() {
                    if sequence::check(block, key, seq).is_ok() {
                        sequence::advance(block, key, seq, tx.id(), ctx.height);
                    }
                }
                return r.into();
            }
        };
        if let Err(r) = sequence::check(block, submitter, seq) {
            return r.into();
        }
        let signers: BTreeSet<_> = tx.signatures.iter().map(|s| s.signer).collect();
        let rc = RecordContext {
            tx_id: tx.id(),
            agency: &agency,
            effective_at: tx.payload.effective_at,
            height: ctx.height,
            index,
            block_time: ctx.time,
            signers: signers.len(),
        };
        let outcome = staged(block, |view| self.apply(view, ctx, &rc, tx));
        if let Outcome::Refused { rule, .. } = &outcome {
            if rule != crate::rules::R0_DUPLICATE {
                let key = natural_key(&tx.payload.body, tx.payload.effective_at);
                duplicate::note_refused(block, &agency, key, rc.tx_id);
            }
        }
        sequence::advance(block, submitter, seq, rc.tx_id, ctx.height);
        outcome
    }

    /// A validator-evidence report, signed by one node key ([`crate::evidence`]).
    fn execute_evidence(
        &self,
        block: &mut Overlay<'_>,
        ctx: &BlockContext,
        tx: &Transaction,
        ev: &safeledger_core::records::ValidatorEvidence,
    ) -> Outcome {
        let tx_id = tx.id();
        self.execute_node_signed(block, ctx, tx, |view, reporter| {
            crate::evidence::apply(
                view,
                &self.chain_id,
                &self.genesis_validators,
                reporter,
                ev,
                tx_id,
                ctx.height,
            )
        })
    }

    /// The kinds one key signs that is no officer's: a tip-off taken in by a node, a
    /// gateway's sensor alert, an enterprise's acknowledgement. `None` for other kinds.
    fn execute_one_key(
        &self,
        block: &mut Overlay<'_>,
        ctx: &BlockContext,
        index: u32,
        tx: &Transaction,
    ) -> Option<Outcome> {
        if !(tx.payload.body.is_monitor_signed() || matches!(tx.payload.body, TxBody::TipIntake(_)))
        {
            return None;
        }
        let id = tx.id();
        let now = (ctx.height, ctx.time);
        Some(match &tx.payload.body {
            TxBody::TipIntake(t) => self.execute_node_signed(block, ctx, tx, |view, node| {
                let validators =
                    crate::evidence::validator_set_at(&self.genesis_validators, view, ctx.height);
                let params = self.params(view);
                let at = (id, ctx.height, index, ctx.time);
                crate::tips::intake(view, node, &validators, t, at, &params)
            }),
            TxBody::SensorAlert(a) => self.execute_node_signed(block, ctx, tx, |view, key| {
                let params = self.params(view);
                crate::monitoring::raise(view, key, a, id, now, &params)
            }),
            TxBody::AlertAck(k) => self.execute_node_signed(block, ctx, tx, |view, key| {
                crate::monitoring::acknowledge(view, key, k, id, ctx.time)
            }),
            _ => return None,
        })
    }

    /// A transaction signed by one key that is no officer's (validator evidence, a draw's
    /// beacon step, a tip intake: a node key; a sensor alert or its acknowledgement: a
    /// monitoring key): its sequence is the key's, and `f` judges it with that key.
    fn execute_node_signed(
        &self,
        block: &mut Overlay<'_>,
        ctx: &BlockContext,
        tx: &Transaction,
        f: impl FnOnce(&mut Overlay<'_>, &safeledger_core::PublicKey) -> Result<(), Refusal>,
    ) -> Outcome {
        let Some(node) = tx.submitter().copied() else {
            return Refusal::new(crate::rules::R0_SIGNER, "no signature".into()).into();
        };
        let seq = tx.payload.sequence;
        if let Err(r) = sequence::check(block, &node, seq) {
            return r.into();
        }
        let outcome = staged(block, |view| f(view, &node));
        sequence::advance(block, &node, seq, tx.id(), ctx.height);
        outcome
    }

    /// Step 3 of the pipeline, writing into `view` (discarded on refusal).
    fn apply(
        &self,
        view: &mut Overlay<'_>,
        ctx: &BlockContext,
        rc: &RecordContext<'_>,
        tx: &Transaction,
    ) -> Result<(), Refusal> {
        let body = &tx.payload.body;
        let kind = acting_kind(body);
        match body {
            // Officers of every agency with a section co-sign a joint inspection, and
            // each such agency may record inspections (rules/joint.rs).
            TxBody::JointInspection(j) => {
                crate::rules::joint::check_signers(&self.registry, view, tx, j)?
            }
            _ => {
                self.registry.check_cosigners(view, tx, rc.agency)?;
                self.registry.check_permission(view, rc.agency, kind)?;
            }
        }
        let params = self.params(view);
        self.registry.check_roles(view, tx, kind, &params)?;
        effective_date::check(rc.effective_at, ctx.time)?;
        match body {
            TxBody::OfficerAction(a) => {
                self.registry
                    .apply_officer_action(view, a, rc.agency, rc.tx_id, rc.height, &params)?;
                self.run_policies(view, rc, body, None)
            }
            TxBody::GovernanceProposal(g) => {
                governance::propose(view, &self.registry, &params, g, rc)
            }
            TxBody::GovernanceVote(v) => governance::vote(view, &self.registry, &params, v, rc),
            TxBody::AssessorAction(a) => crate::assessors::act(view, a, rc),
            TxBody::MonitorRegistration(r) => {
                let validators =
                    crate::evidence::validator_set_at(&self.genesis_validators, view, ctx.height);
                crate::monitoring::register(view, r, rc, &self.registry, &validators)
            }
            TxBody::TipFollowUp(f) => crate::tips::follow_up(view, f, rc, distinct_signers(tx)),
            TxBody::DrawOpen(o) => {
                let validators =
                    crate::evidence::validator_set_at(&self.genesis_validators, view, ctx.height);
                crate::draw::open(view, o, rc, &validators, &self.registry)
            }
            TxBody::AccessRequest(r) => crate::access::request(view, r, rc),
            TxBody::AccessGrant(g) => crate::access::grant(view, g, rc),
            TxBody::PrivateRead(r) => match tx.submitter() {
                Some(officer) => crate::access::declare_read(view, r, rc, *officer),
                None => Err(Refusal::new(
                    crate::rules::R0_SIGNER,
                    "a read declaration names no submitter".into(),
                )),
            },
            _ => self.apply_enterprise_record(view, rc, tx, &params),
        }
    }

    /// A record about an enterprise.
    fn apply_enterprise_record(
        &self,
        view: &mut Overlay<'_>,
        rc: &RecordContext<'_>,
        tx: &Transaction,
        params: &RuleParams,
    ) -> Result<(), Refusal> {
        let body = &tx.payload.body;
        let kind = body.kind();
        // The unified social credit codes the enterprise carried before an enterprise record
        // or a correction that may change them (the `usc/` index, `links::index_uscc`).
        let mut carried_before = None;
        let mut ent = match body {
            TxBody::EnterpriseRecord(r) => {
                let existing = crate::query::enterprise(view, &r.enterprise);
                carried_before = Some(
                    existing
                        .as_ref()
                        .map(crate::links::carried_uscc)
                        .unwrap_or_default(),
                );
                if !existing
                    .as_ref()
                    .is_some_and(|e| e.agencies.contains_key(rc.agency))
                {
                    crate::draw::index_enterprise(view, rc.agency, &r.enterprise);
                }
                let withholds = !tx.payload.withheld.is_empty();
                duplicate::claim_values(view, existing.as_ref(), r, withholds, rc)?;
                enterprise::apply_record(existing, r, rc, params)?
            }
            _ => match body.enterprise() {
                Some(id) => enterprise::require_known(view, id, kind)?,
                None => unreachable!("records without an enterprise are handled by apply"),
            },
        };
        let before = ent.clone();
        let mut reassess = true;
        let mut deadlines = Vec::new();
        // The timeline entry's kind and signers: the transaction's own, except where a
        // proposal or co-signature makes a collective decision take effect.
        let mut entry = (kind, distinct_signers(tx));
        let mut effect: Option<safeledger_core::records::LicenceDecision> = None;
        match body {
            TxBody::EnterpriseRecord(_) => reassess = false,
            TxBody::LicenceDecision(d) => {
                reassess = false;
                decide(view, &mut ent, &before, d, rc, params)?;
            }
            TxBody::DecisionProposal(p) => {
                reassess = false;
                duplicate::claim(view, kind, &ent.id, "proposal_id", &p.proposal_id, rc)?;
                let signers = distinct_signers(tx);
                let (mut st, complete) = cosign::propose(view, p, rc, &signers, params);
                if complete {
                    decide(view, &mut ent, &before, &p.decision, rc, params)?;
                    cosign::took_effect_at_once(view, &mut st, rc);
                    entry = (TxKind::LicenceDecision, st.signers());
                    effect = Some(p.decision.clone());
                } else {
                    // A proposal that could never take effect is refused now: its
                    // decision meets every rule as if collective_k officers had signed.
                    let mut scratch = Overlay::new(&*view);
                    let mut preview = ent.clone();
                    let k = usize::try_from(params.collective_k).unwrap_or(usize::MAX);
                    let as_if = RecordContext {
                        signers: k,
                        ..rc.clone()
                    };
                    decide(
                        &mut scratch,
                        &mut preview,
                        &before,
                        &p.decision,
                        &as_if,
                        params,
                    )?;
                }
            }
            TxBody::DecisionSignature(s) => {
                reassess = false;
                let signers = distinct_signers(tx);
                let (st, complete) = cosign::sign(view, s, rc, &signers, params)?;
                if complete {
                    let all = st.signers();
                    let rc_all = RecordContext {
                        signers: all.len(),
                        ..rc.clone()
                    };
                    decide(view, &mut ent, &before, &st.decision, &rc_all, params)?;
                    entry = (TxKind::LicenceDecision, all);
                    effect = Some(st.decision);
                }
            }
            TxBody::InspectionRecord(r) => {
                duplicate::claim(view, kind, &ent.id, "inspection_id", &r.inspection_id, rc)?;
                deadlines = findings::inspection(&mut ent, r, rc)?;
                if ent.inspections.last_inspection == Some(rc.tx_id) {
                    crate::draw::note_inspectors(view, &ent.id, &distinct_signers(tx));
                }
                crate::plan::index_inspected(view, rc.agency, &ent.id);
            }
            TxBody::Penalty(r) => {
                duplicate::claim(view, kind, &ent.id, "case_id", &r.case_id, rc)?;
                findings::penalty(&mut ent, r, rc);
                if r.grade == PenaltyGrade::Severe {
                    restriction::review_tasks(view, &ent, rc);
                }
            }
            TxBody::AccidentReport(r) => {
                duplicate::claim(view, kind, &ent.id, "report_id", &r.report_id, rc)?;
                findings::accident(&mut ent, r, rc, params)?;
            }
            TxBody::JointInspection(j) => {
                deadlines = crate::rules::joint::apply(view, &mut ent, j, rc)?;
                if ent.inspections.last_inspection == Some(rc.tx_id) {
                    crate::draw::note_inspectors(view, &ent.id, &distinct_signers(tx));
                }
            }
            TxBody::AssessmentReport(r) => {
                reassess = false;
                duplicate::claim(view, kind, &ent.id, "report_id", &r.report_id, rc)?;
                crate::assessors::report(view, r, rc)?;
            }
            TxBody::RectificationReport(r) => findings::rectification(&mut ent, r, rc)?,
            TxBody::PenaltyClearance(r) => findings::clearance(&mut ent, r, rc)?,
            TxBody::BlacklistAction(a) => blacklist::apply(&mut ent, a, rc, params)?,
            TxBody::Correction(c) => {
                carried_before = Some(crate::links::carried_uscc(&before));
                deadlines = correction::correct(view, &mut ent, c, rc, params)?;
            }
            TxBody::Appeal(a) => {
                reassess = false;
                correction::appeal(view, &mut ent, a, rc)?;
            }
            TxBody::AppealOutcome(o) => correction::outcome(view, &mut ent, o, rc)?,
            TxBody::AssistanceRequest(r) => {
                reassess = false;
                assistance::request(view, &self.registry, r, rc, params)?;
            }
            TxBody::AssistanceResponse(r) => {
                reassess = false;
                assistance::respond(view, r, rc)?;
            }
            TxBody::LicenceApplication(a) => {
                reassess = false;
                application::file(view, &ent, a, rc, params)?;
            }
            TxBody::ApplicationStep(s) => {
                reassess = false;
                application::step(view, &ent, s, rc, params)?;
            }
            TxBody::EvidenceAttachment(a) => {
                reassess = false;
                crate::attachments::attach(view, &self.registry, a, rc)?;
            }
            TxBody::MonitorRegistration(_)
            | TxBody::SensorAlert(_)
            | TxBody::AlertAck(_)
            | TxBody::TipIntake(_)
            | TxBody::TipFollowUp(_)
            | TxBody::OfficerAction(_)
            | TxBody::GovernanceProposal(_)
            | TxBody::GovernanceVote(_)
            | TxBody::ValidatorEvidence(_)
            | TxBody::DrawOpen(_)
            | TxBody::DrawBeacon(_)
            | TxBody::AssessorAction(_)
            | TxBody::AccessRequest(_)
            | TxBody::AccessGrant(_)
            | TxBody::PrivateRead(_) => {
                unreachable!("records without an enterprise are handled by apply")
            }
        }
        if let Some(carried) = carried_before {
            crate::links::index_uscc(view, &carried, &ent, params)?;
        }
        if reassess {
            findings::prune(&mut ent, params);
            assessment::recompute(&mut ent, rc.effective_at, rc.tx_id, params);
        }
        match effect {
            // Policies judge the decision that takes effect, signed by all its signers.
            Some(d) => {
                let rc_all = RecordContext {
                    signers: entry.1.len(),
                    ..rc.clone()
                };
                self.run_policies(view, &rc_all, &TxBody::LicenceDecision(d), Some(&before))?;
            }
            None => self.run_policies(view, rc, body, Some(&before))?,
        }
        escalation::watch(view, deadlines);
        append_to_timeline(view, &mut ent, rc, entry);
        view.put(keys::enterprise(&ent.id), &ent);
        Ok(())
    }

    /// Every active policy that judges this kind (issue 4 part 7); `before` is the
    /// enterprise as it stood before the transaction.
    fn run_policies(
        &self,
        view: &Overlay<'_>,
        rc: &RecordContext<'_>,
        body: &TxBody,
        before: Option<&EnterpriseState>,
    ) -> Result<(), Refusal> {
        let kind: TxKind = body.kind();
        let policies: Vec<_> = self
            .policies
            .active(view)
            .into_iter()
            .filter(|p| p.spec.applies_to.contains(&kind))
            .collect();
        if policies.is_empty() {
            return Ok(());
        }
        // Values, not JSON text or trees: the same Rego values the JSON route gave
        // (issue 7; `contracts/tests/real_data.rs` checks each on the real data).
        let built = (|| {
            let input =
                policy::input_value(&rc.tx_id, rc.agency, rc.effective_at, rc.signers, body)?;
            let mut data = BTreeMap::new();
            data.insert(
                regorus::Value::from("enterprise"),
                crate::rego_value::to_value(&before).map_err(|e| e.to_string())?,
            );
            data.insert(
                regorus::Value::from("agencies"),
                self.registry.with_agencies(view, policy::agencies_value)?,
            );
            Ok::<_, String>((input, regorus::Value::from(data)))
        })();
        let (input, data) = match built {
            Ok(v) => v,
            Err(e) => {
                return Err(Refusal::policy(
                    &policies[0].spec.name,
                    format!("the policy input could not be built: {e}"),
                ))
            }
        };
        for p in policies {
            let name = &p.spec.name;
            let verdict = self.programs.get(&p.spec).and_then(|program| {
                policy::evaluate_values(
                    &program,
                    name,
                    p.spec.max_instructions,
                    input.clone(),
                    data.clone(),
                )
            });
            match verdict {
                Ok(reasons) if reasons.is_empty() => {}
                Ok(reasons) => {
                    return Err(Refusal::policy(
                        name,
                        format!(
                            "{} (policy {name} deployed by proposal {})",
                            reasons.join("; "),
                            p.proposal
                        ),
                    ))
                }
                Err(e) => {
                    return Err(Refusal::policy(
                        name,
                        format!(
                            "policy {name} could not judge the transaction within \
                             max_instructions = {}: {e}",
                            p.spec.max_instructions
                        ),
                    ))
                }
            }
        }
        Ok(())
    }
}

/// The kind whose permissions a transaction needs (R1): a collective decision's proposal
/// and co-signatures need those of the licence decision they make.
pub fn acting_kind(body: &TxBody) -> TxKind {
    match body {
        TxBody::DecisionProposal(_) | TxBody::DecisionSignature(_) => TxKind::LicenceDecision,
        TxBody::JointInspection(_) => TxKind::InspectionRecord,
        other => other.kind(),
    }
}

/// A transaction's distinct signers in envelope order (the submitter first).
fn distinct_signers(tx: &Transaction) -> Vec<safeledger_core::PublicKey> {
    let mut out: Vec<safeledger_core::PublicKey> = Vec::with_capacity(tx.signatures.len());
    for s in &tx.signatures {
        if !out.contains(&s.signer) {
            out.push(s.signer);
        }
    }
    out
}

/// A licence decision's rules and state transition: the application it answers, the
/// licence lifecycle, R6, R2/R3 for grants and renewals, and R0-duplicate last (so that a
/// more specific rule names its reason first).
fn decide(
    view: &mut Overlay<'_>,
    ent: &mut EnterpriseState,
    before: &EnterpriseState,
    d: &safeledger_core::records::LicenceDecision,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    if d.kind == safeledger_core::records::LicenceDecisionKind::Renew {
        let term = ent
            .licences
            .get(&d.licence_number)
            .and_then(|l| l.valid_from);
        crate::assessors::check_renewal(view, d, term)?;
    }
    let applied = application::answer(view, ent, d, rc)?;
    licence::apply(ent, d, applied, rc, params)?;
    collective::check(ent, d, rc, params)?;
    restriction::check_decision(view, before, d, rc, params)?;
    let key = safeledger_core::records::identity::decision_key(d, rc.effective_at);
    duplicate::claim(
        view,
        TxKind::LicenceDecision,
        &ent.id,
        "licence number/kind/valid_from",
        &key,
        rc,
    )
}

/// Writes the accepted record as the enterprise's next timeline entry (of kind and signers
/// `entry`) and where to find it by transaction id.
fn append_to_timeline(
    view: &mut Overlay<'_>,
    ent: &mut EnterpriseState,
    rc: &RecordContext<'_>,
    (kind, signers): (TxKind, Vec<safeledger_core::PublicKey>),
) {
    let entry = RecordRef {
        height: rc.height,
        index: rc.index,
        tx_id: rc.tx_id,
        kind,
        agency: rc.agency.to_string(),
        effective_at: rc.effective_at,
        signers,
        corrected_by: None,
    };
    view.put(keys::record(&ent.id, ent.record_count), &entry);
    let loc = RecordLocation {
        enterprise: ent.id.clone(),
        index: ent.record_count,
    };
    view.put(keys::record_location(&rc.tx_id), &loc);
    ent.record_count += 1;
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_admin;
#[cfg(test)]
mod tests_assessors;
#[cfg(test)]
mod tests_corrections;
#[cfg(test)]
mod tests_domain;
#[cfg(test)]
mod tests_draw;
#[cfg(test)]
mod tests_joint;
#[cfg(test)]
mod tests_links;
#[cfg(test)]
mod tests_monitoring;
#[cfg(test)]
mod tests_officers;
#[cfg(test)]
mod tests_plan;
#[cfg(test)]
mod tests_steps;
