//! Submitting many signed transactions and waiting until each is committed (DESIGN §3
//! "Submission semantics"): batches are admitted in order over one connection, then
//! waited for concurrently; a node that stops answering is failed over, and unacknowledged
//! transactions are resubmitted (idempotent by id and sequence).
//!
//! Each batch is admitted at two nodes, in the same order at both (admission is
//! idempotent, and the second node would otherwise verify the same transactions when they
//! arrive by gossip): if the first dies before gossiping the batch, the second still
//! proposes it in order. The waiter knows what each admitted and offers a transaction to a
//! node only once (again only after a connection to it failed).
//!
//! A transaction whose batch was lost with a node while later batches of the same signer
//! committed can never commit (its sequence is no longer above the signer's last). Such a
//! transaction is dead for good — no node will ever admit or execute it — so, when the
//! caller gives a re-signer, it is signed again with a fresh sequence and submitted anew.

use crate::cli::exit::{self, Exit};
use crate::cli::home::Home;
use crate::cli::liveness;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use safeledger_client::auth::Signer;
use safeledger_client::proto::Admission;
use safeledger_client::rpc::{
    AdmissionReason, ClientError, Committed, Held, LedgerClient, Refusal,
};
use safeledger_core::limits::MAX_TX_BYTES;
use safeledger_core::{Timestamp, Transaction, TxBody, TxId, TxPayload};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Transactions per submitted batch.
pub const BATCH: usize = 500;
/// Batches admitted but not yet acknowledged.
pub const WINDOW: usize = 8;
/// Give up on a batch after this long without it committing.
pub const BATCH_DEADLINE: Duration = Duration::from_secs(600);
/// Rounds of re-signing dead transactions before giving up on them.
pub const MAX_RESIGN_ROUNDS: usize = 3;

/// How long `tx submit` and the `assistance` commands wait for their transaction to
/// commit unless `--timeout` says otherwise.
pub const COMMIT_DEADLINE: Duration = Duration::from_secs(30);

/// Signs `body` with `agency`'s officer key from `home` (the next sequence after the
/// ledger's), effective at `effective_at`, submits it to any node of the network and waits
/// until it is committed, at most `deadline`: `tx submit` and the `assistance` commands.
/// The committed result may still be a refusal by a rule ([`Committed::result`]).
///
/// # Errors
/// Unknown agency or no officer key for it in `home`; a record out of bounds (exit 2,
/// before signing); no node reachable; admission refused (exit 4, the transaction id and
/// the node's reason); not committed within `deadline` (exit 5, the transaction id and
/// what the nodes say: the age of the newest block, the nodes that do not answer).
pub async fn submit_one(
    home: &Home,
    agency: &str,
    body: TxBody,
    effective_at: Timestamp,
    deadline: Duration,
) -> anyhow::Result<Committed> {
    submit_one_private(home, agency, body, effective_at, &[], deadline).await
}

/// [`submit_one`] with the fields `private` withheld (DESIGN §4 "Private fields"): after
/// signing, their values go only to `agency`'s own node (sealed there), and the
/// transaction is submitted with their commitments alone.
///
/// # Errors
/// Those of [`submit_one`]; a field that may not be private; the agency's node refusing
/// or not answering.
pub async fn submit_one_private(
    home: &Home,
    agency: &str,
    body: TxBody,
    effective_at: Timestamp,
    private: &[&str],
    deadline: Duration,
) -> anyhow::Result<Committed> {
    let key = home.officer_key(agency)?;
    submit_signed_by(home, agency, &key, body, effective_at, private, deadline).await
}

/// Checks `body`'s bounds and signs it with `key` (an officer of `agency`) at the next
/// sequence after the ledger's; returns the transaction and a client over every node
/// signing requests with the same key.
///
/// # Errors
/// A record out of bounds or a signed transaction over `MAX_TX_BYTES` (exit 2); no node
/// answering the sequence.
pub async fn sign_next(
    home: &Home,
    key: &safeledger_core::SecretKey,
    body: TxBody,
    effective_at: Timestamp,
) -> anyhow::Result<(Transaction, LedgerClient)> {
    body.check_bounds()
        .map_err(|e| exit::usage(format!("the record is out of bounds: {e}")))?;
    let mut c = home.client_for(key);
    let seq = c.sequence(&key.public()).await? + 1;
    let payload = TxPayload::new(
        &home.genesis.chain_id,
        seq,
        effective_at,
        body,
        &mut rand::rngs::OsRng,
    );
    let tx = Transaction::sign(payload, &[key]);
    let size = safeledger_core::to_canonical(&tx).len();
    if size > MAX_TX_BYTES {
        return Err(exit::usage(format!(
            "the signed transaction holds {size} bytes, more than the {MAX_TX_BYTES} bytes \
             a transaction may hold"
        )));
    }
    Ok((tx, c))
}

