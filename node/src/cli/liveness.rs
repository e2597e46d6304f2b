//! What the client can tell about a network that does not commit (issue 18, point 4): each
//! node's status asked at once with a short deadline, the age of the newest block any node
//! reports, and the nodes that did not answer.

use crate::cli::home::Home;
use crate::cli::when;
use safeledger_client::rpc::{LedgerClient, Status};
use safeledger_core::Timestamp;
use std::time::Duration;

/// How long [`survey`] waits for each node's status (the nodes are asked at once).
pub const SURVEY_TIMEOUT: Duration = Duration::from_secs(3);

/// One agency's node as the survey saw it.
#[derive(Debug)]
pub struct Seen {
    /// The agency.
    pub agency: String,
    /// Its node's gRPC URL.
    pub endpoint: String,
    /// Its status, or why none came.
    pub status: Result<Status, String>,
}

/// Every node of a network directory, asked at the same time.
#[derive(Debug)]
pub struct Survey {
    /// In genesis order.
    pub nodes: Vec<Seen>,
    /// This machine's clock when asked.
    pub now: Timestamp,
}

/// Asks every agency's node of `home` for its status (public, unsigned), each within
/// [`SURVEY_TIMEOUT`].
pub async fn survey(home: &Home) -> Survey {
    let asks = home.genesis.agencies.iter().map(|a| {
        let endpoint = a.grpc_addr.clone();
        let agency = a.id.clone();
        async move {
            let mut c =
                LedgerClient::new(vec![endpoint.clone()]).with_request_timeout(SURVEY_TIMEOUT);
            let status = match tokio::time::timeout(SURVEY_TIMEOUT * 2, c.status()).await {
                Ok(Ok(s)) => Ok(s),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "no answer within {} s",
                    (SURVEY_TIMEOUT * 2).as_secs()
                )),
            };
            Seen {
                agency,
                endpoint,
                status,
            }
        }
    });
    let nodes = futures::future::join_all(asks).await;
    Survey {
        nodes,
        now: when::now(),
    }
}

impl Survey {
    /// The agencies whose node did not answer.
    pub fn unreachable(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| n.status.is_err())
            .map(|n| n.agency.as_str())
            .collect()
    }

    /// The highest status any node reported.
    pub fn newest(&self) -> Option<&Status> {
        self.nodes
            .iter()
            .filter_map(|n| n.status.as_ref().ok())
            .max_by_key(|s| s.height)
    }

    /// How long ago a status's last block was made, ms (0 when its clock is ahead).
    pub fn age_ms(&self, s: &Status) -> u64 {
        self.now.0.saturating_sub(s.last_block_time_ms)
    }

    /// One sentence for people: "the network's newest block (height 120) is 41 s old; 2
    /// of 4 nodes unreachable (a, b)".
    pub fn describe(&self) -> String {
        let mut out = match self.newest() {
            Some(s) => format!(
                "the network's newest block (height {}) is {} old",
                s.height,
                when::show_age(self.age_ms(s))
            ),
            None => "no node answered".to_string(),
        };
        let down = self.unreachable();
        if !down.is_empty() && down.len() < self.nodes.len() {
            out.push_str(&format!(
                "; {} of {} nodes unreachable ({})",
                down.len(),
                self.nodes.len(),
                down.join(", ")
            ));
        }
        out
    }
}
