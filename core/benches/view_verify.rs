//! View verification on one core (issue 5's benchmark): single-field views of one block
//! verified against an already-verified checkpoint (the certified header h+1 trusted, so
//! its certificate is not checked again), and verified from genesis with the commit
//! certificate's signatures (3 of 4 validators); one view at a time and 64 views per call
//! (all signatures in one ed25519 batch). `ed25519_verify_strict` is the floor: one
//! signature check. Run: `cargo bench -p safeledger-core --bench view_verify`.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use safeledger_core::view::{decode, encode, Verifier, View};
use std::hint::black_box;

const VIEWS: usize = 256;

fn bench(c: &mut Criterion) {
    let chain = common::Chain::new(VIEWS as u64);
    let views: Vec<View> = (0..VIEWS)
        .map(|i| chain.view(i, &["amount_minor"]))
        .collect();
    let from_genesis = Verifier::new(&chain.genesis);
    let mut with_checkpoint = Verifier::new(&chain.genesis);
    with_checkpoint
        .trust_checkpoint(&chain.checkpoint())
        .expect("checkpoint");
    for v in &views {
        assert!(!from_genesis.verify(v).unwrap().from_checkpoint);
        assert!(with_checkpoint.verify(v).unwrap().from_checkpoint);
    }
    let json: Vec<String> = views.iter().map(encode).collect();

    let mut g = c.benchmark_group("view_verify");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("single_field_against_checkpoint", |b| {
        b.iter(|| {
            i = (i + 1) % VIEWS;
            black_box(with_checkpoint.verify(black_box(&views[i])).unwrap());
        })
    });
    g.bench_function("single_field_with_certificate", |b| {
        b.iter(|| {
            i = (i + 1) % VIEWS;
            black_box(from_genesis.verify(black_box(&views[i])).unwrap());
        })
    });
    for (name, verifier) in [
        ("batch64_against_checkpoint", &with_checkpoint),
        ("batch64_with_certificate", &from_genesis),
    ] {
        g.throughput(Throughput::Elements(64));
        let mut k = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                k = (k + 64) % VIEWS;
                let r = verifier.verify_all(black_box(&views[k..k + 64]));
                assert!(r.iter().all(Result::is_ok));
                black_box(r);
            })
        });
    }
    g.throughput(Throughput::Elements(1));
    let key = common::officer_key(0);
    let msg = b"safeledger/tx/v1 a message of about the size of a signing message".to_vec();
    let sig = key.sign(&msg);
    let pk = key.public();
    g.bench_function("ed25519_verify_strict", |b| {
        b.iter(|| black_box(pk.verify(black_box(&msg), black_box(&sig))).unwrap())
    });
    g.bench_function("decode_json_and_verify_against_checkpoint", |b| {
        b.iter(|| {
            i = (i + 1) % VIEWS;
            let v: View = decode(black_box(json[i].as_bytes())).unwrap();
            black_box(with_checkpoint.verify(&v).unwrap());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