/// [`submit_one_private`] signed by `key`, an officer of `agency` (not necessarily its
/// first): `--officer` of the record verbs.
///
/// # Errors
/// Those of [`submit_one_private`].
pub async fn submit_signed_by(
    home: &Home,
    agency: &str,
    key: &safeledger_core::SecretKey,
    body: TxBody,
    effective_at: Timestamp,
    private: &[&str],
    deadline: Duration,
) -> anyhow::Result<Committed> {
    home.known_agency(agency)?;
    let (tx, c) = sign_next(home, key, body, effective_at).await?;
    send_withholding(home, agency, key, c, tx, private, deadline).await
}

/// Submits `tx`, signed by `key` (an officer of `agency`), through `c` and waits for its
/// commit as [`send_signed`] does, first withholding the fields named in `private` and
/// handing their values to `agency`'s own node ([`submit_one_private`]'s second half: the
/// console submits the very transaction its check signed).
///
/// # Errors
/// A field in `private` the record cannot withhold; `agency`'s node not taking the values;
/// those of [`send_signed`].
pub async fn send_withholding(
    home: &Home,
    agency: &str,
    key: &safeledger_core::SecretKey,
    c: LedgerClient,
    mut tx: Transaction,
    private: &[&str],
    deadline: Duration,
) -> anyhow::Result<Committed> {
    if !private.is_empty() {
        let values = tx
            .payload
            .withhold(private)
            .map_err(|e| exit::usage(format!("--private: {e}")))?;
        let own = home
            .genesis
            .agency(agency)
            .with_context(|| format!("no agency {agency} in the genesis"))?;
        LedgerClient::new(vec![own.grpc_addr.clone()])
            .signed_by(home.signer_for(key))
            .store_private(&[(tx.clone(), values)])
            .await
            .with_context(|| format!("handing the private values to {agency}'s own node"))?;
    }
    send_signed(home, c, tx, deadline).await
}

/// Submits the signed `tx` through `c` and waits until it is committed, at most
/// `deadline`; the committed result (a rule's refusal included) or why it was not.
///
/// # Errors
/// Rejected at admission (exit 4), not committed in time or no node reachable (exit 5,
/// with what each node answered), Ctrl-C (exit 130).
pub async fn send_signed(
    home: &Home,
    mut c: LedgerClient,
    tx: Transaction,
    deadline: Duration,
) -> anyhow::Result<Committed> {
    let id = tx.id();
    // The deadline bounds the whole wait (fail-overs included); Ctrl-C still says what
    // became of the transaction.
    let txs = [tx];
    let waited = tokio::select! {
        w = tokio::time::timeout(deadline, c.submit_and_wait_detailed(&txs, deadline)) => {
            w.unwrap_or(Err(ClientError::Timeout(1)))
        }
        _ = tokio::signal::ctrl_c() => {
            return Err(exit::fail(
                Exit::Interrupted,
                format!(
                    "interrupted; transaction {id} may have been admitted and may still \
                     commit: ask with `safeledger tx show {id} --home {}`",
                    home.dir.display()
                ),
            ));
        }
    };
    match waited {
        Ok(mut out) => {
            if let Some((_, refusal)) = out.refused.pop() {
                return Err(exit::fail(
                    Exit::Rejected,
                    format!(
                        "transaction {id} rejected at admission by {}: {refusal}; it was not \
                         committed",
                        c.endpoint()
                    ),
                ));
            }
            out.committed.pop().context("the node returned no result")
        }
        Err(e @ (ClientError::Timeout(_) | ClientError::Unreachable(_))) => {
            let seen = liveness::survey(home).await;
            let what = match e {
                ClientError::Timeout(_) => format!("not committed within {} s", deadline.as_secs()),
                _ => format!("not submitted: {e}"),
            };
            Err(exit::fail(
                Exit::Unavailable,
                format!(
                    "transaction {id} {what}: {}. It may still commit: ask with \
                     `safeledger tx show {id} --home {}`",
                    seen.describe(),
                    home.dir.display()
                ),
            ))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("transaction {id}"))),
    }
}

/// Signs a dead transaction's record again with a fresh sequence.
pub type Resigner = Box<dyn FnMut(&Transaction) -> Transaction + Send>;

/// What happened to the submitted transactions.
#[derive(Default)]
pub struct SubmitReport {
    /// Committed, with results, by id.
    pub committed: BTreeMap<TxId, Committed>,
    /// Refused at admission for good (never committed), by error text.
    pub not_admitted: BTreeMap<String, u64>,
    /// Transactions signed again with a fresh sequence after their first signing died.
    pub resigned: u64,
}

type Waited = Result<(Vec<Committed>, Vec<(Transaction, Refusal)>), String>;

