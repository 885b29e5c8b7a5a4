//! `--ui ADDR` of `medlink station` (and the demo's bedside page): the bedside panel, served by
//! the station process (crates/station/src/ui, web/bedside/). On loopback it is plain HTTP and
//! its buttons are the station's own; elsewhere it is HTTPS with the station's certificate and
//! only a browser presenting a bedside certificate of the CA may press them.

use station::StationHandle;
use station::ui::BedsidePage;
use std::net::SocketAddr;

/// The panel's address with a bare `--ui`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8490";

pub fn start(
    listen: SocketAddr,
    station_pki: &link::PkiPaths,
    station: &StationHandle,
) -> anyhow::Result<BedsidePage> {
    let tls = (!listen.ip().is_loopback()).then(|| webui::TlsFiles {
        paths: station_pki.clone(),
    });
    Ok(BedsidePage::start(
        listen,
        tls,
        station.view(),
        station.bedside(),
    )?)
}
