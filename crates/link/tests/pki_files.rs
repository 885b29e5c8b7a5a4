//! The PKI's files as `medlink pki` leaves them: the CA key kept (0600, encrypted under a
//! passphrase), issued certificates carrying name, role and validity, a revocation list that
//! keeps its entries and counts up, and a station's copy of it that reloads only good lists.

use link::pki::{self, Identity, LeafRequest, PkiError, PkiPaths, RevocationReason};
use link::{Revocations, Role};
use std::path::Path;

const DAY: i64 = 86_400;

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn der(path: &Path) -> Vec<u8> {
    rustls_pemfile::certs(&mut std::fs::read(path).unwrap().as_slice())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

fn surgeon(name: &str) -> LeafRequest {
    LeafRequest::valid_for_days(Role::Surgeon, name, 30, pki::now_unix()).unwrap()
}

#[test]
#[cfg(unix)]
fn init_keeps_the_ca_key_private_and_gives_roles_to_its_certificates() {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &["localhost".into()], false).unwrap();
    for key in ["ca.key", "station.key", "console.key"] {
        assert_eq!(mode(&dir.path().join(key)), 0o600, "{key}");
    }
    let station = link::identity_of(&der(&dir.path().join("station.crt"))).unwrap();
    assert_eq!(station.role, Role::Station);
    let console = link::identity_of(&der(&dir.path().join("console.crt"))).unwrap();
    assert_eq!(
        (console.name.as_str(), console.role),
        (pki::DEMO_SURGEON, Role::Surgeon)
    );
    let days = (console.not_after - console.not_before) / DAY;
    assert!((365..=366).contains(&days), "{days} days");
    assert_eq!(pki::list(dir.path()).unwrap().len(), 2);
}

#[test]
#[cfg(unix)]
fn issue_writes_the_holder_s_files_and_the_ca_certificate() {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let out = dir.path().join("out");
    let issued = pki::issue(dir.path(), None, &surgeon("Dr Li Wei"), &out, false).unwrap();
    assert_eq!(issued.cert, out.join("dr-li-wei.crt"));
    assert_eq!(mode(&issued.key), 0o600);
    assert_eq!(
        std::fs::read(out.join("ca.crt")).unwrap(),
        std::fs::read(dir.path().join("ca.crt")).unwrap()
    );
    let read = link::identity_of(&der(&issued.cert)).unwrap();
    assert_eq!(read, issued.identity);
    assert_eq!(read.serial.len(), 32, "{}", read.serial);
    // Loadable as a console's identity.
    Identity::load(&PkiPaths::in_dir(&out, "dr-li-wei")).unwrap();
    // Not replaced by accident.
    let again = pki::issue(dir.path(), None, &surgeon("Dr Li Wei"), &out, false);
    assert!(matches!(again, Err(PkiError::LeafExists(_))), "{again:?}");
    let replaced = pki::issue(dir.path(), None, &surgeon("Dr Li Wei"), &out, true).unwrap();
    assert_ne!(replaced.identity.serial, issued.identity.serial);
}

#[test]
fn a_station_certificate_is_valid_for_its_names() {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let request = LeafRequest::valid_for_days(Role::Station, "Theatre 3", 90, pki::now_unix())
        .unwrap()
        .reached_by(&["theatre3.example".into(), "10.0.0.3".into()]);
    let issued = pki::issue(dir.path(), None, &request, &dir.path().join("t3"), false).unwrap();
    let text = format!(
        "{:?}",
        x509_parser::parse_x509_certificate(&der(&issued.cert))
            .unwrap()
            .1
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
    );
    assert!(text.contains("theatre3.example"), "{text}");
    assert!(text.contains("urn:medlink:role:station"), "{text}");
}

