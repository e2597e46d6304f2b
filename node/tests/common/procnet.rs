//! Four real `safeledger node` processes on loopback (`init`'s network with short
//! timeouts), for the process fault tests (`faults.rs`) and state sync
//! (`cluster_state_sync.rs`): start, kill, stop, partition through the test-only peer
//! filter, and the nodes' heights over gRPC. Dropping it kills every node and, when the
//! test failed, prints the end of each node's log.

use safeledger_client::rpc::LedgerClient;
use safeledger_core::SecretKey;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use super::signal;

const EXE: &str = env!("CARGO_BIN_EXE_safeledger");

/// Four `safeledger node` processes of a network made by `init`, on loopback.
pub struct ProcNet {
    pub _dir: tempfile::TempDir,
    pub home: PathBuf,
    pub agencies: Vec<String>,
    pub endpoints: Vec<String>,
    pub node_keys: Vec<String>,
    pub children: Vec<Option<Child>>,
}

impl ProcNet {
    /// Adds an agency made by `keys generate --out HOME/<id>` (its `agency.json`) as node
    /// `self.agencies.len()`, its gRPC certificate pinned; start it with
    /// [`ProcNet::spawn_with`].
    pub fn add_agency(&mut self, id: &str) -> usize {
        let dir = self.home.join(id);
        let a: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("agency.json")).expect("agency.json"),
        )
        .expect("json");
        let grpc = a["grpc_addr"].as_str().unwrap_or_default().to_string();
        safeledger_client::tls::pin(&grpc, a["tls_cert"].as_str().unwrap_or_default());
        self.agencies.push(id.to_string());
        self.endpoints.push(grpc);
        self.node_keys
            .push(a["node_key"].as_str().unwrap_or_default().to_string());
        self.children.push(None);
        self.agencies.len() - 1
    }

    /// [`ProcNet::init`] with every node started.
    pub fn start() -> ProcNet {
        let mut net = ProcNet::init();
        for i in 0..4 {
            net.spawn(i);
        }
        net
    }

    /// The network directory (genesis with short timeouts, TLS pins), no node started.
    pub fn init() -> ProcNet {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("net");
        let ok = Command::new(EXE)
            .args(["init", "--dir"])
            .arg(&home)
            .stdout(Stdio::null())
            .status()
            .expect("init");
        assert!(ok.success());
        let gpath = home.join("genesis.json");
        let mut g: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&gpath).expect("genesis")).expect("json");
        g["consensus"]["timeout_propose_ms"] = 1_500.into();
        g["consensus"]["timeout_prevote_ms"] = 500.into();
        g["consensus"]["timeout_precommit_ms"] = 500.into();
        std::fs::write(&gpath, serde_json::to_string_pretty(&g).expect("json")).expect("write");
        // Trust each node's TLS certificate as the genesis pins it.
        let (mut agencies, mut endpoints, mut node_keys) = (Vec::new(), Vec::new(), Vec::new());
        for a in g["agencies"].as_array().expect("agencies") {
            let field = |name: &str| a[name].as_str().unwrap_or_default().to_string();
            safeledger_client::tls::pin(&field("grpc_addr"), &field("tls_cert"));
            agencies.push(field("id"));
            endpoints.push(field("grpc_addr"));
            node_keys.push(field("node_key"));
        }
        ProcNet {
            _dir: dir,
            home,
            children: agencies.iter().map(|_| None).collect(),
            agencies,
            endpoints,
            node_keys,
        }
    }

    pub fn agency_dir(&self, i: usize) -> PathBuf {
        self.home.join(&self.agencies[i])
    }

    pub fn spawn(&mut self, i: usize) {
        self.spawn_with(i, &[], &[]);
    }

    /// Starts node `i` with extra `node start` arguments and environment variables.
    pub fn spawn_with(&mut self, i: usize, args: &[&str], env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.agency_dir(i).join("node.log"))
            .expect("log");
        let child = Command::new(EXE)
            .args(["node", "start", "--home"])
            .arg(&self.home)
            .args(["--agency", &self.agencies[i]])
            .args(args)
            .envs(env.iter().copied())
            .env(
                "SAFELEDGER_TEST_PARTITION_FILE",
                self.agency_dir(i).join("partition"),
            )
            .env(
                safeledger_node::store::FSYNC_FAULT_ENV,
                self.agency_dir(i).join("fsync-fail"),
            )
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn node");
        self.children[i] = Some(child);
    }

    pub fn kill9(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self, i: usize) -> u32 {
        self.children[i].as_ref().map(Child::id).expect("running")
    }

    pub fn terminate(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            signal(c.id(), "-INT");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Cuts every link between `a` and `b` (both directions).
    pub fn split(&self, a: &[usize], b: &[usize]) {
        for (side, other) in [(a, b), (b, a)] {
            let keys: Vec<&str> = other.iter().map(|j| self.node_keys[*j].as_str()).collect();
            for i in side {
                std::fs::write(self.agency_dir(*i).join("partition"), keys.join("\n"))
                    .expect("partition file");
            }
        }
    }

    pub fn heal(&self) {
        for i in 0..4 {
            let _ = std::fs::remove_file(self.agency_dir(i).join("partition"));
        }
    }

    pub fn officer(&self, i: usize) -> SecretKey {
        let t = std::fs::read_to_string(self.agency_dir(i).join("officer.key")).expect("key");
        SecretKey::from_hex(t.trim()).expect("key hex")
    }

    pub fn chain_id(&self) -> String {
        "safeledger-demo".to_string()
    }

    /// Agency `i`'s officer as a request signer.
    pub fn signer(&self, i: usize) -> safeledger_client::auth::Signer {
        safeledger_client::auth::Signer::new(self.officer(i), self.chain_id())
    }
}

impl Drop for ProcNet {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            if let Some(c) = self.children[i].as_ref() {
                signal(c.id(), "-CONT");
            }
            self.kill9(i);
        }
        // A failing test shows the end of each node's log (the directory goes with it).
        if std::thread::panicking() {
            for i in 0..self.agencies.len() {
                let log = std::fs::read_to_string(self.agency_dir(i).join("node.log"))
                    .unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = &lines[lines.len().saturating_sub(40)..];
                eprintln!(
                    "--- {} node.log, last {} lines ---",
                    self.agencies[i],
                    tail.len()
                );
                for l in tail {
                    eprintln!("{l}");
                }
            }
        }
    }
}

pub async fn status(endpoint: &str) -> Option<safeledger_client::rpc::Status> {
    let mut c = LedgerClient::new(vec![endpoint.to_string()]);
    tokio::time::timeout(Duration::from_secs(2), c.status())
        .await
        .ok()
        .and_then(Result::ok)
}

pub async fn heights(net: &ProcNet) -> Vec<Option<u64>> {
    let mut out = Vec::new();
    for e in &net.endpoints {
        out.push(status(e).await.map(|s| s.height));
    }
    out
}

pub async fn wait_all_at_least(net: &ProcNet, h: u64, within: Duration) -> Vec<Option<u64>> {
    let start = Instant::now();
    loop {
        let hs = heights(net).await;
        if hs.iter().all(|x| x.is_some_and(|x| x >= h)) || start.elapsed() > within {
            return hs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
