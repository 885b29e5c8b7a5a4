//! MIT-format annotation files (`.atr`): decoding, encoding and which codes are beats.

use super::WfdbError;

const SKIP: u16 = 59;
const NUM: u16 = 60;
const SUB: u16 = 61;
const CHN: u16 = 62;
const AUX: u16 = 63;
/// Largest code an annotation itself may carry (above are the modifier codes).
const MAX_ANNOTATION_CODE: u8 = 49;

/// One annotation: a labelled sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub sample: u64,
    /// WFDB annotation code (1 = N, 5 = V, 8 = A, 28 = rhythm change, ...).
    pub code: u8,
    pub subtype: i8,
    pub channel: u8,
    pub num: i8,
    pub aux: Vec<u8>,
}

impl Annotation {
    /// Whether this annotation marks a QRS complex (WFDB's `isqrs`).
    pub fn is_beat(&self) -> bool {
        is_beat_code(self.code)
    }

    /// The one-letter WFDB mnemonic, or `?` for codes without one here.
    pub fn mnemonic(&self) -> &'static str {
        mnemonic(self.code)
    }
}

/// Whether a WFDB annotation code marks a QRS complex.
pub fn is_beat_code(code: u8) -> bool {
    matches!(code, 1..=13 | 25 | 30 | 34 | 35 | 38 | 41)
}

/// The one-letter WFDB mnemonic of a code.
pub fn mnemonic(code: u8) -> &'static str {
    const TABLE: [(u8, &str); 20] = [
        (1, "N"),
        (2, "L"),
        (3, "R"),
        (4, "a"),
        (5, "V"),
        (6, "F"),
        (7, "J"),
        (8, "A"),
        (9, "S"),
        (10, "E"),
        (11, "j"),
        (12, "/"),
        (13, "Q"),
        (14, "~"),
        (16, "|"),
        (25, "B"),
        (28, "+"),
        (34, "e"),
        (35, "n"),
        (41, "r"),
    ];
    TABLE
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("?", |(_, m)| m)
}

/// Decodes an MIT-format annotation file.
pub fn decode(bytes: &[u8]) -> Result<Vec<Annotation>, WfdbError> {
    let mut annotations: Vec<Annotation> = Vec::new();
    let mut time: u64 = 0;
    let mut channel = 0u8;
    let mut num = 0i8;
    let mut offset = 0usize;
    while offset < bytes.len() {
        let word = read_word(bytes, offset)?;
        offset += 2;
        let code = word >> 10;
        let interval = word & 0x3FF;
        match code {
            0 if interval == 0 => return Ok(annotations),
            SKIP => {
                let high = read_word(bytes, offset)?;
                let low = read_word(bytes, offset + 2)?;
                offset += 4;
                let skip = ((u32::from(high) << 16) | u32::from(low)) as i32;
                time = time
                    .checked_add_signed(i64::from(skip))
                    .ok_or(WfdbError::AnnotationTimeOverflow { offset })?;
            }
            NUM | SUB | CHN | AUX => {
                let last = annotations
                    .last_mut()
                    .ok_or(WfdbError::ModifierWithoutAnnotation { offset: offset - 2 })?;
                match code {
                    NUM => {
                        num = interval as i8;
                        last.num = num;
                    }
                    SUB => last.subtype = interval as i8,
                    CHN => {
                        channel = interval as u8;
                        last.channel = channel;
                    }
                    _ => {
                        let length = usize::from(interval);
                        let text = bytes
                            .get(offset..offset + length)
                            .ok_or(WfdbError::TruncatedAnnotation { offset: offset - 2 })?;
                        last.aux = text.to_vec();
                        offset += length + (length & 1);
                    }
                }
            }
            _ => {
                time = time
                    .checked_add(u64::from(interval))
                    .ok_or(WfdbError::AnnotationTimeOverflow { offset })?;
                if code > u16::from(MAX_ANNOTATION_CODE) {
                    return Err(WfdbError::UnknownAnnotationCode {
                        offset: offset - 2,
                        code: code as u8,
                    });
                }
                annotations.push(Annotation {
                    sample: time,
                    code: code as u8,
                    subtype: 0,
                    channel,
                    num,
                    aux: Vec::new(),
                });
            }
        }
    }
    Ok(annotations)
}

