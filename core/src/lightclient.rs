//! Light-client verification: from the genesis validator set to a header, trusting nothing
//! but the genesis file (DESIGN §1, §4).
//!
//! A header is trusted when its commit certificate carries precommits of more than 2/3 of
//! the voting power of the validator set that header names in `validators_hash`, and that
//! set is trusted. The genesis set is trusted. A set change is followed by one
//! [`SetChange`] step: a header at height h, certified by the set trusted at h, whose
//! `next_validators_hash` commits to the new set for h+1 onward (the CometBFT light-client
//! model, sequential at the points where the set changes). The steps of a path must be in
//! increasing height and each must change the set.
//!
//! The set never changes yet (`next_validators_hash == validators_hash` in every header),
//! so paths are empty today; the verifier checks each step as if they were not. Between
//! steps, headers are not fetched: a retired set that signs a conflicting header after
//! handing over is a safety violation of that set, visible as two certified headers for one
//! height.

use crate::block::{
    CertificateError, CommitCertificate, Header, HEADER_VERSION, MAX_HEADER_VERSION,
};
use crate::genesis::{Genesis, ValidatorSet};
use crate::hash::Hash;
use serde::{Deserialize, Serialize};

/// Most set changes a path may hold (bounds a hostile document's work).
pub const MAX_PATH_STEPS: usize = 1_024;
/// Most validators a set followed by a path may hold.
pub const MAX_VALIDATORS: usize = 1_000;

/// One validator-set change: a header certified by the set trusted at its height and the
/// new set its `next_validators_hash` commits to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetChange {
    /// The last header signed by the outgoing set.
    pub header: Header,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// The set for the heights after it.
    pub next_validators: ValidatorSet,
}

/// Which part of a header or path step failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LightError {
    /// The header's version is not one this code reads ([`HEADER_VERSION`] to
    /// [`MAX_HEADER_VERSION`]).
    #[error("header version {0} is not one this verifier reads ({HEADER_VERSION} to {MAX_HEADER_VERSION})")]
    Version(u32),
    /// The header is of another chain.
    #[error("header is of chain {0:?}")]
    ChainId(String),
    /// Heights must increase along the path and the target must follow the last change.
    #[error("height {height} does not follow the trusted height {trusted}")]
    Height {
        /// The header's height.
        height: u64,
        /// The height trusted so far (0 at genesis).
        trusted: u64,
    },
    /// The header names a validator set other than the trusted one.
    #[error("validators_hash {got} is not the trusted set's {want}")]
    ValidatorsHash {
        /// In the header.
        got: Hash,
        /// Of the trusted set.
        want: Hash,
    },
    /// The certificate does not verify under the trusted set.
    #[error("commit certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// The certificate has more signatures than the set has validators.
    #[error("{got} signatures for a set of {validators} validators")]
    TooManySignatures {
        /// Signatures.
        got: usize,
        /// Validators in the set.
        validators: usize,
    },
    /// The next set given does not hash to the header's `next_validators_hash`.
    #[error("the next validator set does not hash to next_validators_hash")]
    NextValidators,
    /// A step whose header does not change the set.
    #[error("the step does not change the validator set")]
    NotAChange,
    /// The next set is not a usable validator set.
    #[error("invalid validator set: {0}")]
    InvalidSet(String),
    /// More steps than [`MAX_PATH_STEPS`].
    #[error("{0} steps exceed the limit of {MAX_PATH_STEPS}")]
    TooManySteps(usize),
}

/// Where a path failed: the step's index and what failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("step {step}: {error}")]
pub struct PathError {
    /// Index into the path.
    pub step: usize,
    /// What failed.
    pub error: LightError,
}

/// What a verifier trusts: a chain, a validator set and the height from which it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trusted {
    /// The chain id from genesis.
    pub chain_id: String,
    /// The height of the last header followed (0: genesis).
    pub height: u64,
    /// The trusted set.
    pub validators: ValidatorSet,
    /// Its hash.
    pub validators_hash: Hash,
}

