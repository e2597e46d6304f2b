//! Honest answers through the `safeledger` binary (issue 18), on a demo network left
//! running (`demo --limit 30 --keep-running`, four node processes on loopback):
//! strict record files, exit codes, dates, unknown agencies, duplicates, rerunnable
//! import, text output, the inbox, a hung node failed over, and a stalled network that
//! says so (`tx submit` times out with the id; `/healthz` and `status` tell why).
//!
//! One test (they share one network and run in order); its name has `cluster` so it runs
//! alone in the serial group.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{expect, pid_of, run, signal, start_demo, text, write, Demo, DATA, EXE};

fn health(demo: &Demo, agency: &str) -> String {
    let line = demo
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(agency) && l.contains("/healthz"))
        .unwrap_or_else(|| panic!("no health address for {agency} in:\n{}", demo.stdout));
    let url = line
        .split_whitespace()
        .find(|w| w.ends_with("/healthz"))
        .expect("url");
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/healthz");
    let mut s = std::net::TcpStream::connect(addr).expect("connect to /healthz");
    use std::io::Write;
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
}

/// An accepted accident report of the demo's import (its description is private).
fn accident_tx(home: &Path) -> String {
    common::first_accepted_accident(|h| {
        let o = run(&["block", "show", &h.to_string(), "--output", "json"], home);
        o.status
            .success()
            .then(|| serde_json::from_slice(&o.stdout).expect("block JSON"))
    })
}

