// The bedside panel: polls the station's state four times a second and sends the bedside team's
// buttons. The station decides whether this browser may act (its own loopback screen, or a
// bedside certificate); otherwise the buttons are disabled and the panel only watches. The
// patient monitor's newest reading is drawn by the module the console page uses too.

import { showVitals } from './vitals.js';

const $ = (id) => document.getElementById(id);
const state = { snapshot: null, polls: 0 };
window.medlinkBedside = state;

async function poll() {
  try {
    const response = await fetch('/api/state', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const s = await response.json();
    state.snapshot = s;
    state.polls += 1;
    show(s);
  } catch (e) {
    $('state').textContent = 'NO STATION';
    $('state').className = 'state state-none';
  }
}

function show(s) {
  $('state').textContent = s.state ?? '—';
  $('state').className = `state state-${s.state ?? 'none'}`;
  $('control').textContent = s.control || '—';
  $('session').textContent = s.session_id ? `#${s.session_id}` : '—';
  $('who').textContent = s.who;
  $('latched').hidden = !s.estop_latched;
  $('offer').hidden = !s.offer_pending;
  $('tip').textContent = s.tip ? `tip x ${(s.tip[0] * 1000).toFixed(1)}  y ${(s.tip[1] * 1000).toFixed(1)}  z ${(s.tip[2] * 1000).toFixed(1)} mm` : 'tip — (no state report yet)';
  showVitals($('vitals'), s.vitals, s.vitals_age_ms);
  for (const button of document.querySelectorAll('button[data-command]')) button.disabled = !s.may_act;
  $('changes').replaceChildren(...[...s.changes].reverse().map((c) => {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.textContent = `${c.at_s.toFixed(1)} s`;
    const text = document.createElement('span');
    text.textContent = `${c.from} → ${c.to}`;
    text.className = `to-${c.to}`;
    li.append(time, text);
    return li;
  }));
}

async function act(command) {
  const response = await fetch('/api/action', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ command }),
  });
  $('action-result').textContent = `${command}: ${await response.text()}`;
  poll();
}

for (const button of document.querySelectorAll('button[data-command]')) {
  button.addEventListener('click', () => act(button.dataset.command));
}
poll();
setInterval(poll, 250);
