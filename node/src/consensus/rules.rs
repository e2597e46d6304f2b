//! The upon rules of Algorithm 1 (arXiv:1807.04938, lines 11–67; TENDERMINT.md rules 1–8
//! and timeouts), their helpers, and the fixes the simulation found (see each function).

use super::{BlockSource, Consensus, Effect, Once, Step, Timeout, MAX_ROUNDS_AHEAD};
use safeledger_core::block::CommitCertificate;
use safeledger_core::{Hash, PublicKey, Timestamp, Vote, VoteType};
use std::collections::{BTreeMap, BTreeSet};

impl Consensus {
    // ---- helpers ---------------------------------------------------------------------

    pub(super) fn power_for(&self, round: u32, t: VoteType, value: Option<Hash>) -> u64 {
        self.votes
            .get(&(round, t))
            .map(|m| {
                m.iter()
                    .filter(|(_, vs)| vs.iter().any(|v| v.value == value))
                    .map(|(k, _)| self.vals.power_of(k))
                    .sum()
            })
            .unwrap_or(0)
    }

    pub(super) fn power_any(&self, round: u32, t: VoteType) -> u64 {
        self.votes
            .get(&(round, t))
            .map(|m| m.keys().map(|k| self.vals.power_of(k)).sum())
            .unwrap_or(0)
    }

    /// `valid(v)` of the block with hash `hash` ([`BlockSource::valid`], asked once per
    /// block and height); false while the block is not held.
    pub(super) fn valid(&mut self, hash: Hash, app: &mut dyn BlockSource) -> bool {
        if let Some(v) = self.validity.get(&hash) {
            return *v;
        }
        let ok = match self.blocks.get(&hash) {
            Some(b) => app.valid(b),
            None => return false,
        };
        self.validity.insert(hash, ok);
        ok
    }

    pub(super) fn timely(&self, hash: &Hash, now: Timestamp) -> bool {
        let Some(b) = self.blocks.get(hash) else {
            return false;
        };
        let t = b.header.time.0;
        let drift = self.params.max_clock_drift_ms;
        t <= now.0.saturating_add(drift) && t.saturating_add(drift) >= now.0
    }

    pub(super) fn timeout_ms(&self, step: Step) -> u64 {
        let r = self.round as u64;
        let p = &self.params;
        match step {
            Step::Propose => p.timeout_propose_ms + r * p.timeout_propose_delta_ms,
            Step::Prevote => p.timeout_prevote_ms + r * p.timeout_prevote_delta_ms,
            Step::Precommit => p.timeout_precommit_ms + r * p.timeout_precommit_delta_ms,
        }
    }

    pub(super) fn schedule(&self, step: Step, fx: &mut Vec<Effect>) {
        let t = Timeout {
            height: self.height,
            round: self.round,
            step,
        };
        fx.push(Effect::ScheduleTimeout(t, self.timeout_ms(step)));
    }

