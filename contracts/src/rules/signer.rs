//! R0-signer: every signer is a registered officer of the submitter's agency (DESIGN §3
//! "Keys": records are signed by officer keys their agency registers).
//!
//! Node mempools drop transactions from unknown signers, but a byzantine proposer could
//! still include one; execution refuses it. Officers come from genesis `officer_keys`
//! (on-chain registration and revocation come with later work).

use super::{Refusal, R0_SIGNER};
use safeledger_core::{Genesis, PublicKey, Transaction};
use std::collections::BTreeMap;

/// Officer key → agency id, from genesis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Officers {
    agency_of: BTreeMap<PublicKey, String>,
}

impl Officers {
    /// Every genesis agency's `officer_keys`. A key listed by two agencies (which
    /// `Genesis::validate` refuses) counts for the first.
    pub fn from_genesis(genesis: &Genesis) -> Officers {
        let mut agency_of = BTreeMap::new();
        for a in &genesis.agencies {
            for k in &a.officer_keys {
                agency_of.entry(*k).or_insert_with(|| a.id.clone());
            }
        }
        Officers { agency_of }
    }

    /// The agency of a registered officer key.
    pub fn agency_of(&self, key: &PublicKey) -> Option<&str> {
        self.agency_of.get(key).map(String::as_str)
    }

    /// The submitter (first signer) and its agency. Refused when there is no signature or
    /// the submitter is not a registered officer; such a refusal consumes no sequence,
    /// since no registered signer owns it.
    pub fn submitter<'t>(&self, tx: &'t Transaction) -> Result<(&'t PublicKey, &str), Refusal> {
        let Some(key) = tx.submitter() else {
            return Err(Refusal::new(
                R0_SIGNER,
                "the transaction has no signer".into(),
            ));
        };
        match self.agency_of(key) {
            Some(agency) => Ok((key, agency)),
            None => Err(Refusal::new(
                R0_SIGNER,
                format!("submitter {key} is not a registered officer of any agency"),
            )),
        }
    }

    /// Every co-signer (second signer on) is a registered officer of `agency`.
    pub fn check_cosigners(&self, tx: &Transaction, agency: &str) -> Result<(), Refusal> {
        for s in tx.signatures.iter().skip(1) {
            match self.agency_of(&s.signer) {
                Some(a) if a == agency => {}
                Some(other) => {
                    return Err(Refusal::new(
                        R0_SIGNER,
                        format!(
                            "co-signer {} is an officer of agency {other}, not of the \
                             submitter's agency {agency}",
                            s.signer
                        ),
                    ))
                }
                None => {
                    return Err(Refusal::new(
                        R0_SIGNER,
                        format!("co-signer {} is not a registered officer", s.signer),
                    ))
                }
            }
        }
        Ok(())
    }
}
