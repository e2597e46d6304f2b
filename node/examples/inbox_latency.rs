//! Inbox figures (issue 19): a temporary store holding N enterprises (default 100,000),
//! each with one active licence of one agency ending within the next 60 days and, for one
//! in ten, a hazard awaiting rectification — so the agency's inbox holds 1.1·N open tasks
//! ([`safeledger_node::inbox::synthetic`]). Times the rebuild of the inbox from state,
//! then pages of 50 through the whole inbox by cursor (p50/p99/max per page, and the first
//! page, which also counts the tasks).
//!
//! ```sh
//! cargo run --release -p safeledger-node --example inbox_latency -- 100000
//! ```

// A tool outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use safeledger_contracts::Registry;
use safeledger_core::Timestamp;
use safeledger_node::inbox::{synthetic, InboxIndex};
use safeledger_node::store::Store;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::args().nth(1).map_or(Ok(100_000), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("store"))?;
    let now = 1_800_000_000_000u64;
    synthetic::fill(&store, n, now)?;
    let inbox = InboxIndex::open(&store, Registry::default())?;
    let t = Instant::now();
    inbox.rebuild(&AtomicBool::new(false))?;
    println!(
        "rebuilt the inbox of {n} enterprises in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let (mut cursor, mut ms, mut tasks) = (String::new(), Vec::new(), 0usize);
    loop {
        let t = Instant::now();
        let page = inbox.page("agency-a", &cursor, 50, 60, Timestamp(now))?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        tasks += page.tasks.len();
        match page.next_cursor {
            Some(c) => cursor = c,
            None => break,
        }
    }
    let first = ms[0];
    // The first page again, with its counts, once the tree has been read through.
    let mut again = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        inbox.page("agency-a", "", 50, 60, Timestamp(now))?;
        again.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    again.sort_by(f64::total_cmp);
    println!(
        "first page (with its counts) again, 20 times: p50 {:.2} ms, max {:.2} ms",
        again[10], again[19]
    );
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{tasks} tasks in {} pages of 50: first page {first:.2} ms; per page p50 {:.2} ms, \
         p99 {:.2} ms, max {:.2} ms",
        ms.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
    Ok(())
}
