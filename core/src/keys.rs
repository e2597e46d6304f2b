//! ed25519 keys and signatures (RFC 8032), verified strictly.
//!
//! A node key's 32-byte secret gives both its libp2p PeerId (the `network` crate derives
//! it from [`PublicKey::as_bytes`]) and its consensus signing key. Officer keys sign
//! records. Verification uses `verify_strict`: non-canonical signatures (malleated `s`) and
//! small-order public keys are refused.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Most decompressed public keys memoized per thread ([`PublicKey::verify`]); the memo is
/// emptied when full.
const MAX_MEMOIZED_KEYS: usize = 4096;

/// Why a key or signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum SignatureError {
    /// Not a valid curve point, or a small-order (weak) point.
    #[error("public key is not a valid ed25519 point of full order")]
    BadPublicKey,
    /// The signature does not verify under the key (including non-canonical encodings).
    #[error("signature does not verify")]
    BadSignature,
    /// Hex or length error when parsing.
    #[error("expected {expected} bytes of hex")]
    Parse {
        /// Bytes expected.
        expected: usize,
    },
}

/// A 32-byte ed25519 secret seed. Never printed; `Debug` shows only the public key.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from the caller's cryptographically secure RNG.
    pub fn generate<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> SecretKey {
        SecretKey(SigningKey::generate(rng))
    }

    /// The key with this 32-byte seed.
    pub fn from_bytes(seed: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed (secret: write only to a key file with restricted permissions).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses a 64-hex-character seed.
    pub fn from_hex(s: &str) -> Result<SecretKey, SignatureError> {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut seed)
            .map_err(|_| SignatureError::Parse { expected: 32 })?;
        Ok(SecretKey::from_bytes(&seed))
    }

    /// The seed as hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `message` (already domain-separated by the caller).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public={})", self.public())
    }
}

/// A 32-byte ed25519 public key (compressed Edwards point), hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters (no point validation; see [`PublicKey::validate`]).
    pub fn from_hex(s: &str) -> Result<PublicKey, SignatureError> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut b)
            .map_err(|_| SignatureError::Parse { expected: 32 })?;
        Ok(PublicKey(b))
    }

    /// Checks that the bytes are a valid point of full order.
    pub fn validate(&self) -> Result<(), SignatureError> {
        self.verifying_key().map(|_| ())
    }

    /// The decompressed key. Decompression is a pure function of the bytes, so valid keys
    /// are memoized per thread (a few officer and node keys sign almost everything, and
    /// decompression is a fair part of a verification); invalid ones are not.
    fn verifying_key(&self) -> Result<VerifyingKey, SignatureError> {
        thread_local! {
            static VALID: std::cell::RefCell<BTreeMap<[u8; 32], VerifyingKey>> =
                const { std::cell::RefCell::new(BTreeMap::new()) };
        }
        if let Some(vk) = VALID.with(|m| m.borrow().get(&self.0).copied()) {
            return Ok(vk);
        }
        let vk = VerifyingKey::from_bytes(&self.0).map_err(|_| SignatureError::BadPublicKey)?;
        if vk.is_weak() {
            return Err(SignatureError::BadPublicKey);
        }
        VALID.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= MAX_MEMOIZED_KEYS {
                m.clear();
            }
            m.insert(self.0, vk);
        });
        Ok(vk)
    }

    /// Verifies `signature` over `message` strictly (RFC 8032 §5.1.7 with canonical `s`
    /// and no small-order keys).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let vk = self.verifying_key()?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        vk.verify_strict(message, &sig)
            .map_err(|_| SignatureError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", &self.to_hex()[..8])
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A 64-byte ed25519 signature, hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 128 hex characters.
    pub fn from_hex(s: &str) -> Result<Signature, SignatureError> {
        let mut b = [0u8; 64];
        hex::decode_to_slice(s.trim(), &mut b)
            .map_err(|_| SignatureError::Parse { expected: 64 })?;
        Ok(Signature(b))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}..)", &self.to_hex()[..8])
    }
}

