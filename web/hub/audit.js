// The audit view: the hub's hash-chained audit trail (/api/audit), newest page first, with
// who did what to which alert or patient, the outcome, and the start of each row's hash.

import { el, dateTime, capitalised } from "./format.js";
import { getJson } from "./api.js";

const PAGE = 50;
let offset = null; // null: the newest page
let total = 0;

const ACTIONS = {
  alert_acknowledged: "Acknowledged alert",
  alert_snoozed: "Snoozed alert",
  alert_escalated: "Escalated alert",
  spo2_scale_changed: "Changed SpO2 scale",
};

function row(r) {
  // The account is shown when it says more than the name: a token, or another name.
  const plain = !r.account || r.account === r.actor || r.account === `user:${r.actor}`;
  const who = plain ? r.actor : `${r.actor} (${r.account})`;
  return el(
    "tr",
    { dataset: { seq: r.seq, action: r.action }, class: r.outcome.startsWith("success") ? undefined : "refused" },
    el("td", {}, r.seq),
    el("td", {}, dateTime(r.at_ms)),
    el("td", {}, who),
    el("td", {}, ACTIONS[r.action] || capitalised(r.action.replaceAll("_", " "))),
    el("td", {}, `${r.entity_type} ${r.entity}`),
    el("td", {}, r.outcome),
    el("td", { class: "hash", title: r.hash }, r.hash.slice(0, 12)),
  );
}

/** Loads and draws the current page of the trail. */
export async function loadAudit() {
  let start = offset;
  if (start === null) {
    const head = await getJson("/api/audit?offset=0&count=1");
    start = Math.max(0, head.total - PAGE);
  }
  const page = await getJson(`/api/audit?offset=${start}&count=${PAGE}`);
  total = page.total;
  const rows = page.rows.slice().reverse().map(row);
  document.getElementById("audit-rows").replaceChildren(...rows);
  const last = start + page.rows.length;
  document.getElementById("audit-range").textContent =
    total === 0 ? "The trail is empty." : `Rows ${start + 1}–${last} of ${total}, newest first.`;
  document.getElementById("audit-older").disabled = start === 0;
  document.getElementById("audit-newer").disabled = last >= total;
  return start;
}

export function setupAudit(report) {
  const go = (next) => async () => {
    offset = next();
    try {
      offset = await loadAudit();
      if (offset + PAGE >= total) offset = null;
    } catch (error) {
      report(`Audit trail: ${error.message}`, true);
    }
  };
  const current = () => (offset === null ? Math.max(0, total - PAGE) : offset);
  document.getElementById("audit-older").addEventListener("click", go(() => Math.max(0, current() - PAGE)));
  document.getElementById("audit-newer").addEventListener("click", go(() => current() + PAGE));
  document.getElementById("audit-refresh").addEventListener("click", go(() => null));
}

/** While the newest page is shown, new rows appear on it. */
export function auditFollowsNewest() {
  return offset === null;
}
