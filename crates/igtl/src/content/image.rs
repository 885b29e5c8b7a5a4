//! IMAGE: a 72-byte image header (components, scalar type, pixel endianness, RAS/LPS, volume
//! size, the 3×4 matrix of direction × spacing and the volume's centre, the sub-volume) and the
//! pixels, which must be exactly as many bytes as the sub-volume holds.

use crate::IgtlError;
use crate::text::{Reader, put_f32s};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    Int8 = 2,
    Uint8 = 3,
    Int16 = 4,
    Uint16 = 5,
    Int32 = 6,
    Uint32 = 7,
    Float32 = 10,
    Float64 = 11,
}

impl ScalarType {
    pub fn size(self) -> usize {
        match self {
            ScalarType::Int8 | ScalarType::Uint8 => 1,
            ScalarType::Int16 | ScalarType::Uint16 => 2,
            ScalarType::Int32 | ScalarType::Uint32 | ScalarType::Float32 => 4,
            ScalarType::Float64 => 8,
        }
    }

    fn from_wire(v: u8) -> Result<Self, IgtlError> {
        Ok(match v {
            2 => ScalarType::Int8,
            3 => ScalarType::Uint8,
            4 => ScalarType::Int16,
            5 => ScalarType::Uint16,
            6 => ScalarType::Int32,
            7 => ScalarType::Uint32,
            10 => ScalarType::Float32,
            11 => ScalarType::Float64,
            other => {
                return Err(IgtlError::Invalid {
                    field: "IMAGE scalar type",
                    detail: format!("{other} is not 2-7, 10 or 11"),
                });
            }
        })
    }
}

/// Byte order of the pixel data (the header's numbers are always big-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Big = 1,
    Little = 2,
}

/// The patient coordinate system of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coord {
    Ras = 1,
    Lps = 2,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub components: u8,
    pub scalar: ScalarType,
    pub endian: Endian,
    pub coord: Coord,
    /// Volume size (i, j, k).
    pub size: [u16; 3],
    /// [0..3] i direction × spacing, [3..6] j direction × spacing, [6..9] k direction ×
    /// spacing (mm), [9..12] the centre of the volume (mm).
    pub matrix: [f32; 12],
    pub subvolume_offset: [u16; 3],
    pub subvolume_size: [u16; 3],
    pub pixels: Vec<u8>,
}

impl Image {
    pub const HEADER_LEN: usize = 72;

    /// A whole single-component float32 image (little-endian pixels, i fastest) with axis-aligned
    /// spacing and its centre, in RAS.
    pub fn from_f32(
        size: [u16; 3],
        spacing_mm: [f32; 3],
        centre_mm: [f32; 3],
        values: &[f32],
    ) -> Image {
        let mut pixels = Vec::with_capacity(values.len() * 4);
        for v in values {
            pixels.extend_from_slice(&v.to_le_bytes());
        }
        let [si, sj, sk] = spacing_mm;
        let [cx, cy, cz] = centre_mm;
        Image {
            components: 1,
            scalar: ScalarType::Float32,
            endian: Endian::Little,
            coord: Coord::Ras,
            size,
            matrix: [si, 0.0, 0.0, 0.0, sj, 0.0, 0.0, 0.0, sk, cx, cy, cz],
            subvolume_offset: [0; 3],
            subvolume_size: size,
            pixels,
        }
    }

    /// The pixel bytes the sub-volume holds.
    pub fn expected_pixel_len(&self) -> usize {
        self.subvolume_size
            .iter()
            .map(|&n| n as usize)
            .product::<usize>()
            * self.components as usize
            * self.scalar.size()
    }

    fn check(&self) -> Result<(), IgtlError> {
        if self.components == 0 {
            return Err(IgtlError::Invalid {
                field: "IMAGE components",
                detail: "0 (at least 1 is needed)".into(),
            });
        }
        for axis in 0..3 {
            let end = self.subvolume_offset[axis] as u32 + self.subvolume_size[axis] as u32;
            if end > self.size[axis] as u32 {
                return Err(IgtlError::Invalid {
                    field: "IMAGE sub-volume",
                    detail: format!(
                        "offset {:?} + size {:?} is outside the volume {:?}",
                        self.subvolume_offset, self.subvolume_size, self.size
                    ),
                });
            }
        }
        if self.pixels.len() != self.expected_pixel_len() {
            return Err(IgtlError::Length {
                what: "IMAGE pixels",
                expected: format!(
                    "the sub-volume {:?} × {} components × {} bytes needs {}",
                    self.subvolume_size,
                    self.components,
                    self.scalar.size(),
                    self.expected_pixel_len()
                ),
                got: self.pixels.len(),
            });
        }
        Ok(())
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), IgtlError> {
        self.check()?;
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&[
            self.components,
            self.scalar as u8,
            self.endian as u8,
            self.coord as u8,
        ]);
        for v in self.size {
            out.extend_from_slice(&v.to_be_bytes());
        }
        put_f32s(out, &self.matrix);
        for v in self.subvolume_offset.iter().chain(&self.subvolume_size) {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&self.pixels);
        Ok(())
    }

    pub(crate) fn decode(content: &[u8]) -> Result<Image, IgtlError> {
        let mut r = Reader::new("IMAGE header", content);
        let version = r.u16()?;
        if version != 1 {
            return Err(IgtlError::Invalid {
                field: "IMAGE header version",
                detail: format!("{version} (only 1 is defined)"),
            });
        }
        let components = r.u8()?;
        let scalar = ScalarType::from_wire(r.u8()?)?;
        let endian = match r.u8()? {
            1 => Endian::Big,
            2 => Endian::Little,
            other => {
                return Err(IgtlError::Invalid {
                    field: "IMAGE endian",
                    detail: format!("{other} is neither 1 (big) nor 2 (little)"),
                });
            }
        };
        let coord = match r.u8()? {
            1 => Coord::Ras,
            2 => Coord::Lps,
            other => {
                return Err(IgtlError::Invalid {
                    field: "IMAGE coordinate system",
                    detail: format!("{other} is neither 1 (RAS) nor 2 (LPS)"),
                });
            }
        };
        let image = Image {
            components,
            scalar,
            endian,
            coord,
            size: r.u16s()?,
            matrix: r.f32s()?,
            subvolume_offset: r.u16s()?,
            subvolume_size: r.u16s()?,
            pixels: r.rest().to_vec(),
        };
        image.check()?;
        Ok(image)
    }

    /// The pixels as f32 (for a single-component float32 image).
    pub fn f32_pixels(&self) -> Option<Vec<f32>> {
        if self.scalar != ScalarType::Float32 {
            return None;
        }
        let values = self.pixels.chunks_exact(4).map(|c| {
            let bytes = [c[0], c[1], c[2], c[3]];
            match self.endian {
                Endian::Little => f32::from_le_bytes(bytes),
                Endian::Big => f32::from_be_bytes(bytes),
            }
        });
        Some(values.collect())
    }
}
