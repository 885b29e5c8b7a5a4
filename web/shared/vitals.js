// The patient monitor's newest reading as both pages show it (the console page and the bedside
// panel import this one module, served by each page's own server): HR, SpO₂, RR, BP and
// temperature with their units, and the reading's age; struck through as stale after 5 s
// without a newer one. Text only (textContent): nothing from the station is parsed as HTML.

// A reading older than this is shown struck through.
export const STALE_AFTER_MS = 5000;

// The cells for a reading `v` (MonitorReading: hr_bpm, spo2_pct, rr_per_min, sbp_mmhg, dbp_mmhg,
// temp_c) that is `ageMs` old (null: unknown).
export function vitalSigns(v, ageMs) {
  return [
    ['HR', v.hr_bpm.toFixed(0), '/min'],
    ['SpO₂', v.spo2_pct.toFixed(0), '%'],
    ['RR', v.rr_per_min.toFixed(0), '/min'],
    ['BP', `${v.sbp_mmhg.toFixed(0)}/${v.dbp_mmhg.toFixed(0)}`, 'mmHg'],
    ['Temp', v.temp_c.toFixed(1), '°C'],
    ['Age', ageMs === null || ageMs === undefined ? '—' : (ageMs / 1000).toFixed(1), 's'],
  ];
}

// Fills `box` (a <dl class="vitals">) with the reading, or says that none came yet.
export function showVitals(box, v, ageMs) {
  if (!v) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = 'no patient monitor reading yet';
    box.replaceChildren(p);
    box.dataset.stale = 'none';
    return;
  }
  const stale = ageMs !== null && ageMs !== undefined && ageMs > STALE_AFTER_MS;
  box.dataset.stale = String(stale);
  box.replaceChildren(...vitalSigns(v, ageMs).map(([label, value, unit]) => {
    const cell = document.createElement('div');
    cell.className = stale ? 'sign stale' : 'sign';
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = `${value} ${unit}`;
    cell.append(dt, dd);
    return cell;
  }));
}
