"""An OpenIGTLink peer written by others (pyigtl) against `medlink igtl` (docs/igtl.md).

arm:  connects as a pyigtl client; receives `ToolTip` TRANSFORMs (checks each is a rigid motion
      in mm, the timestamps increase and the tip moves), the `RCM` TRANSFORM and the `Supervisor`
      STATUS (pyigtl has no STATUS class: one is registered here on pyigtl's MessageBase, so
      pyigtl's own header code reads it); sends a POINT list `Targets` and a TRANSFORM `Target`
      with pyigtl; then on a raw socket sends a message with a corrupted body (expects a STATUS
      reply with code 9 and the connection to stay up: a TRANSFORM `Target2` sent after it
      still arrives and the stream goes on), then a header whose BODY_SIZE is absurd (expects the
      server to close the connection). Also receives the patient monitor's `Vitals` STRINGs
      (JSON with the units in the keys) and checks every sign is present and plausible.
hifu: receives the `Temperature` and `ThermalDose` IMAGEs and the `HifuNews` STRINGs (JSON),
      checks the images' geometry and values
      (with --focus-mm, that the hottest voxel is where the spot is focused), with
      --send-targets sends targets on the slice and a `Contour` around the hot spot, and with
      --png draws the slice as pyigtl received it.

tls:  over TLS with a client certificate of the medlink CA (Python's ssl; pyigtl parses):
      ToolTip TRANSFORMs arrive; without a client certificate, or in plain TCP, nothing does.

Usage: igtl_peer.py arm|hifu|tls --port N [--ca CA --cert CRT --key KEY] [--seconds S] [--spacing-mm MM] [--png FILE]
Exits 0 and prints one JSON line of figures, or exits 1 with the first problem.
"""

import argparse
import json
import os
import socket
import struct
import sys
import time

import numpy as np
import pyigtl
from pyigtl.messages import MessageBase, message_type_to_class_constructor


def fail(message):
    print(f"igtl_peer: {message}", file=sys.stderr)
    sys.exit(1)


class StatusMessage(MessageBase):
    """STATUS (OpenIGTLink v1), which pyigtl lacks: code, subcode, error name, message."""

    def __init__(self, timestamp=None, device_name=None):
        MessageBase.__init__(self, timestamp=timestamp, device_name=device_name)
        self._message_type = "STATUS"
        self._valid_message = True

    def _unpack_content(self, content):
        self.code, self.subcode, name = struct.unpack("> H q 20s", content[:30])
        self.error_name = name.split(b"\0")[0].decode()
        self.status_message = content[30:].rstrip(b"\0").decode()


message_type_to_class_constructor["STATUS"] = StatusMessage


def connect(port):
    client = pyigtl.OpenIGTLinkClient(host="127.0.0.1", port=port)
    deadline = time.time() + 20
    while not client.is_connected():
        if time.time() > deadline:
            fail(f"could not connect to 127.0.0.1:{port}")
        time.sleep(0.05)
    return client


def collect(client, seconds, devices):
    """Every message of `devices` for `seconds` (pyigtl keeps the newest per device: poll often)."""
    got = {d: [] for d in devices}
    end = time.time() + seconds
    while time.time() < end:
        for message in client.get_latest_messages():
            if message.device_name in got:
                got[message.device_name].append(message)
        time.sleep(0.002)
    return got


def check_rigid(matrix, what):
    rotation = np.asarray(matrix)[:3, :3]
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-4):
        fail(f"{what}: the rotation is not orthonormal: {rotation}")
    if abs(np.linalg.det(rotation) - 1) > 1e-4:
        fail(f"{what}: det {np.linalg.det(rotation)}")


def raw_message(message_type, device, body, header_version=1, crc=None, body_size=None):
    from pyigtl.messages import CRC64

    header = struct.pack("> H 12s 20s I I Q Q", header_version, message_type.encode(),
                         device.encode(), int(time.time()), 0,
                         len(body) if body_size is None else body_size,
                         CRC64(body) if crc is None else crc)
    return header + body


