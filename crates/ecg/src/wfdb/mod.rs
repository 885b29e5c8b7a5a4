//! WFDB (PhysioNet) records: headers, signal files in formats 8, 16, 24, 32, 61, 80, 160, 212,
//! 310 and 311, and MIT annotations.
//!
//! Everything here works on bytes or readers; opening files is the caller's job.

pub mod annotation;
mod format;
mod header;
pub mod signal;

pub use annotation::Annotation;
pub use format::{ALL_FORMATS, SignalFormat};
pub use header::{Header, SignalSpec};
pub use signal::{ChecksumMismatch, Samples};

use std::io::Read;

/// Why a WFDB file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WfdbError {
    #[error("header is not text: byte {offset} is not UTF-8")]
    NotText { offset: usize },
    #[error("header has no record line (record name, number of signals, frequency, length)")]
    MissingRecordLine,
    #[error("header line {line}: {field} {value:?} {problem}")]
    BadField {
        line: usize,
        field: &'static str,
        value: String,
        problem: &'static str,
    },
    #[error("header line {line}: {field} is missing")]
    MissingField { line: usize, field: &'static str },
    #[error(
        "header line {line}: signal format {format:?} is not supported \
         (this reader knows 8, 16, 24, 32, 61, 80, 160, 212, 310 and 311)"
    )]
    UnsupportedFormat { line: usize, format: String },
    #[error("header names {expected} signals but has {found} signal lines")]
    MissingSignalLines { expected: usize, found: usize },
    #[error("header: multi-segment records are not supported")]
    MultiSegment,
    #[error("header: all signals must share one signal file and format")]
    MixedSignalFiles,
    #[error(
        "signal file is too short: it holds {found} samples per signal, the header says {expected}"
    )]
    TruncatedSignal { expected: usize, found: usize },
    #[error("annotation file ends inside the item at byte {offset}")]
    TruncatedAnnotation { offset: usize },
    #[error("annotation modifier at byte {offset} comes before any annotation")]
    ModifierWithoutAnnotation { offset: usize },
    #[error("annotation at byte {offset} has unknown code {code}")]
    UnknownAnnotationCode { offset: usize, code: u8 },
    #[error("annotation time overflows at byte {offset}")]
    AnnotationTimeOverflow { offset: usize },
    #[error("annotation {index} cannot be written in MIT format")]
    UnencodableAnnotation { index: usize },
    #[error("reading {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

/// A record in memory: its header and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub header: Header,
    pub samples: Samples,
}

impl Record {
    /// Decodes a record from its header text and the bytes of its signal file.
    pub fn decode(header_bytes: &[u8], signal_bytes: &[u8]) -> Result<Self, WfdbError> {
        let header = Header::parse_bytes(header_bytes)?;
        let samples = signal::decode(&header, signal_bytes)?;
        Ok(Record { header, samples })
    }

    /// Reads a record from a header reader and a signal-file reader.
    pub fn read(header: impl Read, signal: impl Read) -> Result<Self, WfdbError> {
        Self::decode(
            &read_all(header, "header")?,
            &read_all(signal, "signal file")?,
        )
    }

    /// One signal in physical units (missing samples are NaN), or `None` past the last signal.
    pub fn physical(&self, signal: usize) -> Option<Vec<f32>> {
        let spec = self.header.signals.get(signal)?;
        let values = self.samples.signals.get(signal)?;
        Some(values.iter().map(|&adu| spec.to_physical(adu)).collect())
    }

    /// Signals whose stored checksum does not match the samples.
    pub fn checksum_mismatches(&self) -> Vec<ChecksumMismatch> {
        signal::verify(&self.header, &self.samples)
    }

    /// Encodes the header and signal file, with checksums and initial values recomputed.
    pub fn encode(&self) -> (String, Vec<u8>) {
        let mut header = self.header.clone();
        signal::describe(&mut header, &self.samples);
        let format = header
            .signals
            .first()
            .map_or(SignalFormat::Int16, |s| s.format);
        (header.to_text(), signal::encode(format, &self.samples))
    }
}

/// Reads annotations from a reader of an MIT-format annotation file.
pub fn read_annotations(reader: impl Read) -> Result<Vec<Annotation>, WfdbError> {
    annotation::decode(&read_all(reader, "annotation file")?)
}

fn read_all(mut reader: impl Read, what: &'static str) -> Result<Vec<u8>, WfdbError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| WfdbError::Io { what, source })?;
    Ok(bytes)
}
