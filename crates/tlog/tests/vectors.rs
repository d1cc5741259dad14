//! RFC 6962 trees against Certificate Transparency's reference test data
//! (the eight leaves of its merkle tree tests and the roots and proofs
//! published with them), and proofs of every shape checked both ways.

use proptest::prelude::*;
use vtj_tlog::tree::{self, leaf_hash, MemoryTree};
use vtj_tlog::{Frontier, Hash, ProofError};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn h(s: &str) -> Hash {
    unhex(s).try_into().unwrap()
}

const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in LEAVES {
        t.push(leaf_hash(&unhex(l)));
    }
    t
}

#[test]
fn roots_of_every_size_match_the_reference() {
    let mut t = reference_tree();
    let mut f = Frontier::new();
    assert_eq!(f.root(), h(ROOTS[0]));
    for (size, want) in ROOTS.iter().enumerate() {
        assert_eq!(tree::root(&mut t, size as u64).unwrap(), h(want), "size {size}");
        if size > 0 {
            f.push(leaf_hash(&unhex(LEAVES[size - 1])));
            assert_eq!(f.root(), h(want), "frontier, size {size}");
        }
    }
}

#[test]
fn inclusion_proofs_match_the_reference() {
    let mut t = reference_tree();
    let cases: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            0,
            5,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, want) in cases {
        let proof = tree::inclusion_proof(&mut t, index, size).unwrap().unwrap();
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(proof, want, "leaf {index} of {size}");
        let leaf = leaf_hash(&unhex(LEAVES[index as usize]));
        tree::verify_inclusion(&leaf, index, size, &proof, &h(ROOTS[size as usize])).unwrap();
    }
    assert_eq!(tree::inclusion_proof(&mut t, 8, 8).unwrap(), None);
}

#[test]
fn consistency_proofs_match_the_reference() {
    let mut t = reference_tree();
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (first, second, want) in cases {
        let proof = tree::consistency_proof(&mut t, first, second).unwrap().unwrap();
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(proof, want, "{first} -> {second}");
        let (r1, r2) = (h(ROOTS[first as usize]), h(ROOTS[second as usize]));
        tree::verify_consistency(first, second, &r1, &r2, &proof).unwrap();
        if first < second {
            // A different older root is caught.
            assert_eq!(
                tree::verify_consistency(first, second, &h(ROOTS[0]), &r2, &proof),
                Err(ProofError::Inconsistent)
            );
        }
    }
    assert_eq!(tree::consistency_proof(&mut t, 5, 4).unwrap(), None);
}

fn tree_of(n: u64) -> (MemoryTree, Vec<Hash>) {
    let mut t = MemoryTree::new();
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect();
    for l in &leaves {
        t.push(*l);
    }
    (t, leaves)
}

proptest! {
    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_one_does_not(n in 1u64..300, pick in any::<u64>()) {
        let (mut t, leaves) = tree_of(n);
        let index = pick % n;
        let root = tree::root(&mut t, n).unwrap();
        let proof = tree::inclusion_proof(&mut t, index, n).unwrap().unwrap();
        prop_assert_eq!(tree::verify_inclusion(&leaves[index as usize], index, n, &proof, &root), Ok(()));
        let other = leaf_hash(b"not logged");
        prop_assert!(tree::verify_inclusion(&other, index, n, &proof, &root).is_err());
        if n > 1 {
            let moved = (index + 1) % n;
            prop_assert!(tree::verify_inclusion(&leaves[index as usize], moved, n, &proof, &root).is_err());
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_rewritten_history_does_not(n in 1u64..300, a in any::<u64>(), b in any::<u64>()) {
        let (mut t, leaves) = tree_of(n);
        let second = 1 + b % n;
        let first = a % (second + 1);
        let r1 = tree::root(&mut t, first).unwrap();
        let r2 = tree::root(&mut t, second).unwrap();
        let proof = tree::consistency_proof(&mut t, first, second).unwrap().unwrap();
        prop_assert_eq!(tree::verify_consistency(first, second, &r1, &r2, &proof), Ok(()));
        if first > 0 {
            // The same sizes, one entry of the older tree rewritten.
            let mut forged = MemoryTree::new();
            let k = (a / 7) % first;
            for (i, l) in leaves.iter().enumerate().take(second as usize) {
                forged.push(if i as u64 == k { leaf_hash(b"rewritten") } else { *l });
            }
            let f2 = tree::root(&mut forged, second).unwrap();
            let fp = tree::consistency_proof(&mut forged, first, second).unwrap().unwrap();
            prop_assert!(tree::verify_consistency(first, second, &r1, &f2, &fp).is_err());
        }
    }

    #[test]
    fn the_frontier_root_is_the_tree_root(n in 0u64..300) {
        let (mut t, leaves) = tree_of(n);
        let mut f = Frontier::new();
        for l in &leaves {
            f.push(*l);
        }
        prop_assert_eq!(f.root(), tree::root(&mut t, n).unwrap());
    }
}
