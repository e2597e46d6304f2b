//! What happens in a machine run ([`MachineScenario`], drawn from a seed) and what a run
//! exercised ([`Hits`]).

use super::super::world::GENESIS_MS;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safeledger_core::genesis::ConsensusParams;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::{Agency, Genesis, SecretKey, Timestamp, Transaction, TxPayload};

/// The chain id of machine runs.
pub const MACHINE_CHAIN_ID: &str = "sim-machine";

/// A fault at a point in simulated time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MachineFault {
    /// Nodes in different groups cannot reach each other.
    Partition(Vec<u8>),
    /// The partition ends.
    Heal,
    /// The node crashes (machine lost; store, signing state and log kept).
    Crash {
        /// Which.
        node: usize,
    },
    /// The node crashes right after its next `Persist`, before anything after it is sent.
    CrashAfterPersist {
        /// Which.
        node: usize,
    },
    /// The node restarts (a no-op while it runs).
    Restart {
        /// Which.
        node: usize,
    },
    /// The node crashes and loses its data directory, signing state and log; its key is
    /// kept (restart it with [`MachineFault::Restart`]).
    Wipe {
        /// Which.
        node: usize,
    },
}

/// A machine run.
#[derive(Clone, Debug)]
pub struct MachineScenario {
    /// Name (for failure reports).
    pub name: String,
    /// Validators (equal power).
    pub validators: usize,
    /// Clock skew per node, ms.
    pub skew_ms: Vec<i64>,
    /// Message loss before GST (0 to 1).
    pub loss: f64,
    /// Largest network delay before GST, ms.
    pub max_delay_ms: u64,
    /// When the network stabilises, ms.
    pub gst_ms: u64,
    /// The faults, by time.
    pub faults: Vec<(u64, MachineFault)>,
    /// A node that serves block sync with forged certificates.
    pub liar: Option<usize>,
    /// A node that receives no transaction gossip before GST (its mempool lacks the
    /// bodies of the proposals gossiped as transaction ids).
    pub lacking: Option<usize>,
    /// Client transaction batches submitted before GST.
    pub batches: usize,
    /// The private-value flow: (recording node, requesting node).
    pub private: Option<(usize, usize)>,
    /// The gossip limit, bytes.
    pub max_gossip_bytes: usize,
    /// Consensus parameters.
    pub params: ConsensusParams,
    /// After GST every honest node must commit this many more heights...
    pub liveness_heights: u64,
    /// ...within this long, ms.
    pub liveness_bound_ms: u64,
}

/// What a run (or many) exercised: scenario features that actually happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    /// Crashes right after persisting, before sending.
    pub crashes_after_persist: u64,
    /// Restarts that replayed a non-empty consensus log.
    pub wal_replays: u64,
    /// Data directories wiped with the key kept.
    pub wipes: u64,
    /// Block-sync answers forged by a lying peer.
    pub lies_served: u64,
    /// Lying sync peers banned.
    pub liars_banned: u64,
    /// Proposals gossiped as transaction ids.
    pub proposals_as_ids: u64,
    /// Proposal blocks fetched by the node lacking their bodies.
    pub proposal_fetches: u64,
    /// Committed blocks with transactions (counted per node).
    pub blocks_with_txs: u64,
    /// Granted private values that reached the requesting agency's node.
    pub private_replicated: u64,
    /// Direct requests for a private value by a node not granted it, refused.
    pub private_refusals: u64,
}

impl Hits {
    /// Adds `o`'s counts.
    pub fn add(&mut self, o: &Hits) {
        self.crashes_after_persist += o.crashes_after_persist;
        self.wal_replays += o.wal_replays;
        self.wipes += o.wipes;
        self.lies_served += o.lies_served;
        self.liars_banned += o.liars_banned;
        self.proposals_as_ids += o.proposals_as_ids;
        self.proposal_fetches += o.proposal_fetches;
        self.blocks_with_txs += o.blocks_with_txs;
        self.private_replicated += o.private_replicated;
        self.private_refusals += o.private_refusals;
    }

