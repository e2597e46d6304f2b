//! Rego policies deployable by governance without recompiling (issue 4 part 7), evaluated
//! with `regorus` (pinned `=0.14.1`, default features off).
//!
//! A deployed policy judges the transaction kinds it names. It gets the transaction as
//! `input` (`input.tx` with `kind`, `agency`, `effective_at` in ms, `signers` and the body
//! as JSON) and, as `data`, the enterprise's on-chain state before the transaction
//! (`data.enterprise`: findings with their agency, effective dates and outcome, licences,
//! listings, assessment) and the agency registry (`data.agencies.<id>.role`). Its package
//! is `safeledger.<name>` (`-` written `_`), and its set `deny` holds reason strings: any
//! reason refuses the transaction under rule `policy:<name>`.
//!
//! Determinism: policies run on regorus's bytecode VM (`rvm`) with an *instruction*
//! limit ([`RegoVM::set_max_instructions`]) — never a wall-clock limit, which would make
//! nodes diverge near it (no execution timer is configured, and regorus has none by
//! default). Values are regorus's ordered maps and sets. Policy size is bounded by the
//! record's text bound (16 KiB), input and data by the transaction and enterprise bounds.
//! At deployment ([`validate`]) a policy must compile, declare the right package, and
//! pass every test case it ships within its budget; at execution a policy that exceeds
//! its budget, fails or returns malformed output denies, deterministically, naming why.

use crate::keys;
use crate::state::{read, StateRead};
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::{Program, RegoVM};
use regorus::{Engine, Value};
use safeledger_core::records::{PolicySpec, TxBody, TxKind};
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// A deployed policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyState {
    /// What was deployed.
    pub spec: PolicySpec,
    /// The proposal that deployed it.
    pub proposal: String,
    /// Height of deployment.
    pub height: u64,
    /// False once retired.
    pub active: bool,
}

/// The entry point of a policy: `data.safeledger.<name with _ for ->.deny`.
pub fn entry_point(name: &str) -> String {
    format!("data.safeledger.{}.deny", name.replace('-', "_"))
}

/// Compiles a policy to VM bytecode.
pub fn compile(spec: &PolicySpec) -> Result<Arc<Program>, String> {
    if !spec
        .name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(format!("policy name {:?} is not [a-z0-9_-]", spec.name));
    }
    let mut engine = Engine::new();
    let package = engine
        .add_policy(format!("{}.rego", spec.name), spec.source.clone())
        .map_err(|e| format!("does not parse: {e}"))?;
    let want = format!("data.safeledger.{}", spec.name.replace('-', "_"));
    if package != want {
        return Err(format!("package is {package}, expected {want}"));
    }
    let entry = entry_point(&spec.name);
    let rc: regorus::Rc<str> = entry.as_str().into();
    let compiled = engine
        .compile_with_entrypoint(&rc)
        .map_err(|e| format!("does not compile: {e}"))?;
    Compiler::compile_from_policy(&compiled, &[entry.as_str()])
        .map_err(|e| format!("does not compile to bytecode: {e}"))
}

/// Runs a compiled policy over JSON text (a policy's shipped test cases): its deny
/// reasons (sorted, deduplicated), or why it failed. See [`evaluate_values`].
pub fn evaluate(
    program: &Arc<Program>,
    name: &str,
    max_instructions: u64,
    input_json: &str,
    data_json: &str,
) -> Result<Vec<String>, String> {
    let input = Value::from_json_str(input_json).map_err(|e| format!("input: {e}"))?;
    let data = Value::from_json_str(data_json).map_err(|e| format!("data: {e}"))?;
    evaluate_values(program, name, max_instructions, input, data)
}

/// Converts a JSON value to a Rego value without printing and re-parsing it: regorus
/// deserializes its values from JSON through serde (`serde_json::from_str::<Value>` in
/// [`Value::from_json_str`]); here the same visitor reads the parsed tree, so the value
/// is the one the text would give (issue 7: the text round trip cost ~7 % of a node's
/// CPU per licence decision).
pub fn to_rego(json: serde_json::Value) -> Result<Value, String> {
    use serde::Deserialize;
    Value::deserialize(json).map_err(|e| e.to_string())
}

