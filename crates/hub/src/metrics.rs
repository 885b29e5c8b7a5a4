//! Hub counters and gauges, rendered in the Prometheus text format on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters updated by ingestion and the alert engine.
#[derive(Debug, Default)]
pub struct Metrics {
    pub measurements_stored: AtomicU64,
    pub duplicates: AtomicU64,
    pub commits: AtomicU64,
    pub acks_sent: AtomicU64,
    pub alert_notifications: AtomicU64,
    /// ECG chunks analysed (redeliveries are counted in `duplicates`).
    pub ecg_chunks: AtomicU64,
    /// ECG chunks that never arrived (sequence gaps; the analysis restarted after each).
    pub ecg_missed_chunks: AtomicU64,
    /// Measurements scored on arrival by the alert fast path (its own connection).
    pub scored_fast_path: AtomicU64,
    /// Measurements scored by the durable path because the fast path had not seen them.
    pub scored_durable_path: AtomicU64,
    /// Device reboots detected (a sequence counter that started again; docs/hub.md).
    pub device_reboots: AtomicU64,
    /// The hub's MQTT subscriptions are in place (set on SUBACK, cleared on a lost connection).
    pub mqtt_subscribed: AtomicBool,
    /// The alert fast path's subscription is in place.
    pub fast_path_subscribed: AtomicBool,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    device_refusals: Mutex<BTreeMap<&'static str, u64>>,
}

/// What a device was refused (`medlink_hub_device_refused_total{what=...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRefusal {
    /// Sign-in: unknown device, wrong password, or no credentials.
    Connect,
    /// A publish on a topic that is not the device's own.
    Publish,
    /// A subscription to anything but the hub's answers to the device.
    Subscribe,
    /// A last will on a topic that is not the device's own.
    Will,
    /// A message (through an external broker) from a device with no registration.
    Unregistered,
}

impl DeviceRefusal {
    pub const ALL: [DeviceRefusal; 5] = [
        DeviceRefusal::Connect,
        DeviceRefusal::Publish,
        DeviceRefusal::Subscribe,
        DeviceRefusal::Will,
        DeviceRefusal::Unregistered,
    ];

    /// The `what` label of the counter (also the `reason` reported to the device).
    pub fn label(self) -> &'static str {
        match self {
            DeviceRefusal::Connect => "connect",
            DeviceRefusal::Publish => "publish_acl",
            DeviceRefusal::Subscribe => "subscribe_acl",
            DeviceRefusal::Will => "will_acl",
            DeviceRefusal::Unregistered => "unregistered",
        }
    }
}

impl Metrics {
    /// Counts one rejected payload under its reason label.
    pub fn reject(&self, reason: &'static str) {
        if let Ok(mut rejected) = self.rejected.lock() {
            *rejected.entry(reason).or_default() += 1;
        }
    }

    /// Rejections counted under `reason`.
    pub fn rejected(&self, reason: &str) -> u64 {
        self.rejected
            .lock()
            .ok()
            .and_then(|r| r.get(reason).copied())
            .unwrap_or(0)
    }

    /// Counts a refusal of a device.
    pub fn refuse_device(&self, what: DeviceRefusal) {
        if let Ok(mut refused) = self.device_refusals.lock() {
            *refused.entry(what.label()).or_default() += 1;
        }
    }

    /// How many times devices were refused `what`.
    pub fn device_refused(&self, what: DeviceRefusal) -> u64 {
        self.device_refusals
            .lock()
            .ok()
            .and_then(|r| r.get(what.label()).copied())
            .unwrap_or(0)
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the gauges passed in.
    pub fn render(&self, active_alerts: usize, devices_online: usize) -> String {
        let mut out = String::new();
        let counters = [
            (
                "medlink_hub_measurements_stored_total",
                "Measurements committed to the store.",
                &self.measurements_stored,
            ),
            (
                "medlink_hub_duplicates_total",
                "Redelivered measurements (and ECG chunks) dropped by (device, seq).",
                &self.duplicates,
            ),
            (
                "medlink_hub_commits_total",
                "Store transactions committed.",
                &self.commits,
            ),
            (
                "medlink_hub_acks_sent_total",
                "Measurements acknowledged after commit.",
                &self.acks_sent,
            ),
            (
                "medlink_hub_alert_notifications_total",
                "Alert events that paged someone.",
                &self.alert_notifications,
            ),
            (
                "medlink_hub_scored_fast_path_total",
                "Measurements scored on arrival by the alert fast path.",
                &self.scored_fast_path,
            ),
            (
                "medlink_hub_scored_durable_path_total",
                "Measurements scored by the durable path (missed by the fast path).",
                &self.scored_durable_path,
            ),
            (
                "medlink_hub_ecg_chunks_total",
                "ECG chunks analysed.",
                &self.ecg_chunks,
            ),
            (
                "medlink_hub_ecg_missed_chunks_total",
                "ECG chunks missing from their stream (sequence gaps).",
                &self.ecg_missed_chunks,
            ),
            (
                "medlink_hub_device_reboots_total",
                "Device reboots detected (sequence counter restarted); their readings are scored.",
                &self.device_reboots,
            ),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        let name = "medlink_hub_rejected_total";
        let _ = writeln!(
            out,
            "# HELP {name} Payloads rejected, by reason.\n# TYPE {name} counter"
        );
        for reason in vitals::payload::Rejection::REASONS {
            let _ = writeln!(
                out,
                "{name}{{reason=\"{reason}\"}} {}",
                self.rejected(reason)
            );
        }
        let name = "medlink_hub_device_refused_total";
        let _ = writeln!(
            out,
            "# HELP {name} Device connections, publishes and subscriptions refused, by what.\n# TYPE {name} counter"
        );
        for what in DeviceRefusal::ALL {
            let _ = writeln!(
                out,
                "{name}{{what=\"{}\"}} {}",
                what.label(),
                self.device_refused(what)
            );
        }
        let subscribed = usize::from(self.mqtt_subscribed.load(Ordering::Relaxed));
        let fast_path = usize::from(self.fast_path_subscribed.load(Ordering::Relaxed));
        let gauges = [
            (
                "medlink_hub_mqtt_subscribed",
                "Whether the MQTT subscriptions are in place (1) or not (0).",
                subscribed,
            ),
            (
                "medlink_hub_fast_path_subscribed",
                "Whether the alert fast path is subscribed (1) or not (0).",
                fast_path,
            ),
            (
                "medlink_hub_active_alerts",
                "Alerts currently active.",
                active_alerts,
            ),
            (
                "medlink_hub_devices_online",
                "Devices heard from and not offline.",
                devices_online,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}
