//! The simulated pair's HIFU channels: the console's bulk messages (a plan) reach the station
//! core at the reliable stream's arrival time, the station core's orders to its HIFU device
//! thread and the HIFU news and refusals the console received are collected for the driver,
//! which runs the device and the console's operator beside the cores.

use super::SimPair;
use crate::console::{ConsoleInput, ConsoleOutput, OperatorAction};
use crate::hifu::{BulkMessage, DeviceOrder, DeviceReport};
use crate::message::SessionEvent;
use crate::record::Tap;
use crate::station::{StationInput, StationOutput};
use netem::Direction;

impl<CT: Tap<ConsoleInput, ConsoleOutput>, ST: Tap<StationInput, StationOutput>> SimPair<CT, ST> {
    /// The console sends a bulk message (its own stream); it arrives as a reliable one does.
    pub fn send_bulk(&mut self, message: BulkMessage) {
        let at = self.net.reliable_arrival(Direction::Forward, self.now);
        self.bulk_to_station.push_back((at, message));
    }

    /// An operator's action at the console, now.
    pub fn operator(&mut self, action: OperatorAction) {
        self.console_input(ConsoleInput::Operator { action });
    }

    /// The HIFU device thread reports to the station core, now.
    pub fn device_report(&mut self, report: DeviceReport) {
        let mut out = Vec::new();
        let now = self.now;
        self.station
            .drive(StationInput::HifuDevice { report }, now, |o| out.push(o));
        self.route_station(out);
    }

    /// What the station core asked of its HIFU device since the last call.
    pub fn take_device_orders(&mut self) -> Vec<DeviceOrder> {
        std::mem::take(&mut self.device_orders)
    }

    /// The HIFU news and HIFU refusals the console received since the last call.
    pub fn take_console_hifu(&mut self) -> Vec<SessionEvent> {
        std::mem::take(&mut self.console_hifu)
    }

    pub(super) fn deliver_bulk(&mut self) {
        let now = self.now;
        while self
            .bulk_to_station
            .front()
            .is_some_and(|(at, _)| *at <= now)
        {
            let Some((_, message)) = self.bulk_to_station.pop_front() else {
                break;
            };
            let peer = self.connection;
            let mut out = Vec::new();
            self.station
                .drive(StationInput::Bulk { peer, message }, now, |o| out.push(o));
            self.route_station(out);
        }
    }

    /// Keeps what the console's HIFU operator must see of an event the console received.
    pub(super) fn note_console_event(&mut self, event: &SessionEvent) {
        let hifu = match event {
            SessionEvent::Hifu(_) => true,
            SessionEvent::Refused { request, .. } => request.starts_with("hifu"),
            _ => false,
        };
        if hifu {
            self.console_hifu.push(event.clone());
        }
    }
}
