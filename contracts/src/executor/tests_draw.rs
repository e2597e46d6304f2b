//! Double-random draws (issue 20 item 2): the opening and its pool, the beacon's phases,
//! a withheld secret recovered from shares with the same outcome, and each refusal.

use crate::draw::{self, Phase, R0_DRAW, R0_DRAW_BEACON};
use crate::testkit::*;
use crate::Outcome;
use safeledger_core::beacon;
use safeledger_core::records::{DrawBeacon, DrawBeaconStep, DrawInspector, DrawOpen};
use safeledger_core::{SecretKey, Timestamp, Transaction, TxBody, TxId};

/// Node keys of em, fire and market (the genesis validators, in set order).
fn node(i: usize) -> SecretKey {
    SecretKey::from_bytes(&[100 + i as u8; 32])
}

const T0: u64 = 5000;

fn at(secs: u64) -> Timestamp {
    Timestamp(day(T0).0 + secs * 1000)
}

fn open_body(id: &str, pool_agency: &str, risk: &[&str]) -> TxBody {
    TxBody::DrawOpen(DrawOpen {
        draw_id: id.into(),
        month: "2033-09".into(),
        pool_agency: pool_agency.into(),
        industry: None,
        risk_levels: risk.iter().map(|s| s.to_string()).collect(),
        fraction_permille: 200,
        inspectors: vec![DrawInspector {
            officer: officer(3).public(),
            conflicts: vec![ent(4)],
        }],
        inspectors_per_enterprise: 1,
        experts: Vec::new(),
        experts_per_enterprise: 0,
        commit_window_secs: 60,
        reveal_window_secs: 60,
    })
}

struct Draw {
    chain: Chain,
    id: TxId,
    seq: [u64; 3],
}

impl Draw {
    /// Market records 20 enterprises and opens a draw over them at `at(0)`.
    fn open() -> Draw {
        let mut chain = Chain::new();
        for i in 0..20 {
            chain.ok(&[3], 10, enterprise_record(i, &format!("E{i}"), &[]));
        }
        let tx = chain.tx(&[3], T0, open_body("D-1", MARKET, &[]));
        assert_eq!(
            chain.block_at(at(0), std::slice::from_ref(&tx)),
            vec![Outcome::Accepted]
        );
        Draw {
            chain,
            id: tx.id(),
            seq: [0; 3],
        }
    }

    fn state(&self) -> draw::DrawState {
        draw::get(&self.chain.state, &self.id).unwrap()
    }

    fn beacon(&mut self, i: usize, step: DrawBeaconStep) -> Transaction {
        self.seq[i] += 1;
        let body = TxBody::DrawBeacon(DrawBeacon {
            draw: self.id,
            step,
        });
        signed(&[&node(i)], self.seq[i], day(T0), body)
    }

    fn step(&mut self, i: usize, secs: u64, step: DrawBeaconStep) -> Outcome {
        let tx = self.beacon(i, step);
        self.chain.block_at(at(secs), &[tx]).remove(0)
    }

    fn dealing(&self, i: usize) -> (beacon::Dealing, beacon::ScalarBytes) {
        let st = self.state();
        let keys: Vec<_> = st.participants.iter().map(|p| p.key).collect();
        beacon::deal(
            &node(i).to_bytes(),
            &st.context(&node(i).public()),
            &keys,
            st.threshold,
        )
        .unwrap()
    }

    fn deal(&mut self, i: usize, secs: u64) -> Outcome {
        let digest = self.state().pool_digest;
        let dealing = self.dealing(i).0;
        self.step(
            i,
            secs,
            DrawBeaconStep::Deal {
                pool_digest: digest,
                dealing,
            },
        )
    }

    fn reveal(&mut self, i: usize, secs: u64) -> Outcome {
        let secret = self.dealing(i).1;
        self.step(i, secs, DrawBeaconStep::Reveal { secret })
    }

    fn share(&mut self, i: usize, dealer: usize, secs: u64) -> Outcome {
        let st = self.state();
        let d = &st.dealings[&st.participants[dealer].agency];
        let s =
            beacon::decrypt_share(&node(i), &st.context(&node(dealer).public()), d, i + 1).unwrap();
        let dealer = st.participants[dealer].agency.clone();
        self.step(i, secs, DrawBeaconStep::Share { dealer, share: s })
    }
}

