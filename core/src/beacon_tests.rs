use super::*;

fn keys(n: u8) -> Vec<SecretKey> {
    (0..n)
        .map(|i| SecretKey::from_bytes(&[i + 1; 32]))
        .collect()
}

fn setup(n: u8) -> (Vec<SecretKey>, Vec<PublicKey>, usize) {
    let ks = keys(n);
    let pks = ks.iter().map(|k| k.public()).collect();
    (ks, pks, threshold(n as usize))
}

#[test]
fn thresholds_are_f_plus_one() {
    assert_eq!([1, 2, 3, 4, 5, 7, 10].map(threshold), [1, 1, 1, 2, 2, 3, 4]);
}

/// A dealing verifies; the revealed secret and every t-subset of decrypted shares give the
/// same contribution.
#[test]
fn reveal_and_recovery_agree() {
    let (ks, pks, t) = setup(7);
    let ctx = b"draw 1 dealer a";
    let (d, secret) = deal(&[9; 32], ctx, &pks, t).unwrap();
    verify_dealing(ctx, &pks, t, &d).unwrap();
    let v = contribution_from_reveal(&d, &secret).unwrap();
    let shares: Vec<(usize, Point)> = ks
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let s = decrypt_share(k, ctx, &d, i + 1).unwrap();
            verify_share(ctx, &pks[i], &d, i + 1, &s).unwrap();
            (i + 1, s.s)
        })
        .collect();
    for start in 0..=shares.len() - t {
        assert_eq!(recover(&shares[start..start + t], t).unwrap(), v);
    }
    let odd: Vec<_> = shares.iter().copied().step_by(2).collect();
    assert_eq!(recover(&odd, t).unwrap(), v);
    assert!(matches!(
        recover(&shares[..t - 1], t),
        Err(BeaconError::TooFewShares { .. })
    ));
    // A repeated position counts once.
    let twice = vec![shares[0], shares[0]];
    assert!(recover(&twice, t).is_err());
}

/// Changing any byte of a dealing, or dealing under another context, fails verification.
#[test]
fn tampered_dealings_fail() {
    let (_, pks, t) = setup(4);
    let ctx = b"ctx";
    let (d, _) = deal(&[3; 32], ctx, &pks, t).unwrap();
    assert!(verify_dealing(b"other", &pks, t, &d).is_err());
    for k in 0..d.commitments.len() {
        let mut bad = d.clone();
        bad.commitments[k].0[0] ^= 1;
        assert!(verify_dealing(ctx, &pks, t, &bad).is_err(), "C{k}");
    }
    for j in 0..d.shares.len() {
        for field in 0..3 {
            let mut bad = d.clone();
            match field {
                0 => bad.shares[j].e.0[1] ^= 1,
                1 => bad.shares[j].proof.c.0[2] ^= 1,
                _ => bad.shares[j].proof.z.0[3] ^= 1,
            }
            assert!(
                verify_dealing(ctx, &pks, t, &bad).is_err(),
                "share {j} field {field}"
            );
        }
    }
    let mut short = d.clone();
    short.shares.pop();
    assert!(matches!(
        verify_dealing(ctx, &pks, t, &short),
        Err(BeaconError::Count { .. })
    ));
    let mut low = d.clone();
    low.commitments.pop();
    assert!(verify_dealing(ctx, &pks, t, &low).is_err());
}

/// A dealer that hands one recipient a share off its polynomial (with an honest-looking
/// proof for the wrong value) is caught at dealing time, before any reveal.
#[test]
fn a_share_off_the_polynomial_is_refused() {
    let (_, pks, t) = setup(4);
    let ctx = b"ctx";
    let (mut d, _) = deal(&[3; 32], ctx, &pks, t).unwrap();
    let wrong = Scalar::from(12345u64);
    let y = point(&Point(pks[2].0), "y").unwrap();
    d.shares[2] = EncryptedShare {
        e: compress(&(wrong * y)),
        proof: prove(ctx, &wrong, &generator_h(), &y),
    };
    let err = verify_dealing(ctx, &pks, t, &d).unwrap_err();
    assert!(err.to_string().contains("recipient 3"), "{err}");
}

#[test]
fn wrong_reveals_and_shares_fail() {
    let (ks, pks, t) = setup(4);
    let ctx = b"ctx";
    let (d, secret) = deal(&[5; 32], ctx, &pks, t).unwrap();
    let mut bad = secret;
    bad.0[0] ^= 1;
    assert_eq!(
        contribution_from_reveal(&d, &bad),
        Err(BeaconError::RevealMismatch)
    );
    assert!(contribution_from_reveal(&d, &ScalarBytes([0xff; 32])).is_err());
    let s = decrypt_share(&ks[1], ctx, &d, 2).unwrap();
    // Under another recipient's key or position, or with a changed point, it fails.
    assert!(verify_share(ctx, &pks[0], &d, 2, &s).is_err());
    assert!(verify_share(ctx, &pks[1], &d, 3, &s).is_err());
    assert!(verify_share(ctx, &pks[1], &d, 9, &s).is_err());
    let mut moved = s;
    moved.s = compress(&(point(&s.s, "s").unwrap() + G));
    assert!(verify_share(ctx, &pks[1], &d, 2, &moved).is_err());
    // A share decrypted with the wrong key does not verify.
    let stolen = decrypt_share(&ks[0], ctx, &d, 2).unwrap();
    assert!(verify_share(ctx, &pks[1], &d, 2, &stolen).is_err());
}

#[test]
fn points_with_torsion_are_refused() {
    let torsion = curve25519_dalek::constants::EIGHT_TORSION[1];
    let p = compress(&(G + torsion));
    assert!(point(&p, "p").is_err());
    assert!(point(&Point([0xff; 32]), "p").is_err());
}
