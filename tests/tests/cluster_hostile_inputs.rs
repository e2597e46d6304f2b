//! The hostile-input catalogue (issue 8, item 5): one in-process four-node network is fed,
//! one by one, every kind of bad input that exists today, and each is refused with its
//! typed error — a gRPC status code and a message naming the problem, the node's typed
//! admission error, a rule refusal recorded at execution, or the consensus core ignoring
//! it (counted in `safeledger_consensus_messages_ignored_total`). Afterwards the network
//! still commits, all nodes hold the same blocks, and transactions committed before the
//! attacks are still there.
//!
//! The authenticated API (issue 8 items 1–2) is fed a replayed nonce, a stale timestamp, an
//! unauthenticated write, a forged request signature, an unknown signer, and an auditor
//! reading a private field. There is no streaming RPC, so the "slow client that never reads
//! its stream" case is covered by clients that open connections and never finish (or read)
//! a request.

use safeledger_client::auth::method;
use safeledger_client::proto::{self, ledger_client::LedgerClient as Raw};
use safeledger_core::block::{tx_root, CommitSig};
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{
    AccidentLevel, AccidentReport, EnterpriseRecord, OfficerAction, OfficerActionKind, Penalty,
    PenaltyGrade,
};
use safeledger_core::tx::TxSignature;
use safeledger_core::{
    Block, CommitCertificate, Hash, Outcome, Proposal, PublicKey, SecretKey, Signature, Timestamp,
    Transaction, TxBody, TxId, TxPayload, Vote, VoteType,
};
use safeledger_network::{NetEvent, NetworkConfig, NetworkHandle, PeerInfo, Topic};
use safeledger_node::wire::{Gossip, SyncRequest, SyncResponse};
use safeledger_tests::{audit_code_of, Cluster};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_secs(90);

/// Counts the catalogue's kinds as they are checked.
struct Catalogue {
    kinds: Vec<&'static str>,
}

impl Catalogue {
    fn done(&mut self, kind: &'static str) {
        eprintln!("refused as expected: {kind}");
        self.kinds.push(kind);
    }
}

async fn raw(c: &Cluster) -> Raw<tonic::transport::Channel> {
    Raw::new(
        safeledger_client::tls::connect(&c.endpoints()[0].clone())
            .await
            .expect("connect"),
    )
}

fn payload(c: &Cluster, seq: u64, at: Timestamp, body: TxBody) -> TxPayload {
    TxPayload::new(
        &c.home.genesis.chain_id,
        seq,
        at,
        body,
        &mut rand::rngs::OsRng,
    )
}

fn enterprise_body(local: &str) -> TxBody {
    TxBody::EnterpriseRecord(EnterpriseRecord {
        enterprise: EnterpriseId::namespaced("test", local).expect("id"),
        name: format!("Enterprise {local}"),
        address: "1 Test St".into(),
        linked_ids: vec![],
    })
}

fn penalty_body(enterprise: &str, amount: Option<u64>) -> TxBody {
    TxBody::Penalty(Penalty {
        enterprise: EnterpriseId::parse(enterprise).expect("id"),
        case_id: "hostile-1".into(),
        grade: PenaltyGrade::Minor,
        kind: "citation".into(),
        amount_minor: amount,
        currency: Some("CNY".into()),
        reason: "guardrail missing".into(),
    })
}

/// Submits one encoded transaction; returns the admission or the gRPC status.
async fn submit_raw(
    c: &Cluster,
    r: &mut Raw<tonic::transport::Channel>,
    txs: Vec<Vec<u8>>,
) -> Result<Vec<proto::Admission>, tonic::Status> {
    r.submit_batch(c.req(method::SUBMIT_BATCH, proto::SubmitBatchRequest { txs }))
        .await
        .map(|a| a.into_inner().admissions)
}

/// Asserts one transaction is refused at admission with an error containing `want`.
async fn refused_at_admission(c: &Cluster, tx: &Transaction, want: &str) -> proto::Admission {
    let a = c
        .client()
        .submit(std::slice::from_ref(tx))
        .await
        .expect("answered");
    assert_eq!(a.len(), 1);
    assert!(
        !a[0].admitted && a[0].error.contains(want),
        "expected a refusal naming {want:?}, got {:?}",
        a[0]
    );
    a[0].clone()
}

/// Asserts the encoded batch is refused with `code` and a message containing `want`.
async fn refused_status(c: &Cluster, txs: Vec<Vec<u8>>, code: tonic::Code, want: &str) {
    let mut r = raw(c).await;
    let e = submit_raw(c, &mut r, txs)
        .await
        .expect_err("the batch is refused");
    assert_eq!(e.code(), code, "{e:?}");
    assert!(e.message().contains(want), "expected {want:?} in {e:?}");
}

/// Commits `txs` and returns each one's outcome.
async fn commit(c: &Cluster, txs: &[Transaction]) -> Vec<Outcome> {
    c.client()
        .submit_and_wait(txs, WAIT)
        .await
        .expect("committed")
        .into_iter()
        .map(|d| d.result.outcome)
        .collect()
}