/// Checks that `set` can be trusted as a validator set: 1..=[`MAX_VALIDATORS`] validators,
/// each with power > 0 and a valid, distinct key; total power in range.
pub fn check_set(set: &ValidatorSet) -> Result<(), LightError> {
    let bad = |s: String| Err(LightError::InvalidSet(s));
    if set.validators.is_empty() || set.validators.len() > MAX_VALIDATORS {
        return bad(format!("{} validators", set.validators.len()));
    }
    let mut total: u64 = 0;
    for (i, v) in set.validators.iter().enumerate() {
        if v.power == 0 {
            return bad(format!("validator {i} has no power"));
        }
        if v.key.validate().is_err() {
            return bad(format!("validator {i} has an invalid key"));
        }
        if set.validators[..i].iter().any(|o| o.key == v.key) {
            return bad(format!("validator {i} appears twice"));
        }
        total = match total.checked_add(v.power) {
            Some(t) if t <= u64::MAX / 4 => t,
            _ => return bad("total power out of range".into()),
        };
    }
    Ok(())
}

impl Trusted {
    /// Trust in the genesis validator set at height 0.
    pub fn genesis(genesis: &Genesis) -> Trusted {
        let validators = genesis.validator_set();
        Trusted {
            chain_id: genesis.chain_id.clone(),
            height: 0,
            validators_hash: validators.hash(),
            validators,
        }
    }

    /// Checks that `header` is certified by `certificate` under the trusted set: version,
    /// chain id, a height after the trusted one, `validators_hash` of the trusted set, and
    /// precommits from more than 2/3 of its power for the header's hash.
    pub fn verify_header(
        &self,
        header: &Header,
        certificate: &CommitCertificate,
    ) -> Result<(), LightError> {
        self.check_header(header)?;
        if certificate.signatures.len() > self.validators.validators.len() {
            return Err(LightError::TooManySignatures {
                got: certificate.signatures.len(),
                validators: self.validators.validators.len(),
            });
        }
        certificate.verify(
            &self.chain_id,
            header.height,
            &header.hash(),
            &self.validators,
        )?;
        Ok(())
    }

    /// The header checks of [`Trusted::verify_header`] without the certificate.
    pub fn check_header(&self, header: &Header) -> Result<(), LightError> {
        if !(HEADER_VERSION..=MAX_HEADER_VERSION).contains(&header.version) {
            return Err(LightError::Version(header.version));
        }
        if header.chain_id != self.chain_id {
            return Err(LightError::ChainId(header.chain_id.clone()));
        }
        if header.height <= self.height {
            return Err(LightError::Height {
                height: header.height,
                trusted: self.height,
            });
        }
        if header.validators_hash != self.validators_hash {
            return Err(LightError::ValidatorsHash {
                got: header.validators_hash,
                want: self.validators_hash,
            });
        }
        Ok(())
    }

    /// Follows one set change: verifies its header under the trusted set, then trusts the
    /// new set from the height after it.
    pub fn follow(&mut self, step: &SetChange) -> Result<(), LightError> {
        self.verify_header(&step.header, &step.certificate)?;
        if step.header.next_validators_hash == step.header.validators_hash {
            return Err(LightError::NotAChange);
        }
        if step.next_validators.hash() != step.header.next_validators_hash {
            return Err(LightError::NextValidators);
        }
        check_set(&step.next_validators)?;
        self.height = step.header.height;
        self.validators = step.next_validators.clone();
        self.validators_hash = step.header.next_validators_hash;
        Ok(())
    }
}

/// Follows `path` from the genesis set; returns the set trusted after its last step.
pub fn follow_path(genesis: &Genesis, path: &[SetChange]) -> Result<Trusted, PathError> {
    if path.len() > MAX_PATH_STEPS {
        return Err(PathError {
            step: MAX_PATH_STEPS,
            error: LightError::TooManySteps(path.len()),
        });
    }
    let mut t = Trusted::genesis(genesis);
    for (step, s) in path.iter().enumerate() {
        t.follow(s).map_err(|error| PathError { step, error })?;
    }
    Ok(t)
}
