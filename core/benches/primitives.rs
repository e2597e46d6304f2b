//! Criterion benchmarks of the primitives every transaction pays for (issue 7 item 2):
//! canonical encoding and decoding of a signed transaction, its stateless check, ed25519
//! verification one at a time and in batches of 64, and BLAKE3 Merkle trees and inclusion
//! proofs over a 2,000-transaction block. Run: `cargo bench -p safeledger-core --bench
//! primitives`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::merkle::{leaf_hash, root};
use safeledger_core::proof::{prove_one, verify_one};
use safeledger_core::records::{InspectionOutcome, InspectionRecord, TxBody};
use safeledger_core::{SecretKey, Timestamp, Transaction, TxPayload};
use std::hint::black_box;

fn tx(key: &SecretKey, seq: u64) -> Transaction {
    let body = TxBody::InspectionRecord(InspectionRecord {
        enterprise: EnterpriseId::namespaced("bench", &format!("e{seq}")).expect("id"),
        inspection_id: format!("I-{seq}"),
        inspection_type: "Canvass".into(),
        outcome: InspectionOutcome::Fail,
        score: Some(71),
        violation_counts: [1, 2, 0],
        violations: vec![],
        follow_up_of: None,
    });
    let p = TxPayload::new("bench", seq, Timestamp(1_000), body, &mut rand::rngs::OsRng);
    Transaction::sign(p, &[key])
}

fn bench(c: &mut Criterion) {
    let key = SecretKey::from_bytes(&[7; 32]);
    let txs: Vec<Transaction> = (1..=2_000).map(|s| tx(&key, s)).collect();
    let bytes: Vec<Vec<u8>> = txs.iter().map(to_canonical).collect();

    let mut g = c.benchmark_group("transaction");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("encode", |b| {
        b.iter(|| {
            i = (i + 1) % txs.len();
            black_box(to_canonical(black_box(&txs[i])))
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            i = (i + 1) % txs.len();
            black_box(from_canonical::<Transaction>(black_box(&bytes[i])).expect("decodes"))
        })
    });
    g.bench_function("check_stateless", |b| {
        b.iter(|| {
            i = (i + 1) % txs.len();
            txs[i].check_stateless("bench").expect("valid")
        })
    });
    g.bench_function("id", |b| {
        b.iter(|| {
            i = (i + 1) % txs.len();
            black_box(txs[i].id())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ed25519");
    use ed25519_dalek::{Signer, SigningKey};
    let keys: Vec<SigningKey> = (0..64u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 96]).collect();
    let sigs: Vec<ed25519_dalek::Signature> =
        keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let vks: Vec<ed25519_dalek::VerifyingKey> = keys.iter().map(|k| k.verifying_key()).collect();
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_strict", |b| {
        b.iter(|| {
            i = (i + 1) % 64;
            vks[i].verify_strict(&msgs[i], &sigs[i]).expect("valid")
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("verify_batch_64", |b| {
        b.iter(|| ed25519_dalek::verify_batch(&refs, &sigs, &vks).expect("valid"))
    });
    g.finish();

    let mut g = c.benchmark_group("merkle");
    let leaves: Vec<_> = bytes.iter().map(|b| leaf_hash(b)).collect();
    let r = root(&leaves);
    g.throughput(Throughput::Elements(leaves.len() as u64));
    g.bench_function("root_2000_leaves", |b| {
        b.iter(|| black_box(root(black_box(&leaves))))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("inclusion_proof_of_2000", |b| {
        b.iter(|| {
            i = (i + 1) % leaves.len();
            black_box(prove_one(&leaves, i as u64).expect("proof"))
        })
    });
    let proofs: Vec<_> = (0..leaves.len())
        .map(|k| prove_one(&leaves, k as u64).expect("proof"))
        .collect();
    g.bench_function("verify_inclusion_of_2000", |b| {
        b.iter(|| {
            i = (i + 1) % leaves.len();
            verify_one(&r, leaves.len() as u64, i as u64, &leaves[i], &proofs[i]).expect("valid")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
