//! Fuzz target: see [`safeledger_fuzz::checks::csv_import`].
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

fn data_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("safeledger-fuzz-csv-{}", std::process::id()));
        if let Err(e) = safeledger_fuzz::checks::csv_data_dir(&dir) {
            panic!("cannot write the CSV templates to {}: {e}", dir.display());
        }
        dir
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| safeledger_fuzz::checks::csv_import(data_dir(), data));
