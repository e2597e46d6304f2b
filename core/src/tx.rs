//! The transaction envelope (DESIGN §3 "Keys", §4 field commitments).
//!
//! A [`Transaction`] is a [`TxPayload`] (chain id, sequence, `effective_at`, body, field
//! salts and field-commitment root) plus one or more (signer, signature) pairs. The
//! transaction id is the hash of the payload alone, so it does not depend on signature
//! bytes: a re-signed or malleated copy is the same transaction. Each signer signs
//! `"safeledger/tx/v1" ‖ chain_id ‖ tx_id`.
//!
//! `sequence` belongs to the first signer (the submitting officer): it must be strictly
//! greater than that signer's last committed sequence (gaps allowed), which makes
//! resubmission idempotent and replays impossible. Further signers co-sign.

use crate::encoding::to_canonical;
use crate::hash::{Domain, Hash};
use crate::keys::{PublicKey, SecretKey, Signature, SignatureError};
use crate::limits::{MAX_CHAIN_ID_BYTES, MAX_RECORD_FIELDS, MAX_TX_BYTES, MAX_TX_SIGNERS};
use crate::merkle;
use crate::records::{FieldError, TxBody};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Signing domain of transaction signatures.
pub const TX_SIGNING_DOMAIN: &[u8] = b"safeledger/tx/v1";

/// A transaction id: [`Domain::Transaction`] hash of the canonical payload.
pub type TxId = Hash;

/// A 128-bit salt of one committed field.
pub type Salt = [u8; 16];

/// What the signers sign (through its id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxPayload {
    /// The chain this transaction is for; other chains refuse it.
    pub chain_id: String,
    /// The first signer's sequence number: strictly above its last committed one.
    pub sequence: u64,
    /// When the act happened (inspection date, decision date); never after its block's time.
    pub effective_at: Timestamp,
    /// The record.
    pub body: TxBody,
    /// One salt per field of `body.fields()`, in order (public fields: salts travel here).
    pub field_salts: Vec<Salt>,
    /// Merkle root over the field leaves H_field(salt ‖ name ‖ value).
    pub field_root: Hash,
    /// Fields withheld by the recording agency (see [`crate::private`]): their leaves stand
    /// in for the blank values and zero salts in `body` and `field_salts`. Empty for a
    /// transaction as signed; not covered by the id (the root is).
    pub withheld: Vec<crate::private::Withheld>,
}

/// One signer's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxSignature {
    /// The officer key.
    pub signer: PublicKey,
    /// ed25519 over `TX_SIGNING_DOMAIN ‖ chain_id ‖ tx_id`.
    pub signature: Signature,
}

/// A signed transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// The signed content.
    pub payload: TxPayload,
    /// Signatures, the submitting officer's first.
    pub signatures: Vec<TxSignature>,
}

/// Why a transaction failed a stateless check.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum TxError {
    /// Over [`MAX_TX_BYTES`].
    #[error("transaction of {0} bytes exceeds the limit of {MAX_TX_BYTES}")]
    TooLarge(usize),
    /// Chain id differs from this network's.
    #[error("chain id {got:?} is not this network's {want:?}")]
    WrongChain {
        /// In the transaction.
        got: String,
        /// This network's.
        want: String,
    },
    /// No signatures, or more than [`MAX_TX_SIGNERS`].
    #[error("a transaction needs 1..={MAX_TX_SIGNERS} signatures, got {0}")]
    SignerCount(usize),
    /// The same key signed twice.
    #[error("signer {0} appears twice")]
    DuplicateSigner(PublicKey),
    /// A signature fails strict verification.
    #[error("signature of {signer} does not verify: {source}")]
    Signature {
        /// The signer.
        signer: PublicKey,
        /// Why.
        source: SignatureError,
    },
    /// Validator evidence whose messages do not prove a double-sign (see
    /// [`crate::evidence::DoubleSign::verify_messages`]).
    #[error("evidence: {0}")]
    Evidence(#[from] crate::evidence::EvidenceError),
    /// Salt count differs from the body's field count.
    #[error("{salts} field salts for {fields} fields")]
    SaltCount {
        /// Salts given.
        salts: usize,
        /// Fields in the body.
        fields: usize,
    },
    /// The committed field root does not match the body and salts.
    #[error("field_root does not match the record's fields")]
    FieldRoot,
    /// A field breaks a bound.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The withheld-field list does not fit the body (see [`crate::private`]).
    #[error("withheld field {index}: {why}")]
    Withheld {
        /// The field index.
        index: u16,
        /// What is wrong.
        why: String,
    },
    /// Sequence 0 is reserved ("nothing committed yet").
    #[error("sequence must be at least 1")]
    ZeroSequence,
}