#[test]
fn cluster_cli_answers_honestly_about_input_refusals_imports_and_a_stalled_network() {
    let demo = start_demo();
    let home = demo.home.clone();
    let files = tempfile::tempdir().expect("tempdir");
    let f = files.path();

    // 1. A misspelled field is refused before signing, naming the field it may have meant.
    let pen = br#"{"penalty": {"enterprise": "us-osha-insp:T-1", "case_id": "T-1",
        "grade": "minor", "kind": "citation", "amount": 250000, "reason": "guardrail"}}"#;
    let bad = write(f, "bad.json", pen);
    let (_, err) = expect(
        2,
        &["tx", "submit", "--agency", "us-osha", "--file", &bad],
        &home,
    );
    assert!(err.contains("did you mean `amount_minor`?"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    // An amount without its currency is refused before signing.
    let no_currency = String::from_utf8_lossy(pen).replace("\"amount\"", "\"amount_minor\"");
    let no_currency = write(f, "nocur.json", no_currency.as_bytes());
    let (_, err) = expect(
        2,
        &[
            "tx",
            "submit",
            "--agency",
            "us-osha",
            "--file",
            &no_currency,
        ],
        &home,
    );
    assert!(err.contains("needs its currency"), "{err}");

    // 2. Refused by a rule: exit 3 (the enterprise is unknown), the result printed.
    let good = String::from_utf8_lossy(pen)
        .replace("\"amount\"", "\"amount_minor\"")
        .replace("\"reason\"", "\"currency\": \"USD\", \"reason\"");
    let pen = write(f, "pen.json", good.as_bytes());
    let (out, err) = expect(
        3,
        &["tx", "submit", "--agency", "us-osha", "--file", &pen],
        &home,
    );
    assert!(out.contains("refused by R0-enterprise"), "{out}");
    assert!(err.contains("refused by rule R0-enterprise"), "{err}");

    // 3. A record file with a byte-order mark is read; an RFC 3339 time is kept.
    let mut ent = b"\xEF\xBB\xBF".to_vec();
    ent.extend_from_slice(
        br#"{"enterprise_record": {"enterprise": "us-osha-insp:T-1", "name": "Test Co",
            "address": "1 Main St", "linked_ids": []}}"#,
    );
    let ent = write(f, "ent.json", &ent);
    let submit_ent = |code, when: &str| {
        expect(
            code,
            &[
                "tx",
                "submit",
                "--agency",
                "us-osha",
                "--file",
                &ent,
                "--effective-at",
                when,
            ],
            &home,
        )
    };
    let (accepted, _) = submit_ent(0, "2024-05-01T14:30:00+08:00");
    // "<tx id> committed at height H index I: accepted": the block shown in step 6.
    let accepted_height = accepted
        .split(" committed at height ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a height in the submit output")
        .to_string();
    // The same values again: a duplicate naming the first (exit 3).
    let (out, _) = submit_ent(3, "2024-05-02");
    assert!(out.contains("R0-duplicate"), "{out}");
    expect(
        0,
        &["tx", "submit", "--agency", "us-osha", "--file", &pen],
        &home,
    );

    // A record file over the transaction limit is refused before reading, naming it.
    let big = write(f, "big.json", &vec![b' '; 70_000]);
    let (_, err) = expect(
        2,
        &["tx", "submit", "--agency", "us-osha", "--file", &big],
        &home,
    );
    assert!(err.contains("more than the 65536 bytes"), "{err}");

    // 4. Dates and agencies are checked before signing (exit 2).
    for (when, says) in [
        ("1955-01-13", "before 1970"),
        ("2021-6-1", "neither a date"),
        ("2999-01-01", "in the future"),
    ] {
        let (_, err) = submit_ent(2, when);
        assert!(err.contains(says), "{when}: {err}");
    }
    let (_, err) = expect(
        2,
        &["tx", "submit", "--agency", "nope", "--file", &ent],
        &home,
    );
    assert!(
        err.contains("unknown agency nope (the network has: "),
        "{err}"
    );

    // Bad usage is exit 2 wherever it is caught (from a new user's pass).
    let empty = write(f, "empty.json", b"{}");
    let (_, err) = expect(
        2,
        &["tx", "submit", "--agency", "us-osha", "--file", &empty],
        &home,
    );
    assert!(err.contains("its keys: none"), "{err}");
    let two = write(f, "two.json", br#"{"penalty": {}, "extra": 1}"#);
    let (_, err) = expect(
        2,
        &["tx", "submit", "--agency", "us-osha", "--file", &two],
        &home,
    );
    assert!(err.contains("`extra`"), "{err}");
    let zero = [
        "tx",
        "submit",
        "--agency",
        "us-osha",
        "--file",
        &ent,
        "--timeout",
        "0",
    ];
    expect(2, &zero, &home);
    expect(2, &["block", "show", "0"], &home);
    expect(2, &["tx", "show", "zzz"], &home);
    expect(2, &["query", "inbox"], &home);
    let (_, err) = expect(
        2,
        &[
            "assistance",
            "request",
            "--agency",
            "chicago-bacp",
            "--to",
            "nosuch",
            "--enterprise",
            "us-osha-insp:T-1",
            "--subject",
            "x",
        ],
        &home,
    );
    assert!(err.contains("unknown agency nosuch"), "{err}");
    // A closed pipe ends the command quietly, not with a panic.
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{EXE} block show 2 --home {} | head -1",
            home.display()
        ))
        .output()
        .expect("sh");
    assert!(
        !String::from_utf8_lossy(&piped.stderr).contains("panicked"),
        "{piped:?}"
    );

    // 5. A rerun of the import commits nothing twice and says what was there.
    let rejects = f.join("rejects.csv");
    let (out, _) = expect(
        0,
        &[
            "import",
            "--data",
            DATA,
            "--limit",
            "30",
            "--rejects",
            rejects.to_str().expect("utf-8"),
        ],
        &home,
    );
    assert!(out.contains("committed 0 "), "{out}");
    assert!(out.contains("are already on the ledger"), "{out}");
    assert!(out.contains("missing_date"), "a summary by reason: {out}");
    let csv = std::fs::read_to_string(&rejects).expect("rejects file");
    assert!(csv.starts_with("source,line,reason,detail\n"), "{csv}");
    assert!(csv.lines().count() > 1, "{csv}");

    // 6. Text output is text; the inbox holds an assistance request to the agency.
    let (out, _) = expect(0, &["enterprise", "show", "us-osha-insp:T-1"], &home);
    assert!(!out.contains('{') && out.contains("Test Co"), "{out}");
    expect(
        0,
        &[
            "assistance",
            "request",
            "--agency",
            "chicago-bacp",
            "--to",
            "us-osha",
            "--enterprise",
            "us-osha-insp:T-1",
            "--subject",
            "history?",
        ],
        &home,
    );
    let (out, _) = expect(0, &["query", "inbox", "--agency", "us-osha"], &home);
    assert!(
        out.contains("assistance_request") && out.contains("history?"),
        "{out}"
    );
    let (out, _) = expect(
        0,
        &["assistance", "list", "--agency", "chicago-bacp", "--sent"],
        &home,
    );
    assert!(out.contains("history?"), "{out}");

    // `block show` as text: the proposer's agency, each transaction's id and result.
    // (the block of the accepted enterprise record: which height holds what depends on timing)
    let (out, _) = expect(0, &["block", "show", &accepted_height], &home);
    assert!(out.contains("proposer") && !out.contains('{'), "{out}");
    assert!(
        ["chicago-bacp", "chicago-cdph", "sf-dph", "us-osha"]
            .iter()
            .any(|a| out.contains(&format!("proposer      {a}"))),
        "{out}"
    );
    assert!(out.contains("accepted"), "{out}");

    // Node logs are plain text, without the duplicate-publish warnings of gossipsub.
    for a in ["chicago-bacp", "chicago-cdph", "sf-dph", "us-osha"] {
        let log = std::fs::read_to_string(home.join(a).join("node.log")).expect("node.log");
        assert!(!log.contains('\u{1b}'), "colour codes in {a}'s log");
        assert!(
            !log.contains("already been published"),
            "duplicate publish in {a}'s log"
        );
    }

    // A second node on a running agency's directory says so, not a raw storage error.
    let (_, err) = expect(1, &["node", "start", "--agency", "chicago-cdph"], &home);
    assert!(err.contains("already running"), "{err}");

    // 7. A hung node (SIGSTOP) does not hang the client: it fails over.
    let first = pid_of("chicago-bacp", &home);
    signal(first, "-STOP");
    let t = Instant::now();
    let o = run(&["enterprise", "show", "us-osha-insp:T-1"], &home);
    let cp = f.join("cp.json");
    let audit = run(
        &["audit", "checkpoint", "--out", cp.to_str().expect("utf-8")],
        &home,
    );
    signal(first, "-CONT");
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(audit.status.success(), "{:?}", text(&audit));
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());

    // 8. A stalled network: two of four nodes stopped with SIGTERM stay stopped.
    for a in ["sf-dph", "us-osha"] {
        signal(pid_of(a, &home), "-TERM");
    }
    std::thread::sleep(Duration::from_secs(3));
    // A private read whose serving node (us-osha's, the reader's own) is down is not
    // declared: nothing stands in the read log for it.
    let accident = accident_tx(&home);
    let view = f.join("private-view.json");
    let (_, err) = expect(
        5,
        &[
            "audit",
            "view",
            "--as",
            "us-osha",
            "--tx",
            &accident,
            "--reveal",
            "description",
            "--purpose",
            "case 1",
            "--out",
            view.to_str().expect("utf-8"),
        ],
        &home,
    );
    assert!(err.contains("nothing was declared"), "{err}");
    let (out, _) = expect(0, &["query", "read_log", "--output", "json"], &home);
    assert_eq!(out.trim(), "[]", "{out}");
    let t = Instant::now();
    let (_, err) = expect(
        5,
        &[
            "tx",
            "submit",
            "--agency",
            "chicago-bacp",
            "--file",
            &ent,
            "--timeout",
            "5",
        ],
        &home,
    );
    // The deadline bounds the wait; the survey of the nodes after it takes at most 3 s.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert!(err.contains("not committed within 5 s"), "{err}");
    assert!(err.contains("2 of 4 nodes unreachable"), "{err}");
    assert!(err.contains("safeledger tx show "), "{err}");
    let reply = health(&demo, "chicago-bacp");
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(reply.contains("no quorum"), "{reply}");
    let (out, _) = expect(0, &["status"], &home);
    assert!(
        out.contains("unreachable") && out.contains("sf-dph"),
        "{out}"
    );
}
