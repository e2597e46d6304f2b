//! What each fuzz target does with its input, as plain functions: the fuzz targets in
//! `fuzz/fuzz_targets/` call them under libFuzzer, and `tests/tests/fuzz_corpus.rs` replays
//! the committed corpus and every past crash through them on stable, in the normal test
//! suite. None of them may panic, whatever the bytes.
//!
//! The fixture is the synthetic certified chain of `core/tests/common` (four validators,
//! chain id `view-test`), so seeds built from it get past signature and certificate checks
//! and the fuzzer explores what lies behind them.
#![allow(dead_code)]

#[path = "../../core/tests/common/mod.rs"]
pub mod common;

use safeledger_core::block::tx_root;
use safeledger_core::encoding::{from_canonical, from_canonical_bounded, to_canonical};
use safeledger_core::limits::MAX_TX_BYTES;
use safeledger_core::view::{self, Checkpoint, Verifier, View};
use safeledger_core::{Block, CommitCertificate, Transaction};
use safeledger_node::wire::{Gossip, SyncRequest, SyncResponse};

/// The fixture's chain id.
pub const CHAIN: &str = common::CHAIN;

/// A transaction from the API or gossip: canonical decoding bounded by `MAX_TX_BYTES` (as
/// the gRPC service does), every stateless check, id, Merkle leaf, fields; a decoded
/// transaction re-encodes to bytes that decode to the same transaction.
pub fn tx(data: &[u8]) {
    let Ok(tx) = from_canonical_bounded::<Transaction>(data, MAX_TX_BYTES) else {
        return;
    };
    let _ = tx.check_stateless(CHAIN);
    let _ = tx.id();
    let _ = tx.leaf_data();
    let _ = tx.payload.body.fields();
    let again: Result<Transaction, _> = from_canonical(&to_canonical(&tx));
    assert_eq!(
        again.as_ref(),
        Ok(&tx),
        "re-encoding changed the transaction"
    );
}

/// A block, alone or with its commit certificate (block sync, proposal fetch): hashes,
/// transaction root, stateless checks of its transactions, certificate verification.
pub fn block(data: &[u8]) {
    let vals = common::genesis().validator_set();
    if let Ok(b) = from_canonical::<Block>(data) {
        let _ = b.hash();
        let _ = tx_root(&b.txs) == b.header.tx_root;
        for tx in b.txs.iter().take(64) {
            let _ = tx.check_stateless(CHAIN);
        }
    }
    if let Ok((b, c)) = from_canonical::<(Block, CommitCertificate)>(data) {
        let _ = c.verify(CHAIN, b.header.height, &b.hash(), &vals);
    }
}

/// A gossip message (`wire::Gossip`): decoding, then what the consensus core checks of a
/// message before keeping it — signatures, membership, proposer, block hash.
pub fn gossip(data: &[u8]) {
    let Ok(msg) = from_canonical::<Gossip>(data) else {
        return;
    };
    let vals = common::genesis().validator_set();
    match msg {
        Gossip::Proposal(p, b) => {
            let _ = p.verify(CHAIN);
            let _ = vals.proposer(p.height, p.round).key == p.proposer;
            let _ = b.hash() == p.block_hash;
        }
        Gossip::ProposalRef(p) => {
            let _ = p.verify(CHAIN);
        }
        Gossip::ProposalTxIds(p, h, ids) => {
            let _ = p.verify(CHAIN);
            let _ = h.hash() == p.block_hash && ids.len() == h.tx_count as usize;
        }
        Gossip::Vote(v) => {
            let _ = v.verify(CHAIN);
            let _ = vals.power_of(&v.validator);
        }
        Gossip::Txs(txs) => {
            for tx in txs.iter().take(64) {
                let _ = tx.check_stateless(CHAIN);
            }
        }
    }
}

