//! Process-level fault tests: four real `safeledger node` processes on loopback, faults
//! injected from outside (SIGKILL, SIGSTOP/SIGCONT, a 2/2 split through the test-only peer
//! filter, rolling restarts, a wiped data directory) while a client submits load.
//!
//! Each test checks: heights advance (except during a 2/2 split), every node ends with
//! identical block hashes, every acknowledged transaction (reported committed to its
//! client) is committed exactly once at the same height on every node.
//!
//! The kill test kills 20 times by default (`SAFELEDGER_FAULT_ROUNDS` changes that). Randomised choices print
//! `SEED=<n>`; set `SAFELEDGER_FAULT_SEED` to replay them.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::procnet::{heights, signal, status, wait_all_at_least, ProcNet};

use rand::{Rng, SeedableRng};
use safeledger_client::rpc::LedgerClient;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::{ids::EnterpriseId, Timestamp, Transaction, TxId, TxPayload};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Acknowledged transactions: id → (height, index) as reported to the client.
type Acks = Arc<Mutex<BTreeMap<TxId, (u64, u32)>>>;

/// Submits batches of enterprise records by agency `who` until `stop`; records every ack.
fn start_load(
    net: &ProcNet,
    who: usize,
    stop: Arc<Mutex<bool>>,
) -> (Acks, tokio::task::JoinHandle<()>) {
    let acks: Acks = Default::default();
    let key = net.officer(who);
    let chain = net.chain_id();
    let endpoints = net.endpoints.clone();
    let a2 = acks.clone();
    let signer = safeledger_client::auth::Signer::new(key.clone(), chain.clone());
    let task = tokio::spawn(async move {
        let mut client = LedgerClient::new(endpoints).signed_by(signer);
        let mut seq = 1u64;
        let mut rng = rand::rngs::OsRng;
        while !*stop.lock().expect("lock") {
            let txs: Vec<Transaction> = (0..20)
                .map(|k| {
                    let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                        enterprise: EnterpriseId::namespaced("load", &format!("e{}", seq + k))
                            .expect("id"),
                        name: "load".into(),
                        address: "loopback".into(),
                        linked_ids: vec![],
                    });
                    let p = TxPayload::new(&chain, seq + k, Timestamp(1_000), body, &mut rng);
                    Transaction::sign(p, &[&key])
                })
                .collect();
            seq += 20;
            // A batch lost with a killed node can die (its sequences fall below the
            // signer's committed ones): those are refused, never acknowledged, and the
            // load moves on; what is acknowledged must stay committed.
            if let Ok(out) = client
                .submit_and_wait_detailed(&txs, Duration::from_secs(60))
                .await
            {
                let mut a = a2.lock().expect("lock");
                for c in out.committed {
                    a.insert(c.tx_id, (c.height, c.index));
                }
            }
        }
    });
    (acks, task)
}

/// Every node agrees on every block up to the lowest height (equal hashes at that height
/// mean equal chains: each header commits to its predecessor), and every acknowledged
/// transaction is committed exactly once, at its acknowledged place.
async fn check_ledgers(net: &ProcNet, acks: &BTreeMap<TxId, (u64, u32)>) {
    let top = acks.values().map(|(h, _)| *h).max().unwrap_or(1);
    let hs = wait_all_at_least(net, top, Duration::from_secs(90)).await;
    assert!(
        hs.iter().all(|h| h.is_some_and(|h| h >= top)),
        "nodes did not reach height {top}: {hs:?}"
    );
    let min = hs.iter().flatten().copied().min().unwrap_or(0);
    common::assert_same_chain_and_acks_once(&net.endpoints, &net.signer(0), min, acks).await;
}

