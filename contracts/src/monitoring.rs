//! Sensor alerts from monitored sites (issue 20 item 6; the regulator's text: alerts from
//! high-risk sites that the enterprise must acknowledge within five minutes).
//!
//! - `monitor_registration` (an agency's officer): registers, or replaces, the keys of an
//!   enterprise's monitoring gateway and the enterprise's own key. The registering agency
//!   supervises the gateway's alerts. A gateway key belongs to one gateway; a gateway
//!   registered by one agency is replaced only by that agency (R0-monitor).
//! - `sensor_alert` (the gateway's key, [`safeledger_core::TxBody::is_monitor_signed`]):
//!   refused (R0-signer) unless the key is the registered key of that enterprise's gateway;
//!   each alert id once per gateway (R0-duplicate); a reading observed more than
//!   [`CLOCK_SKEW_MS`] after the block time is refused (R0-monitor), and so is an alert over
//!   [`RuleParams::max_alerts_per_gateway_hour`] (120) in the block time's UTC hour
//!   (`mrate/` counts them). The acknowledgement
//!   deadline runs from the block time, whenever the reading was taken. A registered key is nobody else's: not an officer's, not an
//!   agency node's (R0-monitor), and a valid ed25519 key of full order (stateless). The enterprise must acknowledge it by
//!   block time + [`RuleParams::alert_ack_seconds`].
//! - `alert_ack` (the enterprise's key): refused (R0-signer) unless it is the key
//!   registered for the alert's enterprise; once (R0-monitor). An acknowledgement after the
//!   deadline is recorded as late and undoes nothing.
//! - Escalation ([`run`], at the start of each block, before its transactions, like R8's
//!   deadlines): an alert unacknowledged at its deadline escalates — recorded in the
//!   enterprise's `alert_escalations` with the alert as its basis, which raises its risk
//!   level one step for [`RuleParams::alert_escalation_days`]
//!   ([`crate::rules::assessment`]) and opens an `alert_follow_up` task in the supervising
//!   agency's inbox, closed by that agency's next inspection of the enterprise. The risk
//!   level is recomputed again when the period ends.
//!
//! Timers wait in buckets per UTC hour (`alq/<hour>`); `alq-cursor` remembers the last
//! hour processed, so each block reads only the hours since the previous one.

use crate::keys::join;
use crate::model::{AlertEscalation, EnterpriseState};
use crate::rules::{assessment, RecordContext, Refusal, RuleParams, R0_DUPLICATE, R0_SIGNER};
use crate::state::{list_push, list_read, read, Overlay, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{AlertAck, MonitorRegistration, SensorAlert};
use safeledger_core::{PublicKey, Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// A monitoring record out of order: a gateway registered by another agency, a gateway
/// key already in use, an enterprise not on the ledger, an alert acknowledged twice or
/// unknown.
pub const R0_MONITOR: &str = "R0-monitor";

/// Escalations an enterprise state keeps (the oldest are dropped).
pub const MAX_KEPT_ESCALATIONS: usize = 32;

const HOUR_MS: u64 = 3_600_000;
/// How far a reading's time may be ahead of the block time (gateway clocks drift).
pub const CLOCK_SKEW_MS: u64 = 300_000;
/// The last UTC hour whose timers were processed (`u64`).
pub const TIMER_CURSOR: &[u8] = b"alq-cursor";

/// What a registered monitoring key may sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyRole {
    /// A gateway's alerts.
    Gateway {
        /// The gateway's id.
        gateway_id: String,
    },
    /// The enterprise's acknowledgements.
    Enterprise,
}

/// A registered monitoring key (`mkey/<key>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorKey {
    /// The enterprise it belongs to.
    pub enterprise: EnterpriseId,
    /// What it signs.
    pub role: KeyRole,
}

/// A registered gateway (`mgw/<enterprise>/<gateway id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gateway {
    /// The supervising agency (the registering one).
    pub agency: String,
    /// The gateway's key.
    pub gateway_key: PublicKey,
    /// The enterprise's key at registration.
    pub enterprise_key: PublicKey,
    /// The registration.
    pub registered: TxId,
    /// Its block time.
    pub registered_at: Timestamp,
}

/// An alert and what became of it (`alert/<tx id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// The alert's transaction.
    pub tx_id: TxId,
    /// The alert.
    pub alert: SensorAlert,
    /// The supervising agency.
    pub agency: String,
    /// Height and block time it was committed at.
    pub height: u64,
    /// Block time of its commit.
    pub raised_at: Timestamp,
    /// The acknowledgement deadline.
    pub ack_due: Timestamp,
    /// The acknowledgement: its transaction, block time, and whether it came late.
    pub acked: Option<(TxId, Timestamp, bool)>,
    /// The block time it escalated at.
    pub escalated: Option<Timestamp>,
}

