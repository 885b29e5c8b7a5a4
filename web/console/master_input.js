// The master device in the page: the hand's position (metres from where it started, in the
// master's frame), the jaw and the clutch, from the mouse or trackpad (drag), the keyboard and
// the Gamepad API (standard gamepads and 3D mice). Sent to the console every 20 ms: that message
// is also the page's heartbeat; if the page freezes or closes, the console hears nothing and
// stops all motion within 60 ms (docs/console-ui.md).

const HEARTBEAT_MS = 20;
const METRES_PER_PIXEL = 0.00025; // a 200 px drag: 5 cm of hand, 1 cm of tool at scale 0.2
const METRES_PER_WHEEL = 0.00005;
const KEY_SPEED = 0.05; // m/s of hand while an arrow key is held
const PAD_SPEED = 0.1; // m/s of hand at full stick
const DEADZONE = 0.12;
const MAX_REACH = 0.45;
const JAW_MAX = 1.2;
const JAW_SPEED = 1.5; // rad/s while [ or ] is held

export class MasterInput {
  constructor({ send, basis, surfaces, onChange }) {
    this.send = send;
    this.basis = basis;
    this.onChange = onChange;
    this.hand = [0, 0, 0];
    this.jaw = 0;
    this.keyClutch = false;
    this.buttonClutch = false;
    this.padClutch = false;
    this.held = new Set();
    this.pads = '';
    this.padButtons = [];
    this.last = performance.now();
    this.recentring = 0;
    for (const surface of surfaces) this.attachPointer(surface);
    window.addEventListener('keydown', (e) => this.key(e, true));
    window.addEventListener('keyup', (e) => this.key(e, false));
    window.addEventListener('blur', () => { this.held.clear(); this.keyClutch = false; });
    window.addEventListener('gamepadconnected', () => this.describePads());
    window.addEventListener('gamepaddisconnected', () => this.describePads());
    setInterval(() => this.tick(), HEARTBEAT_MS);
  }

  get clutch() { return this.keyClutch || this.buttonClutch || this.padClutch || this.recentring > 0; }

  action(command) { this.send({ t: 'action', command }); }

  // The hand back to its start through the clutch, so the tool does not move: clutch, reset,
  // release, one heartbeat each.
  recentre() { this.recentring = 3; }