def read_one(sock, timeout=5.0):
    """One whole message from a raw socket: (type, device, body), or None when it closed."""
    sock.settimeout(timeout)
    data = b""
    while len(data) < 58:
        chunk = sock.recv(58 - len(data))
        if not chunk:
            return None
        data += chunk
    _, mtype, device, _, _, size, _ = struct.unpack("> H 12s 20s I I Q Q", data)
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            return None
        body += chunk
    return mtype.rstrip(b"\0").decode(), device.rstrip(b"\0").decode(), body


# What a patient monitor can display, per key of the `Vitals` STRING (docs/igtl.md).
VITAL_RANGES = {"hr_bpm": (20, 250), "spo2_pct": (50, 100), "rr_per_min": (4, 60),
                "sbp_mmhg": (50, 250), "dbp_mmhg": (20, 150), "temp_c": (30, 43)}


def check_vitals(messages):
    """Each `Vitals` STRING is JSON with every sign in range; returns the last as a dict."""
    if not messages:
        fail("no Vitals STRING from the patient monitor")
    times = []
    for m in messages:
        if m.message_type != "STRING":
            fail(f"Vitals is a {m.message_type}")
        reading = json.loads(m.string)
        for key, (lo, hi) in VITAL_RANGES.items():
            value = reading.get(key)
            if not isinstance(value, (int, float)) or not lo <= value <= hi:
                fail(f"Vitals {key} = {value!r} is not a plausible reading: {reading}")
        if reading["dbp_mmhg"] >= reading["sbp_mmhg"]:
            fail(f"Vitals diastolic not below systolic: {reading}")
        times.append(reading.get("time_s"))
    if any(not isinstance(t, (int, float)) for t in times) or any(b <= a for a, b in zip(times, times[1:])):
        fail(f"Vitals time_s does not increase: {times}")
    return reading


