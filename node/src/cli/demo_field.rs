//! The demo's synthetic field work (issue 20 items 5, 6), marked as synthetic in its
//! summary: a public tip-off handed to CDPH's node without a key and followed up by CDPH,
//! and a sensor alert from a monitoring gateway CDPH registers at an enterprise it
//! inspects, which nobody acknowledges: it escalates to CDPH's inbox and raises the
//! enterprise's risk level. To show the escalation within the demo, the agencies first
//! shorten `alert_ack_seconds` from 300 to [`DEMO_ACK_SECONDS`] by governance (the network
//! left running keeps that value; `governance set-param` restores it).

use crate::cli::demo_synthetic::outcome_words;
use crate::cli::home::Home;
use crate::cli::submit;
use safeledger_client::import::{CHICAGO_BACP, CHICAGO_CDPH, US_OSHA};
use safeledger_client::proto;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{
    GovernanceAction, GovernanceProposal, GovernanceVote, MonitorRegistration, SensorAlert,
    TipFollowUp, TipStatus,
};
use safeledger_core::{SecretKey, Transaction, TxBody, TxPayload};
use std::time::{Duration, Instant};

/// The acknowledgement window the demo sets, in seconds.
pub const DEMO_ACK_SECONDS: u64 = 3;

const WAIT: Duration = Duration::from_secs(60);

/// Submits the synthetic tip and alert (about `planned`, an enterprise CDPH inspects) and
/// prints what became of them.
///
/// # Errors
/// A node that cannot be reached or a record that is not committed.
pub async fn run(home: &Home, planned: Option<&EnterpriseId>) -> anyhow::Result<()> {
    let now = crate::cli::when::now();
    let cdph = home.officer_key(CHICAGO_CDPH)?;
    let own = home
        .genesis
        .agency(CHICAGO_CDPH)
        .ok_or_else(|| anyhow::anyhow!("no {CHICAGO_CDPH} in the demo's genesis"))?;
    let mut public = LedgerClient::new(vec![own.grpc_addr.clone()]);
    let tip = public
        .submit_tip(proto::SubmitTipRequest {
            enterprise: String::new(),
            address: "2100 S Example Ave, Chicago (synthetic)".into(),
            description: "Synthetic tip: the loading dock's fire exit is chained shut at night."
                .into(),
            files: Vec::new(),
        })
        .await?;
    let tip_id = safeledger_core::records::tip::tip_id_of_receipt(&tip.receipt);
    let t = Instant::now();
    while public.tip_status(&tip.receipt).await.is_err() {
        anyhow::ensure!(
            t.elapsed() < WAIT,
            "the tip was not committed within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body = TxBody::TipFollowUp(TipFollowUp {
        tip_id: tip_id.clone(),
        status: TipStatus::UnderInvestigation,
        note: "An inspector visits the site this week.".into(),
        reward_yuan: None,
        claimant_name: String::new(),
    });
    let r = submit::submit_signed_by(home, CHICAGO_CDPH, &cdph, body, now, &[], WAIT).await?;
    println!(
        "public tip-off           to CDPH without a key (receipt code {}; a real tipster keeps \
         it secret), tip {tip_id}, followed up under_investigation: {}; `safeledger tip \
         status --receipt {} --home {}`",
        tip.receipt,
        outcome_words(&r.result.outcome),
        tip.receipt,
        home.dir.display()
    );
    let Some(ent) = planned else {
        println!("sensor alert             skipped: CDPH inspects no licensed enterprise here");
        return Ok(());
    };
    // Shorten the acknowledgement window so that the escalation shows now.
    let proposal = TxBody::GovernanceProposal(GovernanceProposal {
        proposal_id: "DEMO-ACK-WINDOW".into(),
        action: GovernanceAction::SetRuleParam {
            name: "alert_ack_seconds".into(),
            value: DEMO_ACK_SECONDS.to_string(),
        },
        reason: "demo: show a sensor alert's escalation within seconds".into(),
    });
    submit::submit_signed_by(home, CHICAGO_CDPH, &cdph, proposal, now, &[], WAIT).await?;
    for voter in [CHICAGO_BACP, US_OSHA] {
        let vote = TxBody::GovernanceVote(GovernanceVote {
            proposal_id: "DEMO-ACK-WINDOW".into(),
            approve: true,
        });
        submit::submit_one(home, voter, vote, now, WAIT).await?;
    }
    let gateway = SecretKey::generate(&mut rand::rngs::OsRng);
    let enterprise_key = SecretKey::generate(&mut rand::rngs::OsRng);
    let reg = TxBody::MonitorRegistration(MonitorRegistration {
        enterprise: ent.clone(),
        gateway_id: "DEMO-GW-1".into(),
        gateway_key: gateway.public(),
        enterprise_key: enterprise_key.public(),
    });
    submit::submit_signed_by(home, CHICAGO_CDPH, &cdph, reg, now, &[], WAIT).await?;
    let alert = TxBody::SensorAlert(SensorAlert {
        enterprise: ent.clone(),
        gateway_id: "DEMO-GW-1".into(),
        alert_id: "DEMO-A1".into(),
        device: "CO-2".into(),
        measure: "co_ppm".into(),
        value: "64".into(),
        threshold: "50".into(),
        level: 2,
        observed_at: now,
    });
    let p = TxPayload::new(
        &home.genesis.chain_id,
        1,
        now,
        alert,
        &mut rand::rngs::OsRng,
    );
    let tx = Transaction::sign(p, &[&gateway]);
    let id = tx.id();
    let r = LedgerClient::new(home.endpoints())
        .submit_and_wait(&[tx], WAIT)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no result for the alert"))?;
    // Nobody acknowledges: wait for the escalation.
    let mut c = home.client_for(&cdph);
    let t = Instant::now();
    let escalated = loop {
        let v = c.query("alerts", "", ent.as_str(), 10).await?;
        let esc = v
            .as_array()
            .and_then(|a| a.iter().find(|x| x["tx_id"] == id.to_hex()))
            .map(|x| !x["escalated"].is_null())
            .unwrap_or(false);
        if esc || t.elapsed() > Duration::from_secs(DEMO_ACK_SECONDS + 30) {
            break esc;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let risk = c.query("assessment", "", ent.as_str(), 1).await?;
    println!(
        "sensor alert             gateway DEMO-GW-1 (registered by CDPH) at {ent}: {} ({id}); \
         not acknowledged within alert_ack_seconds = {DEMO_ACK_SECONDS} (the demo's governance \
         shortened it from 300): {}; risk level now {} ({})",
        outcome_words(&r.result.outcome),
        if escalated {
            "escalated to CDPH's inbox"
        } else {
            "NOT escalated in time"
        },
        risk["risk"].as_str().unwrap_or("?"),
        risk["risk_reason"].as_str().unwrap_or("")
    );
    anyhow::ensure!(
        escalated,
        "the demo's unacknowledged alert did not escalate"
    );
    Ok(())
}
