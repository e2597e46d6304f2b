//! Sensor alerts from monitored high-risk sites (issue 20 item 6; the regulator's text:
//! monitoring alerts the enterprise must acknowledge within five minutes).
//!
//! An agency registers an enterprise's monitoring gateway key and the enterprise's own key
//! ([`MonitorRegistration`], an officer's record). The gateway signs a [`SensorAlert`] only
//! when a reading crosses a threshold, never every reading; the enterprise acknowledges it
//! with its key ([`AlertAck`]). These two kinds are the first signed by keys that belong
//! to neither an officer nor a node ([`super::TxBody::is_monitor_signed`]): execution
//! judges the key against the registrations on chain.

use super::{bounds, FieldError};
use crate::hash::Hash;
use crate::ids::EnterpriseId;
use crate::keys::PublicKey;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Most bytes of a reading's decimal value or threshold.
pub const MAX_DECIMAL_BYTES: usize = 24;

/// An agency registers (or replaces) the keys of an enterprise's monitoring gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorRegistration {
    /// The monitored enterprise.
    pub enterprise: EnterpriseId,
    /// The gateway's id at the enterprise (its serial number).
    pub gateway_id: String,
    /// The key the gateway signs alerts with.
    pub gateway_key: PublicKey,
    /// The enterprise's key, which acknowledges alerts (one per enterprise: a later
    /// registration naming another replaces it).
    pub enterprise_key: PublicKey,
}

/// A reading that crossed a threshold, signed by the registered gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorAlert {
    /// The monitored enterprise.
    pub enterprise: EnterpriseId,
    /// The gateway sending it.
    pub gateway_id: String,
    /// The gateway's id for the alert (unique per gateway).
    pub alert_id: String,
    /// The sensor.
    pub device: String,
    /// What it measures (e.g. `methane_pct`).
    pub measure: String,
    /// The reading, a decimal number (e.g. `1.25`).
    pub value: String,
    /// The threshold it crossed, a decimal number.
    pub threshold: String,
    /// Alert level, 1 (lowest) to 3.
    pub level: u8,
    /// When the reading was taken.
    pub observed_at: Timestamp,
}

/// The enterprise's acknowledgement of an alert, signed with its enterprise key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertAck {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The alert (its transaction id).
    pub alert: Hash,
    /// What the enterprise did, in words (may be empty).
    pub note: String,
}

/// True for a decimal number: an optional `-`, digits, at most one `.` between digits.
pub fn is_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let mut parts = body.split('.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    s.len() <= MAX_DECIMAL_BYTES
        && parts.next().is_none()
        && digits(whole)
        && frac.is_none_or(digits)
}

fn decimal(field: &'static str, s: &str) -> Result<(), FieldError> {
    if is_decimal(s) {
        Ok(())
    } else {
        Err(FieldError {
            field,
            why: format!("{s:?} is not a decimal number of at most {MAX_DECIMAL_BYTES} bytes"),
        })
    }
}

/// Stateless bounds of a registration.
pub(super) fn check_registration(r: &MonitorRegistration) -> Result<(), FieldError> {
    bounds::local_id("gateway_id", &r.gateway_id)?;
    for (field, k) in [
        ("gateway_key", &r.gateway_key),
        ("enterprise_key", &r.enterprise_key),
    ] {
        if !k.is_valid() {
            return Err(FieldError {
                field,
                why: format!("{k} is not an ed25519 public key of full order"),
            });
        }
    }
    if r.gateway_key == r.enterprise_key {
        return Err(FieldError {
            field: "enterprise_key",
            why: "the gateway and the enterprise need two different keys".into(),
        });
    }
    Ok(())
}

/// Stateless bounds of an alert.
pub(super) fn check_alert(r: &SensorAlert) -> Result<(), FieldError> {
    bounds::local_id("gateway_id", &r.gateway_id)?;
    bounds::local_id("alert_id", &r.alert_id)?;
    bounds::local_id("device", &r.device)?;
    bounds::local_id("measure", &r.measure)?;
    decimal("value", &r.value)?;
    decimal("threshold", &r.threshold)?;
    if !(1..=3).contains(&r.level) {
        return Err(FieldError {
            field: "level",
            why: format!("{} is not an alert level 1 to 3", r.level),
        });
    }
    Ok(())
}

/// Stateless bounds of an acknowledgement.
pub(super) fn check_ack(r: &AlertAck) -> Result<(), FieldError> {
    bounds::text("note", &r.note)?;
    super::tip::plain_text("note", &r.note)
}

#[cfg(test)]
mod tests {
    use super::is_decimal;

    #[test]
    fn decimals() {
        for ok in ["0", "1.25", "-3", "-0.5", "100"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in [
            "", "-", ".5", "5.", "1.2.3", "1e3", "+1", "NaN", "1,5", " 1",
        ] {
            assert!(!is_decimal(bad), "{bad}");
        }
        assert!(!is_decimal(&"9".repeat(25)));
    }
}
