//! The `safeledger` commands: `init`, `node start`, `status`, `tx submit`,
//! `enterprise show`, `block show`, `import`, `demo`, `bench`.

pub mod bench;
pub mod demo;
pub mod home;
pub mod submit;
