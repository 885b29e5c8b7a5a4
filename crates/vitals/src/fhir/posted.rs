//! Where Observations posted over FHIR are stored: under a source of their own, `fhir:{device}`
//! (`fhir:` when no device is named). Device ids cannot hold a `:`, so a posted Observation
//! never takes a sequence number of a device's own readings, and no device is made up for it.

/// What starts the source id of a posted Observation (reserved: `:` is not allowed in device ids).
pub const POSTED_MARK: &str = "fhir:";

/// The source id a posted Observation is stored under.
pub fn posted_source(device: Option<&str>) -> String {
    format!("{POSTED_MARK}{}", device.unwrap_or_default())
}

/// For a stored source id: `None` for a device's own reading, `Some(device named by the
/// client, if any)` for a posted Observation.
pub fn posted_device(source: &str) -> Option<Option<&str>> {
    let device = source.strip_prefix(POSTED_MARK)?;
    Some((!device.is_empty()).then_some(device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posted_sources_round_trip_and_never_look_like_devices() {
        assert_eq!(posted_device(&posted_source(Some("d1"))), Some(Some("d1")));
        assert_eq!(posted_device(&posted_source(None)), Some(None));
        assert_eq!(posted_device("d1"), None);
        assert!(crate::payload::validate_id("device", &posted_source(Some("d1"))).is_err());
    }
}