/// A timer: an alert's acknowledgement deadline, or the end of its raised risk level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Timer {
    Deadline(TxId),
    RaiseEnds(EnterpriseId),
}

fn key_key(k: &PublicKey) -> Vec<u8> {
    join(b"mkey/", &k.0)
}

fn gateway_key(e: &EnterpriseId, gateway: &str) -> Vec<u8> {
    join(
        b"mgw/",
        &safeledger_core::to_canonical(&(e.as_str(), gateway)),
    )
}

/// State key of an alert.
pub fn alert_key(tx: &TxId) -> Vec<u8> {
    join(b"alert/", &tx.0)
}

fn alert_id_key(e: &EnterpriseId, gateway: &str, alert_id: &str) -> Vec<u8> {
    join(
        b"alid/",
        &safeledger_core::to_canonical(&(e.as_str(), gateway, alert_id)),
    )
}

fn enterprise_alerts(e: &EnterpriseId) -> String {
    format!("ealerts/{}", e.as_str())
}

fn timer_key(hour: u64) -> Vec<u8> {
    join(b"alq/", format!("{hour:016x}").as_bytes())
}

/// The registration of `key`, if it is a monitoring key.
pub fn key(state: &dyn StateRead, key: &PublicKey) -> Option<MonitorKey> {
    read(state, &key_key(key))
}

/// An alert by its transaction id.
pub fn alert(state: &dyn StateRead, tx: &TxId) -> Option<AlertState> {
    read(state, &alert_key(tx))
}

/// The alerts of an enterprise, oldest first.
pub fn alerts_of(state: &dyn StateRead, e: &EnterpriseId) -> Vec<AlertState> {
    list_read::<TxId>(state, &enterprise_alerts(e))
        .iter()
        .filter_map(|t| alert(state, t))
        .collect()
}

fn refuse(rule: &'static str, why: String) -> Result<(), Refusal> {
    Err(Refusal::new(rule, why))
}

/// `monitor_registration`.
///
/// # Errors
/// R0-monitor as in the module documentation.
pub fn register(
    view: &mut Overlay<'_>,
    r: &MonitorRegistration,
    rc: &RecordContext<'_>,
    registry: &crate::registry::Registry,
    validators: &safeledger_core::ValidatorSet,
) -> Result<(), Refusal> {
    for (field, k) in [
        ("gateway_key", &r.gateway_key),
        ("enterprise_key", &r.enterprise_key),
    ] {
        let node = validators.validators.iter().any(|v| v.key == *k);
        if node || registry.officer(&*view, k).is_ok() {
            return refuse(
                R0_MONITOR,
                format!(
                    "{field} {k} is an {}'s key: a monitoring key is its own",
                    if node { "agency node" } else { "officer" }
                ),
            );
        }
    }
    if read::<EnterpriseState>(view, &crate::keys::enterprise(&r.enterprise)).is_none() {
        return refuse(
            R0_MONITOR,
            format!("enterprise {} is not on the ledger", r.enterprise),
        );
    }
    let gk = gateway_key(&r.enterprise, &r.gateway_id);
    let old: Option<Gateway> = read(view, &gk);
    if let Some(g) = old.as_ref().filter(|g| g.agency != rc.agency) {
        return refuse(
            R0_MONITOR,
            format!(
                "gateway {} of {} is registered by {}; only it may replace the keys",
                r.gateway_id, r.enterprise, g.agency
            ),
        );
    }
    let gateway_role = KeyRole::Gateway {
        gateway_id: r.gateway_id.clone(),
    };
    match key(view, &r.gateway_key) {
        Some(k) if k.enterprise != r.enterprise || k.role != gateway_role => {
            return refuse(
                R0_MONITOR,
                format!(
                    "gateway_key {} is already registered to {}",
                    r.gateway_key, k.enterprise
                ),
            )
        }
        _ => {}
    }
    match key(view, &r.enterprise_key) {
        Some(k) if k.enterprise != r.enterprise || k.role != KeyRole::Enterprise => {
            return refuse(
                R0_MONITOR,
                format!(
                    "enterprise_key {} is already registered to {} as another role",
                    r.enterprise_key, k.enterprise
                ),
            )
        }
        _ => {}
    }
    if let Some(g) = &old {
        if g.gateway_key != r.gateway_key {
            view.delete(key_key(&g.gateway_key));
        }
    }
    view.put(
        key_key(&r.gateway_key),
        &MonitorKey {
            enterprise: r.enterprise.clone(),
            role: gateway_role,
        },
    );
    view.put(
        key_key(&r.enterprise_key),
        &MonitorKey {
            enterprise: r.enterprise.clone(),
            role: KeyRole::Enterprise,
        },
    );
    view.put(
        gk,
        &Gateway {
            agency: rc.agency.to_string(),
            gateway_key: r.gateway_key,
            enterprise_key: r.enterprise_key,
            registered: rc.tx_id,
            registered_at: rc.block_time,
        },
    );
    Ok(())
}