macro_rules! hex_serde {
    ($t:ty, $n:expr) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&hex::encode(self.0))
                } else {
                    serde::Serialize::serialize(&serde_big_array_like::Bytes(&self.0), s)
                }
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = String::deserialize(d)?;
                    let mut b = [0u8; $n];
                    hex::decode_to_slice(s.trim(), &mut b).map_err(serde::de::Error::custom)?;
                    Ok(Self(b))
                } else {
                    let b = serde_big_array_like::deserialize_array::<D, $n>(d)?;
                    Ok(Self(b))
                }
            }
        }
    };
}

hex_serde!(PublicKey, 32);
hex_serde!(Signature, 64);

/// Fixed-size byte arrays for binary serializers, written as a tuple of bytes (serde
/// implements arrays only up to 32 elements).
mod serde_big_array_like {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use std::fmt;

    pub struct Bytes<'a, const N: usize>(pub &'a [u8; N]);

    impl<const N: usize> serde::Serialize for Bytes<'_, N> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut t = s.serialize_tuple(N)?;
            for b in self.0 {
                t.serialize_element(b)?;
            }
            t.end()
        }
    }

    struct ArrayVisitor<const N: usize>;

    impl<'de, const N: usize> Visitor<'de> for ArrayVisitor<N> {
        type Value = [u8; N];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{N} bytes")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
            let mut out = [0u8; N];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(i, &self))?;
            }
            Ok(out)
        }
    }

    pub fn deserialize_array<'de, D: serde::Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        d.deserialize_tuple(N, ArrayVisitor::<N>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_tamper() {
        let sk = SecretKey::from_bytes(&[7u8; 32]);
        let pk = sk.public();
        let sig = sk.sign(b"licence");
        assert!(pk.verify(b"licence", &sig).is_ok());
        assert_eq!(
            pk.verify(b"licencf", &sig),
            Err(SignatureError::BadSignature)
        );
        let mut bad = sig;
        bad.0[0] ^= 1;
        assert!(pk.verify(b"licence", &bad).is_err());
    }

    #[test]
    fn memoized_keys_verify_as_fresh_ones_and_bad_keys_stay_refused() {
        let sk = SecretKey::from_bytes(&[9u8; 32]);
        let sig = sk.sign(b"m");
        let mut id = [0u8; 32];
        id[0] = 1;
        for _ in 0..3 {
            assert_eq!(sk.public().verify(b"m", &sig), Ok(()));
            assert_eq!(
                sk.public().verify(b"n", &sig),
                Err(SignatureError::BadSignature)
            );
            assert_eq!(PublicKey(id).validate(), Err(SignatureError::BadPublicKey));
            assert_eq!(
                PublicKey(id).verify(b"m", &sig),
                Err(SignatureError::BadPublicKey)
            );
        }
        // More keys than the memo holds: it empties and keeps answering the same.
        for i in 0..(MAX_MEMOIZED_KEYS + 2) as u32 {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            assert!(SecretKey::from_bytes(&seed).public().validate().is_ok());
        }
        assert_eq!(sk.public().verify(b"m", &sig), Ok(()));
    }

    #[test]
    fn small_order_key_refused() {
        // The identity point (y = 1) has order 1.
        let mut id = [0u8; 32];
        id[0] = 1;
        assert_eq!(PublicKey(id).validate(), Err(SignatureError::BadPublicKey));
    }

    #[test]
    fn serde_round_trips_binary_and_json() {
        let sk = SecretKey::from_bytes(&[3u8; 32]);
        let pk = sk.public();
        let sig = sk.sign(b"m");
        let bin = crate::to_canonical(&(pk, sig));
        let back: (PublicKey, Signature) = crate::from_canonical(&bin).unwrap();
        assert_eq!(back, (pk, sig));
        let json = serde_json::to_string(&(pk, sig)).unwrap();
        let back: (PublicKey, Signature) = serde_json::from_str(&json).unwrap();
        assert_eq!(back, (pk, sig));
    }
}
