//! BLAKE3 hashing, domain-separated by a `derive_key` context per purpose (DESIGN §4).
//!
//! Every digest in safeledger is a [`Hash`] computed by [`Domain::hash`]: the same bytes
//! hashed for two purposes never give the same digest. The contexts carry the hash scheme
//! version ([`HASH_SCHEME_VERSION`]), which block headers also record.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the hashing scheme; recorded in every block header (`Header::version`).
/// 2: a header's `state_root` is the root of the authenticated state map
/// ([`crate::state_tree`]); 1 (before issue 22) hashed each block's writes into a chain
/// that proved nothing about a single key.
pub const HASH_SCHEME_VERSION: u32 = 2;

/// A 32-byte BLAKE3 digest. Shown and parsed as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash: "none" in places such as the genesis block's `prev_hash`.
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters. Errors: [`HashParseError`] on wrong length or a non-hex digit.
    pub fn from_hex(s: &str) -> Result<Hash, HashParseError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out).map_err(|_| HashParseError(s.len()))?;
        Ok(Hash(out))
    }

    /// First 8 hex characters, for logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

/// A string that is not 64 hex characters; carries the length seen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a hash is 64 hex characters (got {0} characters or a non-hex digit)")]
pub struct HashParseError(pub usize);

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.short())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Hash::from_hex(&s).map_err(serde::de::Error::custom)
        } else {
            Ok(Hash(<[u8; 32]>::deserialize(d)?))
        }
    }
}

/// The purposes a digest may serve. Each maps to its own BLAKE3 `derive_key` context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Transaction id: the hash of a transaction's canonical payload (signatures excluded).
    Transaction,
    /// The list of signatures on a transaction (committed in the block's leaf).
    TxSignatures,
    /// One committed record field: `salt ‖ name ‖ canonical value` (DESIGN §4).
    Field,
    /// A block header; the digest is the block hash.
    Header,
    /// Canonical bytes of a vote or proposal, before signing.
    Vote,
    /// A validator set.
    ValidatorSet,
    /// One transaction's execution result.
    Result,
    /// A state key's path in the authenticated state map ([`crate::state_tree`]).
    StateKey,
    /// A state value, hashed into its leaf.
    StateValue,
    /// A leaf of the state map: `key path ‖ value hash` (64 bytes, one BLAKE3 block).
    StateLeaf,
    /// An inner node of the state map: `left ‖ right` (64 bytes, one BLAKE3 block).
    StateNode,
    /// Merkle tree hashing (leaf and node prefixes are added by [`crate::merkle`]).
    Merkle,
    /// The genesis document.
    Genesis,
    /// An authenticated gRPC request: chain id, method, body digest, timestamp and nonce
    /// (signed by an officer or auditor; see `safeledger_client::auth`).
    ApiRequest,
    /// The whole canonical bytes of a transaction whose stateless checks this node passed
    /// (a node-local cache key, never stored or sent; see the node's verified set).
    VerifiedTx,
    /// The field values of an enterprise record (name, address, linked ids; no salts):
    /// two records with the same digest say the same thing (R0-duplicate, see
    /// [`crate::records::identity`]).
    RecordValues,
    /// The inspection-draw beacon (`crate::beacon`): its generator, proof challenges,
    /// dealers' coefficients and the draw's randomness, each behind its own label.
    Draw,
    /// The chunk summaries of a state snapshot ([`crate::state_chunks`]): names one
    /// snapshot among peers' offers.
    StateSnapshot,
}

