//! POSITION: a position in millimetres and an orientation quaternion (x, y, z, w) as float32;
//! decoders also accept the library's short forms (12 bytes: position only, 24: w implied).

use crate::IgtlError;
use crate::text::{Reader, put_f32s};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub position_mm: [f32; 3],
    /// Unit quaternion (x, y, z, w).
    pub quaternion_xyzw: [f32; 4],
}

impl Position {
    pub const LEN: usize = 28;

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_f32s(out, &self.position_mm);
        put_f32s(out, &self.quaternion_xyzw);
    }

    pub(crate) fn decode(content: &[u8]) -> Result<Position, IgtlError> {
        let mut r = Reader::new("POSITION content", content);
        let position_mm = r.f32s::<3>()?;
        let quaternion_xyzw = match content.len() {
            12 => [0.0, 0.0, 0.0, 1.0],
            24 => {
                let [x, y, z] = r.f32s::<3>()?;
                [x, y, z, (1.0 - x * x - y * y - z * z).max(0.0).sqrt()]
            }
            28 => r.f32s::<4>()?,
            n => {
                return Err(IgtlError::Length {
                    what: "POSITION content",
                    expected: "12, 24 or 28 are expected".into(),
                    got: n,
                });
            }
        };
        Ok(Position {
            position_mm,
            quaternion_xyzw,
        })
    }
}
