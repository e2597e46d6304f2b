//! The console's Submit page (issue 21 item 2): a form per finding an officer records from
//! the desk — inspection, rectification, penalty, accident, blacklist — and one for any
//! record kind as JSON (what `tx submit --file` reads, with `--private`), built by the same
//! functions as the CLI's verbs (`inspection record`, `rectification report`, `penalty
//! record`, `accident report`, `blacklist enter|remove`), so a form is refused for exactly
//! what the command refuses. Two steps: *Check* signs the record
//! with the console's key and asks a node for the rules' verdict on the current state
//! (`CheckTransaction`, nothing submitted); *Sign and submit* submits it and waits for the
//! commit, then shows the result with a link to the enterprise's timeline.
//!
//! Every post carries the CSRF token; an auditor's console has no officer key and is
//! refused with the reason.

use super::i18n::Lang;
use super::pages::{error, lang, page};
use super::Console;
use crate::cli::verbs::findings::{self, Grade, InspectionInput, Verdict};
use crate::cli::{act, submit, when};
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use clap::ValueEnum;
use safeledger_core::records::BlacklistActionKind;
use safeledger_core::{Outcome, Timestamp, TxBody};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// How long a submission waits for its commit.
const COMMIT_WAIT: Duration = Duration::from_secs(30);

/// The record kinds the page has a form for.
pub const KINDS: [&str; 5] = [
    "inspection",
    "rectification",
    "penalty",
    "accident",
    "blacklist",
];

/// Every field of every form (a field a kind does not use stays empty). Unknown fields are
/// refused, not dropped.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct SubmitForm {
    csrf: String,
    /// `check` or `sign`.
    step: String,
    kind: String,
    enterprise: String,
    effective_at: String,
    id: String,
    inspection_type: String,
    outcome: String,
    score: String,
    hazards: String,
    follow_up_of: String,
    inspection: String,
    codes: String,
    description: String,
    case: String,
    grade: String,
    penalty_kind: String,
    amount_minor: String,
    currency: String,
    reason: String,
    category: String,
    deaths: String,
    serious_injuries: String,
    location: String,
    /// `auto` (classified by Order 493's bounds) or a level.
    level: String,
    /// `on` when the box is ticked.
    concealed: String,
    /// `enter` or `remove`.
    blacklist_action: String,
    /// Any record kind as JSON (`{"kind": {...}}`, what `tx submit --file` reads).
    record_json: String,
    /// Fields of it to keep private (comma-separated, `tx submit --private`).
    private: String,
    /// The digest of the record its last check accepted ([`checked_digest`]).
    checked: String,
}

#[derive(Template)]
#[template(path = "console/submit.html")]
struct SubmitPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    csrf: &'a str,
    kinds: &'a [&'a str],
    f: SubmitForm,
    /// The usage error of the form, when it was refused before signing.
    problem: String,
    notes: Vec<String>,
    /// After Check: the signed record (JSON) and the rules' verdict.
    checked: bool,
    record: String,
    accepted: bool,
    verdict: String,
    /// After Sign and submit.
    committed: bool,
    tx_id: String,
    height: u64,
    /// After an accepted check: what *Sign and submit* carries.
    digest: String,
}

impl SubmitPage<'_> {
    fn sel(&self, field: &str, value: &str) -> &'static str {
        let v = match field {
            "outcome" => &self.f.outcome,
            "grade" => &self.f.grade,
            "level" => &self.f.level,
            "blacklist_action" => &self.f.blacklist_action,
            _ => return "",
        };
        if v == value {
            "selected"
        } else {
            ""
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubmitQuery {
    kind: Option<String>,
    enterprise: Option<String>,
}

/// `GET /submit?kind=…&enterprise=…`: the empty form.
pub(super) async fn form(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Query(q): Query<SubmitQuery>,
) -> Response {
    let f = SubmitForm {
        kind: q
            .kind
            .filter(|k| KINDS.contains(&k.as_str()))
            .unwrap_or_else(|| KINDS[0].to_string()),
        enterprise: q.enterprise.unwrap_or_default(),
        inspection_type: "routine".into(),
        outcome: "pass".into(),
        grade: "minor".into(),
        penalty_kind: "fine".into(),
        category: "fatality".into(),
        level: "auto".into(),
        blacklist_action: "enter".into(),
        ..SubmitForm::default()
    };
    render(&c, lang(&h), f, |_| {})
}

fn render(c: &Console, lang: Lang, f: SubmitForm, fill: impl FnOnce(&mut SubmitPage)) -> Response {
    let mut p = SubmitPage {
        lang,
        identity: &c.identity,
        csrf: &c.csrf,
        kinds: &KINDS,
        f,
        problem: String::new(),
        notes: Vec::new(),
        checked: false,
        record: String::new(),
        accepted: false,
        verdict: String::new(),
        committed: false,
        tx_id: String::new(),
        height: 0,
        digest: String::new(),
    };
    fill(&mut p);
    page(p)
}

fn opt(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// The form's sum in minor units (`amount_minor`), which needs its currency as the currency
/// needs it (the CLI's `requires`); `what` names it in the refusal ("amount", "loss").
fn minor_units(f: &SubmitForm, what: &str) -> anyhow::Result<Option<u64>> {
    let usage = crate::cli::exit::usage;
    let sum = opt(&f.amount_minor)
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| usage(format!("{what} {s:?} is not a whole number")))
        })
        .transpose()?;
    if sum.is_some() != opt(&f.currency).is_some() {
        let a = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Err(usage(format!(
            "{a} {what} needs its currency, and a currency {a} {what}"
        )));
    }
    Ok(sum)
}

