//! Restrictions follow linked ids (issue 19 item 8; "dishonest in one place, restricted
//! everywhere").
//!
//! An enterprise record's `linked_ids` is one agency's claim. A link between two ids
//! *stands* when
//! - **mutual**: each side's records name the other — an enterprise record about X listing
//!   Y by X's agency (the one whose record created X), and one about Y listing X by Y's
//!   agency; another agency's record about an id it did not create links nothing — or
//! - **same USCC**: both carry the same unified social credit code (GB 32100-2015) — an
//!   enterprise carries its id when that is a code, and every code its records list.
//!
//! The *linked closure* of an enterprise is every other id reachable over standing links.
//! Licence grants and renewals are judged against all of it (R2 blacklists, R3 severe
//! penalties, R10 suspensions, [`crate::rules::restriction::check_grant`]); the closure
//! holds at most [`RuleParams::max_linked_ids`] ids, and a larger one is refused
//! (R0-linked-ids) rather than judged on part of it.
//!
//! State: `usc/` ‖ code → `BTreeSet<String>`, the ids carrying that code (at most
//! `max_linked_ids`), kept by [`index_uscc`] whenever an enterprise record or its
//! correction changes what an enterprise carries.

use crate::model::EnterpriseState;
use crate::query;
use crate::rules::{Refusal, RuleParams, R0_LINKED_IDS};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::TxId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Prefix of the code → carriers index.
pub const PREFIX: &[u8] = b"usc/";

/// The `usc/` key of a unified social credit code.
pub fn uscc_key(code: &str) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(code.as_bytes());
    k
}

/// Why an id is in a closure: the standing link it was reached over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkBasis {
    /// `from` and this id name each other: `records` are the enterprise records that do,
    /// the one about `from` first.
    Mutual {
        /// The id it was reached from.
        from: EnterpriseId,
        /// The enterprise records asserting the link, from each side.
        records: [TxId; 2],
    },
    /// `from` and this id carry the same unified social credit code.
    SameUscc {
        /// The id it was reached from.
        from: EnterpriseId,
        /// The code.
        code: String,
    },
}

impl std::fmt::Display for LinkBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkBasis::Mutual { from, records } => write!(
                f,
                "linked to {from} by enterprise records tx {} and tx {}",
                records[0], records[1]
            ),
            LinkBasis::SameUscc { from, code } => {
                write!(
                    f,
                    "linked to {from} by the same unified social credit code {code}"
                )
            }
        }
    }
}

/// One enterprise of a linked closure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linked {
    /// The linked enterprise as committed.
    pub ent: EnterpriseState,
    /// How it was reached.
    pub basis: LinkBasis,
}

/// The unified social credit codes an enterprise carries: its own id when it is one, and
/// every code among its linked ids (a valid id without `:` is a code, `EnterpriseId`).
pub fn carried_uscc(ent: &EnterpriseState) -> BTreeSet<String> {
    let own = (!ent.id.as_str().contains(':')).then(|| ent.id.as_str().to_string());
    own.into_iter()
        .chain(ent.linked_ids.iter().filter(|l| !l.contains(':')).cloned())
        .collect()
}

/// Keeps the `usc/` index in step with an enterprise whose carried codes were `before`
/// and are now those of `after`. R0-linked-ids refuses a code that more than
/// [`RuleParams::max_linked_ids`] ids would carry.
pub fn index_uscc(
    view: &mut Overlay<'_>,
    before: &BTreeSet<String>,
    after: &EnterpriseState,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let now = carried_uscc(after);
    let id = after.id.as_str();
    for code in now.difference(before) {
        let key = uscc_key(code);
        let mut carriers: BTreeSet<String> = read(view, &key).unwrap_or_default();
        carriers.insert(id.to_string());
        if carriers.len() as u64 > params.max_linked_ids {
            return Err(Refusal::new(
                R0_LINKED_IDS,
                format!(
                    "unified social credit code {code} would be carried by {} ids, over \
                     max_linked_ids = {}",
                    carriers.len(),
                    params.max_linked_ids
                ),
            ));
        }
        view.put(key, &carriers);
    }
    for code in before.difference(&now) {
        let key = uscc_key(code);
        let mut carriers: BTreeSet<String> = read(view, &key).unwrap_or_default();
        carriers.remove(id);
        if carriers.is_empty() {
            view.delete(key);
        } else {
            view.put(key, &carriers);
        }
    }
    Ok(())
}

