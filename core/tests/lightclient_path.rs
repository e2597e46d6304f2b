//! The light-client path from the genesis validator set to a header follows set changes
//! step by step (each step certified by the set trusted at its height).

mod common;

use common::{certify, validator_key, Chain, CHAIN};
use safeledger_core::block::{CommitCertificate, Header};
use safeledger_core::consensus::{Vote, VoteType};
use safeledger_core::genesis::{Validator, ValidatorSet};
use safeledger_core::lightclient::{follow_path, LightError, SetChange};

fn new_set() -> ValidatorSet {
    ValidatorSet {
        validators: (4..7u8)
            .map(|i| Validator {
                agency: format!("new-{i}"),
                key: validator_key(i).public(),
                power: 1,
            })
            .collect(),
    }
}

fn certify_by(h: &Header, keys: &[u8]) -> CommitCertificate {
    let votes: Vec<Vote> = keys
        .iter()
        .map(|i| {
            Vote::new(
                CHAIN,
                &validator_key(*i),
                h.height,
                0,
                VoteType::Precommit,
                Some(h.hash()),
            )
        })
        .collect();
    CommitCertificate::from_votes(h.height, 0, h.hash(), &votes)
}

fn setup() -> (Chain, SetChange, Header) {
    let c = Chain::new(3);
    let mut change = c.h1.clone();
    change.height = 5;
    change.next_validators_hash = new_set().hash();
    let step = SetChange {
        certificate: certify(&change, &[0, 1, 3]),
        header: change,
        next_validators: new_set(),
    };
    let mut target = c.h2.clone();
    target.height = 9;
    target.validators_hash = new_set().hash();
    target.next_validators_hash = new_set().hash();
    (c, step, target)
}

#[test]
fn a_set_change_is_followed_and_the_new_set_certifies_later_headers() {
    let (c, step, target) = setup();
    let t = follow_path(&c.genesis, std::slice::from_ref(&step)).unwrap();
    assert_eq!(t.height, 5);
    t.verify_header(&target, &certify_by(&target, &[4, 5, 6]))
        .unwrap();
    // The old set no longer certifies, and the new set needs its own quorum.
    assert!(t
        .verify_header(&target, &certify_by(&target, &[0, 1, 2]))
        .is_err());
    assert!(t
        .verify_header(&target, &certify_by(&target, &[4, 5]))
        .is_err());
    // Without the step, the target names an untrusted set.
    let g = follow_path(&c.genesis, &[]).unwrap();
    assert!(matches!(
        g.verify_header(&target, &certify_by(&target, &[4, 5, 6])),
        Err(LightError::ValidatorsHash { .. })
    ));
}

#[test]
fn bad_steps_are_refused_with_their_index() {
    let (c, step, _) = setup();
    let mut wrong_set = step.clone();
    wrong_set.next_validators.validators.pop();
    let e = follow_path(&c.genesis, &[wrong_set]).unwrap_err();
    assert_eq!((e.step, e.error), (0, LightError::NextValidators));
    let mut no_change = step.clone();
    no_change.header.next_validators_hash = no_change.header.validators_hash;
    no_change.certificate = certify(&no_change.header, &[0, 1, 2]);
    assert_eq!(
        follow_path(&c.genesis, &[no_change]).unwrap_err().error,
        LightError::NotAChange
    );
    let mut forged = step.clone();
    forged.certificate = certify_by(&forged.header, &[4, 5, 6]);
    assert!(matches!(
        follow_path(&c.genesis, &[forged]).unwrap_err().error,
        LightError::Certificate(_)
    ));
    // A second step at a lower height than the first.
    let mut back = step.clone();
    back.header.height = 3;
    back.header.validators_hash = new_set().hash();
    back.header.next_validators_hash = c.genesis.validator_set().hash();
    back.next_validators = c.genesis.validator_set();
    back.certificate = certify_by(&back.header, &[4, 5, 6]);
    let e = follow_path(&c.genesis, &[step, back]).unwrap_err();
    assert_eq!(e.step, 1);
    assert!(matches!(e.error, LightError::Height { .. }));
}