fn wrong_key(signer: &PublicKey, what: String) -> Result<(), Refusal> {
    refuse(R0_SIGNER, format!("key {signer} is not {what}"))
}

/// `sensor_alert` signed by `signer`, committed at `height` and block time `now`.
///
/// # Errors
/// R0-signer (not the gateway's registered key), R0-duplicate (alert id seen).
pub fn raise(
    view: &mut Overlay<'_>,
    signer: &PublicKey,
    a: &SensorAlert,
    tx_id: TxId,
    (height, now): (u64, Timestamp),
    params: &RuleParams,
) -> Result<(), Refusal> {
    let Some(g) = read::<Gateway>(view, &gateway_key(&a.enterprise, &a.gateway_id))
        .filter(|g| g.gateway_key == *signer)
    else {
        return wrong_key(
            signer,
            format!(
                "the registered key of gateway {} of {}",
                a.gateway_id, a.enterprise
            ),
        );
    };
    if a.observed_at.0 > now.0.saturating_add(CLOCK_SKEW_MS) {
        return refuse(
            R0_MONITOR,
            format!(
                "field observed_at: {} is after the block time {} (a reading from the future)",
                crate::rules::when(a.observed_at),
                crate::rules::when(now)
            ),
        );
    }
    let rk = join(
        b"mrate/",
        &safeledger_core::to_canonical(&(a.enterprise.as_str(), a.gateway_id.as_str())),
    );
    let hour = now.0 / HOUR_MS;
    let (at, sent) = read::<(u64, u64)>(view, &rk).unwrap_or((hour, 0));
    let sent = if at == hour { sent } else { 0 };
    if sent >= params.max_alerts_per_gateway_hour {
        return refuse(
            R0_MONITOR,
            format!(
                "gateway {} of {} raised {sent} alerts this hour \
                 (max_alerts_per_gateway_hour = {}): check the gateway",
                a.gateway_id, a.enterprise, params.max_alerts_per_gateway_hour
            ),
        );
    }
    let idk = alert_id_key(&a.enterprise, &a.gateway_id, &a.alert_id);
    if let Some(first) = read::<TxId>(view, &idk) {
        return refuse(
            R0_DUPLICATE,
            format!(
                "alert {} of gateway {} was raised by {first}",
                a.alert_id, a.gateway_id
            ),
        );
    }
    view.put(idk, &tx_id);
    view.put(rk, &(hour, sent + 1));
    let ack_due = Timestamp(
        now.0
            .saturating_add(params.alert_ack_seconds.saturating_mul(1000)),
    );
    view.put(
        alert_key(&tx_id),
        &AlertState {
            tx_id,
            alert: a.clone(),
            agency: g.agency,
            height,
            raised_at: now,
            ack_due,
            acked: None,
            escalated: None,
        },
    );
    list_push(view, &enterprise_alerts(&a.enterprise), &tx_id);
    start_timer(view, ack_due, Timer::Deadline(tx_id));
    Ok(())
}

/// `alert_ack` signed by `signer` at block time `now`.
///
/// # Errors
/// R0-signer (not the enterprise's registered key), R0-monitor (unknown alert, another
/// enterprise's, acknowledged already).
pub fn acknowledge(
    view: &mut Overlay<'_>,
    signer: &PublicKey,
    k: &AlertAck,
    tx_id: TxId,
    now: Timestamp,
) -> Result<(), Refusal> {
    if key(view, signer)
        .is_none_or(|m| m.enterprise != k.enterprise || m.role != KeyRole::Enterprise)
    {
        return wrong_key(
            signer,
            format!("the registered key of enterprise {}", k.enterprise),
        );
    }
    let Some(mut st) = alert(view, &k.alert).filter(|s| s.alert.enterprise == k.enterprise) else {
        return refuse(
            R0_MONITOR,
            format!("no alert {} about enterprise {}", k.alert, k.enterprise),
        );
    };
    if let Some((by, ..)) = st.acked {
        return refuse(
            R0_MONITOR,
            format!("alert {} was acknowledged by {by}", k.alert),
        );
    }
    let late = now > st.ack_due || st.escalated.is_some();
    st.acked = Some((tx_id, now, late));
    view.put(alert_key(&k.alert), &st);
    Ok(())
}

