//! `safeledger`: run a node, the demo, and the officer and auditor commands. This file
//! only parses the command line and dispatches ([`safeledger_node::cli`]).
//!
//! Commands reach a node with `--node <URL>` or, with `--home <DIR>`, any node of the
//! network directory that `init` or `demo --dir` created (failing over between them).

use clap::Parser;
use safeledger_node::cli::args::{Cli, Cmd};

/// mimalloc instead of the system allocator: a node allocates and frees many small
/// buffers per transaction (decoding, encoding, state values), which glibc malloc served
/// with a quarter of a node's CPU time (issue 7 profile). It builds from source (C, `cc`)
/// and links into the static binary of `docker/build-image.sh`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process (Linux; best effort). With THP set
/// to `always`, memory the allocator returned to the system came back as 2 MiB pages that
/// the kernel zeroes on first touch: at load, `clear_page_erms` took a sixth of a node's
/// CPU time (issue 7 profile). Memory use is unchanged or lower.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn prctl(option: std::ffi::c_int, ...) -> std::ffi::c_int;
        }
        const PR_SET_THP_DISABLE: std::ffi::c_int = 41;
        // SAFETY: prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) only sets a flag of this process;
        // the arguments are plain integers and a failure (an old kernel) changes nothing.
        let _ = unsafe {
            prctl(
                PR_SET_THP_DISABLE,
                1 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
            )
        };
    }
}

/// Restores the default action of SIGPIPE (Linux; Rust ignores it at start): `safeledger
/// block show | head` then ends quietly when `head` closes the pipe, as other command-line
/// tools do, instead of panicking on the failed write.
fn default_sigpipe() {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn signal(signum: std::ffi::c_int, handler: usize) -> usize;
        }
        const SIGPIPE: std::ffi::c_int = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: signal(SIGPIPE, SIG_DFL) only resets this process's disposition of one
        // signal to its default, before any thread is started.
        let _ = unsafe { signal(SIGPIPE, SIG_DFL) };
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Only for commands that print and end: a node (and the demo and bench supervising
    // nodes) keeps ignoring SIGPIPE, so a closed pipe is an error it handles, not its end.
    if !matches!(
        cli.cmd,
        Cmd::Node { .. } | Cmd::Demo { .. } | Cmd::Bench { .. }
    ) {
        default_sigpipe();
    }
    run(cli)
}

#[tokio::main]
async fn run(cli: Cli) -> std::process::ExitCode {
    disable_transparent_huge_pages();
    match safeledger_node::cli::run::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(safeledger_node::cli::exit::code_of(&e).code())
        }
    }
}
