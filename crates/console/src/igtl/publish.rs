//! What medlink sends to OpenIGTLink peers, made from the session's latest state (pure: the
//! time comes in): the tool tip and the remote centre of motion as TRANSFORMs in the patient
//! frame (mm), the supervisor's state as STATUS, the HIFU thermometry slice as two float32
//! IMAGEs (temperature in °C and thermal dose in CEM43 minutes) with the slice's geometry, and
//! the station's HIFU news (beam on/off and why, spots) and the patient monitor's readings as
//! STRING (JSON).

use super::watch::Latest;
use hifu::device::ThermometryFrame;
use igtl::{Body, Extended, Image, Message, MetadataEntry, Status, Timestamp, Transform};
use proto::{StateReport, SupervisorStateCode};
use teleop::MonitorReading;

/// Device names medlink sends (docs/igtl.md).
pub const TOOL_TIP: &str = "ToolTip";
pub const RCM: &str = "RCM";
pub const SUPERVISOR: &str = "Supervisor";
pub const TEMPERATURE: &str = "Temperature";
pub const DOSE: &str = "ThermalDose";
pub const HIFU_NEWS: &str = "HifuNews";
pub const VITALS: &str = "Vitals";

/// The arm's base frame (origin at the remote centre of motion, metres) placed in the patient
/// frame of the peer (mm): `patient = rotation × base + translation`. Identity unless the site
/// registered the arm to the patient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Registration {
    pub rotation: [[f64; 3]; 3],
    pub translation_mm: [f64; 3],
}

impl Default for Registration {
    fn default() -> Self {
        Registration {
            rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            translation_mm: [0.0; 3],
        }
    }
}

impl Registration {
    /// Twelve comma-separated numbers, the rows of the 3×4 matrix (rotation | translation mm).
    pub fn parse(text: &str) -> Result<Registration, String> {
        let values: Vec<f64> = text
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|e| format!("{:?}: {e}", v.trim()))
            })
            .collect::<Result<_, _>>()?;
        if values.len() != 12 || values.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "a registration is 12 finite numbers (3 rows of rotation and translation in mm), got {}",
                values.len()
            ));
        }
        let mut r = Registration::default();
        for row in 0..3 {
            r.rotation[row] = [values[row * 4], values[row * 4 + 1], values[row * 4 + 2]];
            r.translation_mm[row] = values[row * 4 + 3];
        }
        Ok(r)
    }

    fn pose(&self, rotation: [[f64; 3]; 3], position_m: [f64; 3]) -> Transform {
        let mut r = [[0.0; 3]; 3];
        let mut t = self.translation_mm;
        for i in 0..3 {
            for j in 0..3 {
                r[i][j] = (0..3).map(|k| self.rotation[i][k] * rotation[k][j]).sum();
                t[i] += self.rotation[i][j] * position_m[j] * 1e3;
            }
        }
        Transform::from_rotation_translation(r, t)
    }
}

/// Rotation matrix (rows) of a quaternion (x, y, z, w), normalised first.
pub(crate) fn rotation_of([x, y, z, w]: [f64; 4]) -> [[f64; 3]; 3] {
    robot::Quaternion { w, x, y, z }.to_rotation()
}

/// How messages are framed: protocol v1/v2 (header version 1, what most peers expect) or v3
/// with metadata (the station's own time and sequence number beside the wall-clock timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    #[default]
    V2,
    V3,
}

fn message(
    framing: Framing,
    device: &str,
    at_s: f64,
    body: Body,
    metadata: &[(&str, String)],
) -> Message {
    let mut m = Message::new(device, Timestamp::from_secs_f64(at_s), body);
    if framing == Framing::V3 {
        m.extended = Some(Extended {
            message_id: 0,
            metadata: metadata
                .iter()
                .map(|(k, v)| MetadataEntry::text(*k, v))
                .collect(),
        });
    }
    m
}

/// TRANSFORM `ToolTip`: the measured tool tip in the patient frame, stamped with the wall-clock
/// time its state report arrived.
pub fn tool_tip(
    report: &StateReport,
    arrived_s: f64,
    registration: &Registration,
    framing: Framing,
) -> Message {
    let pose = registration.pose(
        rotation_of(report.tip.quaternion_xyzw),
        report.tip.position_m,
    );
    message(
        framing,
        TOOL_TIP,
        arrived_s,
        Body::Transform(pose),
        &[
            ("StationTimeUs", report.station_time_us.to_string()),
            ("Seq", report.seq.to_string()),
        ],
    )
}

/// TRANSFORM `RCM`: the remote centre of motion (the arm base's origin) in the patient frame.
pub fn rcm(registration: &Registration, at_s: f64, framing: Framing) -> Message {
    let pose = registration.pose(Registration::default().rotation, [0.0; 3]);
    message(framing, RCM, at_s, Body::Transform(pose), &[])
}

