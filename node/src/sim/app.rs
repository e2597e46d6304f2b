//! The replicated application of a simulated node: a deterministic toy chain (the default)
//! or the real [`App`] over a sled store in a temporary directory.
//!
//! The toy app's `valid(v)` makes the chain checks of `App::valid_with_reason`: header
//! version and chain id, height = tip + 1, `prev_hash` = tip hash, time after the tip's,
//! proposer a validator, validator hashes, `tx_count`/`tx_root` matching the body, no
//! transaction twice in the block or already committed — plus one toy rule: a transaction
//! with sequence `u64::MAX` ("poison") is invalid, so that a Byzantine proposer can build
//! a block that no honest node accepts.

use crate::app::App;
use crate::consensus::BlockSource;
use crate::mempool::Mempool;
use crate::store::Store;
use safeledger_core::block::{tx_root, CommitCertificate, Header, HEADER_VERSION};
use safeledger_core::evidence::DoubleSign;
use safeledger_core::genesis::ValidatorSet;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{Penalty, PenaltyGrade};
use safeledger_core::{
    Block, Domain, Genesis, Hash, PublicKey, SecretKey, Timestamp, Transaction, TxBody, TxId,
    TxPayload,
};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Sequence number that makes a toy transaction invalid.
pub const POISON_SEQUENCE: u64 = u64::MAX;
/// Most pending toy transactions a node proposes in one block.
pub const TOY_BLOCK_TXS: usize = 3;

/// What the simulator needs from a node's application beyond [`BlockSource`].
pub trait SimApp: BlockSource {
    /// Last committed height (0 before block 1).
    fn height(&self) -> u64;
    /// Hash of the last committed block (the genesis hash at height 0).
    fn tip_hash(&self) -> Hash;
    /// The committed block and certificate of `height`, for block sync.
    fn committed(&self, height: u64) -> Option<(Block, CommitCertificate)>;
    /// Commits a decided (or synced and verified) block.
    fn commit(&mut self, block: &Block, cert: &CommitCertificate);
    /// A crash: memory is lost, committed blocks stay (the store's batch is atomic). With
    /// `lose_last`, the last committed block is lost too (sled's flush is not an fsync).
    fn crash(&mut self, lose_last: bool);
    /// The core of this node (signing with `key`) detected a double-sign: the real ledger
    /// puts a validator-evidence transaction into its mempool, to be proposed when this
    /// node next proposes (the simulator carries no transaction gossip).
    fn report_evidence(&mut self, _e: &DoubleSign, _key: &SecretKey) {}
    /// Double-signs recorded in committed state (the real ledger only).
    fn recorded_evidence(&self) -> Vec<safeledger_contracts::evidence::EvidenceState> {
        Vec::new()
    }
}

/// A fake transaction of `node` with `sequence`.
pub fn toy_tx(chain_id: &str, node: usize, sequence: u64, at: Timestamp) -> Transaction {
    let body = TxBody::Penalty(Penalty {
        enterprise: EnterpriseId::namespaced("sim", &format!("n{node}"))
            .expect("a valid namespaced id"),
        case_id: format!("{node}-{sequence}"),
        grade: PenaltyGrade::Minor,
        kind: "sim".into(),
        amount_minor: None,
        currency: None,
        reason: String::new(),
    });
    Transaction {
        payload: TxPayload {
            chain_id: chain_id.to_string(),
            sequence,
            effective_at: at,
            body,
            field_salts: Vec::new(),
            field_root: Hash::ZERO,
            withheld: Vec::new(),
        },
        signatures: Vec::new(),
    }
}

/// The deterministic toy application.
pub struct ToyApp {
    chain_id: String,
    node: usize,
    me: PublicKey,
    vals: ValidatorSet,
    vals_hash: Hash,
    genesis_hash: Hash,
    genesis_time: Timestamp,
    chain: Vec<(Block, CommitCertificate)>,
    tip_hash: Hash,
    committed_txs: BTreeSet<TxId>,
    pending: Vec<Transaction>,
    next_sequence: u64,
}

impl ToyApp {
    /// A fresh chain for node `node` with key `me`.
    pub fn new(
        chain_id: &str,
        node: usize,
        me: PublicKey,
        vals: ValidatorSet,
        genesis_time: Timestamp,
    ) -> ToyApp {
        ToyApp {
            chain_id: chain_id.to_string(),
            node,
            me,
            genesis_hash: Domain::Genesis.hash(chain_id.as_bytes()),
            tip_hash: Domain::Genesis.hash(chain_id.as_bytes()),
            vals_hash: vals.hash(),
            vals,
            genesis_time,
            chain: Vec::new(),
            committed_txs: BTreeSet::new(),
            pending: Vec::new(),
            next_sequence: 1,
        }
    }

    fn tip_time(&self) -> Timestamp {
        self.chain
            .last()
            .map(|(b, _)| b.header.time)
            .unwrap_or(self.genesis_time)
    }

