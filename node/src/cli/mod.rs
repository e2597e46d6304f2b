//! The `safeledger` commands: `init`, `node start`, `status`, `tx submit`,
//! `enterprise show`, `block show`, `import`, `demo`, `assistance request | respond |
//! list`.

pub mod assistance;
pub mod demo;
pub mod home;
pub mod submit;
