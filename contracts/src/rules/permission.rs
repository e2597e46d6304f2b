//! R1-permission: only an agency whose role covers a transaction kind may submit it
//! (DESIGN §5 R1; roles → kinds is genesis data, `Genesis::roles`).

use super::{Refusal, R1_PERMISSION};
use safeledger_core::records::TxKind;
use safeledger_core::Genesis;
use std::collections::{BTreeMap, BTreeSet};

/// Agency id → (role, kinds the role may submit), from genesis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    by_agency: BTreeMap<String, (String, BTreeSet<TxKind>)>,
}

impl Permissions {
    /// Each genesis agency's role and that role's kinds (none when the role is undefined,
    /// which `Genesis::validate` refuses).
    pub fn from_genesis(genesis: &Genesis) -> Permissions {
        let by_agency = genesis
            .agencies
            .iter()
            .map(|a| {
                let kinds = genesis
                    .roles
                    .get(&a.role)
                    .map(|k| k.iter().copied().collect())
                    .unwrap_or_default();
                (a.id.clone(), (a.role.clone(), kinds))
            })
            .collect();
        Permissions { by_agency }
    }

    /// Passes when `agency`'s role lists `kind`.
    pub fn check(&self, agency: &str, kind: TxKind) -> Result<(), Refusal> {
        let (role, kinds) = match self.by_agency.get(agency) {
            Some((role, kinds)) => (role.as_str(), kinds),
            None => ("(none)", &BTreeSet::new()),
        };
        if kinds.contains(&kind) {
            return Ok(());
        }
        let allowed: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        Err(Refusal::new(
            R1_PERMISSION,
            format!(
                "agency {agency} (role {role}) may not submit {}; its role allows [{}]",
                kind.name(),
                allowed.join(", ")
            ),
        ))
    }
}
