//! Event streams end with their caller's credential: an open server-sent-event stream re-checks
//! the session or token it was opened with every [`RECHECK_EVERY`] and closes once it has been
//! signed out, has expired, or its account was disabled or its token revoked (the guard checks
//! only when a request starts, and a stream is one request that lasts).

use crate::Shared;
use crate::auth::Principal;
use axum::response::sse::Event;
use futures_util::{Stream, StreamExt};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How often an open stream re-checks its caller.
pub const RECHECK_EVERY: Duration = Duration::from_secs(2);

type Events = Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>;

/// `events`, until `principal`'s session or token is no longer valid (or the check fails).
pub fn while_signed_in<S>(
    shared: Arc<Shared>,
    principal: Principal,
    events: S,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let state = (Box::pin(events) as Events, recheck, shared, principal);
    futures_util::stream::unfold(
        state,
        |(mut events, mut recheck, shared, principal)| async move {
            loop {
                tokio::select! {
                    next = events.next() => {
                        return next.map(|event| (event, (events, recheck, shared, principal)));
                    }
                    _ = recheck.tick() => {
                        if !shared.auth.still_valid(&principal).unwrap_or(false) {
                            tracing::info!(caller = %principal.name, "event stream closed: its session or token ended");
                            return None;
                        }
                    }
                }
            }
        },
    )
}
