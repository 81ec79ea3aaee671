//! One request's view of the listener: the shared [`Context`] and who is asking. Handlers
//! take a `Scope` and pass its caller to every broker call, where the authorizer decides.

use std::ops::Deref;
use std::sync::Arc;

use tidelog_broker::access::RequestContext;

use crate::server::Context;

pub(crate) struct Scope {
    pub server: Arc<Context>,
    pub caller: RequestContext,
}

impl Deref for Scope {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.server
    }
}

#[cfg(test)]
impl Scope {
    /// An anonymous local client of `broker`, for handler unit tests.
    pub(crate) fn for_tests(broker: Arc<tidelog_broker::Broker>) -> Arc<Scope> {
        let listener = crate::server::KafkaListener { advertised_host: "127.0.0.1".into(), advertised_port: 9092 };
        let server = Arc::new(Context {
            broker,
            listener,
            bound_addr: None,
            max_request_bytes: 100 << 20,
            request_budget: crate::budget::RequestBudget::new(100 << 20),
            share_sessions: Default::default(),
        });
        Arc::new(Scope { server, caller: RequestContext::local() })
    }
}