/// Waits until node `i` exits by itself (at most `within`, else fails with `why`); returns
/// its status and forgets the process.
async fn wait_exit(
    net: &mut ProcNet,
    i: usize,
    within: Duration,
    why: &str,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        let c = net.children[i].as_mut().expect("running");
        if let Some(s) = c.try_wait().expect("try_wait") {
            net.children[i] = None;
            return s;
        }
        assert!(Instant::now() < deadline, "{why}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops the load, then [`check_ledgers`] over what it had acknowledged (at least one).
async fn stop_load_and_check(
    net: &ProcNet,
    stop: &Mutex<bool>,
    acks: Acks,
    load: tokio::task::JoinHandle<()>,
) {
    *stop.lock().expect("lock") = true;
    let _ = load.await;
    let acks = acks.lock().expect("lock").clone();
    assert!(!acks.is_empty(), "no transaction was acknowledged");
    check_ledgers(net, &acks).await;
}

fn seed() -> u64 {
    let s = std::env::var("SAFELEDGER_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rngs::OsRng.gen());
    eprintln!("SEED={s}");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_process_sigkill_random_validators_loses_no_acknowledged_transaction() {
    let rounds: usize = std::env::var("SAFELEDGER_FAULT_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed());
    let mut net = ProcNet::start();
    wait_all_at_least(&net, 1, Duration::from_secs(30)).await;
    let stop = Arc::new(Mutex::new(false));
    let (acks, load) = start_load(&net, 0, stop.clone());
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1_500))).await;
        let victim = rng.gen_range(0..4);
        net.kill9(victim);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1_500))).await;
        net.spawn(victim);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_load_and_check(&net, &stop, acks, load).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_process_sigstop_the_proposer_then_resume() {
    let net = ProcNet::start();
    let hs = wait_all_at_least(&net, 2, Duration::from_secs(30)).await;
    let h = hs.iter().flatten().copied().max().unwrap_or(2);
    // Equal power: the proposer of (h, round 0) is validator (h mod 4).
    let victim = ((h + 1) % 4) as usize;
    signal(net.pid(victim), "-STOP");
    let others: Vec<usize> = (0..4).filter(|i| *i != victim).collect();
    let start = Instant::now();
    let target = h + 3;
    loop {
        let mut ok = true;
        for i in &others {
            ok &= status(&net.endpoints[*i])
                .await
                .is_some_and(|s| s.height >= target);
        }
        if ok {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no progress with the proposer paused"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    signal(net.pid(victim), "-CONT");
    let hs = wait_all_at_least(&net, target + 1, Duration::from_secs(60)).await;
    assert!(hs.iter().all(|x| x.is_some_and(|x| x > target)), "{hs:?}");
    check_ledgers(&net, &BTreeMap::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_process_two_two_split_halts_commits_and_they_resume_after_heal() {
    let net = ProcNet::start();
    wait_all_at_least(&net, 2, Duration::from_secs(30)).await;
    net.split(&[0, 1], &[2, 3]);
    // Let in-flight heights settle, then heights must stand still.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before: Vec<u64> = heights(&net).await.into_iter().flatten().collect();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during: Vec<u64> = heights(&net).await.into_iter().flatten().collect();
    assert_eq!(
        before.iter().max(),
        during.iter().max(),
        "a 2/2 split must not commit: {before:?} → {during:?}"
    );
    net.heal();
    let top = *during.iter().max().unwrap_or(&0);
    let hs = wait_all_at_least(&net, top + 2, Duration::from_secs(90)).await;
    assert!(
        hs.iter().all(|x| x.is_some_and(|x| x >= top + 2)),
        "no progress after heal: {hs:?}"
    );
    check_ledgers(&net, &BTreeMap::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_process_rolling_restart_of_all_four_under_load() {
    let mut net = ProcNet::start();
    wait_all_at_least(&net, 1, Duration::from_secs(30)).await;
    let stop = Arc::new(Mutex::new(false));
    let (acks, load) = start_load(&net, 1, stop.clone());
    for i in 0..4 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        net.terminate(i);
        tokio::time::sleep(Duration::from_millis(500)).await;
        net.spawn(i);
        let hs = heights(&net).await;
        let top = hs.iter().flatten().copied().max().unwrap_or(0);
        wait_all_at_least(&net, top, Duration::from_secs(60)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_load_and_check(&net, &stop, acks, load).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_process_sigkill_mid_height_and_restart_reaches_the_tip() {
    let mut net = ProcNet::start();
    wait_all_at_least(&net, 2, Duration::from_secs(30)).await;
    net.kill9(3);
    let hs = heights(&net).await;
    let top = hs.iter().flatten().copied().max().unwrap_or(0);
    wait_all_at_least_of(&net, &[0, 1, 2], top + 3).await;
    net.spawn(3);
    let now_top = heights(&net)
        .await
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0);
    // Within a bounded time, the restarted node is at the tip, not one height short.
    let hs = wait_all_at_least(&net, now_top + 2, Duration::from_secs(60)).await;
    assert!(
        hs.iter().all(|x| x.is_some_and(|x| x >= now_top + 2)),
        "{hs:?}"
    );
    check_ledgers(&net, &BTreeMap::new()).await;
}

/// A torn last write of sled's log: after a SIGKILL under load, the last bytes written to the
/// store's log are garbled (as a write cut short by a power loss leaves them). Restarted, the
/// node recovers its store up to the last intact write, opens (its state map matches its
/// tip), catches up from its peers, and no acknowledged transaction is lost or repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_process_torn_store_log_is_recovered() {
    let mut net = ProcNet::start();
    wait_all_at_least(&net, 2, Duration::from_secs(30)).await;
    let stop = Arc::new(Mutex::new(false));
    let (acks, load) = start_load(&net, 0, stop.clone());
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    net.kill9(3);
    let log = net.agency_dir(3).join("data").join("store").join("db");
    let mut bytes = std::fs::read(&log).expect("the store's log");
    let end = bytes.iter().rposition(|b| *b != 0).expect("a written log") + 1;
    let torn = end.saturating_sub(64);
    for b in &mut bytes[torn..end] {
        *b ^= 0x5a;
    }
    std::fs::write(&log, &bytes).expect("tear the last write");
    let h = heights(&net).await[0].expect("node 0 answers");
    wait_all_at_least_of(&net, &[0, 1, 2], h + 2).await;
    net.spawn(3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop_load_and_check(&net, &stop, acks, load).await;
}

/// A full disk (by hand, as root: `cargo nextest run -p safeledger-node --test faults
/// --run-ignored only -E 'test(full_disk)'`): node 3's data directory is a 24 MiB tmpfs
/// that fills under load. The node stops with the write error (it must not go on
/// without storing); the space is grown (remount), the node restarted: it opens, catches up,
/// and no acknowledged transaction is lost or repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs: run by hand as root"]
async fn cluster_process_full_disk_stops_the_node_and_freeing_space_resumes() {
    let mut net = ProcNet::start();
    net.kill9(3);
    let data = net.agency_dir(3).join("data");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&data)
        .status()
        .expect("mount");
    assert!(mounted.success(), "mounting a tmpfs needs root");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(data.clone());
    net.spawn(3);
    wait_all_at_least(&net, 2, Duration::from_secs(30)).await;
    let stop = Arc::new(Mutex::new(false));
    let (acks, load) = start_load(&net, 0, stop.clone());
    let status = wait_exit(
        &mut net,
        3,
        Duration::from_secs(240),
        "the disk did not fill",
    )
    .await;
    let log = std::fs::read_to_string(net.agency_dir(3).join("node.log")).expect("log");
    let tail: Vec<&str> = log.lines().rev().take(8).collect();
    eprintln!(
        "node 3 stopped ({status:?}); its last lines:\n{}",
        tail.join("\n")
    );
    assert!(!status.success());
    let grown = Command::new("mount")
        .args(["-o", "remount,size=512m"])
        .arg(&data)
        .status()
        .expect("remount");
    assert!(grown.success());
    net.spawn(3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop_load_and_check(&net, &stop, acks, load).await;
}

/// An fsync error (injected) stops the node without corrupting its store; the others go on;
/// restarted without the fault, it opens (its state map matching its tip), catches up, and
/// no acknowledged transaction is lost or repeated anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_process_fsync_failure_stops_the_node_and_a_restart_resumes() {
    let mut net = ProcNet::start();
    wait_all_at_least(&net, 1, Duration::from_secs(30)).await;
    let stop = Arc::new(Mutex::new(false));
    let (acks, load) = start_load(&net, 0, stop.clone());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let victim = 3;
    let fault = net.agency_dir(victim).join("fsync-fail");
    std::fs::write(&fault, b"").expect("fault file");
    let status = wait_exit(
        &mut net,
        victim,
        Duration::from_secs(30),
        "the node went on after an fsync failure",
    )
    .await;
    assert!(!status.success(), "{status:?}");
    let log = std::fs::read_to_string(net.agency_dir(victim).join("node.log")).expect("log");
    assert!(log.contains("injected fsync failure"), "{log}");
    // The other three keep committing.
    let h = heights(&net).await[0].expect("node 0 answers");
    wait_all_at_least_of(&net, &[0, 1, 2], h + 3).await;
    std::fs::remove_file(&fault).expect("remove the fault");
    net.spawn(victim);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_load_and_check(&net, &stop, acks, load).await;
}

async fn wait_all_at_least_of(net: &ProcNet, nodes: &[usize], h: u64) {
    let start = Instant::now();
    loop {
        let mut ok = true;
        for i in nodes {
            ok &= status(&net.endpoints[*i])
                .await
                .is_some_and(|s| s.height >= h);
        }
        if ok {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nodes {nodes:?} stalled below {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_process_wiped_data_dir_with_kept_key_signs_nothing_below_peers() {
    let mut net = ProcNet::start();
    wait_all_at_least(&net, 3, Duration::from_secs(30)).await;
    net.kill9(2);
    let data = net.agency_dir(2).join("data");
    std::fs::remove_dir_all(&data).expect("wipe");
    let seen = heights(&net)
        .await
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0);
    net.spawn(2);
    let hs = wait_all_at_least(&net, seen + 3, Duration::from_secs(60)).await;
    assert!(
        hs.iter().all(|x| x.is_some_and(|x| x >= seen + 3)),
        "{hs:?}"
    );
    let raw = std::fs::read(data.join("priv_state.bin")).expect("signing state written");
    let state: safeledger_node::consensus::PrivState =
        safeledger_core::from_canonical(&raw).expect("decodes");
    assert!(
        state.min_sign_height > seen,
        "a wiped node may sign only above {seen}, got {}",
        state.min_sign_height
    );
    check_ledgers(&net, &BTreeMap::new()).await;
}
