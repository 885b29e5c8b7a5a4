//! The checks a parsed policy file must pass before a station uses it: what serde cannot see
//! key by key (a surgeon listed twice, a device the site does not host, a licence list left
//! empty, a required consent with no record). Every problem is reported, each naming its key.

use super::file::{Device, PolicyFile, Surgeon};
use std::collections::HashSet;

/// Every problem in `file`, each as "key: what is wrong"; empty when the file is usable.
pub(super) fn problems(file: &PolicyFile) -> Vec<String> {
    let mut problems = Vec::new();
    let site = &file.site;
    if site.name.trim().is_empty() {
        problems.push("site.name: empty; name the hospital or clinic".to_string());
    }
    if site.devices.is_empty() {
        problems.push("site.devices: empty; list what this station hosts (arm, hifu)".to_string());
    }
    if let Some(device) = first_repeat(&site.devices) {
        problems.push(format!("site.devices: {device} is listed twice"));
    }
    match &site.recognised_licences {
        Some(list) if list.is_empty() => problems.push(
            "site.recognised_licences: empty, so no surgeon could ever operate; leave the key \
             out to recognise the site's own jurisdiction only"
                .to_string(),
        ),
        Some(list) => {
            if let Some(code) = first_repeat(list) {
                problems.push(format!("site.recognised_licences: {code} is listed twice"));
            }
        }
        None => {}
    }
    consent_problems(file, &mut problems);
    let mut names = HashSet::new();
    let mut serials = HashSet::new();
    for (index, surgeon) in file.surgeons.iter().enumerate() {
        let key = format!("surgeon[{}] ({:?})", index + 1, surgeon.name);
        if !names.insert(surgeon.name.as_str()) {
            problems.push(format!(
                "{key}: listed twice; one [[surgeon]] per certificate name"
            ));
        }
        if let Some(serial) = &surgeon.serial
            && !serials.insert(serial.as_str())
        {
            problems.push(format!(
                "{key}.serial: {serial} is pinned to another surgeon too"
            ));
        }
        surgeon_problems(&key, surgeon, &site.devices, &mut problems);
    }
    problems
}

fn consent_problems(file: &PolicyFile, problems: &mut Vec<String>) {
    let consent = &file.consent;
    match consent.record.as_deref() {
        Some(record) if record.trim().is_empty() => {
            problems.push("consent.record: empty; give the record's path".to_string())
        }
        Some(_) => {}
        None if consent.required => problems.push(
            "consent.record: the site requires a recorded consent (consent.required, true unless \
             set false) but names no record; set consent.record to its path, relative to this file"
                .to_string(),
        ),
        None if consent.sha256.is_some() => {
            problems.push("consent.sha256: set, but consent.record is not".to_string())
        }
        None => {}
    }
}

fn surgeon_problems(key: &str, surgeon: &Surgeon, hosted: &[Device], problems: &mut Vec<String>) {
    if surgeon.name.trim().is_empty() {
        problems.push(format!(
            "{key}.name: empty; give the certificate's common name"
        ));
    }
    if surgeon.devices.is_empty() {
        problems.push(format!(
            "{key}.devices: empty; list what they may operate here"
        ));
    }
    if let Some(device) = first_repeat(&surgeon.devices) {
        problems.push(format!("{key}.devices: {device} is listed twice"));
    }
    for device in &surgeon.devices {
        if !hosted.contains(device) {
            problems.push(format!(
                "{key}.devices: {device} is not hosted by this site (site.devices = [{}])",
                join(hosted)
            ));
        }
    }
    if surgeon.licences.is_empty() {
        problems.push(format!(
            "{key}: no [[surgeon.licence]]; a surgeon needs at least one licence"
        ));
    }
    let mut seen = HashSet::new();
    for (index, licence) in surgeon.licences.iter().enumerate() {
        let key = format!("{key}.licence[{}]", index + 1);
        if licence.number.trim().is_empty() {
            problems.push(format!("{key}.number: empty"));
        }
        if !seen.insert((licence.jurisdiction.as_str(), licence.number.as_str())) {
            problems.push(format!(
                "{key}: {} {} is listed twice",
                licence.jurisdiction, licence.number
            ));
        }
    }
}

fn first_repeat<T: PartialEq>(items: &[T]) -> Option<&T> {
    items
        .iter()
        .enumerate()
        .find(|(i, item)| items[..*i].contains(item))
        .map(|(_, item)| item)
}

/// `a, b, c`.
pub(super) fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
