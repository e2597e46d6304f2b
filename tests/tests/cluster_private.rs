//! Private fields end to end (issue 5 item 7): an accident report's description is withheld
//! by the recording agency (us-osha) — only its commitment is replicated — and reaches
//! another agency only through an access request, the recording agency's grant on chain,
//! and a transfer between the two nodes. Agencies never granted access never hold it.

use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::admin::{AccessGrant, AccessRequest};
use safeledger_core::records::{AccidentLevel, AccidentReport, EnterpriseRecord, TxBody};
use safeledger_core::Outcome;
use safeledger_tests::Cluster;
use std::time::{Duration, Instant};

const SECRET: &str = "Employee J. Doe fell from a ladder at bay 4";

fn index_of(c: &Cluster, agency: &str) -> usize {
    c.home
        .genesis
        .agencies
        .iter()
        .position(|a| a.id == agency)
        .expect("agency")
}

fn holds_secret(c: &Cluster, i: usize, id: &safeledger_core::TxId) -> bool {
    c.nodes[i]
        .as_ref()
        .and_then(|n| n.shared.private.get(id).ok())
        .is_some_and(|v| {
            v.iter()
                .any(|p| p.value == safeledger_core::to_canonical(&SECRET.to_string()))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_private_field_reaches_only_the_agency_granted_access() {
    let mut c = Cluster::start().await;
    let osha = index_of(&c, "us-osha");
    let bacp = index_of(&c, "chicago-bacp");
    let cdph = index_of(&c, "chicago-cdph");
    let mut client = c.client();
    let enterprise = EnterpriseId::namespaced("us-osha-insp", "77").expect("id");
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
    client
        .submit_and_wait(&[rec], Duration::from_secs(60))
        .await
        .expect("enterprise");
    // The recording officer signs the full report; its description is withheld.
    let full = c.signed(
        osha,
        2,
        TxBody::AccidentReport(AccidentReport {
            enterprise,
            report_id: "A-77".into(),
            category: "fall".into(),
            deaths: 1,
            serious_injuries: 0,
            direct_loss_minor: None,
            currency: None,
            location: "Chicago, IL".into(),
            description: SECRET.into(),
            level: AccidentLevel::General,
            concealed: false,
        }),
    );
    let mut withheld = full.clone();
    let values = withheld
        .payload
        .withhold(&["description"])
        .expect("withholdable");
    let id = withheld.id();
    assert_eq!(id, full.id(), "withholding keeps the id");
    // Only the recording agency's node takes the values.
    let node = |i: usize| {
        safeledger_client::rpc::LedgerClient::new(vec![c.home.genesis.agencies[i]
            .grpc_addr
            .clone()])
        .signed_by(c.signer(i))
    };
    let refused = node(cdph)
        .store_private(&[(withheld.clone(), values.clone())])
        .await;
    assert!(
        refused.is_err(),
        "another agency's node kept private values"
    );
    assert_eq!(
        node(osha)
            .store_private(&[(withheld.clone(), values.clone())])
            .await
            .expect("kept"),
        1
    );
    let done = client
        .submit_and_wait(std::slice::from_ref(&withheld), Duration::from_secs(60))
        .await
        .expect("report committed");
    assert_eq!(
        done[0].result.outcome,
        Outcome::Accepted,
        "{:?}",
        done[0].result
    );
    // Every node stores the report without its description.
    c.wait_height(done[0].height, Duration::from_secs(30)).await;
    for i in 0..4 {
        let (tx, _, _, _) = node(i).transaction(id).await.expect("stored");
        let TxBody::AccidentReport(r) = &tx.payload.body else {
            panic!("not a report")
        };
        assert!(r.description.is_empty(), "node {i} holds the description");
        assert_eq!(holds_secret(&c, i, &id), i == osha, "node {i}");
    }
    // A grant by an agency that did not record it is refused; the recorder's is taken.
    let ask = c.signed(
        bacp,
        1,
        TxBody::AccessRequest(AccessRequest {
            request_id: "AR-1".into(),
            record: id,
            fields: vec!["description".into()],
            purpose: "licence review of the enterprise".into(),
        }),
    );
    let answer = |who: usize, seq: u64| {
        c.signed(
            who,
            seq,
            TxBody::AccessGrant(AccessGrant {
                requester: "chicago-bacp".into(),
                request_id: "AR-1".into(),
                approve: true,
                reason: "statutory review".into(),
            }),
        )
    };
    for (tx, want) in [
        (ask, None),
        (answer(cdph, 1), Some("R1-access-grant")),
        (answer(osha, 3), None),
    ] {
        let done = client
            .submit_and_wait(std::slice::from_ref(&tx), Duration::from_secs(60))
            .await
            .expect("committed");
        match (want, &done[0].result.outcome) {
            (None, Outcome::Accepted) => {}
            (Some(rule), Outcome::Refused { rule: got, .. }) if got == rule => {}
            (w, got) => panic!("wanted {w:?}, got {got:?}"),
        }
    }
    // The granted agency's node fetches the value from us-osha's; nobody else gets it.
    let start = Instant::now();
    while !holds_secret(&c, bacp, &id) && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        holds_secret(&c, bacp, &id),
        "the granted agency never got the value"
    );
    for i in 0..4 {
        assert_eq!(holds_secret(&c, i, &id), i == osha || i == bacp, "node {i}");
    }
    let log = client
        .query("access_log", "", "", 0)
        .await
        .expect("access log");
    assert_eq!(log.as_array().map(Vec::len), Some(1), "{log}");
    c.stop_all().await;
}
