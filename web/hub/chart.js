// A patient's chart: each vital sign over time on a canvas of its own, with the NEWS2 bands of
// that parameter shaded behind it (RCP 2017 chart: the points a value scores), and the NEWS2
// total with its response bands.

import { el, clockTime, drawingContext } from "./format.js";

/** A band: values up to `upTo` (inclusive, between the chart's whole numbers) score `score`. */
const SPO2_SCALE_1 = [[91.5, 3], [93.5, 2], [95.5, 1], [Infinity, 0]];
// Scale 2 on air; on oxygen 93-94 scores 1, 95-96 scores 2, 97 and above 3 (caption says so).
const SPO2_SCALE_2 = [[83.5, 3], [85.5, 2], [87.5, 1], [Infinity, 0]];

const PARAMETERS = [
  { key: "news2", label: "NEWS2 total", unit: "", min: 0, max: 20, digits: 0,
    bands: [[4.5, 0], [6.5, 2], [Infinity, 3]], bandNames: { 0: "low", 2: "med", 3: "high" },
    get: (p) => p.news2.aggregate },
  { key: "resp_rate", label: "Respiration rate", unit: "/min", min: 0, max: 40, digits: 0,
    bands: [[8.5, 3], [11.5, 1], [20.5, 0], [24.5, 2], [Infinity, 3]] },
  { key: "spo2", label: "SpO2", unit: "%", min: 75, max: 100, digits: 0, bands: SPO2_SCALE_1 },
  { key: "systolic", label: "Systolic blood pressure", unit: " mmHg", min: 60, max: 240, digits: 0,
    bands: [[90.5, 3], [100.5, 2], [110.5, 1], [219.5, 0], [Infinity, 3]] },
  { key: "heart_rate", label: "Pulse", unit: "/min", min: 30, max: 170, digits: 0,
    bands: [[40.5, 3], [50.5, 1], [90.5, 0], [110.5, 1], [130.5, 2], [Infinity, 3]] },
  { key: "temperature", label: "Temperature", unit: " °C", min: 34, max: 41, digits: 1,
    bands: [[35.05, 3], [36.05, 1], [38.05, 0], [39.05, 1], [Infinity, 2]] },
];

const BAND_COLOURS = { 0: "#ffffff", 1: "#fff3b0", 2: "#ffd199", 3: "#ffb3b3" };
const INK = "#1b1f24";
const GRID = "#8a939c";

function scoreOf(bands, v) {
  for (const [upTo, score] of bands) if (v <= upTo) return score;
  return 0;
}

function draw(canvas, parameter, points, fromMs, nowMs) {
  const { g, width, height } = drawingContext(canvas);
  const left = 56;
  const right = width - 34; // the band scores are written right of the plot
  const top = 8;
  const bottom = height - 22;
  const { min, max, bands } = parameter;
  const x = (t) => left + ((t - fromMs) / (nowMs - fromMs)) * (right - left);
  const y = (v) => bottom - ((Math.min(Math.max(v, min), max) - min) / (max - min)) * (bottom - top);
  // Bands, with the score written at the right edge of each.
  let lower = min;
  g.font = "12px system-ui, sans-serif";
  for (const [upTo, score] of bands) {
    const high = Math.min(upTo, max);
    if (high > lower) {
      g.fillStyle = BAND_COLOURS[score];
      g.fillRect(left, y(high), right - left, y(lower) - y(high));
      g.fillStyle = "#4a4f55";
      g.textAlign = "left";
      const name = parameter.bandNames ? parameter.bandNames[score] : String(score);
      if (y(lower) - y(high) > 11) g.fillText(name, right + 6, (y(lower) + y(high)) / 2 + 4);
    }
    lower = Math.max(lower, high);
  }
  // Axes: value labels at the band edges, a time label every 10 minutes.
  g.strokeStyle = GRID;
  g.lineWidth = 1;
  g.strokeRect(left, top, right - left, bottom - top);
  g.fillStyle = INK;
  g.textAlign = "right";
  // Labels from the bottom up, each at least 12 px above the one before.
  const edges = [min, ...bands.map(([upTo]) => upTo).filter((v) => v > min && v < max), max];
  let lastLabelY = Infinity;
  for (const v of edges) {
    if (lastLabelY - y(v) < 12 && v !== max) continue;
    const label = Number.isInteger(v) ? String(v) : (v + (parameter.digits ? 0.05 : 0.5)).toFixed(parameter.digits);
    g.fillText(label, left - 6, y(v) + 4);
    lastLabelY = y(v);
  }
  g.textAlign = "center";
  const step = 10 * 60 * 1000;
  for (let t = Math.ceil(fromMs / step) * step; t <= nowMs; t += step) {
    g.fillText(clockTime(t).slice(0, 5), x(t), height - 6);
  }
  // The readings.
  const get = parameter.get || ((p) => p.vitals[parameter.key]);
  const series = points.map((p) => [p.time_ms, get(p)]).filter(([, v]) => v !== null && v !== undefined);
  g.strokeStyle = INK;
  g.lineWidth = 2;
  g.beginPath();
  series.forEach(([t, v], i) => (i === 0 ? g.moveTo(x(t), y(v)) : g.lineTo(x(t), y(v))));
  g.stroke();
  g.fillStyle = INK;
  for (const [t, v] of series) {
    g.beginPath();
    g.arc(x(t), y(v), 2.5, 0, 2 * Math.PI);
    g.fill();
  }
  return series;
}

/** Draws every parameter of `chart` (from /api/dashboard/patients/{id}/chart) into `holder`. */
export function renderChart(holder, chart) {
  const scale2 = chart.scale === 2;
  const panels = PARAMETERS.map((base) => {
    const parameter = base.key === "spo2" ? { ...base, bands: scale2 ? SPO2_SCALE_2 : SPO2_SCALE_1 } : base;
    const canvas = el("canvas", { class: "vital-chart", role: "img" });
    const heading = el("h4", {}, parameter.label);
    const note = base.key === "spo2" && scale2
      ? el("small", {}, " scale 2: bands on air; on oxygen 93-94 % scores 1, 95-96 % 2, 97 % and above 3")
      : null;
    const latest = el("span", { class: "latest" });
    const panel = el("figure", { class: "vital", dataset: { parameter: base.key } }, el("figcaption", {}, heading, note, latest), canvas);
    return { panel, canvas, parameter, latest };
  });
  holder.replaceChildren(...panels.map((p) => p.panel));
  for (const { canvas, parameter, latest } of panels) {
    const series = draw(canvas, parameter, chart.points, chart.from_ms, chart.now_ms);
    const last = series[series.length - 1];
    if (last) {
      const text = `${last[1].toFixed(parameter.digits)}${parameter.unit} at ${clockTime(last[0])}`;
      const points = parameter.key === "news2" ? "" : `, scores ${scoreOf(parameter.bands, last[1])}`;
      latest.textContent = ` · latest ${text}${points}`;
      canvas.setAttribute("aria-label", `${parameter.label} over the last hour, ${series.length} readings, latest ${text}${points}`);
    } else {
      latest.textContent = " · no reading in this hour";
      canvas.setAttribute("aria-label", `${parameter.label}: no reading in this hour`);
    }
  }
}
