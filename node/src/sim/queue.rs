//! The simulators' event queue: events by simulated time, those of one millisecond in the
//! order they were queued, so a seed replays exactly.

use std::collections::BTreeMap;

/// Events of type `E` ordered by (time ms, arrival).
#[derive(Debug)]
pub struct EventQueue<E> {
    seq: u64,
    events: BTreeMap<(u64, u64), E>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            seq: 0,
            events: BTreeMap::new(),
        }
    }
}

impl<E> EventQueue<E> {
    /// Queues `ev` at simulated time `at` (ms), after everything queued for `at` so far.
    pub fn push(&mut self, at: u64, ev: E) {
        self.seq += 1;
        self.events.insert((at, self.seq), ev);
    }

    /// The earliest event with its time; `None` when the queue is empty.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.events.pop_first().map(|((at, _), ev)| (at, ev))
    }
}
