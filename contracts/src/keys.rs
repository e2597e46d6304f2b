//! State key layout. Every key starts with a namespace prefix ending in `/`; values are
//! [`safeledger_core::to_canonical`] encodings of the [`crate::model`] type named here.
//!
//! | key                                              | value                              |
//! |--------------------------------------------------|------------------------------------|
//! | `seq/` ‖ signer public key (32 raw bytes)        | [`crate::model::SequenceState`]    |
//! | `ent/` ‖ enterprise id                           | [`crate::model::EnterpriseState`]  |
//! | `erec/` ‖ enterprise id ‖ `/` ‖ n as 16 hex digits | [`crate::model::RecordRef`] (n from 0) |
//! | `dup/` ‖ canonical (kind, agency, enterprise, local id) | [`safeledger_core::TxId`] of the first record |
//! | `refused/` ‖ canonical (kind, agency, enterprise?, natural key) | [`safeledger_core::TxId`] of the first refused record with that key |
//! | `rec/` ‖ tx id (32 raw bytes)                    | [`crate::model::RecordLocation`]   |
//! | `params`                                         | [`crate::RuleParams`] (governed)   |
//! | `off/` ‖ officer public key (32 raw bytes)       | [`crate::registry::OfficerState`]  |
//! | `agencies`                                       | [`crate::registry::Agencies`] (after the first governance change) |
//! | `gov/` ‖ proposal id                             | [`crate::governance::ProposalState`] |
//! | `gov-validators`                                 | `Vec<`[`crate::governance::ValidatorChange`]`>` for the node |
//! | `upgrades`                                       | `Vec<`[`crate::upgrade::Upgrade`]`>`: protocol versions by first height |
//! | `asst/` ‖ canonical (from agency, request id)    | [`crate::assistance::AssistanceState`] |
//! | `asstq/` ‖ addressed agency                      | `Vec<(String, String)>` open requests (from, id) |
//! | `assts/` ‖ canonical (requesting agency, n)      | `String`: its n-th request id (0-based)        |
//! | `asstsn/` ‖ requesting agency                    | `u64`: requests it made                        |
//! | `pol/` ‖ policy name                             | [`crate::policy::PolicyState`]     |
//! | `pol-index`                                      | `BTreeSet<String>` active policy names |
//! | `dlq/` ‖ UTC day number (16 hex digits)          | `Vec<`[`crate::rules::escalation::Deadline`]`>` |
//! | `dlq-cursor`                                     | `u64`: the last day whose deadlines were processed |
//! | `inbox/` ‖ canonical (agency, n)                 | [`crate::rules::restriction::ReviewTask`] |
//! | `inboxn/` ‖ agency                               | `u64`: tasks in the agency's inbox |
//! | `evid/` ‖ canonical (offender key, (height, round, step)) | [`crate::evidence::EvidenceState`] |
//! | `acc/` ‖ canonical (requesting agency, request id) | [`crate::access::AccessState`] |
//! | `acc-log`                                        | `Vec<(String, String)>`: every access request, in commit order |
//! | `evid-index`                                     | `Vec<`[`crate::evidence::EvidenceState`]`>` in commit order |
//! | `app/` ‖ tx id (32 raw bytes)                    | [`crate::rules::application::ApplicationState`] |
//! | `cdp/` ‖ proposal tx id (32 raw bytes)           | [`crate::cosign::CosignState`] |
//! | `usc/` ‖ unified social credit code              | `BTreeSet<String>`: the ids carrying it ([`crate::links`]) |
//! | `heads/` ‖ agency                                | `u64`: its active officers holding `head` (genesis officers until first written) |
//! | `mkey/` ‖ public key (32 raw bytes)              | [`crate::monitoring::MonitorKey`]: a gateway's or an enterprise's key |
//! | `mgw/` ‖ canonical (enterprise, gateway id)      | [`crate::monitoring::Gateway`] |
//! | `alert/` ‖ tx id (32 raw bytes)                  | [`crate::monitoring::AlertState`] |
//! | `alid/` ‖ canonical (enterprise, gateway, alert id) | [`safeledger_core::TxId`] of the alert |
//! | `mrate/` ‖ canonical (enterprise, gateway)       | `(u64, u64)`: UTC hour and the alerts raised in it |
//! | `ealerts/<enterprise>` list ([`crate::state::list_push`]) | [`safeledger_core::TxId`]s of its alerts |
//! | `alq/` ‖ UTC hour number (16 hex digits)         | alert timers due in that hour (acknowledgement deadlines, ends of raised risk) |
//! | `alq-cursor`                                     | `u64`: the last hour whose timers were processed |
//! | `tip/` ‖ tip id                                  | [`crate::tips::TipState`] |
//! | `tipx/` ‖ tx id (32 raw bytes)                   | [`crate::model::RecordRef`] of a tip intake or follow-up |
//! | `evf/` ‖ file hash (32 raw bytes)                | `Vec<`[`crate::attachments::Listing`]`>`: records listing an evidence file |
//!
//! Enterprise ids never contain `/` (their syntax is `[A-Za-z0-9._:-]`), so `ent/` and
//! `erec/` keys are unambiguous; the `dup/` suffix is length-prefixed canonical bytes
//! because agency and local ids are free text.

use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::TxKind;
use safeledger_core::{to_canonical, PublicKey};

