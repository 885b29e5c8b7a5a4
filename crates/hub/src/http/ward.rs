//! What any hub of a ward serves, whichever hub owns the patients (docs/hub.md, "Several
//! hubs"): the ward's alerts from the shared journal, its patients scored from the shared
//! store's readings, and actions on alerts another hub owns, queued in the journal for the owner
//! and answered once it has applied them. A hub alone answers from its own live state.

use super::{HttpError, lock};
use crate::auth::Principal;
use crate::{Shared, now_ms};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;
use store::{ActionKind, ActionState, QueuedAction};
use vitals::SpO2Scale;
use vitals::alerts::Alert;
use vitals::fhir::Recorded;
use vitals::tracker::{PatientSummary, PatientTracker};

/// How long an action queued for another hub is waited for before the answer is 202 (it stays
/// queued and is applied when a hub owns the patient again: after a takeover, within 10 s).
const QUEUED_WAIT: Duration = Duration::from_secs(8);

/// How often the queued action's state is read while waiting.
const QUEUED_POLL: Duration = Duration::from_millis(20);

/// Resolved alerts listed at most.
const RESOLVED_LISTED: usize = 1000;

fn internal(e: store::StoreError) -> HttpError {
    HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e)
}

/// The ward's alerts in `state` ("active", "resolved" or "all").
pub fn alerts(shared: &Shared, state: &str) -> Result<Vec<Alert>, HttpError> {
    let (active, resolved) = match state {
        "active" => (true, false),
        "resolved" => (false, true),
        "all" => (true, true),
        other => {
            let message = format!("state must be active, resolved or all, not {other:?}");
            return Err(HttpError::api(StatusCode::BAD_REQUEST, message));
        }
    };
    let mut list = Vec::new();
    if let Some(journal) = &shared.ward_journal {
        let journal = lock(journal, false)?;
        if active {
            list.extend(journal.unresolved().map_err(internal)?);
        }
        if resolved {
            list.extend(
                journal
                    .recently_resolved(RESOLVED_LISTED)
                    .map_err(internal)?,
            );
        }
        return Ok(list);
    }
    let care = lock(&shared.care, false)?;
    if active {
        list.extend(care.engine.active().into_iter().cloned());
    }
    if resolved {
        list.extend(care.engine.resolved().cloned());
    }
    Ok(list)
}

/// Every patient with latest vitals and NEWS2: alone, the hub's tracker; among several hubs,
/// scored here from `readings` (the shared store's, oldest first, covering at least the last
/// [`vitals::tracker::DEFAULT_FRESH_FOR_MS`]) with the patients' SpO2 scales.
pub fn patients(
    shared: &Shared,
    readings: &[Recorded],
    scale2: &[&str],
) -> Result<Vec<PatientSummary>, HttpError> {
    if shared.cluster.is_none() {
        return Ok(lock(&shared.care, false)?.patients());
    }
    let mut tracker = PatientTracker::default();
    for patient in scale2 {
        tracker.set_scale(patient, SpO2Scale::Scale2);
    }
    for r in readings {
        tracker.observe(&r.measurement);
    }
    Ok(tracker.summaries())
}

/// Among several hubs: the patient of alert `id` when another hub owns it (the alert is not
/// resolved, this hub does not hold its patient's shard), so an action on it is queued.
pub fn owned_elsewhere(shared: &Shared, id: u64) -> Result<Option<String>, HttpError> {
    let Some(journal) = &shared.ward_journal else {
        return Ok(None);
    };
    if lock(&shared.care, false)?.engine.get(id).is_some() {
        return Ok(None);
    }
    let Some(alert) = lock(journal, false)?.alert(id).map_err(internal)? else {
        return Ok(None);
    };
    let patient = alert.patient.unwrap_or(alert.subject);
    let elsewhere = alert.resolved_at_ms.is_none() && !shared.owns(&patient, now_ms());
    Ok(elsewhere.then_some(patient))
}

/// Queues `kind` on alert `id` (of `patient`, owned by another hub) as `caller`, audited, and
/// answers as the owner settles it: 200 with the alert, 404 or 400 with the owner's reason, or 202 when no owner settled it within [`QUEUED_WAIT`] (it stays queued).
pub async fn queue_for_owner(
    shared: &Shared,
    (id, patient): (u64, String),
    caller: &Principal,
    kind: ActionKind,
) -> Result<Response, HttpError> {
    let action = crate::care::audit_name(kind);
    let Some(journal) = &shared.ward_journal else {
        return Err(HttpError::api(
            StatusCode::NOT_FOUND,
            format!("no alert {id}"),
        ));
    };
    let owner = shared
        .cluster
        .as_ref()
        .and_then(|c| c.owner_of(&patient))
        .map_or_else(|| "no hub yet (takeover)".to_string(), |(hub, _)| hub);
    let asked_at_hub = shared
        .cluster
        .as_ref()
        .map(|c| c.hub_id.clone())
        .unwrap_or_default();
    let queued = QueuedAction {
        id: 0,
        alert_id: id,
        patient: patient.clone(),
        kind,
        actor: caller.name.clone(),
        account: Some(caller.account()),
        asked_at_hub,
        asked_at_ms: now_ms(),
    };
    let outcome = format!("queued for the owner of patient {patient}: hub {owner}");
    let audit = caller.audit(now_ms(), action, ("alert", &id.to_string()), outcome);
    let queued_id = lock(journal, false)?
        .queue_action(&queued, audit)
        .map_err(internal)?;
    let deadline = tokio::time::Instant::now() + QUEUED_WAIT;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(QUEUED_POLL).await;
        let state = lock(journal, false)?
            .action_state(queued_id)
            .map_err(internal)?;
        match state {
            Some(ActionState::Pending) | None => continue,
            Some(ActionState::Applied { .. }) => {
                let alert = lock(journal, false)?.alert(id).map_err(internal)?;
                return Ok(Json(alert).into_response());
            }
            Some(ActionState::Refused {
                hub,
                reason,
                not_found,
            }) => {
                let status = match not_found {
                    true => StatusCode::NOT_FOUND,
                    false => StatusCode::BAD_REQUEST,
                };
                let message = format!("refused by hub {hub}, which handles alert {id}: {reason}");
                return Err(HttpError::api(status, message));
            }
        }
    }
    let body = json!({
        "queued": queued_id,
        "alert": id,
        "message": format!(
            "alert {id} is handled by hub {owner}: the action is queued and is applied as soon as a hub holds patient {patient}"
        ),
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
