//! `medlink hub` ends on SIGTERM (systemd, containers) and on Ctrl-C, rather than hanging on its
//! ingest thread after saying it stops.

mod common;

use common::{eventually, free_port, start_hub, temp_dir};

fn hub_ends_on(signal: libc::c_int, name: &str) {
    let dir = temp_dir(&format!("hub-stop-{name}"));
    let db = dir.join("hub.db");
    let extra = vec![
        "--mqtt-listen".to_string(),
        format!("127.0.0.1:{}", free_port()),
    ];
    let mut hub = start_hub(&db, free_port(), &extra);
    // SAFETY: kill(2) on our own child's pid, which is still alive (not yet waited for).
    let sent = unsafe { libc::kill(hub.0.id() as libc::pid_t, signal) };
    assert_eq!(sent, 0, "could not send {name}");
    let mut status = None;
    let ended = eventually(30, || {
        status = hub.0.try_wait().ok().flatten();
        status.is_some()
    });
    assert!(ended, "the hub was still running 30 s after {name}");
    let status = status.expect("checked above");
    assert!(status.success(), "the hub ended with {status} after {name}");
}

/// One test for both signals, one hub after the other: two hubs started at once by parallel
/// tests could be handed the same free port.
#[test]
fn the_hub_ends_cleanly_on_sigterm_and_on_ctrl_c() {
    hub_ends_on(libc::SIGTERM, "SIGTERM");
    hub_ends_on(libc::SIGINT, "SIGINT");
}
