//! `--node`, `--home`, `--as`, `--key`, `--tls-cert`, `--output`: which node a command asks
//! and whom its requests are signed as.

use crate::cli::args::Output;
use crate::cli::home;
use anyhow::{bail, Context};
use clap::Args;
use safeledger_client::rpc::LedgerClient;
use std::path::PathBuf;

/// Which node a command asks and whom it signs as.
#[derive(Args, Clone)]
pub struct Target {
    /// A node's gRPC URL, e.g. https://127.0.0.1:50051 (TLS; pin its certificate with
    /// --tls-cert unless --home names the network).
    #[arg(long)]
    pub node: Option<String>,
    /// A network directory (from `init` or `demo --dir`): any of its nodes.
    #[arg(long)]
    pub home: Option<PathBuf>,
    /// Sign requests as this agency's officer or this auditor, by id (with --home; by
    /// default the first agency whose officer key the directory holds; an auditor for
    /// `audit` commands).
    #[arg(long = "as", value_name = "AGENCY|AUDITOR")]
    pub identity: Option<String>,
    /// Sign requests with this key file (an officer's or auditor's seed, 64 hex digits)
    /// instead; the chain id is the genesis's with --home, else the node's.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Sign requests as this officer, registered from this directory with `officer
    /// register` (its key HOME/AGENCY/officers/NAME.key, AGENCY from --as or the agency
    /// whose officers hold that name).
    #[arg(long, value_name = "NAME", conflicts_with = "key")]
    pub officer: Option<String>,
    /// The TLS certificate (PEM) to trust for the --node URL, when no --home pins it.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

impl Target {
    /// The endpoints to ask, in order, and the genesis when --home names it.
    pub fn endpoints(&self) -> anyhow::Result<(Vec<String>, Option<home::Home>)> {
        if let (Some(n), Some(cert)) = (&self.node, &self.tls_cert) {
            let pem = std::fs::read_to_string(cert)
                .with_context(|| format!("reading {}", cert.display()))?;
            safeledger_client::tls::pin(n, &pem);
        }
        match (&self.node, &self.home) {
            (Some(n), h) => Ok((
                vec![n.clone()],
                h.as_deref().map(home::Home::load).transpose()?,
            )),
            (None, Some(h)) => {
                let h = home::Home::load(h)?;
                Ok((h.endpoints(), Some(h)))
            }
            (None, None) => bail!("say which node to ask: --node <URL> or --home <DIR>"),
        }
    }

    /// The identity requests are signed with (see [`Target::identity`]); `auditor`: prefer
    /// an auditor's key when none is named. `None`: public requests only.
    pub async fn signer(
        &self,
        endpoints: &[String],
        home: Option<&home::Home>,
        auditor: bool,
    ) -> anyhow::Result<Option<safeledger_client::auth::Signer>> {
        use safeledger_client::auth::Signer;
        if let Some(path) = &self.key {
            let key = home::read_key(path)?;
            let chain_id = match home {
                Some(h) => h.genesis.chain_id.clone(),
                None => {
                    LedgerClient::new(endpoints.to_vec())
                        .status()
                        .await?
                        .chain_id
                }
            };
            return Ok(Some(Signer::new(key, chain_id)));
        }
        if let Some(name) = &self.officer {
            let Some(h) = home else {
                bail!("--officer needs --home (the directory holding the officers' keys)");
            };
            let agencies: Vec<String> = match &self.identity {
                Some(a) => vec![a.clone()],
                None => h.genesis.agencies.iter().map(|a| a.id.clone()).collect(),
            };
            let mut found = Vec::new();
            for a in &agencies {
                let path = crate::cli::act::officer_key_path(h, a, name)?;
                if path.exists() {
                    found.push(path);
                }
            }
            let [path] = found.as_slice() else {
                return Err(crate::cli::exit::usage(format!(
                    "--officer {name}: {} key files HOME/<agency>/officers/{name}.key among \
                     {} (name the agency with --as)",
                    found.len(),
                    agencies.join(", ")
                )));
            };
            return Ok(Some(h.signer_for(&home::read_key(path)?)));
        }
        match (home, &self.identity) {
            (Some(h), Some(name)) => Ok(Some(h.signer(name)?)),
            (Some(h), None) => Ok(h.default_signer(auditor).ok()),
            (None, Some(_)) => bail!("--as needs --home (the directory holding the keys)"),
            (None, None) => Ok(None),
        }
    }

    /// [`Target::client`], but with the node of the agency it signs for asked first (with
    /// --home): an officer's own node holds its agency's withheld values.
    pub async fn client_own_node_first(&self) -> anyhow::Result<LedgerClient> {
        self.client_with(true).await
    }

    /// A client over the target's nodes, signing as the target's identity.
    pub async fn client(&self) -> anyhow::Result<LedgerClient> {
        self.client_with(false).await
    }

    async fn client_with(&self, own_node_first: bool) -> anyhow::Result<LedgerClient> {
        let (mut eps, home) = self.endpoints()?;
        let signer = self.signer(&eps, home.as_ref(), false).await?;
        if let (true, Some(h), None) = (own_node_first, &home, &self.node) {
            let own = match &self.identity {
                Some(name) => h.genesis.agency(name),
                None => h.genesis.agencies.iter().find(|a| h.signer(&a.id).is_ok()),
            };
            if let Some(a) = own {
                eps.retain(|e| *e != a.grpc_addr);
                eps.insert(0, a.grpc_addr.clone());
            }
        }
        let c = LedgerClient::new(eps);
        Ok(match signer {
            Some(s) => c.signed_by(s),
            None => c,
        })
    }
}
