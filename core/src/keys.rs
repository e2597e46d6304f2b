//! ed25519 keys and signatures (RFC 8032), with one acceptance rule for single and batch
//! verification.
//!
//! A node key's 32-byte secret gives both its libp2p PeerId (the `network` crate derives
//! it from [`PublicKey::as_bytes`]) and its consensus signing key. Officer keys sign
//! records. Signing is RFC 8032 (ed25519-dalek).
//!
//! # The acceptance rule (issue 7)
//!
//! A signature `(R, s)` by key `A` over message `M` is accepted iff
//! 1. `A` is the canonical encoding (y < p; x = 0 only with the sign bit clear) of a curve
//!    point that is not of small order (order 1, 2, 4 or 8) — else
//!    [`SignatureError::BadPublicKey`];
//! 2. `R` is likewise the canonical encoding of a point not of small order, and
//! 3. `s < ℓ` (canonical scalar: no `s + ℓ` malleation), and
//! 4. the **cofactored** equation `[8][s]B = [8]R + [8][k]A` holds, with
//!    `k = SHA-512(R ‖ A ‖ M)` — else [`SignatureError::BadSignature`].
//!
//! Items 3–4 (and decompression of `A` and `R`) are ZIP 215, implemented by the
//! `ed25519-zebra` crate for single and batch verification alike; items 1–2 are checks on
//! the 32 encoded bytes alone, made before either. ZIP 215 is chosen because batch
//! verification (one multiscalar multiplication over random 128-bit combinations of the
//! equations) can only agree with single verification when both are cofactored: with the
//! cofactorless `[s]B = R + [k]A` of ed25519-dalek's `verify_strict`, a signature whose `R`
//! or `A` carries a small-order component fails singly yet may pass in a batch, so the set
//! of accepted transactions would depend on how they were batched — not acceptable for
//! consensus. Items 1–2 keep what `verify_strict` refused (small-order keys and `R`) and add
//! canonical encodings of `A` and `R`, which ZIP 215 alone would accept: every accepted
//! key and `R` has exactly one encoding. They are per-signature predicates on bytes, so
//! they do not disturb the batch agreement. Compared with `verify_strict` the rule accepts
//! signatures whose `R` or `A` has a small-order component (only the key's holder can make
//! them; honest signers never do) and refuses non-canonical encodings of full-order keys.
//! [`verify_batch`] returns exactly what [`PublicKey::verify`] returns for each signature
//! (a failing batch falls back to single checks).

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Most decompressed public keys memoized per thread ([`PublicKey::verify`]); the memo is
/// emptied when full.
const MAX_MEMOIZED_KEYS: usize = 4096;

/// Batches of fewer signatures are verified one by one (a batch saves nothing there).
pub const MIN_BATCH: usize = 2;

/// The y-coordinates (little-endian, sign bit cleared) of the eight points of small order:
/// 0 (order 4), 1 (the identity), p − 1 (order 2) and the two of the order-8 points. Each
/// is shared by a point and its negation; `keys::tests` checks them against
/// curve25519-dalek's eight-torsion table.
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
];

/// Items 1–2 of the acceptance rule on the encoded bytes alone: true when `bytes` is not a
/// non-canonical y (y ≥ p = 2^255 − 19) and its y is not that of a small-order point.
/// Every x = 0 point (y = ±1) is of small order, so a canonical sign bit needs no separate
/// check. Whether the y is on the curve at all is decided by decompression.
fn point_encoding_ok(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    y[31] &= 0x7f;
    // y ≥ p iff y = p + d for d in 0..19: bytes ed..ff, then ff × 30, then 7f.
    let non_canonical = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    !non_canonical && !SMALL_ORDER_Y.contains(&y)
}