def arm(args):
    client = connect(args.port)
    got = collect(client, args.seconds, ["ToolTip", "RCM", "Supervisor", "Vitals"])
    vitals = check_vitals(got["Vitals"])
    tips = got["ToolTip"]
    if len(tips) < 10:
        fail(f"only {len(tips)} ToolTip transforms in {args.seconds} s")
    for m in tips:
        if m.message_type != "TRANSFORM":
            fail(f"ToolTip is a {m.message_type}")
        check_rigid(m.matrix, "ToolTip")
    stamps = [m.timestamp for m in tips]
    if any(b <= a for a, b in zip(stamps, stamps[1:])):
        fail("ToolTip timestamps do not increase")
    if abs(stamps[-1] - time.time()) > 60:
        fail(f"ToolTip timestamp {stamps[-1]} is not the wall clock")
    positions = np.array([np.asarray(m.matrix)[:3, 3] for m in tips])
    travel_mm = float(np.linalg.norm(positions.max(axis=0) - positions.min(axis=0)))
    if travel_mm < 0.5:
        fail(f"the tool tip did not move ({travel_mm:.3f} mm)")
    # The PSM's tip is below its remote centre of motion, a few cm to some 20 cm away.
    depth_mm = float(np.median(np.linalg.norm(positions, axis=1)))
    if not 10 < depth_mm < 300:
        fail(f"the tool tip is {depth_mm:.1f} mm from the RCM: not millimetres?")
    if not got["RCM"]:
        fail("no RCM transform")
    if not np.allclose(np.asarray(got["RCM"][-1].matrix), np.eye(4), atol=1e-6):
        fail(f"RCM is not the identity without a registration: {got['RCM'][-1].matrix}")
    if not got["Supervisor"]:
        fail("no Supervisor STATUS")
    status = got["Supervisor"][-1]
    if status.message_type != "STATUS" or status.code not in (1, 13, 14, 15):
        fail(f"Supervisor STATUS code {status.code} ({status.error_name})")

    # Targets from pyigtl.
    points = pyigtl.PointMessage(positions=[[10.0, -20.5, 30.25], [1.0, 2.0, 3.0]],
                                 names=["Entry", "Tumour"], groups="Target",
                                 device_name="Targets")
    pose = np.eye(4)
    pose[:3, 3] = [5.0, 6.0, -70.0]
    target = pyigtl.TransformMessage(matrix=pose, device_name="Target")
    for message in (points, target):
        if not client.send_message(message, wait=True):
            fail(f"pyigtl did not send {message.device_name}")
    client.stop()

    # A malformed message on a raw socket: refused with STATUS 9, the connection survives.
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=5)
    body = struct.pack("> 12f", 1, 0, 0, 0, 1, 0, 0, 0, 1, 7, 8, 9)
    raw.sendall(raw_message("TRANSFORM", "Target2", body, crc=12345))
    reply_code = None
    deadline = time.time() + 5
    while reply_code is None and time.time() < deadline:
        message = read_one(raw)
        if message is None:
            fail("the server closed the connection after a bad CRC")
        mtype, device, content = message
        if mtype == "STATUS" and device == "medlink":
            reply_code = struct.unpack("> H", content[:2])[0]
            reason = content[30:].rstrip(b"\0").decode()
    if reply_code != 9:
        fail(f"a bad CRC got STATUS {reply_code}, not 9 (checksum error)")
    raw.sendall(raw_message("TRANSFORM", "Target2", body))
    after = [read_one(raw) for _ in range(5)]
    if any(m is None for m in after):
        fail("the stream stopped after a refused message")
    # A BODY_SIZE no receiver can hold: the stream cannot be framed, the server closes it.
    raw.sendall(raw_message("TRANSFORM", "Huge", b"", body_size=1 << 40))
    closed = False
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            if read_one(raw) is None:
                closed = True
                break
        except (ConnectionResetError, socket.timeout):
            closed = True
            break
    if not closed:
        fail("the server kept a connection whose stream cannot be framed")
    print(json.dumps({
        "tool_tips": len(tips),
        "rate_hz": round((len(tips) - 1) / (stamps[-1] - stamps[0]), 1),
        "travel_mm": round(travel_mm, 2),
        "depth_mm": round(depth_mm, 1),
        "status": [status.code, status.error_name],
        "bad_crc_reply": [reply_code, reason],
        "vitals": len(got["Vitals"]),
        "last_vitals": vitals,
    }))