fn read_word(bytes: &[u8], offset: usize) -> Result<u16, WfdbError> {
    match bytes.get(offset..offset + 2) {
        Some(&[low, high]) => Ok(u16::from_le_bytes([low, high])),
        _ => Err(WfdbError::TruncatedAnnotation { offset }),
    }
}

/// Encodes annotations (sorted by sample) in MIT format, with the end-of-file marker.
pub fn encode(annotations: &[Annotation]) -> Result<Vec<u8>, WfdbError> {
    let mut bytes = Vec::new();
    let mut push = |word: u16| bytes.extend_from_slice(&word.to_le_bytes());
    let mut time = 0u64;
    let mut channel = 0u8;
    let mut num = 0i8;
    for (index, a) in annotations.iter().enumerate() {
        let unencodable = a.sample < time
            || a.code == 0
            || a.code > MAX_ANNOTATION_CODE
            || a.channel > 63
            || a.aux.len() > 255;
        if unencodable {
            return Err(WfdbError::UnencodableAnnotation { index });
        }
        let mut delta = a.sample - time;
        if delta > 1023 {
            let skip =
                u32::try_from(delta).map_err(|_| WfdbError::UnencodableAnnotation { index })?;
            if skip > i32::MAX as u32 {
                return Err(WfdbError::UnencodableAnnotation { index });
            }
            push(SKIP << 10);
            push((skip >> 16) as u16);
            push((skip & 0xFFFF) as u16);
            delta = 0;
        }
        push((u16::from(a.code) << 10) | delta as u16);
        time = a.sample;
        if a.subtype != 0 {
            push((SUB << 10) | (a.subtype as u8 as u16 & 0x3FF));
        }
        if a.channel != channel {
            push((CHN << 10) | u16::from(a.channel));
            channel = a.channel;
        }
        if a.num != num {
            push((NUM << 10) | (a.num as u8 as u16));
            num = a.num;
        }
        if !a.aux.is_empty() {
            push((AUX << 10) | a.aux.len() as u16);
            let mut padded = a.aux.clone();
            if padded.len() % 2 == 1 {
                padded.push(0);
            }
            for pair in padded.chunks_exact(2) {
                push(u16::from_le_bytes([pair[0], pair[1]]));
            }
        }
    }
    push(0);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_beats_skip_and_aux() {
        // N at 18, SKIP of 2000, V at 2000 + 18 + 5, AUX "(N", end.
        let mut bytes = Vec::new();
        for word in [
            (1u16 << 10) | 18,
            SKIP << 10,
            0,
            2000,
            (5 << 10) | 5,
            (AUX << 10) | 2,
            u16::from_le_bytes([b'(', b'N']),
            0,
        ] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        let annotations = decode(&bytes).unwrap();
        assert_eq!(annotations.len(), 2);
        assert_eq!((annotations[0].sample, annotations[0].code), (18, 1));
        assert_eq!(
            (annotations[1].sample, annotations[1].mnemonic()),
            (2023, "V")
        );
        assert_eq!(annotations[1].aux, b"(N");
    }

    #[test]
    fn malformed_files_give_errors() {
        assert!(matches!(
            decode(&[0x00, 0xF0, 0x00]),
            Err(WfdbError::ModifierWithoutAnnotation { .. })
        ));
        assert!(matches!(
            decode(&[0x05]),
            Err(WfdbError::TruncatedAnnotation { .. })
        ));
        let aux_past_end = [0x12, 0x04, 0x0A, 0xFC];
        assert!(matches!(
            decode(&aux_past_end),
            Err(WfdbError::TruncatedAnnotation { .. })
        ));
    }

    fn annotation_strategy() -> impl Strategy<Value = (u64, u8, i8, u8, i8, Vec<u8>)> {
        (
            0u64..5000,
            1u8..=49,
            -100i8..100,
            0u8..4,
            -3i8..3,
            proptest::collection::vec(32u8..127, 0..5),
        )
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            parts in proptest::collection::vec(annotation_strategy(), 0..30)
        ) {
            let mut sample = 0;
            let annotations: Vec<Annotation> = parts
                .into_iter()
                .map(|(gap, code, subtype, channel, num, aux)| {
                    sample += gap;
                    Annotation { sample, code, subtype, channel, num, aux }
                })
                .collect();
            let bytes = encode(&annotations).unwrap();
            prop_assert_eq!(decode(&bytes).unwrap(), annotations);
        }
    }
}
