//! Opening and writing WFDB records on disk for the `medlink ecg` commands (the ecg crate itself
//! only sees bytes).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ecg::wfdb::{self, Annotation, Record};

/// A record read from disk, with its reference annotations when a `.atr` file is beside it.
pub struct RecordOnDisk {
    pub record: Record,
    pub annotations: Option<Vec<Annotation>>,
}

impl RecordOnDisk {
    pub fn sample_rate(&self) -> f64 {
        self.record.header.sampling_frequency
    }

    /// One lead in mV, or a clear error if the record has no such signal.
    pub fn lead(&self, signal: usize) -> anyhow::Result<Vec<f32>> {
        self.record.physical(signal).with_context(|| {
            format!(
                "signal {signal} does not exist: the record has {}",
                self.record.header.signals.len()
            )
        })
    }

    /// Sample indices of the reference beats, or an error naming the missing file.
    pub fn reference_beats(&self, record: &Path) -> anyhow::Result<Vec<u64>> {
        let annotations = self.annotations.as_ref().with_context(|| {
            format!(
                "no reference annotations: {} not found",
                sibling(record, "atr").display()
            )
        })?;
        Ok(annotations
            .iter()
            .filter(|a| a.is_beat())
            .map(|a| a.sample)
            .collect())
    }
}

/// `RECORD` may be given as `dir/100` or `dir/100.hea`.
pub fn base_path(record: &Path) -> PathBuf {
    match record.extension().and_then(|e| e.to_str()) {
        Some("hea" | "dat" | "atr") => record.with_extension(""),
        _ => record.to_path_buf(),
    }
}

fn sibling(record: &Path, extension: &str) -> PathBuf {
    let base = base_path(record);
    let mut name = base.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(extension);
    base.with_file_name(name)
}

pub fn load(record: &Path) -> anyhow::Result<RecordOnDisk> {
    let header_path = sibling(record, "hea");
    let header_bytes = std::fs::read(&header_path)
        .with_context(|| format!("reading header {}", header_path.display()))?;
    let header = wfdb::Header::parse_bytes(&header_bytes)
        .with_context(|| format!("parsing header {}", header_path.display()))?;
    let Some(first) = header.signals.first() else {
        bail!("{} describes no signal", header_path.display());
    };
    let signal_path = base_path(record).with_file_name(&first.file_name);
    let signal_bytes = std::fs::read(&signal_path)
        .with_context(|| format!("reading signal file {}", signal_path.display()))?;
    let samples = wfdb::signal::decode(&header, &signal_bytes)
        .with_context(|| format!("decoding signal file {}", signal_path.display()))?;
    let record_data = Record { header, samples };
    for mismatch in record_data.checksum_mismatches() {
        tracing::warn!(
            "signal {} checksum {} differs from the header's {}: the file may be damaged",
            mismatch.signal,
            mismatch.computed,
            mismatch.expected
        );
    }
    let atr_path = sibling(record, "atr");
    let annotations = match std::fs::read(&atr_path) {
        Ok(bytes) => Some(
            wfdb::annotation::decode(&bytes)
                .with_context(|| format!("decoding annotations {}", atr_path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", atr_path.display())),
    };
    Ok(RecordOnDisk {
        record: record_data,
        annotations,
    })
}

/// Writes `record` as `out.hea` + `out.dat` (renamed after `out`), and `out.atr` if given.
pub fn save(out: &Path, record: &Record, annotations: Option<&[Annotation]>) -> anyhow::Result<()> {
    let base = base_path(out);
    let name = base
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} is not a usable record name", out.display()))?
        .to_string();
    if let Some(dir) = base.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut renamed = record.clone();
    renamed.header.record_name = name.clone();
    for spec in &mut renamed.header.signals {
        spec.file_name = format!("{name}.dat");
    }
    let (header_text, signal_bytes) = renamed.encode();
    let write = |extension: &str, bytes: &[u8]| {
        let path = sibling(&base, extension);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write("hea", header_text.as_bytes())?;
    write("dat", &signal_bytes)?;
    if let Some(annotations) = annotations {
        write("atr", &wfdb::annotation::encode(annotations)?)?;
    }
    Ok(())
}

/// The record's name (file stem) for default output names.
pub fn record_name(record: &Path) -> String {
    base_path(record).file_name().map_or_else(
        || "record".to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
