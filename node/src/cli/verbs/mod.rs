//! A verb per task (issue 19 item 4): officers and their posts (`officer.rs`), licence
//! decisions alone or collective (`licence.rs`), inspections with their hazards,
//! rectification reports, penalties, accident reports, blacklist entries and corrections
//! (`findings.rs`), governance proposals and votes and access to withheld fields
//! (`admin.rs`) — each with
//! flags, help and validation before signing, and `--dry-run` ([`crate::cli::act::Acting`]). Hand-written
//! JSON through `tx submit --file` keeps working for every kind.

pub mod admin;
pub mod draw;
pub mod findings;
pub mod joint;
pub mod licence;
pub mod officer;

pub use admin::{access, governance, AccessCmd, GovernanceCmd};
pub use draw::{draw, DrawCmd};
pub use findings::{
    accident, blacklist, correction, inspection, penalty, rectification, AccidentCmd, BlacklistCmd,
    CorrectionCmd, InspectionCmd, PenaltyCmd, RectificationCmd,
};
pub use licence::{decision, licence, DecisionCmd, LicenceCmd};
pub use officer::{officer, OfficerCmd};

use crate::cli::exit;
use crate::cli::when;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::Hash;

pub(crate) fn enterprise_arg(s: &str) -> anyhow::Result<EnterpriseId> {
    EnterpriseId::parse(s).map_err(|e| exit::usage(format!("--enterprise {s:?}: {e}")))
}

pub(crate) fn tx_id_arg(flag: &str, s: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(s.trim()).map_err(|e| {
        exit::usage(format!(
            "{flag} {s:?} is not a transaction id (64 hex digits): {e}"
        ))
    })
}

pub(crate) fn date_arg(
    flag: &str,
    s: Option<&str>,
) -> anyhow::Result<Option<safeledger_core::Timestamp>> {
    s.map(|s| when::parse_time(s).map_err(|e| exit::usage(format!("{flag}: {e:#}"))))
        .transpose()
}