/// True when `s` (little-endian) is below the group order ℓ (RFC 8032 §5.1.7 step 1).
fn scalar_canonical(s: &[u8; 32]) -> bool {
    bool::from(curve25519_dalek::Scalar::from_canonical_bytes(*s).is_some())
}

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

    /// The clamped, reduced ed25519 secret scalar `a` (the public key is `a·B`), for the
    /// inspection-draw beacon's share decryption ([`crate::beacon`]). Secret.
    pub(crate) fn scalar(&self) -> curve25519_dalek::Scalar {
        self.0.to_scalar()
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

    /// Checks item 1 of the acceptance rule (see the module documentation): the canonical
    /// encoding of a curve point not of small order. Errors: [`SignatureError::BadPublicKey`].
    pub fn validate(&self) -> Result<(), SignatureError> {
        self.verifying_key().map(|_| ())
    }

    /// The decompressed key, after item 1 of the acceptance rule. Decompression is a pure
    /// function of the bytes, so valid keys are memoized per thread (a few officer and node
    /// keys sign almost everything, and decompression is a fair part of a verification);
    /// invalid ones are not.
    /// True when the key is a canonical ed25519 point of full order: one whose signatures
    /// can verify ([`PublicKey::verify`] refuses every other).
    pub fn is_valid(&self) -> bool {
        self.verifying_key().is_ok()
    }

    fn verifying_key(&self) -> Result<ed25519_zebra::VerificationKey, SignatureError> {
        thread_local! {
            static VALID: std::cell::RefCell<BTreeMap<[u8; 32], ed25519_zebra::VerificationKey>> =
                const { std::cell::RefCell::new(BTreeMap::new()) };
        }
        if let Some(vk) = VALID.with(|m| m.borrow().get(&self.0).copied()) {
            return Ok(vk);
        }
        if !point_encoding_ok(&self.0) {
            return Err(SignatureError::BadPublicKey);
        }
        let vk = ed25519_zebra::VerificationKey::try_from(self.0)
            .map_err(|_| SignatureError::BadPublicKey)?;
        VALID.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= MAX_MEMOIZED_KEYS {
                m.clear();
            }
            m.insert(self.0, vk);
        });
        Ok(vk)
    }

    /// Verifies `signature` over `message` under this crate's acceptance rule (module
    /// documentation: RFC 8032 §5.1.7 with ZIP 215's cofactored equation, canonical `s`,
    /// and canonical, not-small-order encodings of the key and `R`). The same rule as
    /// [`verify_batch`]. Errors: [`SignatureError::BadPublicKey`] (item 1),
    /// [`SignatureError::BadSignature`] (items 2–4).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let vk = self.verifying_key()?;
        if !signature.prechecks_ok() {
            return Err(SignatureError::BadSignature);
        }
        let sig = ed25519_zebra::Signature::from_bytes(&signature.0);
        vk.verify(&sig, message)
            .map_err(|_| SignatureError::BadSignature)
    }
}

/// One signature to check in [`verify_batch`]: `signature` by `key` over `message`.
#[derive(Clone, Copy, Debug)]
pub struct SignedMessage<'a> {
    /// The signer's key.
    pub key: &'a PublicKey,
    /// The signed bytes (already domain-separated).
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Verifies many signatures at once, returning for each exactly what
/// [`PublicKey::verify`] returns for it (the one acceptance rule of the module
/// documentation, ZIP 215 plus canonical non-small-order `A` and `R`).
///
/// Items failing the byte checks (key, `R`, `s`) are refused individually; the rest are
/// verified with one ZIP 215 batch equation (ed25519-zebra: random 128-bit coefficients
/// from `rng`, terms of one key coalesced). ZIP 215 makes the batch agree with single
/// cofactored checks: it passes iff every item passes, up to a 2^-128 chance of a false
/// pass. When it fails, every item is verified singly, so exactly the bad ones are named.
/// Below [`MIN_BATCH`] items, each is verified singly.
pub fn verify_batch<R: rand::RngCore + rand::CryptoRng>(
    items: &[SignedMessage<'_>],
    rng: &mut R,
) -> Vec<Result<(), SignatureError>> {
    if items.len() < MIN_BATCH {
        return items
            .iter()
            .map(|i| i.key.verify(i.message, i.signature))
            .collect();
    }
    let mut out: Vec<Result<(), SignatureError>> = Vec::with_capacity(items.len());
    let mut batch = ed25519_zebra::batch::Verifier::new();
    let mut queued = Vec::with_capacity(items.len());
    for (n, i) in items.iter().enumerate() {
        let r = match i.key.verifying_key() {
            Err(e) => Err(e),
            Ok(_) if !i.signature.prechecks_ok() => Err(SignatureError::BadSignature),
            Ok(_) => {
                batch.queue((
                    ed25519_zebra::VerificationKeyBytes::from(i.key.0),
                    ed25519_zebra::Signature::from_bytes(&i.signature.0),
                    i.message,
                ));
                queued.push(n);
                Ok(())
            }
        };
        out.push(r);
    }
    if queued.is_empty() || batch.verify(rng).is_ok() {
        return out;
    }
    for n in queued {
        let i = &items[n];
        out[n] = i.key.verify(i.message, i.signature);
    }
    out
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
    /// Items 2–3 of the acceptance rule: `R` a canonical encoding of a point not of small
    /// order (as far as bytes tell; decompression decides the rest) and `s < ℓ`.
    fn prechecks_ok(&self) -> bool {
        let mut r = [0u8; 32];
        r.copy_from_slice(&self.0[..32]);
        let mut s = [0u8; 32];
        s.copy_from_slice(&self.0[32..]);
        point_encoding_ok(&r) && scalar_canonical(&s)
    }

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
                    serde::Serialize::serialize(
                        &$crate::keys::serde_big_array_like::Bytes(&self.0),
                        s,
                    )
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
                    let b = $crate::keys::serde_big_array_like::deserialize_array::<D, $n>(d)?;
                    Ok(Self(b))
                }
            }
        }
    };
}

