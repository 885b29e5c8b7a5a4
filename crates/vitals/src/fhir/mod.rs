//! FHIR R4 mapping: vital-sign Observations (LOINC, UCUM, vital-signs profile), Patient, Device,
//! search Bundles and parameters, the CapabilityStatement and OperationOutcome. JSON in, JSON
//! out; no IO.

mod coded;
mod news2;
mod observation;
mod posted;
mod resources;
mod search;
mod time;

pub use news2::{NEWS2_WINDOW_MS, news2_as_of, news2_observation};
pub use observation::{
    ObservationInput, observation, observation_from_json, observation_id, observations_for,
};
pub use posted::{POSTED_MARK, posted_device, posted_source};
pub use resources::{
    AUDIT_EVENT_SEARCH, DEVICE_SEARCH, OBSERVATION_SEARCH, PATIENT_SEARCH, Page,
    capability_statement, device_resource, operation_outcome, patient_resource, searchset,
    transaction_response,
};
pub use search::{Handling, PAGING, name_matches, name_param_matches, supported_params};
pub use time::{DateBound, DateParam, format_instant, parse_date_param, parse_instant};

/// Why a FHIR request could not be honoured; becomes an OperationOutcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    #[error("invalid resource: {0}")]
    Invalid(String),
    #[error("not supported: {0}")]
    NotSupported(String),
    #[error("invalid search parameter: {0}")]
    BadSearch(String),
}

/// A stored measurement with the row id the store gave it (Observation ids derive from it).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub row_id: i64,
    pub measurement: crate::Measurement,
}
