//! The `safeledger` commands, in one place: the command line ([`args`], [`target`]), its
//! dispatch ([`run`]), and the handlers — network setup and the node ([`setup`],
//! [`ceremony`], [`home`]), the officer's records and reads ([`records`], [`submit`],
//! [`assistance`], [`private`]), the supervision loop's field work ([`plan`], [`alerts`],
//! [`tips`]), the auditor's views and proofs ([`audit`]), and the
//! demo, benchmark and simulation ([`demo`], [`bench`], `sim` in [`run`]).

pub mod act;
pub mod alerts;
pub mod args;
pub mod assistance;
pub mod audit;
pub mod audit_draw;
pub mod audit_state;
pub mod bench;
pub mod ceremony;
pub mod demo;
pub mod demo_field;
pub mod demo_synthetic;
pub mod disk;
pub mod exit;
pub mod files;
pub mod home;
pub mod import;
pub mod inbox;
pub mod liveness;
pub mod plan;
pub mod private;
pub mod records;
pub mod run;
pub mod search;
pub mod setup;
pub mod submit;
pub mod target;
pub mod text;
pub mod tips;
pub mod verbs;
pub mod when;

#[cfg(test)]
mod tests {
    /// clap's own checks of every command's definition (unique argument names among
    /// them: a positional `agency` beside `--agency` once made `governance set-validator`
    /// panic in debug builds and conflate the two in release builds).
    #[test]
    fn every_command_definition_is_consistent() {
        use clap::CommandFactory;
        super::args::Cli::command().debug_assert();
    }
}
