# A failed inspection with at least one critical violation by the inspection agency
# blocks a licence renewal at the licensing agency within 90 days after it (effective
# dates). Deployed by governance in the demo; evaluated by regorus under an instruction
# limit. `data.enterprise` is the enterprise as it stood before the renewal.
package safeledger.inspection_blocks_renewal

import rego.v1

window_ms := 90 * 86400000

deny contains msg if {
	input.tx.kind == "licence_decision"
	input.tx.body.licence_decision.kind == "renew"
	data.agencies[input.tx.agency].role == "licensing"
	some f in data.enterprise.findings
	f.status == "standing"
	data.agencies[f.agency].role == "inspection"
	f.what.inspection.outcome == "fail"
	f.what.inspection.critical >= 1
	f.at <= input.tx.effective_at
	input.tx.effective_at - f.at <= window_ms
	msg := sprintf(
		"failed inspection %s by %s on %s (tx %s) found %d critical violation(s), within 90 days before this renewal",
		[f.what.inspection.inspection_id, f.agency, f.date, f.tx_id, f.what.inspection.critical],
	)
}