#[test]
fn a_draw_completes_and_a_withheld_secret_changes_nothing() {
    let mut d = Draw::open();
    assert_eq!(draw::running(&d.chain.state), vec![d.id]);
    let st = d.state();
    assert_eq!(st.pool_size, 20);
    assert_eq!(st.participants.len(), 3);
    assert_eq!(d.state().phase(at(1)), Phase::Commit);
    // Reveals before the commit phase closes are refused.
    assert_eq!(d.deal(0, 1), Outcome::Accepted);
    let early = d.reveal(0, 2);
    assert_eq!(rule_of(&early), Some(R0_DRAW_BEACON));
    assert!(reason_of(&early).contains("commit phase"), "{early:?}");
    assert_eq!(d.deal(1, 3), Outcome::Accepted);
    let twice = d.deal(1, 4);
    assert!(reason_of(&twice).contains("dealt already"), "{twice:?}");
    assert_eq!(d.deal(2, 5), Outcome::Accepted);
    // Every validator dealt: the commit phase closed at once.
    assert_eq!(d.state().closed_at, Some(at(5)));
    assert_eq!(d.reveal(0, 6), Outcome::Accepted);
    assert_eq!(d.reveal(2, 7), Outcome::Accepted);
    // Fire withholds. A share before the reveal window ends is refused.
    assert!(reason_of(&d.share(0, 1, 8)).contains("reveal phase"));
    assert_eq!(d.state().phase(at(65)), Phase::Recovery);
    // The threshold of three validators is one share.
    assert_eq!(d.share(0, 1, 70), Outcome::Accepted);
    let st = d.state();
    assert_eq!(st.withheld, vec![FIRE.to_string()]);
    let result = st.result.clone().expect("complete");
    assert_eq!(result.assignments.len(), 4, "20 % of 20");
    // The outcome is the one fire's reveal would have given.
    let mut all = st.revealed.clone();
    let fire = d.dealing(1);
    all.insert(
        FIRE.into(),
        beacon::contribution_from_reveal(&fire.0, &fire.1).unwrap(),
    );
    assert_eq!(st.recovered[FIRE], all[FIRE]);
    assert_eq!(
        result.randomness,
        safeledger_core::draw::randomness(&d.id, &all)
    );
    // Its declared conflict is never assigned to officer 3.
    for a in &result.assignments {
        if a.enterprise == ent(4) {
            assert!(a.inspectors.is_empty() && a.short);
        } else {
            assert_eq!(a.inspectors, vec![officer(3).public()]);
        }
    }
    // Late reveals are refused once complete.
    let late = d.reveal(1, 80);
    assert!(reason_of(&late).contains("complete phase"), "{late:?}");
    assert_eq!(draw::all(&d.chain.state), vec![d.id]);
    assert!(
        draw::running(&d.chain.state).is_empty(),
        "complete: no longer followed"
    );
}

#[test]
fn bad_beacon_steps_are_refused() {
    let mut d = Draw::open();
    // A node that is no validator.
    let stranger = SecretKey::from_bytes(&[77; 32]);
    let (dealing, _) = d.dealing(0);
    let tx = signed(
        &[&stranger],
        1,
        day(T0),
        TxBody::DrawBeacon(DrawBeacon {
            draw: d.id,
            step: DrawBeaconStep::Deal {
                pool_digest: d.state().pool_digest,
                dealing: dealing.clone(),
            },
        }),
    );
    let out = d.chain.block_at(at(1), &[tx]).remove(0);
    assert!(reason_of(&out).contains("was not a validator"), "{out:?}");
    // Another pool digest.
    let out = d.step(
        0,
        1,
        DrawBeaconStep::Deal {
            pool_digest: safeledger_core::Hash([1; 32]),
            dealing: dealing.clone(),
        },
    );
    assert!(reason_of(&out).contains("pool_digest"), "{out:?}");
    // Node 0 sending node 1's dealing: its proofs are bound to node 1.
    let (other, _) = d.dealing(1);
    let digest = d.state().pool_digest;
    let out = d.step(
        0,
        1,
        DrawBeaconStep::Deal {
            pool_digest: digest,
            dealing: other,
        },
    );
    assert!(reason_of(&out).contains("dealing:"), "{out:?}");
    // A tampered share.
    let mut bad = dealing;
    bad.shares[2].e.0[0] ^= 1;
    let out = d.step(
        0,
        1,
        DrawBeaconStep::Deal {
            pool_digest: digest,
            dealing: bad,
        },
    );
    assert_eq!(rule_of(&out), Some(R0_DRAW_BEACON));
    // Two deal in time; the third is late.
    assert_eq!(d.deal(0, 2), Outcome::Accepted);
    assert_eq!(d.deal(1, 3), Outcome::Accepted);
    let late = d.deal(2, 61);
    assert!(reason_of(&late).contains("reveal phase"), "{late:?}");
    // A reveal that does not match the commitment.
    let mut wrong = d.dealing(0).1;
    wrong.0[0] ^= 1;
    let out = d.step(0, 62, DrawBeaconStep::Reveal { secret: wrong });
    assert!(reason_of(&out).contains("does not match"), "{out:?}");
    // The absent validator cannot reveal.
    let out = d.reveal(2, 63);
    assert!(reason_of(&out).contains("did not deal"), "{out:?}");
    assert_eq!(d.reveal(0, 64), Outcome::Accepted);
    assert_eq!(d.reveal(1, 65), Outcome::Accepted);
    let st = d.state();
    assert_eq!(st.absent, vec![MARKET.to_string()]);
    assert!(st.result.is_some());
    assert!(st.withheld.is_empty());
    // A step for a draw never opened.
    let out = {
        let mut tx_body = d.beacon(0, DrawBeaconStep::Reveal { secret: wrong });
        if let TxBody::DrawBeacon(b) = &mut tx_body.payload.body {
            b.draw = safeledger_core::Hash([9; 32]);
        }
        let tx = signed(&[&node(0)], d.seq[0], day(T0), tx_body.payload.body);
        d.chain.block_at(at(70), &[tx]).remove(0)
    };
    assert!(reason_of(&out).contains("never opened"), "{out:?}");
}

