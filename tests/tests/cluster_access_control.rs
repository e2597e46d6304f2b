//! Who may call what (issue 8 items 1–2): the public, an auditor and officers against a
//! running four-node network, each refused with `UNAUTHENTICATED` or `PERMISSION_DENIED`
//! and a reason where it has no right, and served where it has one. An officer's revocation
//! on chain refuses its very next request. Over TLS, a client pinning another certificate
//! than the genesis gives a node does not reach it.

use safeledger_client::audit::AuditClient;
use safeledger_client::auth::{method, Signer};
use safeledger_client::proto::{self, ledger_client::LedgerClient as Raw};
use safeledger_client::rpc::{ClientError, LedgerClient};
use safeledger_core::records::{OfficerAction, OfficerActionKind, TxBody};
use safeledger_core::{Outcome, SecretKey};
use safeledger_tests::{audit_code_of, Cluster};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn code_of(e: ClientError) -> (tonic::Code, String) {
    match e {
        ClientError::Status(s) => (s.code(), s.message().to_string()),
        other => panic!("expected a gRPC status, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_access_control_by_role_public_auditor_officer_and_revocation() {
    let mut c = Cluster::start().await;
    let txs = c.enterprise_txs(3, 1, 3);
    let done = c
        .client()
        .submit_and_wait(&txs, WAIT)
        .await
        .expect("committed");
    // One more block certifies the results, so views can be built.
    c.client()
        .submit_and_wait(&c.enterprise_txs(3, 4, 1), WAIT)
        .await
        .expect("committed");
    let id = done[0].tx_id;

    // The public: status, checkpoints and consistency proofs; nothing else.
    let mut public = LedgerClient::new(c.endpoints());
    public.status().await.expect("status is public");
    let audit_public = AuditClient::new(c.endpoints());
    let cp = audit_public
        .checkpoint(0)
        .await
        .expect("checkpoints are public");
    audit_public
        .consistency(1, cp.header.ledger_size)
        .await
        .expect("consistency proofs are public");
    let (code, msg) = code_of(public.block(1).await.expect_err("blocks are not public"));
    assert_eq!(code, tonic::Code::Unauthenticated, "{msg}");
    let (code, msg) = code_of(
        public
            .submit(&txs)
            .await
            .expect_err("writes need an officer"),
    );
    assert_eq!(code, tonic::Code::Unauthenticated, "{msg}");
    let (code, msg) = audit_code_of(
        audit_public
            .view(id, &["name".into()], None)
            .await
            .expect_err("views need an auditor or officer"),
    );
    assert_eq!(code, tonic::Code::Unauthenticated, "{msg}");

    // The auditor: views of public fields and inclusion proofs, the access and read logs;
    // not blocks, writes or other queries.
    let auditor = AuditClient::new(c.endpoints()).signed_by(c.auditor());
    auditor
        .view(id, &["name".into()], None)
        .await
        .expect("an auditor reads a view");
    auditor
        .ledger_inclusion(id, cp.header.ledger_size)
        .await
        .expect("an auditor reads an inclusion proof");
    let mut as_auditor = LedgerClient::new(c.endpoints()).signed_by(c.auditor());
    for (what, e) in [
        ("block", as_auditor.block(1).await.err()),
        ("submit", as_auditor.submit(&txs).await.err()),
        ("query", as_auditor.query("evidence", "", "", 1).await.err()),
        (
            "enterprise",
            as_auditor.enterprise("test:e1", 1).await.err(),
        ),
    ] {
        let (code, msg) = code_of(e.unwrap_or_else(|| panic!("auditor allowed to {what}")));
        assert_eq!(code, tonic::Code::PermissionDenied, "{what}: {msg}");
        assert!(msg.contains("auditor"), "{what}: {msg}");
    }
    // ... but the access and read logs, which an auditor checks; not unsigned.
    for kind in ["access_log", "read_log"] {
        as_auditor
            .query(kind, "", "", 5)
            .await
            .unwrap_or_else(|e| panic!("an auditor reads the {kind}: {e}"));
        let (code, _) = code_of(
            LedgerClient::new(c.endpoints())
                .query(kind, "", "", 5)
                .await
                .expect_err("the logs are not public"),
        );
        assert_eq!(code, tonic::Code::Unauthenticated, "{kind}");
    }

    // An officer of one agency may not hand private values to another agency's node.
    let (code, msg) = code_of(
        LedgerClient::new(vec![c.home.genesis.agencies[0].grpc_addr.clone()])
            .signed_by(c.signer(3))
            .store_private(&[])
            .await
            .expect_err("foreign node refuses"),
    );
    assert_eq!(code, tonic::Code::PermissionDenied, "{msg}");

    // A request signed for another chain does not verify here.
    let foreign = Signer::new(c.officer(3), "another-chain");
    let (code, msg) = code_of(
        LedgerClient::new(c.endpoints())
            .signed_by(foreign)
            .block(1)
            .await
            .expect_err("signed for another chain"),
    );
    assert_eq!(code, tonic::Code::Unauthenticated, "{msg}");

    // An officer registered on chain reads; once revoked on chain, its next request is
    // refused with the revocation as the reason.
    let newcomer = SecretKey::generate(&mut rand::rngs::OsRng);
    let officer_tx = |seq: u64, action: OfficerActionKind| {
        c.signed(
            3,
            seq,
            TxBody::OfficerAction(OfficerAction {
                officer: newcomer.public(),
                action,
                name: "inspector 9".into(),
                roles: match action {
                    OfficerActionKind::Revoke => vec![],
                    _ => vec!["head".into()],
                },
            }),
        )
    };
    let reg = officer_tx(5, OfficerActionKind::Register);
    let r = c.client().submit_and_wait(&[reg], WAIT).await.expect("reg");
    assert_eq!(r[0].result.outcome, Outcome::Accepted);
    let mut as_newcomer =
        LedgerClient::new(vec![c.home.genesis.agencies[1].grpc_addr.clone()]).signed_by(
            Signer::new(newcomer.clone(), c.home.genesis.chain_id.clone()),
        );
    as_newcomer
        .block(1)
        .await
        .expect("a registered officer reads blocks");
    let rev = officer_tx(6, OfficerActionKind::Revoke);
    let r = c.client().submit_and_wait(&[rev], WAIT).await.expect("rev");
    assert_eq!(r[0].result.outcome, Outcome::Accepted);
    // Node 1 may be a block behind the node that answered; give it the revocation.
    c.wait_height(r[0].height, WAIT).await;
    let (code, msg) = code_of(as_newcomer.block(1).await.expect_err("revoked"));
    assert_eq!(code, tonic::Code::PermissionDenied, "{msg}");
    assert!(msg.contains("revoked"), "{msg}");

    // A raw request whose body was changed after signing.
    let mut r = Raw::new(
        safeledger_client::tls::connect(&c.endpoints()[0].clone())
            .await
            .expect("connect"),
    );
    let mut req = tonic::Request::new(proto::GetBlockRequest { height: 1 });
    c.signer(0).sign(&mut req, method::GET_BLOCK);
    req.get_mut().height = 2;
    let e = r.get_block(req).await.expect_err("changed body");
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("does not verify"), "{e:?}");

    // Officers still write and the network still commits.
    c.client()
        .submit_and_wait(&c.enterprise_txs(3, 7, 2), WAIT)
        .await
        .expect("officers still write");

    // TLS: a client that pins another certificate for node 0's address does not talk to it.
    let url = c.home.genesis.agencies[0].grpc_addr.clone();
    assert!(url.starts_with("https://"), "{url}");
    let (impostor, _) = safeledger_client::tls::generate_identity("127.0.0.1").expect("cert");
    safeledger_client::tls::pin(&url, &impostor);
    let e = LedgerClient::new(vec![url.clone()])
        .status()
        .await
        .expect_err("a certificate other than the pinned one is refused");
    assert!(matches!(e, ClientError::Unreachable(_)), "{e}");
    safeledger_client::tls::pin(&url, &c.home.genesis.agencies[0].tls_cert);
    LedgerClient::new(vec![url])
        .status()
        .await
        .expect("the pinned certificate is accepted");
    c.stop_all().await;
}
