use super::*;
use crate::cli::{demo::sign_items, home};

/// A ledger over a fresh store in `dir`, its genesis that of `net`.
fn ledger_in(net: &home::Home, dir: &std::path::Path, pipelined: bool) -> App {
    let store = Store::open(dir).expect("store");
    let pool = Arc::new(Mutex::new(Mempool::default()));
    let me = net.genesis.agencies[0].node_key;
    let mut l = App::open(net.genesis.clone(), store, pool, me).expect("ledger");
    l.set_pipelined(pipelined).expect("pipelining");
    l
}

/// `n` real records (data/), signed by the agencies of `net`.
fn real_txs(net: &home::Home, n: usize) -> Vec<Transaction> {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let plan = safeledger_client::import::plan_import_limited(&data, n).expect("data/");
    let items: Vec<_> = plan.items.into_iter().take(n).collect();
    sign_items(net, &items, &BTreeMap::new()).expect("signed").0
}

fn cert_for(block: &Block) -> CommitCertificate {
    CommitCertificate {
        height: block.header.height,
        round: 0,
        block_hash: block.hash(),
        signatures: vec![],
    }
}

fn admit_all(l: &App, txs: &[Transaction]) {
    for tx in txs {
        l.admit_own(tx.clone()).expect("admitted");
    }
}

/// A block judged valid starts executing at once; its commit takes that execution,
/// and the chain (state roots, results) equals that of a ledger executing at commit.
#[test]
fn pipelined_commits_equal_commits_executed_at_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = home::init(&dir.path().join("net"), home::DEFAULT_CHAIN_ID).expect("net");
    let txs = real_txs(&net, 240);
    let mut builder = ledger_in(&net, &dir.path().join("a"), false);
    let mut piped = ledger_in(&net, &dir.path().join("b"), true);
    for (i, chunk) in txs.chunks(60).enumerate() {
        admit_all(&builder, chunk);
        let h = builder.tip.height + 1;
        let block = builder.build_block(h, 0, Timestamp(1_796_000_000_000 + i as u64));
        assert!(piped.valid(&block), "block {h} valid");
        let cert = cert_for(&block);
        let plain = builder.commit(&block, &cert).expect("commit");
        let early = piped.commit(&block, &cert).expect("commit");
        assert_eq!(plain, early, "results at {h}");
        assert_eq!(builder.tip, piped.tip, "tip at {h}");
        // Written, and read back, before its flush and fsync are waited for.
        assert_eq!(piped.store.tip().expect("tip"), Some(piped.tip.clone()));
    }
    assert_eq!(piped.preexecuted, 4, "every commit took its pre-execution");
    assert_eq!(builder.preexecuted, 0, "not pipelined");
    assert_eq!(piped.tip.committed_txs, 240);
    piped.wait_durable().expect("durable");
    let tip = piped.tip.clone();
    drop(piped);
    let reopened = Store::open(&dir.path().join("b")).expect("reopens");
    assert_eq!(reopened.tip().expect("tip"), Some(tip));
}

/// `valid(v)` refuses a block that repeats a committed transaction: its sequence is at
/// most its submitter's last, and every transaction of a block must be above it (no index
/// of committed ids is consulted: a state-synced node has none for the heights before its
/// snapshot).
#[test]
fn a_block_repeating_a_committed_transaction_is_invalid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = home::init(&dir.path().join("net"), home::DEFAULT_CHAIN_ID).expect("net");
    let txs = real_txs(&net, 10);
    let mut l = ledger_in(&net, &dir.path().join("a"), false);
    admit_all(&l, &txs[..5]);
    let t = Timestamp(1_796_000_000_000);
    let first = l.build_block(1, 0, t);
    l.commit(&first, &cert_for(&first)).expect("commit");
    admit_all(&l, &txs[5..]);
    let mut block = l.build_block(2, 0, Timestamp(t.0 + 1));
    assert_eq!(l.valid_with_reason(&block), Ok(()));
    block.txs.push(first.txs[0].clone());
    let leaves = tx_leaves(&block.txs);
    let ledger = l.ledger_after(&leaves);
    let h = &mut block.header;
    h.tx_count = block.txs.len() as u32;
    h.tx_root = safeledger_core::merkle::root(&leaves);
    h.ledger_root = ledger.root();
    h.ledger_size = ledger.size;
    let e = l
        .valid_with_reason(&block)
        .expect_err("a committed transaction again");
    assert!(
        e.why.contains("is not above its signer's last committed"),
        "{e}"
    );
}

/// A pre-execution of a block that is not the one decided is discarded: the decided
/// block executes at commit, over the state the other one never wrote.
#[test]
fn pipelined_commit_of_another_block_discards_the_pre_execution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = home::init(&dir.path().join("net"), home::DEFAULT_CHAIN_ID).expect("net");
    let txs = real_txs(&net, 40);
    let mut builder = ledger_in(&net, &dir.path().join("a"), false);
    let mut piped = ledger_in(&net, &dir.path().join("b"), true);
    admit_all(&builder, &txs);
    let t = Timestamp(1_796_000_000_000);
    let round0 = builder.build_block(1, 0, t);
    builder.mempool.lock().expect("pool").remove_committed(
        &txs[20..].iter().map(|t| t.id()).collect::<Vec<_>>(),
        &BTreeMap::new(),
    );
    let round1 = builder.build_block(1, 1, Timestamp(t.0 + 1));
    assert_ne!(round0.hash(), round1.hash());
    assert!(piped.valid(&round0));
    let cert = cert_for(&round1);
    let plain = builder.commit(&round1, &cert).expect("commit");
    let other = piped.commit(&round1, &cert).expect("commit");
    assert_eq!(plain, other);
    assert_eq!(builder.tip, piped.tip);
    assert_eq!(piped.preexecuted, 0, "the round-0 execution was not taken");
}
