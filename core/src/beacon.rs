//! The inspection-draw beacon: randomness no single agency can bias, not even by
//! withholding its part (issue 20 item 2).
//!
//! Each validator agency deals a secret with Schoenmakers' publicly verifiable secret
//! sharing (PVSS, CRYPTO '99) over the ed25519 group (prime order ℓ, base point `G`):
//! - the dealer's polynomial `p(x) = a₀ + a₁x + … + a_{t-1}x^{t-1}` over ℤ_ℓ, committed as
//!   Feldman commitments `Cₖ = aₖ·H`, where `H` is a second generator with no known
//!   logarithm to `G` ([`generator_h`]);
//! - recipient `j` (1-based position in the draw's recipient list) with node key
//!   `Yⱼ = yⱼ·G` receives `Eⱼ = p(j)·Yⱼ` with a proof that `log_H Xⱼ = log_{Yⱼ} Eⱼ`, where
//!   `Xⱼ = Σₖ jᵏ·Cₖ` is computed from the commitments: anyone can check, from the dealing
//!   alone, that every share is the polynomial's ([`verify_dealing`]);
//! - the dealer's contribution is `V = a₀·G`. It reveals `a₀`, checked against `C₀`
//!   ([`contribution_from_reveal`]); when it withholds, any `t` recipients decrypt
//!   `Sⱼ = yⱼ⁻¹·Eⱼ = p(j)·G` with a proof that `log_G Yⱼ = log_{Sⱼ} Eⱼ`
//!   ([`decrypt_share`], [`verify_share`]) and `V = Σ λⱼ·Sⱼ` by Lagrange interpolation in
//!   the exponent ([`recover`]). Both routes give the same `V`: revealing or withholding
//!   changes nothing but the record against the dealer.
//!
//! Proofs are Chaum–Pedersen proofs of equal discrete logarithms made non-interactive by
//! Fiat–Shamir over BLAKE3 ([`crate::hash::Domain::Draw`]), bound to the draw and dealer
//! (`context`). Points are compressed Edwards points and must be in the prime-order
//! subgroup (torsion-free); scalars are canonical.
//!
//! Assumptions: discrete logarithms and decisional Diffie–Hellman are hard in the group;
//! `t = f + 1` with `f = ⌊(n−1)/3⌋` recipients, so `f` colluding agencies can neither
//! recover an honest dealer's secret early nor stop the others recovering a withheld one.
//! Node keys serve as the recipients' encryption keys: a decryption only ever outputs
//! `p(j)·G`, which its dealer already knows (the dealing proves it knows `p(j)`), so no
//! oracle on the node key is offered (see eprint 2021/509 on reusing ed25519 keys).

use crate::hash::Domain;
use crate::keys::{PublicKey, SecretKey};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as G;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::{Identity, IsIdentity};
use curve25519_dalek::Scalar;
use serde::{Deserialize, Serialize};

/// Name of the scheme, written in every draw record that uses it.
pub const SCHEME: &str = "pvss-ed25519-blake3-v1";

/// Most recipients (validator agencies) a dealing may address.
pub const MAX_RECIPIENTS: usize = 64;

/// A compressed Edwards point, hex in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Point(pub [u8; 32]);
crate::keys::hex_serde!(Point, 32);

/// A scalar mod ℓ in canonical little-endian form, hex in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScalarBytes(pub [u8; 32]);
crate::keys::hex_serde!(ScalarBytes, 32);

/// A proof of equal discrete logarithms: challenge `c` and response `z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DleqProof {
    /// The Fiat–Shamir challenge.
    pub c: ScalarBytes,
    /// The response `k + c·x`.
    pub z: ScalarBytes,
}

/// One recipient's encrypted share `Eⱼ = p(j)·Yⱼ` and the proof that it matches the
/// commitments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedShare {
    /// `Eⱼ`.
    pub e: Point,
    /// `log_H Xⱼ = log_{Yⱼ} Eⱼ`.
    pub proof: DleqProof,
}

