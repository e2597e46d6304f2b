//! State sync (issue 22 item 3) with real node processes: a validator that never ran
//! joins a running network by `node start --state-sync` while one of the peers serving
//! snapshots lies (every chunk it serves has a changed byte). The lying peer is skipped,
//! the snapshot is taken from the others, the node block-syncs from the snapshot's height,
//! holds the same chain, and signs: with another validator stopped, the network commits
//! only with its votes.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::procnet::{heights, status, ProcNet};
use safeledger_client::rpc::LedgerClient;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::{ids::EnterpriseId, Timestamp, Transaction, TxPayload};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Waits until every node of `nodes` reports at least height `h`.
async fn wait_nodes(net: &ProcNet, nodes: &[usize], h: u64, within: Duration) {
    let start = Instant::now();
    loop {
        let hs = heights(net).await;
        if nodes.iter().all(|i| hs[*i].is_some_and(|x| x >= h)) {
            return;
        }
        assert!(
            start.elapsed() < within,
            "nodes {nodes:?} did not reach height {h}: {hs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Node `i` takes a state snapshot every `interval` heights (0: none) from its next start.
fn snapshot_every(net: &ProcNet, i: usize, interval: u64) {
    std::fs::write(
        net.agency_dir(i).join("node.toml"),
        format!("snapshot_interval = {interval}\n"),
    )
    .expect("node.toml");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_state_sync_joins_with_one_lying_peer_skipped() {
    let mut net = ProcNet::init();
    for i in 0..4 {
        snapshot_every(&net, i, 5);
    }
    // Node 2 stays out: three of four validators commit without it.
    net.spawn(0);
    net.spawn_with(
        1,
        &[],
        &[(safeledger_node::snapshot::LYING_SNAPSHOT_ENV, "1")],
    );
    net.spawn(3);
    wait_nodes(&net, &[0, 1, 3], 2, Duration::from_secs(60)).await;

    // Some records, so that the state holds more than genesis.
    let key = net.officer(0);
    let chain = net.chain_id();
    let mut client = LedgerClient::new(vec![net.endpoints[0].clone()]).signed_by(net.signer(0));
    let mut rng = rand::rngs::OsRng;
    let txs: Vec<Transaction> = (1..=30u64)
        .map(|k| {
            let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                enterprise: EnterpriseId::namespaced("sync", &format!("e{k}")).expect("id"),
                name: format!("enterprise {k}"),
                address: "loopback".into(),
                linked_ids: vec![],
            });
            Transaction::sign(
                TxPayload::new(&chain, k, Timestamp(1_000), body, &mut rng),
                &[&key],
            )
        })
        .collect();
    let out = client
        .submit_and_wait_detailed(&txs, Duration::from_secs(60))
        .await
        .expect("records committed");
    let acks: BTreeMap<_, _> = out
        .committed
        .iter()
        .map(|c| (c.tx_id, (c.height, c.index)))
        .collect();
    assert_eq!(acks.len(), 30, "{out:?}");
    let last_ack = acks.values().map(|(h, _)| *h).max().unwrap_or(0);
    // A snapshot after the records, whose header h+1 is committed.
    let snap_at = (last_ack / 5 + 1) * 5;
    wait_nodes(&net, &[0, 1, 3], snap_at + 3, Duration::from_secs(90)).await;
    // Restarted without taking new snapshots, the three hold the same ones while node 2
    // syncs (one being written at one node but not yet at another would leave the newest
    // offered by fewer peers), so the liar is among the sources for certain.
    let liar_env = [(safeledger_node::snapshot::LYING_SNAPSHOT_ENV, "1")];
    for i in [0, 1, 3] {
        net.terminate(i);
        snapshot_every(&net, i, 0);
        net.spawn_with(i, &[], if i == 1 { &liar_env[..] } else { &[] });
    }
    let now = heights(&net).await.into_iter().flatten().max().unwrap_or(0);
    wait_nodes(&net, &[0, 1, 3], now + 2, Duration::from_secs(60)).await;

    net.spawn_with(2, &["--state-sync"], &[]);
    let top = heights(&net).await.into_iter().flatten().max().unwrap_or(0);
    wait_nodes(&net, &[2], top + 2, Duration::from_secs(120)).await;

    let log = std::fs::read_to_string(net.agency_dir(2).join("node.log")).expect("log");
    assert!(log.contains("state sync: snapshot installed"), "{log}");
    for l in log.lines().filter(|l| l.contains("state sync")) {
        eprintln!("{l}");
    }
    let liar = &net.node_keys[1][..8];
    assert!(
        log.lines()
            .any(|l| l.contains("state sync: peer skipped") && l.contains(liar)),
        "the lying peer {liar} was not skipped:\n{log}"
    );
    // It did not replay: blocks before the snapshot are not here.
    let mut c2 = LedgerClient::new(vec![net.endpoints[2].clone()]).signed_by(net.signer(2));
    assert!(c2.block(1).await.is_err(), "block 1 on a state-synced node");

    // It signs: with node 0 stopped, three validators commit only with node 2's votes.
    net.kill9(0);
    let at = status(&net.endpoints[2]).await.expect("status").height;
    wait_nodes(&net, &[1, 2, 3], at + 3, Duration::from_secs(60)).await;
    let min = heights(&net).await[1..]
        .iter()
        .flatten()
        .copied()
        .min()
        .unwrap_or(0);
    common::assert_same_chain_and_acks_once(&net.endpoints[1..], &net.signer(1), min, &acks).await;
    // And the synced node's state answers as the others': a record before the snapshot.
    let e = EnterpriseId::namespaced("sync", "e7").expect("id");
    let mine = c2
        .enterprise(e.as_str(), 10)
        .await
        .expect("enterprise on the synced node");
    let theirs = LedgerClient::new(vec![net.endpoints[3].clone()])
        .signed_by(net.signer(3))
        .enterprise(e.as_str(), 10)
        .await
        .expect("enterprise");
    assert_eq!(mine, theirs);
}

/// Runs `safeledger ARGS --home HOME` and expects success.
fn cli(net: &ProcNet, args: &[&str]) -> String {
    let out = common::run(args, &net.home);
    let (stdout, stderr) = common::text(&out);
    assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
    stdout
}

/// Agency 0 proposes `args` (a `governance` command) as proposal `id`, and `voters` vote
/// yes.
fn propose_and_pass(net: &ProcNet, args: &[&str], id: &str, voters: &[String]) {
    let mut propose = args.to_vec();
    propose.extend(["--id", id, "--reason", "test", "--agency", &net.agencies[0]]);
    cli(net, &propose);
    for voter in voters {
        cli(net, &["governance", "vote", id, "--yes", "--agency", voter]);
    }
}

/// Whether node `i`'s key signed the commit certificate of height `h` (read from node
/// `from`).
async fn signed_at(net: &ProcNet, from: usize, i: usize, h: u64) -> bool {
    let (_, cert, _) = LedgerClient::new(vec![net.endpoints[from].clone()])
        .signed_by(net.signer(from))
        .block(h)
        .await
        .expect("block");
    cert.signatures
        .iter()
        .any(|s| s.validator.to_hex() == net.node_keys[i])
}

/// Issue 22 item 8: an agency added by governance, with its addresses and certificate on
/// chain, is dialled by the others, joins by state sync, and signs from the height its
/// power takes effect (with another validator stopped, the network commits only with its
/// votes); set to power 0 by governance, it signs no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_state_sync_a_validator_added_by_governance_joins_and_signs_until_removed() {
    let mut net = ProcNet::init();
    for i in 0..4 {
        snapshot_every(&net, i, 5);
    }
    for i in 0..4 {
        net.spawn(i);
    }
    wait_nodes(&net, &[0, 1, 2, 3], 2, Duration::from_secs(60)).await;
    // The new agency's own step: keys and its public agency.json.
    let new_dir = net.home.join("new-agency");
    let out = std::process::Command::new(common::EXE)
        .args(["keys", "generate", "--agency", "new-agency", "--out"])
        .arg(&new_dir)
        .output()
        .expect("keys generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(new_dir.join("node.toml"), "snapshot_interval = 5\n").expect("node.toml");
    let n = net.add_agency("new-agency");
    let a: Vec<String> = net.agencies.clone();
    let file = new_dir.join("agency.json");
    let add = [
        "governance",
        "add-agency",
        "--agency-file",
        file.to_str().expect("path"),
    ];
    propose_and_pass(&net, &add, "ADD-1", &a[1..3]);
    let passed = heights(&net).await[0].unwrap_or(0);
    // A snapshot after the change passed, so that the new node also syncs across it.
    wait_nodes(&net, &[0, 1, 2, 3], passed + 8, Duration::from_secs(60)).await;
    net.spawn_with(n, &["--state-sync"], &[]);
    let top = heights(&net).await[..4]
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0);
    wait_nodes(&net, &[n], top + 2, Duration::from_secs(120)).await;
    let log = std::fs::read_to_string(net.agency_dir(n).join("node.log")).expect("log");
    assert!(log.contains("state sync: snapshot installed"), "{log}");

    // Five validators of power 1: with node 0 stopped, four commit only with the new one.
    net.kill9(0);
    let at = heights(&net).await[n].unwrap_or(0);
    wait_nodes(&net, &[1, 2, 3, n], at + 3, Duration::from_secs(60)).await;
    assert!(
        signed_at(&net, 1, n, at + 2).await,
        "the new validator signed"
    );
    net.spawn(0);
    wait_nodes(&net, &[0, 1, 2, 3, n], at + 5, Duration::from_secs(60)).await;

    // Power 0: it signs no more from two heights after the change passes.
    let remove = ["governance", "set-validator", "new-agency", "--power", "0"];
    // The new agency's officer votes through the CLI like any other (its key in its
    // directory, its agency known on chain).
    let voters = [a[1].clone(), a[2].clone(), a[n].clone()];
    propose_and_pass(&net, &remove, "REMOVE-1", &voters);
    let removed = heights(&net).await[0].unwrap_or(0);
    wait_nodes(&net, &[0, 1, 2, 3], removed + 6, Duration::from_secs(60)).await;
    for h in removed + 3..=removed + 5 {
        assert!(
            !signed_at(&net, 1, n, h).await,
            "signed at {h} after its removal"
        );
    }
    common::assert_same_chain_and_acks_once(
        &net.endpoints[..4],
        &net.signer(1),
        removed + 5,
        &BTreeMap::new(),
    )
    .await;
}