/// The latest standing enterprise record about `ent` by its own agency (the one that
/// created it) that lists `other`, or that agency's latest record when the listing came
/// from records dropped from its history; `None` when its records do not list `other`.
fn record_listing(ent: &EnterpriseState, other: &str) -> Option<TxId> {
    let a = ent.agencies.get(&ent.created_by)?;
    a.records
        .iter()
        .rev()
        .filter(|r| r.set_aside.is_none())
        .find(|r| r.linked_ids.iter().any(|l| l == other))
        .map(|r| r.tx_id)
        .or_else(|| {
            a.earlier_linked_ids
                .contains(other)
                .then_some(a.last_record)
        })
}

/// The ids `ent` has a standing link to, each with its basis, in id order.
fn neighbours(state: &dyn StateRead, ent: &EnterpriseState) -> Vec<(EnterpriseState, LinkBasis)> {
    let mut out: BTreeMap<String, (EnterpriseState, LinkBasis)> = BTreeMap::new();
    for l in &ent.linked_ids {
        let Ok(id) = EnterpriseId::parse(l) else {
            continue; // R0-linked-ids admits only valid ids
        };
        let Some(other) = query::enterprise(state, &id) else {
            continue;
        };
        if !other.linked_ids.contains(ent.id.as_str()) {
            continue;
        }
        if let (Some(a), Some(b)) = (
            record_listing(ent, l),
            record_listing(&other, ent.id.as_str()),
        ) {
            let basis = LinkBasis::Mutual {
                from: ent.id.clone(),
                records: [a, b],
            };
            out.insert(l.clone(), (other, basis));
        }
    }
    for code in carried_uscc(ent) {
        let carriers: BTreeSet<String> = read(state, &uscc_key(&code)).unwrap_or_default();
        for c in carriers {
            if c == ent.id.as_str() || out.contains_key(&c) {
                continue;
            }
            let Some(other) = EnterpriseId::parse(&c)
                .ok()
                .and_then(|id| query::enterprise(state, &id))
            else {
                continue;
            };
            let basis = LinkBasis::SameUscc {
                from: ent.id.clone(),
                code: code.clone(),
            };
            out.insert(c, (other, basis));
        }
    }
    out.into_values().collect()
}