/// The record the form describes, when it is: (body, when, notes for the officer).
fn body_of(f: &SubmitForm, now: Timestamp) -> anyhow::Result<(TxBody, Timestamp, Vec<String>)> {
    let at = when::effective_or_now(opt(&f.effective_at), now)?;
    let usage = crate::cli::exit::usage;
    let (body, notes) = match f.kind.as_str() {
        "inspection" => {
            let outcome = Verdict::from_str(&f.outcome, false)
                .map_err(|_| usage(format!("outcome {:?} is not one of the list", f.outcome)))?;
            let score = opt(&f.score)
                .map(|s| {
                    s.parse::<u32>()
                        .ok()
                        .filter(|n| *n <= 100)
                        .ok_or_else(|| usage(format!("score {s:?} is not 0 to 100")))
                })
                .transpose()?;
            // One hazard per line; blank lines are layout, not hazards.
            let hazards: Vec<String> = f
                .hazards
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            let input = InspectionInput {
                enterprise: f.enterprise.trim(),
                id: f.id.trim(),
                // Blank: a routine inspection, as the CLI's default.
                inspection_type: opt(&f.inspection_type).unwrap_or("routine"),
                outcome,
                score,
                hazards: &hazards,
                follow_up_of: opt(&f.follow_up_of),
            };
            findings::inspection_body(&input, at, now)?
        }
        "rectification" => {
            let codes = f
                .codes
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            let body = findings::rectification_body(
                f.enterprise.trim(),
                f.inspection.trim().to_string(),
                codes,
                f.description.trim().to_string(),
            )?;
            (body, Vec::new())
        }
        "penalty" => {
            let grade = Grade::from_str(&f.grade, false)
                .map_err(|_| usage(format!("grade {:?} is minor or severe", f.grade)))?;
            let amount = minor_units(f, "amount")?;
            let body = findings::penalty_body(
                f.enterprise.trim(),
                f.case.trim(),
                grade,
                f.penalty_kind.trim(),
                amount,
                opt(&f.currency),
                f.reason.trim(),
            )?;
            (body, Vec::new())
        }
        "accident" => {
            let count = |name: &str, v: &str| {
                opt(v).map_or(Ok(0), |s| {
                    s.parse::<u32>()
                        .map_err(|_| usage(format!("{name} {s:?} is not a whole number")))
                })
            };
            let loss = minor_units(f, "loss")?;
            let level = match f.level.as_str() {
                "auto" | "" => None,
                l => Some(
                    findings::Level::from_str(l, false)
                        .map_err(|_| usage(format!("level {l:?} is not one of the list")))?,
                ),
            };
            let body = findings::accident_body(&findings::AccidentInput {
                enterprise: f.enterprise.trim(),
                id: f.id.trim(),
                category: f.category.trim(),
                deaths: count("deaths", &f.deaths)?,
                serious_injuries: count("serious injuries", &f.serious_injuries)?,
                direct_loss_minor: loss,
                currency: opt(&f.currency),
                location: f.location.trim(),
                description: f.description.trim(),
                level,
                concealed: f.concealed == "on",
            })?;
            (body, Vec::new())
        }
        "blacklist" => {
            let action = match f.blacklist_action.as_str() {
                "enter" => BlacklistActionKind::Enter,
                "remove" => BlacklistActionKind::Remove,
                other => {
                    return Err(usage(format!(
                        "blacklist action {other:?} is enter or remove"
                    )))
                }
            };
            let body = findings::blacklist_body(action, f.enterprise.trim(), f.reason.trim())?;
            (body, Vec::new())
        }
        "any" => {
            if f.record_json.len() > safeledger_core::limits::MAX_TX_BYTES {
                return Err(usage(format!(
                    "the record is over {} bytes",
                    safeledger_core::limits::MAX_TX_BYTES
                )));
            }
            let v: serde_json::Value = safeledger_client::input::parse_json(
                f.record_json.as_bytes(),
                "the record is not JSON",
            )?;
            (crate::cli::files::record_of(v, "the record")?, Vec::new())
        }
        other => return Err(usage(format!("no form for record kind {other:?}"))),
    };
    Ok((body, at, notes))
}

