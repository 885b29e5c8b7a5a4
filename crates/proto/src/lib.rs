//! medlink wire messages and their codec: datagrams (control, state, clock sync), the framing of
//! reliable streams, and the sequence window that keeps only fresh control commands.

pub mod clock;
pub mod datagram;
pub mod error;
pub mod frame;
pub mod state_code;
pub mod video;
pub mod window;

pub use clock::{ClockSample, ClockSync};
pub use datagram::{ClockPing, ClockPong, ControlCommand, Datagram, StateReport, WirePose};
pub use error::DecodeError;
pub use frame::{FrameDecoder, encode_frame, encode_frame_within};
pub use state_code::SupervisorStateCode;
pub use window::{SequenceVerdict, SequenceWindow};

/// Every datagram and frame starts with this byte, so foreign traffic is rejected at once.
pub const MAGIC: u8 = 0x4D;
/// Version of the wire format; a peer speaking another version is refused.
pub const WIRE_VERSION: u8 = 2;

pub(crate) const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_ECMA_182);

/// CRC-64/ECMA-182 of `bytes` (the checksum of every frame and datagram), for content digests.
pub fn crc64(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}
