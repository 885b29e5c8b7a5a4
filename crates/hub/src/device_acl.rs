//! What a registered device may do on MQTT: publish only its own topics (its vitals, status,
//! heartbeat and ambulance position, and ECG leads of its own patient) and subscribe only to the
//! hub's answers to it (its `ack` and `error` topics, those of its ECG leads). The embedded
//! gateway applies these rules to every PUBLISH, SUBSCRIBE and last will; [`mosquitto_acl`]
//! writes the same rules for mosquitto.

use crate::topics::{self, Topic};

/// Who is connected: a device and the patient it is registered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub device: String,
    pub patient: String,
}

impl DeviceIdentity {
    /// Whether this device may publish on `topic`.
    pub fn may_publish(&self, topic: &str) -> bool {
        match topics::parse(topic) {
            Some(
                Topic::Vitals(d) | Topic::Status(d) | Topic::Heartbeat(d) | Topic::Position(d),
            ) => d == self.device,
            Some(Topic::Ecg(s)) => s.device == self.device && s.patient == self.patient,
            None => false,
        }
    }

    /// Whether this device may subscribe to `filter`: only exact topics the hub answers it on,
    /// never a wildcard.
    pub fn may_subscribe(&self, filter: &str) -> bool {
        if filter == topics::ack(&self.device) || filter == topics::error(&self.device) {
            return true;
        }
        let Some(lead_topic) = filter
            .strip_suffix("/ack")
            .or_else(|| filter.strip_suffix("/error"))
        else {
            return false;
        };
        let no_wildcards = !filter.contains(['+', '#']);
        no_wildcards
            && matches!(topics::parse(lead_topic), Some(Topic::Ecg(_)))
            && self.may_publish(lead_topic)
    }
}

/// The device a hub answer (`.../ack`, `.../error`) is addressed to, if it is one.
pub fn addressee(topic: &str) -> Option<&str> {
    let lead_topic = topic
        .strip_suffix("/ack")
        .or_else(|| topic.strip_suffix("/error"))?;
    if let Some(Topic::Ecg(s)) = topics::parse(lead_topic) {
        return Some(s.device);
    }
    let device = lead_topic
        .strip_prefix(topics::ROOT)?
        .strip_prefix("/devices/")?;
    (!device.is_empty() && !device.contains('/')).then_some(device)
}

/// mosquitto's ACL file for the hub (`hub_user`: reads every medlink topic, writes the answers)
/// and each registered device (the rules above, as `user` blocks of `topic` lines).
pub fn mosquitto_acl<'a>(
    hub_user: &str,
    devices: impl IntoIterator<Item = &'a DeviceIdentity>,
) -> String {
    let root = topics::ROOT;
    let mut acl = format!(
        "# Written by `medlink hub device mosquitto`; do not edit (it is rewritten).\n\
         user {hub_user}\ntopic read {root}/#\ntopic write {root}/devices/+/ack\n\
         topic write {root}/devices/+/error\ntopic write {root}/ecg/+/+/+/ack\n\
         topic write {root}/ecg/+/+/+/error\n"
    );
    for id in devices {
        let (d, p) = (&id.device, &id.patient);
        acl.push_str(&format!(
            "\nuser {d}\ntopic write {}\ntopic write {}\ntopic write {}\ntopic write {}\n\
             topic write {root}/ecg/{p}/{d}/+\ntopic read {}\ntopic read {}\n\
             topic read {root}/ecg/{p}/{d}/+/ack\ntopic read {root}/ecg/{p}/{d}/+/error\n",
            topics::vitals(d),
            topics::status(d),
            topics::heartbeat(d),
            topics::position(d),
            topics::ack(d),
            topics::error(d),
        ));
    }
    acl
}

/// mosquitto's password file: one `user:$7$...` line per account (hashes from
/// [`crate::device_secret`]).
pub fn mosquitto_passwords<'a>(accounts: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    accounts
        .into_iter()
        .map(|(user, hash)| format!("{user}:{hash}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w1() -> DeviceIdentity {
        DeviceIdentity {
            device: "w-1".into(),
            patient: "p-1".into(),
        }
    }

    #[test]
    fn a_device_publishes_only_its_own_topics() {
        let id = w1();
        for own in [
            topics::vitals("w-1"),
            topics::status("w-1"),
            topics::heartbeat("w-1"),
            topics::position("w-1"),
            topics::ecg("p-1", "w-1", "II"),
        ] {
            assert!(id.may_publish(&own), "{own}");
        }
        for other in [
            topics::vitals("w-2"),
            topics::status("w-2"),
            topics::heartbeat("w-10"),
            topics::position("w-2"),
            topics::ecg("p-2", "w-1", "II"),
            topics::ecg("p-1", "w-2", "II"),
            topics::ack("w-1"),
            topics::error("w-1"),
            "medlink/v1/devices/+/vitals".to_string(),
            "medlink/v1/devices/w-1/vitals/extra".to_string(),
            "elsewhere".to_string(),
        ] {
            assert!(!id.may_publish(&other), "{other}");
        }
    }

    #[test]
    fn a_device_subscribes_only_to_its_answers() {
        let id = w1();
        let lead = topics::ecg("p-1", "w-1", "II");
        for own in [
            topics::ack("w-1"),
            topics::error("w-1"),
            format!("{lead}/ack"),
            format!("{lead}/error"),
        ] {
            assert!(id.may_subscribe(&own), "{own}");
        }
        for other in [
            "medlink/#",
            "#",
            "medlink/v1/devices/+/ack",
            "medlink/v1/devices/w-1/#",
            "medlink/v1/ecg/p-1/w-1/+/ack",
            &topics::ack("w-2"),
            &topics::vitals("w-1"),
            &format!("{}/ack", topics::ecg("p-2", "w-1", "II")),
        ] {
            assert!(!id.may_subscribe(other), "{other}");
        }
    }

    #[test]
    fn answers_name_their_device() {
        assert_eq!(addressee(&topics::ack("w-1")), Some("w-1"));
        assert_eq!(addressee(&topics::error("w-1")), Some("w-1"));
        let lead = topics::ecg("p-1", "holter-7", "II");
        assert_eq!(addressee(&format!("{lead}/ack")), Some("holter-7"));
        assert_eq!(addressee(&topics::vitals("w-1")), None);
        assert_eq!(addressee("medlink/v1/devices//ack"), None);
        assert_eq!(addressee("medlink/v1/devices/a/b/ack"), None);
    }

    #[test]
    fn mosquitto_files_name_every_device() {
        let acl = mosquitto_acl("medlink-hub", [&w1()]);
        assert!(acl.contains("user medlink-hub\ntopic read medlink/v1/#\n"));
        assert!(acl.contains("user w-1\ntopic write medlink/v1/devices/w-1/vitals\n"));
        assert!(acl.contains("topic write medlink/v1/ecg/p-1/w-1/+\n"));
        assert!(acl.contains("topic read medlink/v1/devices/w-1/ack\n"));
        assert!(!acl.contains("topic read medlink/v1/devices/w-2"));
        let passwd = mosquitto_passwords([("medlink-hub", "$7$1$a$b"), ("w-1", "$7$1$c$d")]);
        assert_eq!(passwd, "medlink-hub:$7$1$a$b\nw-1:$7$1$c$d\n");
    }
}
