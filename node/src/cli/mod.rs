//! The `safeledger` commands: `init`, `node start`, `status`, `tx submit`,
//! `enterprise show`, `block show`, `import`, `demo`, `bench`, `assistance request |
//! respond | list`.

pub mod assistance;
pub mod bench;
pub mod demo;
pub mod home;
pub mod submit;
