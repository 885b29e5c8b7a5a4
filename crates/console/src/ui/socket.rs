//! `/ws/console`: the page's one socket. In: the hand (also the heartbeat), the clutch and the
//! operator's buttons, decoded by `browser_input`. Out: the console's live view, 20 times a
//! second. The newest page to open the socket drives; when its socket closes, motion stops at
//! once (the dead-man's switch catches a page that freezes without closing).

use super::PageLink;
use crate::browser_input::PageMessage;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;
use std::time::Duration;

/// How often the page gets the view.
const VIEW_PERIOD: Duration = Duration::from_millis(50);

pub fn router(link: Arc<PageLink>) -> Router {
    Router::new()
        .route("/ws/console", get(upgrade))
        .with_state(link)
}

async fn upgrade(State(link): State<Arc<PageLink>>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(crate::browser_input::MAX_MESSAGE_LEN * 2)
        .on_upgrade(move |socket| drive(socket, link))
}

async fn drive(mut socket: WebSocket, link: Arc<PageLink>) {
    let page = link.master().attach();
    tracing::info!(page, "a console page connected; it drives the master");
    let mut ticker = tokio::time::interval(VIEW_PERIOD);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => on_message(&link, page, &text),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = ticker.tick() => {
                let text = snapshot(&link, page);
                if socket.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
        }
    }
    link.master().detach(page, link.now());
    tracing::warn!(page, "the console page disconnected: no motion from it");
}

fn on_message(link: &PageLink, page: u64, text: &str) {
    match PageMessage::decode(text) {
        Ok(PageMessage::Hand {
            position,
            jaw_rad,
            clutch,
        }) => {
            let now = link.now();
            link.master().on_hand(page, position, jaw_rad, clutch, now);
        }
        Ok(PageMessage::Action(action)) => {
            tracing::info!(action = action.name(), "operator, from the page");
            let _ = link.actions.send(action);
        }
        Err(e) => tracing::debug!("a page message refused: {e}"),
    }
}

fn snapshot(link: &PageLink, page: u64) -> String {
    let now = link.now();
    let (liveness, clutch, driving) = {
        let master = link.master();
        (
            master.liveness(now),
            master.clutched(),
            master.current_page() == page,
        )
    };
    let snapshot = link.view().snapshot(now, liveness, clutch);
    let mut value = serde_json::to_value(&snapshot).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("driving".into(), driving.into());
    }
    value.to_string()
}
