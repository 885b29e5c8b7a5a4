//! Named profiles say what the issue asks of them; custom TOML profiles load, default and fail
//! with clear errors; and no TOML input makes the loader panic.

use netem::{Jitter, Loss, NAMED_PROFILES, Profile, ProfileError, named_profile};
use proptest::prelude::*;

/// The mean one-way delay of a lane's distribution (ms), ignoring serialisation.
fn mean_one_way(lane: &netem::LaneProfile) -> f64 {
    lane.delay_ms
        + match lane.jitter {
            Jitter::HeavyTailed { mean_ms, .. } => mean_ms,
            _ => 0.0,
        }
}

fn rtt(p: &Profile) -> f64 {
    mean_one_way(&p.forward) + mean_one_way(&p.back)
}

#[test]
fn every_named_profile_is_valid_documented_and_within_its_stated_range() {
    for name in NAMED_PROFILES {
        let p = named_profile(name).unwrap();
        p.validate().unwrap();
        assert_eq!(p.name, name);
        assert!(!p.source.is_empty() && !p.description.is_empty(), "{name}");
    }
    let one_way_urllc = mean_one_way(&named_profile("5g-urllc").unwrap().forward);
    assert!((0.5..=1.5).contains(&one_way_urllc));
    assert!((20.0..=40.0).contains(&rtt(&named_profile("5g-embb").unwrap())));
    assert!((40.0..=55.0).contains(&rtt(&named_profile("longhaul-4000km").unwrap())));
    let congested = named_profile("congested").unwrap();
    assert!((55.0..=65.0).contains(&rtt(&congested)));
    assert!((0.01..=0.02).contains(&congested.forward.loss.mean_rate()));
    let handover = named_profile("handover").unwrap().handover.unwrap();
    assert_eq!((handover.gap_min_ms, handover.gap_max_ms), (50.0, 150.0));
    let outage = named_profile("outage").unwrap().outages;
    assert_eq!(outage.len(), 1);
    assert_eq!(outage[0].duration_ms, 2000.0);
}

#[test]
fn the_asymmetric_long_haul_differs_by_at_least_20_ms_between_its_directions() {
    let p = named_profile("longhaul-asymmetric").unwrap();
    let (forward, back) = (mean_one_way(&p.forward), mean_one_way(&p.back));
    assert!(
        forward - back >= 20.0,
        "forward {forward} ms, back {back} ms"
    );
    assert!((60.0..=70.0).contains(&rtt(&p)), "RTT {}", rtt(&p));
    assert!(p.source.contains("asymmetr") && p.source.contains("uplink"));
    // The forward direction is the surgeon's cellular uplink, as in the other cellular profiles.
    assert!(p.forward.rate_mbit_s < p.back.rate_mbit_s);
    // Resolvable by name, as `--profile longhaul-asymmetric`.
    assert_eq!(Profile::resolve("longhaul-asymmetric").unwrap(), p);
}

#[test]
fn a_custom_toml_profile_loads_and_back_copies_forward() {
    let p = Profile::from_toml(
        r#"
        name = "satellite"
        [forward]
        delay_ms = 280.0
        jitter = { kind = "normal", sd_ms = 10.0 }
        loss = { kind = "gilbert-elliott", p = 0.01, r = 0.5, loss_good = 0.0, loss_bad = 0.8 }
        [[outages]]
        start_ms = 1000.0
        duration_ms = 300.0
        "#,
    )
    .unwrap();
    assert_eq!(p.name, "satellite");
    assert_eq!(p.back, p.forward);
    assert_eq!(p.forward.jitter, Jitter::Normal { sd_ms: 10.0 });
    assert!(matches!(p.forward.loss, Loss::GilbertElliott { .. }));
    assert_eq!(p.outages.len(), 1);
}

#[test]
fn bad_profiles_are_refused_with_the_field_named() {
    let err = Profile::from_toml("[forward]\nduplicate = 1.5\n").unwrap_err();
    assert!(err.to_string().contains("forward.duplicate"), "{err}");
    let err = Profile::from_toml("[forward]\ndelay_ms = -1.0\n").unwrap_err();
    assert!(err.to_string().contains("forward.delay_ms"), "{err}");
    let err = Profile::from_toml(
        "[forward]\njitter = { kind = \"heavy-tailed\", mean_ms = 1.0, shape = 1.5 }\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");
    assert!(matches!(
        Profile::from_toml("[forwrd]\n"),
        Err(ProfileError::Toml(_))
    ));
    assert!(matches!(
        Profile::resolve("5g-emb"),
        Err(ProfileError::Unknown(..))
    ));
    assert!(matches!(
        Profile::resolve("/nonexistent/profile.toml"),
        Err(ProfileError::Io { .. })
    ));
}

#[test]
fn a_heavy_tail_with_a_correlation_time_loads_and_a_negative_one_is_refused() {
    let p = Profile::from_toml(
        "[forward]\ndelay_ms = 21.0\njitter_correlation_ms = 20.0\n\
         jitter = { kind = \"heavy-tailed\", mean_ms = 2.0, shape = 2.5 }\n",
    )
    .unwrap();
    assert_eq!(p.back.jitter_correlation_ms, 20.0);
    let err = Profile::from_toml(
        "[forward]\njitter_correlation_ms = -5.0\n\
         jitter = { kind = \"heavy-tailed\", mean_ms = 2.0, shape = 2.5 }\n",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("forward.jitter_correlation_ms"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn a_heavy_tail_correlation_time_is_accepted_exactly_when_non_negative(
        correlation in -1000.0f64..1000.0,
    ) {
        let text = format!(
            "[forward]\njitter_correlation_ms = {correlation:?}\n\
             jitter = {{ kind = \"heavy-tailed\", mean_ms = 2.0, shape = 2.5 }}\n"
        );
        let loaded = Profile::from_toml(&text);
        prop_assert_eq!(loaded.is_ok(), correlation >= 0.0, "{:?}", loaded);
    }

    #[test]
    fn arbitrary_text_never_panics_the_loader(text in "\\PC{0,200}") {
        let _ = Profile::from_toml(&text);
    }

    #[test]
    fn mutated_valid_toml_never_panics_the_loader(
        cut in 0usize..200,
        byte in any::<u8>(),
    ) {
        let mut text = b"[forward]\ndelay_ms = 15.0\njitter = { kind = \"normal\", sd_ms = 3.0 }\nrate_mbit_s = 50.0\n".to_vec();
        let at = cut % text.len();
        text[at] = byte;
        if let Ok(text) = std::str::from_utf8(&text) {
            let _ = Profile::from_toml(text);
        }
    }
}
