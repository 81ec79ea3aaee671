//! The request byte budget (`queued.max.request.bytes`): bytes of request frames read or
//! being read and not yet answered, across every connection.
//!
//! A frame reserves its declared size before its body is read and gives it back when
//! the reservation is dropped (after its response is written). A reservation that does
//! not fit waits until some are given back; one that fits is granted at once even while
//! larger ones wait, so a client that declares 100 MiB frames and stalls holds up only
//! frames that do not fit beside it, not every small request behind it (a first-come
//! queue would, as Kafka's muting of channels avoids too). A frame larger than the whole
//! budget reserves all of it: it waits for an idle moment instead of forever.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use tokio::sync::Notify;

#[derive(Debug)]
pub(crate) struct RequestBudget {
    /// 0 when unbounded (`queued.max.request.bytes` ≤ 0, as in Kafka).
    limit: usize,
    reserved: AtomicUsize,
    given_back: Notify,
}

impl RequestBudget {
    pub(crate) fn new(queued_max_request_bytes: i64) -> Arc<Self> {
        let limit = usize::try_from(queued_max_request_bytes).unwrap_or(0);
        Arc::new(RequestBudget { limit, reserved: AtomicUsize::new(0), given_back: Notify::new() })
    }

    /// Reserves `len` bytes (all of the budget, if `len` is larger): at once when they
    /// fit, else through a future that waits until they do.
    pub(crate) fn reserve(self: &Arc<Self>, len: usize) -> Reserve {
        if self.limit == 0 {
            return Reserve::Unbounded;
        }
        let bytes = len.min(self.limit);
        if self.try_take(bytes) {
            return Reserve::Granted(Reservation { budget: self.clone(), bytes });
        }
        let budget = self.clone();
        Reserve::Wait(
            async move {
                loop {
                    // Registered before trying, so a release between the try and the wait wakes it.
                    let mut given_back = pin!(budget.given_back.notified());
                    given_back.as_mut().enable();
                    if budget.try_take(bytes) {
                        break;
                    }
                    given_back.await;
                }
                Reservation { budget, bytes }
            }
            .boxed(),
        )
    }

    fn try_take(&self, bytes: usize) -> bool {
        let taken = self
            .reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |reserved| {
                reserved.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok();
        if taken {
            crate::metrics::request_bytes_reserved(bytes as i64);
        }
        taken
    }

    /// Bytes reserved at the moment.
    #[cfg(test)]
    pub(crate) fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Acquire)
    }
}

/// What [`RequestBudget::reserve`] gives: nothing to hold, the bytes, or a wait for them.
pub(crate) enum Reserve {
    Unbounded,
    Granted(Reservation),
    Wait(BoxFuture<'static, Reservation>),
}

/// Bytes of the budget held by one frame, given back on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<RequestBudget>,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.reserved.fetch_sub(self.bytes, Ordering::AcqRel);
        crate::metrics::request_bytes_reserved(-(self.bytes as i64));
        // Every waiter tries again: any of them may fit now, whatever its place.
        self.budget.given_back.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn granted(reserve: Reserve) -> Reservation {
        match reserve {
            Reserve::Granted(reservation) => reservation,
            _ => panic!("expected the bytes at once"),
        }
    }

    fn waiting(reserve: Reserve) -> BoxFuture<'static, Reservation> {
        match reserve {
            Reserve::Wait(wait) => wait,
            _ => panic!("expected to wait"),
        }
    }

    #[tokio::test]
    async fn what_fits_is_granted_beside_a_waiting_large_reservation() {
        let budget = RequestBudget::new(1000);
        let first = granted(budget.reserve(600));
        let mut large = waiting(budget.reserve(600));
        assert!((&mut large).now_or_never().is_none(), "600 + 600 > 1000");
        let small = granted(budget.reserve(300));
        drop(first);
        let large = tokio::time::timeout(Duration::from_secs(1), large).await.expect("fits once 600 came back");
        assert_eq!(budget.reserved(), 900);
        drop((small, large));
        assert_eq!(budget.reserved(), 0);
    }

    #[tokio::test]
    async fn a_frame_larger_than_the_budget_takes_all_of_it_when_all_is_free() {
        let budget = RequestBudget::new(1000);
        let small = granted(budget.reserve(1));
        let huge = waiting(budget.reserve(5000));
        drop(small);
        let huge = tokio::time::timeout(Duration::from_secs(1), huge).await.expect("the whole budget");
        assert_eq!(budget.reserved(), 1000);
        drop(huge);
        assert!(matches!(RequestBudget::new(-1).reserve(5000), Reserve::Unbounded), "-1: unbounded");
        assert!(matches!(RequestBudget::new(0).reserve(5000), Reserve::Unbounded), "0: unbounded, as in Kafka");
    }
}
