//! The patient-side safety supervisor.
