//! What the servo and network threads share: the station clock's zero, two bounded lock-free
//! queues each way, the eventfd that wakes the network thread, and the newest measured pose for
//! the camera. No lock, no allocation.

use crate::camera::pose_cell::{MeasuredPose, PoseCell};
use crossbeam_queue::ArrayQueue;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use teleop::stats::AtomicHistogram;
use teleop::{StationInput, StationOutput};
pub use trust::AuditSink;

/// Servo work longer than this (µs) is counted in the last bin.
const SERVO_WORK_MAX_US: usize = 100_000;

/// Inputs waiting for the servo thread: four seconds of a 1 kHz console.
const INBOUND_CAPACITY: usize = 4096;
/// Datagrams waiting for the network thread; older ones are dropped when it falls behind.
const DATAGRAM_CAPACITY: usize = 1024;
/// Events waiting for the network thread; these are never dropped while there is room.
const EVENT_CAPACITY: usize = 1024;

pub struct Shared {
    epoch: Instant,
    audit: Option<Box<dyn AuditSink>>,
    inbound: ArrayQueue<StationInput>,
    datagrams: ArrayQueue<StationOutput>,
    events: ArrayQueue<StationOutput>,
    notifier: link::wake::Notifier,
    /// Inputs dropped because the servo thread fell four seconds behind.
    pub inbound_overflow: AtomicU64,
    /// Events dropped because the network thread fell behind.
    pub events_overflow: AtomicU64,
    /// Servo deadlines missed so far (the servo thread stores it, the network thread reads it).
    pub servo_missed: AtomicU64,
    /// How long each servo period's work took, µs.
    pub servo_work: Arc<AtomicHistogram>,
    /// The newest measured pose (the servo thread writes it with each state report; the camera
    /// thread reads it).
    pub pose: PoseCell,
}

impl Shared {
    pub fn new(
        epoch: Instant,
        notifier: link::wake::Notifier,
        audit: Option<Box<dyn AuditSink>>,
    ) -> Self {
        Self {
            epoch,
            audit,
            inbound: ArrayQueue::new(INBOUND_CAPACITY),
            datagrams: ArrayQueue::new(DATAGRAM_CAPACITY),
            events: ArrayQueue::new(EVENT_CAPACITY),
            notifier,
            inbound_overflow: AtomicU64::new(0),
            events_overflow: AtomicU64::new(0),
            servo_missed: AtomicU64::new(0),
            servo_work: AtomicHistogram::new(SERVO_WORK_MAX_US),
            pose: PoseCell::new(),
        }
    }

    /// The station clock: time since its zero.
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Queues an input for the servo thread; when full the oldest is dropped and counted.
    pub fn push_inbound(&self, input: StationInput) {
        if self.inbound.force_push(input).is_some() {
            self.inbound_overflow.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn pop_inbound(&self) -> Option<StationInput> {
        self.inbound.pop()
    }

    /// Queues an output of the core for the network thread (servo side; never blocks).
    pub fn push_outbound(&self, output: StationOutput) {
        match output {
            StationOutput::Datagram { .. } => {
                if let StationOutput::Datagram {
                    datagram: proto::Datagram::State(state),
                    ..
                } = &output
                {
                    self.pose.store(&MeasuredPose {
                        station_time_us: state.station_time_us,
                        applied_seq: state.last_applied_seq,
                        tip_m: state.tip.position_m,
                        quaternion_xyzw: state.tip.quaternion_xyzw,
                    });
                }
                // A newer state report makes the oldest one worthless.
                let _ = self.datagrams.force_push(output);
            }
            // Verdicts are for the recording only.
            StationOutput::Verdict { .. } => {}
            StationOutput::Audit(record) => self.audit(*record),
            other => {
                if self.events.push(other).is_err() {
                    self.events_overflow.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Appends to the station's audit log, if it keeps one (never blocks).
    pub fn audit(&self, record: trust::AuditRecord) {
        if let Some(audit) = &self.audit {
            audit.push(record);
        }
    }

    /// Wakes the network thread to send what was queued.
    pub fn wake_network(&self) {
        self.notifier.notify();
    }

    /// The next output for the network thread: events first, then datagrams.
    pub fn pop_outbound(&self) -> Option<StationOutput> {
        self.events.pop().or_else(|| self.datagrams.pop())
    }
}