def hifu(args):
    client = connect(args.port)
    images = {}
    news = []
    hottest_image = None
    deadline = time.time() + args.seconds
    hottest = None
    while time.time() < deadline:
        for message in client.get_latest_messages():
            if message.message_type == "IMAGE":
                images[message.device_name] = message
            elif message.device_name == "HifuNews":
                news.append(json.loads(message.string))
        temperature = images.get("Temperature")
        if temperature is not None and "ThermalDose" in images and hottest_image is None:
            hottest = float(np.max(temperature.image))
            if hottest > args.min_peak_c:
                hottest_image = (temperature, images["ThermalDose"])
        # News sent before this peer connected went out before it; wait for the next piece
        # (a spot starting or ending, the beam going off): on a loaded machine the peer may
        # connect only after the last spot started.
        if hottest_image is not None and news:
            break
        time.sleep(0.01)
    kinds = [n.get("news") for n in news]
    if not kinds:
        fail(f"no HifuNews STRING in {args.seconds} s")
    for name in ("Temperature", "ThermalDose"):
        if name not in images:
            fail(f"no {name} IMAGE in {args.seconds} s")
    temperature, dose = hottest_image or (images["Temperature"], images["ThermalDose"])
    for m in (temperature, dose):
        shape = m.image.shape
        if len(shape) != 3 or shape[0] != 1 or shape[1] < 3 or shape[2] < 3:
            fail(f"{m.device_name}: shape {shape} is not one slice (k=1, j, i)")
        if m.image.dtype != np.float32:
            fail(f"{m.device_name}: dtype {m.image.dtype}")
        spacing = np.linalg.norm(np.asarray(m.ijk_to_world_matrix)[:3, :3], axis=0)
        if not np.allclose(spacing, args.spacing_mm, rtol=1e-5):
            fail(f"{m.device_name}: spacing {spacing} mm, not {args.spacing_mm}")
        origin = np.asarray(m.ijk_to_world_matrix)[:3, 3]
        if not np.allclose(origin[:2], 0, atol=1e-3):
            fail(f"{m.device_name}: origin {origin}: voxel (0, 0) is not at x = y = 0")
    if temperature.image.shape != dose.image.shape:
        fail("temperature and dose differ in shape")
    t = temperature.image
    if not (np.min(t) > 30 and np.max(t) < 100):
        fail(f"temperatures {np.min(t)}..{np.max(t)} °C are not a body's")
    if hottest is None or hottest <= args.min_peak_c:
        fail(f"the hottest voxel reached {hottest} °C, never above {args.min_peak_c}")
    if np.min(dose.image) < 0:
        fail("negative dose")
    matrix = np.asarray(temperature.ijk_to_world_matrix)
    j, i = np.unravel_index(np.argmax(t[0]), t[0].shape)
    hottest_mm = (matrix @ np.array([i, j, 0, 1.0]))[:3]
    if args.focus_mm:
        focus = np.array([float(v) for v in args.focus_mm.split(",")])
        if np.any(np.abs(hottest_mm - focus) > 1.5 * args.spacing_mm):
            fail(f"the hottest voxel is at {hottest_mm} mm, the spot's focus at {focus} mm")
    if args.send_targets:
        # Targets placed on the slice (its frame is the plan's): the hottest voxel and one 6 mm
        # beside it, then one far outside the patient model.
        inside = [list(hottest_mm), list(hottest_mm + np.array([6.0, 0, 0]))]
        for positions in (inside, [[-500.0, 0.0, 0.0]]):
            points = pyigtl.PointMessage(positions=positions, names=[f"T{k}" for k in range(len(positions))],
                                         groups="Target", device_name="Targets")
            if not client.send_message(points, wait=True):
                fail("pyigtl did not send the targets")
            time.sleep(0.3)
        # The bridge writes each plan to one file: keep the points' plan aside before the next.
        if args.plan_file:
            end = time.time() + 10
            while not os.path.exists(args.plan_file) and time.time() < end:
                time.sleep(0.05)
            if not os.path.exists(args.plan_file):
                fail(f"the bridge wrote no plan {args.plan_file} from the points")
            os.replace(args.plan_file, args.plan_file + ".points")
        # A closed contour on the slice: a POINT list named Contour, a 16 mm square around the
        # hottest voxel, its corners in order (what a Slicer point list named Contour sends).
        square = [[-8.0, -8.0], [8.0, -8.0], [8.0, 8.0], [-8.0, 8.0]]
        corners = [list(hottest_mm + np.array([dx, dy, 0.0])) for dx, dy in square]
        contour = pyigtl.PointMessage(positions=corners, names=[f"C{k}" for k in range(4)],
                                      groups="Unselected", device_name="Contour")
        if not client.send_message(contour, wait=True):
            fail("pyigtl did not send the contour")
        time.sleep(0.3)
    client.stop()
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ni, nj = t.shape[2], t.shape[1]
        x0, y0 = matrix[0, 3], matrix[1, 3]
        sx, sy = matrix[0, 0], matrix[1, 1]
        extent = [x0 - sx / 2, x0 + sx * (ni - 0.5), y0 + sy * (nj - 0.5), y0 - sy / 2]
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
        shown = axes[0].imshow(t[0], extent=extent, cmap="inferno")
        fig.colorbar(shown, ax=axes[0], label="°C")
        axes[0].set_title(f"Temperature, z = {matrix[2, 3]:.0f} mm, peak {np.max(t):.1f} °C")
        shown = axes[1].imshow(np.log10(1 + dose.image[0]), extent=extent, cmap="viridis")
        fig.colorbar(shown, ax=axes[1], label="log10(1 + CEM43 min)")
        axes[1].set_title("ThermalDose")
        for ax in axes:
            ax.set_xlabel("x (mm)")
            ax.set_ylabel("y (mm)")
            ax.set_xlim(hottest_mm[0] - 25, hottest_mm[0] + 25)
            ax.set_ylim(hottest_mm[1] + 25, hottest_mm[1] - 25)
        fig.suptitle("What pyigtl received from medlink igtl (OpenIGTLink IMAGE)")
        fig.tight_layout()
        fig.savefig(args.png, dpi=90)
    print(json.dumps({
        "shape": list(t.shape),
        "spacing_mm": args.spacing_mm,
        "slice_z_mm": float(np.asarray(temperature.ijk_to_world_matrix)[2, 3]),
        "peak_c": round(float(np.max(t)), 2),
        "hottest_mm": [round(float(v), 2) for v in hottest_mm],
        "max_dose_cem43": round(float(np.max(dose.image)), 3),
        "hifu_news": kinds,
    }))


