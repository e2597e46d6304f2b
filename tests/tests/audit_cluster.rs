//! End to end: four real nodes commit records; an auditor fetches a view over gRPC,
//! verifies it offline against genesis.json alone, and a tampered copy fails naming the
//! element; checkpoints are consistent and a view can be anchored in a checkpoint's ledger.

use safeledger_client::audit::{check_consistency, AuditClient};
use safeledger_core::view::{decode, encode, Element, FieldPart, FieldView, Verifier, View};
use safeledger_node::cli::audit as cli;
use safeledger_tests::Cluster;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_cluster_view_verifies_offline_and_tampering_fails() {
    let mut c = Cluster::start().await;
    let genesis = c.home.genesis.clone();
    let genesis_file = c.home.dir.join("genesis.json");
    let txs = c.enterprise_txs(0, 1, 6);
    let done = c
        .client()
        .submit_and_wait(&txs, Duration::from_secs(60))
        .await
        .expect("committed");
    let top = done.iter().map(|d| d.height).max().unwrap_or(0);
    // A result is certified by the next header.
    c.wait_height(top + 1, Duration::from_secs(30)).await;
    let audit = AuditClient::new(c.endpoints()).signed_by(c.auditor());
    let id = done[2].tx_id;
    let view = audit
        .view(id, &["name".to_string()], None)
        .await
        .expect("view");
    let verified = Verifier::new(&genesis).verify(&view).expect("valid view");
    assert_eq!(verified.tx_id, id);
    assert_eq!(verified.revealed.len(), 2, "type and name");
    assert!(verified.hidden.contains(&"address".to_string()));
    let text = encode(&view);
    assert!(
        !text.contains("1 Test St"),
        "a hidden field leaked into the view"
    );

    // Offline, from the files alone.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("view.json");
    std::fs::write(&file, &text).unwrap();
    cli::verify(&file, &genesis_file, None).expect("audit verify accepts the view");
    let mut tampered: View = decode(text.as_bytes()).unwrap();
    let name_at = tampered
        .tx
        .fields
        .iter()
        .position(|f| matches!(f, FieldView::Revealed { name, .. } if name == "name"))
        .unwrap();
    if let FieldView::Revealed {
        canonical, value, ..
    } = &mut tampered.tx.fields[name_at]
    {
        *canonical = safeledger_core::to_canonical(&"Another Name".to_string());
        *value = Some("Another Name".into());
    }
    let err = Verifier::new(&genesis).verify(&tampered).unwrap_err();
    assert_eq!(err.element, Element::FieldRoot);
    if let FieldView::Revealed { value, .. } = &mut tampered.tx.fields[name_at] {
        *value = Some("Enterprise 2".into());
    }
    let err = Verifier::new(&genesis).verify(&tampered).unwrap_err();
    assert_eq!(err.element, Element::Field(name_at, FieldPart::Value));
    std::fs::write(&file, encode(&tampered)).unwrap();
    let msg = cli::verify(&file, &genesis_file, None)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&format!("tx.fields[{name_at}].value")),
        "{msg}"
    );

    // Checkpoints: the older ledger is a prefix of the newer; a view anchored in the newer.
    let cp1 = audit.checkpoint(0).await.expect("checkpoint");
    let more = c.enterprise_txs(0, 7, 4);
    let done2 = c
        .client()
        .submit_and_wait(&more, Duration::from_secs(60))
        .await
        .expect("committed");
    let top2 = done2.iter().map(|d| d.height).max().unwrap_or(0);
    c.wait_height(top2 + 1, Duration::from_secs(30)).await;
    let cp2 = audit.checkpoint(0).await.expect("checkpoint");
    let v = Verifier::new(&genesis);
    v.verify_checkpoint(&cp1).unwrap();
    v.verify_checkpoint(&cp2).unwrap();
    assert!(cp2.header.ledger_size >= cp1.header.ledger_size + 4);
    let (a, b) = (cp1.header.ledger_size, cp2.header.ledger_size);
    let proof = audit.consistency(a, b).await.expect("proof");
    check_consistency(&cp1, &cp2, &proof).expect("consistent");
    assert!(check_consistency(&cp2, &cp1, &proof).is_err());
    let cp_file = dir.path().join("cp2.json");
    std::fs::write(&cp_file, encode(&cp2)).unwrap();
    let anchored = audit.view(id, &[], Some(b)).await.expect("anchored view");
    let incl = audit.ledger_inclusion(id, b).await.expect("inclusion");
    assert_eq!(Some(&incl), anchored.ledger.as_ref());
    let mut trusting = Verifier::new(&genesis);
    trusting.trust_checkpoint(&cp2).unwrap();
    trusting
        .verify(&anchored)
        .expect("anchored in the checkpoint");
    assert_eq!(
        Verifier::new(&genesis)
            .verify(&anchored)
            .unwrap_err()
            .element,
        Element::LedgerTreeSize
    );
    std::fs::write(&file, encode(&anchored)).unwrap();
    cli::verify(&file, &genesis_file, Some(&cp_file)).expect("verify with --checkpoint");
    c.stop_all().await;
}
