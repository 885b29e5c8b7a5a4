//! The vital-sign model: one measurement from one device about one patient, in canonical units.

use serde::{Deserialize, Serialize};

/// Consciousness on the ACVPU scale; `Confusion` means new confusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acvpu {
    #[serde(rename = "A")]
    Alert,
    #[serde(rename = "C")]
    Confusion,
    #[serde(rename = "V")]
    Voice,
    #[serde(rename = "P")]
    Pain,
    #[serde(rename = "U")]
    Unresponsive,
}

impl Acvpu {
    /// The one-letter code used on the wire and in storage.
    pub fn letter(self) -> &'static str {
        match self {
            Acvpu::Alert => "A",
            Acvpu::Confusion => "C",
            Acvpu::Voice => "V",
            Acvpu::Pain => "P",
            Acvpu::Unresponsive => "U",
        }
    }

    /// Parses the one-letter code (`A`, `C`, `V`, `P`, `U`).
    pub fn from_letter(letter: &str) -> Option<Acvpu> {
        Some(match letter {
            "A" => Acvpu::Alert,
            "C" => Acvpu::Confusion,
            "V" => Acvpu::Voice,
            "P" => Acvpu::Pain,
            "U" => Acvpu::Unresponsive,
            _ => return None,
        })
    }
}

/// Which NEWS2 SpO2 scale a patient is scored on; Scale 2 is chosen by a clinician for
/// hypercapnic respiratory failure (target 88-92 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SpO2Scale {
    #[default]
    Scale1,
    Scale2,
}

impl SpO2Scale {
    /// The scale number (1 or 2).
    pub fn number(self) -> u8 {
        match self {
            SpO2Scale::Scale1 => 1,
            SpO2Scale::Scale2 => 2,
        }
    }

    /// The scale for a number, if it is 1 or 2.
    pub fn from_number(number: i64) -> Option<SpO2Scale> {
        match number {
            1 => Some(SpO2Scale::Scale1),
            2 => Some(SpO2Scale::Scale2),
            _ => None,
        }
    }
}

/// The vital signs one measurement carries; any subset may be present.
///
/// Units are canonical: beats or breaths per minute, percent, degrees Celsius, mmHg.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Vitals {
    pub heart_rate: Option<f64>,
    pub resp_rate: Option<f64>,
    pub spo2: Option<f64>,
    pub on_oxygen: Option<bool>,
    pub temperature: Option<f64>,
    pub systolic: Option<f64>,
    pub diastolic: Option<f64>,
    pub consciousness: Option<Acvpu>,
}

impl Vitals {
    /// True when no vital sign at all is present.
    pub fn is_empty(&self) -> bool {
        VitalKind::SIGNS.iter().all(|kind| !kind.is_present(self))
    }
}

/// One measurement: what a device reported about a patient at a time, with the device's
/// per-device sequence number (the de-duplication key together with the device id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub device: String,
    pub patient: String,
    pub seq: u64,
    pub time_ms: i64,
    pub vitals: Vitals,
}

/// A kind of observation the hub stores and exports: the five vital signs of the FHIR
/// vital-signs profile (LOINC codes, UCUM units), the two other NEWS2 parameters,
/// consciousness (ACVPU) and air or oxygen, which carry coded values, and the NEWS2 total
/// as of each measurement (derived, not measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VitalKind {
    HeartRate,
    RespRate,
    SpO2,
    Temperature,
    BloodPressure,
    Consciousness,
    AirOrOxygen,
    News2Total,
}

/// LOINC, the code system of the vital-signs profile.
pub const LOINC: &str = "http://loinc.org";
/// SNOMED CT (ACVPU, the NEWS2 total).
pub const SNOMED: &str = "http://snomed.info/sct";
/// The hub's own code system, where no standard code was verified (air or oxygen).
pub const LOCAL_CODES: &str = "urn:medlink:fhir:observation";

impl VitalKind {
    pub const ALL: [VitalKind; 8] = [
        VitalKind::HeartRate,
        VitalKind::RespRate,
        VitalKind::SpO2,
        VitalKind::Temperature,
        VitalKind::BloodPressure,
        VitalKind::Consciousness,
        VitalKind::AirOrOxygen,
        VitalKind::News2Total,
    ];

    /// The measured vital signs: a measurement must carry at least one (ACVPU or air or
    /// oxygen alone is not a measurement).
    pub const SIGNS: [VitalKind; 5] = [
        VitalKind::HeartRate,
        VitalKind::RespRate,
        VitalKind::SpO2,
        VitalKind::Temperature,
        VitalKind::BloodPressure,
    ];