/// A dealer's public dealing: `t` Feldman commitments and one encrypted share per
/// recipient, in the draw's recipient order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dealing {
    /// `C₀ … C_{t-1}`.
    pub commitments: Vec<Point>,
    /// `E₁ … Eₙ` with their proofs.
    pub shares: Vec<EncryptedShare>,
}

/// A recipient's decrypted share `Sⱼ = p(j)·G` of a withheld secret and the proof that it
/// decrypts `Eⱼ` under the recipient's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptedShare {
    /// `Sⱼ`.
    pub s: Point,
    /// `log_G Yⱼ = log_{Sⱼ} Eⱼ`.
    pub proof: DleqProof,
}

/// Why a dealing, reveal or share does not check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    /// Wrong number of commitments or shares.
    #[error("{what}: expected {expected}, found {found}")]
    Count {
        /// Which list.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// A point that does not decompress or lies outside the prime-order subgroup.
    #[error("{0} is not a point of the prime-order group")]
    BadPoint(String),
    /// A scalar that is not canonical.
    #[error("{0} is not a canonical scalar")]
    BadScalar(String),
    /// A proof that does not verify.
    #[error("the proof of {0} does not verify")]
    BadProof(String),
    /// A revealed secret that does not match the dealer's commitment `C₀`.
    #[error("the revealed secret does not match the dealer's commitment C0")]
    RevealMismatch,
    /// Fewer distinct shares than the threshold.
    #[error("{found} distinct shares, {needed} needed")]
    TooFewShares {
        /// Shares given.
        found: usize,
        /// Threshold.
        needed: usize,
    },
}

/// The threshold `t = f + 1` for `n` recipients, `f = ⌊(n−1)/3⌋` (at least 1).
pub fn threshold(n: usize) -> usize {
    n.saturating_sub(1) / 3 + 1
}

/// The second generator `H`: the first BLAKE3 output (label "generator H", counter) that
/// decompresses to a curve point, times the cofactor. Nobody knows `log_G H`.
pub fn generator_h() -> EdwardsPoint {
    static H: std::sync::OnceLock<EdwardsPoint> = std::sync::OnceLock::new();
    *H.get_or_init(|| {
        (0u32..)
            .find_map(|ctr| {
                let h = Domain::Draw.hash_parts(&[b"generator H", &ctr.to_le_bytes()]);
                let p = CompressedEdwardsY(h.0).decompress()?.mul_by_cofactor();
                (!p.is_identity()).then_some(p)
            })
            .expect("some counter maps to the curve")
    })
}

fn compress(p: &EdwardsPoint) -> Point {
    Point(p.compress().to_bytes())
}

/// `p` as a point of the prime-order subgroup; `what` names it in the error.
pub fn point(p: &Point, what: &str) -> Result<EdwardsPoint, BeaconError> {
    CompressedEdwardsY(p.0)
        .decompress()
        .filter(|q| q.is_torsion_free())
        .ok_or_else(|| BeaconError::BadPoint(what.to_string()))
}

fn scalar(s: &ScalarBytes, what: &str) -> Result<Scalar, BeaconError> {
    Option::from(Scalar::from_canonical_bytes(s.0))
        .ok_or_else(|| BeaconError::BadScalar(what.to_string()))
}

fn wide(parts: &[&[u8]]) -> Scalar {
    let mut h = blake3::Hasher::new_derive_key(Domain::Draw.context());
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let mut out = [0u8; 64];
    h.finalize_xof().fill(&mut out);
    Scalar::from_bytes_mod_order_wide(&out)
}

fn challenge(context: &[u8], pts: [&EdwardsPoint; 6]) -> Scalar {
    let enc: Vec<[u8; 32]> = pts.iter().map(|p| p.compress().to_bytes()).collect();
    let parts: Vec<&[u8]> = [b"dleq".as_slice(), context]
        .into_iter()
        .chain(enc.iter().map(|e| e.as_slice()))
        .collect();
    wide(&parts)
}

