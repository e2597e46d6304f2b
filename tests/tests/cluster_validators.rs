//! Validator-set changes (issue 3 item 4): governance passes a change at height h, header
//! h+1 commits to the new set in `next_validators_hash`, and the set signs from h+2. A node
//! that was offline through the change catches up across it by verified block sync, and an
//! auditor's checkpoint after it verifies from genesis along the validator-set path.

use safeledger_core::records::admin::{GovernanceAction, GovernanceProposal, GovernanceVote};
use safeledger_core::view::Verifier;
use safeledger_core::{Outcome, TxBody};
use safeledger_tests::Cluster;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_validator_set_change_is_followed_by_a_node_that_was_offline() {
    let mut c = Cluster::start().await;
    let agency0 = c.home.genesis.agencies[0].id.clone();
    let genesis_set = c.home.genesis.validator_set();
    c.wait_height(1, Duration::from_secs(30)).await;
    // Node 3 goes offline before the change.
    c.stop_node(3).await;
    let mut client = c.client();
    // Agency 0 proposes doubling its power; agencies 1 and 2 vote yes: 3 of 4 passes.
    let propose = TxBody::GovernanceProposal(GovernanceProposal {
        proposal_id: "power-0".into(),
        action: GovernanceAction::SetValidator {
            agency: agency0.clone(),
            node_key: None,
            power: 2,
        },
        reason: "test: heavier validator".into(),
    });
    let vote = |approve| {
        TxBody::GovernanceVote(GovernanceVote {
            proposal_id: "power-0".into(),
            approve,
        })
    };
    let txs = vec![
        c.signed(0, 1, propose),
        c.signed(1, 1, vote(true)),
        c.signed(2, 1, vote(true)),
    ];
    let mut passed_at = 0;
    for t in &txs {
        let done = client
            .submit_and_wait(std::slice::from_ref(t), Duration::from_secs(60))
            .await
            .expect("governance committed");
        assert_eq!(
            done[0].result.outcome,
            Outcome::Accepted,
            "{:?}",
            done[0].result
        );
        passed_at = done[0].height;
    }
    let h = passed_at;
    // Three nodes go on past the change: block h+1 names the new set, h+2 is signed by it.
    c.wait_height(h + 4, Duration::from_secs(60)).await;
    let mut cl0 = c.node_client(0);
    let (b1, _, _) = cl0.block(h + 1).await.expect("block h+1");
    assert_eq!(b1.header.validators_hash, genesis_set.hash());
    assert_ne!(b1.header.next_validators_hash, genesis_set.hash());
    let (b2, cert2, _) = cl0.block(h + 2).await.expect("block h+2");
    assert_eq!(b2.header.validators_hash, b1.header.next_validators_hash);
    let mut new_set = genesis_set.clone();
    new_set.validators[0].power = 2;
    assert_eq!(b2.header.validators_hash, new_set.hash());
    cert2
        .verify(&c.home.genesis.chain_id, h + 2, &b2.hash(), &new_set)
        .expect("h+2 certified by the new set");

    // Node 3 comes back and catches up across the change.
    c.start_node(3).await;
    let top = c.wait_height(h + 6, Duration::from_secs(90)).await;
    assert!(top.iter().all(|x| *x >= h + 6), "heights {top:?}");
    let ref_hashes = c.hashes(0, h + 6).await;
    assert_eq!(c.hashes(3, h + 6).await, ref_hashes, "node 3 differs");

    // It votes under the new set: with node 1 stopped, 0 (2) + 2 (1) + 3 (1) = 4 of 5 is
    // a quorum only if node 3 signs.
    c.stop_node(1).await;
    let status = c.wait_height(0, Duration::from_secs(1)).await;
    let now = status.iter().copied().max().unwrap_or(0);
    let after = c.wait_height(now + 3, Duration::from_secs(90)).await;
    assert!(after.iter().all(|x| *x >= now + 3), "heights {after:?}");

    // An auditor verifies a checkpoint after the change from genesis alone.
    let store = &c.nodes[3].as_ref().expect("node 3").shared.store;
    let cp = safeledger_node::audit::checkpoint(store, 0).expect("checkpoint");
    assert_eq!(cp.validator_path.len(), 1, "one set change on the path");
    assert_eq!(cp.validator_path[0].header.height, h + 1);
    Verifier::new(&c.home.genesis)
        .verify_checkpoint(&cp)
        .expect("checkpoint verifies along the path");
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_validator_key_rotation_by_governance_lets_the_new_key_sign() {
    let mut c = Cluster::start().await;
    c.wait_height(1, Duration::from_secs(30)).await;
    let agency3 = c.home.genesis.agencies[3].id.clone();
    let new_key = safeledger_core::SecretKey::generate(&mut rand::rngs::OsRng);
    let mut client = c.client();
    let propose = TxBody::GovernanceProposal(GovernanceProposal {
        proposal_id: "rotate-3".into(),
        action: GovernanceAction::SetValidator {
            agency: agency3.clone(),
            node_key: Some(new_key.public()),
            power: 1,
        },
        reason: "test: the node key was rotated".into(),
    });
    let vote = TxBody::GovernanceVote(GovernanceVote {
        proposal_id: "rotate-3".into(),
        approve: true,
    });
    let mut passed_at = 0;
    for t in [
        c.signed(0, 1, propose),
        c.signed(1, 1, vote.clone()),
        c.signed(2, 1, vote),
    ] {
        let done = client
            .submit_and_wait(std::slice::from_ref(&t), Duration::from_secs(60))
            .await
            .expect("governance committed");
        assert_eq!(
            done[0].result.outcome,
            Outcome::Accepted,
            "{:?}",
            done[0].result
        );
        passed_at = done[0].height;
    }
    // Node 3 comes back with the new key (and no signing state for it: the fresh-key rule).
    c.stop_node(3).await;
    c.wait_height(passed_at + 3, Duration::from_secs(60)).await;
    let dir = c.home.agency_dir(&agency3);
    std::fs::write(dir.join("node.key"), new_key.to_hex() + "\n").expect("new key");
    let _ = std::fs::remove_file(dir.join("data").join("priv_state.bin"));
    c.start_node(3).await;
    let now = c.wait_height(0, Duration::from_secs(1)).await;
    let top = now.iter().copied().max().unwrap_or(0);
    let caught = c.wait_height(top + 1, Duration::from_secs(60)).await;
    assert!(
        caught.iter().all(|h| *h > top),
        "node 3 did not rejoin: {caught:?}"
    );
    // With node 1 stopped, 0, 2 and the rotated 3 are the only quorum.
    c.stop_node(1).await;
    let now = c.wait_height(0, Duration::from_secs(1)).await;
    let top = now.iter().copied().max().unwrap_or(0);
    let after = c.wait_height(top + 3, Duration::from_secs(90)).await;
    assert!(
        after.iter().all(|h| *h >= top + 3),
        "the rotated key does not sign: {after:?}"
    );
    c.stop_all().await;
}