/// The linked closure of `ent` (not `ent` itself): every enterprise reachable over standing
/// links, breadth first, each with the link it was first reached over. R0-linked-ids
/// refuses a closure of more than [`RuleParams::max_linked_ids`] ids: restrictions are
/// never judged on part of one.
pub fn closure(
    state: &dyn StateRead,
    ent: &EnterpriseState,
    params: &RuleParams,
) -> Result<Vec<Linked>, Refusal> {
    let mut seen: BTreeSet<String> = BTreeSet::from([ent.id.as_str().to_string()]);
    let mut out: Vec<Linked> = Vec::new();
    // Breadth first without a queue of copies: `out` is the queue, `next` the one to scan.
    // The start is scanned from the caller's copy (it may hold uncommitted changes).
    let mut found = neighbours(state, ent);
    let mut next = 0;
    loop {
        for (other, basis) in found {
            if !seen.insert(other.id.as_str().to_string()) {
                continue;
            }
            if out.len() as u64 >= params.max_linked_ids {
                return Err(Refusal::new(
                    R0_LINKED_IDS,
                    format!(
                        "the ids linked to enterprise {} number more than max_linked_ids = \
                         {}: its restrictions cannot be judged",
                        ent.id, params.max_linked_ids
                    ),
                ));
            }
            out.push(Linked { ent: other, basis });
        }
        let Some(l) = out.get(next) else { break };
        found = neighbours(state, &l.ent);
        next += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AgencyEntry, EnterpriseRecordEntry};
    use safeledger_core::Hash;
    use std::collections::BTreeMap as Map;

    fn ent(id: &str, agency: &str, tx: u8, linked: &[&str]) -> EnterpriseState {
        let mut e = EnterpriseState {
            id: EnterpriseId::parse(id).expect("id"),
            name: String::new(),
            address: String::new(),
            linked_ids: BTreeSet::new(),
            first_seen_height: 1,
            first_seen_tx: Hash([tx; 32]),
            created_by: agency.into(),
            agencies: Map::new(),
            licences: Map::new(),
            inspections: Default::default(),
            penalties: Default::default(),
            accidents: Default::default(),
            record_count: 1,
            findings: Vec::new(),
            listings: Vec::new(),
            appeals: Vec::new(),
            assessment: Default::default(),
            escalations: Vec::new(),
            alert_escalations: Vec::new(),
        };
        let linked: Vec<String> = linked.iter().map(|s| s.to_string()).collect();
        e.linked_ids = linked.iter().cloned().collect();
        e.agencies.insert(
            agency.into(),
            AgencyEntry {
                name: String::new(),
                address: String::new(),
                linked_ids: e.linked_ids.clone(),
                last_record: Hash([tx; 32]),
                records: vec![EnterpriseRecordEntry {
                    tx_id: Hash([tx; 32]),
                    position: 0,
                    name: String::new(),
                    address: String::new(),
                    linked_ids: linked,
                    set_aside: None,
                    amended_by: None,
                }],
                earlier_linked_ids: Default::default(),
            },
        );
        e
    }

    fn state_of(ents: &[&EnterpriseState], params: &RuleParams) -> Map<Vec<u8>, Vec<u8>> {
        let base: Map<Vec<u8>, Vec<u8>> = Map::new();
        let mut o = Overlay::new(&base);
        for e in ents {
            o.put(crate::keys::enterprise(&e.id), *e);
            index_uscc(&mut o, &BTreeSet::new(), e, params).expect("index");
        }
        o.into_writes()
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    const CODE: &str = "91350100M000100Y43";

    #[test]
    fn a_one_sided_claim_links_nothing_and_mutual_records_do() {
        let p = RuleParams::default();
        let a = ent("x:1", "ag-a", 1, &["y:1"]);
        let lone = ent("y:1", "ag-b", 2, &[]);
        let s = state_of(&[&a, &lone], &p);
        assert!(closure(&s, &a, &p).unwrap().is_empty());
        let b = ent("y:1", "ag-b", 2, &["x:1"]);
        let s = state_of(&[&a, &b], &p);
        let c = closure(&s, &a, &p).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].ent.id.as_str(), "y:1");
        assert_eq!(
            c[0].basis,
            LinkBasis::Mutual {
                from: a.id.clone(),
                records: [Hash([1; 32]), Hash([2; 32])],
            }
        );
    }

    #[test]
    fn the_same_uscc_links_and_the_closure_is_transitive_and_bounded() {
        let mut p = RuleParams::default();
        assert!(safeledger_core::ids::validate_uscc(CODE).is_ok());
        let a = ent("x:1", "ag-a", 1, &[CODE]);
        let b = ent("y:1", "ag-b", 2, &[CODE, "z:1"]);
        let z = ent("z:1", "ag-c", 3, &["y:1"]);
        let s = state_of(&[&a, &b, &z], &p);
        let c = closure(&s, &a, &p).unwrap();
        let ids: Vec<&str> = c.iter().map(|l| l.ent.id.as_str()).collect();
        assert_eq!(ids, ["y:1", "z:1"]);
        assert!(matches!(&c[0].basis, LinkBasis::SameUscc { code, .. } if code == CODE));
        p.max_linked_ids = 1;
        let r = closure(&s, &a, &p).unwrap_err();
        assert_eq!(r.rule, R0_LINKED_IDS);
        // A code dropped from an enterprise leaves the index.
        let base = s.clone();
        let mut o = Overlay::new(&base);
        let a2 = ent("x:1", "ag-a", 1, &[]);
        index_uscc(&mut o, &carried_uscc(&a), &a2, &RuleParams::default()).unwrap();
        let carriers: BTreeSet<String> = read(&o, &uscc_key(CODE)).unwrap();
        assert_eq!(carriers, BTreeSet::from(["y:1".to_string()]));
    }
}
