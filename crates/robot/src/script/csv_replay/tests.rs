//! Tests of the CSV replay: parsing, interpolation, every error with its line number, the shipped
//! example file, and that random or mutated input never panics.

use super::*;
use crate::geometry::{angle_between_rotations, norm, rot_z, sub};
use crate::script::SurgicalScript;
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../../../../../examples/master_poses.csv");

fn parse(text: &str) -> Result<CsvReplay, CsvError> {
    CsvReplay::from_reader(text.as_bytes())
}

#[test]
fn parses_rows_and_interpolates_position_orientation_and_jaw() {
    let half = std::f64::consts::FRAC_1_SQRT_2;
    let text = format!(
        "# recorded at the console\n{CSV_HEADER},jaw_rad\n10.0, 0, 0, 0, 0, 0, 0, 1, 0.0\n\n10.5,0.01,0.02,-0.03,0,0,{half},{half},0.4\r\n"
    );
    let replay = parse(&text).unwrap();
    assert_eq!(
        (replay.len(), replay.has_jaw(), replay.duration_s()),
        (2, true, 0.5)
    );
    let mid = replay.pose_at(0.25).unwrap();
    assert!(norm(sub(mid.position, [0.005, 0.01, -0.015])) < 1e-12);
    // Halfway along a 90° turn about z is 45° about z.
    assert!(angle_between_rotations(&mid.rotation, &rot_z(std::f64::consts::FRAC_PI_4)) < 1e-9);
    assert!((replay.jaw_at(0.25).unwrap() - 0.2).abs() < 1e-12);
    assert!(
        norm(sub(
            replay.pose_at(0.5).unwrap().position,
            [0.01, 0.02, -0.03]
        )) < 1e-12
    );
    assert_eq!(replay.pose_at(0.51), None);
    assert_eq!(replay.pose_at(-0.01), None);
}

#[test]
fn a_file_without_the_jaw_column_has_no_jaw() {
    let replay = parse(&format!("{CSV_HEADER}\n0,0,0,0,0,0,0,1\n")).unwrap();
    assert!(!replay.has_jaw());
    assert_eq!(replay.duration_s(), 0.0);
    assert!(replay.pose_at(0.0).is_some());
    assert_eq!(replay.jaw_at(0.0), None);
}

#[test]
fn each_bad_input_is_reported_with_its_line() {
    let row = "0,0,0,0,0,0,0,1";
    let with_rows = |rows: &str| format!("{CSV_HEADER}\n{row}\n{rows}\n");
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "no header"),
        ("# only a comment\n".into(), "no header"),
        (format!("{CSV_HEADER}\n"), "no data rows"),
        ("t,x,y,z,qx,qy,qz,qw\n".into(), "line 1: header must be"),
        (
            with_rows("1,0,0,0,0,0,1"),
            "line 3: expected 8 fields, found 7",
        ),
        (
            with_rows("1,0,abc,0,0,0,0,1"),
            "line 3: y_m is not a number: `abc`",
        ),
        (with_rows("1,0,0,NaN,0,0,0,1"), "line 3: z_m is not finite"),
        (
            with_rows("1,0,0,0,0,0,0,1\n1,0,0,0,0,0,0,1"),
            "line 4: time 1 s does not come after",
        ),
        (
            with_rows("-1,0,0,0,0,0,0,1"),
            "line 3: time -1 s does not come after",
        ),
        (
            with_rows("1,0,0,0,0,0,0,1.1"),
            "line 3: quaternion norm 1.1 is not 1",
        ),
        (
            with_rows("1,0,0,11,0,0,0,1"),
            "line 3: z_m = 11 is out of range",
        ),
    ];
    for (text, expected) in cases {
        let message = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(message.contains(expected), "`{message}` lacks `{expected}`");
    }
    let invalid_utf8 = [CSV_HEADER.as_bytes(), b"\n\xff\xfe\n"].concat();
    let message = CsvReplay::from_reader(&invalid_utf8[..])
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("line 2: cannot read"), "{message}");
}

#[test]
fn a_written_script_replays_to_the_same_poses() {
    let script = SurgicalScript::knot_tying(3);
    let mut text = Vec::new();
    write_csv(&script, 100.0, &mut text).unwrap();
    let replay = CsvReplay::from_reader(&text[..]).unwrap();
    assert!((replay.duration_s() - script.duration_s()).abs() < 0.01);
    for i in 0..(script.duration_s() * 100.0) as usize {
        let t = i as f64 / 100.0;
        let (a, b) = (script.pose_at(t).unwrap(), replay.pose_at(t).unwrap());
        assert!(
            a.distance_m(&b) < 1e-8 && a.angle_to_rad(&b) < 1e-7,
            "at {t} s"
        );
        assert!((script.jaw_at(t).unwrap() - replay.jaw_at(t).unwrap()).abs() < 1e-6);
    }
}

/// The shipped example is the first 4 s of `SurgicalScript::suturing(1)` at 100 Hz; regenerate it
/// with `cargo run -p robot --example record_master_poses > examples/master_poses.csv`.
#[test]
fn the_shipped_example_file_parses_and_matches_the_suturing_script() {
    let replay = parse(EXAMPLE).unwrap();
    let script = SurgicalScript::suturing(1);
    assert_eq!(replay.len(), 401);
    for i in 0..=400 {
        let t = i as f64 / 100.0;
        let (a, b) = (script.pose_at(t).unwrap(), replay.pose_at(t).unwrap());
        assert!(a.distance_m(&b) < 1e-8, "at {t} s");
    }
}

/// Mutations of a valid file: replace, insert or delete a byte.
fn mutated_example() -> impl Strategy<Value = Vec<u8>> {
    let base: Vec<u8> = EXAMPLE
        .lines()
        .take(12)
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    let length = base.len();
    proptest::collection::vec((0..length, any::<u8>(), 0..3u8), 1..8).prop_map(move |edits| {
        let mut bytes = base.clone();
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match kind {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        bytes
    })
}

proptest! {
    #[test]
    fn random_text_never_panics(text in ".{0,300}") {
        let _ = parse(&text);
        let _ = parse(&format!("{CSV_HEADER}\n{text}"));
    }

    #[test]
    fn mutated_files_give_a_replay_or_an_error_never_a_panic(bytes in mutated_example()) {
        if let Ok(replay) = CsvReplay::from_reader(&bytes[..]) {
            let end = replay.duration_s();
            for t in [0.0, end / 3.0, end] {
                let pose = replay.pose_at(t);
                prop_assert!(pose.is_some_and(|p| p.is_finite()));
            }
        }
    }
}
