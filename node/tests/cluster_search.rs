//! Enterprise search through the `safeledger` binary (issue 19 item 1), on a demo network
//! left running: part of a name from the real data, part of a Chinese name, a withheld
//! name that only its recording agency's officer finds, refusals of malformed searches
//! (exit 2 before asking; `INVALID_ARGUMENT` from the node), and an index that survives
//! kill -9 of its node during an import with as many documents as the ledger has
//! enterprises (`node reindex` counts them from state once the network is stopped).
//!
//! One test (they share one network); its name has `cluster` so it runs alone in the
//! serial group.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{
    a_public_name, expect, found_within, hit_ids, pid_of, run, search_json, signal, start_demo,
    write, DATA,
};
use std::time::{Duration, Instant};

#[test]
fn cluster_search_finds_enterprises_by_any_part_and_withheld_names_only_for_their_agency() {
    let mut demo = start_demo();
    let home = demo.home.clone();
    let files = tempfile::tempdir().expect("tempdir");
    let f = files.path();

    // 1. The real data: the start of a name's first word and its second word.
    let (id, name) = a_public_name(&home);
    let words: Vec<&str> = name.split_whitespace().collect();
    let part: String = words[0].chars().take(3).collect();
    let v = found_within(&home, "us-osha", &format!("{part} {}", words[1]), &id);
    let hit = &v["hits"][0];
    for field in ["risk", "credit", "licences", "name"] {
        assert!(hit.get(field).is_some(), "{field} in {hit}");
    }
    let (out, _) = expect(0, &["search", &part, words[1]], &home);
    assert!(out.contains(&id) && out.contains("risk"), "{out}");

    // 2. A Chinese name, found by any part of two characters or more.
    let cn = write(
        f,
        "cn.json",
        "{\"enterprise_record\": {\"enterprise\": \"cn-test:1\", \
          \"name\": \"把机器推论洗成权威事实有限公司\", \
          \"address\": \"北京市朝阳区安全路1号\", \"linked_ids\": []}}"
            .as_bytes(),
    );
    expect(
        0,
        &["tx", "submit", "--agency", "us-osha", "--file", &cn],
        &home,
    );
    for part in ["权威事实", "机器推论", "安全路"] {
        found_within(&home, "us-osha", part, "cn-test:1");
    }
    // The node asked may index the record a moment after us-osha's did.
    let t = Instant::now();
    loop {
        let (out, _) = expect(0, &["search", "权威事实"], &home);
        if out.contains("把机器推论洗成权威事实有限公司") {
            break;
        }
        assert!(t.elapsed().as_secs() < 20, "{out}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // 3. A withheld name: chicago-bacp's officer finds it at its own node; chicago-cdph's
    // does not (not in the hits, not in any value shown).
    let hidden = write(
        f,
        "hidden.json",
        br#"{"enterprise_record": {"enterprise": "cn-test:2",
            "name": "Zyxwvut Hidden Legal Name", "address": "9 Quiet Lane", "linked_ids": []}}"#,
    );
    expect(
        0,
        &[
            "tx",
            "submit",
            "--agency",
            "chicago-bacp",
            "--file",
            &hidden,
            "--private",
            "name",
        ],
        &home,
    );
    let mine = found_within(&home, "chicago-bacp", "zyxwvut", "cn-test:2");
    assert!(
        mine.to_string().contains("Zyxwvut Hidden Legal Name"),
        "{mine}"
    );
    let theirs = search_json(&home, "chicago-cdph", "zyxwvut");
    assert!(hit_ids(&theirs).is_empty(), "{theirs}");
    // By its public address it is found, without the withheld name.
    let theirs = found_within(&home, "chicago-cdph", "quiet lane", "cn-test:2");
    assert!(!theirs.to_string().contains("Zyxwvut"), "{theirs}");

    // 4. Malformed searches: refused before asking (exit 2), and by the node itself.
    expect(2, &["search", "?!"], &home);
    expect(2, &["search", "acme", "--limit", "101"], &home);
    let h = safeledger_node::cli::home::Home::load(&home).expect("home");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let refused = rt.block_on(async {
        let mut c = h.officer_client("us-osha").expect("client");
        let long = "x".repeat(300);
        vec![
            c.search_enterprises("?!", 10, 0).await,
            c.search_enterprises("acme", 101, 0).await,
            c.search_enterprises("acme", 10, 5_000).await,
            c.search_enterprises(&long, 10, 0).await,
        ]
    });
    for r in refused {
        match r {
            Err(safeledger_client::rpc::ClientError::Status(s)) => {
                assert_eq!(s.code(), tonic::Code::InvalidArgument, "{s:?}")
            }
            other => panic!("not refused as invalid: {other:?}"),
        }
    }

    // 5. Lists, paged by cursor: every page's entries follow the last, none twice, and the
    // pages together are the whole list.
    let list_json = |args: &[&str]| -> serde_json::Value {
        let mut a = vec!["list"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--output", "json"]);
        let (out, _) = expect(0, &a, &home);
        serde_json::from_str(&out).expect("list JSON")
    };
    let ids_of = |v: &serde_json::Value| -> Vec<String> {
        v["entries"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|x| x["enterprise"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let whole = ids_of(&list_json(&["risk", "green", "--limit", "200"]));
    assert!(whole.len() > 3, "{whole:?}");
    let mut paged: Vec<String> = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut args = vec!["risk", "green", "--limit", "3"];
        if !cursor.is_empty() {
            args.extend_from_slice(&["--cursor", &cursor]);
        }
        let v = list_json(&args);
        paged.extend(ids_of(&v));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, whole, "pages of 3 differ from one page");
    let mut sorted = whole.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, whole, "in id order, none twice");
    let (out, _) = expect(0, &["list", "expiring", "--days", "3650"], &home);
    assert!(out.starts_with("licences ending within 3650 days"), "{out}");
    expect(0, &["list", "blacklisted"], &home);
    expect(0, &["list", "overdue"], &home);
    expect(2, &["list", "risk", "purple"], &home);
    expect(2, &["list", "expiring", "--days", "0"], &home);
    expect(2, &["list", "risk", "red", "--cursor", "not an id"], &home);

    // 6. kill -9 of chicago-bacp's node twice during an import; the demo restarts it and
    // its index catches up with as many documents as the ledger has enterprises.
    let mut import = std::process::Command::new(common::EXE)
        .args(["import", "--data", DATA, "--limit", "80", "--home"])
        .arg(&home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("import");
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(1_500));
        signal(pid_of("chicago-bacp", &home), "-KILL");
    }
    let _ = import.wait();
    let genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("genesis.json")).expect("genesis"))
            .expect("genesis JSON");
    let bacp_url = genesis["agencies"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["id"] == "chicago-bacp"))
        .and_then(|a| a["grpc_addr"].as_str())
        .expect("chicago-bacp's URL")
        .to_string();
    let t = Instant::now();
    let (tip, documents) = loop {
        let (out, _) = expect(0, &["status", "--output", "json"], &home);
        let tip = serde_json::from_str::<serde_json::Value>(&out).expect("status")["newest_height"]
            .as_u64()
            .unwrap_or(0);
        // chicago-bacp's own node: while it restarts, another node would answer with its
        // own index, which is not the one reindexed below.
        let o = run(
            &[
                "search",
                "cn",
                "--as",
                "chicago-bacp",
                "--node",
                &bacp_url,
                "--output",
                "json",
            ],
            &home,
        );
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
            if v["indexed_height"].as_u64().unwrap_or(0) >= tip && tip > 0 {
                break (tip, v["documents"].as_u64().expect("documents"));
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "chicago-bacp's index did not catch up"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    demo.stop();
    let (out, _) = expect(0, &["node", "reindex", "--agency", "chicago-bacp"], &home);
    assert!(
        out.contains(&format!(": {documents} enterprises at height")),
        "the index had {documents} documents at height {tip}; the ledger: {out}"
    );
}