fn refused_by(o: &Outcome, rule: &str) {
    match o {
        Outcome::Refused { rule: r, reason } => {
            assert_eq!(r, rule, "refused by another rule: {reason}");
            assert!(!reason.is_empty());
        }
        Outcome::Accepted => panic!("accepted, expected a refusal by {rule}"),
    }
}

/// `s + L` (the group order), a non-canonical encoding of the same scalar: a malleated
/// ed25519 signature that lax verifiers accept.
fn malleate(sig: &Signature) -> Signature {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = sig.0;
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(out[32 + i]) + u16::from(L[i]) + carry;
        out[32 + i] = v as u8;
        carry = v >> 8;
    }
    Signature(out)
}

fn vm_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn height(c: &Cluster, i: usize) -> u64 {
    let mut cl = c.node_client(i);
    cl.status().await.map(|s| s.height).unwrap_or(0)
}

/// Waits until every running node is at least 2 heights above where the highest was.
async fn advances(c: &Cluster) -> u64 {
    let now = c.wait_height(0, Duration::from_secs(1)).await;
    let top = now.iter().copied().max().unwrap_or(0);
    let after = c.wait_height(top + 2, WAIT).await;
    assert!(
        after.iter().all(|h| *h >= top + 2),
        "the network stopped committing: {after:?}"
    );
    top + 2
}

/// Running nodes agree on every block up to `h`.
async fn agree(c: &Cluster, h: u64) {
    let running: Vec<usize> = (0..c.nodes.len())
        .filter(|i| c.nodes[*i].is_some())
        .collect();
    let reference = c.hashes(running[0], h).await;
    for i in &running[1..] {
        assert_eq!(c.hashes(*i, h).await, reference, "node {i} disagrees");
    }
}

fn peers(c: &Cluster) -> Vec<PeerInfo> {
    c.home
        .genesis
        .agencies
        .iter()
        .map(|a| PeerInfo {
            key: a.node_key,
            addr: a.p2p_addr.clone(),
        })
        .collect()
}

