// Incoming ambulances: each unit's patient, that patient's NEWS2 and the ETA counting down each
// second from the hub's estimate (the hub sends the list again when a unit moves or arrives).

import { el, news2Badge, minutesSeconds } from "./format.js";

/** The list as last received, with when it came (performance.now() ms). */
let units = [];
let receivedAt = 0;

export function setIncoming(list) {
  units = list;
  receivedAt = performance.now();
}

/** Redraws the table with every ETA counted down to this moment. */
export function renderIncoming() {
  const drivenS = (performance.now() - receivedAt) / 1000;
  const rows = units
    .map((u) => ({ ...u, eta: u.eta_s - drivenS }))
    .filter((u) => u.eta > 0)
    .sort((a, b) => a.eta - b.eta)
    .map((u) =>
      el(
        "tr",
        { dataset: { unit: u.unit } },
        el("th", { scope: "row" }, u.unit),
        el("td", {}, el("a", { href: `#/patient/${encodeURIComponent(u.patient)}` }, u.patient)),
        el("td", {}, news2Badge(u.news2)),
        el("td", { class: "eta", "aria-label": `arrives in ${minutesSeconds(u.eta)}` }, minutesSeconds(u.eta)),
      ),
    );
  document.getElementById("incoming-rows").replaceChildren(...rows);
  document.getElementById("incoming-count").textContent = `(${rows.length})`;
  document.getElementById("incoming-empty").hidden = rows.length > 0;
}
