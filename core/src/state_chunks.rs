//! The authenticated state map cut into chunks, for state sync (issue 22 item 3).
//!
//! A snapshot of the map ([`crate::state_tree`]) at one height is cut by the first `bits`
//! bits of each key's path: chunk `i` holds every (key, value) whose path starts with the
//! `bits`-bit number `i`, so there are `2^bits` chunks and each is the subtree at depth
//! `bits` below that prefix. A snapshot's metadata lists one [`ChunkSummary`] per chunk:
//! how many keys it holds and the hash of its subtree in the tree's canonical shape (a lone
//! key's leaf, [`EMPTY`] for none).
//!
//! A node that syncs state checks the summaries once against the certified `state_root`
//! ([`root_of_chunks`] joins them the way the tree does: a lone leaf lifts past an empty
//! sibling), then each chunk on arrival against its summary ([`verify_chunk`]): every key
//! under the chunk's prefix, none twice, the count, and the subtree hash. A chunk that
//! passes is exactly that part of the certified state; one that does not is refused and the
//! peer that served it skipped, before anything of it is stored.
//!
//! The root binds each chunk's hash and whether it holds zero, one or more keys, not a count
//! of two or more; a false count passes [`verify_summaries`] and fails [`verify_chunk`] for
//! every true chunk. Summaries whose root matches can also misplace a lone leaf (a leaf and an empty
//! sibling join to the same hash in either order); the chunk check then fails for the
//! misplaced one, since a leaf's hash binds its key's path. So a node fetches a snapshot's
//! chunks only from peers that offered the same summaries, and blames the peer whose chunk
//! fails its own summary.

use crate::hash::{Domain, Hash};
use crate::state_tree::{key_path, subtree_hash, value_hash, EMPTY};
use serde::{Deserialize, Serialize};

/// State (key, value) pairs: a chunk's contents.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Most prefix bits a snapshot is cut by (16,384 chunks; the summaries, 48 bytes each,
/// stay well under a message).
pub const MAX_CHUNK_BITS: u32 = 14;

/// One chunk's place in a snapshot: its key count and subtree hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkSummary {
    /// Keys in the chunk.
    pub keys: u64,
    /// The hash of the chunk's subtree at depth `bits` ([`EMPTY`] when it has no key, the
    /// key's leaf hash when it has one).
    pub hash: Hash,
}

/// Why summaries or a chunk do not match.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// `bits` above [`MAX_CHUNK_BITS`].
    #[error("{0} prefix bits: at most {MAX_CHUNK_BITS}")]
    Bits(u32),
    /// Not one summary per chunk.
    #[error("{got} chunk summaries for {bits} prefix bits (want {want})")]
    Count {
        /// Summaries given.
        got: usize,
        /// The bits.
        bits: u32,
        /// `2^bits`.
        want: usize,
    },
    /// An empty chunk whose hash is not [`EMPTY`].
    #[error("chunk {0} has no key but a non-empty hash")]
    EmptyHash(usize),
    /// A chunk with keys whose hash is [`EMPTY`] (no leaf or inner node hashes to it).
    #[error("chunk {0} has keys but the empty hash")]
    ZeroHash(usize),
    /// The summaries do not join to the certified root.
    #[error("the chunk summaries join to {got}, the certified state root is {want}")]
    Root {
        /// Joined.
        got: Hash,
        /// Certified.
        want: Hash,
    },
    /// The chunk index is out of range.
    #[error("chunk {index} of {chunks}")]
    Index {
        /// Index.
        index: usize,
        /// Chunks in the snapshot.
        chunks: usize,
    },
    /// A key whose path is not under the chunk's prefix.
    #[error("key {0} of the chunk is not under its prefix")]
    Prefix(usize),
    /// A key given twice.
    #[error("key {0} of the chunk is given twice")]
    Duplicate(usize),
    /// Not as many keys as the summary says.
    #[error("{got} keys, the summary says {want}")]
    Keys {
        /// In the chunk.
        got: u64,
        /// In the summary.
        want: u64,
    },
    /// The chunk's subtree hash is not the summary's.
    #[error("the chunk's subtree hash is not its summary's")]
    Hash,
}

/// The chunk of a key path: its first `bits` bits as a number (0 for `bits` 0).
pub fn chunk_of(path: &Hash, bits: u32) -> usize {
    if bits == 0 {
        return 0;
    }
    let top = u32::from_be_bytes([path.0[0], path.0[1], path.0[2], path.0[3]]);
    (top >> (32 - bits)) as usize
}