/// The leaf of one field: H_field(salt ‖ name ‖ canonical value) (DESIGN §4).
pub fn field_leaf(salt: &Salt, name: &str, value: &[u8]) -> Hash {
    let name_len = (name.len() as u32).to_le_bytes();
    Domain::Field.hash_parts(&[salt, &name_len, name.as_bytes(), value])
}

/// The field-commitment root of `body` under `salts` (one per field, in order).
pub fn field_root(body: &TxBody, salts: &[Salt]) -> Result<Hash, TxError> {
    field_root_withheld(body, salts, &[])
}

/// The field-commitment root with the leaves of `withheld` fields taken as given (their
/// values are not in `body`; see [`crate::private`]).
pub fn field_root_withheld(
    body: &TxBody,
    salts: &[Salt],
    withheld: &[crate::private::Withheld],
) -> Result<Hash, TxError> {
    let fields = body.fields();
    if fields.len() != salts.len() || salts.len() > MAX_RECORD_FIELDS {
        return Err(TxError::SaltCount {
            salts: salts.len(),
            fields: fields.len(),
        });
    }
    let leaves: Vec<Hash> = fields
        .iter()
        .zip(salts)
        .enumerate()
        .map(|(i, ((name, value), salt))| {
            let leaf = match withheld.iter().find(|w| w.index as usize == i) {
                Some(w) => w.leaf,
                None => field_leaf(salt, name, value),
            };
            merkle::leaf_hash(&leaf.0)
        })
        .collect();
    Ok(merkle::root(&leaves))
}

impl TxPayload {
    /// A payload with fresh salts from the caller's CSPRNG and the matching field root.
    pub fn new<R: rand::RngCore + rand::CryptoRng>(
        chain_id: &str,
        sequence: u64,
        effective_at: Timestamp,
        body: TxBody,
        rng: &mut R,
    ) -> TxPayload {
        let n = body.fields().len();
        let field_salts: Vec<Salt> = (0..n)
            .map(|_| {
                let mut s = [0u8; 16];
                rng.fill_bytes(&mut s);
                s
            })
            .collect();
        let field_root = field_root(&body, &field_salts).unwrap_or(Hash::ZERO);
        TxPayload {
            chain_id: chain_id.to_string(),
            sequence,
            effective_at,
            body,
            field_salts,
            field_root,
            withheld: Vec::new(),
        }
    }

    /// The transaction id: the hash of chain id, sequence, `effective_at` and `field_root`
    /// ([`crate::envelope::tx_id`]); body and salts are bound through `field_root`.
    pub fn id(&self) -> TxId {
        crate::envelope::tx_id(
            &self.chain_id,
            self.sequence,
            self.effective_at,
            &self.field_root,
        )
    }
}

fn signing_bytes(chain_id: &str, id: &TxId) -> Vec<u8> {
    crate::envelope::signing_bytes(chain_id, id)
}

impl Transaction {
    /// Signs `payload` with each key in order (the first is the submitter).
    pub fn sign(payload: TxPayload, keys: &[&SecretKey]) -> Transaction {
        let id = payload.id();
        let msg = signing_bytes(&payload.chain_id, &id);
        let signatures = keys
            .iter()
            .map(|k| TxSignature {
                signer: k.public(),
                signature: k.sign(&msg),
            })
            .collect();
        Transaction {
            payload,
            signatures,
        }
    }

