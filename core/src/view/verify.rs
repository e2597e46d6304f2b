//! The offline verifier of views and checkpoints (module docs of [`crate::view`]: the order
//! of checks and what each proves).

use super::{
    schema, Checkpoint, Element, FieldPart, FieldView, Reason, StepPart, View, ViewError,
    CHECKPOINT_FORMAT, VIEW_FORMAT, VIEW_VERSION, VIEW_VERSION_ERASED,
};
use crate::block::{CertificateError, CommitCertificate, Header};
use crate::encoding::to_canonical;
use crate::envelope::signing_bytes;
use crate::genesis::Genesis;
use crate::hash::{Domain, Hash};
use crate::keys::PublicKey;
use crate::ledger_tree::verify_inclusion;
use crate::lightclient::{LightError, SetChange, Trusted, MAX_PATH_STEPS};
use crate::limits::{MAX_RECORD_FIELDS, MAX_TX_SIGNERS};
use crate::merkle::{leaf_hash, root, Blake3Tree};
use crate::proof::verify_one;
use crate::records::TxKind;
use crate::result::{result_leaf, Outcome};
use crate::time::Timestamp;
use crate::tx::{field_leaf, TxId};
use std::collections::BTreeMap;

/// What a valid view shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The transaction id.
    pub tx_id: TxId,
    /// The record type.
    pub kind: TxKind,
    /// When the act happened.
    pub effective_at: Timestamp,
    /// Height of the block holding it.
    pub height: u64,
    /// Its position in the block.
    pub index: u32,
    /// Its position in the ledger tree.
    pub ledger_index: u64,
    /// Revealed fields: (name, decoded value when known).
    pub revealed: Vec<(String, Option<serde_json::Value>)>,
    /// Names of the hidden fields.
    pub hidden: Vec<String>,
    /// Names of the hidden fields the serving node states it erased (a subset of
    /// `hidden`; the node's statement, not proven: see the module docs of
    /// [`crate::view`]).
    pub erased: Vec<String>,
    /// The signing officers, with their agency when registered at genesis.
    pub signers: Vec<(PublicKey, Option<String>)>,
    /// The recorded result.
    pub outcome: Outcome,
    /// Height of the certified header (h+1).
    pub certified_height: u64,
    /// True when that header was trusted already (a checkpoint) and its certificate was
    /// not checked again.
    pub from_checkpoint: bool,
}

/// Verifies views and checkpoints against a genesis file and the headers already trusted.
#[derive(Clone, Debug)]
pub struct Verifier {
    genesis: Genesis,
    pub(super) trust: Trusted,
    /// Checkpoints already verified, by block hash.
    trusted: BTreeMap<Hash, Checkpoint>,
}

fn path_error(step: usize, e: LightError) -> ViewError {
    let part = match e {
        LightError::Certificate(_) | LightError::TooManySignatures { .. } => StepPart::Certificate,
        LightError::NextValidators | LightError::InvalidSet(_) => StepPart::NextValidators,
        _ => StepPart::Header,
    };
    let element = if matches!(e, LightError::TooManySteps(_)) {
        Element::Path
    } else {
        Element::PathStep(step, part)
    };
    ViewError::new(element, e)
}

/// The element of a certificate error: the signature it names, or the certificate.
fn certificate_error(cert: &CommitCertificate, e: LightError, header: Element) -> ViewError {
    let position = |k: &PublicKey, last: bool| {
        let mut it = cert
            .signatures
            .iter()
            .enumerate()
            .filter(|(_, s)| &s.validator == k);
        if last { it.next_back() } else { it.next() }.map(|(i, _)| i)
    };
    let at = match &e {
        LightError::Certificate(CertificateError::BadSignature(k))
        | LightError::Certificate(CertificateError::UnknownValidator(k)) => position(k, false),
        LightError::Certificate(CertificateError::Duplicate(k)) => position(k, true),
        _ => None,
    };
    let element = match (&e, at) {
        (_, Some(i)) => Element::CertificateSignature(i),
        (LightError::Certificate(_) | LightError::TooManySignatures { .. }, None) => {
            Element::Certificate
        }
        _ => header,
    };
    ViewError::new(element, e)
}

