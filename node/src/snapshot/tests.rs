//! Snapshots over a real ledger: the capture keeps the read at the snapshot's height while
//! a later block commits, the offer verifies to the node's own tip, and any changed value
//! of an offer is refused.

use super::offer::{verify, OfferError, SnapshotInfo, SnapshotOffer};
use super::write;
use crate::app::App;
use crate::cli::{demo::sign_items, home};
use crate::consensus::BlockSource;
use crate::mempool::Mempool;
use crate::store::Store;
use safeledger_core::block::CommitCertificate;
use safeledger_core::state_chunks::verify_chunk;
use safeledger_core::{Block, Timestamp, Vote, VoteType};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

fn certified(net: &home::Home, block: &Block) -> CommitCertificate {
    let h = block.header.height;
    let votes: Vec<Vote> = net
        .genesis
        .agencies
        .iter()
        .map(|a| {
            let key = net.node_key(&a.id).expect("node key");
            Vote::new(
                &net.genesis.chain_id,
                &key,
                h,
                0,
                VoteType::Precommit,
                Some(block.hash()),
            )
        })
        .collect();
    CommitCertificate::from_votes(h, 0, block.hash(), &votes)
}

/// A ledger of two blocks of real records; the snapshot after height 1 is written with
/// block 2 committed during its capture. Returns the network, store, tip after 1 and the
/// snapshot directory.
fn two_blocks(dir: &std::path::Path) -> (home::Home, Store, crate::store::Tip, Snap) {
    let net = home::init(&dir.join("net"), home::DEFAULT_CHAIN_ID).expect("net");
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let plan = safeledger_client::import::plan_import_limited(&data, 60).expect("data/");
    let items: Vec<_> = plan.items.into_iter().take(60).collect();
    let txs = sign_items(&net, &items, &BTreeMap::new())
        .expect("signed")
        .0;
    let store = Store::open(&dir.join("store")).expect("store");
    let pool = Arc::new(Mutex::new(Mempool::default()));
    let me = net.genesis.agencies[0].node_key;
    let mut app = App::open(net.genesis.clone(), store.clone(), pool, me).expect("ledger");
    let t = 1_796_000_000_000;
    for tx in &txs[..30] {
        app.admit_own(tx.clone()).expect("admitted");
    }
    let b1 = app.build_block(1, 0, Timestamp(t));
    app.commit(&b1, &certified(&net, &b1)).expect("commit 1");
    let tip1 = app.tip.clone();
    store.begin_capture();
    for tx in &txs[30..] {
        app.admit_own(tx.clone()).expect("admitted");
    }
    let b2 = app.build_block(2, 0, Timestamp(t + 1_000));
    app.commit(&b2, &certified(&net, &b2)).expect("commit 2");
    assert_ne!(app.tip.state_root, tip1.state_root, "block 2 wrote state");
    let snaps = dir.join("snapshots");
    std::fs::create_dir_all(&snaps).expect("dir");
    let meta = write(&store, &tip1, &snaps).expect("the capture gives the state after 1");
    (net, store, tip1, Snap { meta, dir: snaps })
}

struct Snap {
    meta: super::SnapshotMeta,
    dir: std::path::PathBuf,
}

#[test]
fn an_offer_verifies_to_the_nodes_own_tip_and_its_chunks_to_their_summaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (net, store, tip1, snap) = two_blocks(dir.path());
    let offer = SnapshotOffer::build(&store, snap.meta.clone()).expect("offer");
    let tip = verify(&net.genesis, &offer, &SnapshotInfo::of(&snap.meta)).expect("verifies");
    assert_eq!(tip, tip1);
    let m = &snap.meta;
    assert_eq!(m.chunks.len(), 1 << super::MIN_CHUNK_BITS);
    let mut keys = 0;
    for i in 0..m.chunks.len() {
        let bytes = std::fs::read(snap.dir.join("1").join(format!("chunk-{i}"))).expect("chunk");
        let pairs: super::Pairs = safeledger_core::from_canonical(&bytes).expect("decodes");
        verify_chunk(m.bits, &m.chunks, i, &pairs).expect("chunk verifies");
        keys += pairs.len() as u64;
    }
    assert_eq!(keys, m.keys);
}

#[test]
fn any_changed_value_of_an_offer_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (net, store, _, snap) = two_blocks(dir.path());
    let good = SnapshotOffer::build(&store, snap.meta.clone()).expect("offer");
    type Change = fn(&mut SnapshotOffer);
    let changes: Vec<(&str, Change)> = vec![
        ("a chunk hash", |o| o.meta.chunks[0].hash.0[0] ^= 1),
        ("a chunk said empty", |o| o.meta.chunks[0].keys = 0),
        ("the cut", |o| o.meta.bits += 1),
        ("a ledger peak", |o| o.meta.ledger.peaks[0].0[0] ^= 1),
        ("the ledger size", |o| o.meta.ledger.size += 1),
        ("a validator's power", |o| {
            o.meta.validators.validators[0].power += 1
        }),
        ("the next validators", |o| {
            o.meta.next_validators.validators.pop();
        }),
        ("block h's time", |o| o.header.time.0 += 1),
        ("header h+1's state root", |o| {
            o.next_header.state_root.0[0] ^= 1
        }),
        ("header h+1's results root", |o| {
            o.next_header.results_root.0[0] ^= 1
        }),
        ("a certificate signature", |o| {
            o.certificate.signatures[0].signature.0[0] ^= 1
        }),
        ("the height", |o| o.meta.height += 1),
    ];
    for (what, change) in changes {
        let mut o = good.clone();
        change(&mut o);
        let listed = SnapshotInfo::of(&o.meta);
        assert!(
            verify(&net.genesis, &o, &listed).is_err(),
            "{what} changed and the offer still verifies"
        );
    }
    // A count of two keys or more is not under the root (the inner node's hash is the
    // same): a false one passes the offer, and then no true chunk matches it, so a liar's
    // summaries are refused at its first chunk (fetched only from the peers that offered
    // them).
    let mut o = good.clone();
    let i = o
        .meta
        .chunks
        .iter()
        .position(|c| c.keys >= 2)
        .expect("a chunk of two");
    o.meta.chunks[i].keys += 1;
    verify(&net.genesis, &o, &SnapshotInfo::of(&o.meta)).expect("counts are not certified");
    let bytes = std::fs::read(snap.dir.join("1").join(format!("chunk-{i}"))).expect("chunk");
    let pairs: super::Pairs = safeledger_core::from_canonical(&bytes).expect("decodes");
    assert!(verify_chunk(o.meta.bits, &o.meta.chunks, i, &pairs).is_err());
    // The offer must be the listed one.
    let mut other = SnapshotInfo::of(&snap.meta);
    other.hash.0[0] ^= 1;
    assert!(matches!(
        verify(&net.genesis, &good, &other),
        Err(OfferError::NotListed)
    ));
}