#[test]
fn too_few_dealers_fail_the_draw() {
    let mut d = Draw::open();
    // Three validators: threshold one. None deals in the window.
    assert_eq!(d.state().phase(at(61)), Phase::Failed);
    let out = d.deal(0, 61);
    assert!(reason_of(&out).contains("failed"), "{out:?}");
}

#[test]
fn openings_are_checked() {
    let mut chain = Chain::new();
    chain.ok(&[3], 10, enterprise_record(1, "E1", &[]));
    // Fire recorded nothing: its pool is empty.
    let out = chain.one(&[3], 10, open_body("D-0", FIRE, &[]));
    assert_eq!(rule_of(&out), Some(R0_DRAW));
    assert!(reason_of(&out).contains("pool is empty"), "{out:?}");
    // No red enterprise.
    let out = chain.one(&[3], 10, open_body("D-0", MARKET, &["red"]));
    assert!(reason_of(&out).contains("pool is empty"), "{out:?}");
    let out = chain.one(&[3], 10, open_body("D-0", "nowhere", &[]));
    assert!(reason_of(&out).contains("not an agency"), "{out:?}");
    // An inspector of another agency.
    let mut body = open_body("D-0", MARKET, &[]);
    if let TxBody::DrawOpen(o) = &mut body {
        o.inspectors[0].officer = officer(2).public();
    }
    let out = chain.one(&[3], 10, body);
    assert!(
        reason_of(&out).contains("not an officer of market"),
        "{out:?}"
    );
    chain.ok(&[3], 10, open_body("D-1", MARKET, &["green"]));
    let out = chain.one(&[3], 10, open_body("D-1", MARKET, &[]));
    assert!(reason_of(&out).contains("used before"), "{out:?}");
}

#[test]
fn opening_bounds_name_the_field() {
    let check = |f: &dyn Fn(&mut DrawOpen)| {
        let mut body = open_body("D", MARKET, &[]);
        if let TxBody::DrawOpen(o) = &mut body {
            f(o);
        }
        body.check_bounds().unwrap_err().field
    };
    assert_eq!(check(&|o| o.fraction_permille = 1001), "fraction_permille");
    assert_eq!(check(&|o| o.fraction_permille = 99), "fraction_permille");
    assert_eq!(check(&|o| o.month = "2033-13".into()), "month");
    assert_eq!(
        check(&|o| o.risk_levels = vec!["pink".into()]),
        "risk_levels"
    );
    assert_eq!(check(&|o| o.inspectors.clear()), "inspectors");
    assert_eq!(
        check(&|o| o.inspectors_per_enterprise = 0),
        "inspectors_per_enterprise"
    );
    assert_eq!(check(&|o| o.commit_window_secs = 1), "commit_window_secs");
    assert_eq!(check(&|o| o.draw_id = " ".into()), "draw_id");
}

/// The inspector who signed an enterprise's latest inspection is not assigned to it.
#[test]
fn the_last_inspector_is_excluded() {
    let mut chain = Chain::new();
    chain.ok(&[3], 10, enterprise_record(1, "E1", &[]));
    chain.ok(
        &[3],
        11,
        inspection(1, "I-1", safeledger_core::records::InspectionOutcome::Pass),
    );
    let tx = chain.tx(&[3], T0, open_body("D-1", MARKET, &[]));
    assert_eq!(
        chain.block_at(at(0), std::slice::from_ref(&tx)),
        vec![Outcome::Accepted]
    );
    let pool = draw::pool(&chain.state, &tx.id()).unwrap();
    assert_eq!(pool.inspectors[0].excluded, vec![ent(1), ent(4)]);
}

