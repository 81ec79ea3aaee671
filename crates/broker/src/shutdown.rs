//! The shutdown signal every long-running task watches.

use tokio::sync::watch;

/// Resolves once `signal` is true (or its sender is gone). Holds no borrow across
/// `.await`, so futures using it stay `Send`.
pub async fn stopped(signal: &mut watch::Receiver<bool>) {
    let _ = signal.wait_for(|stop| *stop).await.map(|_| ());
}
