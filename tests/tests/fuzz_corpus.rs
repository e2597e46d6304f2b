//! The fuzz corpus as a regression suite, on stable: every committed input of
//! `fuzz/corpus/<target>/` and every past crash in `fuzz/regressions/<target>/` goes
//! through the same code the coverage-guided targets run (`fuzz/src/checks.rs`), and none
//! may panic. `write_fuzz_seeds` (ignored) regenerates the hand-made seeds.

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use checks::common;
use safeledger_core::encoding::to_canonical;
use safeledger_core::{Block, Vote, VoteType};
use safeledger_node::wire::{Gossip, SyncRequest, SyncResponse};
use std::path::{Path, PathBuf};

const TARGETS: [&str; 7] = [
    "tx",
    "block",
    "gossip",
    "sync",
    "view",
    "csv_import",
    "consensus",
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_file() {
                let bytes = std::fs::read(&p).expect("read corpus file");
                out.push((p, bytes));
            }
        }
    }
    out
}

#[test]
fn fuzz_corpus_and_past_crashes_replay_without_panics() {
    let csv_dir = tempfile::tempdir().expect("tempdir");
    checks::csv_data_dir(csv_dir.path()).expect("templates");
    let mut total = 0;
    for t in TARGETS {
        let files = inputs(t);
        assert!(!files.is_empty(), "no corpus for fuzz target {t}");
        for (path, data) in files {
            eprintln!("{t}: {}", path.display());
            match t {
                "tx" => checks::tx(&data),
                "block" => checks::block(&data),
                "gossip" => checks::gossip(&data),
                "sync" => checks::sync(&data),
                "view" => checks::view(&data),
                "consensus" => checks::consensus(&data),
                _ => checks::csv_import(csv_dir.path(), &data),
            }
            total += 1;
        }
    }
    eprintln!("{total} inputs replayed");
}

/// Writes the hand-made seeds (valid encodings from the synthetic chain) into
/// `fuzz/corpus/<target>/seed-*`. Run with `--ignored` after a format change.
#[test]
#[ignore = "regenerates fuzz seeds"]
fn write_fuzz_seeds() {
    let chain = common::Chain::new(3);
    let block = Block {
        header: chain.h1.clone(),
        txs: chain.txs.clone(),
    };
    let cert1 = common::certify(&chain.h1, &[0, 1, 2]);
    let proposal = safeledger_core::Proposal::new(
        common::CHAIN,
        &common::validator_key(1),
        1,
        0,
        None,
        block.hash(),
    );
    let vote = Vote::new(
        common::CHAIN,
        &common::validator_key(2),
        1,
        0,
        VoteType::Prevote,
        Some(block.hash()),
    );
    let mut seeds: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("tx", chain.txs.iter().map(to_canonical).collect()),
        (
            "block",
            vec![
                to_canonical(&block),
                to_canonical(&(block.clone(), cert1.clone())),
            ],
        ),
        (
            "gossip",
            vec![
                to_canonical(&Gossip::Proposal(proposal.clone(), Box::new(block.clone()))),
                to_canonical(&Gossip::ProposalRef(proposal.clone())),
                to_canonical(&Gossip::ProposalTxIds(
                    proposal.clone(),
                    Box::new(block.header.clone()),
                    block.txs.iter().map(|t| t.id()).collect(),
                )),
                to_canonical(&Gossip::Vote(vote.clone())),
                to_canonical(&Gossip::Txs(chain.txs.clone())),
            ],
        ),
        (
            "sync",
            vec![
                to_canonical(&SyncRequest::Status),
                to_canonical(&SyncRequest::Blocks { from: 1, max: 32 }),
                to_canonical(&SyncRequest::Proposal {
                    height: 1,
                    round: 0,
                }),
                to_canonical(&SyncRequest::Push {
                    proposals: vec![(proposal.clone(), block.clone())],
                    votes: vec![vote],
                }),
                to_canonical(&SyncResponse::Status {
                    height: 1,
                    block_hash: block.hash(),
                }),
                to_canonical(&SyncResponse::Blocks(vec![(block.clone(), cert1)])),
                to_canonical(&SyncResponse::Proposal(
                    proposal.clone(),
                    Box::new(block.clone()),
                )),
                to_canonical(&SyncResponse::Error("no".into())),
            ],
        ),
        (
            "view",
            vec![
                safeledger_core::view::encode(&chain.view(0, &["grade"])).into_bytes(),
                safeledger_core::view::encode(&chain.view(2, &[])).into_bytes(),
                safeledger_core::view::encode(&chain.checkpoint()).into_bytes(),
            ],
        ),
        (
            "csv_import",
            checks::CSV_FILES
                .iter()
                .enumerate()
                .map(|(i, (_, _, t))| {
                    let mut v = vec![i as u8];
                    v.extend_from_slice(t);
                    v
                })
                .collect(),
        ),
    ];
    // The consensus core: a proposal of validator 1 (proposer of height 1, round 0), then
    // prevotes and precommits of validators 1-3 for its block, length-prefixed; and the
    // same with a timeout first.
    let mut decide = Vec::new();
    let mut msgs = vec![Gossip::Proposal(proposal.clone(), Box::new(block.clone()))];
    for t in [VoteType::Prevote, VoteType::Precommit] {
        for i in 1..4 {
            msgs.push(Gossip::Vote(Vote::new(
                common::CHAIN,
                &common::validator_key(i),
                1,
                0,
                t,
                Some(block.hash()),
            )));
        }
    }
    for g in &msgs {
        let b = to_canonical(g);
        decide.extend_from_slice(&(b.len() as u16).to_le_bytes());
        decide.extend_from_slice(&b);
    }
    let mut late = vec![2, 0, 0, 0];
    late.extend_from_slice(&decide);
    seeds.push(("consensus", vec![decide, late]));
    for (t, list) in seeds {
        let dir = fuzz_dir().join("corpus").join(t);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (i, bytes) in list.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), bytes).expect("write seed");
        }
    }
}