/// A fake validator holding validator `i`'s node key (the node is stopped). To status
/// requests it claims a height far ahead; to block requests it serves a forged block with
/// a forged commit certificate; it never votes.
async fn fake_validator(c: &Cluster, i: usize) -> NetworkHandle {
    let a = &c.home.genesis.agencies[i];
    let (net, mut events) = safeledger_network::start(NetworkConfig {
        node_key: c.home.node_key(&a.id).expect("node key"),
        listen_addr: a.p2p_addr.clone(),
        peers: peers(c),
        chain_id: c.home.genesis.chain_id.clone(),
        max_message_bytes: safeledger_core::limits::MAX_MESSAGE_BYTES,
        max_gossip_bytes: safeledger_core::limits::MAX_GOSSIP_BYTES,
        request_timeout: Duration::from_secs(5),
        limits: Default::default(),
    })
    .await
    .expect("fake network");
    let validators: Vec<PublicKey> = c.home.genesis.agencies.iter().map(|a| a.node_key).collect();
    let mut api = c.node_client(0);
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            let NetEvent::Request { data, reply, .. } = ev else {
                continue;
            };
            let tip = api.status().await.map(|s| s.height).unwrap_or(1).max(1);
            let resp = match from_canonical::<SyncRequest>(&data) {
                Ok(SyncRequest::Status) => SyncResponse::Status {
                    height: tip + 1_000,
                    block_hash: Hash([7; 32]),
                },
                Ok(SyncRequest::Blocks { from, .. }) => match api.block(tip).await {
                    Ok((mut b, _, _)) => {
                        b.header.height = from;
                        let cert = CommitCertificate {
                            height: from,
                            round: 0,
                            block_hash: b.hash(),
                            signatures: validators
                                .iter()
                                .map(|k| CommitSig {
                                    validator: *k,
                                    signature: Signature([5; 64]),
                                })
                                .collect(),
                        };
                        SyncResponse::Blocks(vec![(b, cert)])
                    }
                    Err(_) => SyncResponse::Error("no block".into()),
                },
                _ => SyncResponse::Error("not served".into()),
            };
            reply.send(to_canonical(&resp));
        }
    });
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_refuses_every_kind_of_hostile_input_and_keeps_committing() {
    let limits = safeledger_node::config::NodeLimits {
        mempool_max_txs: 1_500,
        ..Default::default()
    };
    let mut c = Cluster::start_with_limits(limits).await;
    let mut cat = Catalogue { kinds: Vec::new() };
    let chain = c.home.genesis.chain_id.clone();
    let osha = c.officer(3); // accident investigation: enterprise records, penalties
    let bacp = c.officer(0); // licensing

    // Data committed before the attacks, to find intact at the end.
    let before = c.enterprise_txs(3, 1, 3);
    let before_ids: Vec<TxId> = before.iter().map(Transaction::id).collect();
    assert!(commit(&c, &before)
        .await
        .iter()
        .all(|o| *o == Outcome::Accepted));
    let mut seq = 10u64; // next unused sequence of osha's officer

    // --- Signatures and keys -------------------------------------------------------------
    let mut tx = c.enterprise_txs(3, 100, 1).remove(0);
    tx.signatures[0].signature.0[3] ^= 1;
    refused_at_admission(&c, &tx, "signature of").await;
    cat.done("bad signature");

    let good = c.enterprise_txs(3, seq, 1).remove(0);
    seq += 1;
    let mut mal = good.clone();
    mal.signatures[0].signature = malleate(&mal.signatures[0].signature);
    assert_ne!(mal.signatures[0].signature, good.signatures[0].signature);
    let a = refused_at_admission(&c, &mal, "does not verify").await;
    assert_eq!(
        a.tx_id,
        good.id().0.to_vec(),
        "a malleated copy is the same tx"
    );
    commit(&c, std::slice::from_ref(&good)).await;
    let a = c.client().submit(&[mal]).await.expect("answered");
    assert!(a[0].already_committed, "{:?}", a[0]);
    cat.done("malleated signature of a valid transaction (same id, not a new tx)");

    let mut tx = c.enterprise_txs(3, 101, 1).remove(0);
    let mut identity = [0u8; 32];
    identity[0] = 1; // the identity point: small order
    tx.signatures[0].signer = PublicKey(identity);
    refused_at_admission(&c, &tx, "full order").await;
    cat.done("small-order public key");

    let mut tx = c.enterprise_txs(3, 102, 1).remove(0);
    let mut noncanon = [0xffu8; 32];
    noncanon[0] = 0xee; // y = p + 1: a non-canonical encoding
    noncanon[31] = 0x7f;
    tx.signatures[0].signer = PublicKey(noncanon);
    refused_at_admission(&c, &tx, "full order").await;
    cat.done("non-canonical public key encoding");

    let tx = c.enterprise_txs(3, 103, 1).remove(0);
    let other_chain_sig = osha.sign(&safeledger_core::envelope::signing_bytes(
        "another-chain",
        &tx.id(),
    ));
    let mut forged = tx.clone();
    forged.signatures[0].signature = other_chain_sig;
    refused_at_admission(&c, &forged, "does not verify").await;
    cat.done("signature made for another chain's signing bytes");

    let other_chain_officer = SecretKey::generate(&mut rand::rngs::OsRng);
    let tx = Transaction::sign(
        payload(&c, 1, Timestamp(1_000), enterprise_body("x1")),
        &[&other_chain_officer],
    );
    refused_at_admission(&c, &tx, "not a registered officer").await;
    cat.done("signature by another chain's officer key (unknown signer)");

    let mut p = payload(&c, 104, Timestamp(1_000), enterprise_body("x2"));
    p.chain_id = "another-chain".into();
    let tx = Transaction::sign(p, &[&osha]);
    refused_at_admission(&c, &tx, "chain id").await;
    cat.done("wrong chain id");

    let replay = c.enterprise_txs(3, 2, 1).remove(0);
    refused_at_admission(&c, &replay, "not above the last committed").await;
    cat.done("replayed sequence");

    let tx = c.enterprise_txs(3, 0, 1).remove(0);
    refused_at_admission(&c, &tx, "sequence must be at least 1").await;
    cat.done("sequence 0");

    let mut tx = c.enterprise_txs(3, 105, 1).remove(0);
    tx.signatures.push(tx.signatures[0].clone());
    refused_at_admission(&c, &tx, "appears twice").await;
    cat.done("duplicate signer");

    let p = payload(&c, 106, Timestamp(1_000), enterprise_body("x3"));
    let keys: Vec<SecretKey> = (0..9)
        .map(|_| SecretKey::generate(&mut rand::rngs::OsRng))
        .collect();
    let refs: Vec<&SecretKey> = keys.iter().collect();
    refused_at_admission(&c, &Transaction::sign(p.clone(), &refs), "1..=8 signatures").await;
    let none = Transaction {
        payload: p,
        signatures: vec![],
    };
    refused_at_admission(&c, &none, "got 0").await;
    cat.done("too many and no signatures");

    let mut tx = c.enterprise_txs(3, 107, 1).remove(0);
    if let TxBody::EnterpriseRecord(r) = &mut tx.payload.body {
        r.name = "Someone else".into();
    }
    refused_at_admission(&c, &tx, "field_root does not match").await;
    cat.done("body changed after signing (field root)");

    let mut p = payload(&c, 108, Timestamp(1_000), enterprise_body("x4"));
    p.field_salts.pop();
    refused_at_admission(&c, &Transaction::sign(p, &[&osha]), "field salts for").await;
    cat.done("salt count differs from the field count");

    let mut p = payload(&c, 109, Timestamp(1_000), enterprise_body("x5"));
    if let TxBody::EnterpriseRecord(r) = &mut p.body {
        r.name = "n".repeat(safeledger_core::limits::MAX_TEXT_BYTES + 1);
    }
    let p = TxPayload::new(
        &chain,
        109,
        Timestamp(1_000),
        p.body,
        &mut rand::rngs::OsRng,
    );
    refused_at_admission(&c, &Transaction::sign(p, &[&osha]), "field name").await;
    cat.done("text field over its bound");

    // --- Encodings and batches -----------------------------------------------------------
    let big = TxBody::EnterpriseRecord(EnterpriseRecord {
        enterprise: EnterpriseId::namespaced("test", "big").expect("id"),
        name: "big".into(),
        address: "x".repeat(16_000),
        linked_ids: (0..5).map(|_| "y".repeat(16_000)).collect(),
    });
    let tx = Transaction::sign(payload(&c, 110, Timestamp(1_000), big), &[&osha]);
    refused_status(
        &c,
        vec![to_canonical(&tx)],
        tonic::Code::InvalidArgument,
        "exceeds the limit",
    )
    .await;
    cat.done("oversized transaction");

    refused_status(
        &c,
        vec![vec![0u8]; safeledger_core::limits::MAX_BATCH_TXS + 1],
        tonic::Code::InvalidArgument,
        "exceeds the limit",
    )
    .await;
    cat.done("oversized batch");

    refused_status(&c, vec![], tonic::Code::InvalidArgument, "empty batch").await;
    cat.done("empty batch");

    {
        // Field 1 (repeated bytes) sent as a varint: not a SubmitBatchRequest.
        #[derive(Clone, PartialEq, prost::Message)]
        struct NotABatch {
            #[prost(uint64, tag = "1")]
            txs: u64,
        }
        let ch = safeledger_client::tls::connect(&c.endpoints()[0])
            .await
            .expect("connect");
        let mut g = tonic::client::Grpc::new(ch);
        g.ready().await.expect("ready");
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/safeledger.v1.Ledger/SubmitBatch",
        );
        let r: Result<tonic::Response<proto::SubmitBatchReply>, _> = g
            .unary(
                tonic::Request::new(NotABatch { txs: 7 }),
                path,
                tonic_prost::ProstCodec::default(),
            )
            .await;
        let e = r.expect_err("malformed protobuf refused");
        assert!(
            matches!(
                e.code(),
                tonic::Code::Internal | tonic::Code::InvalidArgument
            ) && e.message().contains("decode"),
            "{e:?}"
        );
    }
    cat.done("malformed protobuf");

    refused_status(
        &c,
        vec![vec![1, 2, 3]],
        tonic::Code::InvalidArgument,
        "does not decode",
    )
    .await;
    cat.done("bytes that are not a transaction");

    let ok = to_canonical(&c.enterprise_txs(3, 111, 1)[0]);
    let mut v2 = ok.clone();
    v2[0] = 2;
    refused_status(
        &c,
        vec![v2],
        tonic::Code::InvalidArgument,
        "unknown encoding version",
    )
    .await;
    cat.done("wrong encoding version");

    refused_status(
        &c,
        vec![ok[..ok.len() - 7].to_vec()],
        tonic::Code::InvalidArgument,
        "malformed encoding",
    )
    .await;
    cat.done("truncated encoding");

    let mut trailing = ok.clone();
    trailing.extend_from_slice(&[0, 0]);
    refused_status(
        &c,
        vec![trailing],
        tonic::Code::InvalidArgument,
        "trailing bytes",
    )
    .await;
    cat.done("trailing bytes");

    let uscc = "91350100M000100Y43";
    let tx = Transaction::sign(
        payload(&c, 112, Timestamp(1_000), penalty_body(uscc, None)),
        &[&osha],
    );
    let mut bytes = to_canonical(&tx);
    let at = bytes
        .windows(uscc.len())
        .position(|w| w == uscc.as_bytes())
        .expect("id in the encoding");
    bytes[at + uscc.len() - 1] = b'4'; // wrong check character
    refused_status(
        &c,
        vec![bytes],
        tonic::Code::InvalidArgument,
        "does not decode",
    )
    .await;
    cat.done("invalid unified social credit code");

    let tx = Transaction::sign(
        payload(
            &c,
            113,
            Timestamp(1_000),
            penalty_body("test:e1", Some(u64::MAX)),
        ),
        &[&osha],
    );
    let mut bytes = to_canonical(&tx);
    let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    let at = bytes
        .windows(max.len())
        .position(|w| w == max)
        .expect("amount in the encoding");
    bytes[at + 9] = 0x7f; // a varint above u64::MAX
    refused_status(
        &c,
        vec![bytes],
        tonic::Code::InvalidArgument,
        "does not decode",
    )
    .await;
    cat.done("amount overflowing u64 on the wire");

    let mut r = raw(&c).await;
    let e = r
        .get_transaction(c.req(
            method::GET_TRANSACTION,
            proto::GetTransactionRequest { tx_id: vec![7; 5] },
        ))
        .await
        .expect_err("bad id refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("32 bytes"), "{e:?}");
    let e = r
        .await_commit(c.req(
            method::AWAIT_COMMIT,
            proto::AwaitCommitRequest {
                tx_ids: vec![vec![0; 32]; safeledger_node::grpc::MAX_AWAIT_IDS + 1],
                timeout_ms: 10,
            },
        ))
        .await
        .expect_err("too many ids refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    let e = r
        .query(c.req(
            method::QUERY,
            proto::QueryRequest {
                kind: "drop table".into(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("unknown query refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    cat.done("malformed query arguments (id length, id count, query kind)");

    // --- Refused by rules at execution (on the ledger, with the rule) --------------------
    let far_future = Timestamp(253_402_300_799_000); // 9999-12-31
    let role = Transaction::sign(
        payload(&c, 1, Timestamp(1_000), penalty_body("test:e1", Some(100))),
        &[&bacp],
    );
    let future = Transaction::sign(payload(&c, seq, far_future, enterprise_body("f")), &[&osha]);
    let unknown = Transaction::sign(
        payload(
            &c,
            seq + 1,
            Timestamp(1_000),
            penalty_body("test:nobody", Some(5)),
        ),
        &[&osha],
    );
    let extreme = Transaction::sign(
        payload(
            &c,
            seq + 2,
            Timestamp(1_000),
            TxBody::AccidentReport(AccidentReport {
                enterprise: EnterpriseId::parse("test:e1").expect("id"),
                report_id: "max".into(),
                category: "fatality".into(),
                deaths: u32::MAX,
                serious_injuries: u32::MAX,
                direct_loss_minor: Some(u64::MAX),
                currency: Some("CNY".into()),
                location: "x".into(),
                description: "x".into(),
                level: AccidentLevel::General,
                concealed: false,
            }),
        ),
        &[&osha],
    );
    seq += 3;
    let out = commit(&c, &[role, future, unknown, extreme]).await;
    refused_by(&out[0], "R1-permission");
    cat.done("signer whose agency role forbids the type");
    refused_by(&out[1], "R0-effective-date");
    cat.done("effective date far in the future");
    refused_by(&out[2], "R0-enterprise");
    cat.done("unknown enterprise for a follow-up record");
    refused_by(&out[3], "R0-accident-level");
    cat.done("extreme counts and amounts (u32::MAX deaths, u64::MAX loss) with a wrong level");

    // --- A revoked officer ---------------------------------------------------------------
    let newcomer = SecretKey::generate(&mut rand::rngs::OsRng);
    let officer_tx = |s: u64, action: OfficerActionKind| {
        Transaction::sign(
            payload(
                &c,
                s,
                Timestamp(1_000),
                TxBody::OfficerAction(OfficerAction {
                    officer: newcomer.public(),
                    action,
                    name: "inspector 7".into(),
                    roles: match action {
                        OfficerActionKind::Revoke => vec![],
                        _ => vec!["head".into()],
                    },
                }),
            ),
            &[&osha],
        )
    };
    let reg = officer_tx(seq, OfficerActionKind::Register);
    assert_eq!(commit(&c, &[reg]).await, vec![Outcome::Accepted]);
    let works = Transaction::sign(
        payload(&c, 1, Timestamp(1_000), enterprise_body("by-newcomer")),
        &[&newcomer],
    );
    assert_eq!(commit(&c, &[works]).await, vec![Outcome::Accepted]);
    let rev = officer_tx(seq + 1, OfficerActionKind::Revoke);
    seq += 2;
    assert_eq!(commit(&c, &[rev]).await, vec![Outcome::Accepted]);
    let after = Transaction::sign(
        payload(&c, 2, Timestamp(1_000), enterprise_body("by-revoked")),
        &[&newcomer],
    );
    refused_at_admission(&c, &after, "not a registered officer").await;
    cat.done("revoked officer");

    // --- Slow and half-open clients -------------------------------------------------------
    let grpc = c.endpoints()[0].trim_start_matches("https://").to_string();
    let mut slow = Vec::new();
    for k in 0..24 {
        let mut s = tokio::net::TcpStream::connect(&grpc).await.expect("tcp");
        // Half an HTTP/2 preface, or a preface and a flood of garbage; never read.
        let junk: Vec<u8> = if k % 2 == 0 {
            b"PRI * HTTP/2.0\r\n".to_vec()
        } else {
            let mut v = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            v.extend(std::iter::repeat_n(0xab, 256 * 1024));
            v
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), s.write_all(&junk)).await;
        slow.push(s);
    }
    let h = height(&c, 0).await;
    assert!(h > 0, "the node stopped answering other clients");
    let txs = c.enterprise_txs(3, seq, 2);
    seq += 2;
    commit(&c, &txs).await;
    drop(slow);
    cat.done("slow clients that never finish or read a request (no streaming RPC exists)");

    // --- Network: a peer outside the genesis -------------------------------------------
    let port = safeledger_node::cli::home::free_port().expect("port");
    let (intruder, _events) = safeledger_network::start(NetworkConfig {
        node_key: SecretKey::from_bytes(&[42; 32]),
        listen_addr: format!("/ip4/127.0.0.1/tcp/{port}"),
        peers: peers(&c),
        chain_id: chain.clone(),
        max_message_bytes: 1 << 20,
        max_gossip_bytes: 1 << 20,
        request_timeout: Duration::from_secs(2),
        limits: Default::default(),
    })
    .await
    .expect("intruder network");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let v = Vote::new(
        &chain,
        &SecretKey::from_bytes(&[42; 32]),
        1,
        0,
        VoteType::Prevote,
        None,
    );
    for _ in 0..5 {
        let _ = intruder.publish(Topic::Consensus, to_canonical(&Gossip::Vote(v.clone())));
    }
    for a in &c.home.genesis.agencies {
        let r = intruder
            .request(a.node_key, to_canonical(&SyncRequest::Status))
            .await;
        assert!(r.is_err(), "a non-member got an answer");
    }
    intruder.shutdown();
    cat.done("message from a peer not in the genesis");

    // --- Consensus: a fake validator holding validator 3's key ---------------------------
    c.stop_node(3).await;
    let fake = fake_validator(&c, 3).await;
    let fake_key = c
        .home
        .node_key(&c.home.genesis.agencies[3].id)
        .expect("key");
    tokio::time::sleep(Duration::from_secs(3)).await; // let the mesh form
    let ignored_before = c.nodes[0]
        .as_ref()
        .expect("node 0")
        .shared
        .metrics
        .consensus_ignored
        .get();
    let tip = height(&c, 0).await;
    let next = tip + 1;
    let (tip_block, _, _) = c.client().block(tip).await.expect("tip block");
    let publish = |g: Gossip| {
        let _ = fake.publish(Topic::Consensus, to_canonical(&g));
    };
    let stranger = SecretKey::generate(&mut rand::rngs::OsRng);
    for round in 0..3 {
        publish(Gossip::Vote(Vote::new(
            &chain,
            &stranger,
            next,
            round,
            VoteType::Prevote,
            Some(Hash([9; 32])),
        )));
    }
    cat.done("vote from a non-validator");
    publish(Gossip::Vote(Vote::new(
        &chain,
        &fake_key,
        next + 1_000_000,
        0,
        VoteType::Precommit,
        Some(Hash([8; 32])),
    )));
    cat.done("vote for a far-future height");
    // Rounds of `next` whose proposer is (not) validator 3.
    let vals = &c.home.genesis.agencies;
    let proposer_of = |r: u32| ((next + u64::from(r)) % vals.len() as u64) as usize;
    let not_mine = (0..4).find(|r| proposer_of(*r) != 3).expect("round");
    let mine = (0..4).find(|r| proposer_of(*r) == 3).expect("round");
    let mut wrong = tip_block.clone();
    wrong.header.height = next;
    wrong.header.prev_hash = tip_block.hash();
    wrong.header.proposer = fake_key.public();
    let p = Proposal::new(&chain, &fake_key, next, not_mine, None, wrong.hash());
    publish(Gossip::Proposal(p, Box::new(wrong)));
    cat.done("proposal from the wrong proposer");
    // A header whose tx_root and tx_count do not match the body it travels with.
    let body: Vec<Transaction> = c.enterprise_txs(3, seq + 50, 1);
    let mut bad = Block {
        header: tip_block.header.clone(),
        txs: body,
    };
    bad.header.height = next;
    bad.header.prev_hash = tip_block.hash();
    bad.header.proposer = fake_key.public();
    bad.header.time = Timestamp(tip_block.header.time.0 + 1);
    bad.header.tx_count = 3;
    bad.header.tx_root = tx_root(&c.enterprise_txs(3, seq + 60, 3));
    let bad_hash = bad.hash();
    let p = Proposal::new(&chain, &fake_key, next, mine, None, bad_hash);
    publish(Gossip::Proposal(p.clone(), Box::new(bad)));
    // The same proposal with a block that does not hash to it.
    publish(Gossip::Proposal(p, Box::new(tip_block.clone())));
    cat.done("block whose header does not match its body");
    let _ = fake.publish(Topic::Consensus, vec![0xff; 200]);
    cat.done("undecodable consensus gossip from a validator's key");
    let mut forged_tx = c.enterprise_txs(3, seq + 70, 1).remove(0);
    forged_tx.signatures[0] = TxSignature {
        signer: osha.public(),
        signature: Signature([3; 64]),
    };
    let invalid = |c: &Cluster| {
        c.nodes[0]
            .as_ref()
            .map(|n| {
                n.shared
                    .metrics
                    .txs_rejected
                    .with_label_values(&["admission_invalid"])
                    .get()
            })
            .unwrap_or(0)
    };
    let invalid_before = invalid(&c);
    let _ = fake.publish(
        Topic::Transactions,
        to_canonical(&Gossip::Txs(vec![forged_tx])),
    );

    // Nodes 0, 1 and 2 keep deciding without validator 3, and agree.
    let top = advances(&c).await;
    agree(&c, top).await;
    let n0 = &c.nodes[0].as_ref().expect("node 0").shared.metrics;
    assert!(
        n0.consensus_ignored.get() > ignored_before,
        "the forged consensus messages were not counted as ignored"
    );
    for k in 1..=top {
        let (b, _, _) = c.client().block(k).await.expect("block");
        assert_ne!(b.hash(), bad_hash, "the mismatched block was committed");
    }
    assert!(
        invalid(&c) > invalid_before,
        "the gossiped forged transaction was not refused at admission"
    );
    cat.done("gossiped transaction batch with a forged signature");
    // The far-future vote made the fake look ahead: nodes asked it for blocks, got a
    // forged certificate, and banned it.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let bans: u64 = (0..3)
            .filter_map(|i| c.nodes[i].as_ref())
            .map(|n| n.shared.metrics.sync_bans.get())
            .sum();
        if bans > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no node refused the forged sync response"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cat.done("sync response with a forged certificate");

    // --- The authenticated API ----------------------------------------------------------
    {
        use safeledger_client::auth::{now_ms, Signer};
        let officer = c.signer(3);
        let block1 = || proto::GetBlockRequest { height: 1 };
        let mut r = raw(&c).await;
        // The same signed request twice: the second is a replay.
        let nonce: [u8; 16] = rand::random();
        let at = now_ms();
        let mut first = tonic::Request::new(block1());
        officer.sign_at(&mut first, method::GET_BLOCK, at, nonce);
        r.get_block(first)
            .await
            .expect("the first use of a nonce is served");
        let mut again = tonic::Request::new(block1());
        officer.sign_at(&mut again, method::GET_BLOCK, at, nonce);
        let e = r.get_block(again).await.expect_err("replay refused");
        assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
        assert!(e.message().contains("replayed"), "{e:?}");
        cat.done("request with a replayed nonce (UNAUTHENTICATED)");

        for skew in [-600_000i64, 600_000] {
            let mut stale = tonic::Request::new(block1());
            officer.sign_at(
                &mut stale,
                method::GET_BLOCK,
                now_ms().saturating_add_signed(skew),
                rand::random(),
            );
            let e = r.get_block(stale).await.expect_err("stale refused");
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
            assert!(e.message().contains("stale"), "{e:?}");
        }
        cat.done("request with a stale (or far-future) timestamp (UNAUTHENTICATED)");

        let write = c.enterprise_txs(3, seq, 1);
        let e = r
            .submit_batch(proto::SubmitBatchRequest {
                txs: write.iter().map(to_canonical).collect(),
            })
            .await
            .expect_err("unsigned write refused");
        assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
        assert!(e.message().contains("officer"), "{e:?}");
        // The valid transaction inside did not get in by that path.
        let n0 = &c.nodes[0].as_ref().expect("node 0").shared;
        assert!(!n0
            .mempool
            .lock()
            .map(|p| p.contains(&write[0].id()))
            .unwrap_or(true));
        cat.done("unauthenticated write (UNAUTHENTICATED)");

        // Signed by one key, claimed by another; and a key nobody registered.
        let mut forged = tonic::Request::new(block1());
        officer.sign(&mut forged, method::GET_BLOCK);
        let other = c.signer(2).public().to_hex();
        forged
            .metadata_mut()
            .insert("sl-signer", other.parse().expect("ascii"));
        let e = r.get_block(forged).await.expect_err("forged refused");
        assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
        let stranger = Signer::new(
            SecretKey::generate(&mut rand::rngs::OsRng),
            c.home.genesis.chain_id.clone(),
        );
        let e = r
            .get_block(safeledger_client::auth::request(
                Some(&stranger),
                method::GET_BLOCK,
                block1(),
            ))
            .await
            .expect_err("stranger refused");
        assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
        assert!(e.message().contains("not a registered officer"), "{e:?}");
        cat.done("request signature forged or by an unregistered key (UNAUTHENTICATED)");

        // An enterprise record whose legal name only chicago-bacp's node (node 0) holds
        // (node 3 is down at this point of the catalogue).
        let bacp_seq = c.client().sequence(&bacp.public()).await.expect("sequence") + 1;
        let mut report = Transaction::sign(
            payload(
                &c,
                bacp_seq,
                Timestamp(1_000),
                TxBody::EnterpriseRecord(EnterpriseRecord {
                    enterprise: EnterpriseId::namespaced("test", "private-1").expect("id"),
                    name: "J. Doe Roofing (sole trader J. Doe)".into(),
                    address: "1 Test St".into(),
                    linked_ids: vec![],
                }),
            ),
            &[&bacp],
        );
        let values = report.payload.withhold(&["name"]).expect("withhold");
        c.node_client(0)
            .store_private(&[(report.clone(), values)])
            .await
            .expect("kept at chicago-bacp");
        assert_eq!(commit(&c, &[report.clone()]).await, vec![Outcome::Accepted]);
        commit(&c, &c.enterprise_txs(3, seq, 1)).await; // certifies the record's result
        seq += 1;
        let node0 = vec![c.home.genesis.agencies[0].grpc_addr.clone()];
        let mut audit =
            safeledger_client::audit::AuditClient::new(node0.clone()).signed_by(c.auditor());
        let e = audit
            .view(report.id(), &["name".into()], None)
            .await
            .expect_err("auditor refused a private field");
        let (code, msg) = audit_code_of(e);
        assert_eq!(code, tonic::Code::PermissionDenied, "{msg}");
        assert!(msg.contains("private field name"), "{msg}");
        // The auditor still gets the public fields, and the officer of the holding agency
        audit
            .view(report.id(), &["address".into()], None)
            .await
            .expect("auditor reads public fields");
        // the private one, once the read is declared on chain.
        audit = safeledger_client::audit::AuditClient::new(node0).signed_by(c.signer(0));
        let e = audit
            .view(report.id(), &["name".into()], None)
            .await
            .expect_err("an undeclared read of a private field is refused");
        let (code, msg) = audit_code_of(e);
        assert_eq!(code, tonic::Code::PermissionDenied, "{msg}");
        assert!(msg.contains("must first be declared"), "{msg}");
        let declaration = Transaction::sign(
            payload(
                &c,
                bacp_seq + 1,
                Timestamp(1_000),
                TxBody::PrivateRead(safeledger_core::records::PrivateRead {
                    record: report.id(),
                    fields: vec!["name".into()],
                    purpose: "licence review".into(),
                }),
            ),
            &[&bacp],
        );
        assert_eq!(
            commit(&c, std::slice::from_ref(&declaration)).await,
            vec![Outcome::Accepted]
        );
        let v = audit
            .view_declared(report.id(), &["name".into()], None, Some(declaration.id()))
            .await
            .expect("the holding agency's officer reads it");
        assert!(safeledger_core::view::encode(&v).contains("sole trader J. Doe"));
        cat.done("auditor reading a private field (PERMISSION_DENIED)");
    }

    // --- Flood past the mempool limit ----------------------------------------------------
    // Node 2 down as well: nothing commits, so the pool of node 0 fills.
    c.stop_node(2).await;
    let rss_before = vm_rss_kib();
    let flood = c.enterprise_txs(3, seq, 3 * 1_000);
    seq += 3_000;
    let mut r = raw(&c).await;
    let mut exhausted = 0;
    let mut full_in_batch = 0;
    for chunk in flood.chunks(1_000) {
        match submit_raw(&c, &mut r, chunk.iter().map(to_canonical).collect()).await {
            Ok(adm) => {
                full_in_batch += adm
                    .iter()
                    .filter(|a| a.error.contains("mempool full"))
                    .count()
            }
            Err(e) => {
                assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
                assert!(e.message().contains("mempool full"), "{e:?}");
                exhausted += 1;
            }
        }
    }
    assert!(exhausted >= 1, "a flood past the limit was never refused");
    assert!(
        full_in_batch >= 1,
        "the batch that crossed the limit was not cut"
    );
    let rss_after = vm_rss_kib();
    let n0 = &c.nodes[0].as_ref().expect("node 0").shared;
    assert!(n0.mempool.lock().map(|p| p.len()).unwrap_or(0) <= limits.mempool_max_txs);
    eprintln!(
        "flood: {} transactions sent, mempool held {}; test process RSS {:?} KiB -> {:?} KiB",
        flood.len(),
        limits.mempool_max_txs,
        rss_before,
        rss_after
    );
    cat.done("flood of valid transactions past the mempool limit (RESOURCE_EXHAUSTED)");

    // --- Afterwards: the network commits, agrees, and kept what it had ------------------
    fake.shutdown();
    c.start_node(2).await;
    c.start_node(3).await;
    let txs = c.enterprise_txs(3, seq, 3);
    commit(&c, &txs).await;
    let top = advances(&c).await;
    agree(&c, top).await;
    for i in 0..4 {
        let mut cl = c.node_client(i);
        for id in &before_ids {
            let (tx, _, _, res) = cl.transaction(*id).await.expect("earlier tx still there");
            assert_eq!(tx.id(), *id);
            assert_eq!(res.outcome, Outcome::Accepted);
        }
    }
    eprintln!("{} kinds of hostile input refused", cat.kinds.len());
    assert!(cat.kinds.len() >= 30, "only {} kinds", cat.kinds.len());
    c.stop_all().await;
}
