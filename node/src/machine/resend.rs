//! Vote re-sends (TENDERMINT.md "Message ids and re-sends"): gossipsub suppresses a
//! repeated message, so a height that does not decide gets this node's messages of it —
//! `Consensus::resend_set`: the current and previous round, and the valid and locked
//! rounds' proposal and prevotes — pushed to each peer by request.

use super::{Action, Purpose};
use crate::consensus::Consensus;
use crate::wire::SyncRequest;
use safeledger_core::encoding::to_canonical;
use safeledger_core::limits::MAX_MESSAGE_BYTES;
use safeledger_core::PublicKey;

/// Pushes the core's re-send set to each of `peers`: in one request when it fits a
/// message, else the votes in one and each proposal (with its block) in its own; a part
/// over the message limit on its own is not sent.
pub(super) fn push(core: &Consensus, peers: &[PublicKey], out: &mut Vec<Action>) {
    let (proposals, votes) = core.resend_set();
    let one = SyncRequest::Push {
        proposals: proposals.clone(),
        votes: votes.clone(),
    };
    let reqs: Vec<SyncRequest> = if to_canonical(&one).len() <= MAX_MESSAGE_BYTES {
        vec![one]
    } else {
        std::iter::once(SyncRequest::Push {
            proposals: Vec::new(),
            votes,
        })
        .chain(proposals.into_iter().map(|p| SyncRequest::Push {
            proposals: vec![p],
            votes: Vec::new(),
        }))
        .filter(|r| to_canonical(r).len() <= MAX_MESSAGE_BYTES)
        .collect()
    };
    for peer in peers {
        for request in &reqs {
            out.push(Action::Request {
                peer: *peer,
                request: request.clone(),
                purpose: Purpose::Push,
            });
        }
    }
}
