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