    /// The transaction id (payload only).
    pub fn id(&self) -> TxId {
        self.payload.id()
    }

    /// Adds `key`'s signature after the others (a co-signer: joint inspections are signed
    /// by an officer of each agency, one after another). `false` when `key` signed already.
    pub fn cosign(&mut self, key: &SecretKey) -> bool {
        let signer = key.public();
        if self.signatures.iter().any(|s| s.signer == signer) {
            return false;
        }
        let msg = signing_bytes(&self.payload.chain_id, &self.id());
        self.signatures.push(TxSignature {
            signer,
            signature: key.sign(&msg),
        });
        true
    }

    /// The submitting officer (first signer), if any.
    pub fn submitter(&self) -> Option<&PublicKey> {
        self.signatures.first().map(|s| &s.signer)
    }

    /// The leaf this transaction contributes to a block's `tx_root` and the ledger tree:
    /// `tx_id ‖ H(signatures)`, so the block commits to the exact signatures executed.
    pub fn leaf_data(&self) -> [u8; 64] {
        let sigs = Domain::TxSignatures.hash(&to_canonical(&self.signatures));
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.id().0);
        out[32..].copy_from_slice(&sigs.0);
        out
    }

    /// Every stateless check: size, chain id, signer count and uniqueness, signatures
    /// (the rule of [`crate::keys`]: ZIP 215 with canonical, not-small-order key and `R`),
    /// field bounds, salts and field root. Does not check that signers are known (that
    /// needs the registry) or the sequence against state. A pure function of the
    /// transaction's canonical bytes and `chain_id`. [`check_stateless_batch`] gives the
    /// same answers for many transactions, verifying their signatures as one batch.
    pub fn check_stateless(&self, chain_id: &str) -> Result<(), TxError> {
        self.check_unsigned(chain_id)?;
        let msg = signing_bytes(&self.payload.chain_id, &self.payload.id());
        for s in &self.signatures {
            s.signer
                .verify(&msg, &s.signature)
                .map_err(|source| TxError::Signature {
                    signer: s.signer,
                    source,
                })?;
        }
        Ok(())
    }

    /// Every stateless check but the transaction signatures themselves (validator
    /// evidence's messages are verified here).
    fn check_unsigned(&self, chain_id: &str) -> Result<(), TxError> {
        let size = to_canonical(self).len();
        if size > MAX_TX_BYTES {
            return Err(TxError::TooLarge(size));
        }
        let p = &self.payload;
        if p.chain_id != chain_id || p.chain_id.len() > MAX_CHAIN_ID_BYTES {
            return Err(TxError::WrongChain {
                got: p.chain_id.chars().take(MAX_CHAIN_ID_BYTES).collect(),
                want: chain_id.to_string(),
            });
        }
        if p.sequence == 0 {
            return Err(TxError::ZeroSequence);
        }
        let n = self.signatures.len();
        if n == 0 || n > MAX_TX_SIGNERS {
            return Err(TxError::SignerCount(n));
        }
        for (i, s) in self.signatures.iter().enumerate() {
            if self.signatures[..i].iter().any(|o| o.signer == s.signer) {
                return Err(TxError::DuplicateSigner(s.signer));
            }
        }
        if let crate::records::TxBody::ValidatorEvidence(e) = &p.body {
            // Signed by the one reporting node key; the messages must prove a double-sign
            // under this chain id (membership in the set is checked at execution).
            if n != 1 {
                return Err(TxError::SignerCount(n));
            }
            e.evidence.verify_messages(chain_id)?;
        }
        if matches!(p.body, crate::records::TxBody::DrawBeacon(_)) && n != 1 {
            // A draw's beacon step is signed by the one node key taking it.
            return Err(TxError::SignerCount(n));
        }
        p.body.check_bounds()?;
        crate::private::check_withheld(p)?;
        if field_root_withheld(&p.body, &p.field_salts, &p.withheld)? != p.field_root {
            return Err(TxError::FieldRoot);
        }
        Ok(())
    }
}

