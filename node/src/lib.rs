//! # safeledger-node
//!
//! Consensus (a sans-IO Tendermint core and its driver), mempool, sled stores, execution
//! through `safeledger-contracts`, the tonic gRPC service, and the `safeledger` binary.

pub mod consensus;
