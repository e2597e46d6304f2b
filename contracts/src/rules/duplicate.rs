//! R0-duplicate: an agency records each of its inspections, penalty cases and accident
//! reports about an enterprise once. The key is (kind, agency, enterprise, the agency's
//! own id); its value names the first record so a refusal can point at it.

use super::{RecordContext, Refusal, R0_DUPLICATE};
use crate::keys;
use crate::state::{read, Overlay};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::TxKind;
use safeledger_core::TxId;

/// Refuses when `rc.agency` already recorded a `kind` with `local_id` about `enterprise`;
/// otherwise claims the id for `rc.tx_id` in `view`.
pub fn claim(
    view: &mut Overlay<'_>,
    kind: TxKind,
    enterprise: &EnterpriseId,
    id_field: &str,
    local_id: &str,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let key = keys::duplicate(kind, rc.agency, enterprise, local_id);
    if let Some(first) = read::<TxId>(view, &key) {
        return Err(Refusal::new(
            R0_DUPLICATE,
            format!(
                "agency {} already recorded {} {id_field} {local_id:?} about enterprise \
                 {enterprise} (tx {first})",
                rc.agency,
                kind.name()
            ),
        ));
    }
    view.put(key, &rc.tx_id);
    Ok(())
}
