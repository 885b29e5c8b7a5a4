//! POINT: a list of 136-byte fiducials (name, group, colour, position in mm, diameter, owner
//! image); the list's length is the content size over 136.

use crate::IgtlError;
use crate::text::{Reader, get_fixed, put_f32s, put_fixed};

/// Bytes per point.
pub const POINT_LEN: usize = 136;

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: String,
    /// "Fiducial", "Landmark", "Target", ...
    pub group: String,
    pub rgba: [u8; 4],
    pub position_mm: [f32; 3],
    pub diameter_mm: f32,
    /// Device name of the image the point belongs to.
    pub owner: String,
}

impl Point {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), IgtlError> {
        put_fixed(out, "POINT name", &self.name, 64)?;
        put_fixed(out, "POINT group", &self.group, 32)?;
        out.extend_from_slice(&self.rgba);
        put_f32s(out, &self.position_mm);
        put_f32s(out, &[self.diameter_mm]);
        put_fixed(out, "POINT owner", &self.owner, 20)
    }

    fn decode(bytes: &[u8]) -> Result<Point, IgtlError> {
        let mut r = Reader::new("POINT element", bytes);
        Ok(Point {
            name: get_fixed("POINT name", r.take(64)?)?,
            group: get_fixed("POINT group", r.take(32)?)?,
            rgba: r.array()?,
            position_mm: r.f32s()?,
            diameter_mm: r.f32()?,
            owner: get_fixed("POINT owner", r.take(20)?)?,
        })
    }
}

pub(crate) fn decode_list(content: &[u8]) -> Result<Vec<Point>, IgtlError> {
    if !content.len().is_multiple_of(POINT_LEN) {
        return Err(IgtlError::Length {
            what: "POINT content",
            expected: format!("a multiple of {POINT_LEN} is expected"),
            got: content.len(),
        });
    }
    content.chunks_exact(POINT_LEN).map(Point::decode).collect()
}