/// A signature whose check is deferred to a batch.
struct Deferred {
    msg: Vec<u8>,
    sig: crate::keys::Signature,
    key: ed25519_dalek::VerifyingKey,
}

/// The key as ed25519-dalek checks it: a valid point, not of small order (as
/// [`PublicKey::verify`] requires).
fn verifying_key(k: &PublicKey) -> Option<ed25519_dalek::VerifyingKey> {
    ed25519_dalek::VerifyingKey::from_bytes(k.as_bytes())
        .ok()
        .filter(|vk| !vk.is_weak())
}

/// One deterministic ed25519 batch verification of `sigs` (ed25519-dalek derives the batch
/// coefficients from a transcript of the inputs; no randomness). The batch equation is the
/// cofactored one, so it accepts every signature that strict verification accepts; keys are
/// checked for small order as strict verification does.
fn batch_verifies(sigs: &[Deferred]) -> bool {
    match sigs {
        [] => return true,
        // One signature: the strict single check is as fast as a batch of one.
        [d] => {
            let sig = ed25519_dalek::Signature::from_bytes(&d.sig.0);
            return d.key.verify_strict(&d.msg, &sig).is_ok();
        }
        _ => {}
    }
    let msgs: Vec<&[u8]> = sigs.iter().map(|d| d.msg.as_slice()).collect();
    let signatures: Vec<ed25519_dalek::Signature> = sigs
        .iter()
        .map(|d| ed25519_dalek::Signature::from_bytes(&d.sig.0))
        .collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = sigs.iter().map(|d| d.key).collect();
    ed25519_dalek::verify_batch(&msgs, &signatures, &keys).is_ok()
}

/// [`CommitCertificate::verify`] without the signature checks, which go to `out`: known,
/// distinct validators holding more than 2/3 of the trusted set's power.
fn defer_certificate(
    cert: &CommitCertificate,
    t: &Trusted,
    out: &mut Vec<Deferred>,
) -> Result<(), ViewError> {
    let msg = crate::consensus::Vote::sign_bytes(
        &t.chain_id,
        cert.height,
        cert.round,
        crate::consensus::VoteType::Precommit,
        Some(cert.block_hash),
    );
    let mut power = 0u64;
    for (i, s) in cert.signatures.iter().enumerate() {
        let p = t.validators.power_of(&s.validator);
        let bad = |e| ViewError::new(Element::CertificateSignature(i), LightError::Certificate(e));
        if p == 0 {
            return Err(bad(CertificateError::UnknownValidator(s.validator)));
        }
        if cert.signatures[..i]
            .iter()
            .any(|o| o.validator == s.validator)
        {
            return Err(bad(CertificateError::Duplicate(s.validator)));
        }
        let key = verifying_key(&s.validator)
            .ok_or_else(|| bad(CertificateError::BadSignature(s.validator)))?;
        out.push(Deferred {
            msg: msg.clone(),
            sig: s.signature,
            key,
        });
        power += p;
    }
    if !t.validators.is_quorum(power) {
        let e = CertificateError::NoQuorum {
            power,
            total: t.validators.total_power(),
        };
        return Err(ViewError::new(
            Element::Certificate,
            LightError::Certificate(e),
        ));
    }
    Ok(())
}

