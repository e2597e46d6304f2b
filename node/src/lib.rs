//! # safeledger-node
//!
//! Consensus (a sans-IO Tendermint core inside the node's sans-IO machine, `machine`, and
//! the shell that performs its actions, `shell`), the application that executes blocks
//! through `safeledger-contracts` (`app`), mempool, sled stores, the tonic gRPC service,
//! and the `safeledger` binary.

// The shell — modules that own the clock, sockets, files and key generation — opts out of
// the machine's determinism lints (`clippy.toml`), one module at a time; every other
// module is checked.
pub mod app;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod audit;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod auth;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod cli;
pub mod config;
pub mod consensus;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod console;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod evidence_store;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod grpc;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod inbox;
pub mod machine;
pub mod mempool;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod ops;
pub mod partition;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod private_erase;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod private_store;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod ratelimit;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod search;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod shell;
pub mod sim;
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod snapshot;
pub mod store;
pub mod wal;
pub mod wire;