/// The STATUS code for a supervisor state (reference/openigtlink.md, "For medlink").
pub fn status_code(state: Option<SupervisorStateCode>, connected: bool) -> u16 {
    use igtl::StatusCode as C;
    let code = match (connected, state) {
        (false, _) => C::TimeOut,
        (true, None) => C::NotReady,
        (true, Some(SupervisorStateCode::Ready | SupervisorStateCode::Engaged)) => C::Ok,
        (true, Some(SupervisorStateCode::Hold)) => C::ManualMode,
        (true, Some(SupervisorStateCode::Disabled)) => C::Disabled,
        (true, Some(SupervisorStateCode::Fault)) => C::HardwareFailure,
        (true, Some(SupervisorStateCode::Estop)) => C::Panic,
    };
    code as u16
}

/// STATUS `Supervisor`: the code, the state's byte as subcode, its name and the last reason.
pub fn supervisor(latest: &Latest, at_s: f64, framing: Framing) -> Message {
    let state = latest.supervisor();
    let name = match (latest.connected, state) {
        (false, _) => "LINK_LOST".to_string(),
        (true, None) => "NO_STATE".to_string(),
        (true, Some(s)) => format!("{s:?}").to_uppercase(),
    };
    let status = Status {
        code: status_code(state, latest.connected),
        subcode: state.map_or(-1, |s| s as i64),
        error_name: name,
        message: latest.reason.clone(),
    };
    message(framing, SUPERVISOR, at_s, Body::Status(status), &[])
}

/// STRING `HifuNews`: one piece of the station's HIFU news, as JSON.
pub fn hifu_news(json: &str, arrived_s: f64, framing: Framing) -> Message {
    let body = Body::String(igtl::StringMessage::new(json));
    message(framing, HIFU_NEWS, arrived_s, body, &[])
}

/// STRING `Vitals`: a patient monitor reading as JSON with the units in the keys; `time_s` is
/// when the monitor took it on the station's clock, the message's timestamp when it arrived.
pub fn vitals(reading: &MonitorReading, arrived_s: f64, framing: Framing) -> Message {
    let json = serde_json::json!({
        "hr_bpm": reading.hr_bpm,
        "spo2_pct": reading.spo2_pct,
        "rr_per_min": reading.rr_per_min,
        "sbp_mmhg": reading.sbp_mmhg,
        "dbp_mmhg": reading.dbp_mmhg,
        "temp_c": reading.temp_c,
        "time_s": reading.at_us as f64 / 1e6,
    });
    let body = Body::String(igtl::StringMessage::new(json.to_string()));
    let metadata = [("StationTimeUs", reading.at_us.to_string())];
    message(framing, VITALS, arrived_s, body, &metadata)
}

