//! OpenIGTLink, the protocol of 3D Slicer, PLUS and the image-guided-therapy ecosystem, as a
//! pure codec: the 58-byte header (version 1, and version 2 with protocol v3's extended header
//! and metadata), the CRC-64/ECMA-182 over the body, the message types TRANSFORM, POSITION,
//! STATUS, STRING, POINT and IMAGE with their GET_/STT_/STP_/RTS_ queries, and a stream decoder
//! for bytes read from TCP. No IO, no clock: timestamps come in with the message.
//! Wire layouts: `../shared/reference/openigtlink.md`; what medlink sends: docs/igtl.md.

pub mod content;
pub mod error;
pub mod header;
pub mod message;
pub mod stream;
mod text;

pub use content::{
    Body, DataType, Image, Point, Position, Query, QueryKind, ScalarType, Status, StatusCode,
    StringMessage, Transform,
};
pub use error::IgtlError;
pub use header::{HEADER_LEN, Header, Timestamp};
pub use message::{Extended, Message, MetadataEntry};
pub use stream::StreamDecoder;

/// The conventional OpenIGTLink TCP port (Slicer, PLUS, pyigtl, the dVRK bridge).
pub const DEFAULT_PORT: u16 = 18944;

/// CRC-64/ECMA-182 of a message body, the checksum in every OpenIGTLink header (the same CRC
/// as medlink's own frames, so it is `proto::crc64`).
pub fn crc64(body: &[u8]) -> u64 {
    proto::crc64(body)
}