/// Proves `a = x·p` and `b = x·q`.
fn prove(context: &[u8], x: &Scalar, p: &EdwardsPoint, q: &EdwardsPoint) -> DleqProof {
    let (a, b) = (x * p, x * q);
    let k = wide(&[
        b"dleq nonce",
        context,
        x.as_bytes(),
        &p.compress().to_bytes(),
        &q.compress().to_bytes(),
    ]);
    let c = challenge(context, [p, &a, q, &b, &(k * p), &(k * q)]);
    DleqProof {
        c: ScalarBytes(c.to_bytes()),
        z: ScalarBytes((k + c * x).to_bytes()),
    }
}

fn verify_dleq(
    context: &[u8],
    proof: &DleqProof,
    [p, a, q, b]: [&EdwardsPoint; 4],
    what: &str,
) -> Result<(), BeaconError> {
    let c = scalar(&proof.c, what)?;
    let z = scalar(&proof.z, what)?;
    let t1 = z * p - c * a;
    let t2 = z * q - c * b;
    if challenge(context, [p, a, q, b, &t1, &t2]) == c {
        Ok(())
    } else {
        Err(BeaconError::BadProof(what.to_string()))
    }
}

fn coefficients(seed: &[u8; 32], context: &[u8], t: usize) -> Vec<Scalar> {
    (0..t as u64)
        .map(|k| wide(&[b"coefficient", seed, context, &k.to_le_bytes()]))
        .collect()
}

fn eval(coeffs: &[Scalar], x: u64) -> Scalar {
    let x = Scalar::from(x);
    coeffs.iter().rev().fold(Scalar::ZERO, |acc, a| acc * x + a)
}

/// `Xⱼ = Σₖ jᵏ·Cₖ`.
fn committed_share(commitments: &[EdwardsPoint], j: u64) -> EdwardsPoint {
    let x = Scalar::from(j);
    commitments
        .iter()
        .rev()
        .fold(EdwardsPoint::identity(), |acc, c| acc * x + c)
}

fn recipient_points(recipients: &[PublicKey]) -> Result<Vec<EdwardsPoint>, BeaconError> {
    recipients
        .iter()
        .map(|k| point(&Point(k.0), &format!("recipient key {k}")))
        .collect()
}

/// The dealing of the dealer whose secret material is `seed` for `context` (the draw and
/// dealer), to `recipients` with threshold `t`, and the secret `a₀` it later reveals.
/// Deterministic: the same inputs give the same dealing, so a restarted node deals and
/// reveals the same values.
///
/// # Errors
/// A recipient key outside the prime-order group.
pub fn deal(
    seed: &[u8; 32],
    context: &[u8],
    recipients: &[PublicKey],
    t: usize,
) -> Result<(Dealing, ScalarBytes), BeaconError> {
    let ys = recipient_points(recipients)?;
    let h = generator_h();
    let coeffs = coefficients(seed, context, t.max(1));
    let commitments = coeffs.iter().map(|a| compress(&(a * h))).collect();
    let shares = ys
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let share = eval(&coeffs, i as u64 + 1);
            EncryptedShare {
                e: compress(&(share * y)),
                proof: prove(context, &share, &h, y),
            }
        })
        .collect();
    Ok((
        Dealing {
            commitments,
            shares,
        },
        ScalarBytes(coeffs[0].to_bytes()),
    ))
}

/// Checks that `dealing` has `t` commitments and one share per recipient, each proven to
/// be the committed polynomial's value at the recipient's position.
///
/// # Errors
/// The first count, point or proof that fails, naming the recipient.
pub fn verify_dealing(
    context: &[u8],
    recipients: &[PublicKey],
    t: usize,
    dealing: &Dealing,
) -> Result<(), BeaconError> {
    let count = |what, expected, found| {
        if expected == found {
            Ok(())
        } else {
            Err(BeaconError::Count {
                what,
                expected,
                found,
            })
        }
    };
    count("commitments", t, dealing.commitments.len())?;
    count("shares", recipients.len(), dealing.shares.len())?;
    let ys = recipient_points(recipients)?;
    let cs: Vec<EdwardsPoint> = dealing
        .commitments
        .iter()
        .enumerate()
        .map(|(k, c)| point(c, &format!("commitment C{k}")))
        .collect::<Result<_, _>>()?;
    let h = generator_h();
    for (i, (sh, y)) in dealing.shares.iter().zip(&ys).enumerate() {
        let what = format!("the share of recipient {} ({})", i + 1, recipients[i]);
        let e = point(&sh.e, &what)?;
        let x = committed_share(&cs, i as u64 + 1);
        verify_dleq(context, &sh.proof, [&h, &x, y, &e], &what)?;
    }
    Ok(())
}