    /// The features hit at least once, by name, for counting seeds.
    pub fn features(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        if self.crashes_after_persist > 0 && self.wal_replays > 0 {
            f.push("crash after persist, then log replay");
        }
        if self.wipes > 0 {
            f.push("wiped data directory, key kept");
        }
        if self.liars_banned > 0 {
            f.push("lying sync peer banned");
        }
        if self.proposal_fetches > 0 {
            f.push("proposal as ids fetched by a node lacking bodies");
        }
        if self.blocks_with_txs > 0 {
            f.push("blocks with transactions");
        }
        if self.private_replicated > 0 && self.private_refusals > 0 {
            f.push("private value reached only the granted agency");
        }
        f
    }
}

/// The node key of validator `i` in the run of `seed`.
pub fn node_key(seed: u64, i: usize) -> SecretKey {
    let mut b = [0x4du8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8] = i as u8;
    SecretKey::from_bytes(&b)
}

/// The officer key of agency `i` in the run of `seed`.
pub fn officer_key(seed: u64, i: usize) -> SecretKey {
    let mut b = [0x0fu8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8] = i as u8;
    SecretKey::from_bytes(&b)
}

/// The genesis of a machine run: one agency per validator (`v<i>`, licensing role, so
/// the enterprise records clients submit are accepted), equal power.
pub fn genesis(keys: &[SecretKey], seed: u64, sc: &MachineScenario) -> Genesis {
    let agencies = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Agency {
            id: format!("v{i}"),
            name: format!("validator {i}"),
            role: "licensing".into(),
            node_key: k.public(),
            officer_keys: vec![officer_key(seed, i).public()],
            p2p_addr: String::new(),
            grpc_addr: String::new(),
            tls_cert: String::new(),
            power: 1,
        })
        .collect();
    Genesis {
        chain_id: MACHINE_CHAIN_ID.into(),
        genesis_time: Timestamp(GENESIS_MS),
        agencies,
        roles: safeledger_client::import::demo_roles(),
        consensus: sc.params.clone(),
        auditors: Vec::new(),
    }
}

/// The client batches of a run: (time, node, transactions), each batch signed by one
/// agency's officer with increasing sequences, submitted at a node other than `lacking`.
pub fn submissions(
    sc: &MachineScenario,
    g: &Genesis,
    seed: u64,
) -> Vec<(u64, usize, Vec<Transaction>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7478);
    let mut next_seq = vec![1u64; sc.validators];
    let targets: Vec<usize> = (0..sc.validators)
        .filter(|i| Some(*i) != sc.lacking)
        .collect();
    // The officers of the private flow sign nothing else (their sequences are fixed).
    let signers: Vec<usize> = (0..sc.validators)
        .filter(|i| sc.private.is_none_or(|(a, b)| *i != a && *i != b))
        .collect();
    let mut out = Vec::new();
    for b in 0..sc.batches {
        let officer = signers[rng.gen_range(0..signers.len())];
        // One officer's batches all go to one node, so their sequences arrive in order.
        let node = targets[officer % targets.len()];
        let at = 500 + (b as u64) * sc.gst_ms.max(1_000) / (sc.batches as u64 + 1);
        let key = officer_key(seed, officer);
        let n = rng.gen_range(1..=8);
        let txs = (0..n)
            .map(|k| {
                let seq = next_seq[officer];
                next_seq[officer] += 1;
                let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                    enterprise: EnterpriseId::namespaced("sim", &format!("e{officer}-{seq}"))
                        .expect("a valid namespaced id"),
                    name: format!("Works {b}-{k}"),
                    address: "1 Sim Road".into(),
                    linked_ids: Vec::new(),
                });
                let eff = Timestamp(g.genesis_time.0 + 1);
                let mut trng = ChaCha8Rng::seed_from_u64(seed ^ seq ^ ((officer as u64) << 32));
                Transaction::sign(
                    TxPayload::new(&g.chain_id, seq, eff, body, &mut trng),
                    &[&key],
                )
            })
            .collect();
        out.push((at, node, txs));
    }
    out
}

