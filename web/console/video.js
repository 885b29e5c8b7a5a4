// The console page's live endoscope video: attachVideo(canvas, socketUrl) opens the console's
// video socket (/ws/video, binary messages laid out as crates/console/src/ui/video_socket.rs
// documents), decodes each H.264 Annex-B frame with WebCodecs (optimizeForLatency) and paints it
// on the canvas as soon as it is decoded. Per-frame figures go to window.medlinkVideo.frames
// (seq, capture times, when it arrived, was decoded, drawn and painted, decode ms), newest last,
// for the page's own display and for `medlink bench video`. Every REPORT_EVERY painted frames the
// page tells the console when they were captured, drawn and painted (text message {frames:
// [[capture, drawn, painted] ms], display_period_ms}): the console moves the station camera's
// capture phase so that frames are drawn just before a refresh (display-locked capture,
// docs/video.md).

const HEADER_LEN = 84;
const MAX_KEPT = 20000;
const REPORT_EVERY = 15;

/**
 * The display's refresh period (ms): the median step between animation frames, kept current.
 * Returns { get() (null until 10 steps were seen), stop() }.
 */
function displayPeriod() {
  const steps = [];
  let last = null;
  let request = 0;
  const tick = (t) => {
    if (last !== null) {
      steps.push(t - last);
      if (steps.length > 60) steps.shift();
    }
    last = t;
    request = requestAnimationFrame(tick);
  };
  request = requestAnimationFrame(tick);
  return {
    get() {
      if (steps.length < 10) return null;
      const sorted = [...steps].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)];
    },
    stop() {
      cancelAnimationFrame(request);
    },
  };
}

function parse(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== "MLW1" || buffer.byteLength < HEADER_LEN) return null;
  const codecLen = view.getUint8(5);
  const f64 = (offset) => view.getFloat64(offset, true);
  return {
    keyframe: (view.getUint8(4) & 1) === 1,
    width: view.getUint16(6, true),
    height: view.getUint16(8, true),
    seq: f64(12),
    captureStationUs: f64(20),
    captureConsoleUs: f64(28),
    receivedConsoleUs: f64(36),
    appliedSeq: f64(44),
    tipUm: [f64(52), f64(60), f64(68)],
    epochUnixUs: f64(76),
    codec: String.fromCharCode(...new Uint8Array(buffer, HEADER_LEN, codecLen)),
    data: new Uint8Array(buffer, HEADER_LEN + codecLen),
  };
}

/** Wall-clock time in µs since the Unix epoch, sub-millisecond. */
function unixUs() {
  return (performance.timeOrigin + performance.now()) * 1000;
}

export function attachVideo(canvas, socketUrl) {
  const stats = {
    frames: [],
    received: 0,
    decoded: 0,
    painted: 0,
    errors: [],
    codec: null,
    connected: false,
  };
  window.medlinkVideo = stats;
  const context = canvas.getContext("2d", { alpha: false, desynchronized: true });
  const pending = new Map(); // timestamp (seq) -> record
  let decoder = null;
  let configured = null;
  let waitForKey = true;
  let socket = null;
  let closed = false;
  const period = displayPeriod();
  let painted = [];

  function reportPainted(record) {
    if (!Number.isFinite(record.captureUnixUs)) return; // before the console's clock sync
    painted.push([record.captureUnixUs / 1000, record.drawnUnixUs / 1000, record.paintedUnixUs / 1000]);
    const periodMs = period.get();
    if (painted.length < REPORT_EVERY || periodMs === null) return;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ frames: painted, display_period_ms: periodMs }));
    }
    painted = [];
  }

  function newDecoder() {
    if (decoder && decoder.state !== "closed") decoder.close();
    configured = null;
    waitForKey = true;
    decoder = new VideoDecoder({
      output: (picture) => {
        const record = pending.get(picture.timestamp);
        pending.delete(picture.timestamp);
        if (canvas.width !== picture.displayWidth) canvas.width = picture.displayWidth;
        if (canvas.height !== picture.displayHeight) canvas.height = picture.displayHeight;
        const decodedUs = unixUs();
        context.drawImage(picture, 0, 0, canvas.width, canvas.height);
        picture.close();
        stats.decoded += 1;
        if (!record) return;
        record.decodedUnixUs = decodedUs;
        record.drawnUnixUs = unixUs();
        record.decodeMs = (decodedUs - record.arrivedUnixUs) / 1000;
        // The picture is on screen at the next frame the compositor draws.
        requestAnimationFrame(() => {
          record.paintedUnixUs = unixUs();
          reportPainted(record);
          stats.painted += 1;
          stats.frames.push(record);
          if (stats.frames.length > MAX_KEPT) stats.frames.splice(0, stats.frames.length - MAX_KEPT);
        });
      },
      error: (e) => {
        stats.errors.push(String(e));
        // A broken stream: start again at the next keyframe.
        newDecoder();
      },
    });
  }

  function onFrame(frame) {
    stats.received += 1;
    if (!configured || configured !== frame.codec) {
      if (!frame.keyframe) return;
      decoder.configure({ codec: frame.codec, optimizeForLatency: true });
      configured = frame.codec;
      stats.codec = frame.codec;
    }
    if (waitForKey && !frame.keyframe) return;
    waitForKey = false;
    const record = {
      seq: frame.seq,
      keyframe: frame.keyframe,
      bytes: frame.data.byteLength,
      captureStationUs: frame.captureStationUs,
      captureConsoleUs: frame.captureConsoleUs,
      captureUnixUs: frame.epochUnixUs + frame.captureConsoleUs,
      receivedUnixUs: frame.epochUnixUs + frame.receivedConsoleUs,
      arrivedUnixUs: unixUs(),
      appliedSeq: frame.appliedSeq,
      tipUm: frame.tipUm,
    };
    pending.set(frame.seq, record);
    decoder.decode(
      new EncodedVideoChunk({
        type: frame.keyframe ? "key" : "delta",
        timestamp: frame.seq,
        data: frame.data,
      }),
    );
  }

  function connect() {
    socket = new WebSocket(socketUrl);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      stats.connected = true;
      newDecoder();
    };
    socket.onmessage = (event) => {
      const frame = parse(event.data);
      if (frame) onFrame(frame);
    };
    socket.onclose = () => {
      stats.connected = false;
      if (!closed) setTimeout(connect, 500);
    };
  }

  if (typeof VideoDecoder === "undefined") {
    stats.errors.push("this browser has no WebCodecs VideoDecoder");
  } else {
    connect();
  }
  return {
    close() {
      closed = true;
      period.stop();
      if (socket) socket.close();
      if (decoder && decoder.state !== "closed") decoder.close();
    },
  };
}
