//! The replicated application: builds and judges blocks for the consensus core, and
//! commits decided blocks (execute through `safeledger-contracts`, then one atomic store
//! batch).
//!
//! Header h carries `state_root` and `results_root` of block h−1 (DESIGN §3), so
//! `valid(v)` compares them with this node's own execution of h−1, which finished when
//! h−1 was committed.
//!
//! Execution and storage are pipelined with consensus ([`App::set_pipelined`]):
//! - **Execution** (optimistic execution): a block this node builds, or judges valid,
//!   starts executing on its own thread over the committed state of h−1 while the votes on
//!   it are exchanged. Nothing but a commit writes that state, so when the same block (same
//!   header hash) is decided its commit takes that execution instead of running it again;
//!   any other decision discards it.
//! - **Storage**: the commit writes height h as one atomic sled batch, which every read
//!   sees at once, and the flush and fsync that make it durable run on their own thread,
//!   during the commit timeout. The node waits for them ([`App::wait_durable`]) before
//!   it starts height h+1 (and before the next commit), so it never signs at h+1, nor
//!   drops the consensus log of h, while h could still be lost to a crash.

use crate::consensus::BlockSource;
use crate::mempool::verified::{key_of, key_of_bytes};
use crate::mempool::Mempool;
use crate::store::state_map::StateStep;
use crate::store::{Store, StoreError, Tip};
use safeledger_contracts::governance::{apply_validator_changes, changes_passed_at};
use safeledger_contracts::{BlockContext, BlockExecution, Executor, StateRead};
use safeledger_core::block::{
    tx_leaves, CommitCertificate, Header, HEADER_VERSION, MAX_HEADER_VERSION,
};
use safeledger_core::encoding::to_canonical;
use safeledger_core::evidence::DoubleSign;
use safeledger_core::merkle::CompactRange;
use safeledger_core::records::ValidatorEvidence;
use safeledger_core::result::results_root;
use safeledger_core::tx::{check_stateless_batch, TxError};
use safeledger_core::{
    Block, Genesis, Hash, PublicKey, SecretKey, Timestamp, Transaction, TxBody, TxPayload, TxResult,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Contract state read from the store.
pub struct StoreView<'a>(pub &'a Store);

impl StateRead for StoreView<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.state_get(key)
    }
}

/// [`Transaction::check_stateless`] of each transaction, in order, with all their
/// signatures verified as one batch ([`check_stateless_batch`]: the same answers).
///
/// The batch's random coefficients come from the thread's CSPRNG, the one ambient
/// randomness the machine uses: they must be unpredictable to whoever crafts signatures,
/// and the verdicts do not depend on them (equal to single verification, tested in
/// `core::keys`), so execution stays deterministic.
#[allow(clippy::disallowed_methods)]
pub fn check_stateless_all(txs: &[&Transaction], chain_id: &str) -> Vec<Result<(), TxError>> {
    check_stateless_batch(txs, chain_id, &mut rand::thread_rng())
}

/// Why a block was judged invalid (logged; `valid(v)` itself returns a bool).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid block at height {height}: {why}")]
pub struct InvalidBlock {
    /// Height of the block.
    pub height: u64,
    /// First check that failed.
    pub why: String,
}

/// Per-transaction digests of one block, computed once between judging and committing it.
struct BlockHashes {
    /// The block's header hash.
    block: Hash,
    /// `tx_leaves` of its transactions.
    leaves: Vec<Hash>,
    /// Verified-set keys of its transactions (empty for a block built here: its
    /// transactions came from the pool, which forgets their keys when it drops them).
    keys: Vec<Hash>,
}

/// The execution context of a block with header `h`: its height and block time.
fn context_of(h: &Header) -> BlockContext {
    BlockContext {
        height: h.height,
        time: h.time,
    }
}

/// A block's execution running on its own thread, started before the block was decided.
struct Preexecution {
    /// The block's header hash.
    block: Hash,
    /// The execution; joined by the commit of that block.
    handle: std::thread::JoinHandle<BlockExecution>,
}

