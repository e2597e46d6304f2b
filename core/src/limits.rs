//! Named bounds on every message, queue and request. Each is a hard limit: input over it
//! is refused with a typed error, never buffered.

/// Largest canonical message accepted from the network or the API, in bytes (4 MiB).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Largest gossip message, in bytes (1 MiB). A proposal whose block does not fit is
/// gossiped without it, and peers fetch the block over request-response (bounded by
/// [`MAX_MESSAGE_BYTES`]), so blocks up to [`MAX_BLOCK_BYTES`] reach every node.
pub const MAX_GOSSIP_BYTES: usize = 1024 * 1024;
/// Largest single transaction, in canonical bytes (64 KiB).
pub const MAX_TX_BYTES: usize = 64 * 1024;
/// Most signatures on one transaction envelope.
pub const MAX_TX_SIGNERS: usize = 8;
/// Most fields in one record (and salts in one envelope).
pub const MAX_RECORD_FIELDS: usize = 64;
/// Longest text field, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Most items (violations, ids) in one list field of a record.
pub const MAX_LIST_ITEMS: usize = 256;
/// Most transactions in one block.
pub const MAX_BLOCK_TXS: usize = 5_000;
/// Largest block body, in canonical bytes (3 MiB, under the message bound).
pub const MAX_BLOCK_BYTES: usize = 3 * 1024 * 1024;
/// Most transactions in one submitted or gossiped batch.
pub const MAX_BATCH_TXS: usize = 1_000;
/// Longest chain id, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;
/// How long an accepted [`crate::records::PrivateRead`] declaration lets its officer read
/// the declared private fields, in milliseconds of block time after the block that
/// committed it (15 minutes); later reads need a new declaration.
pub const READ_DECLARATION_VALIDITY_MS: u64 = 15 * 60 * 1000;
