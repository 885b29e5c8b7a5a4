// Draws the console's live view into the page: the supervisor state, who operates and holds
// control, the page's own input, link figures, alerts and transitions. Text only (textContent):
// nothing from the station is ever parsed as HTML.

import { showVitals } from './vitals.js';

const $ = (id) => document.getElementById(id);

function fixed(v, digits, unit) { return v === null || v === undefined ? '—' : `${v.toFixed(digits)} ${unit}`; }

function mm(v) { return (v * 1000).toFixed(1); }

function list(element, items, render) {
  element.replaceChildren(...items.map((item) => {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.textContent = `${item.at_s.toFixed(1)} s`;
    li.append(time, ...render(item));
    return li;
  }));
}

function span(text, className) {
  const s = document.createElement('span');
  s.textContent = text;
  if (className) s.className = className;
  return s;
}

export function showSnapshot(s, socketOpen) {
  const state = s.connected && s.state ? s.state : null;
  const badge = $('state');
  badge.textContent = state ?? (s.connected ? 'CONNECTING' : 'NO LINK');
  badge.className = `state state-${state ?? 'none'}`;
  $('connected').textContent = s.connected ? 'connected (QUIC, mTLS)' : 'lost: reconnecting';
  $('admitted').textContent = s.admitted ?? '—';
  const control = s.bedside_control ? 'bedside team' : s.in_control ? 'this console' : s.offer_to_me ? 'offered to you' : (s.control ?? 'vacant');
  $('control').textContent = control;
  const live = $('page-live');
  const page = s.page;
  live.textContent = !s.driving ? 'watching (another page drives)' : page.liveness === 'live' ? (page.clutch ? 'live, clutched' : 'live') : page.liveness === 'lost' ? `lost ${Math.round(page.silent_ms)} ms: no motion` : 'waiting';
  live.className = page.liveness;
  $('clutch').setAttribute('aria-pressed', String(page.clutch));
  $('tip-readout').textContent = s.tip ? `tip x ${mm(s.tip[0])}  y ${mm(s.tip[1])}  z ${mm(s.tip[2])} mm${s.following ? '  · following' : ''}` : 'tip —';
  const l = s.link;
  $('rtt').textContent = fixed(l.rtt_ms, 1, 'ms');
  $('loss').textContent = l.states_received ? `${l.loss_pct.toFixed(2)} %` : '—';
  $('age').textContent = l.age_bound_ms === null ? '—' : `≤ ${l.age_bound_ms.toFixed(1)} ms / 100`;
  $('state-age').textContent = fixed(l.state_age_ms, 0, 'ms');
  $('sent').textContent = String(s.commands_sent);
  $('session').textContent = s.session_id ? `#${s.session_id}` : '—';
  showVitals($('vitals'), s.vitals, s.vitals_age_ms);
  list($('alerts'), s.alerts, (a) => [span(a.text, a.level)]);
  list($('transitions'), s.transitions, (t) => [span(`${t.from} → ${t.to}`, `to-${t.to}`), span(t.reason)]);
  banner(s, socketOpen);
}

// What stops the arm, said across the video where the surgeon looks.
export function banner(s, socketOpen) {
  const el = $('hold-banner');
  let text = null, alarm = false;
  if (!socketOpen) { text = 'Console unreachable from this page: no motion is sent; the station holds'; alarm = true; }
  else if (s && s.state === 'ESTOP') { text = 'E-STOP latched at the station'; alarm = true; }
  else if (s && s.state === 'FAULT') { text = 'FAULT at the station'; alarm = true; }
  else if (s && s.page.liveness === 'lost' && s.driving) { text = 'Page input lost: no motion is sent; the station holds'; alarm = true; }
  else if (s && s.bedside_control) text = 'The bedside team has control';
  else if (s && s.state === 'HOLD') text = 'Arm in HOLD: engage to move again';
  el.hidden = !text;
  el.textContent = text ?? '';
  el.className = alarm ? 'banner alarm' : 'banner';
}

export function showInputSource(pads) {
  $('input-source').textContent = `Input: mouse / keyboard. Gamepad: ${pads || 'none'}.`;
}