    /// The first failed check of `valid(v)`, if any.
    pub fn check(&self, block: &Block) -> Result<(), &'static str> {
        let h = &block.header;
        if h.version != HEADER_VERSION || h.chain_id != self.chain_id {
            return Err("version or chain id");
        }
        if h.height != self.height() + 1 {
            return Err("height");
        }
        if h.prev_hash != self.tip_hash() {
            return Err("prev_hash");
        }
        if h.time <= self.tip_time() {
            return Err("time not after the previous block's");
        }
        if self.vals.power_of(&h.proposer) == 0 {
            return Err("proposer is not a validator");
        }
        let vh = self.vals_hash;
        if h.validators_hash != vh || h.next_validators_hash != vh {
            return Err("validators_hash");
        }
        if h.tx_count as usize != block.txs.len() || h.tx_root != tx_root(&block.txs) {
            return Err("tx_count or tx_root");
        }
        let mut ids = BTreeSet::new();
        for tx in &block.txs {
            let id = tx.id();
            if !ids.insert(id) || self.committed_txs.contains(&id) {
                return Err("transaction twice or already committed");
            }
            if tx.payload.sequence == POISON_SEQUENCE {
                return Err("poison transaction");
            }
        }
        Ok(())
    }

    /// A block on top of this node's tip with `txs`, proposed by `proposer` at `time`.
    pub fn block_with(&self, proposer: PublicKey, time: Timestamp, txs: Vec<Transaction>) -> Block {
        let vh = self.vals_hash;
        Block {
            header: Header {
                version: HEADER_VERSION,
                chain_id: self.chain_id.clone(),
                height: self.height() + 1,
                time,
                prev_hash: self.tip_hash(),
                tx_root: tx_root(&txs),
                tx_count: txs.len() as u32,
                ledger_root: Hash::ZERO,
                ledger_size: 0,
                state_root: Hash::ZERO,
                results_root: Hash::ZERO,
                validators_hash: vh,
                next_validators_hash: vh,
                proposer,
            },
            txs,
        }
    }
}

impl BlockSource for ToyApp {
    fn build_block(&mut self, _height: u64, _round: u32, now: Timestamp) -> Block {
        let tx = toy_tx(&self.chain_id, self.node, self.next_sequence, now);
        self.next_sequence += 1;
        self.pending.push(tx);
        let txs: Vec<Transaction> = self.pending.iter().take(TOY_BLOCK_TXS).cloned().collect();
        let time = Timestamp(now.0.max(self.tip_time().0 + 1));
        self.block_with(self.me, time, txs)
    }

    fn valid(&mut self, block: &Block) -> bool {
        self.check(block).is_ok()
    }
}

impl SimApp for ToyApp {
    fn height(&self) -> u64 {
        self.chain.len() as u64
    }
    fn tip_hash(&self) -> Hash {
        self.tip_hash
    }
    fn committed(&self, height: u64) -> Option<(Block, CommitCertificate)> {
        let i = usize::try_from(height).ok()?.checked_sub(1)?;
        self.chain.get(i).cloned()
    }
    fn commit(&mut self, block: &Block, cert: &CommitCertificate) {
        let ids: BTreeSet<TxId> = block.txs.iter().map(|t| t.id()).collect();
        self.pending.retain(|t| !ids.contains(&t.id()));
        self.committed_txs.extend(ids);
        self.tip_hash = block.hash();
        self.chain.push((block.clone(), cert.clone()));
    }
    fn crash(&mut self, lose_last: bool) {
        self.pending.clear();
        if lose_last {
            if let Some((b, _)) = self.chain.pop() {
                for t in &b.txs {
                    self.committed_txs.remove(&t.id());
                }
                self.tip_hash = self
                    .chain
                    .last()
                    .map(|(b, _)| b.hash())
                    .unwrap_or(self.genesis_hash);
            }
        }
    }
}

/// The real [`App`] over a sled store in a temporary directory (empty blocks: the
/// simulator does not feed its mempool).
pub struct LedgerApp {
    genesis: Genesis,
    me: PublicKey,
    dir: tempfile::TempDir,
    ledger: Option<App>,
}

impl LedgerApp {
    /// Opens a fresh store for node key `me`.
    pub fn new(genesis: Genesis, me: PublicKey) -> std::io::Result<LedgerApp> {
        let dir = tempfile::tempdir()?;
        let mut app = LedgerApp {
            genesis,
            me,
            dir,
            ledger: None,
        };
        app.open();
        Ok(app)
    }

    fn open(&mut self) {
        let store = Store::open(&self.dir.path().join("store")).expect("sled store opens");
        let pool = Arc::new(Mutex::new(Mempool::default()));
        self.ledger =
            Some(App::open(self.genesis.clone(), store, pool, self.me).expect("ledger opens"));
    }

    fn ledger(&self) -> &App {
        self.ledger.as_ref().expect("ledger is open")
    }

    fn ledger_mut(&mut self) -> &mut App {
        self.ledger.as_mut().expect("ledger is open")
    }
}

impl BlockSource for LedgerApp {
    fn build_block(&mut self, height: u64, round: u32, now: Timestamp) -> Block {
        self.ledger_mut().build_block(height, round, now)
    }
    fn valid(&mut self, block: &Block) -> bool {
        self.ledger().valid_with_reason(block).is_ok()
    }
}

impl SimApp for LedgerApp {
    fn height(&self) -> u64 {
        self.ledger().tip.height
    }
    fn tip_hash(&self) -> Hash {
        self.ledger().tip.block_hash
    }
    fn committed(&self, height: u64) -> Option<(Block, CommitCertificate)> {
        let s = &self.ledger().store;
        Some((s.block(height).ok()??, s.certificate(height).ok()??))
    }
    fn commit(&mut self, block: &Block, cert: &CommitCertificate) {
        self.ledger_mut()
            .commit(block, cert)
            .expect("the temporary store commits");
    }
    fn crash(&mut self, _lose_last: bool) {
        self.ledger = None;
        self.open();
    }
    fn report_evidence(&mut self, e: &DoubleSign, key: &SecretKey) {
        let l = self.ledger();
        let seq = l.next_sequence(&key.public());
        if let Some(tx) = l.evidence_tx(e, key, seq) {
            let _ = l.admit_own(tx);
        }
    }
    fn recorded_evidence(&self) -> Vec<safeledger_contracts::evidence::EvidenceState> {
        safeledger_contracts::evidence::recorded(&crate::app::StoreView(&self.ledger().store))
    }
}
