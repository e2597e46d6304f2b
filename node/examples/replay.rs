//! A fixed per-node workload for instruction counts (issue 7): one node's work for every
//! transaction of a block — stateless admission with the signatures batch-verified, block
//! building, `valid(v)` ([`App::valid_with_reason`]) and the commit (execution through the
//! rule contracts, one sled batch, fsync) — over the real records of `data/`, without
//! network or consensus. Run under callgrind, counting only the measured parts:
//!
//! ```text
//! cargo build --release -p safeledger-node --example replay
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='*replay_blocks*' --toggle-collect='*verify_unit*' \
//!     target/release/examples/replay data 2000
//! ```
//!
//! It prints the transactions replayed and the signatures in the unit batch; instructions
//! per transaction are callgrind's count under `replay_blocks` divided by the first, and
//! the cost of one batch-verified signature is the count under `verify_unit` divided by
//! the second. Salts and signatures are fresh each run (the signer's CSPRNG), so counts
//! repeat to within a fraction of a percent, not exactly.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use safeledger_client::import::plan_import_limited;
use safeledger_core::block::CommitCertificate;
use safeledger_core::keys::{verify_batch, SignedMessage};
use safeledger_core::tx::check_stateless_batch;
use safeledger_core::{SecretKey, Timestamp, Transaction};
use safeledger_node::app::{App, StoreView};
use safeledger_node::cli::{demo::sign_items, home};
use safeledger_node::consensus::BlockSource;
use safeledger_node::mempool::{Encoded, Mempool};
use safeledger_node::store::Store;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Transactions per block of the replay.
const BLOCK_TXS: usize = 500;
/// Signatures in the unit batch.
const UNIT_BATCH: usize = 64;
/// Block time of the first block (ms since the Unix epoch): 2026-11-30.
const START_MS: u64 = 1_796_000_000_000;

#[inline(never)]
fn replay_blocks(ledger: &mut App, pool: &Arc<Mutex<Mempool>>, txs: Vec<Transaction>) -> usize {
    let chain = ledger.genesis.chain_id.clone();
    let mut committed = 0;
    let mut txs = txs.into_iter().peekable();
    while txs.peek().is_some() {
        let chunk: Vec<Transaction> = txs.by_ref().take(BLOCK_TXS).collect();
        let encoded: Vec<Encoded> = chunk.iter().map(Encoded::of).collect();
        let refs: Vec<&Transaction> = chunk.iter().collect();
        let checked = check_stateless_batch(&refs, &chain, &mut rand::thread_rng());
        {
            let view = StoreView(&ledger.store);
            let mut p = pool.lock().expect("pool");
            for ((tx, enc), r) in chunk.into_iter().zip(encoded).zip(checked) {
                let _ = p.admit_encoded(
                    tx,
                    enc,
                    &chain,
                    Some(r),
                    |_| true,
                    |k| safeledger_contracts::last_sequence(&view, k),
                    |id| matches!(ledger.store.tx_location(id), Ok(Some(_))),
                );
            }
        }
        let height = ledger.tip.height + 1;
        let now = Timestamp(START_MS + height * 1_000);
        let block = ledger.build_block(height, 0, now);
        if let Err(e) = ledger.valid_with_reason(&block) {
            eprintln!("block {height} judged invalid: {e}");
            std::process::exit(1);
        }
        let cert = CommitCertificate {
            height,
            round: 0,
            block_hash: block.hash(),
            signatures: vec![],
        };
        let results = ledger.commit(&block, &cert).expect("commit");
        committed += results.len();
    }
    committed
}

/// The bench's ceiling unit: signatures by distinct keys over 96-byte messages, verified
/// as one batch (`keys::verify_batch`, the ledger's rule).
#[inline(never)]
fn verify_unit(items: &[SignedMessage<'_>]) -> usize {
    verify_batch(items, &mut rand::thread_rng())
        .iter()
        .filter(|r| r.is_ok())
        .count()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = args.next().unwrap_or_else(|| "data".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2_000);
    let dir = tempfile::tempdir()?;
    let home = home::init(&dir.path().join("net"), home::DEFAULT_CHAIN_ID)?;
    let plan = plan_import_limited(std::path::Path::new(&data), usize::MAX)?;
    let work: Vec<_> = plan.items.iter().cycle().take(n).cloned().collect();
    let (txs, _) = sign_items(&home, &work, &BTreeMap::new())?;
    let agency = home.genesis.agencies[0].id.clone();
    let node: SecretKey = home.node_key(&agency)?;
    let store = Store::open(&dir.path().join("store"))?;
    let pool = Arc::new(Mutex::new(Mempool::default()));
    let mut ledger = App::open(home.genesis.clone(), store, pool.clone(), node.public())?;
    let keys: Vec<SecretKey> = (0..UNIT_BATCH as u8)
        .map(|i| SecretKey::from_bytes(&[i.wrapping_add(1); 32]))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..UNIT_BATCH).map(|i| vec![i as u8; 96]).collect();
    let sigs: Vec<safeledger_core::Signature> =
        keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let pks: Vec<safeledger_core::PublicKey> = keys.iter().map(|k| k.public()).collect();
    let items: Vec<SignedMessage<'_>> = (0..UNIT_BATCH)
        .map(|i| SignedMessage {
            key: &pks[i],
            message: &msgs[i],
            signature: &sigs[i],
        })
        .collect();
    let ok = verify_unit(&items);
    let committed = replay_blocks(&mut ledger, &pool, txs);
    println!(
        "replayed {committed} transactions in {} blocks",
        ledger.tip.height
    );
    println!("unit batch: {UNIT_BATCH} signatures ({ok} valid)");
    Ok(())
}
