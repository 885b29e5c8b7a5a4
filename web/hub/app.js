// The ward dashboard: signs the person in (or sends them to /login), loads the ward, keeps it
// live from the hub's server-sent events, and switches between the ward, a patient's chart and
// the audit trail (#/, #/patient/{id}, #/audit).

import { whoAmI, getJson, signOut, SignedOut } from "./api.js";
import { clockTime, kindOf, value, news2Badge, el } from "./format.js";
import { renderPatients, extendTrend } from "./patients.js";
import { renderAlerts } from "./alerts.js";
import { setIncoming, renderIncoming } from "./incoming.js";
import { loadAudit, setupAudit, auditFollowsNewest } from "./audit.js";
import { renderChart } from "./chart.js";
import { addStrip, streamsOf, renderEcg } from "./ecg.js";

const patients = new Map();
const trends = new Map();
const alerts = new Map();
let trendStart = 0;
/** The hub's clock minus ours, so times shown are the hub's. */
let skewMs = 0;
const hubNow = () => Date.now() + skewMs;
let openPatient = null;
let chartTimer = null;

function report(text, isError = false) {
  const notice = document.getElementById("notice");
  notice.textContent = text;
  notice.className = isError ? "notice error" : "notice";
  notice.hidden = false;
  clearTimeout(report.timer);
  report.timer = setTimeout(() => (notice.hidden = true), isError ? 12000 : 5000);
}

function setLive(text, ok) {
  const live = document.getElementById("live");
  live.textContent = text;
  live.className = ok ? "live ok" : "live down";
}

async function loadWard() {
  const ward = await getJson("/api/dashboard/ward?minutes=30");
  skewMs = ward.now_ms - Date.now();
  trendStart = ward.now_ms - 30 * 60 * 1000;
  patients.clear();
  for (const p of ward.patients) patients.set(p.patient, p);
  trends.clear();
  for (const [id, trend] of Object.entries(ward.trends)) trends.set(id, trend);
  alerts.clear();
  for (const a of ward.alerts) alerts.set(a.id, a);
  setIncoming(ward.incoming);
  redraw();
}

function redraw() {
  renderPatients(patients, trends, hubNow());
  renderAlerts(alerts, hubNow(), report);
  renderIncoming();
  if (openPatient) renderPatientHeader();
}

function onHubEvent(event) {
  if (event.type === "alert") {
    const alert = event.alert;
    if (kindOf(event) === "resolved" || alert.resolved_at_ms) alerts.delete(alert.id);
    else alerts.set(alert.id, alert);
    renderAlerts(alerts, hubNow(), report);
    if (openPatient) renderPatientHeader();
    if (currentView() === "audit" && auditFollowsNewest()) loadAudit().catch(() => {});
  }
}

function onPatient(summary) {
  const known = patients.get(summary.patient);
  patients.set(summary.patient, { ...summary, name: known ? known.name : null });
  extendTrend(trends, summary, trendStart);
  if (summary.patient === openPatient) scheduleChart();
}

function connect() {
  const source = new EventSource("/api/dashboard/events");
  let dirty = false;
  const json = (handler) => (message) => {
    try {
      handler(JSON.parse(message.data));
    } catch (error) {
      console.error(error);
    }
  };
  source.addEventListener("open", () => {
    setLive("Live", true);
    if (dirty) loadWard().catch((e) => report(e.message, true));
    dirty = false;
  });
  source.addEventListener("error", () => {
    setLive("Reconnecting…", false);
    dirty = true;
    // A 401 closes the stream for good: check whether the session ended.
    if (source.readyState === EventSource.CLOSED) whoAmI().then(() => setTimeout(connect, 2000)).catch(() => {});
  });
  source.addEventListener("hub", json(onHubEvent));
  source.addEventListener("patient", json((summary) => {
    onPatient(summary);
    dirty = true;
  }));
  source.addEventListener("incoming", json((list) => setIncoming(list)));
  source.addEventListener("ecg", json((update) => addStrip(update)));
  source.addEventListener("lagged", () => loadWard().catch((e) => report(e.message, true)));
  // Patient events come in bursts: the list is redrawn at most every 250 ms.
  setInterval(() => {
    if (dirty && source.readyState === EventSource.OPEN) {
      dirty = false;
      renderPatients(patients, trends, hubNow());
      if (openPatient) renderPatientHeader();
    }
  }, 250);
}

