//! The key ceremony (issue 8 item 6; DESIGN §3 "Keys"): each agency makes its own secrets,
//! and a genesis is assembled from public keys only.
//!
//! `safeledger keys generate --out DIR --agency ID` writes, in the layout of
//! [`crate::cli::home`] (so that `DIR` can be `NET/<agency>` of a network directory):
//!
//! ```text
//! DIR/node.key       node key seed, hex (secret; mode 0600)
//! DIR/officer.key    first officer key seed, hex (secret; mode 0600)
//! DIR/data/          the node's data directory (empty)
//! DIR/agency.json    the public part: an `Agency` entry of the genesis (no secrets)
//! DIR/node.toml      the node's local limits at their defaults (`crate::config`; edit to tune)
//! ```
//!
//! The agency sends `agency.json` to whoever assembles the genesis;
//! `safeledger genesis assemble --chain-id C --agency-file a.json ... --out genesis.json`
//! checks each file, builds the genesis with the demo's role table (or `--roles FILE`) and
//! validates it ([`Genesis::validate`]). Each agency puts the genesis beside its key
//! directory (`NET/genesis.json`, keys in `NET/<agency>/`) and runs
//! `safeledger node start --home NET --agency <id>`.
//!
//! An auditor makes its request-signing key the same way: `safeledger keys auditor --out
//! NET/auditors --id ID` writes `ID.key` (secret) and `ID.auditor.json` (public), and the
//! assembler adds `--auditor-file ID.auditor.json`.