/// The application state of one node.
pub struct App {
    /// The genesis document.
    pub genesis: Genesis,
    /// The store.
    pub store: Store,
    /// The last committed block's summary.
    pub tip: Tip,
    executor: Arc<Executor>,
    mempool: Arc<Mutex<Mempool>>,
    me: PublicKey,
    /// The transaction leaves (and, when judged here, verified-set keys) of the last
    /// block built or judged here, by block hash, so its commit does not hash them again
    /// (the header commits to `tx_root`, so the same hash means the same leaves).
    leaf_cache: Mutex<Option<BlockHashes>>,
    /// Whether blocks built or judged valid start executing at once (see the module doc).
    pipelined: bool,
    /// The latest such execution, at most one.
    preexecution: Option<Preexecution>,
    /// Commits that took a pre-execution (a count since the ledger opened).
    pub preexecuted: u64,
    /// The flush and fsync of the last commit, when pipelined and not yet waited for.
    syncing: Option<std::thread::JoinHandle<Result<(), StoreError>>>,
    /// The highest protocol version this node runs ([`App::set_max_version`]).
    max_version: u32,
}

/// A node whose binary does not run the protocol version governance scheduled for the next
/// height: it must stop before signing there (issue 22 item 7).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "protocol version {version} takes effect at height {from} (governance proposal \
     {proposal}); this binary runs versions {HEADER_VERSION} to {max}: stopping before height \
     {height} — install a binary that supports version {version} and start the node again"
)]
pub struct UnsupportedVersion {
    /// The version scheduled.
    pub version: u32,
    /// Its first height.
    pub from: u64,
    /// The proposal that passed it.
    pub proposal: String,
    /// The height this node was about to sign or commit.
    pub height: u64,
    /// The highest version this binary runs.
    pub max: u32,
}

/// Environment variable for tests: `AGENCY:VERSION[,AGENCY:VERSION]` makes the named
/// agency's node run at most that protocol version, as an older binary would.
pub const MAX_VERSION_ENV: &str = "SAFELEDGER_TEST_MAX_VERSION";

