//! Device registrations: which patient a device reports for and the salted hash of its MQTT
//! password. The hub reads them when a device connects; `medlink hub device` writes them.

use crate::db::Row;
use crate::values;
use crate::{Store, StoreError};

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub device: String,
    pub patient: String,
    /// The password's salted hash (never the password).
    pub secret_hash: String,
    pub created_ms: i64,
}

fn bump_version(tx: &crate::db::Conn) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE registrations_version SET version = version + 1 WHERE one = 1",
        &[],
    )?;
    Ok(())
}

fn from_row(r: &Row) -> Result<Registration, StoreError> {
    Ok(Registration {
        device: r.get(0)?,
        patient: r.get(1)?,
        secret_hash: r.get(2)?,
        created_ms: r.get(3)?,
    })
}

impl Store {
    /// Registers a device to a patient with its password hash; an existing registration of the
    /// same device is replaced (new credentials, possibly a new patient). Also links the device
    /// and the patient as ingestion does.
    pub fn register_device(&mut self, r: &Registration) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO device_registrations (device, patient, secret_hash, created_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device) DO UPDATE SET patient = excluded.patient,
                 secret_hash = excluded.secret_hash, created_ms = excluded.created_ms",
            &values![
                r.device.as_str(),
                r.patient.as_str(),
                r.secret_hash.as_str(),
                r.created_ms
            ],
        )?;
        tx.execute(
            "INSERT INTO patients (id) VALUES (?1) ON CONFLICT DO NOTHING",
            &values![r.patient.as_str()],
        )?;
        tx.execute(
            "INSERT INTO devices (id, patient) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET patient = excluded.patient",
            &values![r.device.as_str(), r.patient.as_str()],
        )?;
        bump_version(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes a device's registration (its stored readings stay); false if it had none.
    pub fn remove_registration(&mut self, device: &str) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let removed = tx.execute(
            "DELETE FROM device_registrations WHERE device = ?1",
            &values![device],
        )?;
        if removed == 1 {
            bump_version(&tx)?;
        }
        tx.commit()?;
        Ok(removed == 1)
    }

    /// A number that changes whenever a registration is added, changed or removed (compare
    /// it to tell whether [`Store::registrations`] must be read again).
    pub fn registrations_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_value(
            "SELECT version FROM registrations_version WHERE one = 1",
            &[],
        )?)
    }

    /// The registration of `device`, if any.
    pub fn registration(&self, device: &str) -> Result<Option<Registration>, StoreError> {
        let found = self.conn.query_opt(
            "SELECT device, patient, secret_hash, created_ms FROM device_registrations
             WHERE device = ?1",
            &values![device],
        )?;
        found.as_ref().map(from_row).transpose()
    }

    /// Every registration, by device id.
    pub fn registrations(&self) -> Result<Vec<Registration>, StoreError> {
        let rows = self.conn.query(
            "SELECT device, patient, secret_hash, created_ms FROM device_registrations
             ORDER BY device",
            &[],
        )?;
        rows.iter().map(from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(device: &str, patient: &str) -> Registration {
        Registration {
            device: device.into(),
            patient: patient.into(),
            secret_hash: format!("$7$1000$salt${device}"),
            created_ms: 7,
        }
    }

    #[test]
    fn registers_replaces_lists_and_removes() {
        let mut store = Store::open_in_memory().unwrap();
        let mut versions = vec![store.registrations_version().unwrap()];
        store.register_device(&registration("w-1", "p-1")).unwrap();
        versions.push(store.registrations_version().unwrap());
        store.register_device(&registration("w-2", "p-2")).unwrap();
        versions.push(store.registrations_version().unwrap());
        assert_eq!(
            store.registration("w-1").unwrap(),
            Some(registration("w-1", "p-1"))
        );
        let moved = registration("w-1", "p-9");
        store.register_device(&moved).unwrap();
        assert_eq!(store.registration("w-1").unwrap(), Some(moved));
        assert_eq!(
            store.device("w-1").unwrap().unwrap().patient.as_deref(),
            Some("p-9")
        );
        let ids: Vec<_> = store
            .registrations()
            .unwrap()
            .into_iter()
            .map(|r| r.device)
            .collect();
        assert_eq!(ids, ["w-1", "w-2"]);
        versions.push(store.registrations_version().unwrap());
        assert!(store.remove_registration("w-1").unwrap());
        versions.push(store.registrations_version().unwrap());
        assert!(!store.remove_registration("w-1").unwrap());
        assert_eq!(store.registration("w-1").unwrap(), None);
        // Every change moved the version on; removing nothing did not.
        assert_eq!(store.registrations_version().unwrap(), versions[4]);
        assert!(versions.windows(2).all(|w| w[1] > w[0]), "{versions:?}");
    }

    #[test]
    fn registrations_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("medlink-reg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.db");
        let mut store = Store::open(&path, crate::Durability::Normal).unwrap();
        store.register_device(&registration("w-1", "p-1")).unwrap();
        drop(store);
        let store = Store::open(&path, crate::Durability::Normal).unwrap();
        assert_eq!(
            store.registration("w-1").unwrap(),
            Some(registration("w-1", "p-1"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
