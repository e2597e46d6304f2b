//! The tree, inclusion and consistency code run with SHA-256 against the published RFC 6962
//! test vectors of transparency-dev/merkle (`tests/data/transparency-dev/README.md`): leaf and
//! node hashes and roots of its reference tree, its proof tables, and its JSON test cases —
//! happy paths and hostile variants (wrong index or size, garbage before or after, truncated,
//! modified, swapped roots).

use safeledger_core::ledger_tree::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion, MemoryTree,
    NodeSource,
};
use safeledger_core::merkle::{root_with, CompactRange, TreeHasher};
use safeledger_core::proof;
use safeledger_core::Hash;
use sha2::{Digest, Sha256};

/// RFC 6962 §2.1 hashing: SHA-256 with 0x00 / 0x01 prefixes.
struct Rfc6962;

impl TreeHasher for Rfc6962 {
    fn leaf(data: &[u8]) -> Hash {
        Hash(
            Sha256::new()
                .chain_update([0u8])
                .chain_update(data)
                .finalize()
                .into(),
        )
    }
    fn node(l: &Hash, r: &Hash) -> Hash {
        Hash(
            Sha256::new()
                .chain_update([1u8])
                .chain_update(l.0)
                .chain_update(r.0)
                .finalize()
                .into(),
        )
    }
    fn empty() -> Hash {
        Hash(Sha256::digest([]).into())
    }
}

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

/// `testonly.LeafInputs()`.
fn leaf_inputs() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| hex::decode(s).unwrap())
    .collect()
}

/// `testonly.NodeHashes()`: level by level.
fn node_hashes() -> Vec<Vec<Hash>> {
    vec![
        vec![
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
            h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
        ],
        vec![
            h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        ],
        vec![
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
        vec![h(
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        )],
    ]
}

/// `testonly.RootHashes()`: by tree size, from the empty tree.
fn root_hashes() -> Vec<Hash> {
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    .iter()
    .map(|s| h(s))
    .collect()
}

fn leaves() -> Vec<Hash> {
    leaf_inputs().iter().map(|d| Rfc6962::leaf(d)).collect()
}

#[test]
fn tree_hashes_match_the_reference_tree() {
    let l = leaves();
    let nodes = node_hashes();
    let roots = root_hashes();
    let tree = MemoryTree::from_leaves::<Rfc6962>(&l);
    for (level, row) in nodes.iter().enumerate() {
        for (i, want) in row.iter().enumerate() {
            assert_eq!(
                tree.node(level as u8, i as u64).unwrap(),
                *want,
                "node {level}/{i}"
            );
        }
    }
    let mut cr = CompactRange::default();
    assert_eq!(cr.root_with::<Rfc6962>(), roots[0]);
    for n in 1..=8 {
        cr.append_with::<Rfc6962>(l[n - 1], |_| {});
        assert_eq!(
            root_with::<Rfc6962>(&l[..n]),
            roots[n],
            "rs_merkle root, size {n}"
        );
        assert_eq!(
            cr.root_with::<Rfc6962>(),
            roots[n],
            "compact range root, size {n}"
        );
    }
    assert_eq!(root_with::<Rfc6962>(&[]), roots[0]);
}

/// `proof/verify_test.go` `inclusionProofs`: (leaf, 1-based), size, path.
fn inclusion_table() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            3,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            2,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// `proof/verify_test.go` `consistencyProofs`: size1, size2, proof.
fn consistency_table() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

#[test]
fn generated_proofs_equal_the_published_ones_and_verify() {
    let l = leaves();
    let roots = root_hashes();
    let tree = MemoryTree::from_leaves::<Rfc6962>(&l);
    for (leaf, size, want) in inclusion_table() {
        let m = leaf - 1;
        let got = inclusion_proof::<Rfc6962, _>(&tree, m, size).unwrap();
        assert_eq!(got, want, "ledger-tree PATH({m}, D[{size}])");
        // rs_merkle's per-block proof of one leaf is the same audit path.
        let per_block = proof::prove::<Rfc6962>(&l[..size as usize], &[m]).unwrap();
        assert_eq!(per_block, want, "rs_merkle proof of {m} in {size}");
        let r = roots[size as usize];
        verify_inclusion::<Rfc6962>(m, size, &l[m as usize], &want, &r).unwrap();
        proof::verify::<Rfc6962>(&r, size, &[(m, l[m as usize])], &want).unwrap();
    }
    for (m, n, want) in consistency_table() {
        let got = consistency_proof::<Rfc6962, _>(&tree, m, n).unwrap();
        assert_eq!(got, want, "PROOF({m}, D[{n}])");
        verify_consistency::<Rfc6962>(m, n, &roots[m as usize], &roots[n as usize], &want).unwrap();
    }
}

fn b64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A base64 hash; `None` when it is not 32 bytes (such a case must be refused).
fn hash32(v: &serde_json::Value) -> Option<Hash> {
    <[u8; 32]>::try_from(b64(v.as_str()?)).ok().map(Hash)
}

fn cases(kind: &str) -> Vec<(String, serde_json::Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transparency-dev")
        .join(kind);
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn proof_of(v: &serde_json::Value) -> Option<Vec<Hash>> {
    match v["proof"].as_array() {
        None => Some(vec![]),
        Some(a) => a.iter().map(hash32).collect(),
    }
}

#[test]
fn published_inclusion_cases_verify_or_fail_as_expected() {
    let all = cases("inclusion");
    assert!(all.len() >= 15);
    for (name, c) in all {
        let want_err = c["wantErr"].as_bool().unwrap();
        let (m, n) = (
            c["leafIdx"].as_u64().unwrap(),
            c["treeSize"].as_u64().unwrap(),
        );
        let parsed = (hash32(&c["root"]), hash32(&c["leafHash"]), proof_of(&c));
        let (ledger, per_block) = match parsed {
            (Some(root), Some(leaf), Some(p)) => (
                verify_inclusion::<Rfc6962>(m, n, &leaf, &p, &root).is_ok(),
                proof::verify::<Rfc6962>(&root, n, &[(m, leaf)], &p).is_ok(),
            ),
            _ => (false, false),
        };
        assert_eq!(ledger, !want_err, "{name}: RFC 9162 §2.1.3.2 verifier");
        assert_eq!(
            per_block, !want_err,
            "{name}: per-block (rs_merkle) verifier"
        );
    }
}

#[test]
fn published_consistency_cases_verify_or_fail_as_expected() {
    let all = cases("consistency");
    assert!(all.len() >= 15);
    for (name, c) in all {
        let want_err = c["wantErr"].as_bool().unwrap();
        let (m, n) = (c["size1"].as_u64().unwrap(), c["size2"].as_u64().unwrap());
        let ok = match (hash32(&c["root1"]), hash32(&c["root2"]), proof_of(&c)) {
            (Some(r1), Some(r2), Some(p)) => {
                verify_consistency::<Rfc6962>(m, n, &r1, &r2, &p).is_ok()
            }
            _ => false,
        };
        assert_eq!(ok, !want_err, "{name}");
    }
}
