//! The shape every session core has (the house plan's sans-IO rule): inputs with their time,
//! outputs polled until none is left, and the next time the core must be woken. `OutputQueue`
//! keeps outputs without allocating once it reached its working size.

use std::collections::VecDeque;
use std::time::Duration;

pub trait Core {
    type Input;
    type Output;
    /// Hands one input to the core at `now` (time never goes back inside a core).
    fn handle_input(&mut self, input: Self::Input, now: Duration);
    /// The next output; drain until `None` after every input.
    fn poll_output(&mut self) -> Option<Self::Output>;
    /// When the core must next get an input (a tick) at the latest.
    fn poll_timeout(&self) -> Option<Duration>;
}

/// Outputs waiting to be polled, oldest first.
#[derive(Debug)]
pub struct OutputQueue<T> {
    items: VecDeque<T>,
}

impl<T> OutputQueue<T> {
    /// Room for the outputs of one input; a core's drain rule keeps it from growing further.
    pub fn new() -> Self {
        Self {
            items: VecDeque::with_capacity(64),
        }
    }

    pub fn push(&mut self, item: T) {
        self.items.push_back(item);
    }

    pub fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }
}

impl<T> Default for OutputQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}
