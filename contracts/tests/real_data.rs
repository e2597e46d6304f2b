//! The rules applied to the real public data (issue 4 "Done when"): the importer's plan of
//! `data/` executed through the [`Executor`] in memory, blocks of 2,000 in plan order at
//! a block time after every effective date, under the demo's genesis (four agencies,
//! `demo_roles`). The refusal counts per rule are pinned so that a change to them is
//! always deliberate.

use rand::SeedableRng;
use safeledger_client::import::{self, plan_import, AGENCIES};
use safeledger_contracts::state::read;
use safeledger_contracts::{
    keys, policy, rego_value, BlockContext, EnterpriseState, Executor, Outcome,
};
use safeledger_core::genesis::{Agency, ConsensusParams};
use safeledger_core::{Genesis, SecretKey, Timestamp, Transaction, TxPayload};
use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn refusals_per_rule_on_the_shipped_data_are_pinned() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let plan = plan_import(&data).expect("the shipped data imports");
    let keys: BTreeMap<&str, SecretKey> = AGENCIES
        .iter()
        .enumerate()
        .map(|(i, a)| (a.0, SecretKey::from_bytes(&[i as u8 + 10; 32])))
        .collect();
    let genesis = Genesis {
        chain_id: "safeledger-demo".into(),
        genesis_time: Timestamp(0),
        agencies: AGENCIES
            .iter()
            .enumerate()
            .map(|(i, (id, name, role))| Agency {
                id: id.to_string(),
                name: name.to_string(),
                role: role.to_string(),
                node_key: SecretKey::from_bytes(&[i as u8 + 100; 32]).public(),
                officer_keys: vec![keys[id].public()],
                p2p_addr: "/ip4/127.0.0.1/tcp/1".into(),
                grpc_addr: "http://127.0.0.1:2".into(),
                tls_cert: String::new(),
                power: 1,
            })
            .collect(),
        roles: import::demo_roles(),
        consensus: ConsensusParams::default(),
        auditors: Vec::new(),
    };
    genesis.validate().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut seq: BTreeMap<&str, u64> = BTreeMap::new();
    let txs: Vec<Transaction> = plan
        .items
        .iter()
        .map(|it| {
            let s = seq
                .entry(keys.get_key_value(it.agency.as_str()).unwrap().0)
                .or_insert(0);
            *s += 1;
            let p = TxPayload::new(
                &genesis.chain_id,
                *s,
                it.effective_at,
                it.body.clone(),
                &mut rng,
            );
            Transaction::sign(p, &[&keys[it.agency.as_str()]])
        })
        .collect();
    let exec = Executor::new(&genesis);
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let start = Timestamp::from_ymd(2024, 1, 1).unwrap();
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut accepted = 0u64;
    for (h, block) in txs.chunks(2_000).enumerate() {
        let ctx = BlockContext {
            height: h as u64 + 1,
            time: Timestamp(start.0 + h as u64 * 1_000),
        };
        let out = exec.execute_block(&state, &ctx, block);
        for r in out.results {
            match r.outcome {
                Outcome::Accepted => accepted += 1,
                Outcome::Refused { rule, .. } => *by_rule.entry(rule).or_default() += 1,
            }
        }
        for (k, v) in out.writes {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
    }
    // Policies get each enterprise as a Rego value built directly (rego_value); on every
    // enterprise state the data produced, it equals the value of the JSON route.
    let mut compared = 0;
    for k in state
        .keys()
        .filter(|k| k.starts_with(keys::ENTERPRISE_PREFIX))
    {
        let ent: EnterpriseState = read(&state, k).expect("enterprise state");
        let json = serde_json::to_value(Some(&ent)).expect("json");
        assert_eq!(
            rego_value::to_value(&Some(&ent)).expect("direct"),
            policy::to_rego(json).expect("json route"),
            "{}",
            String::from_utf8_lossy(k)
        );
        compared += 1;
    }
    assert!(compared > 1_000, "{compared} enterprises compared");
    // So do `input` (every kind, and every 25th transaction) and `data.agencies`.
    let mut kinds = std::collections::BTreeSet::new();
    let mut inputs = 0;
    for (i, (tx, it)) in txs.iter().zip(&plan.items).enumerate() {
        if !kinds.insert(tx.payload.body.kind()) && i % 25 != 0 {
            continue;
        }
        let id = tx.id();
        let json = serde_json::json!({
            "tx": {
                "id": id.to_hex(),
                "kind": tx.payload.body.kind().name(),
                "agency": it.agency,
                "effective_at": tx.payload.effective_at.0,
                "signers": tx.signatures.len(),
                "body": tx.payload.body,
            }
        });
        let direct = policy::input_value(
            &id,
            &it.agency,
            tx.payload.effective_at,
            tx.signatures.len(),
            &tx.payload.body,
        );
        assert_eq!(direct, policy::to_rego(json), "transaction {i}");
        inputs += 1;
    }
    assert!(
        inputs > 4_000 && kinds.len() > 4,
        "{inputs} inputs, kinds {kinds:?}"
    );
    let mut registry = safeledger_contracts::registry::Agencies::new();
    for (i, a) in genesis.agencies.iter().enumerate() {
        registry.insert(
            a.id.clone(),
            safeledger_contracts::registry::AgencyState {
                role: a.role.clone(),
                name: a.name.clone(),
                active: i != 2,
                changed_by: (i == 2).then(|| "p-1".to_string()),
                p2p_addr: a.p2p_addr.clone(),
                grpc_addr: a.grpc_addr.clone(),
                tls_cert: a.tls_cert.clone(),
            },
        );
    }
    let json: BTreeMap<&String, serde_json::Value> = registry
        .iter()
        .map(|(id, a)| {
            (
                id,
                serde_json::json!({ "role": a.role, "active": a.active }),
            )
        })
        .collect();
    assert_eq!(
        policy::agencies_value(&registry),
        policy::to_rego(serde_json::json!(json))
    );
    let refused: Vec<(&str, u64)> = by_rule.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    println!(
        "committed {} accepted {accepted} refused {refused:?}",
        txs.len()
    );
    // 125,191 records of rows, the REA appeal, and the policy's proposal and two votes.
    assert_eq!(txs.len(), 125_195);
    assert_eq!(accepted, 124_826);
    assert_eq!(
        refused,
        vec![
            // BACP decisions on a licence its own data shows revoked (as before issue 4).
            ("R0-licence-status", 106),
            // Terms over 1096 days.
            ("R0-licence-term", 4),
            // 1 revocation of a licence never granted on the ledger, and 3 more whose only
            // earlier term was a renewal the policy refused.
            ("R0-licence-unknown", 4),
            // Renewals within 90 days after a CDPH failed inspection with a critical
            // violation (the Rego policy deployed by governance at the start).
            ("policy:inspection-blocks-renewal", 255),
        ]
    );
}
