//! The inbox tree rebuilt from state and read page by page.

use super::synthetic::{fill, DAY};
use super::*;

const NOW: u64 = 1_800_000_000_000;

fn rebuilt(n: u64) -> (tempfile::TempDir, InboxIndex) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("store")).expect("store");
    fill(&store, n, NOW).expect("fill");
    let inbox = InboxIndex::open(&store, Registry::default()).expect("inbox");
    inbox.rebuild(&AtomicBool::new(false)).expect("rebuild");
    (dir, inbox)
}

fn all_pages(inbox: &InboxIndex, limit: usize, days: u64) -> Vec<(Task, TaskStatus)> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = inbox
            .page("agency-a", &cursor, limit, days, Timestamp(NOW))
            .expect("page");
        assert!(page.tasks.len() <= limit);
        out.extend(page.tasks);
        match page.next_cursor {
            Some(c) => cursor = c,
            None => return out,
        }
    }
}

#[test]
fn pages_by_cursor_are_the_whole_inbox_by_due_time_none_twice() {
    let (_d, inbox) = rebuilt(300);
    let whole = all_pages(&inbox, 200, 60);
    // 300 licence ends within 60 days, 30 hazards, and the routine inspections of the 30
    // licensed enterprises inspected (issue 20 item 1).
    assert_eq!(whole.len(), 360);
    assert_eq!(
        whole
            .iter()
            .filter(|(t, _)| t.kind == TaskKind::RoutineInspection)
            .count(),
        30
    );
    for limit in [1, 7, 50] {
        let paged = all_pages(&inbox, limit, 60);
        assert_eq!(paged, whole, "pages of {limit}");
    }
    let dues: Vec<u64> = whole
        .iter()
        .map(|(t, _)| t.due.map_or(u64::MAX, |d| d.0))
        .collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "by due time");
}

#[test]
fn licence_ends_show_only_within_the_window_and_counts_say_so() {
    let (_d, inbox) = rebuilt(100);
    // Ends fall 1–59 days ahead: a 10-day window holds those of 1–10 days.
    let shown = all_pages(&inbox, 200, 10);
    let ends = shown
        .iter()
        .filter(|(t, _)| t.kind == TaskKind::LicenceExpiry)
        .count();
    assert_eq!(ends, (0..100u64).filter(|i| i % 59 < 10).count());
    assert!(shown
        .iter()
        .filter(|(t, _)| t.kind == TaskKind::LicenceExpiry)
        .all(|(t, s)| *s == TaskStatus::Due && t.due.is_some_and(|d| d.0 <= NOW + 10 * DAY)));
    let first = inbox
        .page("agency-a", "", 5, 10, Timestamp(NOW))
        .expect("page");
    let counts = first.counts.expect("counts on the first page");
    assert_eq!(counts[&TaskKind::LicenceExpiry] as usize, ends);
    assert_eq!(counts[&TaskKind::HazardRectification], 10);
    let second = inbox
        .page(
            "agency-a",
            &first.next_cursor.expect("more"),
            5,
            10,
            Timestamp(NOW),
        )
        .expect("page");
    assert!(second.counts.is_none());
}

#[test]
fn a_hazard_due_today_is_due_and_past_its_deadline_overdue() {
    let (_d, inbox) = rebuilt(10);
    // Enterprise 0's hazard is due at NOW + 0 days.
    let later = inbox
        .page("agency-a", "", 200, 60, Timestamp(NOW + 1))
        .expect("page");
    let hazard = later
        .tasks
        .iter()
        .find(|(t, _)| t.kind == TaskKind::HazardRectification)
        .expect("the hazard");
    assert_eq!(hazard.1, TaskStatus::Overdue);
}

#[test]
fn another_agency_sees_nothing_and_a_bad_page_is_refused() {
    let (_d, inbox) = rebuilt(10);
    let other = inbox
        .page("agency-b", "", 50, 60, Timestamp(NOW))
        .expect("page");
    assert!(other.tasks.is_empty());
    assert!(matches!(
        inbox.page("agency-a", "zz", 50, 60, Timestamp(NOW)),
        Err(InboxError::Invalid(_))
    ));
    assert!(matches!(
        inbox.page("agency-a", "", 201, 60, Timestamp(NOW)),
        Err(InboxError::Invalid(_))
    ));
}

#[test]
fn an_officers_pages_hold_only_the_tasks_it_keeps_each_once() {
    let (_d, inbox) = rebuilt(200);
    let whole = all_pages(&inbox, 200, 60);
    let hazards: Vec<_> = whole
        .iter()
        .filter(|(t, _)| t.kind == TaskKind::HazardRectification)
        .cloned()
        .collect();
    assert_eq!(hazards.len(), 20);
    let keep = |t: &Task| t.kind == TaskKind::HazardRectification;
    for limit in [1, 3, 50] {
        let mut got = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = inbox
                .page_of("agency-a", &cursor, limit, 60, Timestamp(NOW), &keep)
                .expect("page");
            assert!(page.tasks.len() <= limit);
            got.extend(page.tasks);
            match page.next_cursor {
                Some(c) => cursor = c,
                None => break,
            }
        }
        assert_eq!(got, hazards, "pages of {limit}");
    }
}