/// The transaction a policy judges: `input.tx` of DESIGN.md §5's policy interface.
#[derive(Serialize)]
struct InputTx<'a> {
    /// The transaction id, lower-case hex.
    id: String,
    /// The record kind's name ([`TxKind::name`]).
    kind: &'static str,
    /// The submitting officer's agency.
    agency: &'a str,
    /// `effective_at`, in seconds since the epoch.
    effective_at: u64,
    /// Distinct signers.
    signers: usize,
    /// The record.
    body: &'a TxBody,
}

/// The `input` document of a policy evaluation, `{"tx": {"id", "kind", "agency",
/// "effective_at", "signers", "body"}}`, serialized straight to a Rego value
/// ([`crate::rego_value`]): the value `serde_json::json!` and [`to_rego`] would build,
/// without the JSON tree.
pub fn input_value(
    tx_id: &TxId,
    agency: &str,
    effective_at: Timestamp,
    signers: usize,
    body: &TxBody,
) -> Result<Value, String> {
    #[derive(Serialize)]
    struct Input<'a> {
        tx: InputTx<'a>,
    }
    let input = Input {
        tx: InputTx {
            id: tx_id.to_hex(),
            kind: body.kind().name(),
            agency,
            effective_at: effective_at.0,
            signers,
            body,
        },
    };
    crate::rego_value::to_value(&input).map_err(|e| e.to_string())
}

/// `data.agencies` of a policy evaluation: each agency id to `{"role", "active"}`, as a
/// Rego value built directly (the value of the JSON route, without its tree).
pub fn agencies_value(agencies: &crate::registry::Agencies) -> Result<Value, String> {
    #[derive(Serialize)]
    struct Agency<'a> {
        role: &'a str,
        active: bool,
    }
    let view: BTreeMap<&str, Agency<'_>> = agencies
        .iter()
        .map(|(id, a)| {
            (
                id.as_str(),
                Agency {
                    role: &a.role,
                    active: a.active,
                },
            )
        })
        .collect();
    crate::rego_value::to_value(&view).map_err(|e| e.to_string())
}

/// Runs a compiled policy on `input` and `data`: its deny reasons (sorted,
/// deduplicated), or why it failed (budget of `max_instructions` VM instructions
/// exceeded, evaluation error, `deny` not a set of strings).
pub fn evaluate_values(
    program: &Arc<Program>,
    name: &str,
    max_instructions: u64,
    input: Value,
    data: Value,
) -> Result<Vec<String>, String> {
    let mut vm = RegoVM::new();
    vm.load_program(program.clone());
    vm.set_max_instructions(usize::try_from(max_instructions).unwrap_or(usize::MAX));
    vm.set_data(data).map_err(|e| format!("data: {e}"))?;
    vm.set_input(input);
    let out = vm
        .execute_entry_point_by_name(&entry_point(name))
        .map_err(|e| format!("evaluation failed: {e}"))?;
    let items: Vec<Value> = match &out {
        Value::Undefined => return Ok(Vec::new()),
        Value::Set(s) => s.iter().cloned().collect(),
        Value::Array(a) => a.iter().cloned().collect(),
        other => return Err(format!("deny is not a set of strings: {other}")),
    };
    let mut reasons = BTreeSet::new();
    for v in items {
        match v.as_string() {
            Ok(s) => {
                reasons.insert(s.to_string());
            }
            Err(_) => return Err(format!("deny holds a non-string: {v}")),
        }
    }
    Ok(reasons.into_iter().collect())
}

