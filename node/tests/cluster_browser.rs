//! The web console in a real browser (issue 21, "Done when"): a headless Chromium driven
//! over the Chrome DevTools protocol (chromiumoxide) against a running four-node demo
//! network on a slice of the data. One session: search an enterprise and open it; record
//! an inspection through the form, see the rules' verdict before signing, submit it and
//! find it on the timeline; answer an assistance request from the inbox; download a view
//! and verify it; upload a tampered view and see the failing element named; switch to
//! Chinese; and all along, the hostile record texts render as text — no script runs (the
//! DOM has no script or injected element, and the browser reports no exception, console
//! error or dialog).
//!
//! The browser is Debian's `chromium` (or `SAFELEDGER_CHROMIUM`), run with `--no-sandbox
//! --disable-dev-shm-usage` (root in a container). Without one the test skips with the
//! reason — except in CI (`SAFELEDGER_CI` set), where it fails. With
//! `SAFELEDGER_SCREENSHOTS=DIR` it also saves a screenshot of every page in English and
//! Chinese (how `docs/console/` is made).
//!
//! Its name has `cluster`, so it runs alone in the serial group.

#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::browser::{
    SetDownloadBehaviorBehavior, SetDownloadBehaviorParams,
};
use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, EventJavascriptDialogOpening,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::Page;
use common::{console, expect, start_demo_with};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HOSTILE_NAME: &str =
    "<script>alert(1)</script>\"><img src=x onerror=alert(2)> \u{202e}evil\u{202c}";
const HOSTILE_ID: &str = "us-osha-insp:990001";

