//! The gossip messages this node published or received lately, so that it does not publish one again
//! while gossipsub still remembers it (issue 18, point 8). gossipsub keeps the id of every
//! message it saw for [`DUPLICATE_WINDOW`] and refuses to publish it again, logging a
//! warning each time; a node re-sends its votes and proposals while a height is undecided,
//! and those repeats reached no one. Skipping them here removes the warning at its cause.

use libp2p::gossipsub::MessageId;
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

/// How long gossipsub remembers a message id (its `duplicate_cache_time`, set to this).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(60);

/// Most ids remembered; beyond it the oldest is forgotten early (gossipsub then refuses
/// the repeat itself, as before).
pub const MAX_REMEMBERED: usize = 65_536;

/// Message ids published within [`DUPLICATE_WINDOW`], oldest first.
#[derive(Default)]
pub(crate) struct Published {
    order: VecDeque<(Instant, MessageId)>,
    ids: HashSet<MessageId>,
}

impl Published {
    /// Whether `id` may be published at `now`; if so, it is remembered.
    pub(crate) fn first_time(&mut self, id: MessageId, now: Instant) -> bool {
        while let Some((t, old)) = self.order.front() {
            if now.duration_since(*t) < DUPLICATE_WINDOW && self.order.len() < MAX_REMEMBERED {
                break;
            }
            self.ids.remove(old);
            self.order.pop_front();
        }
        if !self.ids.insert(id.clone()) {
            return false;
        }
        self.order.push_back((now, id));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_within_the_window_is_skipped_and_allowed_after_it() {
        let mut p = Published::default();
        let t = Instant::now();
        let id = MessageId::from(vec![1u8]);
        assert!(p.first_time(id.clone(), t));
        assert!(!p.first_time(id.clone(), t + Duration::from_secs(59)));
        assert!(p.first_time(id, t + DUPLICATE_WINDOW + Duration::from_secs(1)));
    }
}
