// The arm in 3D (WebGL2, no library): the remote centre of motion (RCM, the frame's origin),
// the workspace the station's supervisor allows (a sphere around the RCM, and the minimum
// insertion), the tool's shaft through the RCM to the measured tip, and the target the console
// last asked for. The view turns with a right-drag (or Alt+drag); `basis()` gives the view's
// right and up directions so that a drag moves the tool the way it looks on screen.

const VERTEX = `#version 300 es
in vec3 position; in vec3 colour; uniform mat4 mvp; uniform float pointSize; out vec3 vColour;
void main() { gl_Position = mvp * vec4(position, 1.0); gl_PointSize = pointSize; vColour = colour; }`;
const FRAGMENT = `#version 300 es
precision mediump float; in vec3 vColour; uniform highp float pointSize; out vec4 outColour;
void main() {
  if (pointSize > 1.5 && length(gl_PointCoord - vec2(0.5)) > 0.5) discard;
  outColour = vec4(vColour, 1.0);
}`;

const WORKSPACE = [0.23, 0.35, 0.48];
const SHAFT = [0.75, 0.78, 0.82];
const TIP = [0.18, 0.8, 0.44];
const TARGET = [0.96, 0.84, 0.43];
const RCM = [1.0, 0.42, 0.42];
const TRAIL = [0.16, 0.5, 0.32];
const TRAIL_LENGTH = 240;

export class ArmView {
  constructor(canvas) {
    this.canvas = canvas;
    this.gl = canvas.getContext('webgl2', { antialias: true });
    this.azimuth = 0.7;
    this.elevation = 0.35;
    this.distance = 0.62;
    this.centre = [0, 0, -0.07];
    this.snapshot = null;
    this.trail = [];
    if (!this.gl) {
      canvas.replaceWith(Object.assign(document.createElement('p'), { textContent: 'WebGL2 is not available in this browser', className: 'muted' }));
      return;
    }
    this.program = link(this.gl, VERTEX, FRAGMENT);
    this.buffer = this.gl.createBuffer();
    this.vao = this.gl.createVertexArray();
    const gl = this.gl;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
    for (const [name, offset] of [['position', 0], ['colour', 12]]) {
      const at = gl.getAttribLocation(this.program, name);
      gl.enableVertexAttribArray(at);
      gl.vertexAttribPointer(at, 3, gl.FLOAT, false, 24, offset);
    }
    this.turning = null;
    canvas.addEventListener('contextmenu', (e) => e.preventDefault());
    canvas.addEventListener('pointerdown', (e) => {
      if (e.button === 2 || e.altKey) {
        this.turning = { x: e.clientX, y: e.clientY };
        canvas.setPointerCapture(e.pointerId);
        e.stopImmediatePropagation();
      }
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.turning) return;
      this.azimuth -= (e.clientX - this.turning.x) * 0.01;
      this.elevation = Math.max(-1.4, Math.min(1.4, this.elevation + (e.clientY - this.turning.y) * 0.01));
      this.turning = { x: e.clientX, y: e.clientY };
      e.stopImmediatePropagation();
    });
    canvas.addEventListener('pointerup', () => { this.turning = null; });
    const frame = () => { this.draw(); requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
  }

  update(snapshot) {
    this.snapshot = snapshot;
    if (snapshot.tip) {
      this.trail.push(snapshot.tip);
      if (this.trail.length > TRAIL_LENGTH) this.trail.shift();
    }
  }

  eye() {
    const ce = Math.cos(this.elevation);
    return [
      this.centre[0] + this.distance * ce * Math.cos(this.azimuth),
      this.centre[1] + this.distance * ce * Math.sin(this.azimuth),
      this.centre[2] + this.distance * Math.sin(this.elevation),
    ];
  }

  // The view's right and up directions in the arm's frame (unit vectors).
  basis() {
    const forward = normalise(sub(this.centre, this.eye()));
    const right = normalise(cross(forward, [0, 0, 1]));
    const up = cross(right, forward);
    return { right, up, forward };
  }