/// A draw of inspectors and third-party experts: registered experts only, never a banned
/// one, never one with a declared conflict; both kinds assigned by the same rule.
#[test]
fn experts_are_drawn_too_registered_and_unbanned_only() {
    use safeledger_core::records::{AssessorAction, AssessorActionKind, DrawExpert};
    let act = |inst: &str, action| {
        TxBody::AssessorAction(AssessorAction {
            institution_id: inst.into(),
            action,
        })
    };
    let mut chain = Chain::new();
    for i in 0..20 {
        chain.ok(&[3], 10, enterprise_record(i, &format!("E{i}"), &[]));
    }
    chain.ok(
        &[3],
        10,
        act(
            "INST-1",
            AssessorActionKind::RegisterInstitution {
                name: "Safety Assessment Co.".into(),
            },
        ),
    );
    for x in ["EXP-1", "EXP-2"] {
        chain.ok(
            &[3],
            10,
            act(
                "INST-1",
                AssessorActionKind::RegisterExpert {
                    expert_id: x.into(),
                    name: x.into(),
                },
            ),
        );
    }
    let with_experts = |id: &str, experts: &[(&str, &[u32])]| {
        let TxBody::DrawOpen(mut o) = open_body(id, MARKET, &[]) else {
            unreachable!()
        };
        o.experts = experts
            .iter()
            .map(|(x, c)| DrawExpert {
                expert_id: x.to_string(),
                conflicts: c.iter().map(|n| ent(*n)).collect(),
            })
            .collect();
        o.experts_per_enterprise = 1;
        TxBody::DrawOpen(o)
    };
    let mut secs = 0;
    let mut open_at = |chain: &mut Chain, body: TxBody| {
        secs += 1;
        let tx = chain.tx(&[3], T0, body);
        chain.block_at(at(secs), &[tx]).remove(0)
    };
    let o = open_at(&mut chain, with_experts("D-X0", &[("EXP-9", &[])]));
    assert_eq!(rule_of(&o), Some(R0_DRAW), "{o:?}");
    assert!(reason_of(&o).contains("EXP-9"));
    // Both experts split the selected enterprises; EXP-1 never gets enterprise 5.
    let tx = chain.tx(
        &[3],
        T0,
        with_experts("D-X1", &[("EXP-1", &[5]), ("EXP-2", &[])]),
    );
    assert_eq!(
        chain.block_at(at(30), std::slice::from_ref(&tx)),
        vec![Outcome::Accepted]
    );
    let pool = draw::pool(&chain.state, &tx.id()).unwrap();
    assert_eq!(pool.experts.len(), 2);
    assert_eq!(pool.experts[0].excluded, vec![ent(5)]);
    let rho = safeledger_core::Hash([7; 32]);
    let selected: Vec<_> = pool.enterprises.clone();
    let a = safeledger_core::draw::assign_all(&rho, &selected, &pool, 1, 1);
    assert!(a.iter().all(|x| x.experts.len() == 1));
    let of = |x: &str| a.iter().filter(|y| y.experts == [x]).count();
    assert_eq!(of("EXP-1") + of("EXP-2"), 20);
    assert!(of("EXP-1").abs_diff(of("EXP-2")) <= 1, "balanced");
    assert!(a
        .iter()
        .all(|y| y.enterprise != ent(5) || y.experts == ["EXP-2"]));
    // A falsification bans EXP-2 with its report: it can no longer be drawn.
    let report = chain.ok(
        &[3],
        10,
        TxBody::AssessmentReport(safeledger_core::records::AssessmentReport {
            enterprise: ent(1),
            report_id: "RPT-1".into(),
            institution_id: "INST-1".into(),
            experts: vec!["EXP-2".into()],
            licence_number: None,
            conclusion: "conditions met".into(),
        }),
    );
    chain.ok(
        &[3],
        10,
        act(
            "INST-1",
            AssessorActionKind::Falsification {
                report: report.id(),
                finding: "case 9: figures invented".into(),
            },
        ),
    );
    let o = open_at(&mut chain, with_experts("D-X2", &[("EXP-2", &[])]));
    assert_eq!(
        rule_of(&o),
        Some(crate::assessors::R0_ASSESSOR_BANNED),
        "{o:?}"
    );
}
