//! `--ui ADDR` of `medlink console` and `medlink demo`: the surgeon's console page, served by the
//! console process (crates/console/src/ui, web/console/), signed in with the one-time token in
//! the URL printed at start; HTTPS with a certificate of the medlink CA off loopback.

use anyhow::Context;
use clap::Args;
use console::ui::{ConsolePage, PageLink};
use robot::script::{MasterInput, SurgicalScript};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Args, Clone)]
pub struct UiArgs {
    /// Serve the surgeon's page on this address (default with a bare `--ui`: 127.0.0.1:8480) and
    /// take the master input from it instead of the script (docs/console-ui.md).
    #[arg(long, num_args = 0..=1, default_missing_value = "127.0.0.1:8480")]
    pub ui: Option<SocketAddr>,
    /// Off loopback the page is HTTPS: the file stem, in the PKI directory, of the certificate
    /// it is served with (one the medlink CA issued for the name the browser uses, e.g.
    /// `medlink pki issue --role station --name "Console laptop" --station-name 10.1.2.4`).
    #[arg(long, requires = "ui")]
    pub ui_certificate: Option<String>,
}

/// The console's page and what its run needs from it.
pub struct ConsoleUi {
    pub page: ConsolePage,
    pub link: Arc<PageLink>,
    /// The page's buttons, for the console run's `Controls::actions`.
    pub actions: Option<std::sync::mpsc::Receiver<teleop::OperatorAction>>,
}

/// Starts the page when `--ui` was given, with the station's video behind it: the console's
/// clock zero is fixed here so that the video feed and the run share it. `drives`: the page's
/// hand is the master (else the page watches the scripted run).
pub fn start_for(
    args: &UiArgs,
    config: &mut console::ConsoleConfig,
    drives: bool,
) -> anyhow::Result<Option<ConsoleUi>> {
    if args.ui.is_none() {
        return Ok(None);
    }
    let epoch = *config
        .shared_epoch
        .get_or_insert_with(std::time::Instant::now);
    let video = config
        .video
        .get_or_insert_with(|| console::video::VideoFeed::new(epoch))
        .clone();
    let extra = console::video_socket::router(video);
    args.start(&config.pki_dir, Some(extra), drives)
}

impl UiArgs {
    /// Starts the page when `--ui` was given; `extra` is merged behind the same sign-in.
    pub fn start(
        &self,
        pki_dir: &Path,
        extra: Option<webui::Router>,
        drives: bool,
    ) -> anyhow::Result<Option<ConsoleUi>> {
        let Some(listen) = self.ui else {
            return Ok(None);
        };
        let tls = match (&self.ui_certificate, listen.ip().is_loopback()) {
            (Some(stem), _) => Some(webui::TlsFiles {
                paths: link::PkiPaths::in_dir(pki_dir, stem),
            }),
            (None, true) => None,
            (None, false) => anyhow::bail!(
                "--ui {listen} is not a loopback address: give --ui-certificate STEM, a certificate of the medlink CA in {} for the name the browser uses",
                pki_dir.display()
            ),
        };
        // The master starts where the scripted motion does: a pose the station's arm is aligned
        // with when it starts, so the first engage passes the orientation check.
        let origin = SurgicalScript::suturing(1)
            .pose_at(0.0)
            .context("the scripted motion has no start pose")?;
        let limits = safety::config::SupervisorConfig::default();
        let (link, actions) = PageLink::new(
            origin,
            limits.workspace_radius_m,
            limits.min_insertion_m,
            drives,
        );
        let page = ConsolePage::start(listen, tls, link.clone(), extra)?;
        Ok(Some(ConsoleUi {
            page,
            link,
            actions: Some(actions),
        }))
    }
}

impl ConsoleUi {
    /// Ctrl-C (or a termination signal) finishes the run: the console says bye and reports.
    pub fn stop_on_signal(&self) -> anyhow::Result<()> {
        let link = self.link.clone();
        ctrlc::set_handler(move || link.stop.store(true, Ordering::Relaxed))
            .context("installing the Ctrl-C handler")
    }
}
