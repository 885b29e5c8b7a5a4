//! `pki init`: a new CA (its key kept, optionally under a passphrase) with a station certificate
//! and a demo surgeon's console certificate beside it, so a station and a console run at once.

use super::ca::{self, CA_CERT, CA_KEY, CRL_FILE, ISSUED_LOG};
use super::issue::{LeafRequest, write_leaf};
use super::{PkiError, files};
use std::path::{Path, PathBuf};
use trust::Role;

/// The name in the console certificate `init` makes (role surgeon; files `console.crt/.key`).
pub const DEMO_SURGEON: &str = "Demo Surgeon";
/// The name in the station certificate `init` makes (files `station.crt/.key`).
pub const DEMO_STATION: &str = "medlink station";
/// How long the certificates `init` makes are valid.
pub const INIT_DAYS: u32 = 365;

/// What `init` wrote.
pub struct PkiFiles {
    pub written: Vec<PathBuf>,
}

/// [`init_with`] without a passphrase: the CA key is kept in clear (mode 0600).
pub fn init(dir: &Path, station_names: &[String], force: bool) -> Result<PkiFiles, PkiError> {
    init_with(dir, station_names, force, None)
}

/// Creates `dir` with a CA (`ca.crt`, and `ca.key` encrypted with `passphrase` if one is given),
/// a station certificate valid for `station_names` (DNS names or IP addresses) and a console
/// certificate for [`DEMO_SURGEON`]. Refuses to overwrite unless `force`; with `force` the old
/// revocation list and register go too (they belong to the old CA).
pub fn init_with(
    dir: &Path,
    station_names: &[String],
    force: bool,
    passphrase: Option<&str>,
) -> Result<PkiFiles, PkiError> {
    let ca_path = dir.join(CA_CERT);
    if ca_path.exists() && !force {
        return Err(PkiError::Exists(ca_path));
    }
    files::create_dir(dir)?;
    let now = super::now_unix();
    let ca = ca::generate(now)?;
    let key_pem = ca::key_pem(ca.issuer.key(), passphrase)?;
    for stale in [CRL_FILE, ISSUED_LOG] {
        let path = dir.join(stale);
        if path.exists() {
            std::fs::remove_file(&path).map_err(files::io_error(&path))?;
        }
    }
    let mut written = Vec::new();
    let key_path = dir.join(CA_KEY);
    files::write(&key_path, key_pem.as_bytes(), true)?;
    files::write(&ca_path, ca.cert_pem.as_bytes(), false)?;
    written.extend([ca_path, key_path]);

    let station = LeafRequest::valid_for_days(Role::Station, DEMO_STATION, INIT_DAYS, now)?
        .reached_by(station_names);
    let console = LeafRequest::valid_for_days(Role::Surgeon, DEMO_SURGEON, INIT_DAYS, now)?;
    for (request, stem) in [(station, "station"), (console, "console")] {
        let issued = write_leaf(&ca, &request, dir, dir, stem)?;
        written.extend([issued.cert, issued.key]);
    }
    Ok(PkiFiles { written })
}
