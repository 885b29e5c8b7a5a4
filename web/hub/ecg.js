// The live ECG strip of the open patient: the last seconds of signal on ECG paper (0.2 s and
// 0.5 mV squares), a marker over each beat the hub detected, the heart rate from the last beats,
// and the stream's rhythm flags (active ECG alerts) in words.

import { el, ruleName, severity, ECG_RULES, drawingContext, capitalised } from "./format.js";

const KEEP_S = 10;
const SHOW_S = 6;
/** Seconds without new signal after which the strip says so. */
const STALE_S = 3;
/** Every ECG stream heard of: stream -> {patient, run, fs, first, samples, beats}. */
const strips = new Map();

/** Takes one `ecg` event of the dashboard stream. */
export function addStrip(update) {
  let strip = strips.get(update.stream);
  if (!strip || strip.run !== update.run) {
    strip = { patient: update.patient, run: update.run, fs: update.sample_rate_hz, first: update.first_index, samples: [], beats: [] };
    strips.set(update.stream, strip);
  }
  const end = strip.first + strip.samples.length;
  if (update.first_index > end) {
    strip.first = update.first_index; // a gap: start over from here
    strip.samples = [];
  }
  const skip = Math.max(0, strip.first + strip.samples.length - update.first_index);
  for (const v of update.samples_mv.slice(skip)) strip.samples.push(v);
  strip.beats.push(...update.beats);
  strip.receivedAt = performance.now();
  const keep = Math.round(KEEP_S * strip.fs);
  if (strip.samples.length > keep) {
    const drop = strip.samples.length - keep;
    strip.samples.splice(0, drop);
    strip.first += drop;
  }
  strip.beats = strip.beats.filter((b) => b >= strip.first);
}

/** The ECG streams of `patient`. */
export function streamsOf(patient) {
  return [...strips.entries()].filter(([, s]) => s.patient === patient).map(([stream]) => stream);
}

/** "ECG holter-1 lead II: check electrodes (lead off)" -> "Check electrodes (lead off)". */
function flagText(alert) {
  const what = alert.message.includes(": ") ? alert.message.slice(alert.message.indexOf(": ") + 2) : ruleName(alert.rule);
  return capitalised(what);
}

function heartRate(strip) {
  const beats = strip.beats.slice(-6);
  if (beats.length < 2) return null;
  const rr = (beats[beats.length - 1] - beats[0]) / (beats.length - 1) / strip.fs;
  return rr > 0 ? 60 / rr : null;
}

/** Draws the strip of `stream` and its rhythm flags from the active `alerts`. */
export function renderEcg(stream, alerts) {
  const strip = strips.get(stream);
  const panel = document.getElementById("ecg-panel");
  panel.hidden = !strip;
  if (!strip) return;
  const flags = [...alerts.values()].filter((a) => a.subject === stream && ECG_RULES.includes(a.rule));
  const rate = heartRate(strip);
  const silentS = (performance.now() - strip.receivedAt) / 1000;
  const state = silentS > STALE_S ? "no signal" : `${strip.beats.length} beats in ${KEEP_S} s`;
  document.getElementById("ecg-title").textContent =
    `ECG ${stream.replace(".ecg.", " lead ")} · ${rate ? `${Math.round(rate)} /min` : "rate –"} · ${state}`;
  document.getElementById("ecg-flags").replaceChildren(
    ...(flags.length === 0
      ? [el("span", { class: "flag ok" }, "No rhythm flags")]
      : flags.map((a) => el("span", { class: `flag ${severity(a.severity).css}` }, flagText(a)))),
  );
  const canvas = document.getElementById("ecg-canvas");
  const { g, width, height } = drawingContext(canvas);
  const shown = Math.round(SHOW_S * strip.fs);
  const end = strip.first + strip.samples.length;
  const start = Math.max(strip.first, end - shown);
  const x = (i) => ((i - (end - shown)) / shown) * width;
  const mvTop = 2.0;
  const mvBottom = -1.5;
  const y = (mv) => ((mvTop - mv) / (mvTop - mvBottom)) * height;
  // ECG paper: thin lines every 0.04 s and 0.1 mV, thick every 0.2 s and 0.5 mV.
  g.fillStyle = "#fff7f7";
  g.fillRect(0, 0, width, height);
  for (const [dt, dmv, colour] of [[0.04, 0.1, "#f6d5d5"], [0.2, 0.5, "#e8a0a0"]]) {
    g.strokeStyle = colour;
    g.lineWidth = 1;
    g.beginPath();
    for (let t = 0; t <= SHOW_S; t += dt) {
      const px = (t / SHOW_S) * width;
      g.moveTo(px, 0);
      g.lineTo(px, height);
    }
    for (let mv = mvBottom; mv <= mvTop + 1e-9; mv += dmv) {
      g.moveTo(0, y(mv));
      g.lineTo(width, y(mv));
    }
    g.stroke();
  }
  g.strokeStyle = "#111";
  g.lineWidth = 1.6;
  g.beginPath();
  let pen = false;
  for (let i = start; i < end; i++) {
    const v = strip.samples[i - strip.first];
    if (v === null || v === undefined) {
      pen = false; // a missing sample (lead off) leaves a gap
      continue;
    }
    if (pen) g.lineTo(x(i), y(v));
    else g.moveTo(x(i), y(v));
    pen = true;
  }
  g.stroke();
  g.fillStyle = "#0b5cad";
  for (const b of strip.beats.filter((b) => b >= start)) {
    g.beginPath();
    g.moveTo(x(b) - 6, 4);
    g.lineTo(x(b) + 6, 4);
    g.lineTo(x(b), 14);
    g.fill();
  }
  // A stream that stopped is not drawn as if it were live.
  if (silentS > STALE_S) {
    g.fillStyle = "rgba(255, 255, 255, 0.7)";
    g.fillRect(0, 0, width, height);
    g.fillStyle = "#b3001b";
    g.font = "bold 22px system-ui, sans-serif";
    g.textAlign = "center";
    g.fillText(`No ECG signal for ${Math.round(silentS)} s`, width / 2, height / 2);
  }
  const described = silentS > STALE_S
    ? `ECG strip: no signal for ${Math.round(silentS)} s`
    : `Live ECG strip, last ${SHOW_S} s, ${rate ? `heart rate ${Math.round(rate)} per minute` : "no rate yet"}, ` +
      (flags.length ? flags.map((a) => ruleName(a.rule)).join(", ") : "no rhythm flags");
  canvas.setAttribute("aria-label", described);
}
