//! The `safeledger assistance request | respond | list` commands (issue 4 item 5) against
//! four real nodes: a request is listed as open for the addressed agency until that
//! agency answers it; another agency cannot answer it (R1).

use safeledger_core::{Outcome, Timestamp};
use safeledger_node::cli::assistance::{self, NewRequest};
use safeledger_tests::Cluster;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_assistance_commands_request_list_and_respond() {
    let mut c = Cluster::start().await;
    let from = c.home.genesis.agencies[0].id.clone();
    let to = c.home.genesis.agencies[3].id.clone();
    let txs = c.enterprise_txs(0, 1, 1);
    c.client()
        .submit_and_wait(&txs, Duration::from_secs(60))
        .await
        .expect("enterprise committed");
    let enterprise = txs[0].payload.body.enterprise().expect("id").to_string();

    // A malformed enterprise id is caught before anything is sent.
    let bad = NewRequest {
        from: from.clone(),
        to: to.clone(),
        enterprise: "no namespace".into(),
        subject: "boilers".into(),
        due_hours: None,
        request_id: None,
        effective_at: Timestamp(2_000),
        timeout: Duration::from_secs(60),
    };
    assert!(assistance::request(&c.home, &bad).await.is_err());

    let asked = assistance::request(
        &c.home,
        &NewRequest {
            enterprise: enterprise.clone(),
            due_hours: Some(48),
            request_id: Some("boilers-1".into()),
            ..bad
        },
    )
    .await
    .expect("request committed");
    assert_eq!(
        asked.result.outcome,
        Outcome::Accepted,
        "{:?}",
        asked.result
    );

    let open = assistance::list(&c.home, &to, true, false)
        .await
        .expect("list");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].0.tx_id, asked.tx_id);
    assert_eq!(open[0].0.request_id, "boilers-1");
    assert_eq!(
        open[0].0.due_at.0 - open[0].0.created_at.0,
        48 * 3_600_000,
        "due 48 h after the committing block"
    );
    let overdue = assistance::list(&c.home, &to, false, true)
        .await
        .expect("list");
    assert!(overdue.is_empty(), "{overdue:?}");
    // The requesting agency has nothing addressed to it, so it finds nothing to answer.
    assert!(
        assistance::respond(&c.home, &from, asked.tx_id, "x", Timestamp(3_000), T)
            .await
            .is_err()
    );

    let answered = assistance::respond(
        &c.home,
        &to,
        asked.tx_id,
        "boilers verified",
        Timestamp(3_000),
        T,
    )
    .await
    .expect("answer committed");
    assert_eq!(
        answered.result.outcome,
        Outcome::Accepted,
        "{:?}",
        answered.result
    );
    let left = assistance::list(&c.home, &to, true, true)
        .await
        .expect("list");
    assert!(left.is_empty(), "{left:?}");
    // Answered once: a second answer finds no unanswered request.
    assert!(
        assistance::respond(&c.home, &to, asked.tx_id, "again", Timestamp(4_000), T)
            .await
            .is_err()
    );
    c.stop_all().await;
}