pub(crate) use hex_serde;

hex_serde!(PublicKey, 32);
hex_serde!(Signature, 64);

/// Fixed-size byte arrays for binary serializers, written as a tuple of bytes (serde
/// implements arrays only up to 32 elements).
pub(crate) mod serde_big_array_like {
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

    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use proptest::prelude::*;
    use sha2::{Digest, Sha512};

    #[test]
    fn small_order_table_is_the_eight_torsion_and_non_canonical_encodings_are_refused() {
        for t in EIGHT_TORSION {
            let mut y = t.compress().to_bytes();
            assert!(!point_encoding_ok(&y), "{y:?}");
            y[31] ^= 0x80; // the other sign of the same y
            assert!(!point_encoding_ok(&y));
            y[31] &= 0x7f;
            assert!(SMALL_ORDER_Y.contains(&y));
        }
        // y = p + d, d in 0..19, either sign: every non-canonical y.
        for d in 0u8..19 {
            let mut y = [0xffu8; 32];
            y[0] = 0xed + d;
            y[31] = 0x7f;
            assert!(!point_encoding_ok(&y));
            y[31] = 0xff;
            assert!(!point_encoding_ok(&y));
        }
        // Full-order points are accepted, and their encodings are canonical.
        for i in 1u64..64 {
            let p = B * Scalar::from(i);
            let enc = p.compress().to_bytes();
            assert!(point_encoding_ok(&enc));
            assert_eq!(PublicKey(enc).validate(), Ok(()));
        }
    }

    fn k_of(r: &[u8; 32], a: &[u8; 32], m: &[u8]) -> Scalar {
        let mut h = Sha512::new();
        h.update(r);
        h.update(a);
        h.update(m);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }

    /// A signature made "by hand": key `a·B + ta`, nonce point `r·B + tr`, `s = r + k·a`
    /// (`ta`, `tr` small-order points, so keys and `R` may carry a torsion component).
    fn forge(
        a: u64,
        ta: EdwardsPoint,
        r: u64,
        tr: EdwardsPoint,
        m: &[u8],
    ) -> (PublicKey, Signature) {
        let (a, r) = (Scalar::from(a), Scalar::from(r));
        let key = (B * a + ta).compress().to_bytes();
        let rr = (B * r + tr).compress().to_bytes();
        let s = r + k_of(&rr, &key, m) * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&rr);
        sig[32..].copy_from_slice(s.as_bytes());
        (PublicKey(key), Signature(sig))
    }

    /// Signatures of every edge kind, with what the rule says of each.
    /// Key, message, signature and the rule's answer.
    type Case = (PublicKey, Vec<u8>, Signature, Result<(), SignatureError>);

    fn edge_cases() -> Vec<Case> {
        let id = EdwardsPoint::default();
        let t8 = EIGHT_TORSION[1];
        let m = b"edge".to_vec();
        let good = SecretKey::from_bytes(&[5; 32]);
        let sig = good.sign(&m);
        let mut out = vec![(good.public(), m.clone(), sig, Ok(()))];
        let mut other = m.clone();
        other.push(0);
        out.push((good.public(), other, sig, Err(SignatureError::BadSignature)));
        // s + ℓ: same scalar, non-canonical.
        let s = Scalar::from_bytes_mod_order(sig.0[32..].try_into().expect("32"));
        let mut wide = [0u8; 32];
        let mut carry = 0u16;
        // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        for (i, w) in wide.iter_mut().enumerate() {
            let v = u16::from(s.as_bytes()[i]) + u16::from(l[i]) + carry;
            *w = v as u8;
            carry = v >> 8;
        }
        let mut mal = sig;
        mal.0[32..].copy_from_slice(&wide);
        out.push((
            good.public(),
            m.clone(),
            mal,
            Err(SignatureError::BadSignature),
        ));
        // Honest by hand: accepted (checks the forging helper).
        let (k, s) = forge(7, id, 11, id, &m);
        out.push((k, m.clone(), s, Ok(())));
        // Mixed-order R (torsion in the nonce point): cofactored equation holds — accepted
        // under ZIP 215 (verify_strict would refuse it).
        let (k, s) = forge(7, id, 11, t8, &m);
        out.push((k, m.clone(), s, Ok(())));
        // Mixed-order key: likewise accepted.
        let (k, s) = forge(7, t8, 11, id, &m);
        out.push((k, m.clone(), s, Ok(())));
        // Small-order R: refused (a key holder could make it pass the equation).
        let (k, s) = forge(7, id, 0, t8, &m);
        out.push((k, m.clone(), s, Err(SignatureError::BadSignature)));
        // Small-order and non-canonical keys: refused.
        for t in EIGHT_TORSION {
            let key = PublicKey(t.compress().to_bytes());
            out.push((key, m.clone(), sig, Err(SignatureError::BadPublicKey)));
        }
        let mut noncanon = [0xffu8; 32];
        noncanon[0] = 0xee;
        noncanon[31] = 0x7f;
        out.push((
            PublicKey(noncanon),
            m.clone(),
            sig,
            Err(SignatureError::BadPublicKey),
        ));
        // Non-canonical R (y = p + 3), whatever the rest.
        let mut r_nc = sig;
        r_nc.0[..32].copy_from_slice(&noncanon);
        r_nc.0[0] = 0xf0;
        out.push((good.public(), m, r_nc, Err(SignatureError::BadSignature)));
        out
    }

    fn batch_of(cases: &[Case]) -> Vec<Result<(), SignatureError>> {
        let items: Vec<SignedMessage<'_>> = cases
            .iter()
            .map(|(k, m, s, _)| SignedMessage {
                key: k,
                message: m,
                signature: s,
            })
            .collect();
        verify_batch(
            &items,
            &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1),
        )
    }

    #[test]
    fn edge_cases_get_the_same_answer_singly_and_in_any_batch() {
        let cases = edge_cases();
        for (k, m, s, want) in &cases {
            assert_eq!(k.verify(m, s), *want, "single {k:?} {s:?}");
        }
        let want: Vec<_> = cases.iter().map(|c| c.3.clone()).collect();
        assert_eq!(batch_of(&cases), want, "all in one batch");
        // Each with good company, and the accepted ones alone (the batch path passes).
        let good = cases[0].clone();
        for c in &cases {
            let pair = [good.clone(), c.clone(), good.clone()];
            let w = vec![Ok(()), c.3.clone(), Ok(())];
            assert_eq!(batch_of(&pair), w);
        }
        let ok: Vec<_> = cases.iter().filter(|c| c.3.is_ok()).cloned().collect();
        assert!(ok.len() >= 4);
        assert!(batch_of(&ok).iter().all(Result::is_ok));
    }

    #[test]
    fn a_batch_with_bad_signatures_names_exactly_them() {
        let keys: Vec<SecretKey> = (0..12u8).map(|i| SecretKey::from_bytes(&[i; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0..24u8).map(|i| vec![i; 40]).collect();
        let mut cases: Vec<_> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let k = &keys[i % keys.len()];
                (k.public(), m.clone(), k.sign(m), Ok(()))
            })
            .collect();
        for bad in [3usize, 17] {
            cases[bad].2 .0[40] ^= 1;
            cases[bad].3 = Err(SignatureError::BadSignature);
        }
        let want: Vec<_> = cases.iter().map(|c| c.3.clone()).collect();
        assert_eq!(batch_of(&cases), want);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Random signatures, some corrupted anywhere in key, R or s: the batch's answer is
        /// each single answer.
        #[test]
        fn batch_agrees_with_single_verification(
            seeds in prop::collection::vec(any::<[u8; 32]>(), 2..8),
            flips in prop::collection::vec((any::<usize>(), 0usize..96, any::<u8>()), 0..4),
        ) {
            let mut cases: Vec<(PublicKey, Vec<u8>, Signature)> = seeds
                .iter()
                .map(|s| {
                    let k = SecretKey::from_bytes(s);
                    let m = s.to_vec();
                    (k.public(), m.clone(), k.sign(&m))
                })
                .collect();
            for (i, at, x) in flips {
                let i = i % cases.len();
                if at < 32 {
                    cases[i].0 .0[at] ^= x;
                } else {
                    cases[i].2 .0[at - 32] ^= x;
                }
            }
            let single: Vec<_> = cases.iter().map(|(k, m, s)| k.verify(m, s)).collect();
            let items: Vec<SignedMessage<'_>> = cases
                .iter()
                .map(|(k, m, s)| SignedMessage { key: k, message: m, signature: s })
                .collect();
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(2);
            prop_assert_eq!(verify_batch(&items, &mut rng), single);
        }
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