/// `POST /submit`: check the record against the rules, or sign and submit it.
pub(super) async fn post(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    form: Result<Form<SubmitForm>, FormRejection>,
) -> Response {
    let lang = lang(&h);
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) => return error(&c, lang, StatusCode::BAD_REQUEST, e.body_text()),
    };
    let key = match c.officer_post(lang, &f.csrf) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let (body, at, notes) = match body_of(&f, when::now()) {
        Ok(x) => x,
        Err(e) => {
            let problem = format!("{e:#}");
            let mut r = render(&c, lang, f, |p| p.problem = problem);
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return r;
        }
    };
    let record = serde_json::to_string_pretty(&body).unwrap_or_default();
    let digest = checked_digest(&record, &f.effective_at, &f.private);
    // One submission signs at a time: the sequence a check or a submission signs with is
    // the next one, and two at once would take the same.
    let _signing = c.signing.lock().await;
    let signing = f.step == "sign";
    if signing && !super::constant_time_eq(f.checked.as_bytes(), digest.as_bytes()) {
        let problem = lang.t("check_first").to_string();
        let mut r = render(&c, lang, f, |p| p.problem = problem);
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return r;
    }
    // The rules' verdict on the current state; a submission is made only while it is
    // "accepted", so the console never commits a record the rules would refuse.
    // The transaction the check signed is the one submitted (under the lock, its sequence
    // is still the next).
    let (tx, outcome, height) = match act::verdict(&c.home, key, body, at).await {
        Ok((tx, v, outcome)) => (tx, outcome, v["height"].as_u64().unwrap_or(0)),
        Err(e) => {
            let problem = format!("{e:#}");
            let mut r = render(&c, lang, f, |p| p.problem = problem);
            *r.status_mut() = super::pages::status_of(&e);
            return r;
        }
    };
    let accepted = outcome == Outcome::Accepted;
    if !signing || !accepted {
        let verdict = format!(
            "{} ({})",
            verdict_text(lang, &outcome),
            lang.t("before_height").replace("{h}", &height.to_string())
        );
        return render(&c, lang, f, |p| {
            p.notes = notes;
            p.record = record;
            p.checked = true;
            p.accepted = accepted;
            p.verdict = verdict;
            p.digest = digest;
        });
    }
    // Fields withheld at this agency's node (the JSON form's `private`, as `tx submit
    // --private`); the verdict does not depend on them.
    let private: Vec<&str> = if f.kind == "any" {
        f.private
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let client = c.home.client_for(key);
    match submit::send_withholding(&c.home, &c.identity, key, client, tx, &private, COMMIT_WAIT)
        .await
    {
        Ok(done) => {
            let accepted = done.result.outcome == Outcome::Accepted;
            let verdict = verdict_text(lang, &done.result.outcome);
            render(&c, lang, f, |p| {
                p.notes = notes;
                p.record = record;
                p.committed = true;
                p.accepted = accepted;
                p.verdict = verdict;
                p.tx_id = done.tx_id.to_hex();
                p.height = done.height;
            })
        }
        Err(e) => {
            let problem = format!("{e:#}");
            let mut r = render(&c, lang, f, |p| p.problem = problem);
            *r.status_mut() = super::pages::status_of(&e);
            r
        }
    }
}

/// What binds *Sign and submit* to the record that was checked: BLAKE3 of the record's
/// JSON and the date as typed (hex). A form edited after its check signs nothing.
fn checked_digest(record: &str, effective_at: &str, private: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"safeledger console checked record\0");
    h.update(record.as_bytes());
    h.update(b"\0");
    h.update(effective_at.trim().as_bytes());
    h.update(b"\0");
    h.update(private.trim().as_bytes());
    h.finalize().to_hex().to_string()
}

/// A rule's verdict in the page's language: accepted, or refused by the rule with the
/// rule's reason (the reason is the rules' own text).
pub(super) fn verdict_text(lang: Lang, o: &Outcome) -> String {
    match o {
        Outcome::Accepted => lang.t("accepted").to_string(),
        Outcome::Refused { rule, reason } => {
            format!("{} {rule}: {reason}", lang.t("refused_by"))
        }
    }
}
