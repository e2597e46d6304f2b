//! Helpers shared by the network crate's loopback tests.

use std::future::Future;
use std::time::Duration;

use safeledger_core::SecretKey;
use tokio::time::{sleep, timeout, Instant};

/// Logs to the test writer, filtered by `RUST_LOG`.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// The node key with every seed byte `seed`.
pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32])
}

/// Polls `check` every 50 ms until it holds; panics with `what` after `limit`.
pub async fn wait_until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `test` with logs on; panics if it takes longer than `deadline`.
pub async fn with_deadline(deadline: Duration, test: impl Future<Output = ()>) {
    init_logs();
    timeout(deadline, test)
        .await
        .expect("test exceeded its deadline");
}