    /// The code system of [`VitalKind::code`].
    pub fn system(self) -> &'static str {
        match self {
            VitalKind::Consciousness | VitalKind::News2Total => SNOMED,
            VitalKind::AirOrOxygen => LOCAL_CODES,
            _ => LOINC,
        }
    }

    /// The Observation code: LOINC for the vital signs, SNOMED CT 1104441000000107 for ACVPU
    /// and 1104051000000101 for the NEWS2 total (as the NHS NEWS2 examples code them), a local
    /// code for air or oxygen.
    pub fn code(self) -> &'static str {
        match self {
            VitalKind::HeartRate => "8867-4",
            VitalKind::RespRate => "9279-1",
            VitalKind::SpO2 => "2708-6",
            VitalKind::Temperature => "8310-5",
            VitalKind::BloodPressure => "85354-9",
            VitalKind::Consciousness => "1104441000000107",
            VitalKind::AirOrOxygen => "air-or-oxygen",
            VitalKind::News2Total => "1104051000000101",
        }
    }

    /// Human-readable name used as `code.text` and display.
    pub fn display(self) -> &'static str {
        match self {
            VitalKind::HeartRate => "Heart rate",
            VitalKind::RespRate => "Respiratory rate",
            VitalKind::SpO2 => "Oxygen saturation in Arterial blood",
            VitalKind::Temperature => "Body temperature",
            VitalKind::BloodPressure => "Blood pressure panel with all children optional",
            VitalKind::Consciousness => {
                "ACVPU (Alert Confusion Voice Pain Unresponsive) scale score"
            }
            VitalKind::AirOrOxygen => "Air or oxygen (NEWS2)",
            VitalKind::News2Total => {
                "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score"
            }
        }
    }

    /// The UCUM unit code of the value (for blood pressure: of each component); `None` for
    /// the coded values (ACVPU, air or oxygen) and the NEWS2 total (a score).
    pub fn ucum(self) -> Option<&'static str> {
        match self {
            VitalKind::HeartRate | VitalKind::RespRate => Some("/min"),
            VitalKind::SpO2 => Some("%"),
            VitalKind::Temperature => Some("Cel"),
            VitalKind::BloodPressure => Some("mm[Hg]"),
            VitalKind::Consciousness | VitalKind::AirOrOxygen | VitalKind::News2Total => None,
        }
    }

    /// Short stable name used in resource ids and storage (`hr`, `rr`, `spo2`, `temp`, `bp`,
    /// `acvpu`, `o2`, `news2`).
    pub fn slug(self) -> &'static str {
        match self {
            VitalKind::HeartRate => "hr",
            VitalKind::RespRate => "rr",
            VitalKind::SpO2 => "spo2",
            VitalKind::Temperature => "temp",
            VitalKind::BloodPressure => "bp",
            VitalKind::Consciousness => "acvpu",
            VitalKind::AirOrOxygen => "o2",
            VitalKind::News2Total => "news2",
        }
    }

    /// The kind for a short name.
    pub fn from_slug(slug: &str) -> Option<VitalKind> {
        VitalKind::ALL.into_iter().find(|kind| kind.slug() == slug)
    }

    /// The kind for a code in a system (LOINC also takes the pulse-oximetry code 59408-5
    /// for SpO2).
    pub fn from_code(system: &str, code: &str) -> Option<VitalKind> {
        if system == LOINC && code == "59408-5" {
            return Some(VitalKind::SpO2);
        }
        VitalKind::ALL
            .into_iter()
            .find(|kind| kind.system() == system && kind.code() == code)
    }

    /// Whether this kind has a value in `vitals` (blood pressure needs the systolic value; a
    /// NEWS2 total is scored as of every measurement).
    pub fn is_present(self, vitals: &Vitals) -> bool {
        match self {
            VitalKind::HeartRate => vitals.heart_rate.is_some(),
            VitalKind::RespRate => vitals.resp_rate.is_some(),
            VitalKind::SpO2 => vitals.spo2.is_some(),
            VitalKind::Temperature => vitals.temperature.is_some(),
            VitalKind::BloodPressure => vitals.systolic.is_some(),
            VitalKind::Consciousness => vitals.consciousness.is_some(),
            VitalKind::AirOrOxygen => vitals.on_oxygen.is_some(),
            VitalKind::News2Total => true,
        }
    }
}
