//! Search latency against a running network (issue 19's figures): builds a set of search
//! texts from the enterprises the index holds (the start of a name's first word, two words
//! of a name, a whole id, a licence number), then times each `SearchEnterprises` call
//! through the client on loopback (TLS, signed request) and prints p50/p90/p99/max, after
//! the transport's own figures (`Status`, unsigned; `GetEnterprise`, signed). `LIMIT=n`
//! asks for n hits a search (default 20).
//!
//! ```sh
//! cargo run --release -p safeledger-node --example search_latency -- net 1000 [AGENCY]
//! ```

// A tool outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use safeledger_node::cli::home::Home;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let home = Home::load(std::path::Path::new(
        args.get(1).map_or("net", String::as_str),
    ))?;
    let n: usize = args.get(2).map_or(Ok(1000), |s| s.parse())?;
    let agency = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| home.genesis.agencies[0].id.clone());
    let own = home
        .genesis
        .agency(&agency)
        .ok_or_else(|| anyhow::anyhow!("no agency {agency}"))?;
    let mut c = safeledger_client::rpc::LedgerClient::new(vec![own.grpc_addr.clone()])
        .signed_by(home.signer(&agency)?);

    // Texts from what the index holds.
    let mut texts: Vec<String> = Vec::new();
    for seed in [
        "inc",
        "rest",
        "llc",
        "food",
        "construction",
        "market",
        "cafe",
        "grill",
    ] {
        for page in 0..5u32 {
            let v = c.search_enterprises(seed, 100, page * 100).await?;
            for h in v["hits"].as_array().cloned().unwrap_or_default() {
                let name = h["name"].as_str().unwrap_or("");
                let words: Vec<&str> = name.split_whitespace().collect();
                if let Some(w) = words.first() {
                    let p: String = w.chars().take(4).collect();
                    if p.chars().count() >= 3 {
                        texts.push(p);
                    }
                }
                if words.len() >= 2 {
                    texts.push(format!("{} {}", words[0], words[1]));
                }
                if let Some(id) = h["enterprise"].as_str() {
                    texts.push(id.to_string());
                }
                if let Some(l) = h["licences"][0]["number"].as_str() {
                    texts.push(l.to_string());
                }
            }
        }
    }
    if texts.is_empty() {
        anyhow::bail!("the index holds nothing to search for");
    }
    let documents = c.search_enterprises("inc", 1, 0).await?["documents"].clone();
    let mut ms = Vec::with_capacity(n);
    let mut hits = 0u64;
    for i in 0..n {
        let t = &texts[(i * 7919) % texts.len()];
        let start = Instant::now();
        let v = c
            .search_enterprises(
                t,
                std::env::var("LIMIT")
                    .ok()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(20),
                0,
            )
            .await?;
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        hits += v["total"].as_u64().unwrap_or(0);
    }
    // The transport alone: a Status call, the cheapest request.
    let mut base = Vec::with_capacity(200);
    for _ in 0..200 {
        let start = Instant::now();
        c.status().await?;
        base.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    base.sort_by(f64::total_cmp);
    println!("status calls: p50 {:.2} ms", base[base.len() / 2]);
    let mut signed = Vec::with_capacity(200);
    for _ in 0..200 {
        let start = Instant::now();
        c.enterprise("us-chi-bacp:2762", 1).await?;
        signed.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    signed.sort_by(f64::total_cmp);
    println!(
        "enterprise calls (signed): p50 {:.2} ms",
        signed[signed.len() / 2]
    );
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{n} searches at {agency}'s node over {documents} enterprises ({} distinct texts, \
         {:.1} matches each on average): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        texts.len(),
        hits as f64 / n as f64,
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
    Ok(())
}
