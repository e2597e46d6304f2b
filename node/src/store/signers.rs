//! The signer index (issue 19 item 5, lifetime accountability): `g/` ‖ signer public key
//! (32 raw bytes) ‖ height BE → canonical `Vec<u32>`, the positions in that block of the
//! transactions the key signed, as submitter or co-signer, accepted or refused. Written in
//! the height's commit batch ([`index_block`]), node-local, not part of any root; never
//! deleted, so an officer's records stay listed after its revocation.

use super::{Store, StoreError};
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::{Block, PublicKey};
use std::collections::BTreeMap;

const PREFIX: &[u8] = b"g/";

fn key(signer: &PublicKey, height: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(PREFIX.len() + 32 + 8);
    k.extend_from_slice(PREFIX);
    k.extend_from_slice(&signer.0);
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// Adds block `block`'s signer entries to `batch`: one key per distinct signer.
pub(super) fn index_block(batch: &mut sled::Batch, block: &Block) {
    let mut by_signer: BTreeMap<PublicKey, Vec<u32>> = BTreeMap::new();
    for (i, tx) in block.txs.iter().enumerate() {
        for s in &tx.signatures {
            let v = by_signer.entry(s.signer).or_default();
            if v.last() != Some(&(i as u32)) {
                v.push(i as u32);
            }
        }
    }
    for (signer, positions) in by_signer {
        batch.insert(key(&signer, block.header.height), to_canonical(&positions));
    }
}

impl Store {
    /// Up to `limit` (height, position) of the transactions `signer` signed, in commit
    /// order, after `after` (exclusive; `None`: from the first).
    ///
    /// # Errors
    /// sled failed, or an entry does not decode ([`StoreError::Corrupt`]).
    pub fn signed_by(
        &self,
        signer: &PublicKey,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<(u64, u32)>, StoreError> {
        let start = key(signer, after.map_or(0, |(h, _)| h));
        let mut prefix = PREFIX.to_vec();
        prefix.extend_from_slice(&signer.0);
        let mut out = Vec::new();
        for kv in self.db.range(start..) {
            let (k, v) = kv?;
            if !k.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            let height = u64::from_be_bytes(k[prefix.len()..].try_into().map_err(|_| {
                StoreError::Corrupt {
                    key: format!("g/{signer}/?"),
                    why: "key is not signer and height".into(),
                }
            })?);
            let positions: Vec<u32> = from_canonical(&v).map_err(|e| StoreError::Corrupt {
                key: format!("g/{signer}/{height}"),
                why: e.to_string(),
            })?;
            for p in positions {
                if after.is_some_and(|a| (height, p) <= a) {
                    continue;
                }
                if out.len() >= limit {
                    break;
                }
                out.push((height, p));
            }
        }
        Ok(out)
    }
}