  draw() {
    const gl = this.gl;
    const s = this.snapshot;
    const lines = [];
    const points = [];
    const radius = s ? s.workspace_radius_m : 0.24;
    circles(lines, [0, 0, 0], radius, WORKSPACE);
    circles(lines, [0, 0, 0], s ? s.min_insertion_m : 0.045, [0.35, 0.22, 0.22]);
    axes(lines, 0.03);
    for (let i = 1; i < this.trail.length; i++) segment(lines, this.trail[i - 1], this.trail[i], TRAIL);
    points.push([0, 0, 0, RCM, 9]);
    if (s && s.tip) {
      // The shaft runs through the RCM to the wrist; drawn from beyond the RCM to the tip.
      const out = scale(normalise(s.tip), -0.06);
      segment(lines, out, s.tip, SHAFT);
      points.push([...s.tip, TIP, 12]);
    }
    if (s && s.target) points.push([...s.target, TARGET, 8]);
    resize(this.canvas);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0.027, 0.04, 0.055, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    gl.useProgram(this.program);
    const aspect = this.canvas.width / Math.max(1, this.canvas.height);
    const mvp = multiply(perspective(0.8, aspect, 0.01, 5), lookAt(this.eye(), this.centre, [0, 0, 1]));
    gl.uniformMatrix4fv(gl.getUniformLocation(this.program, 'mvp'), false, mvp);
    gl.bindVertexArray(this.vao);
    const sizeAt = gl.getUniformLocation(this.program, 'pointSize');
    gl.uniform1f(sizeAt, 1);
    this.upload(lines.flat());
    gl.drawArrays(gl.LINES, 0, lines.length);
    for (const [x, y, z, colour, size] of points) {
      gl.uniform1f(sizeAt, size * (window.devicePixelRatio || 1));
      this.upload([x, y, z, ...colour]);
      gl.drawArrays(gl.POINTS, 0, 1);
    }
  }

  upload(values) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array(values), gl.DYNAMIC_DRAW);
  }
}

function link(gl, vertex, fragment) {
  const program = gl.createProgram();
  for (const [type, source] of [[gl.VERTEX_SHADER, vertex], [gl.FRAGMENT_SHADER, fragment]]) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
    gl.attachShader(program, shader);
  }
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
  return program;
}

function resize(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(canvas.clientWidth * ratio);
  const height = Math.round(canvas.clientHeight * ratio);
  if (width > 0 && height > 0 && (canvas.width !== width || canvas.height !== height)) {
    canvas.width = width;
    canvas.height = height;
  }
}

function segment(lines, a, b, colour) { lines.push([...a, ...colour], [...b, ...colour]); }

// Three great circles of a sphere around `c`.
function circles(lines, c, r, colour) {
  const n = 72;
  for (let plane = 0; plane < 3; plane++) {
    for (let i = 0; i < n; i++) {
      const at = (k) => {
        const a = (2 * Math.PI * k) / n;
        const u = r * Math.cos(a), v = r * Math.sin(a);
        return plane === 0 ? [c[0] + u, c[1] + v, c[2]] : plane === 1 ? [c[0] + u, c[1], c[2] + v] : [c[0], c[1] + u, c[2] + v];
      };
      segment(lines, at(i), at(i + 1), colour);
    }
  }
}

function axes(lines, length) {
  segment(lines, [0, 0, 0], [length, 0, 0], [0.8, 0.3, 0.3]);
  segment(lines, [0, 0, 0], [0, length, 0], [0.3, 0.8, 0.3]);
  segment(lines, [0, 0, 0], [0, 0, length], [0.3, 0.5, 0.9]);
}

function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
function scale(a, s) { return [a[0] * s, a[1] * s, a[2] * s]; }
function cross(a, b) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]; }
function normalise(a) { const n = Math.hypot(...a) || 1; return scale(a, 1 / n); }

function perspective(fovy, aspect, near, far) {
  const f = 1 / Math.tan(fovy / 2);
  const nf = 1 / (near - far);
  return [f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) * nf, -1, 0, 0, 2 * far * near * nf, 0];
}

function lookAt(eye, centre, up) {
  const z = normalise(sub(eye, centre));
  const x = normalise(cross(up, z));
  const y = cross(z, x);
  const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  return [x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0, -dot(x, eye), -dot(y, eye), -dot(z, eye), 1];
}

// Column-major 4x4 product a·b.
function multiply(a, b) {
  const out = new Array(16).fill(0);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) for (let k = 0; k < 4; k++) out[c * 4 + r] += a[k * 4 + r] * b[c * 4 + k];
  return out;
}