/// Checks format, version (which must be `want_version`, what the document's content
/// requires) and chain id.
pub(super) fn check_doc(
    format: &str,
    want: &str,
    version: u32,
    want_version: u32,
    chain: &str,
    t: &Trusted,
) -> Result<(), ViewError> {
    if format != want {
        return Err(ViewError::new(
            Element::Format,
            Reason::Unsupported(format!("format {format:?}, expected {want:?}")),
        ));
    }
    if version != want_version {
        let why = if format == VIEW_FORMAT && version == VIEW_VERSION_ERASED {
            format!("version {version} marks erased fields, and no field is marked erased")
        } else if format == VIEW_FORMAT && version == VIEW_VERSION {
            format!("a view marking erased fields is version {VIEW_VERSION_ERASED}, not {version}")
        } else {
            format!("version {version}, this verifier reads {want_version} here")
        };
        return Err(ViewError::new(Element::Version, Reason::Unsupported(why)));
    }
    if chain != t.chain_id {
        return Err(ViewError::mismatch(
            Element::ChainId,
            format!("chain {chain:?} is not the genesis chain {:?}", t.chain_id),
        ));
    }
    Ok(())
}

impl Verifier {
    /// A verifier trusting `genesis` only.
    pub fn new(genesis: &Genesis) -> Verifier {
        Verifier {
            genesis: genesis.clone(),
            trust: Trusted::genesis(genesis),
            trusted: BTreeMap::new(),
        }
    }

    /// The trusted set after `path`, from genesis.
    fn follow(&self, path: &[SetChange]) -> Result<Trusted, ViewError> {
        if path.len() > MAX_PATH_STEPS {
            return Err(path_error(0, LightError::TooManySteps(path.len())));
        }
        let mut t = self.trust.clone();
        for (i, step) in path.iter().enumerate() {
            t.follow(step).map_err(|e| path_error(i, e))?;
        }
        Ok(t)
    }

    /// Verifies a certified header reached through `path` from genesis. With `deferred`,
    /// the certificate's signatures are collected for one batch instead of checked here.
    fn certified(
        &self,
        header: &Header,
        cert: &CommitCertificate,
        path: &[SetChange],
        at: Element,
        deferred: Option<&mut Vec<Deferred>>,
    ) -> Result<(), ViewError> {
        let t = self.follow(path)?;
        t.check_header(header).map_err(|e| ViewError::new(at, e))?;
        if cert.signatures.len() > t.validators.validators.len() {
            let e = LightError::TooManySignatures {
                got: cert.signatures.len(),
                validators: t.validators.validators.len(),
            };
            return Err(ViewError::new(Element::Certificate, e));
        }
        // The certificate on its own first, so that a changed header is named as such.
        match deferred {
            None => cert
                .verify(&t.chain_id, cert.height, &cert.block_hash, &t.validators)
                .map_err(|e| certificate_error(cert, LightError::Certificate(e), at))?,
            Some(out) => defer_certificate(cert, &t, out)?,
        }
        if cert.height != header.height || cert.block_hash != header.hash() {
            return Err(ViewError::mismatch(
                at,
                "is not the header the certificate signs",
            ));
        }
        Ok(())
    }

    /// The validator set that certified `view`'s header h+1 (genesis followed along its
    /// validator path); not itself a verification of the view.
    ///
    /// # Errors
    /// A path that does not follow from genesis.
    pub fn validators_of(&self, view: &View) -> Result<crate::genesis::ValidatorSet, ViewError> {
        Ok(self.follow(&view.validator_path)?.validators)
    }

    /// Verifies a header reached through `path` from genesis and its certificate now (one
    /// signature at a time), naming `at` when the header fails.
    pub(super) fn certified_header(
        &self,
        header: &Header,
        cert: &CommitCertificate,
        path: &[SetChange],
        at: Element,
    ) -> Result<(), ViewError> {
        self.certified(header, cert, path, at, None)
    }

    /// Verifies a checkpoint from genesis: format, path, header and certificate.
    pub fn verify_checkpoint(&self, cp: &Checkpoint) -> Result<(), ViewError> {
        check_doc(
            &cp.format,
            CHECKPOINT_FORMAT,
            cp.version,
            VIEW_VERSION,
            &cp.chain_id,
            &self.trust,
        )?;
        self.certified(
            &cp.header,
            &cp.certificate,
            &cp.validator_path,
            Element::Header,
            None,
        )
    }