/// Request-response messages (`wire::SyncRequest`, `wire::SyncResponse`): decoding, and
/// the checks a node makes of pushed votes and served blocks.
pub fn sync(data: &[u8]) {
    if let Ok(SyncRequest::Push { proposals, votes }) = from_canonical::<SyncRequest>(data) {
        for (p, b) in proposals.iter().take(16) {
            let _ = p.verify(CHAIN);
            let _ = b.hash();
        }
        for v in votes.iter().take(64) {
            let _ = v.verify(CHAIN);
        }
    }
    if let Ok(r) = from_canonical::<SyncResponse>(data) {
        let vals = common::genesis().validator_set();
        match r {
            SyncResponse::Blocks(blocks) => {
                for (b, c) in blocks.iter().take(32) {
                    let _ = c.verify(CHAIN, b.header.height, &b.hash(), &vals);
                }
            }
            SyncResponse::Proposal(p, b) => {
                let _ = p.verify(CHAIN);
                let _ = b.hash();
            }
            _ => {}
        }
    }
}

/// An auditor's input: view or checkpoint JSON (`core::view::decode`) and the offline
/// verifier, from the fixture genesis.
pub fn view(data: &[u8]) {
    let genesis = common::genesis();
    let verifier = Verifier::new(&genesis);
    if let Ok(v) = view::decode::<View>(data) {
        let _ = verifier.verify(&v);
    }
    if let Ok(cp) = view::decode::<Checkpoint>(data) {
        let _ = verifier.verify_checkpoint(&cp);
        let mut v = Verifier::new(&genesis);
        let _ = v.trust_checkpoint(&cp);
    }
}

/// (folder, file, template) of each CSV source file the importer reads.
pub const CSV_FILES: [(&str, &str, &[u8]); 8] = [
    (
        "chicago-food-inspections-licenses",
        "business_licenses_at_inspection.csv",
        include_bytes!("../csv_templates/business_licenses_at_inspection.csv"),
    ),
    (
        "chicago-food-inspections-licenses",
        "food_inspections.csv",
        include_bytes!("../csv_templates/food_inspections.csv"),
    ),
    (
        "sf-restaurant-inspections",
        "businesses_plus.csv",
        include_bytes!("../csv_templates/businesses_plus.csv"),
    ),
    (
        "sf-restaurant-inspections",
        "inspections_plus.csv",
        include_bytes!("../csv_templates/inspections_plus.csv"),
    ),
    (
        "sf-restaurant-inspections",
        "violations_plus.csv",
        include_bytes!("../csv_templates/violations_plus.csv"),
    ),
    (
        "osha-fatality-reports",
        "fatality_inspections_2017_2023.csv",
        include_bytes!("../csv_templates/fatality_inspections_2017_2023.csv"),
    ),
    (
        "osha-fatality-reports",
        "fatcat_reports_2016_2017.csv",
        include_bytes!("../csv_templates/fatcat_reports_2016_2017.csv"),
    ),
    (
        "osha-fatality-reports",
        "fatcat_summaries_2009_2015.csv",
        include_bytes!("../csv_templates/fatcat_summaries_2009_2015.csv"),
    ),
];

/// Writes the CSV templates into `dir` (a data directory the importer reads).
pub fn csv_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    for (folder, file, bytes) in CSV_FILES {
        std::fs::create_dir_all(dir.join(folder))?;
        std::fs::write(dir.join(folder).join(file), bytes)?;
    }
    Ok(())
}

/// The importer's CSV row parsers: the first byte picks one of the source files, the rest
/// replaces it in `dir` (made by [`csv_data_dir`]), the import is planned, and the template
/// is put back.
pub fn csv_import(dir: &std::path::Path, data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (folder, file, template) = CSV_FILES[pick as usize % CSV_FILES.len()];
    let path = dir.join(folder).join(file);
    if std::fs::write(&path, rest).is_err() {
        return;
    }
    let _ = safeledger_client::import::plan_import_limited(dir, 64);
    let _ = std::fs::write(&path, template);
}