/// IMAGEs `Temperature` and `ThermalDose` of a thermometry slice, in the HIFU grid's frame (mm;
/// voxel (x, y, z) at (x, y, z) × spacing), or `None` for a frame without its geometry.
pub fn thermal_images(
    frame: &ThermometryFrame,
    arrived_s: f64,
    framing: Framing,
) -> Option<[Message; 2]> {
    let [nx, ny] = frame.dims;
    let cells = nx.checked_mul(ny)?;
    let spacing_mm = frame.spacing_m * 1e3;
    if !(spacing_mm.is_finite() && spacing_mm > 0.0)
        || frame.temperature_c.len() != cells
        || frame.dose_cem43.len() != cells
    {
        return None;
    }
    let size = [u16::try_from(nx).ok()?, u16::try_from(ny).ok()?, 1];
    let centre = [
        (nx as f64 - 1.0) / 2.0 * spacing_mm,
        (ny as f64 - 1.0) / 2.0 * spacing_mm,
        frame.slice_z as f64 * spacing_mm,
    ]
    .map(|v| v as f32);
    let spacing = [spacing_mm as f32; 3];
    let metadata = [
        ("SimulatedTimeS", format!("{:.3}", frame.time_s)),
        ("SliceZ", frame.slice_z.to_string()),
    ];
    let image = |device: &str, unit: &str, values: &[f32]| {
        let mut meta = metadata.to_vec();
        meta.push(("Unit", unit.to_string()));
        let body = Body::Image(Image::from_f32(size, spacing, centre, values));
        message(framing, device, arrived_s, body, &meta)
    };
    Some([
        image(TEMPERATURE, "degC", &frame.temperature_c),
        image(DOSE, "CEM43 min", &frame.dose_cem43),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::WirePose;

    fn report(position_m: [f64; 3], quaternion_xyzw: [f64; 4]) -> StateReport {
        StateReport {
            seq: 7,
            station_time_us: 1_000,
            last_applied_seq: 0,
            supervisor_state: SupervisorStateCode::Engaged as u8,
            joints: [0.0; 6],
            tip: WirePose {
                position_m,
                quaternion_xyzw,
            },
        }
    }

    #[test]
    fn the_tool_tip_is_in_millimetres_in_the_registered_frame() {
        // 90° about z: base x is patient y; then 100 mm along patient x.
        let registration = Registration::parse("0,-1,0,100, 1,0,0,0, 0,0,1,0").unwrap();
        let half = std::f64::consts::FRAC_1_SQRT_2;
        let m = tool_tip(
            &report([0.01, 0.0, -0.05], [0.0, 0.0, half, half]),
            1.5,
            &registration,
            Framing::V2,
        );
        let Body::Transform(t) = m.body else {
            panic!("{m:?}")
        };
        assert_eq!(t.translation_mm(), [100.0, 10.0, -50.0]);
        // The tip's own 90° about z, then the registration's: 180° about z.
        assert!((t.rows[0][0] + 1.0).abs() < 1e-6 && (t.rows[1][1] + 1.0).abs() < 1e-6);
        assert_eq!(m.device_name, TOOL_TIP);
        assert_eq!(m.timestamp.as_secs_f64(), 1.5);
    }

    #[test]
    fn supervisor_states_map_to_the_protocols_status_codes() {
        let mut latest = Latest {
            connected: true,
            state: Some((report([0.0; 3], [0.0, 0.0, 0.0, 1.0]), 0.0)),
            ..Latest::default()
        };
        assert_eq!(status_code(latest.supervisor(), true), 1);
        for (state, code) in [
            (SupervisorStateCode::Estop, 3),
            (SupervisorStateCode::Hold, 14),
            (SupervisorStateCode::Fault, 18),
            (SupervisorStateCode::Disabled, 15),
        ] {
            assert_eq!(status_code(Some(state), true), code);
        }
        latest.connected = false;
        let Body::Status(s) = supervisor(&latest, 0.0, Framing::V2).body else {
            panic!()
        };
        assert_eq!((s.code, s.error_name.as_str()), (7, "LINK_LOST"));
    }

    #[test]
    fn a_monitor_reading_is_a_json_string_with_units_in_its_keys() {
        let reading = MonitorReading {
            hr_bpm: 72.0,
            spo2_pct: 98.0,
            rr_per_min: 14.0,
            sbp_mmhg: 125.0,
            dbp_mmhg: 77.0,
            temp_c: 36.9,
            at_us: 2_500_000,
        };
        let m = vitals(&reading, 4.0, Framing::V3);
        assert_eq!(m.device_name, VITALS);
        assert_eq!(m.timestamp.as_secs_f64(), 4.0);
        let Body::String(text) = &m.body else {
            panic!("{m:?}")
        };
        let json: serde_json::Value = serde_json::from_str(&text.text).unwrap();
        assert_eq!(json["hr_bpm"], 72.0);
        assert_eq!(json["dbp_mmhg"], 77.0);
        assert_eq!(json["temp_c"], 36.9);
        assert_eq!(json["time_s"], 2.5);
        let back = Message::decode(&m.encode().unwrap()).unwrap();
        assert_eq!(back.body, m.body);
    }

    #[test]
    fn a_thermal_slice_carries_its_geometry_and_values() {
        let frame = ThermometryFrame {
            time_s: 3.0,
            slice_z: 10,
            dims: [3, 2],
            spacing_m: 2e-3,
            temperature_c: vec![37.0, 38.0, 39.0, 40.0, 41.0, 60.0],
            dose_cem43: vec![0.0; 6],
            focal_temperature_c: 60.0,
            oar_max_temp_c: 37.0,
            sonicating_spot: Some(1),
        };
        let [temperature, dose] = thermal_images(&frame, 9.0, Framing::V3).unwrap();
        let Body::Image(image) = temperature.body else {
            panic!()
        };
        assert_eq!(image.size, [3, 2, 1]);
        assert_eq!(&image.matrix[9..], &[2.0, 1.0, 20.0]);
        assert_eq!(
            (image.matrix[0], image.matrix[4], image.matrix[8]),
            (2.0, 2.0, 2.0)
        );
        assert_eq!(image.f32_pixels().unwrap(), frame.temperature_c);
        assert_eq!(dose.device_name, DOSE);
        let no_geometry = ThermometryFrame {
            spacing_m: 0.0,
            ..frame
        };
        assert!(thermal_images(&no_geometry, 9.0, Framing::V2).is_none());
    }
}
