//! What the node serves to auditors (issue 5, DESIGN §4): desensitized views of committed
//! transactions, checkpoints (certified headers), and RFC 9162 inclusion (§2.1.3) and
//! consistency (§2.1.4) proofs of the ledger tree from the nodes the store keeps.
//!
//! A transaction's result is in header h+1's `results_root`, so its view exists once block
//! h+1 is committed. Public fields are served by any node; a private (withheld) field is
//! shown as its digest, marked erased where this node erased its value.

mod state;

pub use state::state_proof;

use crate::store::{Store, StoreError};
use safeledger_core::block::{tx_leaves, Header};
use safeledger_core::ledger_tree::{consistency_proof, inclusion_proof, NodeSource};
use safeledger_core::lightclient::SetChange;
use safeledger_core::merkle::Blake3Tree;
use safeledger_core::proof::ProofError;
use safeledger_core::view::{
    build_view, BuildError, Checkpoint, LedgerInclusion, View, ViewSource,
};
use safeledger_core::{Hash, TxId};

/// Why an audit request could not be served.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The transaction or height is not on this node's ledger.
    #[error("{0}")]
    NotFound(String),
    /// Not provable yet (the next block is not committed).
    #[error("{0}")]
    NotYet(String),
    /// A request this version cannot serve.
    #[error("{0}")]
    Unsupported(String),
    /// A bad request (unknown field, sizes out of order).
    #[error("{0}")]
    Invalid(String),
    /// A field to reveal is private and its value was not supplied (names the field).
    #[error("field {0} is private")]
    Private(String),
    /// Private values were asked for without a valid read declaration on chain (the
    /// reason).
    #[error("{0}")]
    Undeclared(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BuildError> for AuditError {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::UnknownField { .. } | BuildError::Erased(_) => {
                AuditError::Invalid(e.to_string())
            }
            BuildError::Private(name) => AuditError::Private(name),
            other => AuditError::Store(StoreError::Corrupt {
                key: "view".into(),
                why: other.to_string(),
            }),
        }
    }
}

impl From<ProofError> for AuditError {
    fn from(e: ProofError) -> Self {
        match e {
            ProofError::Missing(m) => AuditError::Unsupported(format!(
                "ledger tree node missing ({m}): this node does not hold the ledger tree of \
                 those heights (it joined by state sync after them, or its data directory \
                 predates stored tree nodes): ask another node"
            )),
            other => AuditError::Invalid(other.to_string()),
        }
    }
}

/// The ledger tree's nodes as the store keeps them.
pub struct StoreTree<'a>(pub &'a Store);

impl NodeSource for StoreTree<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        self.0
            .ledger_node(level, index)
            .map_err(|e| ProofError::Missing(e.to_string()))?
            .ok_or_else(|| ProofError::Missing(format!("level {level} index {index}")))
    }
}

/// The validator-set path from genesis to `header`: one [`SetChange`] per header below it
/// whose `next_validators_hash` changed the set (ascending), each with its certificate and
/// the set it committed to (the light-client model of `safeledger_core::lightclient`).
pub fn validator_path(store: &Store, header: &Header) -> Result<Vec<SetChange>, AuditError> {
    let below = header.height.saturating_sub(1);
    let heights =
        store.validator_change_heights(below, safeledger_core::lightclient::MAX_PATH_STEPS + 1)?;
    if heights.len() > safeledger_core::lightclient::MAX_PATH_STEPS {
        return Err(AuditError::Unsupported(format!(
            "more than {} validator-set changes before height {}",
            safeledger_core::lightclient::MAX_PATH_STEPS,
            header.height
        )));
    }
    let mut path = Vec::with_capacity(heights.len());
    for h in heights {
        let missing = |what: &str| AuditError::NotFound(format!("{what} of set change {h}"));
        // A state-synced node has no blocks before its snapshot, but kept the changes.
        let block = match store.block(h)? {
            Some(b) => b,
            None => {
                path.push(
                    store
                        .synced_set_change(h)?
                        .ok_or_else(|| missing("block"))?,
                );
                continue;
            }
        };
        let certificate = store
            .certificate(h)?
            .ok_or_else(|| missing("certificate"))?;
        let next_validators = store.validator_change(h)?.ok_or_else(|| missing("set"))?;
        path.push(SetChange {
            header: block.header,
            certificate,
            next_validators,
        });
    }
    Ok(path)
}

