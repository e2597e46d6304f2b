//! The console's chain pages: the block list (one `ListBlockHeaders` request a page), a
//! block (header, commit certificate signers, refusals by rule, its transactions a page at
//! a time with each result) and a transaction (its record, signer, place and result).

use super::i18n::Lang;
use super::pages::{error, failed, lang, page};
use super::Console;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

/// Blocks a page of the block list shows.
const BLOCKS_PAGE: u64 = 25;
/// Transactions a page of a block shows.
const TXS_PAGE: usize = 200;

struct BlockRow {
    height: u64,
    time: String,
    txs: usize,
    hash: String,
}

#[derive(Template)]
#[template(path = "console/blocks.html")]
struct BlocksPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    blocks: Vec<BlockRow>,
    older: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BlocksQuery {
    from: Option<u64>,
}

pub(super) async fn blocks(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Query(q): Query<BlocksQuery>,
) -> Response {
    let lang = lang(&h);
    let mut client = c.client.lock().await;
    let top = match q.from {
        Some(0) => {
            return error(
                &c,
                lang,
                StatusCode::BAD_REQUEST,
                "from=0: heights start at 1".into(),
            )
        }
        Some(f) => f,
        // 0 asks ListBlockHeaders for the latest block itself.
        None => 0,
    };
    // One request for the page's headers, not a block per row.
    let headers = match client.block_headers(top, BLOCKS_PAGE as u32).await {
        Ok(h) => h,
        Err(e) => return failed(&c, lang, e),
    };
    let bottom = headers.last().map_or(1, |h| h.height);
    let rows = headers
        .iter()
        .map(|hd| BlockRow {
            height: hd.height,
            time: lang.time(hd.time.0),
            txs: hd.tx_count as usize,
            hash: hd.hash().to_hex(),
        })
        .collect();
    page(BlocksPage {
        lang,
        identity: &c.identity,
        blocks: rows,
        older: bottom.saturating_sub(1),
    })
}

struct TxRow {
    id: String,
    kind: String,
    rule: String,
    reason: String,
}

/// A rule and how many of the block's transactions it refused.
struct RuleCount {
    rule: String,
    count: usize,
}

#[derive(Template)]
#[template(path = "console/block.html")]
struct BlockPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    height: u64,
    hash: String,
    time: String,
    proposer: String,
    signers: Vec<String>,
    tx_count: usize,
    /// The rows shown: transactions `from..from + txs.len()` of the block.
    from: usize,
    txs: Vec<TxRow>,
    refusals: Vec<RuleCount>,
    /// Where the next page of transactions starts (0: no next page).
    next: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BlockQuery {
    from: Option<usize>,
}

pub(super) async fn block(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Path(height): Path<u64>,
    Query(q): Query<BlockQuery>,
) -> Response {
    let lang = lang(&h);
    // Heights start at 1 (the node reads 0 as "the latest", which this page would mislabel).
    if height == 0 {
        return error(
            &c,
            lang,
            StatusCode::NOT_FOUND,
            "no block at height 0: heights start at 1".into(),
        );
    }
    let got = c.client.lock().await.block(height).await;
    let (b, cert, results) = match got {
        Ok(x) => x,
        Err(e) => return failed(&c, lang, e),
    };
    let mut refusals: Vec<RuleCount> = Vec::new();
    for r in &results {
        if let safeledger_core::Outcome::Refused { rule, .. } = &r.outcome {
            match refusals.iter_mut().find(|x| &x.rule == rule) {
                Some(x) => x.count += 1,
                None => refusals.push(RuleCount {
                    rule: rule.clone(),
                    count: 1,
                }),
            }
        }
    }
    refusals.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.rule.cmp(&b.rule)));
    let from = q.from.unwrap_or(0).min(b.txs.len());
    let txs = b
        .txs
        .iter()
        .zip(&results)
        .skip(from)
        .take(TXS_PAGE)
        .map(|(t, r)| {
            let (rule, reason) = match &r.outcome {
                safeledger_core::Outcome::Accepted => (String::new(), String::new()),
                safeledger_core::Outcome::Refused { rule, reason } => {
                    (rule.clone(), reason.clone())
                }
            };
            TxRow {
                id: t.id().to_hex(),
                kind: t.payload.body.kind().name().to_string(),
                rule,
                reason,
            }
        })
        .collect();
    page(BlockPage {
        lang,
        identity: &c.identity,
        height,
        hash: b.hash().to_hex(),
        time: lang.time(b.header.time.0),
        proposer: b.header.proposer.to_hex(),
        signers: cert
            .signatures
            .iter()
            .map(|s| s.validator.to_hex())
            .collect(),
        tx_count: b.txs.len(),
        from,
        txs,
        refusals,
        next: if from + TXS_PAGE < b.txs.len() {
            from + TXS_PAGE
        } else {
            0
        },
    })
}

#[derive(Template)]
#[template(path = "console/tx.html")]
struct TxPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    id: String,
    height: u64,
    index: u32,
    kind: String,
    /// The signers' keys, the submitting officer's first.
    signers: Vec<String>,
    effective: String,
    enterprise: String,
    rule: String,
    reason: String,
    record: String,
}

/// `GET /tx/{id}`: a committed transaction.
pub(super) async fn transaction(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = lang(&h);
    let tx_id = match super::pages::tx_id_param(&c, lang, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let got = c.client.lock().await.transaction(tx_id).await;
    let (tx, height, index, result) = match got {
        Ok(x) => x,
        Err(e) => return failed(&c, lang, e),
    };
    let (rule, reason) = match &result.outcome {
        safeledger_core::Outcome::Accepted => (String::new(), String::new()),
        safeledger_core::Outcome::Refused { rule, reason } => (rule.clone(), reason.clone()),
    };
    let body = &tx.payload.body;
    page(TxPage {
        lang,
        identity: &c.identity,
        id: tx_id.to_hex(),
        height,
        index,
        kind: body.kind().name().to_string(),
        signers: tx.signatures.iter().map(|s| s.signer.to_hex()).collect(),
        effective: lang.time(tx.payload.effective_at.0),
        enterprise: body
            .enterprise()
            .map(|e| e.as_str().to_string())
            .unwrap_or_default(),
        rule,
        reason,
        record: serde_json::to_string_pretty(body).unwrap_or_default(),
    })
}
