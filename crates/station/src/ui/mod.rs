//! The bedside panel: a page served by the station process itself (assets embedded,
//! `web/bedside/`), signed in with the one-time token in the URL the station prints. It shows the
//! supervisor state and its changes, who holds control, the latched e-stop and the measured tip,
//! and offers the bedside team's buttons (e-stop, clear, take over, hand back, confirm). Those
//! buttons act as the station's own local input only when the page is served on the station's
//! loopback (a browser on the station's own machine) or to a browser presenting a bedside
//! certificate of the medlink CA over HTTPS; anyone else signed in only watches.

use crate::Bedside;
use crate::bedside_view::BedsideView;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use teleop::LocalRequest;
use webui::{Access, Asset, ClientCertificate, Server, TlsFiles, asset};

pub const ASSETS: &[Asset] = &[
    asset!("bedside", "index.html", "html"),
    asset!("bedside", "style.css", "css"),
    asset!("bedside", "bedside.js", "js"),
];

const COOKIE: &str = "medlink_bedside";

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BedsideUiError(#[from] webui::WebUiError);

#[derive(Clone)]
struct Panel {
    view: Arc<BedsideView>,
    bedside: Bedside,
    /// Served on a loopback address: only a browser on this machine reaches it.
    loopback: bool,
}

impl Panel {
    fn may_act(&self, client: &ClientCertificate) -> (bool, String) {
        may_act(self.loopback, client)
    }
}

/// Whether the person at a panel served on loopback (or not) with this client certificate may
/// press the bedside buttons, and why (or why not).
fn may_act(loopback: bool, client: &ClientCertificate) -> (bool, String) {
    match (&client.0, loopback) {
        (Some(identity), _) if identity.role == trust::Role::Bedside => {
            (true, format!("{} (bedside certificate)", identity.name))
        }
        (_, true) => (true, "this station's own screen (loopback)".into()),
        (Some(identity), false) => (
            false,
            format!(
                "{} ({}): watch only, not a bedside certificate",
                identity.name, identity.role
            ),
        ),
        (None, false) => (false, "watch only: no bedside certificate".into()),
    }
}

/// The running panel.
pub struct BedsidePage {
    server: Server,
    access: Arc<Access>,
}

impl BedsidePage {
    /// Serves the panel on `listen`: plain HTTP on loopback, else HTTPS with `tls` (the station's
    /// own certificate, which names it).
    pub fn start(
        listen: SocketAddr,
        tls: Option<TlsFiles>,
        view: Arc<BedsideView>,
        bedside: Bedside,
    ) -> Result<Self, BedsideUiError> {
        let access = Access::new(COOKIE, tls.is_some())?;
        let panel = Panel {
            view,
            bedside,
            loopback: listen.ip().is_loopback(),
        };
        let api = Router::new()
            .route("/api/state", get(state))
            .route("/api/action", post(action))
            .with_state(panel);
        let app =
            webui::assets::router(ASSETS)
                .merge(api)
                .layer(axum::middleware::from_fn_with_state(
                    access.clone(),
                    webui::access::guard,
                ));
        let server = Server::start("bedside", listen, tls, app)?;
        Ok(Self { server, access })
    }

    pub fn url(&self) -> String {
        self.server.url(self.access.token().as_deref())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

#[derive(Serialize)]
struct StateReply {
    #[serde(flatten)]
    snapshot: crate::bedside_view::BedsideSnapshot,
    may_act: bool,
    who: String,
}

async fn state(
    State(panel): State<Panel>,
    Extension(client): Extension<ClientCertificate>,
) -> Json<StateReply> {
    let (may_act, who) = panel.may_act(&client);
    let snapshot = panel.view.snapshot().clone();
    Json(StateReply {
        snapshot,
        may_act,
        who,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionRequest {
    command: String,
}

async fn action(
    State(panel): State<Panel>,
    Extension(client): Extension<ClientCertificate>,
    Json(request): Json<ActionRequest>,
) -> Response {
    let (may_act, who) = panel.may_act(&client);
    if !may_act {
        return (StatusCode::FORBIDDEN, who).into_response();
    }
    match LocalRequest::parse(&request.command) {
        Ok(Some(local)) => {
            tracing::info!(request = local.name(), by = %who, "bedside panel");
            panel.bedside.request(local);
            (StatusCode::ACCEPTED, "sent to the supervisor").into_response()
        }
        Ok(None) => (StatusCode::BAD_REQUEST, "empty command").into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(role: trust::Role) -> ClientCertificate {
        ClientCertificate(Some(trust::Identity {
            name: "Nurse Ana".into(),
            role,
            serial: "01".into(),
            not_before: 0,
            not_after: i64::MAX,
        }))
    }

    #[test]
    fn only_the_station_s_own_screen_or_a_bedside_certificate_may_act() {
        assert!(may_act(true, &ClientCertificate(None)).0);
        assert!(!may_act(false, &ClientCertificate(None)).0);
        assert!(may_act(false, &identity(trust::Role::Bedside)).0);
        let (may, why) = may_act(false, &identity(trust::Role::Surgeon));
        assert!(!may && why.contains("watch only"), "{why}");
    }
}