/// [`Transaction::check_stateless`] of each of `txs`, in order, with the signatures of all
/// transactions that pass the other checks verified as one batch
/// ([`crate::keys::verify_batch`]: the same acceptance rule as single verification, and a
/// failing batch names exactly the bad signatures). Each answer equals `check_stateless`'s,
/// including which signature an error names (the first bad one). `rng` draws the batch's
/// random coefficients; it does not affect any answer.
pub fn check_stateless_batch<R: rand::RngCore + rand::CryptoRng>(
    txs: &[&Transaction],
    chain_id: &str,
    rng: &mut R,
) -> Vec<Result<(), TxError>> {
    let mut out: Vec<Result<(), TxError>> =
        txs.iter().map(|t| t.check_unsigned(chain_id)).collect();
    let msgs: Vec<Option<Vec<u8>>> = txs
        .iter()
        .zip(&out)
        .map(|(t, r)| {
            r.is_ok()
                .then(|| signing_bytes(&t.payload.chain_id, &t.payload.id()))
        })
        .collect();
    let mut owner = Vec::new();
    let mut items = Vec::new();
    for (n, (t, m)) in txs.iter().zip(&msgs).enumerate() {
        let Some(m) = m else { continue };
        for s in &t.signatures {
            owner.push((n, s.signer));
            items.push(crate::keys::SignedMessage {
                key: &s.signer,
                message: m,
                signature: &s.signature,
            });
        }
    }
    let verdicts = crate::keys::verify_batch(&items, rng);
    for ((n, signer), v) in owner.into_iter().zip(verdicts) {
        if let (Err(source), Ok(())) = (v, &out[n]) {
            out[n] = Err(TxError::Signature { signer, source });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ids::EnterpriseId;
    use crate::records::{Penalty, PenaltyGrade};
    use rand::SeedableRng;

    pub(crate) fn sample(chain: &str, key: &SecretKey, seq: u64) -> Transaction {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seq);
        let body = TxBody::Penalty(Penalty {
            enterprise: EnterpriseId::parse("us-osha-insp:1").unwrap(),
            case_id: "1".into(),
            grade: PenaltyGrade::Minor,
            kind: "citation".into(),
            amount_minor: None,
            currency: None,
            reason: "test".into(),
        });
        let p = TxPayload::new(chain, seq, Timestamp(1), body, &mut rng);
        Transaction::sign(p, &[key])
    }

    #[test]
    fn validator_evidence_needs_one_signer_and_a_proven_conflict() {
        use crate::consensus::{Vote, VoteType};
        use crate::evidence::{DoubleSign, EvidenceError};
        use crate::records::ValidatorEvidence;
        let node = SecretKey::from_bytes(&[4; 32]);
        let offender = SecretKey::from_bytes(&[5; 32]);
        let a = Vote::new("c", &offender, 3, 0, VoteType::Precommit, None);
        let b = Vote::new(
            "c",
            &offender,
            3,
            0,
            VoteType::Precommit,
            Some(Hash([9; 32])),
        );
        let build = |e: DoubleSign, keys: &[&SecretKey]| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
            let body = TxBody::ValidatorEvidence(ValidatorEvidence {
                offender_agency: "a".into(),
                evidence: e,
            });
            Transaction::sign(TxPayload::new("c", 1, Timestamp(1), body, &mut rng), keys)
        };
        let good = DoubleSign::from_votes(a.clone(), b.clone()).unwrap();
        assert_eq!(build(good.clone(), &[&node]).check_stateless("c"), Ok(()));
        assert_eq!(
            build(good, &[&node, &offender]).check_stateless("c"),
            Err(TxError::SignerCount(2))
        );
        let same = DoubleSign::Votes(a.clone(), a.clone());
        assert_eq!(
            build(same, &[&node]).check_stateless("c"),
            Err(TxError::Evidence(EvidenceError::NotConflicting))
        );
        let mut forged = b.clone();
        forged.signature.0[0] ^= 1;
        let forged = DoubleSign::from_votes(a, forged).unwrap();
        assert_eq!(
            build(forged, &[&node]).check_stateless("c"),
            Err(TxError::Evidence(EvidenceError::BadSignature(
                offender.public()
            )))
        );
    }

    #[test]
    fn signed_transaction_passes_and_tampering_fails() {
        let k = SecretKey::from_bytes(&[1; 32]);
        let tx = sample("c", &k, 1);
        assert_eq!(tx.check_stateless("c"), Ok(()));
        assert!(matches!(
            tx.check_stateless("other"),
            Err(TxError::WrongChain { .. })
        ));
        let mut t = tx.clone();
        t.payload.sequence = 2;
        assert!(matches!(
            t.check_stateless("c"),
            Err(TxError::Signature { .. })
        ));
        let mut t = tx.clone();
        if let TxBody::Penalty(p) = &mut t.payload.body {
            p.reason = "changed".into();
        }
        assert_eq!(t.check_stateless("c"), Err(TxError::FieldRoot));
        let mut t = tx.clone();
        t.payload.field_salts.pop();
        assert!(matches!(
            t.check_stateless("c"),
            Err(TxError::SaltCount { .. })
        ));
        let mut t = tx.clone();
        t.signatures.push(t.signatures[0].clone());
        assert!(matches!(
            t.check_stateless("c"),
            Err(TxError::DuplicateSigner(_))
        ));
    }

    #[test]
    fn batch_checks_answer_as_single_checks_and_name_the_first_bad_signature() {
        let k1 = SecretKey::from_bytes(&[1; 32]);
        let k2 = SecretKey::from_bytes(&[2; 32]);
        let mut txs: Vec<Transaction> = (1..=6).map(|i| sample("c", &k1, i)).collect();
        txs.push(Transaction::sign(sample("c", &k1, 7).payload, &[&k1, &k2]));
        txs.push(Transaction::sign(sample("c", &k1, 8).payload, &[&k1, &k2]));
        txs[1].signatures[0].signature.0[5] ^= 1; // bad signature
        txs[2].payload.sequence = 99; // signature over another id
        txs[3].payload.field_salts.pop(); // fails before signatures
        txs[7].signatures[0].signature.0[9] ^= 1; // both co-signers bad: the first named
        txs[7].signatures[1].signature.0[9] ^= 1;
        let refs: Vec<&Transaction> = txs.iter().collect();
        let single: Vec<_> = txs.iter().map(|t| t.check_stateless("c")).collect();
        let batch = check_stateless_batch(&refs, "c", &mut rand::rngs::StdRng::seed_from_u64(3));
        assert_eq!(batch, single);
        let ok = |i: usize| single[i].is_ok();
        assert!(ok(0) && !ok(1) && !ok(2) && !ok(3) && ok(4) && ok(6) && !ok(7));
        assert_eq!(
            single[7],
            Err(TxError::Signature {
                signer: k1.public(),
                source: SignatureError::BadSignature
            })
        );
    }

    #[test]
    fn canonical_round_trip_of_a_transaction() {
        let k = SecretKey::from_bytes(&[1; 32]);
        let tx = sample("c", &k, 1);
        let bytes = to_canonical(&tx);
        let back: Transaction = crate::from_canonical(&bytes).unwrap();
        assert_eq!(back, tx);
        let json = serde_json::to_string(&tx).unwrap();
        assert_eq!(serde_json::from_str::<Transaction>(&json).unwrap(), tx);
    }

    #[test]
    fn id_ignores_signatures_but_leaf_commits_to_them() {
        let k1 = SecretKey::from_bytes(&[1; 32]);
        let k2 = SecretKey::from_bytes(&[2; 32]);
        let a = sample("c", &k1, 1);
        let b = Transaction::sign(a.payload.clone(), &[&k1, &k2]);
        assert_eq!(a.id(), b.id());
        assert_ne!(a.leaf_data(), b.leaf_data());
    }
}
