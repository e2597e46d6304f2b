//! State key layout. Every key starts with a namespace prefix ending in `/`; values are
//! [`safeledger_core::to_canonical`] encodings of the [`crate::model`] type named here.
//!
//! | key                                              | value                              |
//! |--------------------------------------------------|------------------------------------|
//! | `seq/` ‖ signer public key (32 raw bytes)        | [`crate::model::SequenceState`]    |
//! | `ent/` ‖ enterprise id                           | [`crate::model::EnterpriseState`]  |
//! | `erec/` ‖ enterprise id ‖ `/` ‖ n as 16 hex digits | [`crate::model::RecordRef`] (n from 0) |
//! | `dup/` ‖ canonical (kind, agency, enterprise, local id) | [`safeledger_core::TxId`] of the first record |
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

fn join(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
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
/// recorded a `kind` record with its own id `local_id` (inspection id, case id, report id)
/// about `enterprise`.
pub fn duplicate(kind: TxKind, agency: &str, enterprise: &EnterpriseId, local_id: &str) -> Vec<u8> {
    join(
        DUPLICATE_PREFIX,
        &to_canonical(&(kind, agency, enterprise, local_id)),
    )
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
