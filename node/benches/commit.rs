//! Criterion benchmarks of a node's per-block work (issue 7 item 2): executing a block of
//! 1,000 enterprise records through the rule contracts over the sled state, and the whole
//! commit path — execution, one atomic sled batch and its fsync. Run:
//! `cargo bench -p safeledger-node --bench commit`.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use safeledger_contracts::{BlockContext, Executor};
use safeledger_core::block::CommitCertificate;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::{Block, SecretKey, Timestamp, Transaction, TxPayload};
use safeledger_node::app::{App, StoreView};
use safeledger_node::cli::home;
use safeledger_node::consensus::BlockSource;
use safeledger_node::mempool::Mempool;
use safeledger_node::store::Store;
use std::sync::{Arc, Mutex};

const TXS: usize = 1_000;

fn records(chain: &str, key: &SecretKey, first_seq: u64) -> Vec<Transaction> {
    (0..TXS as u64)
        .map(|k| {
            let seq = first_seq + k;
            let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                enterprise: EnterpriseId::namespaced("bench", &format!("e{seq}")).expect("id"),
                name: format!("Enterprise {seq}"),
                address: "1 Bench St, Chicago".into(),
                linked_ids: vec![],
            });
            let p = TxPayload::new(chain, seq, Timestamp(1_000), body, &mut rand::rngs::OsRng);
            Transaction::sign(p, &[key])
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = home::init(&dir.path().join("net"), "bench").expect("init");
    let agency = h.genesis.agencies[0].id.clone();
    let officer = h.officer_key(&agency).expect("officer");
    let node = h.node_key(&agency).expect("node key");
    let store = Store::open(&dir.path().join("store")).expect("store");
    let pool = Arc::new(Mutex::new(Mempool::default()));
    let ledger = std::cell::RefCell::new(
        App::open(h.genesis.clone(), store, pool, node.public()).expect("ledger"),
    );
    let chain = h.genesis.chain_id.clone();
    let executor = Executor::new(&h.genesis);

    let mut g = c.benchmark_group("block");
    g.sample_size(10);
    g.throughput(Throughput::Elements(TXS as u64));
    let txs = records(&chain, &officer, 1);
    g.bench_function("execute_1000_records", |b| {
        b.iter(|| {
            let l = ledger.borrow();
            let ctx = BlockContext {
                height: l.tip.height + 1,
                time: Timestamp(l.tip.block_time.0 + 1),
            };
            executor.execute_block(&StoreView(&l.store), &ctx, &txs)
        })
    });
    let mut seq = 1u64;
    g.bench_function("commit_1000_records_with_fsync", |b| {
        b.iter_batched(
            || {
                let mut ledger = ledger.borrow_mut();
                let txs = records(&chain, &officer, seq);
                seq += TXS as u64;
                for t in txs {
                    ledger.admit_own(t).expect("admitted");
                }
                let height = ledger.tip.height + 1;
                let now = Timestamp(ledger.tip.block_time.0 + 1_000);
                let block: Block = ledger.build_block(height, 0, now);
                let cert = CommitCertificate {
                    height,
                    round: 0,
                    block_hash: block.hash(),
                    signatures: vec![],
                };
                (block, cert)
            },
            |(block, cert)| ledger.borrow_mut().commit(&block, &cert).expect("commit"),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