/// The summaries of the map holding `pairs` (key, value; any order, keys distinct) cut by
/// `bits` (at most [`MAX_CHUNK_BITS`]), with each pair's chunk index in `pairs` order.
pub fn summarize(bits: u32, pairs: &[(&[u8], &[u8])]) -> (Vec<ChunkSummary>, Vec<usize>) {
    let bits = bits.min(MAX_CHUNK_BITS);
    let mut per: Vec<Vec<(Hash, Hash)>> = vec![Vec::new(); 1 << bits];
    let mut of = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let path = key_path(k);
        let i = chunk_of(&path, bits);
        per[i].push((path, value_hash(v)));
        of.push(i);
    }
    let summaries = per
        .into_iter()
        .map(|mut leaves| {
            leaves.sort_by_key(|l| l.0);
            ChunkSummary {
                keys: leaves.len() as u64,
                hash: subtree_hash(bits as usize, &leaves),
            }
        })
        .collect();
    (summaries, of)
}

/// A subtree while joining summaries upward: empty, a lone leaf (lifts), or inner.
#[derive(Clone, Copy)]
enum Part {
    Empty,
    Leaf(Hash),
    Inner(Hash),
}

impl Part {
    fn hash(self) -> Hash {
        match self {
            Part::Empty => EMPTY,
            Part::Leaf(h) | Part::Inner(h) => h,
        }
    }
}

fn join(left: Part, right: Part) -> Part {
    match (left, right) {
        (Part::Empty, Part::Empty) => Part::Empty,
        (Part::Leaf(h), Part::Empty) | (Part::Empty, Part::Leaf(h)) => Part::Leaf(h),
        (l, r) => Part::Inner(Domain::StateNode.hash_parts(&[&l.hash().0, &r.hash().0])),
    }
}

/// The map's root from its chunk summaries (`2^bits` of them, in chunk order).
///
/// # Errors
/// [`ChunkError::Bits`], [`ChunkError::Count`], [`ChunkError::EmptyHash`],
/// [`ChunkError::ZeroHash`].
pub fn root_of_chunks(bits: u32, summaries: &[ChunkSummary]) -> Result<Hash, ChunkError> {
    if bits > MAX_CHUNK_BITS {
        return Err(ChunkError::Bits(bits));
    }
    let want = 1usize << bits;
    if summaries.len() != want {
        return Err(ChunkError::Count {
            got: summaries.len(),
            bits,
            want,
        });
    }
    let mut level = Vec::with_capacity(want);
    for (i, s) in summaries.iter().enumerate() {
        level.push(match s.keys {
            0 if s.hash != EMPTY => return Err(ChunkError::EmptyHash(i)),
            0 => Part::Empty,
            _ if s.hash == EMPTY => return Err(ChunkError::ZeroHash(i)),
            1 => Part::Leaf(s.hash),
            _ => Part::Inner(s.hash),
        });
    }
    while level.len() > 1 {
        level = level.chunks_exact(2).map(|p| join(p[0], p[1])).collect();
    }
    Ok(level[0].hash())
}

/// Checks summaries against a certified root: [`root_of_chunks`] must equal `root`.
///
/// # Errors
/// Those of [`root_of_chunks`], and [`ChunkError::Root`].
pub fn verify_summaries(
    bits: u32,
    summaries: &[ChunkSummary],
    root: &Hash,
) -> Result<(), ChunkError> {
    let got = root_of_chunks(bits, summaries)?;
    if got != *root {
        return Err(ChunkError::Root { got, want: *root });
    }
    Ok(())
}

