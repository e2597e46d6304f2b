//! # safeledger-client
//!
//! What officers and auditors use to reach the ledger: the gRPC client with fail-over
//! ([`rpc`]), the importer of public regulator records ([`import`]), and the generated
//! protocol types ([`proto`]). Depends only on `safeledger-core`: never on the node,
//! network or contracts crates.

pub mod audit;
pub mod auth;
pub mod import;
pub mod input;
pub mod rpc;
pub mod tls;

/// Types and service stubs generated from `proto/safeledger.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("safeledger.v1");

    /// The encoded `FileDescriptorSet` of the API, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/safeledger_descriptor.bin"));
}