/// The version [`MAX_VERSION_ENV`] sets for `agency` in `value`, if any.
pub fn max_version_for(value: &str, agency: &str) -> Option<u32> {
    value.split(',').find_map(|item| {
        let (a, v) = item.split_once(':')?;
        if a.trim() == agency {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

/// The tip before block 1.
pub fn genesis_tip(genesis: &Genesis) -> Tip {
    Tip {
        height: 0,
        block_hash: genesis.hash(),
        block_time: genesis.genesis_time,
        state_root: safeledger_core::state_tree::EMPTY,
        results_root: results_root(&[]),
        ledger: CompactRange::default(),
        committed_txs: 0,
        validators: genesis.validator_set(),
        next_validators: genesis.validator_set(),
    }
}

impl App {
    /// Opens the application over `store`, initialising it from `genesis` when new.
    pub fn open(
        genesis: Genesis,
        store: Store,
        mempool: Arc<Mutex<Mempool>>,
        me: PublicKey,
    ) -> Result<App, StoreError> {
        let tip = match store.tip()? {
            Some(t) => t,
            None => {
                let t = genesis_tip(&genesis);
                store.init_tip(&t)?;
                t
            }
        };
        // The state map is built from the stored state: it must give the tip's root.
        let root = store.state_tree()?.root();
        if root != tip.state_root {
            return Err(StoreError::Corrupt {
                key: "s/".into(),
                why: format!(
                    "the stored state hashes to state root {root}, the tip at height {} names {} \
                     (a store written before header version {} or a damaged one)",
                    tip.height,
                    tip.state_root,
                    safeledger_core::block::HEADER_VERSION
                ),
            });
        }
        Ok(App {
            executor: Arc::new(Executor::new(&genesis)),
            genesis,
            store,
            tip,
            mempool,
            me,
            leaf_cache: Mutex::new(None),
            pipelined: false,
            preexecution: None,
            preexecuted: 0,
            syncing: None,
            max_version: MAX_HEADER_VERSION,
        })
    }

    /// The protocol version block `height` must carry: the upgrade schedule in the state
    /// after the tip ([`safeledger_contracts::upgrade::version_at`]).
    pub fn version_at(&self, height: u64) -> u32 {
        safeledger_contracts::upgrade::version_at(&StoreView(&self.store), height)
    }

    /// Lowers the highest protocol version this node runs (tests emulating an older binary:
    /// [`MAX_VERSION_ENV`], read by the shell); [`MAX_HEADER_VERSION`] after [`App::open`].
    pub fn set_max_version(&mut self, max: u32) {
        self.max_version = max.min(MAX_HEADER_VERSION);
    }

    /// Whether this binary runs the protocol version of `height`.
    ///
    /// # Errors
    /// [`UnsupportedVersion`]: the node must stop before signing or committing `height`.
    pub fn check_supported(&self, height: u64) -> Result<(), UnsupportedVersion> {
        let max = self.max_version;
        let schedule = safeledger_contracts::upgrade::schedule(&StoreView(&self.store));
        match safeledger_contracts::upgrade::upgrade_at(&schedule, height) {
            Some(u) if u.version > max => Err(UnsupportedVersion {
                version: u.version,
                from: u.height,
                proposal: u.proposal.clone(),
                height,
                max,
            }),
            _ => Ok(()),
        }
    }

    /// Turns pipelining on or off (off after [`App::open`]; see the module doc):
    /// - blocks built here or judged valid by `valid(v)` start executing on their own
    ///   thread, and the commit of the same block takes that execution. The results are
    ///   those of executing at commit (same state, block and context); only when the work
    ///   is done changes;
    /// - a commit returns once its batch is written; its flush and fsync run on their own
    ///   thread until [`App::wait_durable`].
    ///
    /// # Errors
    /// Turning it off waits for a pending flush and fsync, and returns its error.
    pub fn set_pipelined(&mut self, on: bool) -> Result<(), StoreError> {
        self.pipelined = on;
        if !on {
            self.preexecution = None;
            self.wait_durable()?;
        }
        Ok(())
    }

    /// Waits until every committed height is durable: the flush and fsync of the last
    /// commit, if they still run. Returns at once when none is pending.
    ///
    /// # Errors
    /// The flush or fsync failed ([`StoreError::Sled`], [`StoreError::Sync`]): the height
    /// may not survive a power loss, and the node must stop rather than sign the next one.
    pub fn wait_durable(&mut self) -> Result<(), StoreError> {
        match self.syncing.take() {
            None => Ok(()),
            Some(handle) => match handle.join() {
                Ok(r) => r,
                // The thread panicked: sync here (and report what that gives).
                Err(_) => self.store.sync(),
            },
        }
    }

    /// Starts executing `block` (at height tip + 1, over the committed state) on its own
    /// thread, replacing any earlier pre-execution; nothing when not pipelined, when the
    /// block has no transactions, or when this block is already executing.
    fn preexecute(&mut self, block: &Block) {
        if !self.pipelined || block.txs.is_empty() {
            return;
        }
        let hash = block.hash();
        if self.preexecution.as_ref().is_some_and(|p| p.block == hash) {
            return;
        }
        let executor = Arc::clone(&self.executor);
        let store = self.store.clone();
        let ctx = context_of(&block.header);
        let txs = block.txs.clone();
        let spawned = std::thread::Builder::new()
            .name("safeledger-exec".into())
            .spawn(move || executor.execute_block(&StoreView(&store), &ctx, &txs));
        match spawned {
            Ok(handle) => {
                self.preexecution = Some(Preexecution {
                    block: hash,
                    handle,
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "no thread for optimistic execution; executing at commit");
                self.preexecution = None;
            }
        }
    }

    /// The execution of `block`: the pre-execution of this very block when there is one
    /// (and it finished), or run now. Any other pre-execution is discarded.
    fn execution_of(&mut self, block: &Block, hash: Hash) -> BlockExecution {
        if let Some(p) = self.preexecution.take() {
            if p.block == hash {
                if let Ok(exec) = p.handle.join() {
                    self.preexecuted += 1;
                    return exec;
                }
            }
        }
        let ctx = context_of(&block.header);
        self.executor
            .execute_block(&StoreView(&self.store), &ctx, &block.txs)
    }

    /// True when `key` was ever registered as an officer
    /// ([`safeledger_contracts::registry::Registry::ever_registered`]): the "known signer"
    /// of `valid(v)`, over committed state of h−1 only, so deterministic.
    pub fn is_officer(&self, key: &PublicKey) -> bool {
        self.executor
            .registry()
            .ever_registered(&StoreView(&self.store), key)
    }

    /// Every check of `valid(v)` (TENDERMINT.md "Validity"); the first failure is named.
    pub fn valid_with_reason(&self, block: &Block) -> Result<(), InvalidBlock> {
        let h = &block.header;
        let bad = |why: String| {
            Err(InvalidBlock {
                height: h.height,
                why,
            })
        };
        let p = &self.genesis.consensus;
        let version = self.version_at(h.height);
        if h.version != version {
            return bad(format!(
                "version {}, the upgrade schedule says {version}",
                h.version
            ));
        }
        if h.chain_id != self.genesis.chain_id {
            return bad("chain id".into());
        }
        if h.height != self.tip.height + 1 {
            return bad(format!("height, expected {}", self.tip.height + 1));
        }
        if h.prev_hash != self.tip.block_hash {
            return bad("prev_hash".into());
        }
        if h.time <= self.tip.block_time {
            return bad("time not after the previous block's".into());
        }
        if self.tip.validators.power_of(&h.proposer) == 0 {
            return bad("proposer is not a validator".into());
        }
        if h.validators_hash != self.tip.validators.hash() {
            return bad("validators_hash".into());
        }
        if h.next_validators_hash != self.tip.next_validators.hash() {
            return bad("next_validators_hash".into());
        }
        if h.state_root != self.tip.state_root {
            return bad("state_root differs from this node's execution".into());
        }
        if h.results_root != self.tip.results_root {
            return bad("results_root differs from this node's execution".into());
        }
        if block.txs.len() > p.max_block_txs as usize || h.tx_count as usize != block.txs.len() {
            return bad("tx_count".into());
        }
        let leaves = tx_leaves(&block.txs);
        if safeledger_core::merkle::root(&leaves) != h.tx_root {
            return bad("tx_root".into());
        }
        let hash = block.hash();
        let ledger = self.ledger_after(&leaves);
        if ledger.size != h.ledger_size || ledger.root() != h.ledger_root {
            return bad("ledger_root".into());
        }
        let encoded: Vec<Vec<u8>> = block.txs.iter().map(to_canonical).collect();
        let body_bytes: usize = encoded.iter().map(Vec::len).sum();
        if body_bytes as u64 > p.max_block_bytes {
            return bad("block body too large".into());
        }
        // Each transaction is checked statelessly once per node: exact bytes that passed
        // here before (admission, an earlier proposal) are skipped, the others are checked
        // now and remembered if they pass. The outcome is that of checking every one.
        let keys: Vec<Hash> = encoded.iter().map(|b| key_of_bytes(b)).collect();
        self.remember(hash, leaves, keys.clone());
        let known: Vec<bool> = {
            let pool = self.mempool.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter().map(|k| pool.is_verified(k)).collect()
        };
        let unchecked: Vec<usize> = (0..block.txs.len()).filter(|i| !known[*i]).collect();
        let refs: Vec<&Transaction> = unchecked.iter().map(|i| &block.txs[*i]).collect();
        let mut stateless: Vec<Result<(), TxError>> = vec![Ok(()); block.txs.len()];
        {
            let results = check_stateless_all(&refs, &self.genesis.chain_id);
            let mut pool = self.mempool.lock().unwrap_or_else(|e| e.into_inner());
            for (i, r) in unchecked.iter().zip(results) {
                if r.is_ok() {
                    pool.mark_verified(keys[*i]);
                }
                stateless[*i] = r;
            }
        }
        let mut ids = BTreeSet::new();
        // Each submitter's last committed sequence, read once per block. Every transaction
        // must be above it (header version 2): a committed transaction's sequence is at
        // most its submitter's last (execution uses it up, contracts `executor.rs`), so no
        // block can commit a transaction twice, and validity needs no index of committed
        // ids — which a node that synced state from a snapshot does not have for the
        // heights before it (issue 22 item 3). The mempool holds no such transaction.
        let mut last_seq: BTreeMap<PublicKey, u64> = BTreeMap::new();
        let view = StoreView(&self.store);
        for (tx, checked) in block.txs.iter().zip(stateless) {
            let id = tx.id();
            if !ids.insert(id) {
                return bad(format!("transaction {id} twice"));
            }
            let last = tx.submitter().map(|k| {
                *last_seq
                    .entry(*k)
                    .or_insert_with(|| safeledger_contracts::last_sequence(&view, k))
            });
            if let Some(last) = last.filter(|l| tx.payload.sequence <= *l) {
                return bad(format!(
                    "transaction {id}: sequence {} is not above its signer's last committed {last}",
                    tx.payload.sequence
                ));
            }
            if let Err(e) = checked {
                return bad(format!("transaction {id}: {e}"));
            }
            // Validator evidence, draw beacon steps and tip intakes are signed by a node
            // key, sensor alerts and their acknowledgements by a monitoring key:
            // check_stateless verified the one signature (and evidence's two messages);
            // execution checks the key against the validator sets or the registrations
            // (contracts evidence.rs, draw.rs, tips.rs, monitoring.rs).
            let evidence = tx.payload.body.is_node_signed() || tx.payload.body.is_monitor_signed();
            if let Some(s) = tx
                .signatures
                .iter()
                .find(|s| !evidence && !self.is_officer(&s.signer))
            {
                return bad(format!("transaction {id}: unknown signer {}", s.signer));
            }
        }
        Ok(())
    }

    /// Commits a decided block: executes it (or takes its pre-execution), stores block,
    /// certificate, results, state and the new tip atomically, and prunes the mempool.
    /// Returns the results. Pipelined, the height is durable only after
    /// [`App::wait_durable`]; otherwise when this returns.
    ///
    /// # Errors
    /// The store failed, now or in the previous commit's flush and fsync.
    pub fn commit(
        &mut self,
        block: &Block,
        cert: &CommitCertificate,
    ) -> Result<Vec<TxResult>, StoreError> {
        self.wait_durable()?;
        let hash = block.hash();
        let mut exec = self.execution_of(block, hash);
        let state = StateStep::new(&self.store.state_tree()?, std::mem::take(&mut exec.writes));
        let state_root = state.tree.root();
        let (leaves, keys) = self.hashes_of(block, hash);
        let ledger = self.ledger_after(&leaves);
        // Validator-set changes passed by this block take effect at h + 2: header h + 1
        // names them in next_validators_hash (the CometBFT schedule).
        let passed = changes_passed_at(&state.writes, block.header.height);
        let (next_validators, skipped) =
            apply_validator_changes(&self.tip.next_validators, &passed);
        for (c, why) in &skipped {
            tracing::warn!(height = block.header.height, agency = %c.agency, proposal = %c.proposal, why, "validator-set change skipped");
        }
        if !passed.is_empty() {
            tracing::info!(
                height = block.header.height,
                effective = block.header.height + 2,
                validators = next_validators.validators.len(),
                power = next_validators.total_power(),
                "validator-set change passed"
            );
        }
        let tip = Tip {
            height: block.header.height,
            block_hash: hash,
            block_time: block.header.time,
            state_root,
            results_root: results_root(&exec.results),
            ledger,
            committed_txs: self.tip.committed_txs + block.txs.len() as u64,
            validators: self.tip.next_validators.clone(),
            next_validators,
        };
        self.store
            .apply_commit(block, cert, &exec.results, &tip, &leaves, &state)?;
        if self.pipelined {
            let store = self.store.clone();
            let spawned = std::thread::Builder::new()
                .name("safeledger-sync".into())
                .spawn(move || store.sync());
            match spawned {
                Ok(handle) => self.syncing = Some(handle),
                Err(_) => self.store.sync()?,
            }
        } else {
            self.store.sync()?;
        }
        self.tip = tip;
        let view = StoreView(&self.store);
        let submitters: BTreeSet<PublicKey> = block
            .txs
            .iter()
            .filter_map(|t| t.submitter().copied())
            .collect();
        let updated: BTreeMap<PublicKey, u64> = submitters
            .into_iter()
            .map(|s| (s, safeledger_contracts::last_sequence(&view, &s)))
            .collect();
        let ids: Vec<_> = block.txs.iter().map(|t| t.id()).collect();
        let mut pool = self.mempool.lock().unwrap_or_else(|e| e.into_inner());
        pool.remove_committed(&ids, &updated);
        pool.forget_verified(&keys);
        drop(pool);
        Ok(exec.results)
    }
}

impl App {
    /// The ledger tree's range after appending `leaves` (a block's `tx_leaves`) to the
    /// tip's: what that block's header must name in `ledger_root` and `ledger_size`.
    fn ledger_after(&self, leaves: &[Hash]) -> CompactRange {
        let mut ledger = self.tip.ledger.clone();
        for l in leaves {
            ledger.append(*l);
        }
        ledger
    }

    /// Keeps the digests of the block with header hash `block` (see `leaf_cache`).
    fn remember(&self, block: Hash, leaves: Vec<Hash>, keys: Vec<Hash>) {
        let mut cache = self.leaf_cache.lock().unwrap_or_else(|e| e.into_inner());
        *cache = Some(BlockHashes {
            block,
            leaves,
            keys,
        });
    }

    /// The transaction leaves and verified-set keys of `block` (header hash `hash`):
    /// remembered from building or judging it, or computed now.
    fn hashes_of(&self, block: &Block, hash: Hash) -> (Vec<Hash>, Vec<Hash>) {
        let cached = self
            .leaf_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match cached {
            Some(c) if c.leaves.len() == block.txs.len() && c.block == hash => (c.leaves, c.keys),
            _ => (
                tx_leaves(&block.txs),
                block.txs.iter().map(key_of).collect(),
            ),
        }
    }

    /// The validator-evidence transaction this node (`key`, a validator) submits for a
    /// double-sign its consensus core detected, with sequence `sequence`; `None` when the
    /// offender was not a validator at the evidence's height. Salts are derived from the
    /// evidence and the reporter (the fields are public), so the same report is the same
    /// transaction on every run — the simulator replays it exactly.
    pub fn evidence_tx(
        &self,
        e: &DoubleSign,
        key: &SecretKey,
        sequence: u64,
    ) -> Option<Transaction> {
        use rand::SeedableRng;
        let vals = safeledger_contracts::evidence::validator_set_at(
            &self.genesis.validator_set(),
            &StoreView(&self.store),
            e.height(),
        );
        let offender_agency = vals.get(&e.offender())?.agency.clone();
        let seed = safeledger_core::Domain::Transaction.hash_parts(&[
            b"evidence salts",
            &to_canonical(e),
            &key.public().0,
        ]);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed.0);
        let body = TxBody::ValidatorEvidence(ValidatorEvidence {
            offender_agency,
            evidence: e.clone(),
        });
        let p = TxPayload::new(
            &self.genesis.chain_id,
            sequence,
            self.tip.block_time,
            body,
            &mut rng,
        );
        Some(Transaction::sign(p, &[key]))
    }

    /// Admits a transaction this node signed itself (validator evidence) into the mempool,
    /// with the usual stateless, sequence and duplicate checks.
    pub fn admit_own(&self, tx: Transaction) -> Result<bool, crate::mempool::AdmitError> {
        let view = StoreView(&self.store);
        self.mempool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(
                tx,
                &self.genesis.chain_id,
                |_| true,
                |k| safeledger_contracts::last_sequence(&view, k),
                |id| matches!(self.store.tx_location(id), Ok(Some(_))),
            )
    }

    /// The next unused sequence of `signer`: one above its last committed transaction and
    /// above any of its transactions waiting in the mempool.
    pub fn next_sequence(&self, signer: &PublicKey) -> u64 {
        next_sequence(&self.store, &self.mempool, signer)
    }
}

/// The next unused sequence of `signer` over `store` and `mempool`: one above its last
/// committed transaction and above any of its transactions waiting in the mempool
/// ([`App::next_sequence`]; the API's tip intakes ask it too).
pub fn next_sequence(
    store: &Store,
    mempool: &std::sync::Mutex<crate::mempool::Mempool>,
    signer: &PublicKey,
) -> u64 {
    let committed = safeledger_contracts::last_sequence(&StoreView(store), signer);
    let pending = mempool
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .max_sequence(signer)
        .unwrap_or(0);
    committed.max(pending) + 1
}

impl BlockSource for App {
    fn build_block(&mut self, height: u64, _round: u32, now: Timestamp) -> Block {
        let p = &self.genesis.consensus;
        let txs = self
            .mempool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reap(p.max_block_txs as usize, p.max_block_bytes as usize);
        let leaves = tx_leaves(&txs);
        let ledger = self.ledger_after(&leaves);
        let root = safeledger_core::merkle::root(&leaves);
        let time = Timestamp(now.0.max(self.tip.block_time.0 + 1));
        let header = Header {
            version: self.version_at(height),
            chain_id: self.genesis.chain_id.clone(),
            height,
            time,
            prev_hash: self.tip.block_hash,
            tx_root: root,
            tx_count: txs.len() as u32,
            ledger_root: ledger.root(),
            ledger_size: ledger.size,
            state_root: self.tip.state_root,
            results_root: self.tip.results_root,
            validators_hash: self.tip.validators.hash(),
            next_validators_hash: self.tip.next_validators.hash(),
            proposer: self.me,
        };
        let block = Block { header, txs };
        self.remember(block.hash(), leaves, Vec::new());
        self.preexecute(&block);
        block
    }

    fn valid(&mut self, block: &Block) -> bool {
        match self.valid_with_reason(block) {
            Ok(()) => {
                self.preexecute(block);
                true
            }
            Err(e) => {
                tracing::warn!(height = block.header.height, error = %e, "block judged invalid");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
