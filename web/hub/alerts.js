// The alert queue: active alerts, most severe first, each with what happened to it (who was
// paged, acknowledged, snoozed) and the actions a nurse takes on it: acknowledge, snooze,
// escalate. Actions are made as the signed-in person (the hub takes the actor from the session).

import { el, severity, ruleName, clockTime, ago } from "./format.js";
import { send } from "./api.js";

/** When each alert's row first appeared on this page (Date.now() ms), by id. */
export const appeared = new Map();

const SNOOZE_MINUTES = [5, 15, 30, 60];

function order(a, b) {
  return b.severity - a.severity || a.raised_at_ms - b.raised_at_ms || a.id - b.id;
}

function state(alert, now) {
  const parts = [`Paged ${alert.notified_role.replaceAll("_", " ")} (level ${alert.escalation_level + 1})`];
  if (alert.acknowledged) parts.push(`acknowledged by ${alert.acknowledged.by} at ${clockTime(alert.acknowledged.at_ms)}`);
  if (alert.snoozed && alert.snoozed.until_ms > now) parts.push(`snoozed by ${alert.snoozed.by} until ${clockTime(alert.snoozed.until_ms)}`);
  return parts.join(" · ");
}

function actions(alert, report) {
  const name = `alert ${alert.id} (${ruleName(alert.rule)}${alert.patient ? `, ${alert.patient}` : ""})`;
  const run = (what, request) => async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const answer = await request();
      // 202 among several hubs: the hub that handles the alert has not applied it yet.
      if (answer && answer.queued !== undefined) report(`${what} ${name}: queued. ${answer.message}`);
      else report(`${what} ${name}.`);
    } catch (error) {
      report(`Could not ${what.toLowerCase()} ${name}: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
  };
  const minutes = el(
    "select",
    { "aria-label": `Snooze ${name} for`, class: "snooze-minutes" },
    SNOOZE_MINUTES.map((m) => el("option", { value: m }, `${m} min`)),
  );
  return el(
    "div",
    { class: "actions" },
    el("button", {
      type: "button",
      class: "ack",
      disabled: alert.acknowledged ? true : undefined,
      "aria-label": `Acknowledge ${name}`,
      onclick: run("Acknowledged", () => send("POST", `/api/alerts/${alert.id}/ack`, {})),
    }, alert.acknowledged ? "Acknowledged" : "Acknowledge"),
    minutes,
    el("button", {
      type: "button",
      class: "snooze",
      "aria-label": `Snooze ${name}`,
      onclick: run("Snoozed", () => send("POST", `/api/alerts/${alert.id}/snooze`, { minutes: Number(minutes.value) })),
    }, "Snooze"),
    el("button", {
      type: "button",
      class: "escalate",
      "aria-label": `Escalate ${name} to the next role`,
      onclick: run("Escalated", () => send("POST", `/api/alerts/${alert.id}/escalate`, {})),
    }, "Escalate"),
  );
}

/** Redraws the queue from `alerts` (Map id -> alert); `report(text, isError)` tells the user. */
export function renderAlerts(alerts, now, report) {
  const list = [...alerts.values()].sort(order);
  const items = list.map((alert) => {
    if (!appeared.has(alert.id)) appeared.set(alert.id, Date.now());
    const sev = severity(alert.severity);
    const patient = alert.patient
      ? el("a", { href: `#/patient/${encodeURIComponent(alert.patient)}` }, alert.patient)
      : el("span", {}, alert.subject);
    return el(
      "li",
      {
        class: `alert ${sev.css}${alert.acknowledged ? " acked" : ""}`,
        dataset: { alertId: alert.id, patient: alert.patient || "", appearedMs: appeared.get(alert.id) },
      },
      el("div", { class: "alert-head" },
        el("span", { class: `sev ${sev.css}` }, sev.label),
        el("strong", {}, ruleName(alert.rule)),
        patient,
        el("span", { class: "muted" }, `#${alert.id} · raised ${clockTime(alert.raised_at_ms)} (${ago(alert.raised_at_ms, now)})`),
      ),
      el("p", { class: "message" }, alert.message),
      el("p", { class: "alert-state" }, state(alert, now)),
      actions(alert, report),
    );
  });
  // Keep keyboard focus on the control it was on across a redraw.
  const focused = document.activeElement;
  const focusKey = focused && focused.closest("li.alert") ? [focused.closest("li.alert").dataset.alertId, focused.className] : null;
  document.getElementById("alert-list").replaceChildren(...items);
  if (focusKey) {
    const again = document.querySelector(`li.alert[data-alert-id="${focusKey[0]}"] .${focusKey[1].split(" ")[0]}`);
    if (again) again.focus();
  }
  document.getElementById("alert-count").textContent = `(${items.length})`;
  document.getElementById("alerts-empty").hidden = items.length > 0;
}
