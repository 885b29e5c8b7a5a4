// The surgeon's console page: one WebSocket to the console process (never to the station),
// which sends the live view 20 times a second and takes the master input and the buttons.
// The video canvas belongs to the video module (video.js: WebCodecs on /ws/video).

import { ArmView } from './arm_view.js';
import { MasterInput } from './master_input.js';
import { banner, showInputSource, showSnapshot } from './panels.js';
import { attachVideo } from './video.js';

const armView = new ArmView(document.getElementById('arm'));
const wsScheme = location.protocol === 'https:' ? 'wss' : 'ws';
attachVideo(document.getElementById('video'), `${wsScheme}://${location.host}/ws/video`);
// "no video yet" until the first picture is painted, and again when frames stop coming.
let lastPainted = 0;
setInterval(() => {
  const video = window.medlinkVideo;
  const painted = video ? video.painted : 0;
  const overlay = document.getElementById('video-overlay');
  overlay.hidden = painted > lastPainted;
  if (painted === 0) overlay.textContent = video && video.errors.length ? `no video: ${video.errors[0]}` : 'no video yet';
  else overlay.textContent = 'video stalled';
  lastPainted = painted;
}, 500);
let socket = null;
let open = false;
const state = { snapshot: null, messages: 0 };
// For tests and the curious: the newest view the console sent.
window.medlinkConsole = state;

function connect() {
  socket = new WebSocket(`${wsScheme}://${location.host}/ws/console`);
  socket.addEventListener('open', () => { open = true; });
  socket.addEventListener('message', (event) => {
    const snapshot = JSON.parse(event.data);
    state.snapshot = snapshot;
    state.messages += 1;
    showSnapshot(snapshot, true);
    armView.update(snapshot);
  });
  socket.addEventListener('close', () => {
    open = false;
    banner(state.snapshot, false);
    setTimeout(connect, 1000);
  });
}

function send(message) {
  if (open && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

const input = new MasterInput({
  send,
  basis: () => armView.basis(),
  surfaces: [document.getElementById('arm'), document.getElementById('video')],
  onChange: () => showInputSource(input.pads),
});
state.input = input;

for (const command of ['engage', 'disengage', 'estop', 'enable', 'accept', 'decline']) {
  document.getElementById(command).addEventListener('click', () => input.action(command));
}
document.getElementById('recentre').addEventListener('click', () => input.recentre());
const clutch = document.getElementById('clutch');
clutch.addEventListener('pointerdown', () => { input.buttonClutch = true; });
for (const end of ['pointerup', 'pointerleave', 'pointercancel']) clutch.addEventListener(end, () => { input.buttonClutch = false; });
clutch.addEventListener('keydown', (e) => { if (e.key === 'Enter') input.buttonClutch = true; });
clutch.addEventListener('keyup', (e) => { if (e.key === 'Enter') input.buttonClutch = false; });

connect();