// ---- views ------------------------------------------------------------------------------

function currentView() {
  const hash = window.location.hash || "#/";
  if (hash.startsWith("#/patient/")) return "patient";
  if (hash === "#/audit") return "audit";
  return "ward";
}

function renderPatientHeader() {
  const p = patients.get(openPatient);
  const title = p && p.name ? `${p.name} (${openPatient})` : openPatient;
  document.getElementById("chart-title").textContent = title;
  const summary = document.getElementById("chart-summary");
  if (!p) {
    summary.replaceChildren("No reading from this patient yet.");
    return;
  }
  const v = p.vitals || {};
  summary.replaceChildren(
    news2Badge(p.news2),
    el("span", {}, ` Resp ${value(v.resp_rate)} · SpO2 ${value(v.spo2, 0, "%")}${v.on_oxygen ? " on O₂" : " on air"} (scale ${p.scale}) · Pulse ${value(v.heart_rate)} · BP ${v.systolic ? `${value(v.systolic)}/${value(v.diastolic)}` : "–"} · Temp ${value(v.temperature, 1, " °C")} · ${v.consciousness || "ACVPU –"}`),
  );
}

async function loadChart() {
  if (!openPatient) return;
  const id = openPatient;
  try {
    const chart = await getJson(`/api/dashboard/patients/${encodeURIComponent(id)}/chart?minutes=60`);
    if (id === openPatient) renderChart(document.getElementById("charts"), chart);
  } catch (error) {
    if (!(error instanceof SignedOut)) document.getElementById("charts").replaceChildren(el("p", { class: "empty" }, error.message));
  }
}

/** New readings of the open patient redraw the chart, at most every 2 s. */
function scheduleChart() {
  if (chartTimer) return;
  chartTimer = setTimeout(() => {
    chartTimer = null;
    loadChart();
  }, 2000);
}

function route() {
  const view = currentView();
  document.getElementById("view-ward").hidden = view !== "ward";
  document.getElementById("view-patient").hidden = view !== "patient";
  document.getElementById("view-audit").hidden = view !== "audit";
  document.getElementById("nav-ward").toggleAttribute("aria-current", view === "ward");
  document.getElementById("nav-audit").toggleAttribute("aria-current", view === "audit");
  openPatient = view === "patient" ? decodeURIComponent(window.location.hash.slice("#/patient/".length)) : null;
  if (view === "patient") {
    renderPatientHeader();
    document.getElementById("charts").replaceChildren(el("p", { class: "empty" }, "Loading the chart…"));
    loadChart();
  }
  if (view === "audit") loadAudit().catch((e) => report(`Audit trail: ${e.message}`, true));
  document.getElementById("main").focus({ preventScroll: true });
}

function tick() {
  document.getElementById("clock").textContent = clockTime(hubNow());
  renderIncoming();
}

async function start() {
  try {
    const me = await whoAmI();
    document.getElementById("who").textContent = `${me.name} · ${me.role.replaceAll("_", " ")}`;
  } catch (error) {
    if (error instanceof SignedOut) return;
    report(error.message, true);
    return;
  }
  document.getElementById("sign-out").addEventListener("click", signOut);
  setupAudit(report);
  window.addEventListener("hashchange", route);
  try {
    await loadWard();
  } catch (error) {
    report(error.message, true);
  }
  route();
  connect();
  setInterval(tick, 1000);
  setInterval(() => openPatient && renderEcg(streamsOf(openPatient)[0], alerts), 100);
  setInterval(() => renderAlerts(alerts, hubNow(), report), 15000);
}

start();