fn start_timer(view: &mut Overlay<'_>, at: Timestamp, t: Timer) {
    let key = timer_key(at.0 / HOUR_MS);
    let mut bucket: Vec<(Timestamp, Timer)> = read(view, &key).unwrap_or_default();
    bucket.push((at, t));
    view.put(key, &bucket);
}

/// Fires every timer before `now` (block `height`'s time): unacknowledged alerts escalate,
/// raised risk levels end. At the deadline itself an acknowledgement is still on time.
pub fn run(view: &mut Overlay<'_>, height: u64, now: Timestamp, params: &RuleParams) {
    let this = now.0 / HOUR_MS;
    let first = read::<u64>(view, TIMER_CURSOR).unwrap_or(this);
    for hour in first..=this {
        let key = timer_key(hour);
        let Some(bucket) = read::<Vec<(Timestamp, Timer)>>(view, &key) else {
            continue;
        };
        let (due, later): (Vec<_>, Vec<_>) = bucket.into_iter().partition(|(at, _)| *at < now);
        if due.is_empty() {
            continue;
        }
        if later.is_empty() {
            view.delete(key);
        } else {
            view.put(key, &later);
        }
        for (_, t) in due {
            match t {
                Timer::Deadline(tx) => escalate(view, &tx, height, now, params),
                Timer::RaiseEnds(e) => raise_ends(view, &e, now, params),
            }
        }
    }
    if read::<u64>(view, TIMER_CURSOR) != Some(this) {
        view.put(TIMER_CURSOR.to_vec(), &this);
    }
}

fn escalate(view: &mut Overlay<'_>, tx: &TxId, height: u64, now: Timestamp, params: &RuleParams) {
    let Some(mut st) = alert(view, tx) else {
        return;
    };
    if st.acked.is_some() || st.escalated.is_some() {
        return;
    }
    st.escalated = Some(now);
    view.put(alert_key(tx), &st);
    let key = crate::keys::enterprise(&st.alert.enterprise);
    let Some(mut ent) = read::<EnterpriseState>(view, &key) else {
        return;
    };
    let until = Timestamp(
        now.0.saturating_add(
            params
                .alert_escalation_days
                .saturating_mul(safeledger_core::time::DAY_MS),
        ),
    );
    let a = &st.alert;
    ent.alert_escalations.push(AlertEscalation {
        alert: *tx,
        agency: st.agency.clone(),
        level: a.level,
        what: format!("{} {} {} ≥ {}", a.device, a.measure, a.value, a.threshold),
        height,
        at: now,
        until,
    });
    let excess = ent
        .alert_escalations
        .len()
        .saturating_sub(MAX_KEPT_ESCALATIONS);
    ent.alert_escalations.drain(..excess);
    assessment::recompute(&mut ent, now, *tx, params);
    view.put(key, &ent);
    start_timer(view, until, Timer::RaiseEnds(st.alert.enterprise.clone()));
}

/// The end of a raised risk level: recomputed at `now`, triggered by the alert whose
/// period ended.
fn raise_ends(view: &mut Overlay<'_>, e: &EnterpriseId, now: Timestamp, params: &RuleParams) {
    let key = crate::keys::enterprise(e);
    let Some(mut ent) = read::<EnterpriseState>(view, &key) else {
        return;
    };
    let Some(by) = ent
        .alert_escalations
        .iter()
        .filter(|x| x.until < now)
        .max_by_key(|x| x.until)
        .map(|x| x.alert)
    else {
        return;
    };
    assessment::recompute(&mut ent, now, by, params);
    view.put(key, &ent);
}

/// The follow-up tasks of `ent`'s escalated alerts: one per escalation in the supervising
/// agency's inbox, due at once, until that agency records an inspection of the enterprise
/// committed after the escalation.
pub fn tasks(ent: &EnterpriseState) -> Vec<crate::query::tasks::Task> {
    use crate::model::FindingKind;
    ent.alert_escalations
        .iter()
        .filter(|x| {
            !ent.findings.iter().any(|f| {
                f.agency == x.agency
                    && f.committed_at >= x.at
                    && matches!(f.what, FindingKind::Inspection { .. })
            })
        })
        .map(|x| crate::query::tasks::Task {
            agency: x.agency.clone(),
            kind: crate::query::tasks::TaskKind::AlertFollowUp,
            due: Some(x.at),
            enterprise: Some(ent.id.as_str().to_string()),
            source: x.alert,
            what: format!(
                "sensor alert level {} ({}) at {} was not acknowledged in time; risk raised \
                 until {}",
                x.level,
                x.what,
                ent.id,
                x.until.date_string()
            ),
            closed_by: format!("an inspection_record of {}", ent.id),
        })
        .collect()
}
