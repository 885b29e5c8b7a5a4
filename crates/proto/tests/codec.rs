//! Round trips and rejection of malformed input for datagrams and event frames.

use proptest::prelude::*;
use proto::datagram::MAX_DATAGRAM_LEN;
use proto::*;
use serde::{Deserialize, Serialize};

/// A stand-in for a session's event type: the framing carries any serde type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Event {
    Engage { from_seq: u64 },
    Bye,
}

fn finite() -> impl Strategy<Value = f64> {
    -1.0e6..1.0e6f64
}

fn pose() -> impl Strategy<Value = WirePose> {
    (
        prop::array::uniform3(finite()),
        prop::array::uniform4(finite()),
    )
        .prop_map(|(position_m, quaternion_xyzw)| WirePose {
            position_m,
            quaternion_xyzw,
        })
}

fn datagram() -> impl Strategy<Value = Datagram> {
    prop_oneof![
        (any::<u64>(), any::<i64>(), pose(), finite()).prop_map(
            |(seq, sent_at_us, target, jaw_rad)| {
                Datagram::Control(ControlCommand {
                    seq,
                    sent_at_us,
                    target,
                    jaw_rad,
                })
            }
        ),
        (
            any::<u64>(),
            any::<i64>(),
            any::<u64>(),
            0u8..6,
            prop::array::uniform6(finite()),
            pose()
        )
            .prop_map(
                |(seq, station_time_us, last_applied_seq, supervisor_state, joints, tip)| {
                    Datagram::State(StateReport {
                        seq,
                        station_time_us,
                        last_applied_seq,
                        supervisor_state,
                        joints,
                        tip,
                    })
                }
            ),
        (any::<u64>(), any::<i64>())
            .prop_map(|(id, t1_us)| Datagram::Ping(ClockPing { id, t1_us })),
        (any::<u64>(), any::<i64>(), any::<i64>(), any::<i64>()).prop_map(
            |(id, t1_us, t2_us, t3_us)| Datagram::Pong(ClockPong {
                id,
                t1_us,
                t2_us,
                t3_us
            })
        ),
    ]
}

proptest! {
    #[test]
    fn datagrams_round_trip(d in datagram()) {
        let mut buf = [0u8; MAX_DATAGRAM_LEN];
        let n = d.encode(&mut buf);
        prop_assert_eq!(Datagram::decode(&buf[..n]), Ok(d));
    }

    #[test]
    fn any_single_bit_flip_is_rejected(d in datagram(), bit in any::<prop::sample::Index>()) {
        let mut buf = [0u8; MAX_DATAGRAM_LEN];
        let n = d.encode(&mut buf);
        let bit = bit.index(n * 8);
        buf[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(Datagram::decode(&buf[..n]).is_err());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Datagram::decode(&bytes);
        let mut decoder = FrameDecoder::new();
        decoder.push(&bytes);
        while let Some(Ok(_)) = decoder.next_message::<Event>() {}
    }

    #[test]
    fn truncated_datagrams_are_rejected(d in datagram(), cut in any::<prop::sample::Index>()) {
        let mut buf = [0u8; MAX_DATAGRAM_LEN];
        let n = d.encode(&mut buf);
        let cut = cut.index(n);
        prop_assert!(Datagram::decode(&buf[..cut]).is_err());
    }

    #[test]
    fn frames_survive_arbitrary_chunking(seqs in prop::collection::vec(any::<u64>(), 1..20), chunk in 1usize..50) {
        let events: Vec<Event> = seqs.iter().map(|&from_seq| Event::Engage { from_seq }).collect();
        let mut wire = Vec::new();
        for e in &events {
            encode_frame(e, &mut wire).unwrap();
        }
        let mut decoder = FrameDecoder::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            decoder.push(piece);
            while let Some(e) = decoder.next_message::<Event>() {
                got.push(e.expect("valid frame"));
            }
        }
        prop_assert_eq!(got, events);
    }
}

#[test]
fn non_finite_numbers_are_rejected_with_their_reason() {
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    let cmd = ControlCommand {
        seq: 1,
        jaw_rad: f64::NAN,
        ..Default::default()
    };
    let n = Datagram::Control(cmd).encode(&mut buf);
    assert_eq!(Datagram::decode(&buf[..n]), Err(DecodeError::NonFinite));
}

#[test]
fn unknown_kind_and_version_are_named() {
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    let n = Datagram::Ping(ClockPing { id: 1, t1_us: 2 }).encode(&mut buf);
    let mut wrong_version = buf;
    wrong_version[1] = 9;
    assert_eq!(
        Datagram::decode(&wrong_version[..n]),
        Err(DecodeError::BadVersion(9))
    );
    let mut wrong_kind = buf;
    wrong_kind[2] = 77;
    assert_eq!(
        Datagram::decode(&wrong_kind[..n]),
        Err(DecodeError::UnknownKind(77))
    );
}

#[test]
fn oversize_frames_are_refused_before_buffering_them() {
    let mut decoder = FrameDecoder::new();
    decoder.push(&(10_000_000u32).to_le_bytes());
    assert_eq!(
        decoder.next_message::<Event>(),
        Some(Err(DecodeError::Oversize))
    );
}

#[test]
fn corrupt_frame_is_rejected() {
    let mut wire = Vec::new();
    encode_frame(&Event::Bye, &mut wire).unwrap();
    let last = wire.len() - 9;
    wire[last] ^= 0x20;
    let mut decoder = FrameDecoder::new();
    decoder.push(&wire);
    assert_eq!(
        decoder.next_message::<Event>(),
        Some(Err(DecodeError::BadChecksum))
    );
}

#[test]
fn window_accepts_only_newer_and_tells_duplicates_from_late() {
    let mut w = SequenceWindow::new();
    for seq in [1, 2, 5] {
        assert_eq!(w.check(seq), SequenceVerdict::Fresh);
        w.accept(seq);
    }
    assert_eq!(w.check(5), SequenceVerdict::Duplicate);
    assert_eq!(w.check(2), SequenceVerdict::Duplicate);
    assert_eq!(w.check(4), SequenceVerdict::Reordered);
    assert_eq!(w.check(6), SequenceVerdict::Fresh);
    w.accept(200);
    assert_eq!(w.check(5), SequenceVerdict::Reordered);
    assert_eq!(w.newest(), Some(200));
}
