//! The web console (issue 21, first slice) against a demo network, over plain HTTP from
//! this test: pages render, in English and Chinese; a record whose texts hold markup, a
//! right-to-left override and emoji renders as text under a strict Content-Security-Policy;
//! the console refuses to listen beyond loopback without `--allow-remote` and a password,
//! and asks for the password when it has one. The same steps in a real browser:
//! `cluster_browser.rs`.
//!
//! One test; its name has `cluster` so it runs alone in the serial group.

#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{console, expect, start_demo_with};
use std::io::{Read, Write};
use std::path::Path;

/// POST a multipart form of (name, value) fields to `path`.
fn post_form(addr: &str, path: &str, fields: &[(&str, &[u8])]) -> (u16, String) {
    let boundary = "----safeledger-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if *name == "view" {
            body.extend_from_slice(b"; filename=\"view.json\"\r\nContent-Type: application/json");
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut s = std::net::TcpStream::connect(addr).expect("console port");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(&body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).to_string();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

/// The Audit page: a view verified offline, a tampered one refused naming the element, a
/// forged form and an oversized upload refused with a message.
fn audit_page(h: &Path, addr: &str, tx: &str, dir: &Path) {
    let (_, _, body) = get(addr, "/audit", &[]);
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a CSRF token in the form")
        .to_string();
    let view = dir.join("view.json");
    // The record's result is certified by the next block: retry until it is.
    let t = std::time::Instant::now();
    loop {
        let r = common::run(
            &[
                "audit",
                "view",
                "--tx",
                tx,
                "--reveal",
                "name",
                "--out",
                view.to_str().unwrap(),
            ],
            h,
        );
        if r.status.success() {
            break;
        }
        assert!(t.elapsed().as_secs() < 30, "{:?}", common::text(&r));
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let bytes = std::fs::read(&view).unwrap();
    let (status, page) = post_form(
        addr,
        "/audit/verify",
        &[("csrf", csrf.as_bytes()), ("view", &bytes)],
    );
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("id=\"verdict\" class=\"good\">VALID"),
        "{page}"
    );
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut leaves = Vec::new();
    common::json_leaves(&v, String::new(), &mut leaves);
    let leaf = leaves
        .iter()
        .find(|l| l.contains("/fields/") && l.ends_with("/value"))
        .unwrap_or(&leaves[0])
        .clone();
    common::mutate_leaf(v.pointer_mut(&leaf).unwrap());
    let (status, page) = post_form(
        addr,
        "/audit/verify",
        &[
            ("csrf", csrf.as_bytes()),
            ("view", v.to_string().as_bytes()),
        ],
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("class=\"bad\">INVALID"), "{page}");
    assert!(
        page.contains("fields["),
        "the failing element is named: {page}"
    );
    // No token, a wrong one: refused before the file is read.
    let (status, page) = post_form(addr, "/audit/verify", &[("view", &bytes)]);
    assert_eq!(status, 403, "{page}");
    let (status, _) = post_form(
        addr,
        "/audit/verify",
        &[("csrf", b"0000"), ("view", &bytes)],
    );
    assert_eq!(status, 403);
    // Malformed JSON, and a file over the bound.
    let (status, page) = post_form(
        addr,
        "/audit/verify",
        &[("csrf", csrf.as_bytes()), ("view", b"{not json")],
    );
    assert_eq!(status, 200);
    assert!(page.contains("INVALID"), "{page}");
    let big = vec![b' '; 5 << 20];
    let (status, page) = post_form(
        addr,
        "/audit/verify",
        &[("csrf", csrf.as_bytes()), ("view", &big)],
    );
    assert_eq!(status, 413, "{}", &page[..page.len().min(2000)]);
}

/// POST an URL-encoded form `body` to `path`: (status, response).
fn post_urlencoded(addr: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("console port");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).to_string();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

/// The Submit page refuses what the CLI refuses, forged posts, unknown fields; an accident
/// is checked against the rules before anything is signed; an auditor signs nothing.
fn submit_forms(h: &Path, addr: &str) {
    let (_, _, body) = get(addr, "/submit?kind=accident", &[]);
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a CSRF token in the form")
        .to_string();
    let ent = "us-osha-insp%3A990001";
    // A hazard the CLI refuses: the same message, nothing signed.
    let (status, page) = post_urlencoded(
        addr,
        "/submit",
        &format!(
            "csrf={csrf}&step=check&kind=inspection&enterprise={ent}&id=F-1&outcome=fail\
             &hazards=E-1%3Aextreme%3A%3Abad"
        ),
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("SEVERITY is low, moderate or high"), "{page}");
    // Forged (no token), and a field the form does not have.
    let (status, _) = post_urlencoded(
        addr,
        "/submit",
        &format!("step=check&kind=inspection&enterprise={ent}&id=F-1&outcome=pass"),
    );
    assert_eq!(status, 403);
    let (status, _) = post_urlencoded(
        addr,
        "/submit",
        &format!("csrf={csrf}&step=check&kind=penalty&enterprise={ent}&evil=1"),
    );
    assert!((400..500).contains(&status), "unknown field: {status}");
    // An accident checked: the verdict, and nothing submitted.
    let (status, page) = post_urlencoded(
        addr,
        "/submit",
        &format!(
            "csrf={csrf}&step=check&kind=accident&enterprise={ent}&id=ACC-1&category=fatality\
             &deaths=1&serious_injuries=0&description=fell&level=auto&effective_at=2024-05-01"
        ),
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"verdict\""), "{page}");
    assert!(
        page.contains("id=\"sign\""),
        "accepted, so it may be signed: {page}"
    );
    // Any record as JSON: a field the kind does not have is named; a good one is checked.
    let json = |extra: &str| {
        let r = format!(
            "{{\"penalty\": {{\"enterprise\": \"us-osha-insp:990001\", \"case_id\": \"J-1\", \
             \"grade\": \"minor\", \"kind\": \"citation\", \"amount_minor\": null, \
             \"currency\": null, \"reason\": \"guard missing\"{extra}}}}}"
        );
        r.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let (status, page) = post_urlencoded(
        addr,
        "/submit",
        &format!(
            "csrf={csrf}&step=check&kind=any&record_json={}",
            json(", \"fine\": 5")
        ),
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("fine"), "the unknown field is named: {page}");
    let (status, page) = post_urlencoded(
        addr,
        "/submit",
        &format!("csrf={csrf}&step=check&kind=any&record_json={}", json("")),
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"verdict\""), "{page}");
    // Sign and submit without a check of the same record: nothing signed.
    let (status, page) = post_urlencoded(
        addr,
        "/submit",
        &format!(
            "csrf={csrf}&step=sign&kind=accident&enterprise={ent}&id=ACC-2&category=fatality\
             &deaths=1&description=fell&level=auto&effective_at=2024-05-01&checked=00"
        ),
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("check it against the rules again"), "{page}");
    // Another site's name for this address (DNS rebinding), another origin's post.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /enterprises HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert_eq!(
        get(addr, "/", &["Origin: http://evil.example"]).0,
        403,
        "a cross-origin request"
    );
    assert_eq!(get(addr, "/block/0", &[]).0, 404);
    // An auditor's console: refused with the reason.
    let a = common::console_as(h, "audit-office", &["--listen", "127.0.0.1:0"], &[]);
    let (_, _, body) = get(&a.1, "/submit", &[]);
    let token = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let (status, page) = post_urlencoded(
        &a.1,
        "/submit",
        &format!("csrf={token}&step=check&kind=inspection&enterprise={ent}&id=A-1&outcome=pass"),
    );
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("auditor"), "{page}");
    // It reads the access and read logs; blocks it may not read are 403 with the reason.
    let (status, _, page) = get(&a.1, "/audit", &[]);
    assert_eq!(status, 200);
    assert!(!page.contains("not rule-contract queries"), "{page}");
    assert!(
        !page.contains("href=\"/submit\"") && !page.contains("href=\"/inbox\""),
        "an auditor's menu offers no officer pages: {page}"
    );
    let (status, _, page) = get(&a.1, "/blocks", &[]);
    assert_eq!(status, 403, "{page}");
}

