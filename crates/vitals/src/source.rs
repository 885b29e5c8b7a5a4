//! Where a measurement came from: a device's own reading, or a heart rate the hub derived from
//! one lead of an ECG stream. An ECG stream is stored as its own device, `{device}.ecg.{lead}`,
//! so its observations are de-duplicated apart from the device's other readings and FHIR can
//! say how the value was measured.

/// What separates the device id from the lead in an ECG stream id (reserved in device ids).
pub const ECG_STREAM_MARK: &str = ".ecg.";

/// The id under which the heart rate derived from `lead` of `device` is stored.
pub fn ecg_stream_device(device: &str, lead: &str) -> String {
    format!("{device}{ECG_STREAM_MARK}{lead}")
}

/// `(device, lead)` of an ECG stream id, or `None` for an ordinary device.
pub fn ecg_stream_parts(stream: &str) -> Option<(&str, &str)> {
    let at = stream.rfind(ECG_STREAM_MARK)?;
    let (device, lead) = (&stream[..at], &stream[at + ECG_STREAM_MARK.len()..]);
    (!device.is_empty() && !lead.is_empty()).then_some((device, lead))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_round_trip() {
        let id = ecg_stream_device("holter-7", "II");
        assert_eq!(id, "holter-7.ecg.II");
        assert_eq!(ecg_stream_parts(&id), Some(("holter-7", "II")));
        assert_eq!(ecg_stream_parts("wearable-001"), None);
        assert_eq!(ecg_stream_parts(".ecg.II"), None);
        assert_eq!(ecg_stream_parts("d.ecg."), None);
    }
}