impl MachineScenario {
    /// The scenario of `seed`: four or five validators, loss and delays before GST, and
    /// each of the machine's fault features with some probability — a crash right after
    /// persisting (then restart and log replay), a wiped data directory with the key
    /// kept, a lying sync peer alone with a lagging node, a node that lacks the bodies of
    /// proposals gossiped as ids — plus client transactions.
    pub fn random(seed: u64) -> MachineScenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d73);
        let n = rng.gen_range(4..=5usize);
        let mut nodes: Vec<usize> = (0..n).collect();
        nodes.shuffle(&mut rng);
        let gst_ms = rng.gen_range(8_000..16_000u64);
        let mut faults = Vec::new();
        let mut name = Vec::new();
        // One fault role per node at most; a quorum of the others stays honest and up.
        let mut roles = nodes.into_iter();
        if rng.gen_bool(0.5) {
            let k = roles.next().unwrap_or(0);
            let at = rng.gen_range(1_000..5_000);
            faults.push((at, MachineFault::CrashAfterPersist { node: k }));
            faults.push((
                at + rng.gen_range(500..3_000),
                MachineFault::Restart { node: k },
            ));
            name.push("crash-after-persist");
        }
        let mut liar = None;
        if rng.gen_bool(0.35) {
            let (l, lag) = (roles.next().unwrap_or(0), roles.next().unwrap_or(1));
            liar = Some(l);
            let at = rng.gen_range(1_000..3_000);
            faults.push((at, MachineFault::Crash { node: lag }));
            let back = at + rng.gen_range(3_000..5_000);
            let groups = (0..n).map(|i| u8::from(i == l || i == lag)).collect();
            faults.push((back, MachineFault::Partition(groups)));
            faults.push((back, MachineFault::Restart { node: lag }));
            faults.push((back + 3_000, MachineFault::Heal));
            name.push("lying-sync-peer");
        } else if rng.gen_bool(0.4) {
            let k = roles.next().unwrap_or(0);
            let at = rng.gen_range(2_000..6_000);
            faults.push((at, MachineFault::Wipe { node: k }));
            faults.push((
                at + rng.gen_range(200..2_000),
                MachineFault::Restart { node: k },
            ));
            name.push("wiped-data-directory");
        }
        let lacking = rng.gen_bool(0.4).then(|| roles.next()).flatten();
        if lacking.is_some() {
            name.push("lacking-bodies");
        }
        // Recorder and requester: any two nodes whose data is never wiped.
        let wiped: Vec<usize> = faults
            .iter()
            .filter_map(|(_, f)| match f {
                MachineFault::Wipe { node } => Some(*node),
                _ => None,
            })
            .collect();
        let mut keep: Vec<usize> = (0..n).filter(|i| !wiped.contains(i)).collect();
        keep.shuffle(&mut rng);
        let private = (rng.gen_bool(0.5) && keep.len() >= 2).then(|| (keep[0], keep[1]));
        if private.is_some() {
            name.push("private-value");
        }
        faults.sort_by_key(|(at, _)| *at);
        MachineScenario {
            name: if name.is_empty() {
                "machine".into()
            } else {
                format!("machine:{}", name.join("+"))
            },
            validators: n,
            skew_ms: (0..n).map(|_| rng.gen_range(-200..=200)).collect(),
            loss: if rng.gen_bool(0.5) {
                rng.gen_range(0.0..0.1)
            } else {
                0.0
            },
            max_delay_ms: rng.gen_range(5..300),
            gst_ms,
            faults,
            liar,
            lacking,
            private,
            batches: rng.gen_range(2..10),
            max_gossip_bytes: safeledger_core::limits::MAX_GOSSIP_BYTES,
            params: ConsensusParams {
                timeout_propose_ms: 1_000,
                timeout_propose_delta_ms: 250,
                timeout_prevote_ms: 500,
                timeout_prevote_delta_ms: 250,
                timeout_precommit_ms: 500,
                timeout_precommit_delta_ms: 250,
                timeout_commit_ms: 100,
                ..ConsensusParams::default()
            },
            liveness_heights: 3,
            liveness_bound_ms: 60_000,
        }
    }
}
