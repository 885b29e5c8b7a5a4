//! The patient each device is registered to, as the external-broker path looks it up per
//! message: read from the store and kept for a few seconds, so a registration made or removed
//! with `medlink hub device` while the hub runs takes effect within [`KEEP_MS`].

use crate::Shared;
use std::collections::HashMap;

/// How long a looked-up registration (or its absence) is trusted.
pub const KEEP_MS: i64 = 5_000;

/// Looked-up registrations: device id to (patient, when looked up).
#[derive(Default)]
pub struct Registrations {
    known: HashMap<String, (Option<String>, i64)>,
}

impl Registrations {
    /// The patient `device` is registered to, `None` if it is not registered.
    pub fn patient_of(&mut self, shared: &Shared, device: &str, now: i64) -> Option<String> {
        if let Some((patient, at)) = self.known.get(device)
            && now - at < KEEP_MS
        {
            return patient.clone();
        }
        let patient = shared
            .store
            .lock()
            .ok()
            .and_then(|store| store.registration(device).ok().flatten())
            .map(|r| r.patient);
        self.known
            .insert(device.to_string(), (patient.clone(), now));
        patient
    }
}

/// Errors registering a device.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Id(#[from] vitals::payload::Rejection),
    #[error("device id {0:?}: `.ecg.` is reserved for ECG streams")]
    Reserved(String),
    #[error("no randomness for the password: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// Registers `device` to `patient` with a new password (replacing any earlier registration and
/// password) and returns the password: the only time it exists outside the device.
pub fn register(
    store: &mut store::Store,
    device: &str,
    patient: &str,
    now: i64,
) -> Result<String, RegisterError> {
    vitals::payload::validate_id("device", device)?;
    vitals::payload::validate_id("patient", patient)?;
    if device.contains(".ecg.") {
        return Err(RegisterError::Reserved(device.to_string()));
    }
    let random = |e: getrandom::Error| RegisterError::Random(e.to_string());
    let password = crate::device_secret::new_password().map_err(random)?;
    let secret_hash = crate::device_secret::hash_new(&password).map_err(random)?;
    store.register_device(&store::Registration {
        device: device.to_string(),
        patient: patient.to_string(),
        secret_hash,
        created_ms: now,
    })?;
    Ok(password)
}

impl crate::RunningHub {
    /// Registers a device with the running hub's store (as `medlink hub device add` does) and
    /// returns its password.
    pub fn register_device(&self, device: &str, patient: &str) -> Result<String, RegisterError> {
        let mut store = self
            .shared
            .store
            .lock()
            .map_err(|_| RegisterError::Random("the store lock is poisoned".into()))?;
        register(&mut store, device, patient, crate::now_ms())
    }
}
