//! R0-effective-date: a record's `effective_at` (when the act happened) is never later
//! than its block's time (DESIGN §5 "Two clocks").

use super::{when, Refusal, R0_EFFECTIVE_DATE};
use safeledger_core::Timestamp;

/// Passes when `effective_at <= block_time`.
pub fn check(effective_at: Timestamp, block_time: Timestamp) -> Result<(), Refusal> {
    if effective_at <= block_time {
        return Ok(());
    }
    Err(Refusal::new(
        R0_EFFECTIVE_DATE,
        format!(
            "effective_at {} is after the block time {}",
            when(effective_at),
            when(block_time)
        ),
    ))
}
