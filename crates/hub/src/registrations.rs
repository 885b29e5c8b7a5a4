//! The patient each device is registered to, as the external-broker path looks it up per
//! message: read from the store and kept for a few seconds, so a registration made or removed
//! with `medlink hub device` while the hub runs takes effect within [`KEEP_MS`].

use crate::Shared;
use std::collections::HashMap;
use store::NewAudit;

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

/// [`register`], and the change appended to the audit trail in `accounts` (the alert journal) as
/// done `by` someone. Should the audit entry not be written, the registration is undone (the
/// earlier one restored) and the error returned: no device change goes unaudited.
pub fn register_audited(
    store: &mut store::Store,
    accounts: &mut store::AccountStore,
    (device, patient): (&str, &str),
    by: &str,
    now: i64,
) -> Result<String, RegisterError> {
    let earlier = store.registration(device)?;
    let password = register(store, device, patient, now)?;
    let outcome = match &earlier {
        Some(e) => format!(
            "success: new password, patient {patient} (was {})",
            e.patient
        ),
        None => format!("success: patient {patient}"),
    };
    let audit = device_audit(
        store::audit::action::DEVICE_REGISTERED,
        device,
        by,
        now,
        outcome,
    );
    if let Err(e) = accounts.audit(audit) {
        match &earlier {
            Some(registration) => store.register_device(registration)?,
            None => {
                store.remove_registration(device)?;
            }
        }
        return Err(e.into());
    }
    Ok(password)
}

/// Removes `device`'s registration and audits it; false if it was not registered (nothing
/// audited). Should the audit entry not be written, the registration is put back.
pub fn remove_audited(
    store: &mut store::Store,
    accounts: &mut store::AccountStore,
    device: &str,
    by: &str,
    now: i64,
) -> Result<bool, RegisterError> {
    let Some(registration) = store.registration(device)? else {
        return Ok(false);
    };
    store.remove_registration(device)?;
    let outcome = format!("success: was patient {}", registration.patient);
    let audit = device_audit(
        store::audit::action::DEVICE_REMOVED,
        device,
        by,
        now,
        outcome,
    );
    if let Err(e) = accounts.audit(audit) {
        store.register_device(&registration)?;
        return Err(e.into());
    }
    Ok(true)
}

fn device_audit(action: &str, device: &str, by: &str, at_ms: i64, outcome: String) -> NewAudit {
    NewAudit {
        at_ms,
        actor: by.to_string(),
        account: None,
        action: action.to_string(),
        entity_type: "device".into(),
        entity: device.to_string(),
        outcome,
    }
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