    /// Verifies a checkpoint and trusts its header from now on: views certified by it skip
    /// the signature checks, and ledger proofs may be anchored at its `ledger_root`.
    pub fn trust_checkpoint(&mut self, cp: &Checkpoint) -> Result<(), ViewError> {
        self.verify_checkpoint(cp)?;
        self.trusted.insert(cp.header.hash(), cp.clone());
        Ok(())
    }

    /// Verifies every value of `view`; returns what it shows or the first element that
    /// fails.
    ///
    /// The signatures (the certificate's precommits and the officers') are checked in one
    /// ed25519 batch; when anything fails, the view is checked again one signature at a time
    /// in document order, so the error names the first failing element.
    pub fn verify(&self, view: &View) -> Result<Verified, ViewError> {
        let mut sigs = Vec::new();
        match self.check(view, Some(&mut sigs)) {
            Ok(v) if batch_verifies(&sigs) => Ok(v),
            _ => self.check(view, None),
        }
    }

    /// Verifies many views, with all their signatures in one ed25519 batch (the views that
    /// fail are checked again one by one, as [`Verifier::verify`] does).
    pub fn verify_all(&self, views: &[View]) -> Vec<Result<Verified, ViewError>> {
        let mut sigs = Vec::new();
        let first: Vec<_> = views
            .iter()
            .map(|v| self.check(v, Some(&mut sigs)))
            .collect();
        let all_ok = batch_verifies(&sigs);
        first
            .into_iter()
            .zip(views)
            .map(|(r, v)| match r {
                Ok(ok) if all_ok => Ok(ok),
                _ => self.check(v, None),
            })
            .collect()
    }

