//! The PKI's file IO: reading PEM files with errors that name the file, and writing each file
//! whole (a temporary beside it, then a rename), private ones readable by the owner only from
//! the moment they exist.

use super::PkiError;
use rustls::pki_types::CertificateDer;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(io_error(path))
}

pub(crate) fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let pem = read(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::BadPem {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(PkiError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// Writes `contents` to `path` whole: a reader (the station reloading `ca.crl`) sees the old file
/// or the new one, never half of one. `private` files get mode 0600 before any byte is written.
/// The revocation lists in a PEM file; none when the file does not exist.
pub(crate) fn read_crls_if_any(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateRevocationListDer<'static>>, PkiError> {
    let pem = match std::fs::read(path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(path)(e)),
    };
    rustls_pemfile::crls(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::BadCrl {
            path: path.to_owned(),
            detail: e.to_string(),
        })
}

pub(crate) fn write(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary: PathBuf = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if private { 0o600 } else { 0o644 });
        }
        let mut file = options.open(&temporary).map_err(io_error(path))?;
        file.write_all(contents).map_err(io_error(path))?;
        file.sync_all().map_err(io_error(path))?;
        restrict(&temporary, private)?;
        fs::rename(&temporary, path).map_err(io_error(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// Appends one line to `path` (the register of issued certificates).
pub(crate) fn append_line(path: &Path, line: &str) -> Result<(), PkiError> {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_error(path))?;
    writeln!(file, "{line}").map_err(io_error(path))
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(dir).map_err(io_error(dir))
}

#[cfg(unix)]
fn restrict(path: &Path, private: bool) -> Result<(), PkiError> {
    use std::os::unix::fs::PermissionsExt;
    if !private {
        return Ok(());
    }
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io_error(path))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _private: bool) -> Result<(), PkiError> {
    Ok(())
}
