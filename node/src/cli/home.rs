//! A network directory, as `safeledger init` (or `demo --dir`) writes it:
//!
//! ```text
//! DIR/genesis.json            the genesis document (public keys and addresses only)
//! DIR/<agency>/node.key       the node key seed, hex (secret; mode 0600)
//! DIR/<agency>/officer.key    the agency's first officer key seed, hex (secret; mode 0600)
//! DIR/<agency>/tls.key        the node's TLS private key, PEM (secret; mode 0600); its
//!                             certificate is pinned in the genesis (`tls_cert`)
//! DIR/<agency>/node.toml      the node's limits, every one at its default with a comment
//!                             (`safeledger_node::config::NodeLimits`; edit to tune)
//! DIR/<agency>/data/          the node's sled store and signing state
//! DIR/auditors/<id>.key       an auditor's request-signing key seed, hex (secret; mode 0600)
//! ```
//!
//! Requests to a node are signed (see `safeledger_client::auth`): by an agency's officer
//! key, or by an auditor's key for views and proofs.
//!
//! A real network is assembled from each agency's public keys; `init` makes every key for
//! a local network on loopback.

use anyhow::{anyhow, bail, Context};
use safeledger_client::auth::Signer;
use safeledger_client::import::AGENCIES;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::genesis::Auditor;
use safeledger_core::genesis::{Agency, ConsensusParams};
use safeledger_core::records::TxKind;
use safeledger_core::{Genesis, SecretKey, Timestamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Chain id of networks made by `init`.
pub const DEFAULT_CHAIN_ID: &str = "safeledger-demo";

/// Id of the auditor `init` registers.
pub const DEMO_AUDITOR: &str = "audit-office";

/// A loaded network directory.
#[derive(Clone, Debug)]
pub struct Home {
    /// The directory.
    pub dir: PathBuf,
    /// Its genesis.
    pub genesis: Genesis,
}

/// Ports [`free_port`] tries first: below Linux's ephemeral range (32768–60999), from which
/// outgoing connections take their source ports. A port picked from that range can be taken
/// by some connection's source port between the pick and the node's bind (a node then fails
/// to start with "address in use"); below it, only another listener can take it.
pub const PORT_RANGE: std::ops::Range<u16> = 20_000..32_768;

/// Ports [`free_port`] handed out in this process: a port is checked free by binding and
/// releasing it, so without this two picks for one network (a node's gRPC and another's
/// p2p port) could return the same port, and the second node could never bind it.
static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Picks a free TCP port on 127.0.0.1: a random one of [`PORT_RANGE`] that binds now
/// (bound and released) and was not handed out before in this process, else one the
/// system assigns.
pub fn free_port() -> anyhow::Result<u16> {
    let mut handed = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..64 {
        let port = PORT_RANGE.start + rand::random::<u16>() % (PORT_RANGE.end - PORT_RANGE.start);
        if !handed.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed.insert(port);
            return Ok(port);
        }
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    let port = l.local_addr()?.port();
    handed.insert(port);
    Ok(port)
}

/// Writes a key seed as hex to `path` with mode 0600.
pub(crate) fn write_secret(path: &Path, key: &SecretKey) -> anyhow::Result<()> {
    std::fs::write(path, key.to_hex() + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Writes `text` to `path` with mode 0600.
pub(crate) fn write_secret_text(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Makes the TLS identity of a node served at `grpc_addr`: writes its private key to
/// `dir/tls.key` (mode 0600) and returns its self-signed certificate (PEM) for the genesis.
pub(crate) fn make_tls_identity(dir: &Path, grpc_addr: &str) -> anyhow::Result<String> {
    let host = safeledger_client::tls::host_of(grpc_addr)
        .ok_or_else(|| anyhow!("no host in {grpc_addr}"))?;
    let (cert, key) = safeledger_client::tls::generate_identity(host).map_err(|e| anyhow!(e))?;
    write_secret_text(&dir.join("tls.key"), &key)?;
    Ok(cert)
}

/// The demo's role table (R1): which transaction kinds each role may submit
/// ([`safeledger_client::import::demo_roles`], beside the demo's agencies).
pub fn demo_roles() -> BTreeMap<String, Vec<TxKind>> {
    safeledger_client::import::demo_roles()
}

/// Where the nodes of a new network listen.
#[derive(Clone, Debug, Default)]
pub struct Addressing {
    /// One host (IP address) per agency, in order; `None`: 127.0.0.1 with free ports.
    pub hosts: Option<Vec<String>>,
    /// p2p port on each host (with `hosts`).
    pub p2p_port: u16,
    /// gRPC port on each host (with `hosts`).
    pub grpc_port: u16,
}

/// Creates a four-agency network directory on loopback with fresh keys and free ports.
pub fn init(dir: &Path, chain_id: &str) -> anyhow::Result<Home> {
    init_with(dir, chain_id, &Addressing::default())
}

/// Creates a four-agency network directory with fresh keys; `addr` says where the nodes
/// listen (fixed IP addresses for containers, or loopback with free ports).
pub fn init_with(dir: &Path, chain_id: &str, addr: &Addressing) -> anyhow::Result<Home> {
    if let Some(h) = &addr.hosts {
        if h.len() != AGENCIES.len() {
            bail!("--hosts needs {} addresses, one per agency", AGENCIES.len());
        }
        for host in h {
            host.parse::<std::net::IpAddr>().with_context(|| {
                format!(
                    "{host} is not an IP address (names are not resolved inside the static image)"
                )
            })?;
        }
    }
    if dir.join("genesis.json").exists() {
        bail!(
            "{} already holds a network (genesis.json exists); choose another --dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = rand::rngs::OsRng;
    let mut agencies = Vec::new();
    for (i, (id, name, role)) in AGENCIES.into_iter().enumerate() {
        let node = SecretKey::generate(&mut rng);
        let officer = SecretKey::generate(&mut rng);
        let adir = dir.join(id);
        std::fs::create_dir_all(adir.join("data"))?;
        write_secret(&adir.join("node.key"), &node)?;
        write_secret(&adir.join("officer.key"), &officer)?;
        let limits = adir.join(crate::config::NODE_CONFIG_FILE);
        std::fs::write(&limits, crate::config::NodeLimits::default_file())
            .with_context(|| format!("writing {}", limits.display()))?;
        let grpc_addr = match &addr.hosts {
            Some(h) => format!("https://{}:{}", h[i], addr.grpc_port),
            None => format!("https://127.0.0.1:{}", free_port()?),
        };
        let tls_cert = make_tls_identity(&adir, &grpc_addr)?;
        agencies.push(Agency {
            id: id.to_string(),
            name: name.to_string(),
            role: role.to_string(),
            node_key: node.public(),
            officer_keys: vec![officer.public()],
            p2p_addr: match &addr.hosts {
                Some(h) => format!("/ip4/{}/tcp/{}", h[i], addr.p2p_port),
                None => format!("/ip4/127.0.0.1/tcp/{}", free_port()?),
            },
            grpc_addr,
            tls_cert,
            power: 1,
        });
    }
    let auditor = SecretKey::generate(&mut rng);
    std::fs::create_dir_all(dir.join("auditors"))?;
    write_secret(
        &dir.join("auditors").join(format!("{DEMO_AUDITOR}.key")),
        &auditor,
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let genesis = Genesis {
        chain_id: chain_id.to_string(),
        genesis_time: Timestamp(now.saturating_sub(1_000)),
        agencies,
        roles: demo_roles(),
        consensus: ConsensusParams::default(),
        auditors: vec![Auditor {
            id: DEMO_AUDITOR.to_string(),
            name: "Audit office (an auditor of the demo network)".to_string(),
            key: auditor.public(),
        }],
    };
    genesis.validate()?;
    let json = serde_json::to_string_pretty(&genesis)?;
    std::fs::write(dir.join("genesis.json"), json + "\n")?;
    safeledger_client::tls::pin_genesis(&genesis);
    Ok(Home {
        dir: dir.to_path_buf(),
        genesis,
    })
}

/// The most bytes a genesis file may hold.
pub const GENESIS_LIMIT: u64 = 16 << 20;

/// Reads a genesis file. Errors name the file and what is wrong.
pub fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let g: Genesis = crate::cli::files::read_json(path, "a genesis document", GENESIS_LIMIT)?;
    g.validate()
        .with_context(|| format!("{} is not a valid genesis document", path.display()))?;
    Ok(g)
}

/// Reads a hex key file.
pub fn read_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    SecretKey::from_hex(text.trim())
        .map_err(|e| anyhow!("{} is not a 64-hex-digit key: {e}", path.display()))
}

impl Home {
    /// Loads a network directory.
    pub fn load(dir: &Path) -> anyhow::Result<Home> {
        let genesis = read_genesis(&dir.join("genesis.json")).with_context(|| {
            format!(
                "{} is not a network directory (run `safeledger init --dir {}` first)",
                dir.display(),
                dir.display()
            )
        })?;
        safeledger_client::tls::pin_genesis(&genesis);
        Ok(Home {
            dir: dir.to_path_buf(),
            genesis,
        })
    }

    /// gRPC endpoints of every agency, in genesis order.
    pub fn endpoints(&self) -> Vec<String> {
        self.genesis
            .agencies
            .iter()
            .map(|a| a.grpc_addr.clone())
            .collect()
    }

    /// The agency's directory.
    pub fn agency_dir(&self, agency: &str) -> PathBuf {
        self.dir.join(agency)
    }

    /// The agency's officer key: of a genesis agency, or of one added by governance whose
    /// directory holds its `agency.json` ([`Home::node_agency`]).
    pub fn officer_key(&self, agency: &str) -> anyhow::Result<SecretKey> {
        self.node_agency(agency)?;
        read_key(&self.agency_dir(agency).join("officer.key"))
    }

    /// The agency whose node runs from this directory: its genesis entry, or, for an agency
    /// added by governance after genesis (issue 22 item 8), its public `agency.json` from
    /// `keys generate` in its directory (addresses, node key, TLS certificate).
    ///
    /// # Errors
    /// Neither exists (a usage error naming the network's agencies), or the file does not
    /// read or names another agency.
    pub fn node_agency(&self, agency: &str) -> anyhow::Result<safeledger_core::genesis::Agency> {
        if let Some(a) = self.genesis.agency(agency) {
            return Ok(a.clone());
        }
        let path = self
            .agency_dir(agency)
            .join(crate::cli::ceremony::AGENCY_FILE);
        if !path.exists() {
            let ids: Vec<&str> = self
                .genesis
                .agencies
                .iter()
                .map(|a| a.id.as_str())
                .collect();
            return Err(crate::cli::exit::usage(format!(
                "unknown agency {agency} (the network has: {}; an agency added by governance \
                 needs its agency.json from `keys generate` at {})",
                ids.join(", "),
                path.display()
            )));
        }
        let a: safeledger_core::genesis::Agency =
            crate::cli::files::read_json(&path, "an agency file", 1 << 20)?;
        if a.id != agency {
            bail!(
                "{} is the file of agency {}, not {agency}",
                path.display(),
                a.id
            );
        }
        Ok(a)
    }

    /// `Ok` when `agency` is one of the genesis's agencies, or one added by governance
    /// whose directory holds its `agency.json` ([`Home::node_agency`]).
    ///
    /// # Errors
    /// Bad usage (exit 2): "unknown agency X (the network has: a, b, …; …)".
    pub fn known_agency(&self, agency: &str) -> anyhow::Result<()> {
        self.node_agency(agency).map(|_| ())
    }

    /// The TLS identity of `agency`'s node: its pinned certificate and its private key
    /// (`DIR/<agency>/tls.key`), or `None` when the genesis gives it no certificate.
    pub fn tls_identity(&self, agency: &str) -> anyhow::Result<Option<(String, String)>> {
        let Some(a) = self.genesis.agency(agency) else {
            bail!("no agency {agency} in the genesis");
        };
        self.tls_identity_of(a)
    }

    /// [`Home::tls_identity`] of `a` (a genesis agency or one [`Home::node_agency`] read).
    pub fn tls_identity_of(
        &self,
        a: &safeledger_core::genesis::Agency,
    ) -> anyhow::Result<Option<(String, String)>> {
        let agency = a.id.as_str();
        if a.tls_cert.is_empty() {
            return Ok(None);
        }
        let path = self.agency_dir(agency).join("tls.key");
        let key = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the node's TLS key {}", path.display()))?;
        Ok(Some((a.tls_cert.clone(), key)))
    }

    /// The agency's node key.
    pub fn node_key(&self, agency: &str) -> anyhow::Result<SecretKey> {
        read_key(&self.agency_dir(agency).join("node.key"))
    }

    /// The request-signing identity called `name`: an agency id (its officer key) or an
    /// auditor id of the genesis (`DIR/auditors/<id>.key`).
    pub fn signer(&self, name: &str) -> anyhow::Result<Signer> {
        let key = if self.genesis.agency(name).is_some() {
            self.officer_key(name)?
        } else if self.genesis.auditors.iter().any(|a| a.id == name) {
            read_key(&self.dir.join("auditors").join(format!("{name}.key")))?
        } else {
            let agencies = self.genesis.agencies.iter().map(|a| a.id.as_str());
            let auditors = self.genesis.auditors.iter().map(|a| a.id.as_str());
            return Err(crate::cli::exit::usage(format!(
                "{name} is neither an agency nor an auditor of {} (it has: {})",
                self.dir.display(),
                agencies.chain(auditors).collect::<Vec<_>>().join(", ")
            )));
        };
        Ok(self.signer_for(&key))
    }

    /// A request signer for `key` on this network's chain.
    pub fn signer_for(&self, key: &SecretKey) -> Signer {
        Signer::new(key.clone(), self.genesis.chain_id.clone())
    }

    /// A client over every node of the network signing requests with `key`.
    pub fn client_for(&self, key: &SecretKey) -> LedgerClient {
        LedgerClient::new(self.endpoints()).signed_by(self.signer_for(key))
    }

    /// The identity used when none is named: the first auditor whose key this directory
    /// holds when `auditor` is set, otherwise the first agency whose officer key it holds.
    pub fn default_signer(&self, auditor: bool) -> anyhow::Result<Signer> {
        let auditors = self.genesis.auditors.iter().map(|a| a.id.as_str());
        let agencies = self.genesis.agencies.iter().map(|a| a.id.as_str());
        let order: Vec<&str> = if auditor {
            auditors.chain(agencies).collect()
        } else {
            agencies.chain(auditors).collect()
        };
        for name in order {
            if let Ok(s) = self.signer(name) {
                return Ok(s);
            }
        }
        bail!(
            "{} holds no officer or auditor key to sign requests with",
            self.dir.display()
        )
    }

    /// A client over every node, signing as `agency`'s officer.
    pub fn officer_client(&self, agency: &str) -> anyhow::Result<LedgerClient> {
        Ok(LedgerClient::new(self.endpoints()).signed_by(self.signer(agency)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_hosts_must_be_ip_addresses_not_names() {
        let d = tempfile::tempdir().expect("tempdir");
        let names = Addressing {
            hosts: Some(vec![
                "validator-1".into(),
                "b".into(),
                "c".into(),
                "d".into(),
            ]),
            p2p_port: 26656,
            grpc_port: 50051,
        };
        let e = init_with(&d.path().join("a"), "c", &names).expect_err("refused");
        assert!(format!("{e:#}").contains("not an IP address"), "{e:#}");
        let ips = Addressing {
            hosts: Some((11..15).map(|i| format!("172.28.0.{i}")).collect()),
            p2p_port: 26656,
            grpc_port: 50051,
        };
        let h = init_with(&d.path().join("b"), "c", &ips).expect("init");
        assert_eq!(h.genesis.agencies[0].p2p_addr, "/ip4/172.28.0.11/tcp/26656");
        assert_eq!(h.genesis.agencies[3].grpc_addr, "https://172.28.0.14:50051");
        assert!(!h.genesis.agencies[3].tls_cert.is_empty());
    }
}
