// The ward list: every patient, highest NEWS2 first, with a NEWS2 sparkline of the last
// 30 minutes (one value a minute, bands shaded) and the latest value of each vital sign.

import { el, svg, news2Badge, value, ago } from "./format.js";

const TREND_MS = 30 * 60 * 1000;
const SPARK = { width: 120, height: 36, max: 15 };

/** The NEWS2 response bands as a sparkline background: 0-4, 5-6, 7 and above. */
const SPARK_BANDS = [
  { from: 0, to: 5, css: "spark-low" },
  { from: 5, to: 7, css: "spark-medium" },
  { from: 7, to: SPARK.max, css: "spark-high" },
];

/** An SVG sparkline of `trend` ([[ms, aggregate], ...]) ending at `now`. */
export function sparkline(trend, now) {
  const { width, height, max } = SPARK;
  const x = (t) => ((t - (now - TREND_MS)) / TREND_MS) * width;
  const y = (v) => height - (Math.min(v, max) / max) * height;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "spark", "aria-hidden": "true" });
  for (const b of SPARK_BANDS) {
    root.append(svg("rect", { x: 0, y: y(b.to), width, height: y(b.from) - y(b.to), class: b.css }));
  }
  const points = trend.filter(([t]) => t >= now - TREND_MS);
  if (points.length > 0) {
    const path = points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points: path, class: "spark-line" }));
    const [t, v] = points[points.length - 1];
    root.append(svg("circle", { cx: x(t), cy: y(v), r: 3, class: "spark-dot" }));
  }
  return root;
}

/** A words-only summary of the trend, for screen readers. */
function trendWords(trend) {
  if (trend.length === 0) return "no trend yet";
  const first = trend[0][1];
  const last = trend[trend.length - 1][1];
  const way = last > first ? "rising" : last < first ? "falling" : "steady";
  return `NEWS2 ${way}, ${first} to ${last}`;
}

function order(a, b) {
  const score = (p) => (p.news2 ? p.news2.aggregate : -1);
  return score(b) - score(a) || (b.news2?.red_score ? 1 : 0) - (a.news2?.red_score ? 1 : 0) || a.patient.localeCompare(b.patient);
}

/** Redraws the ward list from `patients` (Map id -> summary with name) and `trends`. */
export function renderPatients(patients, trends, now) {
  const rows = [...patients.values()].sort(order).map((p) => {
    const v = p.vitals || {};
    const trend = trends.get(p.patient) || [];
    const who = p.name ? `${p.name} (${p.patient})` : p.patient;
    const o2 = v.on_oxygen ? " on O₂" : "";
    return el(
      "tr",
      { dataset: { patient: p.patient }, class: p.news2 && p.news2.band !== "low" ? "attention" : undefined },
      el("td", {}, news2Badge(p.news2)),
      el("th", { scope: "row" }, el("a", { href: `#/patient/${encodeURIComponent(p.patient)}`, "aria-label": `Open the chart of ${who}` }, who)),
      el("td", {}, sparkline(trend, now), el("span", { class: "sr-only" }, trendWords(trend))),
      el("td", {}, value(v.resp_rate)),
      el("td", {}, value(v.spo2, 0, "%"), o2, p.scale === 2 ? el("small", {}, " scale 2") : null),
      el("td", {}, value(v.heart_rate)),
      el("td", {}, v.systolic ? `${value(v.systolic)}/${value(v.diastolic)}` : "–"),
      el("td", {}, value(v.temperature, 1)),
      el("td", {}, v.consciousness || "–"),
      el("td", { class: "muted" }, p.last_measurement_ms ? ago(p.last_measurement_ms, now) : "–"),
    );
  });
  document.getElementById("patient-rows").replaceChildren(...rows);
  document.getElementById("patient-count").textContent = `(${rows.length})`;
  document.getElementById("patients-empty").hidden = rows.length > 0;
}

/** Adds a patient's latest score to its trend (the bucket of the minute it falls in). */
export function extendTrend(trends, summary, trendStart) {
  if (!summary.news2 || !summary.last_measurement_ms) return;
  const t = summary.last_measurement_ms;
  const bucket = trendStart + Math.floor((t - trendStart) / 60000) * 60000;
  const trend = trends.get(summary.patient) || [];
  const last = trend[trend.length - 1];
  if (last && last[0] === bucket) last[1] = summary.news2.aggregate;
  else if (!last || last[0] < bucket) trend.push([bucket, summary.news2.aggregate]);
  trends.set(summary.patient, trend);
}