#[test]
#[cfg(unix)]
fn a_passphrase_protects_the_ca_key() {
    let dir = tempfile::tempdir().unwrap();
    pki::init_with(
        dir.path(),
        &["localhost".into()],
        false,
        Some("theatre 3 secret"),
    )
    .unwrap();
    let key = std::fs::read_to_string(dir.path().join("ca.key")).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{key}"
    );
    assert_eq!(mode(&dir.path().join("ca.key")), 0o600);
    let out = dir.path().join("out");
    let err = pki::issue(dir.path(), None, &surgeon("Dr A"), &out, false).unwrap_err();
    assert!(err.to_string().contains("ca.key is encrypted"), "{err}");
    let err = pki::issue(dir.path(), Some("guess"), &surgeon("Dr A"), &out, false).unwrap_err();
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    pki::issue(
        dir.path(),
        Some("theatre 3 secret"),
        &surgeon("Dr A"),
        &out,
        false,
    )
    .unwrap();
}

#[test]
fn a_pki_without_a_ca_key_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &["localhost".into()], false).unwrap();
    std::fs::remove_file(dir.path().join("ca.key")).unwrap();
    let err = pki::issue(dir.path(), None, &surgeon("Dr A"), dir.path(), false).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "ca.key not found: this PKI was made before CA keys were kept; run pki init --force"
        ),
        "{err}"
    );
}

#[test]
fn the_revocation_list_keeps_its_entries_and_counts_up() {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let out = dir.path().join("out");
    let a = pki::issue(dir.path(), None, &surgeon("Dr A"), &out, false).unwrap();
    let b = pki::issue(dir.path(), None, &surgeon("Dr B"), &out, false).unwrap();
    let now = pki::now_unix();
    let first = pki::revoke(
        dir.path(),
        None,
        &a.cert,
        RevocationReason::KeyCompromise,
        now,
    )
    .unwrap();
    let second = pki::revoke(dir.path(), None, &b.cert, RevocationReason::Superseded, now).unwrap();
    let again = pki::revoke(dir.path(), None, &a.cert, RevocationReason::Superseded, now).unwrap();
    assert_eq!((first.number, second.number, again.number), (1, 2, 3));
    assert!(again.already_revoked);
    assert_eq!(first.holder.unwrap().name.as_deref(), Some("Dr A"));
    let crl = pki::read_crl(&dir.path().join("ca.crl")).unwrap().unwrap();
    assert_eq!(crl.number, 3);
    let reasons: Vec<_> = crl
        .entries
        .iter()
        .map(|e| (e.serial.clone(), e.reason_name()))
        .collect();
    assert_eq!(
        reasons,
        [
            (a.identity.serial.clone(), "keyCompromise"),
            (b.identity.serial.clone(), "superseded")
        ]
    );
    let listed = pki::list(dir.path()).unwrap();
    let status = |serial: &str| {
        listed
            .iter()
            .find(|c| c.identity.serial == serial)
            .unwrap()
            .status(now)
    };
    assert_eq!(status(&a.identity.serial), "revoked (keyCompromise)");
    let c = pki::issue(dir.path(), None, &surgeon("Dr C"), &out, false).unwrap();
    assert_eq!(pki::list(dir.path()).unwrap().len(), 5);
    assert_eq!(
        pki::list(dir.path())
            .unwrap()
            .iter()
            .find(|l| l.identity.serial == c.identity.serial)
            .unwrap()
            .status(now + 31 * DAY),
        "expired"
    );
    // By serial, as a person types it from `pki list`.
    let typed = c.identity.serial.to_uppercase();
    let by_serial =
        pki::revoke_serial(dir.path(), None, &typed, RevocationReason::Unspecified, now).unwrap();
    assert_eq!(by_serial.entry.serial, c.identity.serial);
}

#[test]
fn a_certificate_from_another_ca_cannot_be_revoked_here() {
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    pki::init(ours.path(), &["localhost".into()], false).unwrap();
    pki::init(theirs.path(), &["localhost".into()], false).unwrap();
    let err = pki::revoke(
        ours.path(),
        None,
        &theirs.path().join("console.crt"),
        RevocationReason::Unspecified,
        pki::now_unix(),
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::ForeignCertificate { .. }), "{err}");
    assert!(!ours.path().join("ca.crl").exists());
}