    /// Every check of a view; signatures are checked one by one (`deferred` = None) or
    /// collected for a batch.
    fn check(
        &self,
        view: &View,
        mut deferred: Option<&mut Vec<Deferred>>,
    ) -> Result<Verified, ViewError> {
        check_doc(
            &view.format,
            VIEW_FORMAT,
            view.version,
            view.required_version(),
            &view.chain_id,
            &self.trust,
        )?;
        // Header h+1: certified under the set the path reaches, or already trusted.
        let rh = &view.result.header;
        let rh_hash = rh.hash();
        let from_checkpoint = match self.trusted.get(&rh_hash) {
            // Verified before: the certificate and path must be the ones verified then.
            Some(cp) => {
                if cp.certificate != view.certificate {
                    return Err(ViewError::mismatch(
                        Element::Certificate,
                        "not the certificate of the trusted checkpoint",
                    ));
                }
                if cp.validator_path != view.validator_path {
                    return Err(ViewError::mismatch(
                        Element::Path,
                        "not the path of the trusted checkpoint",
                    ));
                }
                true
            }
            None => {
                self.certified(
                    rh,
                    &view.certificate,
                    &view.validator_path,
                    Element::ResultHeader,
                    deferred.as_deref_mut(),
                )?;
                false
            }
        };
        // Header h: linked by prev_hash.
        let bh = &view.block.header;
        let bad_bh = |s: String| Err(ViewError::mismatch(Element::BlockHeader, s));
        if bh.height.checked_add(1) != Some(rh.height) {
            return bad_bh(format!(
                "height {} does not precede {}",
                bh.height, rh.height
            ));
        }
        if bh.hash() != rh.prev_hash {
            return bad_bh("its hash is not the certified header's prev_hash".into());
        }
        if bh.next_validators_hash != rh.validators_hash {
            return bad_bh("next_validators_hash is not the certified header's set".into());
        }
        // The transaction: envelope, id, signatures, leaf in tx_root.
        let tx = &view.tx;
        let env = &tx.envelope;
        if env.chain_id != self.trust.chain_id {
            return Err(ViewError::mismatch(
                Element::Envelope,
                "chain_id is not the genesis chain",
            ));
        }
        let id = env.id();
        if tx.id != id {
            return Err(ViewError::mismatch(
                Element::TxId,
                format!("the envelope hashes to {id}"),
            ));
        }
        let n = tx.signatures.len();
        if n == 0 || n > MAX_TX_SIGNERS {
            return Err(ViewError::mismatch(
                Element::Signatures,
                format!("{n} signatures, expected 1..={MAX_TX_SIGNERS}"),
            ));
        }
        let msg = signing_bytes(&env.chain_id, &id);
        let mut signers = Vec::with_capacity(n);
        for (i, s) in tx.signatures.iter().enumerate() {
            if tx.signatures[..i].iter().any(|o| o.signer == s.signer) {
                return Err(ViewError::mismatch(
                    Element::Signature(i),
                    "signer appears twice",
                ));
            }
            match deferred.as_deref_mut() {
                None => s
                    .signer
                    .verify(&msg, &s.signature)
                    .map_err(|_| ViewError::new(Element::Signature(i), Reason::Signature))?,
                Some(out) => {
                    let key = verifying_key(&s.signer)
                        .ok_or_else(|| ViewError::new(Element::Signature(i), Reason::Signature))?;
                    out.push(Deferred {
                        msg: msg.clone(),
                        sig: s.signature,
                        key,
                    });
                }
            }
            let agency = self
                .genesis
                .agency_of_officer(&s.signer)
                .map(|a| a.id.clone());
            signers.push((s.signer, agency));
        }
        let sigs = Domain::TxSignatures.hash(&to_canonical(&tx.signatures));
        let mut leaf_data = [0u8; 64];
        leaf_data[..32].copy_from_slice(&id.0);
        leaf_data[32..].copy_from_slice(&sigs.0);
        let leaf = leaf_hash(&leaf_data);
        let index = view.block.index;
        if index >= bh.tx_count {
            return Err(ViewError::mismatch(
                Element::BlockIndex,
                format!("index {index} is not below tx_count {}", bh.tx_count),
            ));
        }
        verify_one(
            &bh.tx_root,
            bh.tx_count as u64,
            index as u64,
            &leaf,
            &view.block.proof,
        )
        .map_err(|e| ViewError::new(Element::BlockProof, e))?;
        // The fields.
        let (kind, revealed, hidden, erased) = self.check_fields(view)?;
        // The result, at the same index in header h+1's results_root.
        let r = &view.result.result;
        if r.tx_id != id {
            return Err(ViewError::mismatch(
                Element::Result,
                "tx_id is not the transaction's",
            ));
        }
        verify_one(
            &rh.results_root,
            bh.tx_count as u64,
            index as u64,
            &result_leaf(r),
            &view.result.proof,
        )
        .map_err(|e| ViewError::new(Element::ResultProof, e))?;
        // The ledger anchor.
        let ledger_index = bh
            .ledger_size
            .checked_sub(bh.tx_count as u64)
            .map(|s| s + index as u64);
        let Some(ledger_index) = ledger_index else {
            return bad_bh("ledger_size is below tx_count".into());
        };
        if let Some(l) = &view.ledger {
            if l.index != ledger_index {
                return Err(ViewError::mismatch(
                    Element::LedgerIndex,
                    format!("the headers place the transaction at {ledger_index}"),
                ));
            }
            let anchor = [bh, rh]
                .into_iter()
                .chain(self.trusted.values().map(|cp| &cp.header))
                .find(|h| h.ledger_size == l.tree_size)
                .ok_or_else(|| {
                    ViewError::mismatch(
                        Element::LedgerTreeSize,
                        format!("no trusted header has ledger_size {}", l.tree_size),
                    )
                })?;
            verify_inclusion::<Blake3Tree>(
                l.index,
                l.tree_size,
                &leaf,
                &l.proof,
                &anchor.ledger_root,
            )
            .map_err(|e| ViewError::new(Element::LedgerProof, e))?;
        }
        Ok(Verified {
            tx_id: id,
            kind,
            effective_at: env.effective_at,
            height: bh.height,
            index,
            ledger_index,
            revealed,
            hidden,
            erased,
            signers,
            outcome: r.outcome.clone(),
            certified_height: rh.height,
            from_checkpoint,
        })
    }

