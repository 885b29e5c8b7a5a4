// Small shared helpers: building DOM nodes, and the words and colours of NEWS2 bands and alert
// severities (always a word beside the colour, never the colour alone).

/** Creates an element: el("td", {class: "x"}, "text", child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const svgNs = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}) {
  const node = document.createElementNS(svgNs, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

const BANDS = {
  low: { label: "Low", css: "band-low" },
  low_medium: { label: "Low-medium · red score", css: "band-low-medium" },
  medium: { label: "Medium", css: "band-medium" },
  high: { label: "High", css: "band-high" },
};

/** The label and CSS class of a NEWS2 result, or of none. */
export function band(news2) {
  if (!news2) return { label: "No score", css: "band-none" };
  return BANDS[news2.band] || { label: news2.band, css: "band-none" };
}

/** A NEWS2 badge: the aggregate, the band in words, "≥" when parameters are missing. */
export function news2Badge(news2) {
  const b = band(news2);
  if (!news2) return el("span", { class: `badge ${b.css}` }, "–", el("small", {}, b.label));
  const bound = news2.complete ? "" : "≥";
  const title = news2.complete ? "all seven parameters" : "lower bound: some parameters missing";
  return el("span", { class: `badge ${b.css}`, title }, `${bound}${news2.aggregate}`, el("small", {}, b.label));
}

const SEVERITIES = { 3: "High", 2: "Medium", 1: "Attention" };

export function severity(level) {
  return { label: SEVERITIES[level] || `Level ${level}`, css: `sev-${Math.min(3, Math.max(1, level))}` };
}

const RULES = {
  news2: "NEWS2",
  sustained_low_spo2: "Low SpO2",
  device_offline: "Device offline",
  no_data: "No data",
  bradycardia: "Bradycardia",
  tachycardia: "Tachycardia",
  pause: "Pause",
  irregular_rhythm: "Irregular rhythm",
  check_electrodes: "Check electrodes",
};

export function ruleName(rule) {
  return RULES[rule] || rule;
}

export const ECG_RULES = ["pause", "bradycardia", "tachycardia", "irregular_rhythm", "check_electrodes"];

/** The text with its first letter in upper case. */
export function capitalised(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const pad = (n) => String(n).padStart(2, "0");

export function clockTime(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function dateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clockTime(ms)}`;
}

/** "12 s ago", "4 min ago", "2 h ago". */
export function ago(ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** An ETA as m:ss. */
export function minutesSeconds(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${pad(s % 60)}`;
}

/** A value with its unit, or a dash. */
export function value(v, digits = 0, unit = "") {
  if (v === null || v === undefined) return "–";
  return `${Number(v).toFixed(digits)}${unit}`;
}

/** The event kind of an alert event, whichever way the hub spells it. */
export function kindOf(event) {
  const kind = event.kind;
  return typeof kind === "string" ? kind : kind && kind.type;
}

/** A canvas's 2D context sized to its CSS box at the screen's pixel ratio (sharp lines). */
export function drawingContext(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  return { g, width, height };
}
