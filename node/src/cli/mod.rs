//! The `safeledger` commands: `init`, `node start`, `status`, `tx submit`,
//! `enterprise show`, `block show`, `import`, `demo`.

pub mod demo;
pub mod home;
pub mod submit;
