//! The station core's steady state allocates nothing: an engaged session taking a command and a
//! servo tick every millisecond, answering and sending clock pings, goes through thousands of
//! ticks without one heap allocation (counted by a global allocator that wraps the system's).
//! What the servo thread runs per tick is exactly this: inputs, then a tick, outputs drained.

use proto::{ClockPong, ControlCommand, Datagram};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use teleop::station::StationSession;
use teleop::{
    Core, Role, SessionEvent, StationInput, StationOutput, StationSessionConfig, wire::pose_to_wire,
};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The console's clock runs this far ahead of the station's, and each way takes 300 µs.
const CONSOLE_AHEAD_US: i64 = 5_000_000;
const ONE_WAY_US: i64 = 300;

/// Hands one input and answers the station's pings as a console would (pongs arrive one round
/// trip later, at the next call). Returns the number of outputs.
fn drive(
    station: &mut StationSession,
    input: StationInput,
    now: Duration,
    pongs: &mut [Option<ClockPong>; 4],
) -> usize {
    station.handle_input(input, now);
    let mut n = 0;
    while let Some(output) = station.poll_output() {
        n += 1;
        if let StationOutput::Datagram {
            datagram: Datagram::Ping(ping),
        } = output
        {
            let t2 = ping.t1_us + ONE_WAY_US + CONSOLE_AHEAD_US;
            let slot = pongs.iter_mut().find(|p| p.is_none());
            if let Some(slot) = slot {
                *slot = Some(ClockPong {
                    id: ping.id,
                    t1_us: ping.t1_us,
                    t2_us: t2,
                    t3_us: t2,
                });
            }
        }
    }
    n
}

#[test]
fn an_engaged_session_runs_a_thousand_ticks_without_allocating() {
    let mut station = StationSession::new(StationSessionConfig::default()).unwrap();
    let start = robot::script::SurgicalScript::psm_start_joints();
    let tip = pose_to_wire(&robot::Psm::dvrk_classic().forward(&start));
    let mut pongs = [None; 4];
    let mut now = Duration::ZERO;
    let mut seq = 0u64;
    let step = |station: &mut StationSession,
                now: Duration,
                seq: &mut u64,
                pongs: &mut [Option<ClockPong>; 4]| {
        for pong in pongs.iter_mut() {
            if let Some(pong) = pong.take() {
                let received_at = Duration::from_micros((pong.t1_us + 2 * ONE_WAY_US) as u64);
                drive(
                    station,
                    StationInput::Datagram {
                        datagram: Datagram::Pong(pong),
                        received_at,
                    },
                    now,
                    &mut [None; 4],
                );
            }
        }
        *seq += 1;
        let cmd = ControlCommand {
            seq: *seq,
            sent_at_us: now.as_micros() as i64 - ONE_WAY_US + CONSOLE_AHEAD_US,
            target: tip,
            jaw_rad: 0.0,
        };
        let outputs = drive(
            station,
            StationInput::Datagram {
                datagram: Datagram::Control(cmd),
                received_at: now,
            },
            now,
            pongs,
        );
        outputs + drive(station, StationInput::Tick, now, pongs)
    };
    // The session opens, says hello, enables, syncs its clock and engages.
    let hello = SessionEvent::Hello {
        role: Role::Console,
        wire_version: proto::WIRE_VERSION,
        session_id: 0,
        clock: None,
    };
    for input in [
        StationInput::Connected,
        StationInput::Event { event: hello },
        StationInput::Event {
            event: SessionEvent::Enable,
        },
    ] {
        drive(&mut station, input, now, &mut pongs);
    }
    for _ in 0..100 {
        now += Duration::from_millis(1);
        step(&mut station, now, &mut seq, &mut pongs);
    }
    drive(
        &mut station,
        StationInput::Event {
            event: SessionEvent::Engage { from_seq: seq + 1 },
        },
        now,
        &mut pongs,
    );
    // Warm-up: every queue reaches its working size.
    for _ in 0..200 {
        now += Duration::from_millis(1);
        step(&mut station, now, &mut seq, &mut pongs);
    }
    let applied_before = station.arm().supervisor().applied_count();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..2_000 {
        now += Duration::from_millis(1);
        step(&mut station, now, &mut seq, &mut pongs);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let applied = station.arm().supervisor().applied_count() - applied_before;
    assert_eq!(
        applied, 2_000,
        "every command is applied in the steady state"
    );
    assert_eq!(
        allocations, 0,
        "the servo path allocated {allocations} times"
    );
}