    /// Checks every field against the record type's schema and the envelope's field_root.
    #[allow(clippy::type_complexity)]
    fn check_fields(
        &self,
        view: &View,
    ) -> Result<
        (
            TxKind,
            Vec<(String, Option<serde_json::Value>)>,
            Vec<String>,
            Vec<String>,
        ),
        ViewError,
    > {
        let fields = &view.tx.fields;
        let kind = match fields.first() {
            Some(FieldView::Revealed {
                name, canonical, ..
            }) if name == "type" => schema::decode_kind(canonical).map_err(|e| {
                ViewError::new(Element::Field(0, FieldPart::Canonical), Reason::Decode(e))
            })?,
            _ => {
                return Err(ViewError::mismatch(
                    Element::Fields,
                    "the first field must be the revealed type",
                ))
            }
        };
        let names = schema::field_names(kind);
        if names.len() != fields.len() || fields.len() > MAX_RECORD_FIELDS {
            return Err(ViewError::mismatch(
                Element::Fields,
                format!(
                    "{} fields; a {} record has {}",
                    fields.len(),
                    kind.name(),
                    names.len()
                ),
            ));
        }
        let mut leaves = Vec::with_capacity(fields.len());
        let (mut revealed, mut hidden, mut erased_fields) = (Vec::new(), Vec::new(), Vec::new());
        for (i, f) in fields.iter().enumerate() {
            if f.index() as usize != i {
                return Err(ViewError::mismatch(
                    Element::Field(i, FieldPart::Index),
                    format!("index {} at position {i}", f.index()),
                ));
            }
            let want = names[i];
            let digest = match f {
                FieldView::Revealed {
                    name,
                    salt,
                    canonical,
                    value,
                    ..
                } => {
                    if want != name {
                        return Err(ViewError::mismatch(
                            Element::Field(i, FieldPart::Name),
                            format!("field {i} of a {} record is {want}", kind.name()),
                        ));
                    }
                    // A field decoding to JSON null (an absent optional value) is
                    // written as null, which reads back as `None`.
                    let decoded = match schema::decode_value(kind, name, canonical) {
                        Some(Ok(serde_json::Value::Null)) => None,
                        Some(Ok(v)) => Some(v),
                        Some(Err(e)) => {
                            return Err(ViewError::new(
                                Element::Field(i, FieldPart::Canonical),
                                Reason::Decode(e),
                            ))
                        }
                        None => None,
                    };
                    if &decoded != value {
                        return Err(ViewError::mismatch(
                            Element::Field(i, FieldPart::Value),
                            "value is not the committed bytes decoded",
                        ));
                    }
                    revealed.push((name.clone(), decoded));
                    field_leaf(salt, name, canonical)
                }
                FieldView::Hidden { digest, erased, .. } => {
                    if *erased {
                        // Only a field that may be private can have been erased; the flag
                        // itself is the serving node's statement (module docs).
                        if !crate::private::withholdable(kind).contains(&want) {
                            return Err(ViewError::mismatch(
                                Element::Field(i, FieldPart::Erased),
                                format!(
                                    "field {want} of a {} record is never private, so it \
                                     cannot have been erased",
                                    kind.name()
                                ),
                            ));
                        }
                        erased_fields.push(want.to_string());
                    }
                    hidden.push(want.to_string());
                    *digest
                }
            };
            leaves.push(leaf_hash(&digest.0));
        }
        if root(&leaves) != view.tx.envelope.field_root {
            return Err(ViewError::mismatch(
                Element::FieldRoot,
                "the fields (salts, values, digests) do not hash to the signed field_root",
            ));
        }
        Ok((kind, revealed, hidden, erased_fields))
    }
}
