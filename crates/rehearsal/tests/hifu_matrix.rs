//! The HIFU fault matrix (issue 17, item 3): every matrix profile x seeds, the remote procedure in
//! simulated time. In every cell the beam is never on longer than the survival time and one frame
//! after the last heartbeat, no organ at risk passes its (deliberately low) limit by more than one
//! frame's heating, and a plan edited in flight is refused; the OAR rule fires in every cell, and
//! the dead-man's switch in every cell whose link falls silent for longer than the survival time.

use rehearsal::hifu::{HifuFixture, broken_lines, run_hifu_matrix};
use rehearsal::matrix::SEEDS;

#[test]
fn every_profile_and_seed_keeps_the_hifu_safety_invariants() {
    let fixture = HifuFixture::small().unwrap();
    let cells = run_hifu_matrix(&fixture, &SEEDS, |cell| {
        eprintln!(
            "{:<22} seed {} {:5.1} s: {} spots, beam on {:5.1} s, silence with beam on {:.3} s, OAR +{:.3} °C (frame {:.3}), stops {:?}",
            cell.profile,
            cell.seed,
            cell.simulated_s,
            cell.spots_complete,
            cell.beam_on_s,
            cell.max_silence_with_beam_on_s,
            cell.oar_overshoot_c,
            cell.max_oar_rise_per_frame_c,
            cell.stops
        )
    })
    .unwrap();
    let broken = broken_lines(&cells);
    assert!(broken.is_empty(), "{broken:#?}");
    for cell in &cells {
        assert!(
            cell.beam_on_s > 1.0,
            "{} seed {}: the beam hardly ran",
            cell.profile,
            cell.seed
        );
        assert!(
            cell.stops.iter().any(|s| s == "oar_temperature"),
            "{} seed {}: the OAR rule never fired: {:?}",
            cell.profile,
            cell.seed,
            cell.stops
        );
    }
    assert!(
        cells
            .iter()
            .any(|c| c.stops.iter().any(|s| s == "heartbeat_lost")),
        "no cell lost the heartbeat: the outages never tested the dead-man's switch"
    );
}