fn tip_height(store: &Store) -> Result<u64, AuditError> {
    Ok(store.tip()?.map(|t| t.height).unwrap_or(0))
}

fn ledger_size(store: &Store) -> Result<u64, AuditError> {
    Ok(store.tip()?.map(|t| t.ledger.size).unwrap_or(0))
}

/// The checkpoint of `height` (0: the last committed block).
pub fn checkpoint(store: &Store, height: u64) -> Result<Checkpoint, AuditError> {
    let h = if height == 0 {
        tip_height(store)?
    } else {
        height
    };
    let block = store
        .block(h)?
        .ok_or_else(|| AuditError::NotFound(format!("no block at height {h}")))?;
    let cert = store
        .certificate(h)?
        .ok_or_else(|| AuditError::NotFound(format!("no certificate at height {h}")))?;
    let path = validator_path(store, &block.header)?;
    Ok(Checkpoint::new(block.header, cert, path))
}

/// Where a transaction is: (height, index in the block, ledger index).
fn locate(store: &Store, id: &TxId) -> Result<(u64, u32, Header), AuditError> {
    let (h, i) = store
        .tx_location(id)?
        .ok_or_else(|| AuditError::NotFound(store.tx_missing(id)))?;
    let block = store
        .block(h)?
        .ok_or_else(|| AuditError::NotFound(format!("block {h} missing")))?;
    Ok((h, i, block.header))
}

/// The RFC 9162 §2.1.3 inclusion proof of transaction `id` in the ledger tree of the first
/// `tree_size` leaves (the tree of any header at or after the transaction's block).
pub fn ledger_inclusion(
    store: &Store,
    id: &TxId,
    tree_size: u64,
) -> Result<LedgerInclusion, AuditError> {
    let (_, i, header) = locate(store, id)?;
    let index = header.ledger_size - header.tx_count as u64 + i as u64;
    let size = ledger_size(store)?;
    if tree_size > size || tree_size <= index {
        return Err(AuditError::Invalid(format!(
            "tree size {tree_size} must be above the transaction's ledger index {index} and at most {size}"
        )));
    }
    let proof = inclusion_proof::<Blake3Tree, _>(&StoreTree(store), index, tree_size)?;
    Ok(LedgerInclusion {
        tree_size,
        index,
        proof,
    })
}

/// The RFC 9162 §2.1.4 consistency proof between the ledger trees of `first` and `second`
/// leaves.
pub fn consistency(store: &Store, first: u64, second: u64) -> Result<Vec<Hash>, AuditError> {
    let size = ledger_size(store)?;
    if first > second || second > size {
        return Err(AuditError::Invalid(format!(
            "sizes {first} ≤ {second} ≤ {size} (this node's ledger size) do not hold"
        )));
    }
    Ok(consistency_proof::<Blake3Tree, _>(
        &StoreTree(store),
        first,
        second,
    )?)
}

