//! The exit status of every `safeledger` command (issue 18, point 2; README "Exit codes"):
//! one table for all commands, so that a script can tell a refusal from a success and an
//! unreachable network from a bad argument.
//!
//! A handler returns a [`Failure`] (through `anyhow`) to choose its code; errors of the
//! client library and of input parsing are classified by [`code_of`] wherever they occur
//! in the error chain.

use safeledger_client::input::InputError;
use safeledger_client::rpc::ClientError;
use std::fmt;

/// Exit codes, the same for every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done; a submitted transaction committed and was accepted.
    Ok = 0,
    /// 1: failed for another reason (a proof that does not verify, a local file or store
    /// error).
    Error = 1,
    /// 2: bad usage — an unknown flag, an argument or input file that is not valid
    /// (clap's own usage errors are also 2).
    Usage = 2,
    /// 3: committed, but refused by a rule (the result names the rule).
    RefusedByRule = 3,
    /// 4: rejected at admission, never committed (bad signature, stale sequence, too
    /// large, ... — the node's typed reason).
    Rejected = 4,
    /// 5: no node answered, or the deadline passed before an answer; a submitted
    /// transaction may still commit (`tx show <id>` tells).
    Unavailable = 5,
    /// 6: the node refused the request itself (not authenticated, not permitted, not
    /// found, invalid argument).
    Denied = 6,
    /// 130: interrupted (Ctrl-C); the message says how to resume.
    Interrupted = 130,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error that chooses its exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// What to print after `error: `.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// An error exiting with `exit`.
pub fn fail(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    Failure {
        exit,
        message: message.into(),
    }
    .into()
}

/// A bad-usage error (exit 2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    fail(Exit::Usage, message)
}

/// The exit code for `e`: the first [`Failure`], client or input error found in its chain
/// (outermost first), else [`Exit::Error`].
pub fn code_of(e: &anyhow::Error) -> Exit {
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.exit;
        }
        if cause.downcast_ref::<InputError>().is_some() {
            return Exit::Usage;
        }
        if let Some(c) = cause.downcast_ref::<ClientError>() {
            return client_exit(c);
        }
        if let Some(c) = cause.downcast_ref::<safeledger_client::audit::AuditClientError>() {
            use safeledger_client::audit::AuditClientError as A;
            return match c {
                A::Unreachable(_) => Exit::Unavailable,
                A::Status(s) => client_exit(&ClientError::Status(s.clone())),
                A::Document(_) | A::Malformed => Exit::Error,
            };
        }
    }
    Exit::Error
}

/// The exit code for a client error.
pub fn client_exit(e: &ClientError) -> Exit {
    use tonic::Code;
    match e {
        ClientError::Unreachable(_) | ClientError::Timeout(_) => Exit::Unavailable,
        ClientError::Refused(..) => Exit::Rejected,
        ClientError::Endpoint(_) => Exit::Usage,
        ClientError::Decode(_) => Exit::Error,
        ClientError::Status(s) => match s.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                Exit::Unavailable
            }
            Code::InvalidArgument
            | Code::NotFound
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::AlreadyExists
            | Code::ResourceExhausted
            | Code::Unimplemented => Exit::Denied,
            _ => Exit::Error,
        },
    }
}

/// The README's table, for `--help` and the test that keeps the README true.
pub const TABLE: &str = "\
exit codes (every command):
  0  done (a submitted transaction committed and was accepted)
  1  failed for another reason (a proof that does not verify, a local file or store error)
  2  bad usage: an argument or input file that is not valid
  3  committed, but refused by a rule (the result names the rule)
  4  rejected at admission, never committed (the node's reason)
  5  no node answered, or the deadline passed (a submitted transaction may still commit:
     `safeledger tx show <id>` tells)
  6  the node refused the request (not authenticated, not permitted, not found, invalid)
  130  interrupted (Ctrl-C); it says how to resume";

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn the_code_is_found_under_context() {
        let e = Err::<(), _>(usage("bad date"))
            .context("reading --effective-at")
            .unwrap_err();
        assert_eq!(code_of(&e), Exit::Usage);
        let e = anyhow::Error::new(ClientError::Status(tonic::Status::not_found("no such")));
        assert_eq!(code_of(&e), Exit::Denied);
        let e = anyhow::Error::new(ClientError::Unreachable("a".into()));
        assert_eq!(code_of(&e), Exit::Unavailable);
        assert_eq!(code_of(&anyhow::anyhow!("disk full")), Exit::Error);
    }

    #[test]
    fn the_table_lists_every_code() {
        for exit in [
            Exit::Ok,
            Exit::Error,
            Exit::Usage,
            Exit::RefusedByRule,
            Exit::Rejected,
            Exit::Unavailable,
            Exit::Denied,
            Exit::Interrupted,
        ] {
            assert!(
                TABLE.contains(&format!("\n  {}  ", exit.code())),
                "{exit:?} missing from the table"
            );
        }
    }
}