/// Checks chunk `index` of a snapshot cut by `bits` against its summary (out of
/// `summaries`, already checked by [`verify_summaries`]): each key under the chunk's
/// prefix and given once, the key count, and the subtree hash.
///
/// # Errors
/// The first [`ChunkError`] found.
pub fn verify_chunk(
    bits: u32,
    summaries: &[ChunkSummary],
    index: usize,
    pairs: &[(Vec<u8>, Vec<u8>)],
) -> Result<(), ChunkError> {
    let Some(summary) = summaries.get(index) else {
        return Err(ChunkError::Index {
            index,
            chunks: summaries.len(),
        });
    };
    if pairs.len() as u64 != summary.keys {
        return Err(ChunkError::Keys {
            got: pairs.len() as u64,
            want: summary.keys,
        });
    }
    let mut leaves = Vec::with_capacity(pairs.len());
    for (i, (k, v)) in pairs.iter().enumerate() {
        let path = key_path(k);
        if chunk_of(&path, bits) != index {
            return Err(ChunkError::Prefix(i));
        }
        leaves.push((path, value_hash(v), i));
    }
    leaves.sort_by_key(|l| l.0);
    if let Some(w) = leaves.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(ChunkError::Duplicate(w[0].2.max(w[1].2)));
    }
    let leaves: Vec<(Hash, Hash)> = leaves.into_iter().map(|(p, v, _)| (p, v)).collect();
    if subtree_hash(bits as usize, &leaves) != summary.hash {
        return Err(ChunkError::Hash);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_tree::StateTree;
    use proptest::prelude::*;

    fn pairs(n: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|i| {
                (
                    format!("ent/E{i}").into_bytes(),
                    format!("v{i}").into_bytes(),
                )
            })
            .collect()
    }

    fn refs(p: &[(Vec<u8>, Vec<u8>)]) -> Vec<(&[u8], &[u8])> {
        p.iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect()
    }

    fn chunks(bits: u32, p: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        let (_, of) = summarize(bits, &refs(p));
        let mut out = vec![Vec::new(); 1 << bits];
        for (pair, i) in p.iter().zip(of) {
            out[i].push(pair.clone());
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Summaries join to the tree's root for any key set and cut, and every chunk
        /// verifies against its summary.
        #[test]
        fn summaries_join_to_the_root_and_chunks_verify(n in 0u32..300, bits in 0u32..9) {
            let p = pairs(n);
            let root = StateTree::from_pairs(refs(&p)).root();
            let (s, _) = summarize(bits, &refs(&p));
            verify_summaries(bits, &s, &root).unwrap();
            for (i, c) in chunks(bits, &p).iter().enumerate() {
                verify_chunk(bits, &s, i, c).unwrap();
            }
        }

        /// Any changed byte of a chunk's keys or values, a dropped or added pair, or a
        /// pair moved to another chunk is refused.
        #[test]
        fn a_changed_chunk_is_refused(n in 2u32..200, bits in 1u32..6, pick in any::<u64>(), byte in any::<u64>()) {
            let p = pairs(n);
            let (s, _) = summarize(bits, &refs(&p));
            let cs = chunks(bits, &p);
            let nonempty: Vec<usize> = (0..cs.len()).filter(|i| !cs[*i].is_empty()).collect();
            let i = nonempty[(pick % nonempty.len() as u64) as usize];
            let j = (byte % cs[i].len() as u64) as usize;
            let mut c = cs[i].clone();
            let v = &mut c[j].1;
            let b = (byte / 7 % v.len() as u64) as usize;
            v[b] ^= 1;
            prop_assert!(verify_chunk(bits, &s, i, &c).is_err());
            let mut c = cs[i].clone();
            c.remove(j);
            prop_assert!(verify_chunk(bits, &s, i, &c).is_err());
            let mut c = cs[i].clone();
            c.push(c[j].clone());
            prop_assert!(verify_chunk(bits, &s, i, &c).is_err());
            let other = (i + 1) % cs.len();
            let mut c = cs[other].clone();
            c.push(cs[i][j].clone());
            prop_assert!(verify_chunk(bits, &s, other, &c).is_err());
        }
    }

    #[test]
    fn wrong_summaries_are_refused() {
        let p = pairs(40);
        let root = StateTree::from_pairs(refs(&p)).root();
        let (s, _) = summarize(3, &refs(&p));
        for i in 0..s.len() {
            let mut bad = s.clone();
            bad[i].hash.0[0] ^= 1;
            assert!(verify_summaries(3, &bad, &root).is_err(), "chunk {i}");
        }
        assert!(matches!(
            verify_summaries(3, &s[..7], &root),
            Err(ChunkError::Count { .. })
        ));
        assert!(matches!(
            verify_summaries(MAX_CHUNK_BITS + 1, &s, &root),
            Err(ChunkError::Bits(_))
        ));
        let mut empty = summarize(4, &refs(&pairs(1))).0;
        let at = empty.iter().position(|c| c.keys == 0).unwrap();
        empty[at].hash = Hash([1; 32]);
        assert_eq!(root_of_chunks(4, &empty), Err(ChunkError::EmptyHash(at)));
        empty[at] = ChunkSummary {
            keys: 1,
            hash: EMPTY,
        };
        assert_eq!(root_of_chunks(4, &empty), Err(ChunkError::ZeroHash(at)));
        assert!(matches!(
            verify_chunk(3, &s, 8, &[]),
            Err(ChunkError::Index { .. })
        ));
    }

    #[test]
    fn a_lone_leaf_moved_to_its_empty_sibling_fails_the_chunk_check() {
        // One key: every cut joins it up to the root, wherever the summaries put it.
        let p = pairs(1);
        let root = StateTree::from_pairs(refs(&p)).root();
        let (mut s, of) = summarize(1, &refs(&p));
        s.swap(0, 1);
        verify_summaries(1, &s, &root).unwrap();
        let moved = 1 - of[0];
        assert!(verify_chunk(1, &s, moved, &p).is_err());
    }
}
