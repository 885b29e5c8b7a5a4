//! The raw-UDP baseline of `medlink bench link`: a control datagram every millisecond (absolute
//! deadlines, the console's pacing) from one thread to a blocking `recv` on another, on loopback,
//! both tuned as the station's and console's threads are; one-way latency of each.

use proto::datagram::MAX_DATAGRAM_LEN;
use proto::{ControlCommand, Datagram};
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use teleop::{LatencyRecorder, Percentiles};

/// Raw UDP at 1 kHz: percentiles of the one-way latency (µs) and how many messages were lost.
pub fn measure(messages: usize, pin: bool) -> anyhow::Result<(Percentiles, u64)> {
    let epoch = Instant::now();
    let sent_ns: Arc<Vec<AtomicU64>> =
        Arc::new((0..=messages).map(|_| AtomicU64::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_millis(20)))?;
    let target = receiver.local_addr()?;
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    let (rx_sent, rx_done) = (sent_ns.clone(), done.clone());
    let rx = std::thread::spawn(move || {
        pin_if_asked(pin);
        link::pacer::tune_current_thread();
        let mut recorder = LatencyRecorder::with_capacity(messages);
        let mut buf = [0u8; 2048];
        while !rx_done.load(Ordering::Acquire) {
            if let Ok(n) = receiver.recv(&mut buf)
                && let Ok(Datagram::Control(cmd)) = Datagram::decode(&buf[..n])
                && let Some(sent) = rx_sent.get(cmd.seq as usize)
            {
                let sent = sent.load(Ordering::Acquire);
                let now = epoch.elapsed().as_nanos() as u64;
                recorder.record_ns(now.saturating_sub(sent));
            }
        }
        recorder.percentiles()
    });
    pin_if_asked(pin);
    let mut pacer = link::Pacer::new(Duration::from_millis(1));
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    for seq in 1..=messages as u64 {
        let n = Datagram::Control(ControlCommand {
            seq,
            sent_at_us: epoch.elapsed().as_micros() as i64,
            ..ControlCommand::default()
        })
        .encode(&mut buf);
        pacer.wait();
        sent_ns[seq as usize].store(epoch.elapsed().as_nanos() as u64, Ordering::Release);
        let _ = sender.send_to(&buf[..n], target);
    }
    std::thread::sleep(Duration::from_millis(50));
    done.store(true, Ordering::Release);
    let percentiles = rx
        .join()
        .map_err(|_| anyhow::anyhow!("UDP receiver thread panicked"))?;
    Ok((percentiles, messages as u64 - percentiles.count as u64))
}

/// Pins the calling thread to CPU 0 when asked (stable figures; reference/network.md §2).
pub fn pin_if_asked(pin: bool) {
    #[cfg(target_os = "linux")]
    if pin {
        // SAFETY: the CPU set is a plain value initialised by CPU_ZERO before use.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_ZERO(&mut set);
            libc::CPU_SET(0, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
}