use crate::cli::home::{free_port, make_tls_identity, write_secret};
use anyhow::{bail, Context};
use safeledger_core::genesis::{Agency, Auditor, ConsensusParams};
use safeledger_core::records::TxKind;
use safeledger_core::{Genesis, SecretKey, Timestamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File name of an agency's public part, beside its keys.
pub const AGENCY_FILE: &str = "agency.json";

/// What an agency says about itself in the ceremony (everything but the keys).
#[derive(Clone, Debug)]
pub struct AgencySpec {
    /// Short id, e.g. `chicago-bacp`.
    pub id: String,
    /// Display name (the id if empty).
    pub name: String,
    /// Role, one of the genesis role table's.
    pub role: String,
    /// libp2p multiaddr (None: 127.0.0.1 with a free port).
    pub p2p_addr: Option<String>,
    /// gRPC URL (None: https://127.0.0.1 with a free port).
    pub grpc_addr: Option<String>,
    /// Voting power (0: not a validator).
    pub power: u64,
}

/// Generates an agency's node and officer keys into `out` (which must not hold keys yet),
/// writes the public part to `out/agency.json` and returns it.
///
/// Errors: `out` already holds a key or an agency file; an empty id; a write fails.
pub fn generate(out: &Path, spec: &AgencySpec) -> anyhow::Result<Agency> {
    if spec.id.trim().is_empty() {
        bail!("--agency must not be empty");
    }
    for f in ["node.key", "officer.key", AGENCY_FILE] {
        if out.join(f).exists() {
            bail!(
                "{} already exists: refusing to overwrite an agency's keys; choose another --out",
                out.join(f).display()
            );
        }
    }
    std::fs::create_dir_all(out.join("data"))
        .with_context(|| format!("creating {}", out.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", out.display()))?;
    }
    let mut rng = rand::rngs::OsRng;
    let node = SecretKey::generate(&mut rng);
    let officer = SecretKey::generate(&mut rng);
    write_secret(&out.join("node.key"), &node)?;
    write_secret(&out.join("officer.key"), &officer)?;
    let grpc_addr = match &spec.grpc_addr {
        Some(a) => a.clone(),
        None => format!("https://127.0.0.1:{}", free_port()?),
    };
    // An https:// address gets a TLS key (DIR/tls.key) and its pinned certificate.
    let tls_cert = if grpc_addr.starts_with("https://") {
        make_tls_identity(out, &grpc_addr)?
    } else {
        String::new()
    };
    let agency = Agency {
        id: spec.id.clone(),
        name: if spec.name.is_empty() {
            spec.id.clone()
        } else {
            spec.name.clone()
        },
        role: spec.role.clone(),
        node_key: node.public(),
        officer_keys: vec![officer.public()],
        p2p_addr: match &spec.p2p_addr {
            Some(a) => a.clone(),
            None => format!("/ip4/127.0.0.1/tcp/{}", free_port()?),
        },
        grpc_addr: grpc_addr.clone(),
        tls_cert,
        power: spec.power,
    };
    let json = serde_json::to_string_pretty(&agency)?;
    std::fs::write(out.join(AGENCY_FILE), json + "\n")
        .with_context(|| format!("writing {}", out.join(AGENCY_FILE).display()))?;
    let limits = out.join(crate::config::NODE_CONFIG_FILE);
    std::fs::write(&limits, crate::config::NodeLimits::default_file())
        .with_context(|| format!("writing {}", limits.display()))?;
    Ok(agency)
}

/// Suffix of an auditor's public file.
pub const AUDITOR_FILE_SUFFIX: &str = ".auditor.json";

/// Generates an auditor's request-signing key as `out/<id>.key` (mode 0600), writes the
/// public part to `out/<id>.auditor.json` and returns it.
///
/// Errors: an empty id, or `out` already holding that auditor's key or file.
pub fn generate_auditor(out: &Path, id: &str, name: &str) -> anyhow::Result<Auditor> {
    if id.trim().is_empty() {
        bail!("--id must not be empty");
    }
    let key_path = out.join(format!("{id}.key"));
    let pub_path = out.join(format!("{id}{AUDITOR_FILE_SUFFIX}"));
    for p in [&key_path, &pub_path] {
        if p.exists() {
            bail!(
                "{} already exists: refusing to overwrite an auditor's key",
                p.display()
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let key = SecretKey::generate(&mut rand::rngs::OsRng);
    write_secret(&key_path, &key)?;
    let auditor = Auditor {
        id: id.to_string(),
        name: if name.is_empty() {
            id.to_string()
        } else {
            name.to_string()
        },
        key: key.public(),
    };
    std::fs::write(&pub_path, serde_json::to_string_pretty(&auditor)? + "\n")
        .with_context(|| format!("writing {}", pub_path.display()))?;
    Ok(auditor)
}

/// Reads a JSON file holding one `T` and nothing else: a file carrying any other field (a
/// secret pasted by mistake) is refused. `kind` and `fields` name `T` and its public fields
/// in the errors.
fn read_public_file<T>(path: &Path, kind: &str, fields: &str) -> anyhow::Result<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let value: serde_json::Value = crate::cli::files::read_json(path, "JSON", 1 << 20)?;
    let what = format!("{} is not an {kind} file", path.display());
    let parsed: T =
        safeledger_client::input::from_value(value.clone(), &what).map_err(|mut e| {
            if safeledger_client::input::is_unknown_field(&e) {
                e.what = format!(
                    "{} holds fields other than an {kind}'s public ones ({fields}); refusing it",
                    path.display()
                );
            }
            e
        })?;
    if serde_json::to_value(&parsed)? != value {
        bail!(
            "{} holds fields other than an {kind}'s public ones ({fields}); refusing it",
            path.display()
        );
    }
    Ok(parsed)
}

/// Reads one auditor's public file: an `Auditor` JSON object with no other field.
pub fn read_auditor_file(path: &Path) -> anyhow::Result<Auditor> {
    read_public_file(path, "auditor", "id, name, key")
}

/// Reads one agency's public file: an `Agency` JSON object, nothing else (a file that
/// carries any other field — a secret pasted by mistake — is refused).
pub fn read_agency_file(path: &Path) -> anyhow::Result<Agency> {
    read_public_file(
        path,
        "agency",
        "id, name, role, node_key, officer_keys, p2p_addr, grpc_addr, tls_cert, power",
    )
}

/// Assembles and validates a genesis from the agencies' public files, in the order given.
///
/// Errors name the file or the problem: unreadable or non-agency files, an invalid or
/// repeated key, an undefined role, a repeated agency id, no voting power.
pub fn assemble(
    chain_id: &str,
    agency_files: &[PathBuf],
    auditor_files: &[PathBuf],
    roles: Option<BTreeMap<String, Vec<TxKind>>>,
    genesis_time: Timestamp,
) -> anyhow::Result<Genesis> {
    if agency_files.is_empty() {
        bail!("give at least one --agency-file");
    }
    let agencies = agency_files
        .iter()
        .map(|p| read_agency_file(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let genesis = Genesis {
        chain_id: chain_id.to_string(),
        genesis_time,
        agencies,
        roles: roles.unwrap_or_else(crate::cli::home::demo_roles),
        consensus: ConsensusParams::default(),
        auditors: auditor_files
            .iter()
            .map(|p| read_auditor_file(p))
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    genesis
        .validate()
        .context("the assembled genesis is not valid")?;
    Ok(genesis)
}

/// Writes `genesis` as pretty JSON to `out`, refusing to overwrite a file.
pub fn write_genesis(out: &Path, genesis: &Genesis) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} already exists; choose another --out", out.display());
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let json = serde_json::to_string_pretty(genesis)?;
    std::fs::write(out, json + "\n").with_context(|| format!("writing {}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, role: &str) -> AgencySpec {
        AgencySpec {
            id: id.into(),
            name: String::new(),
            role: role.into(),
            p2p_addr: None,
            grpc_addr: None,
            power: 1,
        }
    }

    #[test]
    fn generated_agencies_assemble_into_a_valid_genesis() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = generate(&d.path().join("a"), &spec("a", "licensing")).expect("a");
        let b = generate(&d.path().join("b"), &spec("b", "inspection")).expect("b");
        let files = vec![
            d.path().join("a/agency.json"),
            d.path().join("b/agency.json"),
        ];
        let g = assemble("c", &files, &[], None, Timestamp(1)).expect("genesis");
        assert_eq!(g.agencies, vec![a, b]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("a/node.key"))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_auditor_file_joins_the_genesis_and_a_key_collision_is_refused() {
        let d = tempfile::tempdir().expect("tmp");
        generate(&d.path().join("a"), &spec("a", "inspection")).expect("agency");
        let files = vec![d.path().join("a").join(AGENCY_FILE)];
        let aud = generate_auditor(&d.path().join("auditors"), "audit-1", "").expect("auditor");
        assert_eq!(aud.name, "audit-1");
        assert!(generate_auditor(&d.path().join("auditors"), "audit-1", "").is_err());
        let af = d.path().join("auditors").join("audit-1.auditor.json");
        let g =
            assemble("c", &files, std::slice::from_ref(&af), None, Timestamp(1)).expect("genesis");
        assert_eq!(g.auditors, vec![aud]);
        // The same auditor twice is a repeated id and key.
        assert!(assemble("c", &files, &[af.clone(), af], None, Timestamp(1)).is_err());
    }

    #[test]
    fn ceremony_refuses_overwrites_repeats_secrets_and_unknown_roles() {
        let d = tempfile::tempdir().expect("tempdir");
        generate(&d.path().join("a"), &spec("a", "licensing")).expect("a");
        crate::config::NodeLimits::load(&d.path().join("a").join(crate::config::NODE_CONFIG_FILE))
            .expect("keys generate writes a loadable node.toml");
        let again = generate(&d.path().join("a"), &spec("a", "licensing"));
        assert!(format!("{:#}", again.expect_err("refused")).contains("already exists"));
        let a = d.path().join("a/agency.json");
        let twice = assemble("c", &[a.clone(), a.clone()], &[], None, Timestamp(1));
        assert!(format!("{:#}", twice.expect_err("refused")).contains("appears twice"));
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&a).expect("read")).expect("json");
        v["node_secret"] = serde_json::json!("00");
        let leaky = d.path().join("leaky.json");
        std::fs::write(&leaky, v.to_string()).expect("write");
        let e = assemble("c", &[leaky], &[], None, Timestamp(1));
        assert!(format!("{:#}", e.expect_err("refused")).contains("other than"));
        generate(&d.path().join("x"), &spec("x", "no-such-role")).expect("x");
        let e = assemble(
            "c",
            &[d.path().join("x/agency.json")],
            &[],
            None,
            Timestamp(1),
        );
        assert!(format!("{:#}", e.expect_err("refused")).contains("undefined role"));
    }
}