/// Prefix of per-signer sequence keys.
pub const SEQUENCE_PREFIX: &[u8] = b"seq/";
/// Prefix of enterprise keys.
pub const ENTERPRISE_PREFIX: &[u8] = b"ent/";
/// Prefix of enterprise timeline keys.
pub const RECORD_PREFIX: &[u8] = b"erec/";
/// Prefix of duplicate-detection keys.
pub const DUPLICATE_PREFIX: &[u8] = b"dup/";
/// The governed rule parameters.
pub const PARAMS: &[u8] = b"params";
/// The agency registry, once governance changed it.
pub const AGENCIES: &[u8] = b"agencies";
/// Validator-set changes passed by governance, for the node to apply.
pub const VALIDATOR_CHANGES: &[u8] = b"gov-validators";
/// The protocol upgrade schedule: `Vec<`[`crate::upgrade::Upgrade`]`>`, in height order.
pub const UPGRADES: &[u8] = b"upgrades";
/// Names of the active policies.
pub const POLICY_INDEX: &[u8] = b"pol-index";
/// The last UTC day whose deadlines were processed.
pub const DEADLINE_CURSOR: &[u8] = b"dlq-cursor";

pub(crate) fn join(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + rest.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(rest);
    k
}

/// `seq/` ‖ the signer's 32-byte public key.
pub fn sequence(signer: &PublicKey) -> Vec<u8> {
    join(SEQUENCE_PREFIX, signer.as_bytes())
}

/// `ent/` ‖ enterprise id.
pub fn enterprise(id: &EnterpriseId) -> Vec<u8> {
    join(ENTERPRISE_PREFIX, id.as_str().as_bytes())
}

/// `erec/<id>/<n:016x>`: the enterprise's n-th record (0-based) on its timeline. Hex of
/// fixed width keeps byte order equal to numeric order.
pub fn record(id: &EnterpriseId, n: u64) -> Vec<u8> {
    join(RECORD_PREFIX, format!("{id}/{n:016x}").as_bytes())
}

/// `dup/` ‖ canonical `(kind, agency, enterprise, local_id)`: marks that `agency` has
/// recorded a `kind` record with natural key `local_id` (inspection id, case id, report id,
/// application id, licence decision key, enterprise record values digest) about
/// `enterprise` (`safeledger_core::records::identity`).
pub fn duplicate(kind: TxKind, agency: &str, enterprise: &EnterpriseId, local_id: &str) -> Vec<u8> {
    join(
        DUPLICATE_PREFIX,
        &to_canonical(&(kind, agency, enterprise, local_id)),
    )
}

/// `refused/` ‖ canonical (kind, agency, enterprise, natural key): the first refused
/// record of `agency` with that natural key (see `rules::duplicate::note_refused`).
pub fn refused_record(
    kind: TxKind,
    agency: &str,
    enterprise: Option<&EnterpriseId>,
    key: &str,
) -> Vec<u8> {
    join(b"refused/", &to_canonical(&(kind, agency, enterprise, key)))
}

/// `rec/` ‖ tx id: where an accepted record about an enterprise lives.
pub fn record_location(tx: &safeledger_core::TxId) -> Vec<u8> {
    join(b"rec/", &tx.0)
}

/// `off/` ‖ officer key.
pub fn officer(key: &PublicKey) -> Vec<u8> {
    join(b"off/", key.as_bytes())
}

/// `gov/` ‖ proposal id.
pub fn proposal(id: &str) -> Vec<u8> {
    join(b"gov/", id.as_bytes())
}

/// `asst/` ‖ canonical (from agency, request id).
pub fn assistance(from: &str, request_id: &str) -> Vec<u8> {
    join(b"asst/", &to_canonical(&(from, request_id)))
}

/// `assts/` ‖ canonical (requesting agency, n): the id of its n-th request (0-based).
pub fn assistance_sent(from: &str, n: u64) -> Vec<u8> {
    join(b"assts/", &to_canonical(&(from, n)))
}

/// `asstsn/` ‖ requesting agency: how many requests it made.
pub fn assistance_sent_count(from: &str) -> Vec<u8> {
    join(b"asstsn/", from.as_bytes())
}

/// `asstq/` ‖ addressed agency: its open requests.
pub fn assistance_queue(agency: &str) -> Vec<u8> {
    join(b"asstq/", agency.as_bytes())
}

/// `pol/` ‖ policy name.
pub fn policy(name: &str) -> Vec<u8> {
    join(b"pol/", name.as_bytes())
}

/// `dlq/<day:016x>`: deadlines falling on UTC day `day` (days since the epoch).
pub fn deadlines(day: u64) -> Vec<u8> {
    join(b"dlq/", format!("{day:016x}").as_bytes())
}

/// `inbox/` ‖ canonical (agency, n): the agency's n-th review task (0-based).
pub fn inbox(agency: &str, n: u64) -> Vec<u8> {
    join(b"inbox/", &to_canonical(&(agency, n)))
}

/// `inboxn/` ‖ agency: how many review tasks it has.
pub fn inbox_count(agency: &str) -> Vec<u8> {
    join(b"inboxn/", agency.as_bytes())
}

/// `heads/` ‖ agency: how many of its active officers hold `head`.
pub fn heads(agency: &str) -> Vec<u8> {
    join(b"heads/", agency.as_bytes())
}

/// `app/` ‖ tx id: a licence application ([`crate::rules::application::ApplicationState`]).
pub fn application(tx: &safeledger_core::TxId) -> Vec<u8> {
    join(b"app/", &tx.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_sort_numerically_and_duplicate_keys_are_unambiguous() {
        let id = EnterpriseId::parse("ns:1").unwrap();
        assert_eq!(record(&id, 0xab), b"erec/ns:1/00000000000000ab".to_vec());
        assert!(record(&id, 9) < record(&id, 10));
        let a = duplicate(TxKind::Penalty, "a/b", &id, "c");
        let b = duplicate(TxKind::Penalty, "a", &id, "b/c");
        assert_ne!(a, b);
        assert_ne!(a, duplicate(TxKind::InspectionRecord, "a/b", &id, "c"));
    }
}
