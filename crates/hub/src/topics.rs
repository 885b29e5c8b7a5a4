//! The MQTT topic scheme (docs/ingest.md).
//!
//! Devices publish under `medlink/v1/devices/{device}/...`, ambulances under
//! `medlink/v1/ambulances/{unit}/position`, ECG leads under `medlink/v1/ecg/{patient}/{device}/{lead}`;
//! the hub answers on `.../ack` and `.../error`.

/// Root of every medlink topic.
pub const ROOT: &str = "medlink/v1";

/// Vitals of every device: taken for storage, and again for scoring by the alert fast path.
pub const VITALS: &str = "medlink/v1/devices/+/vitals";

/// Filters the hub subscribes to, all QoS 1.
pub const SUBSCRIPTIONS: [&str; 5] = [
    VITALS,
    "medlink/v1/devices/+/status",
    "medlink/v1/devices/+/heartbeat",
    "medlink/v1/ambulances/+/position",
    "medlink/v1/ecg/+/+/+",
];

/// What an incoming topic is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic<'a> {
    Vitals(&'a str),
    Status(&'a str),
    Heartbeat(&'a str),
    Position(&'a str),
    /// One lead of an ECG stream: samples as `ecg::EcgChunkMessage` JSON.
    Ecg(EcgStream<'a>),
}

impl<'a> Topic<'a> {
    /// The device the topic belongs to (an ambulance's unit id is its device id).
    pub fn device(&self) -> &'a str {
        match self {
            Topic::Vitals(d) | Topic::Status(d) | Topic::Heartbeat(d) | Topic::Position(d) => d,
            Topic::Ecg(stream) => stream.device,
        }
    }
}

/// The ids an ECG topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcgStream<'a> {
    pub patient: &'a str,
    pub device: &'a str,
    pub lead: &'a str,
}

/// Parses an incoming topic; `None` for anything outside the scheme.
pub fn parse(topic: &str) -> Option<Topic<'_>> {
    let rest = topic.strip_prefix(ROOT)?.strip_prefix('/')?;
    if let Some(ids) = rest.strip_prefix("ecg/") {
        return parse_ecg(ids);
    }
    let mut parts = rest.split('/');
    let (group, id, leaf) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || id.is_empty() {
        return None;
    }
    match (group, leaf) {
        ("devices", "vitals") => Some(Topic::Vitals(id)),
        ("devices", "status") => Some(Topic::Status(id)),
        ("devices", "heartbeat") => Some(Topic::Heartbeat(id)),
        ("ambulances", "position") => Some(Topic::Position(id)),
        _ => None,
    }
}

fn parse_ecg(ids: &str) -> Option<Topic<'_>> {
    let mut parts = ids.split('/');
    let (patient, device, lead) = (parts.next()?, parts.next()?, parts.next()?);
    let empty = [patient, device, lead].iter().any(|id| id.is_empty());
    if parts.next().is_some() || empty {
        return None;
    }
    Some(Topic::Ecg(EcgStream {
        patient,
        device,
        lead,
    }))
}

/// Where a device publishes its measurements.
pub fn vitals(device: &str) -> String {
    format!("{ROOT}/devices/{device}/vitals")
}

/// Where a device announces `online` / `offline` (its last will goes here too).
pub fn status(device: &str) -> String {
    format!("{ROOT}/devices/{device}/status")
}

/// Where a device sends heartbeats.
pub fn heartbeat(device: &str) -> String {
    format!("{ROOT}/devices/{device}/heartbeat")
}

/// Where the hub confirms committed measurements to a device.
pub fn ack(device: &str) -> String {
    format!("{ROOT}/devices/{device}/ack")
}

/// Where the hub tells a device that a payload was rejected.
pub fn error(device: &str) -> String {
    format!("{ROOT}/devices/{device}/error")
}

/// Where an ambulance publishes its position.
pub fn position(unit: &str) -> String {
    format!("{ROOT}/ambulances/{unit}/position")
}

/// Where a device publishes one lead of its ECG.
pub fn ecg(patient: &str, device: &str, lead: &str) -> String {
    format!("{ROOT}/ecg/{patient}/{device}/{lead}")
}

/// Where the hub confirms committed ECG chunks (their `seq`) of one lead.
pub fn ecg_ack(stream: &EcgStream) -> String {
    format!("{}/ack", ecg(stream.patient, stream.device, stream.lead))
}

/// Where the hub tells an ECG device that a chunk was rejected.
pub fn ecg_error(stream: &EcgStream) -> String {
    format!("{}/error", ecg(stream.patient, stream.device, stream.lead))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_scheme() {
        assert_eq!(parse(&vitals("w-1")), Some(Topic::Vitals("w-1")));
        assert_eq!(parse(&status("w-1")), Some(Topic::Status("w-1")));
        assert_eq!(parse(&heartbeat("w-1")), Some(Topic::Heartbeat("w-1")));
        assert_eq!(parse(&position("amb-7")), Some(Topic::Position("amb-7")));
        assert_eq!(parse(&ack("w-1")), None);
        assert_eq!(parse("medlink/v1/devices//vitals"), None);
        assert_eq!(parse("medlink/v1/devices/a/vitals/x"), None);
        assert_eq!(parse("other/v1/devices/a/vitals"), None);
        let stream = EcgStream {
            patient: "p-1",
            device: "holter-7",
            lead: "II",
        };
        assert_eq!(
            parse(&ecg("p-1", "holter-7", "II")),
            Some(Topic::Ecg(stream))
        );
        assert_eq!(
            parse(&ecg_ack(&stream)),
            None,
            "the hub never hears its own acks"
        );
        assert_eq!(parse(&ecg_error(&stream)), None);
        assert_eq!(parse("medlink/v1/ecg/p//II"), None);
        assert_eq!(parse("medlink/v1/ecg/p/d"), None);
    }
}
