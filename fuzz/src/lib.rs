//! Coverage-guided fuzz targets for every decoder of untrusted bytes (README "Fuzzing").
//! The targets' bodies are in [`checks`], shared with the corpus replay test in the normal
//! test suite.

pub mod checks;
