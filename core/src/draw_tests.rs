use super::*;
use crate::beacon::{self, Dealing, ScalarBytes};
use crate::keys::SecretKey;

fn ids(n: usize) -> Vec<EnterpriseId> {
    (0..n)
        .map(|i| EnterpriseId::parse(&format!("us-test:e{i:03}")).unwrap())
        .collect()
}

fn officer(i: u8) -> PublicKey {
    SecretKey::from_bytes(&[100 + i; 32]).public()
}

#[test]
fn selection_takes_the_fraction_rounded_up() {
    assert_eq!(selected_count(0, 100), 0);
    assert_eq!(selected_count(1, 100), 1);
    assert_eq!(selected_count(10, 100), 1);
    assert_eq!(selected_count(11, 100), 2);
    assert_eq!(selected_count(50, 1000), 50);
    let pool = ids(50);
    let rho = Hash([7; 32]);
    let s = select(&rho, &pool, 100);
    assert_eq!(s.len(), 5);
    assert_eq!(s, select(&rho, &pool, 100), "deterministic");
    assert_ne!(s, select(&Hash([8; 32]), &pool, 100));
    let unique: BTreeSet<_> = s.iter().collect();
    assert_eq!(unique.len(), 5);
}

#[test]
fn assignment_excludes_conflicts_and_balances_load() {
    let pool = ids(20);
    let rho = Hash([1; 32]);
    let selected = select(&rho, &pool, 500);
    let inspectors = vec![
        PoolInspector {
            officer: officer(0),
            excluded: selected[..3].to_vec(),
        },
        PoolInspector {
            officer: officer(1),
            excluded: vec![],
        },
        PoolInspector {
            officer: officer(2),
            excluded: vec![],
        },
    ];
    let a = assign(&rho, &selected, &inspectors, 2);
    assert_eq!(a.len(), 10);
    for x in &a[..3] {
        assert!(!x.inspectors.contains(&officer(0)), "{x:?}");
        assert_eq!(x.inspectors.len(), 2);
    }
    let mut load = BTreeMap::new();
    for x in &a {
        assert!(!x.short);
        for o in &x.inspectors {
            *load.entry(*o).or_insert(0) += 1;
        }
    }
    let (lo, hi) = (*load.values().min().unwrap(), *load.values().max().unwrap());
    assert!(hi - lo <= 3, "{load:?}");
    // One eligible inspector for two places: short.
    let one = vec![inspectors[0].clone()];
    let a = assign(&rho, &selected[..1], &one, 2);
    assert!(a[0].short && a[0].inspectors.is_empty());
}

struct Dealer {
    dealing: Dealing,
    secret: ScalarBytes,
}

/// A simulated draw among `keys` (agency i has keys[i]): every agency deals.
fn dealings(draw: &Hash, keys: &[SecretKey], t: usize) -> Vec<Dealer> {
    let pks: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
    keys.iter()
        .map(|k| {
            let ctx = [draw.0.as_slice(), &k.public().0].concat();
            let (dealing, secret) = beacon::deal(&k.to_bytes(), &ctx, &pks, t).unwrap();
            beacon::verify_dealing(&ctx, &pks, t, &dealing).unwrap();
            Dealer { dealing, secret }
        })
        .collect()
}

/// The simulation: over 1,000 draws, agency 0 reveals last and withholds whenever
/// the outcome would not select its favoured enterprise. With recovery from shares its
/// favoured enterprise's selection rate stays at the fraction and every withholding is
/// detected; under plain commit-then-reveal (a withheld part simply dropped) the same
/// strategy nearly doubles it.
#[test]
fn withholding_cannot_bias_a_thousand_draws() {
    let keys: Vec<SecretKey> = (0..4u8)
        .map(|i| SecretKey::from_bytes(&[i + 1; 32]))
        .collect();
    let pks: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
    let agencies = ["a-cheat", "b", "c", "d"];
    let t = beacon::threshold(keys.len());
    let pool = ids(50);
    let favoured = pool[17].clone();
    let (mut fair, mut naive, mut withheld) = (0u32, 0u32, 0u32);
    for k in 0..1000u32 {
        let draw = Domain::Draw.hash_parts(&[b"sim", &k.to_le_bytes()]);
        let ds = dealings(&draw, &keys, t);
        let revealed: Vec<Point> = ds
            .iter()
            .map(|d| beacon::contribution_from_reveal(&d.dealing, &d.secret).unwrap())
            .collect();
        let all: BTreeMap<String, Point> = agencies
            .iter()
            .map(|a| a.to_string())
            .zip(revealed.iter().copied())
            .collect();
        let picks = |c: &BTreeMap<String, Point>| {
            select(&randomness(&draw, c), &pool, 100).contains(&favoured)
        };
        if picks(&all) {
            fair += 1;
            naive += 1;
            continue;
        }
        // Agency 0 withholds: the chain records it, and two honest recipients' shares
        // recover its contribution.
        withheld += 1;
        let ctx = [draw.0.as_slice(), &pks[0].0].concat();
        let shares: Vec<(usize, Point)> = (1..=2)
            .map(|j| {
                let s = beacon::decrypt_share(&keys[j], &ctx, &ds[0].dealing, j + 1).unwrap();
                beacon::verify_share(&ctx, &pks[j], &ds[0].dealing, j + 1, &s).unwrap();
                (j + 1, s.s)
            })
            .collect();
        let recovered = beacon::recover(&shares, t).unwrap();
        assert_eq!(
            recovered, revealed[0],
            "draw {k}: recovery differs from the reveal"
        );
        let mut with_recovery = all.clone();
        with_recovery.insert(agencies[0].into(), recovered);
        if picks(&with_recovery) {
            fair += 1;
        }
        let mut dropped = all.clone();
        dropped.remove(agencies[0]);
        if picks(&dropped) {
            naive += 1;
        }
    }
    eprintln!(
        "1000 draws: favoured selected {fair} times with recovery, {naive} under plain \
         commit-reveal; {withheld} withholdings recorded"
    );
    // Binomial(1000, 0.1): mean 100, sd 9.5; five sd either side.
    assert!(
        (53..=147).contains(&fair),
        "favoured selected {fair} times of 1000"
    );
    assert_eq!(withheld, 1000 - fair);
    // Plain commit-reveal: 1 − 0.9² = 19 % expected.
    assert!(naive >= 150, "the naive scheme was not biased ({naive})");
}
