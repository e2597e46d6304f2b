//! The index and its queries, without a node.

use super::index::{EnterpriseDoc, Opened, SearchIndex};
use super::query::{self, QueryError, SearchError, SearchRequest};

fn text(id: &str, name: &str, address: &str, private: &[&str]) -> EnterpriseDoc {
    EnterpriseDoc {
        ids: vec![id.to_string()],
        names: vec![name.to_string()],
        addresses: vec![address.to_string()],
        private: private.iter().map(|s| s.to_string()).collect(),
        facts: Default::default(),
    }
}

fn search(index: &SearchIndex, q: &str, private: bool) -> Result<Vec<String>, SearchError> {
    let found = query::run(
        index,
        &SearchRequest {
            text: q.into(),
            limit: 0,
            offset: 0,
            private,
        },
    )?;
    Ok(found.hits.into_iter().map(|(_, id)| id).collect())
}

fn sample() -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (index, opened) = SearchIndex::open(&dir.path().join("search")).expect("open");
    assert_eq!(opened, Opened::Empty);
    for t in [
        text(
            "ns:1",
            "把机器推论洗成权威事实有限公司",
            "北京市朝阳区安全路1号",
            &[],
        ),
        text("ns:2", "ACME Construction Co", "1 Main St, Chicago", &[]),
        text(
            "ns:3",
            "Acme Foods",
            "22 Lake Shore Dr",
            &["Hidden Legal Name LLC"],
        ),
        text("91350100M000100Y43", "华安矿业集团", "福州", &[]),
    ] {
        index.upsert(&t.ids[0], &t).expect("upsert");
    }
    index.commit(7).expect("commit");
    (dir, index)
}

#[test]
fn any_part_of_two_cjk_characters_or_more_finds_the_name() {
    let (_d, index) = sample();
    for q in [
        "权威事实",
        "机器",
        "把机器推论洗成权威事实有限公司",
        "安全路",
        "矿业",
    ] {
        let hits = search(&index, q, false).expect(q);
        assert!(!hits.is_empty(), "{q} found nothing");
    }
    assert_eq!(search(&index, "权威事实", false).unwrap(), ["ns:1"]);
    // Characters that are in the name but not next to each other are not a match.
    assert!(search(&index, "机推", false).unwrap().is_empty());
    // One character: any name holding it.
    assert_eq!(search(&index, "矿", false).unwrap(), ["91350100M000100Y43"]);
}

#[test]
fn latin_words_match_whole_or_by_prefix_and_every_word_must_match() {
    let (_d, index) = sample();
    let acme = search(&index, "acme", false).unwrap();
    assert_eq!(acme.len(), 2, "{acme:?}");
    assert_eq!(search(&index, "ACME constr", false).unwrap(), ["ns:2"]);
    assert_eq!(search(&index, "acme lake", false).unwrap(), ["ns:3"]);
    assert!(search(&index, "acme zebra", false).unwrap().is_empty());
    // Two letters are not a prefix search (too many terms): whole words only.
    assert!(search(&index, "ac", false).unwrap().is_empty());
}

#[test]
fn an_id_or_code_typed_whole_ranks_its_enterprise_first() {
    let (_d, index) = sample();
    assert_eq!(
        search(&index, "91350100M000100Y43", false).unwrap()[0],
        "91350100M000100Y43"
    );
    assert_eq!(search(&index, "ns:3", false).unwrap()[0], "ns:3");
}

#[test]
fn withheld_values_match_only_when_the_caller_may_read_them() {
    let (_d, index) = sample();
    assert!(search(&index, "hidden legal", false).unwrap().is_empty());
    assert_eq!(search(&index, "hidden legal", true).unwrap(), ["ns:3"]);
}

#[test]
fn malformed_searches_are_refused_with_a_reason() {
    let (_d, index) = sample();
    let refused = |q: &str| match search(&index, q, false) {
        Err(SearchError::Query(e)) => e,
        other => panic!("{q:?}: {other:?}"),
    };
    assert_eq!(refused("   "), QueryError::Empty);
    assert!(matches!(refused("*** ???"), QueryError::NoTerms(_)));
    assert!(matches!(
        refused(&"a".repeat(201)),
        QueryError::TooLong(201)
    ));
    assert!(matches!(
        refused("a b c d e f g h i j k l m"),
        QueryError::TooManyUnits(13)
    ));
    assert_eq!(refused("acme\u{0}"), QueryError::Control);
    // Query-language syntax is text, not syntax: nothing to parse, nothing to break.
    assert!(search(&index, "name:acme AND (", false).is_ok());
    for (limit, offset) in [(101, 0), (10, 1_001)] {
        let r = query::run(
            &index,
            &SearchRequest {
                text: "acme".into(),
                limit,
                offset,
                private: false,
            },
        );
        assert!(matches!(r, Err(SearchError::Query(_))), "{limit} {offset}");
    }
}

#[test]
fn an_upsert_replaces_the_document_and_the_height_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("search");
    {
        let (index, _) = SearchIndex::open(&path).expect("open");
        index
            .upsert("ns:1", &text("ns:1", "Old Name", "", &[]))
            .unwrap();
        index.commit(3).unwrap();
        index
            .upsert("ns:1", &text("ns:1", "New Name", "", &[]))
            .unwrap();
        index.commit(4).unwrap();
        assert_eq!(index.documents(), 1);
        assert!(search(&index, "old", false).unwrap().is_empty());
        index.close();
    }
    let (index, opened) = SearchIndex::open(&path).expect("reopen");
    assert_eq!(opened, Opened::At(4));
    assert_eq!(index.height(), Some(4));
    assert_eq!(search(&index, "new name", false).unwrap(), ["ns:1"]);
}

#[test]
fn an_unreadable_index_is_removed_and_reported_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("search");
    {
        let (index, _) = SearchIndex::open(&path).expect("open");
        index
            .upsert("ns:1", &text("ns:1", "Name", "", &[]))
            .unwrap();
        index.commit(3).unwrap();
        index.close();
    }
    std::fs::write(path.join("meta.json"), b"{not json").unwrap();
    let (index, opened) = SearchIndex::open(&path).expect("reopen");
    assert_eq!(opened, Opened::Empty);
    assert_eq!(index.documents(), 0);
    assert_eq!(index.height(), None);
}
