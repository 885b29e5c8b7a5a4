//! The surgeon's console in a browser: a page served by the console process itself (assets
//! embedded, `web/console/`), signed in with the one-time token in the URL the console prints,
//! and one WebSocket (`/ws/console`) that carries the page's hand, clutch and buttons in and
//! the console's live view out. The console keeps its 1 kHz loop and its teleoperation mapping;
//! the page never talks to the station.

pub mod live_view;
mod socket;

use crate::browser_input::{BrowserMaster, DEAD_MAN_TIMEOUT};
use axum::Router;
use live_view::LiveView;
use robot::Pose;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};
use teleop::OperatorAction;
use webui::{Access, Asset, Server, TlsFiles, asset};

/// The page's files, in the binary.
pub const ASSETS: &[Asset] = &[
    asset!("console", "index.html", "html"),
    asset!("console", "style.css", "css"),
    asset!("console", "app.js", "js"),
    asset!("console", "arm_view.js", "js"),
    asset!("console", "master_input.js", "js"),
    asset!("console", "panels.js", "js"),
    asset!("console", "video.js", "js"),
];

/// The session cookie's name.
const COOKIE: &str = "medlink_console";

/// What the console's run and its page share.
pub struct PageLink {
    epoch: Instant,
    master: Mutex<BrowserMaster>,
    view: Mutex<LiveView>,
    actions: mpsc::Sender<OperatorAction>,
    /// The page's hand drives the master (else a script does and the page watches; its
    /// buttons still act).
    pub drives: bool,
    /// Set when the console should finish (Ctrl-C): the run says bye and stops.
    pub stop: AtomicBool,
}

impl PageLink {
    /// The master starts at `origin` (a pose the station's arm is aligned with, e.g. the
    /// scripted motion's first); the operator's buttons come out of the receiver. `drives`:
    /// the page's hand is the master (else the page watches a scripted run).
    pub fn new(
        origin: Pose,
        workspace_radius_m: f64,
        min_insertion_m: f64,
        drives: bool,
    ) -> (Arc<Self>, mpsc::Receiver<OperatorAction>) {
        let (actions, rx) = mpsc::channel();
        let link = Arc::new(Self {
            epoch: Instant::now(),
            master: Mutex::new(BrowserMaster::new(origin, DEAD_MAN_TIMEOUT)),
            view: Mutex::new(LiveView::new(workspace_radius_m, min_insertion_m)),
            actions,
            drives,
            stop: AtomicBool::new(false),
        });
        (link, rx)
    }

    /// The page clock: the one time base of the master's dead-man's switch.
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub fn master(&self) -> MutexGuard<'_, BrowserMaster> {
        self.master
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn view(&self) -> MutexGuard<'_, LiveView> {
        self.view
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct UiError(#[from] webui::WebUiError);

/// The running page.
pub struct ConsolePage {
    server: Server,
    access: Arc<Access>,
}

impl ConsolePage {
    /// Serves the page on `listen` (plain HTTP on loopback; elsewhere `tls` is required).
    /// `extra` is merged in behind the same sign-in (the video socket).
    pub fn start(
        listen: SocketAddr,
        tls: Option<TlsFiles>,
        link: Arc<PageLink>,
        extra: Option<Router>,
    ) -> Result<Self, UiError> {
        let access = Access::new(COOKIE, tls.is_some())?;
        let mut app = webui::assets::router(ASSETS).merge(socket::router(link));
        if let Some(extra) = extra {
            app = app.merge(extra);
        }
        let app = app.layer(axum::middleware::from_fn_with_state(
            access.clone(),
            webui::access::guard,
        ));
        let server = Server::start("console", listen, tls, app)?;
        Ok(Self { server, access })
    }

    /// The URL to open, with the one-time sign-in token (until it is used).
    pub fn url(&self) -> String {
        self.server.url(self.access.token().as_deref())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}
