//! The plan builder: collects records and rejections from the source modules, adds one
//! enterprise record per enterprise, and puts everything in effective-date order.

use super::{ImportItem, ImportPlan, RejectReason, RejectedRow};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::limits::MAX_LIST_ITEMS;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// The source files, in source order (the tie-break after effective date).
pub(super) const SOURCES: [&str; 8] = [
    "business_licenses_at_inspection.csv",
    "food_inspections.csv",
    "businesses_plus.csv",
    "inspections_plus.csv",
    "violations_plus.csv",
    "fatcat_summaries_2009_2015.csv",
    "fatcat_reports_2016_2017.csv",
    "fatality_inspections_2017_2023.csv",
];

/// Index of a file in [`SOURCES`].
pub(super) type Src = usize;

/// Where a row is: its file and the line it starts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Origin {
    /// The file.
    pub src: Src,
    /// 1-based line (the header is line 1).
    pub line: u64,
}

/// The namespaced enterprise id `namespace:local`, or `InvalidId`.
pub(super) fn namespaced(namespace: &str, local: &str) -> Result<EnterpriseId, RejectReason> {
    EnterpriseId::namespaced(namespace, local).map_err(|e| RejectReason::InvalidId(e.to_string()))
}

/// A record waiting to be ordered.
struct Pending {
    at: Timestamp,
    /// 0 for enterprise records (first among equal dates), 1 otherwise.
    rank: u8,
    src: Src,
    line: u64,
    /// Position among the records one row yields (an accident before its penalty).
    seq: u8,
    agency: &'static str,
    body: TxBody,
}

/// The best row seen so far to take an enterprise's name and address from: the earliest
/// by (date, source, line), i.e. the first sighting.
struct Candidate {
    at: Timestamp,
    src: Src,
    line: u64,
    agency: &'static str,
    name: String,
    address: String,
    linked: BTreeSet<String>,
}

/// Collects a plan's records, rejections and counters.
#[derive(Default)]
pub(super) struct Builder {
    pending: Vec<Pending>,
    rejected: Vec<(Src, RejectedRow)>,
    rows_read: u64,
    duplicates_skipped: u64,
    enterprises: BTreeMap<EnterpriseId, Candidate>,
}

impl Builder {
    /// Counts data rows read.
    pub(super) fn read_rows(&mut self, n: usize) {
        self.rows_read += n as u64;
    }

    /// Counts a row that repeats a record already planned.
    pub(super) fn duplicate(&mut self) {
        self.duplicates_skipped += 1;
    }

    /// Adds a record (not an enterprise record: use [`Builder::offer_enterprise`]).
    pub(super) fn push(
        &mut self,
        o: Origin,
        seq: u8,
        agency: &'static str,
        at: Timestamp,
        body: TxBody,
    ) {
        self.pending.push(Pending {
            at,
            rank: 1,
            src: o.src,
            line: o.line,
            seq,
            agency,
            body,
        });
    }

    /// Rejects a row.
    pub(super) fn reject(&mut self, o: Origin, reason: RejectReason) {
        let row = RejectedRow {
            source: SOURCES[o.src].to_string(),
            line: o.line,
            reason,
        };
        self.rejected.push((o.src, row));
    }

    /// Whether an enterprise record is already planned for `id`.
    pub(super) fn knows(&self, id: &EnterpriseId) -> bool {
        self.enterprises.contains_key(id)
    }

    /// Offers a row as the source of `id`'s enterprise record; the earliest offer by
    /// (date, source, line) gives the record's agency, name, address and line.
    pub(super) fn offer_enterprise(
        &mut self,
        id: &EnterpriseId,
        agency: &'static str,
        o: Origin,
        at: Timestamp,
        name: &str,
        address: &str,
    ) {
        let (src, line) = (o.src, o.line);
        let candidate = Candidate {
            at,
            src,
            line,
            agency,
            name: name.to_string(),
            address: address.to_string(),
            linked: BTreeSet::new(),
        };
        match self.enterprises.get_mut(id) {
            None => {
                self.enterprises.insert(id.clone(), candidate);
            }
            Some(c) if (at, src, line) < (c.at, c.src, c.line) => {
                let linked = std::mem::take(&mut c.linked);
                *c = Candidate {
                    linked,
                    ..candidate
                };
            }
            Some(_) => {}
        }
    }

    /// Adds a linked id (`namespace:local`) to `id`'s enterprise record, if one is planned.
    pub(super) fn link(&mut self, id: &EnterpriseId, linked: String) {
        if let Some(c) = self.enterprises.get_mut(id) {
            c.linked.insert(linked);
        }
    }

    /// Emits the enterprise records and orders everything.
    pub(super) fn finish(self) -> ImportPlan {
        let Builder {
            mut pending,
            mut rejected,
            rows_read,
            duplicates_skipped,
            enterprises,
        } = self;
        let mut first_use: BTreeMap<&EnterpriseId, Timestamp> = BTreeMap::new();
        for p in &pending {
            if let Some(id) = p.body.enterprise() {
                let e = first_use.entry(id).or_insert(p.at);
                *e = (*e).min(p.at);
            }
        }
        let mut records = Vec::with_capacity(enterprises.len());
        for (id, c) in enterprises {
            let at = first_use.get(&id).map_or(c.at, |&t| t.min(c.at));
            let linked_ids = c.linked.into_iter().take(MAX_LIST_ITEMS).collect();
            records.push(Pending {
                at,
                rank: 0,
                src: c.src,
                line: c.line,
                seq: 0,
                agency: c.agency,
                body: TxBody::EnterpriseRecord(EnterpriseRecord {
                    enterprise: id,
                    name: c.name,
                    address: c.address,
                    linked_ids,
                }),
            });
        }
        pending.extend(records);
        pending.sort_by_key(|p| (p.at, p.rank, p.src, p.line, p.seq));
        rejected.sort_by_key(|(src, r)| (*src, r.line));
        ImportPlan {
            items: pending
                .into_iter()
                .map(|p| ImportItem {
                    source: SOURCES[p.src].to_string(),
                    line: p.line,
                    agency: p.agency.to_string(),
                    effective_at: p.at,
                    body: p.body,
                })
                .collect(),
            rejected: rejected.into_iter().map(|(_, r)| r).collect(),
            rows_read,
            duplicates_skipped,
        }
    }
}
