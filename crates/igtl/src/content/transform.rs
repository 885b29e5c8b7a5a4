//! TRANSFORM: the upper 3×4 of a homogeneous matrix as 12 float32, column by column (R11 R21
//! R31 R12 … TX TY TZ); translation in millimetres.

use crate::IgtlError;
use crate::text::{Reader, put_f32s};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    /// Rows of the upper 3×4: `rows[r] = [R_r1, R_r2, R_r3, T_r]`, translation in mm.
    pub rows: [[f32; 4]; 3],
}

impl Transform {
    pub const LEN: usize = 48;

    pub fn identity() -> Transform {
        Transform {
            rows: [
                [1.0, 0.0, 0.0, 0.0],
                [0.0, 1.0, 0.0, 0.0],
                [0.0, 0.0, 1.0, 0.0],
            ],
        }
    }

    /// From a rotation matrix (rows) and a translation in millimetres.
    pub fn from_rotation_translation(rotation: [[f64; 3]; 3], translation_mm: [f64; 3]) -> Self {
        let mut rows = [[0.0; 4]; 3];
        for r in 0..3 {
            for c in 0..3 {
                rows[r][c] = rotation[r][c] as f32;
            }
            rows[r][3] = translation_mm[r] as f32;
        }
        Transform { rows }
    }

    pub fn translation_mm(&self) -> [f32; 3] {
        [self.rows[0][3], self.rows[1][3], self.rows[2][3]]
    }

    pub fn is_finite(&self) -> bool {
        self.rows.iter().flatten().all(|v| v.is_finite())
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let m = &self.rows;
        let mut wire = [0.0f32; 12];
        for c in 0..4 {
            for r in 0..3 {
                wire[c * 3 + r] = m[r][c];
            }
        }
        put_f32s(out, &wire);
    }

    pub(crate) fn decode(content: &[u8]) -> Result<Transform, IgtlError> {
        let mut r = Reader::new("TRANSFORM content", content);
        let wire: [f32; 12] = r.f32s()?;
        r.finish()?;
        let mut rows = [[0.0; 4]; 3];
        for c in 0..4 {
            for (row, values) in rows.iter_mut().enumerate() {
                values[c] = wire[c * 3 + row];
            }
        }
        Ok(Transform { rows })
    }
}
