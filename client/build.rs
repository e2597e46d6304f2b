//! Compiles proto/safeledger.proto with the pure-Rust `protox` (no system protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/safeledger.proto");
    let fds = protox::compile(["proto/safeledger.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
