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
