//! Golden byte vectors built by hand from the protocol's tables (reference/openigtlink.md), for
//! the types pyigtl cannot check (STATUS, queries) and for the header, the v3 framing and the
//! CRC; and the clear errors for bad input.

use igtl::{Body, DataType, IgtlError, Message, Query, QueryKind, Status, Timestamp, Transform};

fn header(version: u16, type_name: &str, device: &str, body: &[u8]) -> Vec<u8> {
    let mut out = version.to_be_bytes().to_vec();
    let mut t = type_name.as_bytes().to_vec();
    t.resize(12, 0);
    out.extend(t);
    let mut d = device.as_bytes().to_vec();
    d.resize(20, 0);
    out.extend(d);
    out.extend(1_700_000_000u32.to_be_bytes());
    out.extend(0x8000_0000u32.to_be_bytes());
    out.extend((body.len() as u64).to_be_bytes());
    out.extend(igtl::crc64(body).to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn the_crc_is_crc64_ecma_182() {
    assert_eq!(igtl::crc64(b"123456789"), 0x6C40_DF5F_0B49_7347);
}

#[test]
fn a_status_message_matches_its_table() {
    let mut body = 3u16.to_be_bytes().to_vec();
    body.extend((-5i64).to_be_bytes());
    let mut name = b"E-STOP".to_vec();
    name.resize(20, 0);
    body.extend(name);
    body.extend(b"e-stop latched\0");
    let bytes = header(1, "STATUS", "Supervisor", &body);
    let expected = Message {
        device_name: "Supervisor".into(),
        timestamp: Timestamp {
            seconds: 1_700_000_000,
            fraction: 0x8000_0000,
        },
        extended: None,
        body: Body::Status(Status {
            code: 3,
            subcode: -5,
            error_name: "E-STOP".into(),
            message: "e-stop latched".into(),
        }),
    };
    assert_eq!(Message::decode(&bytes).unwrap(), expected);
    assert_eq!(expected.encode().unwrap(), bytes);
    assert_eq!(expected.timestamp.as_secs_f64(), 1_700_000_000.5);
}

#[test]
fn a_transform_is_column_by_column_with_translation_last() {
    let t = Transform {
        rows: [
            [1.0, 2.0, 3.0, 10.0],
            [4.0, 5.0, 6.0, 20.0],
            [7.0, 8.0, 9.0, 30.0],
        ],
    };
    let mut body = Vec::new();
    for v in [
        1.0f32, 4.0, 7.0, 2.0, 5.0, 8.0, 3.0, 6.0, 9.0, 10.0, 20.0, 30.0,
    ] {
        body.extend(v.to_be_bytes());
    }
    let bytes = header(1, "TRANSFORM", "ToolTip", &body);
    let message = Message::decode(&bytes).unwrap();
    assert_eq!(message.body, Body::Transform(t));
    assert_eq!(message.encode().unwrap(), bytes);
}

#[test]
fn v3_framing_has_the_extended_header_then_content_then_metadata() {
    let content = [0u8]; // RTS_TRANS, success
    let mut body = Vec::new();
    body.extend(12u16.to_be_bytes());
    body.extend(10u16.to_be_bytes()); // 2 + 8 × 1
    body.extend(7u32.to_be_bytes()); // "Unit" + "deg"
    body.extend(42u32.to_be_bytes());
    body.extend(content);
    body.extend(1u16.to_be_bytes());
    body.extend(4u16.to_be_bytes());
    body.extend(3u16.to_be_bytes());
    body.extend(3u32.to_be_bytes());
    body.extend(b"Unitdeg");
    let bytes = header(2, "RTS_TRANS", "", &body);
    let message = Message::decode(&bytes).unwrap();
    let ext = message.extended.clone().unwrap();
    assert_eq!(ext.message_id, 42);
    assert_eq!(ext.metadata[0].key, "Unit");
    assert_eq!(ext.metadata[0].value, b"deg");
    assert_eq!(
        message.body,
        Body::Query(Query {
            kind: QueryKind::Reply,
            data: DataType::Transform,
            status: 0
        })
    );
    assert_eq!(message.encode().unwrap(), bytes);
}

#[test]
fn queries_have_the_protocols_names() {
    let names: Vec<String> = DataType::ALL
        .iter()
        .flat_map(|&data| {
            QueryKind::ALL
                .iter()
                .filter(move |&&kind| data.has_query(kind))
                .map(move |&kind| {
                    Query {
                        kind,
                        data,
                        status: 0,
                    }
                    .type_name()
                })
        })
        .collect();
    assert_eq!(
        names,
        [
            "GET_TRANS",
            "STT_TRANS",
            "STP_TRANS",
            "RTS_TRANS",
            "GET_POSITION",
            "STT_POSITION",
            "STP_POSITION",
            "RTS_POSITION",
            "GET_STATUS",
            "GET_STRING",
            "GET_POINT",
            "GET_IMAGE",
            "STT_IMAGE",
            "STP_IMAGE",
            "RTS_IMAGE"
        ]
    );
    let bytes = header(1, "GET_STATUS", "", &[]);
    assert!(matches!(
        Message::decode(&bytes).unwrap().body,
        Body::Query(Query {
            kind: QueryKind::Get,
            data: DataType::Status,
            ..
        })
    ));
}

#[test]
fn bad_messages_get_clear_errors() {
    let good = header(1, "TRANSFORM", "T", &[0; 48]);
    let mut bad_crc = good.clone();
    bad_crc[60] ^= 1;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (bad_crc, "CRC-64 mismatch"),
        (
            header(1, "TRANSFORM", "T", &[0; 47]),
            "TRANSFORM content: needs",
        ),
        (
            header(1, "TRANSFORM", "T", &[0; 52]),
            "TRANSFORM content: 52 bytes",
        ),
        (header(1, "VIDEOMETA", "T", &[]), "\"VIDEOMETA\" is not one"),
        (header(3, "TRANSFORM", "T", &[0; 48]), "header version 3"),
        (header(1, "POINT", "T", &[0; 100]), "a multiple of 136"),
        (header(1, "GET_TRANS", "T", &[0]), "GET_TRANS carries 0"),
        (
            header(1, "STT_STATUS", "T", &[]),
            "\"STT_STATUS\" is not one",
        ),
        (
            header(2, "TRANSFORM", "T", &[0; 5]),
            "extended header: needs 12",
        ),
        (good[..30].to_vec(), "header: needs 58"),
    ];
    for (bytes, expected) in cases {
        let error = Message::decode(&bytes).unwrap_err().to_string();
        assert!(error.contains(expected), "{error:?} lacks {expected:?}");
    }
    // An image whose pixels do not fill its sub-volume.
    let mut image = vec![0, 1, 1, 10, 2, 1];
    for v in [2u16, 2, 1] {
        image.extend(v.to_be_bytes());
    }
    image.extend([0u8; 48]);
    for v in [0u16, 0, 0, 2, 2, 1] {
        image.extend(v.to_be_bytes());
    }
    image.extend([0u8; 12]);
    let error = Message::decode(&header(1, "IMAGE", "T", &image)).unwrap_err();
    assert!(
        matches!(
            error,
            IgtlError::Length {
                what: "IMAGE pixels",
                got: 12,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn an_oversized_body_is_fatal_to_the_stream() {
    let mut bytes = header(1, "IMAGE", "T", &[]);
    bytes[42..50].copy_from_slice(&u64::MAX.to_be_bytes());
    let mut decoder = igtl::StreamDecoder::new(1024);
    decoder.push(&bytes);
    let error = decoder.next_message().unwrap().unwrap_err();
    assert!(error.is_fatal(), "{error}");
    decoder.push(&header(1, "TRANSFORM", "T", &[0; 48]));
    assert!(decoder.next_message().is_none());
}
