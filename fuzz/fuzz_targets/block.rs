//! Fuzz target: see [`safeledger_fuzz::checks::block`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| safeledger_fuzz::checks::block(data));
