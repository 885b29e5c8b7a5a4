//! Label volumes from outside: a JSON header plus raw bytes, one u8 tissue label per voxel (x fastest).

use crate::HifuError;
use crate::grid::Grid;
use crate::medium::Medium;
use crate::tissue::Tissue;
use serde::{Deserialize, Serialize};

/// The JSON header of a raw label volume, e.g.
/// `{"dims": [120, 120, 160], "spacing_mm": 1.0, "data": "pelvis.raw"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeHeader {
    pub dims: [usize; 3],
    pub spacing_mm: f64,
    /// Path of the raw file, relative to the header.
    pub data: String,
}

impl VolumeHeader {
    /// Parses a header, rejecting malformed JSON and impossible grids.
    pub fn parse(json: &[u8]) -> Result<VolumeHeader, HifuError> {
        let header: VolumeHeader =
            serde_json::from_slice(json).map_err(|e| HifuError::VolumeHeader(e.to_string()))?;
        header.grid()?;
        Ok(header)
    }

    pub fn grid(&self) -> Result<Grid, HifuError> {
        Grid::new(self.dims, self.spacing_mm * 1e-3)
    }
}

/// Decodes a header and its raw labels into a medium; every label must be a known tissue.
pub fn decode_volume(header_json: &[u8], raw: &[u8]) -> Result<Medium, HifuError> {
    let grid = VolumeHeader::parse(header_json)?.grid()?;
    if raw.len() != grid.cell_count() {
        return Err(HifuError::VolumeSize {
            expected: grid.cell_count(),
            actual: raw.len(),
        });
    }
    let labels = raw
        .iter()
        .enumerate()
        .map(|(index, &label)| {
            Tissue::from_label(label).ok_or(HifuError::UnknownLabel { label, index })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Medium::from_labels(grid, labels)
}

/// Encodes a medium's labels as raw bytes (the inverse of [`decode_volume`]'s data part).
pub fn encode_labels(medium: &Medium) -> Vec<u8> {
    medium.labels().iter().map(|t| t.label()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEADER: &[u8] = br#"{"dims": [3, 4, 5], "spacing_mm": 0.5, "data": "v.raw"}"#;

    #[test]
    fn a_volume_round_trips() {
        let raw: Vec<u8> = (0..60).map(|i| (i % 7) as u8).collect();
        let medium = decode_volume(HEADER, &raw).unwrap();
        assert_eq!(medium.tissue([1, 0, 0]), Tissue::Skin);
        assert_eq!(encode_labels(&medium), raw);
    }

    #[test]
    fn wrong_sizes_labels_and_headers_are_errors() {
        assert_eq!(
            decode_volume(HEADER, &[0; 59]),
            Err(HifuError::VolumeSize {
                expected: 60,
                actual: 59
            })
        );
        let mut raw = vec![0; 60];
        raw[17] = 9;
        assert_eq!(
            decode_volume(HEADER, &raw),
            Err(HifuError::UnknownLabel {
                label: 9,
                index: 17
            })
        );
        assert!(
            decode_volume(br#"{"dims": [0, 4, 5], "spacing_mm": 1, "data": "v"}"#, &[]).is_err()
        );
        assert!(
            decode_volume(
                br#"{"dims": [9999999, 9999999, 9999999], "spacing_mm": 1, "data": "v"}"#,
                &[]
            )
            .is_err()
        );
        assert!(
            decode_volume(
                br#"{"dims": [3, 3, 3], "spacing_mm": -1, "data": "v"}"#,
                &[0; 27]
            )
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn random_bytes_are_errors_not_panics(header in proptest::collection::vec(any::<u8>(), 0..200),
                                              raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_volume(&header, &raw);
        }

        #[test]
        fn mutated_headers_are_errors_not_panics(position in 0..HEADER.len(), byte in any::<u8>(),
                                                 raw in proptest::collection::vec(0u8..8, 60)) {
            let mut header = HEADER.to_vec();
            header[position] = byte;
            if let Ok(medium) = decode_volume(&header, &raw) {
                prop_assert_eq!(medium.grid.cell_count(), raw.len());
            }
        }
    }
}