/// The consensus core as validator 0 of the fixture, judging every block valid: the input
/// is a sequence of `u16` little-endian length-prefixed messages, each a canonical
/// `wire::Gossip` proposal or vote (anything else is taken as a timeout of the step and
/// round its first bytes name). Signatures of the other validators are taken as valid, so
/// the fuzzer explores the state machine with up to three Byzantine validators; the core's
/// own assertions (one decision per height, a lock only moves forward, never signing
/// below what it signed) must hold whatever they send.
pub fn consensus(data: &[u8]) {
    use safeledger_core::{Proposal, PublicKey, Timestamp, Vote};
    use safeledger_node::consensus::{
        BlockSource, Consensus, Effect, Input, PrivState, SignatureCheck, Step, Timeout,
    };

    struct App;
    impl BlockSource for App {
        fn build_block(&mut self, height: u64, round: u32, now: Timestamp) -> Block {
            use safeledger_core::block::{Header, HEADER_VERSION};
            use safeledger_core::Hash;
            Block {
                header: Header {
                    version: HEADER_VERSION,
                    chain_id: CHAIN.into(),
                    height,
                    time: Timestamp(now.0 + u64::from(round)),
                    prev_hash: Hash::ZERO,
                    tx_root: Hash::ZERO,
                    tx_count: 0,
                    ledger_root: Hash::ZERO,
                    ledger_size: 0,
                    state_root: Hash::ZERO,
                    results_root: Hash::ZERO,
                    validators_hash: Hash::ZERO,
                    next_validators_hash: Hash::ZERO,
                    proposer: common::validator_key(0).public(),
                },
                txs: vec![],
            }
        }
        fn valid(&mut self, block: &Block) -> bool {
            block.header.time.0 % 7 != 3
        }
    }
    /// Strict for this node's own key, lenient for the others.
    struct Lenient(PublicKey);
    impl SignatureCheck for Lenient {
        fn vote(&mut self, chain_id: &str, vote: &Vote) -> bool {
            vote.validator != self.0 || vote.verify(chain_id).is_ok()
        }
        fn proposal(&mut self, chain_id: &str, proposal: &Proposal) -> bool {
            proposal.proposer != self.0 || proposal.verify(chain_id).is_ok()
        }
    }

    let genesis = common::genesis();
    let vals = genesis.validator_set();
    let key = common::validator_key(0);
    let me = key.public();
    let mut core = Consensus::new(
        CHAIN,
        key,
        genesis.consensus.clone(),
        vals.clone(),
        1,
        PrivState::default(),
    )
    .with_signature_check(Box::new(Lenient(me)));
    let mut app = App;
    let mut now = Timestamp(10_000);
    let mut fx = core.start_height(1, vals.clone(), now, &mut app);
    let mut rest = data;
    for _ in 0..64 {
        let decided = fx.iter().any(|e| matches!(e, Effect::Decide(..)));
        if decided {
            let next = core.height() + 1;
            fx = core.start_height(next, vals.clone(), now, &mut app);
            continue;
        }
        if rest.len() < 2 {
            break;
        }
        let n = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let (msg, tail) = rest[2..].split_at(n.min(rest.len() - 2));
        rest = tail;
        now = Timestamp(now.0 + 100);
        let input = match from_canonical::<Gossip>(msg) {
            Ok(Gossip::Proposal(p, b)) => Input::Proposal(p, b),
            Ok(Gossip::Vote(v)) => Input::Vote(v),
            _ => Input::Timeout(Timeout {
                height: core.height(),
                round: u32::from(msg.get(1).copied().unwrap_or(0) % 8),
                step: match msg.first().copied().unwrap_or(0) % 3 {
                    0 => Step::Propose,
                    1 => Step::Prevote,
                    _ => Step::Precommit,
                },
            }),
        };
        fx = core.handle(input, now, &mut app).0;
    }
}
