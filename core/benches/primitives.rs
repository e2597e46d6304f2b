//! Criterion benchmarks of the primitives every transaction pays for (issue 7 item 2):
//! canonical encoding and decoding of a signed transaction, its stateless check, ed25519
//! verification one at a time and in batches of 64 (dalek's `verify_strict` /
//! `verify_batch`, and the ledger's rule of `keys.rs`), and BLAKE3 Merkle trees and inclusion
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
    // The ledger's rule (keys.rs: ZIP 215 via ed25519-zebra plus canonical, not-small-order
    // key and R), single and batched; distinct keys, and one key for all (coalesced terms,
    // as when one officer submits a bulk import).
    use safeledger_core::keys::{verify_batch, SignedMessage};
    use safeledger_core::{PublicKey, Signature};
    let pks: Vec<PublicKey> = vks.iter().map(|v| PublicKey(v.to_bytes())).collect();
    let ls: Vec<Signature> = sigs.iter().map(|s| Signature(s.to_bytes())).collect();
    let one = SecretKey::from_bytes(&[9; 32]);
    let one_pk = one.public();
    let one_sigs: Vec<Signature> = msgs.iter().map(|m| one.sign(m)).collect();
    g.throughput(Throughput::Elements(1));
    g.bench_function("ledger_verify_single", |b| {
        b.iter(|| {
            i = (i + 1) % 64;
            pks[i].verify(&msgs[i], &ls[i]).expect("valid")
        })
    });
    let items: Vec<SignedMessage<'_>> = (0..64)
        .map(|k| SignedMessage {
            key: &pks[k],
            message: &msgs[k],
            signature: &ls[k],
        })
        .collect();
    let same: Vec<SignedMessage<'_>> = (0..64)
        .map(|k| SignedMessage {
            key: &one_pk,
            message: &msgs[k],
            signature: &one_sigs[k],
        })
        .collect();
    // As the node verifies batches: coefficients from the thread's CSPRNG.
    #[allow(clippy::disallowed_methods)]
    let mut rng = rand::thread_rng();
    g.throughput(Throughput::Elements(64));
    g.bench_function("ledger_verify_batch_64", |b| {
        b.iter(|| assert!(verify_batch(&items, &mut rng).iter().all(Result::is_ok)))
    });
    g.bench_function("ledger_verify_batch_64_one_key", |b| {
        b.iter(|| assert!(verify_batch(&same, &mut rng).iter().all(Result::is_ok)))
    });
    g.finish();

    let mut g = c.benchmark_group("transaction_batch");
    let refs64: Vec<&Transaction> = txs.iter().take(64).collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("check_stateless_batch_64", |b| {
        b.iter(|| {
            let r = safeledger_core::tx::check_stateless_batch(&refs64, "bench", &mut rng);
            assert!(r.iter().all(Result::is_ok))
        })
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