/// The contribution `a₀·G` of a revealed secret, after checking `a₀·H = C₀`.
///
/// # Errors
/// A non-canonical scalar, or one that does not match `C₀`.
pub fn contribution_from_reveal(
    dealing: &Dealing,
    secret: &ScalarBytes,
) -> Result<Point, BeaconError> {
    let a0 = scalar(secret, "the revealed secret")?;
    match dealing.commitments.first() {
        Some(c0) if compress(&(a0 * generator_h())) == *c0 => Ok(compress(&(a0 * G))),
        _ => Err(BeaconError::RevealMismatch),
    }
}

/// Recipient `key`'s decryption of its share (position `j`, 1-based) of `dealing`, with
/// its proof. `None` when `j` is out of range or the share is not a group point (a
/// dealing that verified has neither).
pub fn decrypt_share(
    key: &SecretKey,
    context: &[u8],
    dealing: &Dealing,
    j: usize,
) -> Option<DecryptedShare> {
    let e = point(&dealing.shares.get(j.checked_sub(1)?)?.e, "share").ok()?;
    let y = key.scalar();
    let s = y.invert() * e;
    // log_G Y = log_S E = y.
    Some(DecryptedShare {
        s: compress(&s),
        proof: prove(context, &y, &G, &s),
    })
}

/// Checks recipient `recipient`'s decrypted share at position `j` (1-based) of `dealing`.
///
/// # Errors
/// Position out of range, a bad point or a proof that fails.
pub fn verify_share(
    context: &[u8],
    recipient: &PublicKey,
    dealing: &Dealing,
    j: usize,
    share: &DecryptedShare,
) -> Result<(), BeaconError> {
    let what = format!("the decrypted share of recipient {j} ({recipient})");
    let enc = j
        .checked_sub(1)
        .and_then(|i| dealing.shares.get(i))
        .ok_or(BeaconError::Count {
            what: "recipient position",
            expected: dealing.shares.len(),
            found: j,
        })?;
    let y = point(&Point(recipient.0), &what)?;
    let e = point(&enc.e, &what)?;
    let s = point(&share.s, &what)?;
    verify_dleq(context, &share.proof, [&G, &y, &s, &e], &what)
}

/// The contribution `a₀·G` interpolated from decrypted shares `(j, Sⱼ)` (1-based
/// positions; verified with [`verify_share`]); uses the first `t` distinct positions.
///
/// # Errors
/// Fewer than `t` distinct positions, or a bad point.
pub fn recover(shares: &[(usize, Point)], t: usize) -> Result<Point, BeaconError> {
    let mut chosen: Vec<(u64, EdwardsPoint)> = Vec::new();
    for (j, s) in shares {
        let j = *j as u64;
        if j == 0 || chosen.iter().any(|(k, _)| *k == j) {
            continue;
        }
        chosen.push((j, point(s, "share")?));
        if chosen.len() == t {
            break;
        }
    }
    if chosen.len() < t.max(1) {
        return Err(BeaconError::TooFewShares {
            found: chosen.len(),
            needed: t.max(1),
        });
    }
    let v = chosen.iter().fold(EdwardsPoint::identity(), |acc, (j, s)| {
        let (num, den) = chosen.iter().filter(|(m, _)| m != j).fold(
            (Scalar::ONE, Scalar::ONE),
            |(n, d), (m, _)| {
                let m = Scalar::from(*m);
                (n * m, d * (m - Scalar::from(*j)))
            },
        );
        acc + num * den.invert() * s
    });
    Ok(compress(&v))
}

#[cfg(test)]
#[path = "beacon_tests.rs"]
mod tests;