/// The browser to drive: `SAFELEDGER_CHROMIUM`, else the first of Debian's names on PATH.
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SAFELEDGER_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser", "google-chrome"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// Evaluates `js` until it yields `true` (a page mid-navigation answers nothing: retried).
async fn until(page: &Page, js: &str, what: &str) {
    let t = Instant::now();
    loop {
        if let Ok(r) = page.evaluate(js).await {
            if r.into_value::<bool>().unwrap_or(false) {
                return;
            }
        }
        if t.elapsed() > Duration::from_secs(45) {
            let html = page.content().await.unwrap_or_default();
            panic!("waited 45 s for {what} ({js}); the page is:\n{html}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The text of the first element matching `selector` ("" when none).
async fn text(page: &Page, selector: &str) -> String {
    let js = format!(
        "(() => {{ const e = document.querySelector({}); return e ? e.textContent : ''; }})()",
        serde_json::to_string(selector).unwrap()
    );
    page.evaluate(js.as_str())
        .await
        .ok()
        .and_then(|r| r.into_value::<String>().ok())
        .unwrap_or_default()
}

/// Goes to `url` and waits until its document has loaded.
async fn open(page: &Page, url: &str) {
    page.goto(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    until(page, "document.readyState === 'complete'", url).await;
}

/// Clicks `selector` (a submit button or link) and waits until `then` holds.
async fn click(page: &Page, selector: &str, then: &str) {
    page.find_element(selector)
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    until(page, then, &format!("the page after clicking {selector}")).await;
}

/// Types `s` into the field `selector`.
async fn fill(page: &Page, selector: &str, s: &str) {
    page.find_element(selector)
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap()
        .type_str(s)
        .await
        .unwrap();
}

/// Puts the file `path` in the file input `selector` (as a user's file chooser does).
async fn choose_file(page: &Page, selector: &str, path: &Path) {
    let el = page.find_element(selector).await.unwrap();
    let params = SetFileInputFilesParams::builder()
        .files(vec![path.display().to_string()])
        .backend_node_id(el.backend_node_id)
        .build()
        .unwrap();
    page.execute(params).await.unwrap();
}

/// Everything the browser reports that would mean a script ran or a page is broken.
fn watch(page: &Page, rt: &tokio::runtime::Handle) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (p, s) = (page.clone(), seen.clone());
    rt.spawn(async move {
        let mut ex = p.event_listener::<EventExceptionThrown>().await.unwrap();
        while let Some(e) = ex.next().await {
            s.lock()
                .unwrap()
                .push(format!("exception: {:?}", e.exception_details.text));
        }
    });
    let (p, s) = (page.clone(), seen.clone());
    rt.spawn(async move {
        let mut cons = p.event_listener::<EventConsoleApiCalled>().await.unwrap();
        while let Some(e) = cons.next().await {
            if e.r#type == ConsoleApiCalledType::Error {
                s.lock()
                    .unwrap()
                    .push(format!("console.error: {:?}", e.args));
            }
        }
    });
    let (p, s) = (page.clone(), seen.clone());
    rt.spawn(async move {
        let mut log = p.event_listener::<EventEntryAdded>().await.unwrap();
        while let Some(e) = log.next().await {
            if e.entry.level == LogEntryLevel::Error {
                s.lock()
                    .unwrap()
                    .push(format!("log error: {}", e.entry.text));
            }
        }
    });
    let (p, s) = (page.clone(), seen.clone());
    rt.spawn(async move {
        let mut d = p
            .event_listener::<EventJavascriptDialogOpening>()
            .await
            .unwrap();
        while let Some(e) = d.next().await {
            s.lock().unwrap().push(format!("dialog: {}", e.message));
        }
    });
    seen
}

/// The hostile record's page: its texts are text, nothing injected, nothing ran.
async fn assert_inert(page: &Page) {
    let name = text(page, "#name").await;
    assert_eq!(name, HOSTILE_NAME, "the name shows as typed");
    let counts: Vec<u32> = page
        .evaluate(
            "[document.scripts.length, document.images.length, \
              document.querySelectorAll('main b, [onerror]').length]",
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    assert_eq!(
        counts,
        vec![0, 0, 0],
        "no script, image or bold from the record"
    );
    assert!(text(page, "#address").await.contains("<b>bold</b>"));
}

#[test]
fn cluster_browser_officer_session_search_record_answer_and_audit() {
    let Some(exe) = chromium() else {
        assert!(
            std::env::var_os("SAFELEDGER_CI").is_none(),
            "no chromium on PATH (apt-get install chromium fonts-noto-cjk): CI must run the \
             browser test"
        );
        eprintln!("SKIPPED: no chromium on PATH (apt-get install chromium fonts-noto-cjk)");
        return;
    };
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let dir = tempfile::tempdir().unwrap();
    // A record whose texts an attacker wrote, and a request for the inbox to answer.
    let emoji = "\u{1f525}".repeat(1000);
    let record = serde_json::json!({"enterprise_record": {
        "enterprise": HOSTILE_ID, "name": HOSTILE_NAME,
        "address": format!("<b>bold</b> {emoji}"), "linked_ids": []}});
    let file = dir.path().join("hostile.json");
    std::fs::write(&file, record.to_string()).unwrap();
    let f = file.to_str().unwrap();
    let (out, _) = expect(0, &["tx", "submit", "--agency", "us-osha", "--file", f], h);
    let hostile_tx = out.split_whitespace().next().unwrap().to_string();
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
            HOSTILE_ID,
            "--subject",
            "<img src=x onerror=alert(3)> inspection history please",
        ],
        h,
    );
    let c = console(h, &["--listen", "127.0.0.1:0"], &[]);
    let base = format!("http://{}", c.1);
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    // A relative directory is the repository's (tests run in node/).
    let shots = std::env::var_os("SAFELEDGER_SCREENSHOTS")
        .map(PathBuf::from)
        .map(|p| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let handle = rt.handle().clone();
    rt.block_on(async move {
        let profile = tempfile::tempdir().unwrap();
        let config = BrowserConfig::builder()
            .chrome_executable(&exe)
            .no_sandbox()
            .arg("disable-dev-shm-usage")
            .user_data_dir(profile.path())
            // A first start on a loaded 2-core CI machine can be slow.
            .launch_timeout(Duration::from_secs(90))
            .request_timeout(Duration::from_secs(60))
            .window_size(1280, 1000)
            .viewport(None)
            .build()
            .unwrap();
        let (mut browser, mut handler) = match Browser::launch(config).await {
            Ok(b) => b,
            Err(e) => panic!("{} did not start: {e}", exe.display()),
        };
        let events = handle.spawn(async move { while handler.next().await.is_some() {} });
        browser
            .execute(
                SetDownloadBehaviorParams::builder()
                    .behavior(SetDownloadBehaviorBehavior::Allow)
                    .download_path(downloads.display().to_string())
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let page = browser.new_page("about:blank").await.unwrap();
        let seen = watch(&page, &handle);
        page.enable_log().await.unwrap();
        page.enable_runtime().await.unwrap();
        // The watch sees what it must: a console error made on purpose is reported.
        open(&page, &format!("{base}/")).await;
        page.evaluate("console.error('probe')").await.unwrap();
        let t = Instant::now();
        while !seen.lock().unwrap().iter().any(|s| s.contains("probe")) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the watch saw no console error"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen.lock().unwrap().clear();

        // 1. Search the enterprise (the index follows the chain within moments) and open it.
        let link = format!("a[href='/enterprise/{}']", HOSTILE_ID.replace(':', "%3A"));
        let t = Instant::now();
        loop {
            open(&page, &format!("{base}/enterprises")).await;
            fill(&page, "input[name=q]", "990001").await;
            click(
                &page,
                "button[type=submit]",
                "document.readyState === 'complete' && location.search.includes('q=')",
            )
            .await;
            let found: bool = page
                .evaluate(format!("!!document.querySelector({link:?})").as_str())
                .await
                .unwrap()
                .into_value()
                .unwrap();
            if found {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(45),
                "the search never found it"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        click(&page, &link, "!!document.querySelector('#name')").await;
        assert_inert(&page).await;

        // 2. Record an inspection through the form: the verdict first, then the commit.
        click(
            &page,
            "#record-inspection",
            "!!document.querySelector('#record-form')",
        )
        .await;
        fill(&page, "input[name=id]", "BROWSER-1").await;
        let due = safeledger_core::Timestamp(safeledger_client::auth::now_ms() + 30 * 86_400_000)
            .date_string();
        fill(
            &page,
            "textarea[name=hazards]",
            &format!("E-1:high:{due}:blocked fire exit"),
        )
        .await;
        click(&page, "#check", "!!document.querySelector('#verdict')").await;
        let verdict = text(&page, "#verdict").await;
        assert!(verdict.contains("accepted"), "{verdict}");
        click(&page, "#sign", "!!document.querySelector('#committed')").await;
        let committed = text(&page, "#committed").await;
        assert!(committed.contains("accepted"), "{committed}");
        let inspection_tx = text(&page, "#tx-id").await;
        assert_eq!(inspection_tx.len(), 64, "{inspection_tx}");
        click(
            &page,
            "#to-enterprise",
            "!!document.querySelector('#timeline')",
        )
        .await;
        let timeline = text(&page, "#timeline").await;
        assert!(
            timeline.contains("inspection record") && timeline.contains(&inspection_tx),
            "{timeline}"
        );

        // 3. Answer the assistance request from the inbox.
        open(&page, &format!("{base}/inbox?kind=assistance_request")).await;
        let row = "tr[data-kind=assistance_request]";
        let others: u32 = page
            .evaluate(
                "document.querySelectorAll('tr.task:not([data-kind=assistance_request])').length",
            )
            .await
            .unwrap()
            .into_value()
            .unwrap();
        assert_eq!(others, 0, "the inbox shows only the kind asked for");
        fill(
            &page,
            &format!("{row} input[name=text]"),
            "three inspections since 2019",
        )
        .await;
        click(
            &page,
            &format!("{row} button"),
            "!!document.querySelector('#message')",
        )
        .await;
        let message = text(&page, "#message").await;
        assert!(message.contains("accepted"), "{message}");
        let left: u32 = page
            .evaluate(format!("document.querySelectorAll({row:?}).length").as_str())
            .await
            .unwrap()
            .into_value()
            .unwrap();
        assert_eq!(left, 0, "the answered request has left the inbox");

        // 4. Download the hostile record's view (its result is certified by the next
        // block: retried until it is), verify it, then a tampered copy.
        let t = Instant::now();
        let view = loop {
            open(&page, &format!("{base}/audit")).await;
            fill(&page, "#view-form input[name=tx]", &hostile_tx).await;
            fill(&page, "#view-form input[name=reveal]", "name").await;
            page.find_element("#view-form button")
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(700)).await;
            let got = std::fs::read_dir(&downloads)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "json"));
            if let Some(p) = got {
                break p;
            }
            assert!(
                t.elapsed() < Duration::from_secs(45),
                "no view was downloaded"
            );
        };
        open(&page, &format!("{base}/audit")).await;
        choose_file(&page, "#verify-form input[name=view]", &view).await;
        click(
            &page,
            "#verify-form button",
            "!!document.querySelector('#verdict')",
        )
        .await;
        assert_eq!(text(&page, "#verdict").await, "VALID");
        assert!(text(&page, "#detail").await.contains(&hostile_tx));
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&view).unwrap()).unwrap();
        let mut leaves = Vec::new();
        common::json_leaves(&v, String::new(), &mut leaves);
        let leaf = leaves
            .iter()
            .find(|l| l.contains("/fields/") && l.ends_with("/value"))
            .expect("a revealed field")
            .clone();
        common::mutate_leaf(v.pointer_mut(&leaf).unwrap());
        let tampered = dir.path().join("tampered.json");
        std::fs::write(&tampered, v.to_string()).unwrap();
        open(&page, &format!("{base}/audit")).await;
        choose_file(&page, "#verify-form input[name=view]", &tampered).await;
        click(
            &page,
            "#verify-form button",
            "!!document.querySelector('#verdict')",
        )
        .await;
        assert_eq!(text(&page, "#verdict").await, "INVALID");
        let detail = text(&page, "#detail").await;
        assert!(
            detail.contains("fields["),
            "the failing element is named: {detail}"
        );

        // 5. Chinese, by the switch on the page; the hostile page is inert in it too.
        click(
            &page,
            "#lang-switch",
            "document.documentElement.lang === 'zh-Hans'",
        )
        .await;
        assert!(text(&page, "nav").await.contains("网络"));
        open(
            &page,
            &format!("{base}/enterprise/{}", HOSTILE_ID.replace(':', "%3A")),
        )
        .await;
        assert_inert(&page).await;

        if let Some(shots) = &shots {
            screenshots(&page, &base, shots).await;
        }
        let seen = seen.lock().unwrap().clone();
        assert!(seen.is_empty(), "the browser reported: {seen:#?}");
        browser.close().await.unwrap();
        let _ = browser.wait().await;
        events.abort();
    });
    drop(c);
}

/// A PNG of the top of every page (a 1280×1000 window), in English then Chinese, into `dir`: the
/// enterprise shown is the first hit of a search for "tiramisu" in the data (the hostile
/// record where the slice has none).
async fn screenshots(page: &Page, base: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    open(page, &format!("{base}/enterprises?q=tiramisu")).await;
    let hit: String = page
        .evaluate(
            "(() => { const a = document.querySelector('#hits a'); \
              return a ? a.getAttribute('href') : ''; })()",
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let enterprise = if hit.is_empty() {
        format!("/enterprise/{}", HOSTILE_ID.replace(':', "%3A"))
    } else {
        hit
    };
    let id = enterprise.trim_start_matches("/enterprise/").to_string();
    let pages = [
        ("network", "/".to_string()),
        ("blocks", "/blocks".to_string()),
        ("block", "/block/2".to_string()),
        ("search", "/enterprises?q=kitchen".to_string()),
        ("enterprise", enterprise.clone()),
        ("inbox", "/inbox".to_string()),
        ("submit", format!("/submit?kind=inspection&enterprise={id}")),
        ("audit", "/audit".to_string()),
    ];
    for lang in ["en", "zh"] {
        open(page, &format!("{base}/lang/{lang}")).await;
        for (name, path) in &pages {
            open(page, &format!("{base}{path}")).await;
            let png = page
                .screenshot(
                    ScreenshotParams::builder()
                        .format(CaptureScreenshotFormat::Png)
                        .build(),
                )
                .await
                .unwrap();
            std::fs::write(dir.join(format!("{name}-{lang}.png")), png).unwrap();
        }
    }
}