  // Left-drag: move in the view's plane; Shift+drag or the wheel: along the view's depth.
  attachPointer(surface) {
    let from = null;
    surface.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || e.altKey) return;
      from = { x: e.clientX, y: e.clientY };
      surface.setPointerCapture(e.pointerId);
      surface.style.cursor = 'grabbing';
    });
    surface.addEventListener('pointermove', (e) => {
      if (!from) return;
      const dx = (e.clientX - from.x) * METRES_PER_PIXEL;
      const dy = (e.clientY - from.y) * METRES_PER_PIXEL;
      from = { x: e.clientX, y: e.clientY };
      const { right, up, forward } = this.basis();
      if (e.shiftKey) this.move(forward, -dy);
      else { this.move(right, dx); this.move(up, -dy); }
    });
    const end = () => { from = null; surface.style.cursor = ''; };
    surface.addEventListener('pointerup', end);
    surface.addEventListener('pointercancel', end);
    surface.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.move(this.basis().forward, -e.deltaY * METRES_PER_WHEEL);
    }, { passive: false });
  }

  move(direction, amount) {
    const next = this.hand.map((v, i) => v + direction[i] * amount);
    const reach = Math.hypot(...next);
    this.hand = reach > MAX_REACH ? next.map((v) => (v * MAX_REACH) / reach) : next;
  }

  key(e, down) {
    if (e.target instanceof HTMLInputElement) return;
    const k = e.key;
    if (k === ' ') {
      // Space is the clutch, held; it never presses a focused button.
      e.preventDefault();
      this.keyClutch = down;
      return;
    }
    if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', '[', ']'].includes(k)) {
      e.preventDefault();
      if (down) this.held.add(k); else this.held.delete(k);
      return;
    }
    if (!down || e.repeat || e.ctrlKey || e.metaKey) return;
    const command = { e: 'engage', E: 'engage', d: 'disengage', D: 'disengage', Escape: 'estop' }[k];
    if (command) { e.preventDefault(); this.action(command); }
  }

  describePads() {
    const pads = [...navigator.getGamepads()].filter(Boolean);
    this.pads = pads.map((p) => `${p.id} (${padKind(p) === 'standard' ? 'gamepad' : padKind(p) === '3d-mouse' ? '3D mouse' : 'not used'})`).join(', ');
    this.onChange?.();
  }

  tick() {
    const now = performance.now();
    const dt = Math.min(0.1, (now - this.last) / 1000);
    this.last = now;
    const { right, up, forward } = this.basis();
    const held = (k) => (this.held.has(k) ? 1 : 0);
    const step = KEY_SPEED * dt;
    this.move(right, (held('ArrowRight') - held('ArrowLeft')) * step);
    this.move(up, (held('ArrowUp') - held('ArrowDown')) * step);
    this.move(forward, (held('PageUp') - held('PageDown')) * step);
    this.jaw = clamp(this.jaw + (held(']') - held('[')) * JAW_SPEED * dt, 0, JAW_MAX);
    this.gamepads(dt, right, up, forward);
    if (this.recentring === 2) this.hand = [0, 0, 0];
    this.send({ t: 'hand', p: this.hand, jaw: this.jaw, clutch: this.clutch });
    if (this.recentring > 0) this.recentring -= 1;
  }

  // Standard gamepad: the sticks move the hand only while RB is held (the dead-man's button: a
  // stick that drifts or is knocked moves nothing); left stick in the view's plane, right stick
  // up/down for depth, triggers for the jaw, LB held for the clutch, A engage, B disengage,
  // Back/Select e-stop request. A 3D mouse (3Dconnexion, six axes as Chromium exposes it: X
  // right, Y pushed away, Z pressed down; the cap springs back to rest when let go) translates
  // along the view's right, depth and up; its button 0 held is the clutch. Any other device is
  // not used (a joystick's throttle rests at full deflection).
  gamepads(dt, right, up, forward) {
    if (!navigator.getGamepads) return;
    let clutch = false;
    for (const pad of navigator.getGamepads()) {
      if (!pad) continue;
      const axis = (i) => { const v = pad.axes[i] ?? 0; return Math.abs(v) < DEADZONE ? 0 : v; };
      const pressed = (i) => Boolean(pad.buttons[i]?.pressed);
      const rate = PAD_SPEED * dt;
      const kind = padKind(pad);
      if (kind === 'standard') {
        if (pressed(5)) {
          this.move(right, axis(0) * rate);
          this.move(up, -axis(1) * rate);
          this.move(forward, -axis(3) * rate);
        }
        const close = pad.buttons[6]?.value ?? 0, open = pad.buttons[7]?.value ?? 0;
        if (close || open) this.jaw = clamp(this.jaw + (open - close) * JAW_SPEED * dt, 0, JAW_MAX);
        clutch ||= pressed(4);
        const edges = { 0: 'engage', 1: 'disengage', 8: 'estop' };
        const before = this.padButtons[pad.index] || [];
        for (const [i, command] of Object.entries(edges)) if (pressed(i) && !before[i]) this.action(command);
        this.padButtons[pad.index] = pad.buttons.map((b) => b.pressed);
      } else if (kind === '3d-mouse') {
        this.move(right, axis(0) * rate);
        this.move(forward, axis(1) * rate);
        this.move(up, -axis(2) * rate);
        clutch ||= pressed(0);
      }
    }
    this.padClutch = clutch;
  }
}

// 'standard' (the browser maps it: a gamepad), '3d-mouse' (a 3Dconnexion device, which Chromium
// lists unmapped with its name, vendor 046d or 256f, and six axes) or 'other' (not used).
export function padKind(pad) {
  if (pad.mapping === 'standard') return 'standard';
  const threeD = /3dconnexion|space ?(mouse|navigator|pilot|explorer|ball)|vendor: 256f/i;
  return pad.axes.length >= 6 && threeD.test(pad.id) ? '3d-mouse' : 'other';
}

function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