impl Domain {
    /// The `derive_key` context string of this purpose.
    pub fn context(self) -> &'static str {
        match self {
            Domain::Transaction => "safeledger v1 transaction",
            Domain::TxSignatures => "safeledger v1 transaction signatures",
            Domain::Field => "safeledger v1 record field",
            Domain::Header => "safeledger v1 block header",
            Domain::Vote => "safeledger v1 consensus vote",
            Domain::ValidatorSet => "safeledger v1 validator set",
            Domain::Result => "safeledger v1 execution result",
            Domain::StateKey => "safeledger v2 state key path",
            Domain::StateValue => "safeledger v2 state value",
            Domain::StateLeaf => "safeledger v2 state leaf",
            Domain::StateNode => "safeledger v2 state node",
            Domain::Merkle => "safeledger v1 merkle tree",
            Domain::Genesis => "safeledger v1 genesis",
            Domain::ApiRequest => "safeledger v1 api request",
            Domain::VerifiedTx => "safeledger v1 verified transaction bytes",
            Domain::RecordValues => "safeledger v1 record values",
            Domain::Draw => "safeledger v1 inspection draw",
            Domain::StateSnapshot => "safeledger v2 state snapshot",
        }
    }

    /// Every purpose, in declaration order.
    pub const ALL: [Domain; 18] = [
        Domain::Transaction,
        Domain::TxSignatures,
        Domain::Field,
        Domain::Header,
        Domain::Vote,
        Domain::ValidatorSet,
        Domain::Result,
        Domain::StateKey,
        Domain::StateValue,
        Domain::StateLeaf,
        Domain::StateNode,
        Domain::Merkle,
        Domain::Genesis,
        Domain::ApiRequest,
        Domain::VerifiedTx,
        Domain::RecordValues,
        Domain::Draw,
        Domain::StateSnapshot,
    ];

    /// A BLAKE3 hasher in derive-key mode with this purpose's context, ready for input.
    /// The context key is derived once per process (issue 7: deriving it on every call
    /// doubled the cost of hashing a short input — a field, an id) and a hasher started
    /// from it (`blake3::hazmat`; cheaper than cloning a cached hasher, issue 22). The digest is exactly `blake3::derive_key(self.context(), input)`.
    fn hasher(self) -> blake3::Hasher {
        use blake3::hazmat::HasherExt;
        static KEYS: std::sync::OnceLock<Vec<blake3::hazmat::ContextKey>> =
            std::sync::OnceLock::new();
        let all = KEYS.get_or_init(|| {
            Domain::ALL
                .iter()
                .map(|d| blake3::hazmat::hash_derive_key_context(d.context()))
                .collect()
        });
        // A fieldless enum: `as usize` is the declaration order, which `ALL` follows
        // (checked by a test).
        blake3::Hasher::new_from_context_key(&all[self as usize])
    }

    /// BLAKE3 in derive-key mode over `bytes` with this purpose's context
    /// (`blake3::derive_key(self.context(), bytes)`).
    pub fn hash(self, bytes: &[u8]) -> Hash {
        let mut h = self.hasher();
        h.update(bytes);
        Hash(*h.finalize().as_bytes())
    }

    /// Like [`Domain::hash`] over the concatenation of `parts`, without allocating it.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Hash {
        let mut h = self.hasher();
        for p in parts {
            h.update(p);
        }
        Hash(*h.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached hashers give BLAKE3's `derive_key` for every purpose, at input lengths
    /// around BLAKE3's block (64) and chunk (1024) bounds; `ALL` is in declaration order.
    #[test]
    fn cached_hashers_equal_derive_key() {
        for (i, d) in Domain::ALL.iter().enumerate() {
            assert_eq!(*d as usize, i);
            for len in [0usize, 1, 63, 64, 65, 1023, 1024, 1025, 4096, 9000] {
                let input: Vec<u8> = (0..len).map(|k| (k * 7 + i) as u8).collect();
                let want = blake3::derive_key(d.context(), &input);
                assert_eq!(d.hash(&input).0, want, "{d:?} {len}");
                let (a, b) = input.split_at(len / 3);
                assert_eq!(d.hash_parts(&[a, b]).0, want, "{d:?} {len} parts");
            }
        }
    }

    #[test]
    fn domains_separate_equal_input() {
        let a = Domain::Transaction.hash(b"x");
        let b = Domain::Header.hash(b"x");
        assert_ne!(a, b);
        assert_eq!(
            Domain::Field.hash(b"ab"),
            Domain::Field.hash_parts(&[b"a", b"b"])
        );
    }

    #[test]
    fn hex_round_trip_and_bad_hex() {
        let h = Domain::Result.hash(b"r");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert!(Hash::from_hex("zz").is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
    }
}