/// Deployment checks: kinds named, budget within `max_budget`, compiles with the right
/// package, every test case finishes within budget with the expected verdict.
pub fn validate(spec: &PolicySpec, max_budget: u64) -> Result<Arc<Program>, String> {
    if spec.applies_to.is_empty() {
        return Err("applies to no transaction kind".into());
    }
    if spec.applies_to.contains(&TxKind::GovernanceProposal)
        || spec.applies_to.contains(&TxKind::GovernanceVote)
    {
        return Err("policies do not judge governance".into());
    }
    if spec.max_instructions == 0 || spec.max_instructions > max_budget {
        return Err(format!(
            "max_instructions {} is outside 1..=max_policy_instructions = {max_budget}",
            spec.max_instructions
        ));
    }
    if spec.tests.is_empty() {
        return Err("ships no test case".into());
    }
    let program = compile(spec)?;
    for (i, t) in spec.tests.iter().enumerate() {
        let got = evaluate(
            &program,
            &spec.name,
            spec.max_instructions,
            &t.input_json,
            &t.data_json,
        )
        .map_err(|e| format!("test {i}: {e}"))?;
        if got.is_empty() == t.expect_deny {
            return Err(format!(
                "test {i}: expected {}, got {got:?}",
                if t.expect_deny {
                    "a denial"
                } else {
                    "no denial"
                }
            ));
        }
    }
    Ok(program)
}

/// The active policies, by name.
pub fn active(state: &dyn StateRead) -> Vec<PolicyState> {
    let names: BTreeSet<String> = read(state, keys::POLICY_INDEX).unwrap_or_default();
    names
        .iter()
        .filter_map(|n| read::<PolicyState>(state, &keys::policy(n)))
        .filter(|p| p.active)
        .collect()
}

/// Deployed policy records decoded once: by name, the stored bytes and their decoding,
/// shared by clones of an executor. A record is decoded again only when its stored bytes
/// differ, so the cache changes no outcome (issue 7: decoding every policy record for
/// every transaction cost ~3 % of block work).
#[derive(Clone, Default)]
pub struct PolicyCache(Arc<Mutex<Decoded>>);

/// Policy records by name: the stored bytes and their decoding.
type Decoded = BTreeMap<String, (Vec<u8>, Arc<PolicyState>)>;

impl std::fmt::Debug for PolicyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PolicyCache")
    }
}

impl PolicyCache {
    /// The active policies over `state`, by name: [`active`], with each record decoded
    /// once per distinct stored value.
    ///
    /// # Panics
    /// On corrupted state (a stored record that does not decode), as [`read`] does.
    pub fn active(&self, state: &dyn StateRead) -> Vec<Arc<PolicyState>> {
        let names: BTreeSet<String> = read(state, keys::POLICY_INDEX).unwrap_or_default();
        if names.is_empty() {
            return Vec::new();
        }
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for n in &names {
            let key = keys::policy(n);
            let Some(bytes) = state.get(&key) else {
                continue;
            };
            let p = match cache.get(n) {
                Some((stored, p)) if *stored == bytes => p.clone(),
                _ => {
                    let Some(p) = read::<PolicyState>(state, &key) else {
                        continue;
                    };
                    let p = Arc::new(p);
                    if cache.len() >= 64 {
                        cache.clear();
                    }
                    cache.insert(n.clone(), (bytes, p.clone()));
                    p
                }
            };
            if p.active {
                out.push(p);
            }
        }
        out
    }
}

/// Compiled programs by (name, source), shared by clones of an executor. Compilation is a
/// pure function of the source, so the cache changes no outcome.
#[derive(Clone, Default)]
pub struct ProgramCache(Arc<Mutex<Programs>>);

/// Programs by (policy name, source).
type Programs = BTreeMap<(String, String), Arc<Program>>;

impl std::fmt::Debug for ProgramCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgramCache")
    }
}

impl ProgramCache {
    /// The compiled program of `spec`.
    pub fn get(&self, spec: &PolicySpec) -> Result<Arc<Program>, String> {
        let key = (spec.name.clone(), spec.source.clone());
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = m.get(&key) {
            return Ok(p.clone());
        }
        let p = compile(spec)?;
        if m.len() >= 64 {
            m.clear();
        }
        m.insert(key, p.clone());
        Ok(p)
    }
}
