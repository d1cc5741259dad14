//! What the transparency log adds to each answer: a leaf and its nodes, a
//! root, a signature; and what a verifier spends on a proof.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use vtj_tlog::tree::{self, leaf_hash, MemoryTree};
use vtj_tlog::Signer;

/// A typical audit entry: a page of 1000 changes names about 1000 hetus.
fn entry() -> String {
    let hetus: Vec<String> = (0..1000).map(|i| format!("\"010190-9{:02}X\"", i % 100)).collect();
    format!(
        "{{\"at\":\"2026-11-23T10:00:00.000Z\",\"action\":\"POST /api/v1/muutokset\",\"hetus\":[{}]}}",
        hetus.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let data = entry();
    let mut t = MemoryTree::new();
    for i in 0..1_000_000u64 {
        t.push(leaf_hash(&i.to_le_bytes()));
    }
    let n = t.size();
    let signer = Signer::from_seed("vtj.bench/audit", [1; 32]).unwrap();
    let key = signer.verifier();
    let root = tree::root(&mut t, n).unwrap();
    let note = signer.sign(n, &root);

    c.bench_function("leaf hash of a 1000-hetu entry", |b| b.iter(|| leaf_hash(black_box(data.as_bytes()))));
    c.bench_function("append a leaf (nodes to store)", |b| {
        b.iter(|| tree::append(&mut t, black_box(n), leaf_hash(b"x")).unwrap())
    });
    c.bench_function("root of 1,000,000 - 1 leaves", |b| b.iter(|| tree::root(&mut t, black_box(n - 1)).unwrap()));
    c.bench_function("sign a checkpoint", |b| b.iter(|| signer.sign(black_box(n), &root)));
    c.bench_function("open a checkpoint", |b| b.iter(|| key.open(black_box(&note)).unwrap()));
    c.bench_function("consistency proof 600,001 -> 999,999, made and checked", |b| {
        let (m, k) = (600_001, 999_999);
        let (r1, r2) = (tree::root(&mut t, m).unwrap(), tree::root(&mut t, k).unwrap());
        b.iter(|| {
            let p = tree::consistency_proof(&mut t, m, k).unwrap().unwrap();
            tree::verify_consistency(m, k, &r1, &r2, &p).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