def tls(args):
    """OpenIGTLink over TLS (pyigtl has no TLS: the messages are read with pyigtl's own header
    parser and TransformMessage after Python's ssl did mutual authentication)."""
    import ssl

    def context(with_cert):
        ctx = ssl.create_default_context(cafile=args.ca)
        if with_cert:
            ctx.load_cert_chain(args.cert, args.key)
        return ctx

    raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    sock = context(True).wrap_socket(raw, server_hostname="localhost")
    tips = 0
    deadline = time.time() + 20
    while tips < 5 and time.time() < deadline:
        message = read_one(sock)
        if message is None:
            fail("the TLS server closed the connection")
        mtype, device, body = message
        if mtype == "TRANSFORM" and device == "ToolTip":
            header = {"header_version": 1, "message_type": mtype, "device_name": device,
                      "timestamp": 0.0, "body_size": len(body)}
            tip = pyigtl.TransformMessage()
            tip.unpack(header, body)
            check_rigid(tip.matrix, "ToolTip over TLS")
            tips += 1
    if tips < 5:
        fail(f"only {tips} ToolTip transforms over TLS")
    sock.close()
    # Without a client certificate the handshake is refused: no message ever arrives.
    refused = False
    try:
        raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        anonymous = context(False).wrap_socket(raw, server_hostname="localhost")
        refused = read_one(anonymous) is None
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, socket.timeout):
        refused = True
    if not refused:
        fail("a client without a certificate got OpenIGTLink messages")
    # Plain OpenIGTLink on the TLS port gets nothing either.
    plain = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    plain.sendall(raw_message("GET_STATUS", "", b""))
    try:
        got = plain.recv(58)
    except (ConnectionResetError, socket.timeout):
        got = b""
    if len(got) >= 2 and got[:2] in (b"\x00\x01", b"\x00\x02"):
        fail("plain OpenIGTLink was answered on the TLS port")
    print(json.dumps({"tls_tool_tips": tips, "anonymous_refused": refused}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["arm", "hifu", "tls"])
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--spacing-mm", type=float, default=3.0)
    parser.add_argument("--min-peak-c", type=float, default=40.0)
    parser.add_argument("--focus-mm", help="x,y,z: the hottest voxel must be within 1.5 voxels")
    parser.add_argument("--send-targets", action="store_true",
                        help="hifu: send POINT lists on the slice (two inside, then one outside, "
                             "then a Contour square around the hottest voxel)")
    parser.add_argument("--plan-file", help="hifu: the bridge's --igtl-target-plan; moved to "
                                            "FILE.points once the points made it, before the contour")
    parser.add_argument("--png")
    args = parser.parse_args()
    {"arm": arm, "hifu": hifu, "tls": tls}[args.mode](args)


if __name__ == "__main__":
    main()
