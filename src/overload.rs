//! Load shedding: how many `/mcp` requests the process works on at once, and how many of those
//! one caller may hold. Past either bound a request is refused at once with 503 and
//! `Retry-After`, never queued.
//!
//! Without a bound, requests beyond what the instance can serve wait: in hyper, behind the CPU,
//! behind the four Graph requests a mailbox allows at once. Each keeps its memory while it waits
//! (up to a Graph answer of 10 MiB, a file of 10 MiB), until the client or the Functions proxy
//! gives up (240 s), and every request behind it waits too. A 503 with `Retry-After` costs
//! microseconds, tells the client exactly what to do, and lets the platform's scale-out catch
//! up.
//!
//! Two bounds, two tower layers around `/mcp` (see [`crate::app`]):
//!
//! 1. **The process** ([`admit`], `MCP_MAX_CONCURRENT_REQUESTS`). Counted from *before* the
//!    gateway proof and authentication, so unauthenticated load is bounded too: however many
//!    requests with bad tokens, or with tokens whose signing key must first be fetched, arrive
//!    together, at most this many are in flight.
//! 2. **Each caller** ([`per_caller`], `MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER`). Counted right
//!    *after* authentication, per tenant and object id (a user, or an application's service
//!    principal), the only identity that cannot be made up. One caller holds at most this many
//!    of the process's slots, so however hard one user or one runaway agent pushes, everyone
//!    else keeps the rest. The requests a caller sends beyond its share hold a process slot only
//!    for as long as authenticating them takes.
//!
//! Nothing is kept per caller beyond the count of its requests in flight: an entry goes when
//! its last request ends, so memory follows the requests in flight, not the callers seen.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use crate::{caller::Caller, config::ConcurrencyLimits, telemetry::AuthFacts};

/// What a shed request is told to wait, in seconds: the requests that hold the slots mostly end
/// within a second or two (a Graph round trip or a few).
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// The shared state of both layers.
#[derive(Clone)]
pub struct Overload {
    slots: Arc<Semaphore>,
    per_caller: usize,
    callers: Arc<Mutex<HashMap<(String, String), usize>>>,
}

impl Overload {
    pub fn new(limits: ConcurrencyLimits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.process)),
            per_caller: limits.per_caller,
            callers: Arc::default(),
        }
    }

    /// A slot of `caller`'s, held until the guard drops; `None` when they hold all theirs.
    fn enter(&self, caller: &Caller) -> Option<CallerSlot> {
        let key = (caller.tenant_id.clone(), caller.object_id.clone());
        let mut callers = self.callers.lock().unwrap_or_else(PoisonError::into_inner);
        let held = callers.entry(key.clone()).or_default();
        if *held >= self.per_caller {
            return None;
        }
        *held += 1;
        Some(CallerSlot {
            callers: Arc::clone(&self.callers),
            key,
        })
    }

    /// How many callers hold a slot now: the bookkeeping's unit test checks nothing is kept.
    #[cfg(test)]
    fn callers_in_flight(&self) -> usize {
        self.callers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One request of one caller in flight; dropping it (the request ended, or the client went
/// away) gives the slot back.
struct CallerSlot {
    callers: Arc<Mutex<HashMap<(String, String), usize>>>,
    key: (String, String),
}

impl Drop for CallerSlot {
    fn drop(&mut self) {
        let mut callers = self.callers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = callers.get_mut(&self.key) {
            *held -= 1;
            if *held == 0 {
                callers.remove(&self.key);
            }
        }
    }
}

/// Layer before the gateway proof and authentication: a process slot, or 503 now.
pub async fn admit(State(overload): State<Overload>, request: Request, next: Next) -> Response {
    let Ok(_slot) = overload.slots.clone().try_acquire_owned() else {
        return shed(
            "The server is busy: it is working on as many requests as it takes at once.",
            AuthFacts::refused("shed_process_limit", None),
        );
    };
    next.run(request).await
}

/// Layer right after authentication: one of the caller's slots, or 503 now.
pub async fn per_caller(
    State(overload): State<Overload>,
    request: Request,
    next: Next,
) -> Response {
    let Some(caller) = request.extensions().get::<Arc<Caller>>().cloned() else {
        // Authentication lets no request through without a caller.
        return next.run(request).await;
    };
    let Some(_slot) = overload.enter(&caller) else {
        return shed(
            &format!(
                "You have {} requests in flight at this server, as many as one caller may; \
                 wait for one to finish.",
                overload.per_caller
            ),
            AuthFacts::refused("shed_caller_limit", Some(caller.identity())),
        );
    };
    next.run(request).await
}

/// 503 with `Retry-After`, in the shape of the server's other refusals.
fn shed(description: &str, facts: AuthFacts) -> Response {
    let body = serde_json::json!({
        "error": "temporarily_unavailable",
        "error_description": description,
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response.extensions_mut().insert(facts);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::{BearerToken, CallerKind};

    fn caller(oid: &str) -> Caller {
        Caller {
            tenant_id: "tenant".into(),
            object_id: oid.into(),
            client_app_id: "app".into(),
            kind: CallerKind::User,
            scopes: vec![],
            roles: vec![],
            token: Some(BearerToken::new("token".into())),
        }
    }

    #[test]
    fn a_caller_holds_at_most_its_share_and_gets_slots_back() {
        let overload = Overload::new(ConcurrencyLimits {
            process: 10,
            per_caller: 2,
        });
        let (adele, alex) = (caller("adele"), caller("alex"));
        let first = overload.enter(&adele).unwrap();
        let second = overload.enter(&adele).unwrap();
        assert!(overload.enter(&adele).is_none(), "a third is refused");
        let other = overload.enter(&alex).unwrap();
        assert_eq!(overload.callers_in_flight(), 2);
        drop(first);
        let again = overload.enter(&adele).unwrap();
        drop((second, again, other));
        assert_eq!(overload.callers_in_flight(), 0, "nothing kept once idle");
    }
}