    /// Signs (through the guard) and records our own vote, and emits persist + broadcast.
    /// Returns the value actually voted (which after a restart may be the stored one).
    pub(super) fn vote(
        &mut self,
        t: VoteType,
        value: Option<Hash>,
        fx: &mut Vec<Effect>,
    ) -> Option<Hash> {
        if self.vals.power_of(&self.me) == 0 {
            return value;
        }
        let lock = match (t, value) {
            (VoteType::Precommit, Some(v)) => Some((v, self.round)),
            _ => self.locked_value.zip(self.locked_round),
        };
        let (vote, fresh) = self.guard.sign_vote(
            &self.chain_id,
            &self.key,
            self.height,
            self.round,
            t,
            value,
            lock,
        );
        let voted = vote.as_ref().map(|v| v.value).unwrap_or(value);
        if let Some(v) = vote {
            if fresh {
                if let (VoteType::Precommit, Some(h)) = (t, v.value) {
                    self.guard.locked_block = self.blocks.get(&h).cloned();
                    self.guard.lock_proof = self
                        .votes
                        .get(&(v.round, VoteType::Prevote))
                        .map(|m| {
                            m.values()
                                .filter_map(|vs| vs.iter().find(|x| x.value == Some(h)))
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default();
                }
                fx.push(Effect::Persist(self.guard.clone()));
            }
            let mine = self
                .votes
                .entry((v.round, v.vote_type))
                .or_default()
                .entry(v.validator)
                .or_default();
            if !mine.iter().any(|x| x.value == v.value) {
                mine.push(v.clone());
            }
            fx.push(Effect::BroadcastVote(v));
        }
        voted
    }

    // ---- Algorithm 1 -------------------------------------------------------------------

    /// StartRound (lines 11–21). A proposer that cannot send a proposal — after a restart
    /// the guard holds its signed proposal for this round but the block is gone, or the
    /// guard refuses because it already signed a later step — schedules the propose
    /// timeout like any other validator (line 21), or it would wait in step propose
    /// forever.
    pub(super) fn start_round(
        &mut self,
        round: u32,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) {
        self.round = round;
        self.step = Step::Propose;
        if self.vals.proposer(self.height, round).key == self.me {
            // Line 15: propose validValue when there is one, else a fresh block.
            let (block, valid_round) = match self
                .valid_value
                .zip(self.valid_round)
                .and_then(|(v, vr)| self.blocks.get(&v).map(|b| (b.clone(), Some(vr))))
            {
                Some(x) => x,
                None => (app.build_block(self.height, round, now), None),
            };
            let hash = block.hash();
            if let Some((p, fresh)) = self.guard.sign_proposal(
                &self.chain_id,
                &self.key,
                self.height,
                round,
                valid_round,
                hash,
            ) {
                if fresh {
                    fx.push(Effect::Persist(self.guard.clone()));
                }
                if p.block_hash == hash {
                    self.blocks.insert(hash, block.clone());
                    self.proposals.insert(round, p.clone());
                    fx.push(Effect::BroadcastProposal(p, block));
                    return;
                } else if let Some(b) = self.blocks.get(&p.block_hash).cloned() {
                    self.proposals.insert(round, p.clone());
                    fx.push(Effect::BroadcastProposal(p, b));
                    return;
                }
            }
        }
        self.schedule(Step::Propose, fx);
    }

    pub(super) fn on_timeout(
        &mut self,
        t: Timeout,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) {
        if self.decided || t.height != self.height || t.round != self.round {
            return;
        }
        match t.step {
            // OnTimeoutPropose (57–60).
            Step::Propose if self.step == Step::Propose => {
                self.vote(VoteType::Prevote, None, fx);
                self.step = Step::Prevote;
            }
            // OnTimeoutPrevote (61–64).
            Step::Prevote if self.step == Step::Prevote => {
                self.vote(VoteType::Precommit, None, fx);
                self.step = Step::Precommit;
            }
            // OnTimeoutPrecommit (65–67).
            Step::Precommit => {
                let next = self.round + 1;
                self.start_round(next, now, app, fx);
            }
            _ => {}
        }
    }

    /// Applies every upon rule until none fires.
    pub(super) fn process(
        &mut self,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) {
        // Each iteration either changes (round, step, fired, decided) or stops; the number of
        // such changes per input is bounded by the rounds held (≤ MAX_ROUNDS_AHEAD + 2).
        for _ in 0..(4 * (MAX_ROUNDS_AHEAD as usize + 4)) {
            if self.decided {
                return;
            }
            if self.try_decide(app, fx) {
                return;
            }
            if self.try_round_skip(now, app, fx) {
                continue;
            }
            if self.try_proposal_rules(now, app, fx) {
                continue;
            }
            if self.try_vote_rules(app, fx) {
                continue;
            }
            if self.try_late_polka(app) {
                continue;
            }
            return;
        }
    }

    /// validValue/validRound from a late polka: lines 36–43 record a prevote quorum for
    /// the proposal of the *current* round only; one of an older round above validRound,
    /// seen late (or again after a restart), updates validValue/validRound too, so that
    /// the next proposal of this validator re-proposes the value some validator may be
    /// locked on (locks never change here). Without it a validator locked in a round whose
    /// polka no one else saw in time — or that restarted and lost its valid value — can
    /// stall the height when a third of the power is faulty.
    pub(super) fn try_late_polka(&mut self, app: &mut dyn BlockSource) -> bool {
        let from = self.valid_round.map_or(0, |vr| vr + 1);
        if from >= self.round {
            return false;
        }
        let candidates: Vec<(u32, Hash)> = self
            .proposals
            .range(from..self.round)
            .rev()
            .map(|(r, p)| (*r, p.block_hash))
            .collect();
        for (r, v) in candidates {
            if self
                .vals
                .is_quorum(self.power_for(r, VoteType::Prevote, Some(v)))
                && self.valid(v, app)
            {
                (self.valid_value, self.valid_round) = (Some(v), Some(r));
                return true;
            }
        }
        false
    }

    /// Rule 7 (lines 49–54): a proposal for v from the proposer of any round r, a quorum
    /// of precommits for v in r, v valid → decide.
    pub(super) fn try_decide(&mut self, app: &mut dyn BlockSource, fx: &mut Vec<Effect>) -> bool {
        let candidates: Vec<(u32, Hash)> = self
            .proposals
            .iter()
            .map(|(r, p)| (*r, p.block_hash))
            .collect();
        for (r, v) in candidates {
            if !self
                .vals
                .is_quorum(self.power_for(r, VoteType::Precommit, Some(v)))
            {
                continue;
            }
            if !self.valid(v, app) {
                continue;
            }
            let precommits: Vec<Vote> = self
                .votes
                .get(&(r, VoteType::Precommit))
                .map(|m| {
                    m.values()
                        .filter_map(|vs| vs.iter().find(|x| x.value == Some(v)))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let cert = CommitCertificate::from_votes(self.height, r, v, &precommits);
            let Some(block) = self.blocks.get(&v).cloned() else {
                continue;
            };
            assert!(!self.decided, "a height decides at most once");
            self.decided = true;
            fx.push(Effect::Decide(block, cert));
            return true;
        }
        false
    }

    /// Rule 8 (lines 55–56): messages of a higher round from more than 1/3 of the power.
    pub(super) fn try_round_skip(
        &mut self,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let mut by_round: BTreeMap<u32, BTreeSet<PublicKey>> = BTreeMap::new();
        for ((r, _), m) in self.votes.range((self.round + 1, VoteType::Prevote)..) {
            by_round.entry(*r).or_default().extend(m.keys().copied());
        }
        for (r, p) in self.proposals.range(self.round + 1..) {
            by_round.entry(*r).or_default().insert(p.proposer);
        }
        let target = by_round.iter().rev().find(|(_, who)| {
            self.vals
                .is_one_third(who.iter().map(|k| self.vals.power_of(k)).sum())
        });
        if let Some((r, _)) = target {
            let r = *r;
            self.start_round(r, now, app, fx);
            return true;
        }
        false
    }

    /// Rules 1 and 2 (lines 22–33), in step propose.
    pub(super) fn try_proposal_rules(
        &mut self,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let Some(p) = self.proposals.get(&self.round).cloned() else {
            return false;
        };
        let v = p.block_hash;
        match p.valid_round {
            None => {
                // Rule 1: a fresh proposal; the timeliness check applies here only.
                let ok = self.valid(v, app)
                    && self.timely(&v, now)
                    && (self.locked_round.is_none() || self.locked_value == Some(v));
                self.vote(VoteType::Prevote, ok.then_some(v), fx);
                self.step = Step::Prevote;
                true
            }
            Some(vr) if vr < self.round => {
                // Rule 2: needs a prevote quorum for v in round vr.
                if !self
                    .vals
                    .is_quorum(self.power_for(vr, VoteType::Prevote, Some(v)))
                {
                    return false;
                }
                let ok = self.valid(v, app)
                    && (self.locked_round.is_none_or(|lr| lr <= vr)
                        || self.locked_value == Some(v));
                self.vote(VoteType::Prevote, ok.then_some(v), fx);
                self.step = Step::Prevote;
                true
            }
            Some(_) => false,
        }
    }

    /// Rules 3–6 (lines 34–48).
    pub(super) fn try_vote_rules(
        &mut self,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let r = self.round;
        // Rule 4: proposal for v in this round, v valid, prevote quorum for v, step ≥ prevote.
        if self.step >= Step::Prevote && !self.fired.contains(&(Once::PrevoteQuorumValue, r)) {
            if let Some(p) = self.proposals.get(&r).cloned() {
                let v = p.block_hash;
                if self
                    .vals
                    .is_quorum(self.power_for(r, VoteType::Prevote, Some(v)))
                    && self.valid(v, app)
                {
                    self.fired.insert((Once::PrevoteQuorumValue, r));
                    if self.step == Step::Prevote {
                        let voted = self.vote(VoteType::Precommit, Some(v), fx);
                        if voted == Some(v) {
                            (self.locked_value, self.locked_round) = (Some(v), Some(r));
                        }
                        self.step = Step::Precommit;
                    }
                    (self.valid_value, self.valid_round) = (Some(v), Some(r));
                    return true;
                }
            }
        }
        if self.step == Step::Prevote {
            // Rule 5: prevote quorum for nil.
            if self
                .vals
                .is_quorum(self.power_for(r, VoteType::Prevote, None))
            {
                self.vote(VoteType::Precommit, None, fx);
                self.step = Step::Precommit;
                return true;
            }
            // Rule 3: any prevote quorum, first time: schedule the prevote timeout.
            if !self.fired.contains(&(Once::PrevoteTimeout, r))
                && self.vals.is_quorum(self.power_any(r, VoteType::Prevote))
            {
                self.fired.insert((Once::PrevoteTimeout, r));
                self.schedule(Step::Prevote, fx);
                return true;
            }
        }
        // Rule 6: any precommit quorum, first time: schedule the precommit timeout.
        if !self.fired.contains(&(Once::PrecommitTimeout, r))
            && self.vals.is_quorum(self.power_any(r, VoteType::Precommit))
        {
            self.fired.insert((Once::PrecommitTimeout, r));
            self.schedule(Step::Precommit, fx);
            return true;
        }
        false
    }
}