#[test]
fn the_station_reloads_only_good_lists() {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let identity = Identity::load(&PkiPaths::in_dir(dir.path(), "station")).unwrap();
    let revocations = Revocations::for_identity(&identity).unwrap();
    assert!(!revocations.reload().unwrap(), "nothing changed");
    let out = dir.path().join("out");
    let a = pki::issue(dir.path(), None, &surgeon("Dr A"), &out, false).unwrap();
    let b = pki::issue(dir.path(), None, &surgeon("Dr B"), &out, false).unwrap();
    let now = pki::now_unix();
    pki::revoke(
        dir.path(),
        None,
        &a.cert,
        RevocationReason::KeyCompromise,
        now,
    )
    .unwrap();
    let crl = dir.path().join("ca.crl");
    let first_list = std::fs::read(&crl).unwrap();
    assert!(
        !revocations.is_revoked(&a.identity.serial),
        "not before a reload"
    );
    assert!(revocations.reload().unwrap());
    assert!(revocations.is_revoked(&a.identity.serial));
    assert_eq!(revocations.number(), 1);
    pki::revoke(
        dir.path(),
        None,
        &b.cert,
        RevocationReason::KeyCompromise,
        now,
    )
    .unwrap();
    assert!(revocations.reload().unwrap());
    assert!(revocations.is_revoked(&b.identity.serial));

    // An older list (number 1 after 2) is not taken: b would be admitted again.
    std::fs::write(&crl, &first_list).unwrap();
    let err = revocations.reload().unwrap_err();
    assert!(err.to_string().contains("older"), "{err}");
    assert!(revocations.is_revoked(&b.identity.serial));
    // Nor garbage, nor another CA's list, nor no list at all.
    std::fs::write(
        &crl,
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )
    .unwrap();
    assert!(revocations.reload().is_err());
    let theirs = tempfile::tempdir().unwrap();
    pki::init(theirs.path(), &["localhost".into()], false).unwrap();
    pki::revoke(
        theirs.path(),
        None,
        &theirs.path().join("console.crt"),
        RevocationReason::Unspecified,
        now + 10,
    )
    .unwrap();
    std::fs::copy(theirs.path().join("ca.crl"), &crl).unwrap();
    let err = revocations.reload().unwrap_err();
    assert!(
        err.to_string().contains("not signed by this site's CA"),
        "{err}"
    );
    std::fs::remove_file(&crl).unwrap();
    assert!(revocations.reload().is_err());
    assert!(
        revocations.is_revoked(&a.identity.serial) && revocations.is_revoked(&b.identity.serial)
    );
    // Nor does a station start on a bad list.
    std::fs::write(&crl, "not a list").unwrap();
    assert!(Revocations::for_identity(&identity).is_err());
}

#[test]
fn a_live_session_is_checked_for_revocation_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let identity = Identity::load(&PkiPaths::in_dir(dir.path(), "station")).unwrap();
    let revocations = Revocations::for_identity(&identity).unwrap();
    let a = pki::issue(
        dir.path(),
        None,
        &surgeon("Dr A"),
        &dir.path().join("o"),
        false,
    )
    .unwrap();
    let now = pki::now_unix();
    assert_eq!(revocations.check(&a.identity, now), Ok(()));
    assert_eq!(
        revocations.check(&a.identity, a.identity.not_after + 1),
        Err(link::Refusal::Expired)
    );
    assert_eq!(
        revocations.check(&a.identity, a.identity.not_before - 1),
        Err(link::Refusal::NotYetValid)
    );
    pki::revoke(
        dir.path(),
        None,
        &a.cert,
        RevocationReason::PrivilegeWithdrawn,
        now,
    )
    .unwrap();
    revocations.reload().unwrap();
    assert_eq!(
        revocations.check(&a.identity, now),
        Err(link::Refusal::Revoked {
            reason: "privilegeWithdrawn".into()
        })
    );
}
