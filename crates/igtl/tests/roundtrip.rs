//! Property tests: every message medlink can encode decodes to itself, in v1 and v3 framing, in
//! one piece or split anywhere across reads; and the stream survives a refused message.

use igtl::content::{Coord, Endian};
use igtl::{
    Body, DataType, Extended, Image, Message, MetadataEntry, Point, Position, Query, QueryKind,
    ScalarType, Status, StreamDecoder, StringMessage, Timestamp, Transform,
};
use proptest::prelude::*;

fn name(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9_ -]{{0,{max}}}")).unwrap()
}

fn finite() -> impl Strategy<Value = f32> {
    -1.0e6f32..1.0e6
}

fn image() -> impl Strategy<Value = Image> {
    (1u16..6, 1u16..6, 1u16..3, 1u8..3, any::<bool>()).prop_flat_map(|(i, j, k, comps, big)| {
        let n = (i * j * k) as usize * comps as usize * 2;
        (
            proptest::array::uniform12(finite()),
            proptest::collection::vec(any::<u8>(), n),
        )
            .prop_map(move |(matrix, pixels)| Image {
                components: comps,
                scalar: ScalarType::Int16,
                endian: if big { Endian::Big } else { Endian::Little },
                coord: if big { Coord::Lps } else { Coord::Ras },
                size: [i, j, k],
                matrix,
                subvolume_offset: [0; 3],
                subvolume_size: [i, j, k],
                pixels,
            })
    })
}

fn point() -> impl Strategy<Value = Point> {
    (
        name(64),
        name(32),
        any::<[u8; 4]>(),
        proptest::array::uniform3(finite()),
        finite(),
        name(20),
    )
        .prop_map(
            |(name, group, rgba, position_mm, diameter_mm, owner)| Point {
                name,
                group,
                rgba,
                position_mm,
                diameter_mm,
                owner,
            },
        )
}

fn query() -> impl Strategy<Value = Query> {
    (0..6usize, 0..4usize, 0u8..2).prop_map(|(d, k, status)| {
        let data = DataType::ALL[d];
        let kind = QueryKind::ALL[k];
        let kind = if data.has_query(kind) {
            kind
        } else {
            QueryKind::Get
        };
        let status = if kind == QueryKind::Reply { status } else { 0 };
        Query { kind, data, status }
    })
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        proptest::array::uniform12(finite()).prop_map(|v| Body::Transform(Transform {
            rows: [
                [v[0], v[1], v[2], v[3]],
                [v[4], v[5], v[6], v[7]],
                [v[8], v[9], v[10], v[11]],
            ],
        })),
        (
            proptest::array::uniform3(finite()),
            proptest::array::uniform4(finite())
        )
            .prop_map(|(position_mm, quaternion_xyzw)| Body::Position(Position {
                position_mm,
                quaternion_xyzw,
            })),
        (0u16..20, any::<i64>(), name(20), name(200)).prop_map(
            |(code, subcode, error_name, message)| Body::Status(Status {
                code,
                subcode,
                error_name,
                message,
            })
        ),
        "\\PC{0,100}".prop_map(|s| Body::String(StringMessage::new(s))),
        proptest::collection::vec(point(), 0..5).prop_map(Body::Point),
        image().prop_map(Body::Image),
        query().prop_map(Body::Query),
    ]
}

fn extended() -> impl Strategy<Value = Option<Extended>> {
    proptest::option::of(
        (
            any::<u32>(),
            proptest::collection::vec((name(16), "\\PC{0,24}"), 0..4),
        )
            .prop_map(|(message_id, entries)| Extended {
                message_id,
                metadata: entries
                    .into_iter()
                    .map(|(k, v)| MetadataEntry::text(k, &v))
                    .collect(),
            }),
    )
}

fn message() -> impl Strategy<Value = Message> {
    (name(20), any::<u32>(), any::<u32>(), extended(), body()).prop_map(
        |(device_name, seconds, fraction, extended, body)| Message {
            device_name,
            timestamp: Timestamp { seconds, fraction },
            extended,
            body,
        },
    )
}

proptest! {
    #[test]
    fn every_message_decodes_to_itself(message in message()) {
        let bytes = message.encode().unwrap();
        prop_assert_eq!(Message::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn a_stream_split_anywhere_gives_the_same_messages(
        messages in proptest::collection::vec(message(), 1..4),
        chunk in 1usize..97,
    ) {
        let mut bytes = Vec::new();
        for m in &messages {
            m.encode_into(&mut bytes).unwrap();
        }
        let mut decoder = StreamDecoder::default();
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk) {
            decoder.push(piece);
            while let Some(m) = decoder.next_message() {
                out.push(m.unwrap());
            }
        }
        prop_assert_eq!(out, messages);
        prop_assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn a_flipped_body_bit_is_refused_and_the_next_message_still_arrives(
        first in message(),
        second in message(),
        bit in any::<usize>(),
    ) {
        let mut bytes = first.encode().unwrap();
        let body_len = bytes.len() - igtl::HEADER_LEN;
        prop_assume!(body_len > 0);
        let at = igtl::HEADER_LEN + (bit / 8) % body_len;
        bytes[at] ^= 1 << (bit % 8);
        second.encode_into(&mut bytes).unwrap();
        let mut decoder = StreamDecoder::default();
        decoder.push(&bytes);
        let refused = decoder.next_message().unwrap();
        prop_assert!(matches!(refused, Err(igtl::IgtlError::Crc { .. })), "{:?}", refused);
        prop_assert_eq!(decoder.next_message().unwrap().unwrap(), second);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Message::decode(&bytes);
        let mut decoder = StreamDecoder::new(1 << 16);
        decoder.push(&bytes);
        while let Some(result) = decoder.next_message() {
            if result.is_err_and(|e| e.is_fatal()) {
                break;
            }
        }
    }
}