/// GET `path` with `headers`: (status, response headers, body).
fn get(addr: &str, path: &str, headers: &[&str]) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("console port");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

const HOSTILE_NAME: &str =
    "<script>alert(1)</script>\"><img src=x onerror=alert(2)> \u{202e}evil\u{202c}";

#[test]
fn cluster_console_pages_escape_record_text_speak_chinese_and_guard_remote_access() {
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let dir = tempfile::tempdir().unwrap();
    let emoji = "\u{1f525}".repeat(1000);
    let record = serde_json::json!({"enterprise_record": {
        "enterprise": "us-osha-insp:990001", "name": HOSTILE_NAME,
        "address": format!("<b>bold</b> {emoji}"), "linked_ids": []}});
    let file = dir.path().join("hostile.json");
    std::fs::write(&file, record.to_string()).unwrap();
    let (out, _) = expect(
        0,
        &[
            "tx",
            "submit",
            "--agency",
            "us-osha",
            "--file",
            file.to_str().unwrap(),
        ],
        h,
    );
    let hostile_tx = out.split_whitespace().next().unwrap().to_string();

    let c = console(h, &["--listen", "127.0.0.1:0"], &[]);
    let (status, head, body) = get(&c.1, "/enterprise/us-osha-insp%3A990001", &[]);
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("<img src=x"), "{body}");
    assert!(!body.contains("<b>bold"), "{body}");
    assert!(
        body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{body}"
    );
    assert!(body.contains(&emoji), "the emoji are shown as they are");
    assert!(!body.contains("<script"), "no script anywhere: {body}");

    // English by default, Chinese by Accept-Language or by the switch's cookie.
    let (status, _, body) = get(&c.1, "/", &[]);
    assert_eq!(status, 200);
    assert!(
        body.contains("<html lang=\"en\">") && body.contains("us-osha"),
        "{body}"
    );
    let (_, _, zh) = get(&c.1, "/", &["Accept-Language: zh-CN,zh;q=0.9,en;q=0.5"]);
    assert!(
        zh.contains("lang=\"zh-Hans\"") && zh.contains("网络") && zh.contains("高度"),
        "{zh}"
    );
    let (status, head, _) = get(&c.1, "/lang/zh", &[]);
    assert_eq!(status, 303);
    assert!(head.contains("set-cookie: lang=zh"), "{head}");
    let (_, _, zh) = get(&c.1, "/blocks", &["Cookie: lang=zh"]);
    assert!(zh.contains("区块") && zh.contains("北京时间"), "{zh}");
    // The search index follows the chain within moments.
    let t = std::time::Instant::now();
    loop {
        let (_, _, found) = get(&c.1, "/enterprises?q=990001", &[]);
        if found.contains("/enterprise/us-osha-insp%3A990001") {
            break;
        }
        assert!(t.elapsed().as_secs() < 30, "{found}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (status, _, _) = get(&c.1, "/block/1", &[]);
    assert_eq!(status, 200);
    // Bad input: an unknown query field, a block that does not exist, an unknown page.
    assert_eq!(get(&c.1, "/blocks?evil=1", &[]).0, 400);
    assert_eq!(get(&c.1, "/block/99999999", &[]).0, 404);
    assert_eq!(get(&c.1, "/nothing", &[]).0, 404);
    // The inbox of the console's agency.
    let (status, _, body) = get(&c.1, "/inbox", &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Inbox · us-osha"), "{body}");
    audit_page(h, &c.1, &hostile_tx, dir.path());
    submit_forms(h, &c.1);
    // A client that never finishes its headers is cut off (10 s), not kept for ever.
    let mut slow = std::net::TcpStream::connect(&c.1).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let t = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(25),
        "the connection was held {:?}",
        t.elapsed()
    );
    drop(c);

    // Beyond loopback: refused without --allow-remote, and without a password.
    let remote = |extra: &[&str]| {
        let mut args = vec!["console", "--home", h.to_str().unwrap()];
        args.extend_from_slice(&["--as", "us-osha", "--listen", "0.0.0.0:0"]);
        args.extend_from_slice(extra);
        common::expect_bare(2, &args).1
    };
    let err = remote(&[]);
    assert!(err.contains("--allow-remote"), "{err}");
    let err = remote(&["--allow-remote"]);
    assert!(err.contains("password"), "{err}");
    let c = console(
        h,
        &["--listen", "0.0.0.0:0", "--allow-remote"],
        &[("SAFELEDGER_CONSOLE_PASSWORD", "correct horse battery")],
    );
    let port = c.1.rsplit(':').next().unwrap();
    let local = format!("127.0.0.1:{port}");
    let (status, head, _) = get(&local, "/", &[]);
    assert_eq!(status, 401);
    assert!(head.contains("www-authenticate: basic"), "{head}");
    // officer:correct horse battery
    let auth = "Authorization: Basic b2ZmaWNlcjpjb3JyZWN0IGhvcnNlIGJhdHRlcnk=";
    assert_eq!(get(&local, "/", &[auth]).0, 200);
    assert_eq!(
        get(&local, "/", &["Authorization: Basic b2ZmaWNlcjp3cm9uZw=="]).0,
        401
    );
}
