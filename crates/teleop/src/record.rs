//! The one entry point of a session core: every driver (the station's servo thread, the
//! console's control loop, the simulated pair, replay) hands inputs to a core through `Recorded`,
//! which shows each input with its time, and each output, to a `Tap` before anything else sees
//! them. A recorder is a tap; so is nothing (`NoTap`).

use crate::core::Core;
use std::time::Duration;

/// Sees every input of a core with its time, then the outputs that input produced.
pub trait Tap<I, O> {
    fn input(&mut self, now: Duration, input: &I);
    fn output(&mut self, now: Duration, output: &O);
}

/// A tap that records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTap;

impl<I, O> Tap<I, O> for NoTap {
    fn input(&mut self, _now: Duration, _input: &I) {}
    fn output(&mut self, _now: Duration, _output: &O) {}
}

/// A core behind its tap. The core is reachable only for reading, so nothing reaches it
/// unrecorded.
pub struct Recorded<C: Core, T: Tap<C::Input, C::Output>> {
    core: C,
    tap: T,
    now: Duration,
}

impl<C: Core, T: Tap<C::Input, C::Output>> Recorded<C, T> {
    pub fn new(core: C, tap: T) -> Self {
        Self {
            core,
            tap,
            now: Duration::ZERO,
        }
    }

    pub fn core(&self) -> &C {
        &self.core
    }

    pub fn tap(&self) -> &T {
        &self.tap
    }

    pub fn tap_mut(&mut self) -> &mut T {
        &mut self.tap
    }

    pub fn into_parts(self) -> (C, T) {
        (self.core, self.tap)
    }

    pub fn handle_input(&mut self, input: C::Input, now: Duration) {
        self.tap.input(now, &input);
        self.now = now;
        self.core.handle_input(input, now);
    }

    pub fn poll_output(&mut self) -> Option<C::Output> {
        let output = self.core.poll_output()?;
        self.tap.output(self.now, &output);
        Some(output)
    }

    /// Hands one input, then every output it produced to `each`, oldest first (the drain rule).
    pub fn drive(&mut self, input: C::Input, now: Duration, mut each: impl FnMut(C::Output)) {
        self.handle_input(input, now);
        while let Some(output) = self.poll_output() {
            each(output);
        }
    }

    pub fn poll_timeout(&self) -> Option<Duration> {
        self.core.poll_timeout()
    }
}

/// A tap that may be absent (recording switched off).
impl<I, O, T: Tap<I, O>> Tap<I, O> for Option<T> {
    fn input(&mut self, now: Duration, input: &I) {
        if let Some(tap) = self {
            tap.input(now, input);
        }
    }
    fn output(&mut self, now: Duration, output: &O) {
        if let Some(tap) = self {
            tap.output(now, output);
        }
    }
}

/// Two taps, each shown everything (a recorder and a measurement, say).
impl<I, O, A: Tap<I, O>, B: Tap<I, O>> Tap<I, O> for (A, B) {
    fn input(&mut self, now: Duration, input: &I) {
        self.0.input(now, input);
        self.1.input(now, input);
    }
    fn output(&mut self, now: Duration, output: &O) {
        self.0.output(now, output);
        self.1.output(now, output);
    }
}
