//! A running station over real QUIC: malformed datagrams are counted by reason and never applied
//! or fatal; a malformed event frame ends the session; the station keeps serving the next console.

use link::{EventReader, EventWriter, Identity, PkiPaths};
use proto::Datagram;
use station::{StationConfig, StationHandle};
use std::time::Duration;
use teleop::{NoTap, Role, SessionEvent};

fn start(dir: &std::path::Path) -> StationHandle {
    link::pki::init(dir, &["localhost".into()], false).unwrap();
    let config = StationConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        pki_dir: dir.to_owned(),
        record_dir: None,
        ..Default::default()
    };
    StationHandle::start(&config, None, |_| Ok::<_, std::convert::Infallible>(NoTap)).unwrap()
}

async fn connect(
    dir: &std::path::Path,
    station: &StationHandle,
) -> (quinn::Endpoint, quinn::Connection) {
    let identity = Identity::load(&PkiPaths::in_dir(dir, "console")).unwrap();
    let endpoint = link::client_endpoint(identity, station.local_addr()).unwrap();
    let connection = link::connect(&endpoint, station.local_addr(), "localhost")
        .await
        .unwrap();
    (endpoint, connection)
}

/// Opens the event stream and says hello, as a console does.
async fn open_events(connection: &quinn::Connection) -> (EventWriter, EventReader) {
    let (send, recv) = connection.open_bi().await.unwrap();
    let mut writer = EventWriter::new(send);
    let hello = SessionEvent::Hello {
        role: Role::Console,
        wire_version: proto::WIRE_VERSION,
        session_id: 0,
        clock: None,
    };
    writer.send(&hello).await.unwrap();
    (writer, EventReader::new(recv))
}

#[tokio::test]
async fn malformed_datagrams_are_counted_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let station = start(dir.path());
    let (_endpoint, connection) = connect(dir.path(), &station).await;
    let (mut writer, mut reader) = open_events(&connection).await;
    let garbage: [&[u8]; 4] = [
        b"",
        b"hello station",
        &[0x4D, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[0x4D, proto::WIRE_VERSION, 200, 0, 1, 2, 3, 4, 5, 6, 7, 8],
    ];
    for bytes in garbage {
        connection
            .send_datagram(bytes::Bytes::copy_from_slice(bytes))
            .unwrap();
    }
    let mut buf = [0u8; proto::datagram::MAX_DATAGRAM_LEN];
    let n = Datagram::Control(proto::ControlCommand {
        seq: 1,
        ..Default::default()
    })
    .encode(&mut buf);
    let mut corrupt = buf[..n].to_vec();
    corrupt[20] ^= 0xFF;
    connection.send_datagram(corrupt.into()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    writer.send(&SessionEvent::Bye).await.unwrap();
    let report = loop {
        match tokio::time::timeout(Duration::from_secs(10), reader.next::<SessionEvent>())
            .await
            .unwrap()
            .unwrap()
        {
            Some(SessionEvent::Report(report)) => break *report,
            Some(_) => continue,
            None => panic!("stream closed without a report"),
        }
    };
    for reason in [
        "too_short",
        "bad_magic",
        "bad_version",
        "unknown_kind",
        "bad_checksum",
    ] {
        assert_eq!(
            report.malformed.get(reason),
            Some(&1),
            "{reason}: {:?}",
            report.malformed
        );
    }
    assert_eq!(report.commands_applied, 0);
    let final_report = station.shutdown();
    assert_eq!(final_report.unsafe_applied, 0);
}

#[tokio::test]
async fn a_malformed_event_frame_ends_the_session_and_the_station_serves_the_next_console() {
    let dir = tempfile::tempdir().unwrap();
    let station = start(dir.path());
    let (_endpoint, connection) = connect(dir.path(), &station).await;
    let (mut send, _recv) = connection.open_bi().await.unwrap();
    send.write_all(&[
        12, 0, 0, 0, b'n', b'o', b't', b' ', b'a', b' ', b'f', b'r', b'a', b'm', b'e', b'!',
    ])
    .await
    .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), connection.closed())
        .await
        .expect("session closed");
    assert!(closed.to_string().contains("malformed"), "{closed}");
    let (_endpoint2, second) = connect(dir.path(), &station).await;
    let (_writer, mut reader) = open_events(&second).await;
    let hello = tokio::time::timeout(Duration::from_secs(10), reader.next::<SessionEvent>())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            hello,
            Some(SessionEvent::Hello {
                role: Role::Station,
                session_id: 2,
                ..
            })
        ),
        "{hello:?}"
    );
    station.shutdown();
}
