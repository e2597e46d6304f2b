//! # safeledger-node
//!
//! Consensus (a sans-IO Tendermint core and its driver), mempool, sled stores, execution
//! through `safeledger-contracts`, the tonic gRPC service, and the `safeledger` binary.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod consensus;
pub mod grpc;
pub mod ledger;
pub mod mempool;
pub mod node;
pub mod ops;
pub mod partition;
pub mod private_erase;
pub mod private_store;
pub mod ratelimit;
pub mod sim;
pub mod store;
pub mod wal;
pub mod wire;
