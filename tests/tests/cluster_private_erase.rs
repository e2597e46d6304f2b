//! Erasing private fields end to end (issue 5 item 7; DESIGN §4 "Private fields"): the
//! recording agency (us-osha) withholds an accident report's location and description,
//! then erases the description at its node with `safeledger private erase`. The node keeps
//! a tombstone and the location, its views mark the description erased and still verify
//! against genesis, and an agency granted access afterwards never gets the description —
//! the recorder refuses it as erased and the grantee stops asking — while it still gets the
//! location.

use safeledger_client::audit::AuditClient;
use safeledger_client::rpc::{ClientError, LedgerClient};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::admin::{AccessGrant, AccessRequest};
use safeledger_core::records::{AccidentLevel, AccidentReport, EnterpriseRecord, TxBody};
use safeledger_core::view::{FieldView, Verifier, View, VIEW_VERSION, VIEW_VERSION_ERASED};
use safeledger_core::{Hash, Outcome, Transaction, TxId};
use safeledger_node::cli::private;
use safeledger_tests::Cluster;
use std::time::{Duration, Instant};

const LOCATION: &str = "Bay 4, 1 Test St";
const SECRET: &str = "Employee J. Doe fell from a ladder at bay 4";
/// Positions of `location` and `description` in an accident report.
const LOCATION_AT: usize = 7;
const DESCRIPTION_AT: usize = 8;

fn index_of(c: &Cluster, agency: &str) -> usize {
    c.home
        .genesis
        .agencies
        .iter()
        .position(|a| a.id == agency)
        .expect("agency")
}

fn node(c: &Cluster, i: usize) -> LedgerClient {
    c.node_client(i)
}

fn holds(c: &Cluster, i: usize, id: &TxId, text: &str) -> bool {
    let want = safeledger_core::to_canonical(&text.to_string());
    c.nodes[i]
        .as_ref()
        .and_then(|n| n.shared.private.get(id).ok())
        .is_some_and(|v| v.iter().any(|p| p.value == want))
}