/// The view of transaction `id` revealing `reveal` (and its type), with its ledger inclusion
/// in the tree of `anchor` leaves when given. `private`: the values of withheld fields the
/// caller may see (empty for anyone but an officer of the agency holding them); revealing a
/// withheld field whose value is not among them is [`AuditError::Private`]. `erased` names
/// the private fields of `id` whose values this node erased: they are shown hidden and
/// marked erased.
pub fn view(
    store: &Store,
    id: &TxId,
    reveal: &[String],
    anchor: Option<u64>,
    private: Vec<safeledger_core::private::PrivateValue>,
    erased: &[String],
) -> Result<View, AuditError> {
    let (h, i) = store
        .tx_location(id)?
        .ok_or_else(|| AuditError::NotFound(format!("transaction {id} is not committed")))?;
    let block = store
        .block(h)?
        .ok_or_else(|| AuditError::NotFound(format!("block {h} missing")))?;
    let results = store.results(h)?.unwrap_or_default();
    let next = store.block(h + 1)?.ok_or_else(|| {
        AuditError::NotYet(format!(
            "the result of block {h} is certified by block {}, not committed yet: retry shortly",
            h + 1
        ))
    })?;
    let cert = store
        .certificate(h + 1)?
        .ok_or_else(|| AuditError::NotFound(format!("no certificate at height {}", h + 1)))?;
    let tx = block
        .txs
        .get(i as usize)
        .ok_or_else(|| AuditError::NotFound(format!("index {i} not in block {h}")))?;
    let ledger = match anchor {
        Some(size) => Some(ledger_inclusion(store, id, size)?),
        None => None,
    };
    let leaves = tx_leaves(&block.txs);
    let src = ViewSource {
        tx,
        block_header: &block.header,
        index: i,
        block_leaves: &leaves,
        results: &results,
        result_header: &next.header,
        certificate: &cert,
        validator_path: validator_path(store, &next.header)?,
        ledger,
        private,
        erased: erased.to_vec(),
    };
    Ok(build_view(&src, reveal)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::genesis_tip;
    use rand::SeedableRng;
    use safeledger_core::block::{tx_root, CommitCertificate, HEADER_VERSION};
    use safeledger_core::ledger_tree::{verify_consistency, verify_inclusion};
    use safeledger_core::merkle::CompactRange;
    use safeledger_core::records::{Penalty, PenaltyGrade};
    use safeledger_core::{
        ids::EnterpriseId, Block, SecretKey, Timestamp, Transaction, TxBody, TxPayload,
    };

    fn tx(seq: u64) -> Transaction {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seq);
        let body = TxBody::Penalty(Penalty {
            enterprise: EnterpriseId::parse("us-osha-insp:1").unwrap(),
            case_id: seq.to_string(),
            grade: PenaltyGrade::Minor,
            kind: "citation".into(),
            amount_minor: None,
            currency: None,
            reason: "test".into(),
        });
        let p = TxPayload::new("c", seq, Timestamp(1), body, &mut rng);
        Transaction::sign(p, &[&SecretKey::from_bytes(&[1; 32])])
    }

    #[test]
    fn committed_blocks_store_the_tree_nodes_that_proofs_need() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let genesis: safeledger_core::Genesis = serde_json::from_value(serde_json::json!({
            "chain_id": "c", "genesis_time": 0, "agencies": [], "roles": {},
            "consensus": safeledger_core::genesis::ConsensusParams::default(),
        }))
        .unwrap();
        let mut tip = genesis_tip(&genesis);
        store.init_tip(&tip).unwrap();
        let mut roots = vec![(0u64, CompactRange::default().root())];
        let mut seq = 0;
        for (h, n) in [3u64, 0, 5, 8, 1].into_iter().enumerate() {
            let txs: Vec<Transaction> = (0..n)
                .map(|_| {
                    seq += 1;
                    tx(seq)
                })
                .collect();
            for l in tx_leaves(&txs) {
                tip.ledger.append(l);
            }
            tip.height = h as u64 + 1;
            let header = Header {
                version: HEADER_VERSION,
                chain_id: "c".into(),
                height: tip.height,
                time: Timestamp(h as u64 + 1),
                prev_hash: tip.block_hash,
                tx_root: tx_root(&txs),
                tx_count: n as u32,
                ledger_root: tip.ledger.root(),
                ledger_size: tip.ledger.size,
                state_root: Hash::ZERO,
                results_root: Hash::ZERO,
                validators_hash: Hash::ZERO,
                next_validators_hash: Hash::ZERO,
                proposer: SecretKey::from_bytes(&[2; 32]).public(),
            };
            let block = Block { header, txs };
            let cert = CommitCertificate::from_votes(tip.height, 0, block.hash(), &[]);
            tip.block_hash = block.hash();
            store
                .commit(&block, &cert, &[], &Default::default(), &tip)
                .unwrap();
            roots.push((tip.ledger.size, tip.ledger.root()));
        }
        let all: Vec<Hash> = (1..=seq).flat_map(|s| tx_leaves(&[tx(s)])).collect();
        for &(size, root) in &roots {
            for m in 0..size {
                let id = tx(m + 1).id();
                let l = ledger_inclusion(&store, &id, size).unwrap();
                assert_eq!(l.index, m);
                verify_inclusion::<Blake3Tree>(m, size, &all[m as usize], &l.proof, &root).unwrap();
            }
            for &(first, first_root) in &roots {
                if first <= size {
                    let p = consistency(&store, first, size).unwrap();
                    verify_consistency::<Blake3Tree>(first, size, &first_root, &root, &p).unwrap();
                }
            }
        }
        assert!(consistency(&store, 5, 4).is_err());
        assert!(consistency(&store, 1, seq + 1).is_err());
    }
}
