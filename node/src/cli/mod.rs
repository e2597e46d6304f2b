//! The `safeledger` commands: `init`, `node start`, `status`, `tx submit`,
//! `enterprise show`, `block show`, `import`, `demo`, `bench`, `assistance request |
//! respond | list`, `private erase`, and the key ceremony (`keys generate`, `genesis
//! assemble`).

pub mod assistance;
pub mod bench;
pub mod ceremony;
pub mod demo;
pub mod home;
pub mod private;
pub mod submit;