fn code(r: Result<Vec<safeledger_client::proto::ErasedField>, ClientError>) -> tonic::Code {
    match r {
        Err(ClientError::Status(s)) => s.code(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn commit(c: &Cluster, tx: Transaction) -> (u64, Outcome) {
    let done = c
        .client()
        .submit_and_wait(std::slice::from_ref(&tx), Duration::from_secs(60))
        .await
        .expect("committed");
    (done[0].height, done[0].result.outcome.clone())
}

async fn view_at(c: &Cluster, i: usize, id: TxId, reveal: &[String]) -> View {
    let client =
        AuditClient::new(vec![c.home.genesis.agencies[i].grpc_addr.clone()]).signed_by(c.auditor());
    let start = Instant::now();
    loop {
        match client.view(id, reveal, None).await {
            Ok(v) => return v,
            // The next block certifies the result: retry until it is committed.
            Err(_) if start.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no view from node {i}: {e}"),
        }
    }
}

fn erased_flag(v: &View, at: usize) -> bool {
    match &v.tx.fields[at] {
        FieldView::Hidden { erased, .. } => *erased,
        FieldView::Revealed { .. } => panic!("field {at} revealed"),
    }
}

async fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < within, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_erased_private_field_shows_erased_in_views_and_is_never_disclosed() {
    let mut c = Cluster::start().await;
    let osha = index_of(&c, "us-osha");
    let bacp = index_of(&c, "chicago-bacp");
    let cdph = index_of(&c, "chicago-cdph");
    let enterprise = EnterpriseId::namespaced("us-osha-insp", "78").expect("id");
    let rec = c.signed(
        osha,
        1,
        TxBody::EnterpriseRecord(EnterpriseRecord {
            enterprise: enterprise.clone(),
            name: "Acme Roofing".into(),
            address: "1 Test St".into(),
            linked_ids: vec![],
        }),
    );
    assert_eq!(commit(&c, rec).await.1, Outcome::Accepted);
    let mut report = c.signed(
        osha,
        2,
        TxBody::AccidentReport(AccidentReport {
            enterprise,
            report_id: "A-78".into(),
            category: "fall".into(),
            deaths: 1,
            serious_injuries: 0,
            direct_loss_minor: None,
            currency: None,
            location: LOCATION.into(),
            description: SECRET.into(),
            level: AccidentLevel::General,
            concealed: false,
        }),
    );
    let values = report
        .payload
        .withhold(&["location", "description"])
        .expect("withholdable");
    let id = report.id();
    node(&c, osha)
        .store_private(&[(report.clone(), values)])
        .await
        .expect("kept");
    let (height, outcome) = commit(&c, report).await;
    assert_eq!(outcome, Outcome::Accepted);
    c.wait_height(height, Duration::from_secs(30)).await;
    assert!(holds(&c, osha, &id, SECRET));

    // Refusals first: they change nothing.
    let erase = |i: usize, tx: TxId, fields: &[&str]| {
        let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        let mut n = node(&c, i);
        async move { n.erase_private(&tx, &fields).await }
    };
    assert_eq!(
        code(erase(osha, Hash([9; 32]), &[]).await),
        tonic::Code::NotFound
    );
    assert_eq!(
        code(erase(osha, id, &["colour"]).await),
        tonic::Code::InvalidArgument
    );
    assert_eq!(
        code(erase(osha, id, &["category"]).await),
        tonic::Code::FailedPrecondition,
        "a public field was erasable"
    );
    assert_eq!(
        code(erase(cdph, id, &["description"]).await),
        tonic::Code::FailedPrecondition,
        "a node that never held the value erased it"
    );
    assert!(holds(&c, osha, &id, SECRET));

    // The operator command erases the description at us-osha's node; twice is once.
    let fields = vec!["description".to_string()];
    let first = private::erase(&c.home, "us-osha", id, &fields)
        .await
        .expect("erased");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].name, "description");
    assert!(first[0].newly_erased);
    let again = private::erase(&c.home, "us-osha", id, &fields)
        .await
        .expect("idempotent");
    assert!(!again[0].newly_erased);
    assert_eq!(again[0].erased_at_ms, first[0].erased_at_ms);
    let text = private::render(&id, "us-osha", &again);
    assert!(text.contains("was erased already"), "{text}");
    // The node keeps the location and a tombstone, not the description.
    assert!(!holds(&c, osha, &id, SECRET));
    assert!(holds(&c, osha, &id, LOCATION));
    let shared = &c.nodes[osha].as_ref().expect("running").shared;
    let tombs = shared.private.erased(&id).expect("tombstones");
    assert_eq!(tombs.len(), 1);
    assert_eq!(tombs[0].name, "description");
    assert_eq!(tombs[0].erased_at.0, first[0].erased_at_ms);

    // us-osha's view marks the description erased and verifies against genesis; another
    // node's view of the same record has the same digests and no flag (erasure is local).
    let verifier = Verifier::new(&c.home.genesis);
    let v = view_at(&c, osha, id, &[]).await;
    assert_eq!(v.version, VIEW_VERSION_ERASED);
    assert!(erased_flag(&v, DESCRIPTION_AT));
    assert!(!erased_flag(&v, LOCATION_AT));
    let ok = verifier
        .verify(&v)
        .expect("the view with an erased field verifies");
    assert_eq!(ok.erased, fields);
    let shown = safeledger_node::cli::audit::render(&ok);
    assert!(shown.contains("erased: description"), "{shown}");
    let other = view_at(&c, cdph, id, &[]).await;
    assert_eq!(other.version, VIEW_VERSION);
    assert!(!erased_flag(&other, DESCRIPTION_AT));
    assert!(verifier.verify(&other).expect("verifies").erased.is_empty());
    assert_eq!(
        other.tx.fields[DESCRIPTION_AT],
        {
            let mut f = v.tx.fields[DESCRIPTION_AT].clone();
            if let FieldView::Hidden { erased, .. } = &mut f {
                *erased = false;
            }
            f
        },
        "the digest differs between nodes"
    );
    // Not even to an officer of the recording agency, at its own node.
    let reveal = AuditClient::new(vec![c.home.genesis.agencies[osha].grpc_addr.clone()])
        .signed_by(c.signer(osha))
        .view(id, &fields, None)
        .await;
    assert!(reveal.is_err(), "an erased field was revealed");

    // bacp is granted the description afterwards: us-osha refuses it as erased and bacp
    // stops asking; a later grant of the location still reaches it.
    let ask = |seq: u64, rid: &str, field: &str| {
        c.signed(
            bacp,
            seq,
            TxBody::AccessRequest(AccessRequest {
                request_id: rid.into(),
                record: id,
                fields: vec![field.into()],
                purpose: "licence review of the enterprise".into(),
            }),
        )
    };
    let grant = |seq: u64, rid: &str| {
        c.signed(
            osha,
            seq,
            TxBody::AccessGrant(AccessGrant {
                requester: "chicago-bacp".into(),
                request_id: rid.into(),
                approve: true,
                reason: "statutory review".into(),
            }),
        )
    };
    assert_eq!(
        commit(&c, ask(1, "AR-1", "description")).await.1,
        Outcome::Accepted
    );
    assert_eq!(commit(&c, grant(3, "AR-1")).await.1, Outcome::Accepted);
    let refusals = || shared.metrics.private_erased_refusals.get();
    wait_until(
        "us-osha refused the erased field",
        Duration::from_secs(30),
        || refusals() > 0,
    )
    .await;
    let seen = refusals();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        refusals(),
        seen,
        "the grantee kept asking for an erased value"
    );
    assert!(!holds(&c, bacp, &id, SECRET));
    assert_eq!(
        commit(&c, ask(2, "AR-2", "location")).await.1,
        Outcome::Accepted
    );
    assert_eq!(commit(&c, grant(4, "AR-2")).await.1, Outcome::Accepted);
    wait_until(
        "bacp received the location",
        Duration::from_secs(30),
        || holds(&c, bacp, &id, LOCATION),
    )
    .await;
    for i in 0..4 {
        assert!(
            !holds(&c, i, &id, SECRET),
            "node {i} holds the erased value"
        );
    }
    c.stop_all().await;
}
