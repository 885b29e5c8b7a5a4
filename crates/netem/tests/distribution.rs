//! The engine against its profile parameters over 100,000 packets: delay mean, spread and
//! percentiles, loss rates and burst lengths, duplication, bandwidth, outages and handovers.

use netem::{Direction, Jitter, LaneProfile, Loss, Netem, Profile, named_profile};
use std::time::Duration;

const PACKETS: u64 = 100_000;

/// Sends `PACKETS` numbered packets of `len` bytes every `spacing` forward and returns, in
/// delivery order, (sequence number, one-way delay in ms).
fn run(profile: &Profile, seed: u64, spacing: Duration, len: usize) -> Vec<(u64, f64)> {
    let mut netem = Netem::new(profile, seed);
    let mut out = Vec::with_capacity(PACKETS as usize);
    let mut drain = |netem: &mut Netem<(u64, Duration)>, now: Duration| {
        while let Some(d) = netem.poll_output(now) {
            let (seq, sent) = d.payload;
            out.push((seq, (d.at - sent).as_secs_f64() * 1e3));
        }
    };
    for seq in 0..PACKETS {
        let now = spacing * seq as u32;
        netem.send(Direction::Forward, (seq, now), len, now);
        drain(&mut netem, now);
    }
    drain(&mut netem, Duration::from_secs(1_000_000));
    out
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

fn percentile(v: &[f64], q: f64) -> f64 {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn lane_profile(lane: LaneProfile) -> Profile {
    let mut p = named_profile("lan").unwrap();
    p.forward = lane.clone();
    p.back = lane;
    p
}

fn within(measured: f64, expected: f64, relative: f64) -> bool {
    (measured - expected).abs() <= relative * expected.abs()
}

#[test]
fn normal_jitter_matches_the_5g_embb_profile() {
    let profile = named_profile("5g-embb").unwrap();
    let delays: Vec<f64> = run(&profile, 1, Duration::from_millis(50), 100)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert!(delays.len() as u64 >= PACKETS - 50, "{}", delays.len());
    let (mean, sd) = mean_sd(&delays);
    let Jitter::Normal { sd_ms } = profile.forward.jitter else {
        panic!("5g-embb has normal jitter")
    };
    // 100 B at 50 Mbit/s adds 16 µs of serialisation.
    let expected_mean = profile.forward.delay_ms + 0.016;
    assert!(within(mean, expected_mean, 0.02), "mean {mean}");
    assert!(within(sd, sd_ms, 0.03), "sd {sd}");
    let p99 = percentile(&delays, 0.99);
    assert!(
        within(p99, expected_mean + 2.326 * sd_ms, 0.03),
        "p99 {p99}"
    );
    let p50 = percentile(&delays, 0.5);
    assert!(within(p50, expected_mean, 0.02), "p50 {p50}");
}

#[test]
fn heavy_tailed_jitter_matches_the_longhaul_profile() {
    let profile = named_profile("longhaul-4000km").unwrap();
    let delays: Vec<f64> = run(&profile, 2, Duration::from_millis(50), 100)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let Jitter::HeavyTailed { mean_ms, shape } = profile.forward.jitter else {
        panic!("longhaul has heavy-tailed jitter")
    };
    let base = profile.forward.delay_ms + 0.016;
    let (mean, _) = mean_sd(&delays);
    assert!(within(mean, base + mean_ms, 0.03), "mean {mean}");
    // Pareto(x_m, a) - x_m has median x_m (2^(1/a) - 1) and p99 x_m (100^(1/a) - 1).
    let xm = mean_ms * (shape - 1.0);
    let p50 = percentile(&delays, 0.5);
    assert!(
        within(p50 - base, xm * (2f64.powf(1.0 / shape) - 1.0), 0.03),
        "p50 {p50}"
    );
    let p99 = percentile(&delays, 0.99);
    assert!(
        within(p99 - base, xm * (100f64.powf(1.0 / shape) - 1.0), 0.05),
        "p99 {p99}"
    );
    assert!(delays.iter().all(|d| *d >= base - 1e-9));
}

#[test]
fn bernoulli_loss_rate_matches_its_parameter() {
    let profile = lane_profile(LaneProfile {
        loss: Loss::Bernoulli { p: 0.02 },
        ..LaneProfile::default()
    });
    let delivered = run(&profile, 3, Duration::from_millis(1), 100).len() as f64;
    let loss = 1.0 - delivered / PACKETS as f64;
    assert!(within(loss, 0.02, 0.05), "loss {loss}");
}

#[test]
fn gilbert_elliott_loss_is_bursty_at_the_profile_rate() {
    let profile = named_profile("congested").unwrap();
    let mut total_lost = 0.0;
    let mut bursts = 0u64;
    let mut burst_packets = 0u64;
    let seeds = 10;
    for seed in 0..seeds {
        let profile = Profile {
            // The loss model alone: no bandwidth cap or jitter to muddle the count.
            forward: LaneProfile {
                loss: profile.forward.loss,
                ..LaneProfile::default()
            },
            ..profile.clone()
        };
        let mut seqs: Vec<u64> = run(&profile, seed, Duration::from_millis(1), 100)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        seqs.sort_unstable();
        total_lost += (PACKETS - seqs.len() as u64) as f64;
        for pair in seqs.windows(2) {
            if pair[1] > pair[0] + 1 {
                bursts += 1;
                burst_packets += pair[1] - pair[0] - 1;
            }
        }
    }
    let rate = total_lost / (seeds * PACKETS) as f64;
    let expected = profile.forward.loss.mean_rate();
    assert!((0.01..=0.02).contains(&expected), "{expected}");
    assert!(within(rate, expected, 0.05), "loss {rate} vs {expected}");
    let Loss::GilbertElliott { r, .. } = profile.forward.loss else {
        panic!("congested loss is Gilbert-Elliott")
    };
    let mean_burst = burst_packets as f64 / bursts as f64;
    assert!(within(mean_burst, 1.0 / r, 0.05), "mean burst {mean_burst}");
}

#[test]
fn duplication_rate_matches_its_parameter() {
    let profile = lane_profile(LaneProfile {
        duplicate: 0.01,
        ..LaneProfile::default()
    });
    let delivered = run(&profile, 4, Duration::from_millis(1), 100).len() as f64;
    let dup = delivered / PACKETS as f64 - 1.0;
    assert!(within(dup, 0.01, 0.1), "duplicates {dup}");
}

#[test]
fn a_bandwidth_cap_paces_a_burst_and_drops_beyond_the_queue() {
    let profile = lane_profile(LaneProfile {
        rate_mbit_s: 8.0,
        queue_bytes: 10_000,
        ..LaneProfile::default()
    });
    let mut netem = Netem::new(&profile, 5);
    for i in 0..20u32 {
        netem.send(Direction::Forward, i, 1000, Duration::ZERO);
    }
    let stats = netem.stats(Direction::Forward);
    assert_eq!(stats.dropped_queue_full, 10);
    let mut times = Vec::new();
    while let Some(d) = netem.poll_output(Duration::from_secs(1)) {
        times.push(d.at);
    }
    // 1000 B at 8 Mbit/s take 1 ms each.
    assert_eq!(times.len(), 10);
    assert!(
        times
            .iter()
            .enumerate()
            .all(|(i, t)| *t == Duration::from_millis(i as u64 + 1))
    );
}

#[test]
fn an_outage_loses_everything_sent_or_in_flight_during_it() {
    let profile = named_profile("outage").unwrap();
    let delivered = run(&profile, 6, Duration::from_millis(1), 100);
    let outage = profile.outages[0];
    for (seq, delay) in &delivered {
        let sent_ms = *seq as f64;
        let arrived_ms = sent_ms + delay;
        let cut_start = outage.start_ms;
        let cut_end = outage.start_ms + outage.duration_ms;
        assert!(
            arrived_ms < cut_start || sent_ms >= cut_end,
            "seq {seq} crossed the outage"
        );
    }
}

#[test]
fn a_buffered_handover_holds_packets_until_the_gap_ends() {
    let profile = named_profile("handover").unwrap();
    let netem = Netem::<()>::new(&profile, 7);
    let gaps = netem.interruptions(Duration::from_secs(100));
    assert_eq!(gaps.len(), 40);
    for g in &gaps {
        let ms = (g.end - g.start).as_secs_f64() * 1e3;
        assert!((50.0..=150.0).contains(&ms), "{ms}");
    }
    let delivered = run(&profile, 7, Duration::from_millis(1), 100);
    let held: Vec<&(u64, f64)> = delivered
        .iter()
        .filter(|(seq, _)| {
            gaps.iter().any(|g| {
                let t = Duration::from_millis(*seq);
                g.start <= t && t < g.end
            })
        })
        .collect();
    assert!(!held.is_empty());
    for (seq, delay) in held {
        let g = gaps
            .iter()
            .find(|g| g.start <= Duration::from_millis(*seq) && Duration::from_millis(*seq) < g.end)
            .unwrap();
        let arrived = Duration::from_millis(*seq) + Duration::from_secs_f64(delay / 1e3);
        assert!(arrived >= g.end, "seq {seq} arrived during its gap");
    }
}

#[test]
fn equal_seeds_give_equal_runs_and_different_seeds_differ() {
    let profile = named_profile("congested").unwrap();
    let a = run(&profile, 11, Duration::from_millis(1), 200);
    let b = run(&profile, 11, Duration::from_millis(1), 200);
    let c = run(&profile, 12, Duration::from_millis(1), 200);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn reordering_happens_only_when_asked() {
    let jittery = LaneProfile {
        delay_ms: 10.0,
        jitter: Jitter::Normal { sd_ms: 5.0 },
        ..LaneProfile::default()
    };
    let in_order = run(
        &lane_profile(jittery.clone()),
        8,
        Duration::from_millis(1),
        100,
    );
    assert!(in_order.windows(2).all(|w| w[0].0 < w[1].0));
    let reordering = run(
        &lane_profile(LaneProfile {
            reorder: 0.5,
            ..jittery
        }),
        8,
        Duration::from_millis(1),
        100,
    );
    assert!(reordering.windows(2).any(|w| w[0].0 > w[1].0));
}