async fn wait_batch(
    endpoints: Vec<String>,
    signer: Signer,
    start_at: usize,
    txs: Vec<Transaction>,
    held: Held,
) -> Waited {
    let mut c = LedgerClient::new(endpoints).signed_by(signer);
    for _ in 0..start_at {
        c.fail_over();
    }
    let out = c
        .wait_submitted(&txs, BATCH_DEADLINE, held)
        .await
        .map_err(|e| e.to_string())?;
    let by_id: BTreeMap<TxId, &Transaction> = txs.iter().map(|t| (t.id(), t)).collect();
    let refused = out
        .refused
        .into_iter()
        .filter_map(|(id, e)| by_id.get(&id).map(|t| ((*t).clone(), e)))
        .collect();
    Ok((out.committed, refused))
}

/// Submits `txs` in order to `endpoints` (failing over) and waits for all of them, signing
/// the requests as `signer` (an officer).
pub async fn submit_all(
    endpoints: Vec<String>,
    signer: Signer,
    txs: Vec<Transaction>,
    show_progress: bool,
    mut resign: Option<Resigner>,
) -> anyhow::Result<SubmitReport> {
    let pb = if show_progress {
        let pb = ProgressBar::new(txs.len() as u64);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} committed {pos}/{len} [{bar:40}] {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let mut report = SubmitReport::default();
    let mut admit = LedgerClient::new(endpoints.clone()).signed_by(signer.clone());
    // A second admission path, one endpoint further on.
    let mut backup = LedgerClient::new(endpoints.clone()).signed_by(signer.clone());
    backup.fail_over();
    let mut todo = txs;
    for round in 0..=MAX_RESIGN_ROUNDS {
        let mut dead: Vec<(Transaction, Refusal)> = Vec::new();
        let mut waiting: JoinSet<Waited> = JoinSet::new();
        for batch in todo.chunks(BATCH) {
            let started = Instant::now();
            let admissions = loop {
                match admit.submit(batch).await {
                    Ok(a) => break a,
                    Err(e) => {
                        if started.elapsed() > Duration::from_secs(120) {
                            anyhow::bail!("no node admitted a batch for 120 s: {e}");
                        }
                        pb.set_message(format!("{}: {e}; failing over", admit.endpoint()));
                        admit.fail_over();
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
            };
            let mut held = Held::new();
            note_held(&mut held, admit.endpoint(), batch, &admissions);
            if endpoints.len() > 1 {
                if backup.endpoint() == admit.endpoint() {
                    backup.fail_over();
                }
                match backup.submit(batch).await {
                    Ok(a) => note_held(&mut held, backup.endpoint(), batch, &a),
                    Err(_) => backup.fail_over(),
                }
            }
            let mut pending = Vec::with_capacity(batch.len());
            for (tx, a) in batch.iter().zip(&admissions) {
                match Refusal::of(a) {
                    None => pending.push(tx.clone()),
                    Some(r) => dead.push((tx.clone(), r)),
                }
            }
            let at = endpoints
                .iter()
                .position(|e| e == admit.endpoint())
                .unwrap_or(0);
            waiting.spawn(wait_batch(
                endpoints.clone(),
                signer.clone(),
                at,
                pending,
                held,
            ));
            while waiting.len() >= WINDOW {
                collect(&mut waiting, &mut report, &mut dead, &pb).await?;
            }
        }
        while !waiting.is_empty() {
            collect(&mut waiting, &mut report, &mut dead, &pb).await?;
        }
        todo = Vec::new();
        for (tx, err) in dead {
            match resign.as_mut() {
                // A sequence no longer above the signer's last can never commit.
                Some(f)
                    if err.reason == AdmissionReason::StaleSequence
                        && round < MAX_RESIGN_ROUNDS =>
                {
                    report.resigned += 1;
                    todo.push(f(&tx));
                }
                _ => {
                    *report.not_admitted.entry(err.message).or_default() += 1;
                    pb.inc(1);
                }
            }
        }
        if todo.is_empty() {
            break;
        }
        pb.set_message(format!(
            "re-signing {} transactions whose batch was lost",
            todo.len()
        ));
    }
    pb.finish_and_clear();
    Ok(report)
}

/// Records in `held` the transactions of `batch` that `endpoint` admitted (or already
/// committed), so that the waiter does not offer them to it again.
fn note_held(held: &mut Held, endpoint: &str, batch: &[Transaction], admissions: &[Admission]) {
    let ids = held.entry(endpoint.to_string()).or_default();
    for (tx, a) in batch.iter().zip(admissions) {
        if a.admitted || a.already_committed {
            ids.insert(tx.id());
        }
    }
}

async fn collect(
    waiting: &mut JoinSet<Waited>,
    report: &mut SubmitReport,
    dead: &mut Vec<(Transaction, Refusal)>,
    pb: &ProgressBar,
) -> anyhow::Result<()> {
    if let Some(r) = waiting.join_next().await {
        let (committed, refused) = r
            .map_err(|e| anyhow::anyhow!("waiter failed: {e}"))?
            .map_err(|e| anyhow::anyhow!("transactions not committed: {e}"))?;
        pb.inc(committed.len() as u64);
        for c in committed {
            report.committed.insert(c.tx_id, c);
        }
        dead.extend(refused);
    }
    Ok(())
}
