//! JSON forms of records and the fields their stateless checks name.

use super::*;
use crate::limits::MAX_TEXT_BYTES;

fn parse(json: &str) -> TxBody {
    serde_json::from_str(json).expect("a record")
}

#[test]
fn applications_and_decisions_answering_them_parse_from_json() {
    let app = parse(
        r#"{"licence_application": {"enterprise": "us-chi-bacp:1", "application_id":
        "APP-7", "kind": "renewal", "licence_number": "1234", "licence_type": "Retail",
        "industry": null}}"#,
    );
    assert_eq!(app.kind(), TxKind::LicenceApplication);
    assert_eq!(app.check_bounds(), Ok(()));
    let hex = "11".repeat(32);
    let with = parse(&format!(
        r#"{{"licence_decision": {{"enterprise": "us-chi-bacp:1", "licence_number": "1234",
        "licence_type": "Retail", "kind": "renew", "valid_from": 1735689600000,
        "valid_until": 1767225600000, "industry": null, "reason": "r", "applied_at": null,
        "application": "{hex}"}}}}"#
    ));
    let TxBody::LicenceDecision(d) = &with else {
        panic!("a decision")
    };
    assert_eq!(d.application.map(|h| h.to_hex()), Some(hex));
    // JSON written before applications existed omits the field.
    let without = parse(
        r#"{"licence_decision": {"enterprise": "us-chi-bacp:1", "licence_number": "1234",
        "licence_type": "Retail", "kind": "revoke", "valid_from": null,
        "valid_until": null, "industry": null, "reason": "r", "applied_at": null}}"#,
    );
    assert!(matches!(without, TxBody::LicenceDecision(ref d) if d.application.is_none()));
}

#[test]
fn invalid_application_fields_are_named() {
    let app = |kind, number: Option<&str>, id: &str| {
        TxBody::LicenceApplication(LicenceApplication {
            enterprise: EnterpriseId::parse("us-chi-bacp:1").expect("id"),
            application_id: id.into(),
            kind,
            licence_number: number.map(String::from),
            licence_type: "Retail".into(),
            industry: None,
        })
    };
    let field = |b: TxBody| b.check_bounds().map_err(|e| e.field);
    assert_eq!(
        field(app(LicenceApplicationKind::Renewal, None, "A")),
        Err("licence_number")
    );
    assert_eq!(
        field(app(LicenceApplicationKind::New, Some(" "), "A")),
        Err("licence_number")
    );
    assert_eq!(
        field(app(LicenceApplicationKind::New, None, "")),
        Err("application_id")
    );
    assert_eq!(field(app(LicenceApplicationKind::New, None, "A")), Ok(()));
    let mut long = app(LicenceApplicationKind::New, None, "A");
    if let TxBody::LicenceApplication(a) = &mut long {
        a.industry = Some("x".repeat(MAX_TEXT_BYTES + 1));
    }
    assert_eq!(field(long), Err("industry"));
    // A suspension answers no application.
    let suspend = parse(&format!(
        r#"{{"licence_decision": {{"enterprise": "us-chi-bacp:1", "licence_number": "1",
        "licence_type": "Retail", "kind": "suspend", "valid_from": null,
        "valid_until": null, "industry": null, "reason": "r", "applied_at": null,
        "application": "{}"}}}}"#,
        "22".repeat(32)
    ));
    assert_eq!(field(suspend), Err("application"));
}

#[test]
fn an_added_agency_names_its_node_addresses_and_pins_a_certificate_for_https() {
    let key = "22".repeat(32);
    let add = |p2p: &str, grpc: &str, cert: &str| {
        parse(&format!(
            r#"{{"governance_proposal": {{"proposal_id": "add-eco", "reason": "new agency",
            "action": {{"add_agency": {{"id": "eco", "name": "Ecology", "role": "inspection",
            "officer": "{key}", "node_key": "{key}", "power": 1, "p2p_addr": "{p2p}",
            "grpc_addr": "{grpc}", "tls_cert": "{cert}"}}}}}}}}"#
        ))
        .check_bounds()
        .map_err(|e| e.field)
    };
    let pem = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n";
    assert_eq!(
        add("/ip4/10.0.0.5/tcp/26656", "https://10.0.0.5:50051", pem),
        Ok(())
    );
    assert_eq!(
        add("/ip4/10.0.0.5/tcp/26656", "http://10.0.0.5:50051", ""),
        Ok(())
    );
    assert_eq!(
        add("10.0.0.5:26656", "http://10.0.0.5:50051", ""),
        Err("p2p_addr")
    );
    assert_eq!(
        add("/ip4/10.0.0.5/tcp/26656", "10.0.0.5:50051", ""),
        Err("grpc_addr")
    );
    assert_eq!(
        add("/ip4/10.0.0.5/tcp/26656", "https://10.0.0.5:50051", ""),
        Err("tls_cert")
    );
    assert_eq!(
        add("/ip4/10.0.0.5/tcp/26656", "http://10.0.0.5:50051", pem),
        Err("tls_cert")
    );
    let bad_id = parse(&format!(
        r#"{{"governance_proposal": {{"proposal_id": "add-x", "reason": "r",
        "action": {{"add_agency": {{"id": "Bad Id!", "name": "X", "role": "inspection",
        "officer": "{key}", "node_key": "{key}", "power": 1, "p2p_addr": "/ip4/1.2.3.4/tcp/1",
        "grpc_addr": "http://1.2.3.4:1", "tls_cert": ""}}}}}}}}"#
    ));
    assert_eq!(bad_id.check_bounds().map_err(|e| e.field), Err("id"));
    let blank = parse(
        r#"{"inspection_record": {"enterprise": "us-chi-bacp:1", "inspection_id": " ",
        "inspection_type": "routine", "outcome": "pass", "violation_counts": [0, 0, 0],
        "violations": []}}"#,
    );
    assert_eq!(
        blank.check_bounds().map_err(|e| e.field),
        Err("inspection_id")
    );
}

#[test]
fn a_notice_of_missing_materials_names_each_item() {
    let hex = "11".repeat(32);
    let step = |items: &str| {
        parse(&format!(
            r#"{{"application_step": {{"enterprise": "us-chi-bacp:1", "application": "{hex}",
            "step": {{"notify_missing": {{"items": {items}}}}}}}}}"#
        ))
        .check_bounds()
        .map_err(|e| e.field)
    };
    assert_eq!(step(r#"["safety rules"]"#), Ok(()));
    assert_eq!(step("[]"), Err("items"));
    assert_eq!(step(r#"["  "]"#), Err("items"));
    let accept = parse(&format!(
        r#"{{"application_step": {{"enterprise": "us-chi-bacp:1", "application": "{hex}",
        "step": "accept"}}}}"#
    ));
    assert_eq!(accept.kind(), TxKind::ApplicationStep);
}
