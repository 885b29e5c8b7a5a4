//! The named profiles, each with where its numbers come from. One-way figures per direction;
//! `forward` is console → station (5G uplink at the surgeon's side), `back` station → console.
//! Sources are in ../shared/reference/telesurgery.md §7-8 and network.md; figures marked
//! "chosen" are our picks inside the quoted ranges.

use crate::profile::{Handover, Jitter, LaneProfile, Loss, Outage, Profile};

pub const NAMED_PROFILES: [&str; 8] = [
    "lan",
    "5g-urllc",
    "5g-embb",
    "longhaul-4000km",
    "longhaul-asymmetric",
    "congested",
    "handover",
    "outage",
];

/// A named profile, or None.
pub fn named_profile(name: &str) -> Option<Profile> {
    let profile = match name {
        "lan" => Profile {
            name: name.into(),
            description: "hospital LAN: 0.1 ms one way, no loss".into(),
            source: "switched Ethernet; loopback UDP floor 5-25 us (network.md §2), chosen 0.1 ms"
                .into(),
            ..symmetric(LaneProfile {
                delay_ms: 0.1,
                jitter: Jitter::Normal { sd_ms: 0.02 },
                rate_mbit_s: 1000.0,
                ..LaneProfile::default()
            })
        },
        "5g-urllc" => Profile {
            name: name.into(),
            description: "5G URLLC slice: 1 ms one way, 99.999 % delivery".into(),
            source: "ITU-R M.2410 user-plane latency 1 ms (URLLC); 3GPP TR 22.847 haptic \
                     reliability 99.999 % (telesurgery.md §8)"
                .into(),
            ..symmetric(LaneProfile {
                delay_ms: 1.0,
                jitter: Jitter::Normal { sd_ms: 0.1 },
                loss: Loss::Bernoulli { p: 1e-5 },
                rate_mbit_s: 100.0,
                ..LaneProfile::default()
            })
        },
        "5g-embb" => embb(name, "5G eMBB: RTT about 30 ms (20-40), 0.01 % loss"),
        "longhaul-4000km" => Profile {
            name: name.into(),
            description: "4000 km of fibre plus 5G access: RTT about 46 ms with a heavy tail"
                .into(),
            source: "fibre 5 us/km x 4000 km = 20 ms + 5G access 1 ms one way; EDGE MP1000 RTT \
                     38.4 +- 13.3 ms over 450-2200 km (telesurgery.md §7); tail chosen (Pareto \
                     mean 2 ms, shape 2.5), and chosen as a process of time with 20 ms epochs, \
                     since router queues build and drain over tens of ms: [U]"
                .into(),
            ..uplink_downlink(LaneProfile {
                delay_ms: 21.0,
                ..long_haul_lane()
            })
        },
        "longhaul-asymmetric" => Profile {
            name: name.into(),
            description: "long haul whose two directions differ: 45 ms forward, 20 ms back (RTT \
                          about 65 ms), heavy tail"
                .into(),
            source: "the forward and return legs of a long-haul route often take different paths \
                     (routing asymmetry on about half of Internet paths, Paxson, IEEE/ACM ToN \
                     1997; on intercontinental routes the two directions can ride different \
                     submarine cables), plus the cellular uplink's scheduling request and grant \
                     at the surgeon's side (3GPP TR 36.881); 25 ms of asymmetry chosen, tail as \
                     longhaul-4000km (a process of time, 20 ms epochs, chosen); figures not in \
                     our references: [U]"
                .into(),
            forward: LaneProfile {
                delay_ms: 43.0,
                rate_mbit_s: 50.0,
                ..long_haul_lane()
            },
            back: LaneProfile {
                delay_ms: 18.0,
                rate_mbit_s: 200.0,
                queue_bytes: 1024 * 1024,
                ..long_haul_lane()
            },
            ..symmetric(long_haul_lane())
        },
        "congested" => Profile {
            name: name.into(),
            description: "congested cell: RTT 60 +- 25 ms, about 1.6 % bursty loss".into(),
            source: "5G urology multicentre: network 55.3 +- 39.6 ms (telesurgery.md §7); \
                     Gilbert-Elliott p 0.004, r 0.25 (mean burst 4 packets) chosen for 1-2 %"
                .into(),
            ..symmetric(LaneProfile {
                delay_ms: 30.0,
                jitter: Jitter::Normal { sd_ms: 17.7 },
                jitter_correlation_ms: 100.0,
                loss: Loss::GilbertElliott {
                    p: 0.004,
                    r: 0.25,
                    loss_good: 0.0,
                    loss_bad: 1.0,
                },
                rate_mbit_s: 20.0,
                queue_bytes: 64 * 1024,
                ..LaneProfile::default()
            })
        },
        "handover" => Profile {
            handover: Some(Handover {
                first_ms: 1000.0,
                period_ms: 2500.0,
                gap_min_ms: 50.0,
                gap_max_ms: 150.0,
                buffered: true,
            }),
            ..embb(
                name,
                "5G eMBB with a handover every 2.5 s: 50-150 ms gaps, packets forwarded after",
            )
        },
        "outage" => Profile {
            outages: vec![Outage {
                start_ms: 3000.0,
                duration_ms: 2000.0,
            }],
            ..embb(
                name,
                "5G eMBB with a 2 s cut of the link 3 s into the procedure",
            )
        },
        _ => return None,
    };
    Some(profile)
}

fn embb(name: &str, description: &str) -> Profile {
    Profile {
        name: name.into(),
        description: description.into(),
        source: "ITU-R M.2410 eMBB user plane 4 ms; RTT 26 ms (Li et al., Eur Urol 2023) and \
                 5G loss < 0.01 % (urology multicentre), telesurgery.md §7-8; 15 +- 3 ms one \
                 way chosen for RTT 20-40 ms"
            .into(),
        ..uplink_downlink(LaneProfile {
            delay_ms: 15.0,
            jitter: Jitter::Normal { sd_ms: 3.0 },
            jitter_correlation_ms: 5.0,
            loss: Loss::Bernoulli { p: 1e-4 },
            ..LaneProfile::default()
        })
    }
}

/// A long-haul lane: a heavy-tailed queueing delay (mean 2 ms) on top of the propagation delay
/// the profile sets, and rare loss. The tail is a property of time (20 ms epochs, chosen: router
/// queues build and drain over tens of ms), so its spikes do not multiply with the packet rate.
fn long_haul_lane() -> LaneProfile {
    LaneProfile {
        jitter: Jitter::HeavyTailed {
            mean_ms: 2.0,
            shape: 2.5,
        },
        jitter_correlation_ms: 20.0,
        loss: Loss::Bernoulli { p: 1e-4 },
        ..LaneProfile::default()
    }
}

/// The same lane both ways.
fn symmetric(lane: LaneProfile) -> Profile {
    Profile {
        name: String::new(),
        description: String::new(),
        source: String::new(),
        back: lane.clone(),
        forward: lane,
        outages: Vec::new(),
        handover: None,
    }
}

/// A cellular access: 50 Mbit/s up (console → station), 200 Mbit/s down.
fn uplink_downlink(lane: LaneProfile) -> Profile {
    Profile {
        forward: LaneProfile {
            rate_mbit_s: 50.0,
            ..lane.clone()
        },
        back: LaneProfile {
            rate_mbit_s: 200.0,
            queue_bytes: 1024 * 1024,
            ..lane.clone()
        },
        ..symmetric(lane)
    }
}
