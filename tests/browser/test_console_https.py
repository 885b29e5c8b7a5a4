"""Both pages served off loopback, over HTTPS with certificates of the medlink CA, in a real
browser (Debian's chromium driven by Playwright) that trusts that CA through its own NSS database
(a temporary HOME; no `ignore_https_errors`), and the page's gamepad and 3D mouse input.

Run by crates/medlink/tests/console_https_browser.rs against a `medlink station --ui IP:PORT` and
a `medlink console --ui IP:PORT --ui-certificate STEM` on this machine's non-loopback address:
- a chromium without the CA refuses the console page (the certificate is checked);
- the one-time link signs in; the cookie is Secure, HttpOnly, SameSite=Strict; the link is then
  refused (401) from another browser context; plain http on the page's port gets no HTTP answer;
- every WebSocket is wss; enable, engage, a drag moves the station's arm by what the drag says
  and along the view's right;
- a standard gamepad (a fake `navigator.getGamepads`, as Chromium shapes one): A engages, the
  left stick with RB held moves the arm along the view's right, the right stick along the view's
  depth, releasing RB (the dead-man's button) with the stick still pushed stops the motion, the
  stick without RB moves nothing, B disengages;
- a 3D mouse (3Dconnexion, unmapped, six axes): X moves right, Z pressed moves down, letting
  the cap go stops, button 0 held clutches; an unknown six-axis joystick moves nothing;
- the bedside panel over HTTPS without a bedside certificate watches: its buttons are disabled
  and a take-over from the page is refused (403); it shows the patient monitor's vitals.
Saves screenshots; prints one JSON line with the figures.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlparse

from console_helpers import ERRORS, drag, engage, poll, run, state, watch_errors
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

HAND_M_PER_PX = 0.00025  # master_input.js METRES_PER_PIXEL
PAD_M_PER_S = 0.1  # master_input.js PAD_SPEED
SCALE = 0.2  # the console's default motion scale (docs/robot.md)

# A fake Gamepad API: the page sees the pads the test puts in `window.__fakePads` (shaped as
# Chromium shapes them: four slots, `buttons` of {pressed, touched, value}).
FAKE_GAMEPADS = """
(() => {
  const slots = [null, null, null, null];
  const button = (b) => (typeof b === 'object' ? b : { pressed: Boolean(b), touched: Boolean(b), value: b ? 1 : 0 });
  window.__fakePads = {
    set(index, spec) {
      const was = slots[index];
      slots[index] = spec ? { index, connected: true, timestamp: performance.now(), id: spec.id,
        mapping: spec.mapping, axes: spec.axes.slice(), buttons: spec.buttons.map(button), vibrationActuator: null } : null;
      if (Boolean(was) !== Boolean(spec)) window.dispatchEvent(new Event(spec ? 'gamepadconnected' : 'gamepaddisconnected'));
    },
  };
  Object.defineProperty(Navigator.prototype, 'getGamepads', { configurable: true, value: () => slots.slice() });
})();
"""

STANDARD_ID = "Xbox 360 Controller (XInput STANDARD GAMEPAD)"
SPACEMOUSE_ID = "3Dconnexion SpaceMouse Compact (Vendor: 256f Product: c635)"
JOYSTICK_ID = "Thrustmaster T.16000M (Vendor: 044f Product: b10a)"


def trusting_home(ca):
    """A HOME whose NSS database (where Linux chromium looks for trust) holds the medlink CA."""
    home = tempfile.mkdtemp(prefix="medlink-chromium-home-")
    nssdb = os.path.join(home, ".pki", "nssdb")
    os.makedirs(nssdb)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "medlink CA", "-t", "C,,", "-i", ca], check=True)
    return home


def tip(page):
    return page.evaluate("window.medlinkConsole.snapshot.tip")


def settled_tip(page, seconds=0.6):
    """The tip once the arm has come to rest: after `seconds`, two views at least 0.3 s and four
    fresh snapshots apart that agree within 0.05 mm (on a loaded machine the page's snapshots come
    late and in bursts; a stale one is not a settled one). Up to 10 s."""
    time.sleep(seconds)
    deadline = time.time() + 10
    count = lambda: page.evaluate("window.medlinkConsole.messages")
    last, seen = tip(page), count()
    while time.time() < deadline:
        time.sleep(0.3)
        poll(page, "window.medlinkConsole.messages", lambda n: n >= seen + 4, 10, "fresh snapshots")
        now, seen = tip(page), count()
        if norm(sub(now, last)) < 0.00005:
            return now
        last = now
    raise AssertionError(f"the tip never came to rest (last at {last})")


def sub(a, b):
    return [x - y for x, y in zip(a, b)]


def norm(v):
    return sum(x * x for x in v) ** 0.5


def along(delta, direction):
    """The part of `delta` along the unit `direction`, and the cosine between them."""
    d = sum(x * y for x, y in zip(delta, direction))
    n = norm(delta)
    return d, (d / n if n > 0 else 0.0)


def basis(page):
    return page.evaluate("window.medlinkConsole.input.basis()")


def pad(page, index, spec):
    page.evaluate("([i, s]) => window.__fakePads.set(i, s)", [index, spec])


def standard(axes=(0, 0, 0, 0), pressed=()):
    return {"id": STANDARD_ID, "mapping": "standard", "axes": list(axes), "buttons": [i in pressed for i in range(17)]}


def spacemouse(axes=(0, 0, 0, 0, 0, 0), pressed=()):
    return {"id": SPACEMOUSE_ID, "mapping": "", "axes": list(axes), "buttons": [i in pressed for i in range(2)]}


def plain_http_answer(host, port):
    """What a plain-HTTP request to the HTTPS port gets back (bytes)."""
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return data


def check_console(browser, args, result):
    url = urlparse(args.url)
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.add_init_script(FAKE_GAMEPADS)
    page = context.new_page()
    watch_errors(page)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    response = page.goto(args.url)
    assert response.ok, response.status
    assert page.url.startswith("https://") and "token=" not in page.url, page.url
    cookie = next(c for c in context.cookies() if c["name"] == "medlink_console")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    result["cookie"] = {k: cookie[k] for k in ("secure", "httpOnly", "sameSite")}

    first = poll(page, "window.medlinkConsole?.snapshot?.state ?? null", lambda s: s is not None, 15, "a station state")
    assert sockets and all(u.startswith("wss://") for u in sockets), sockets
    result["websockets"] = sorted({u.split("?")[0] for u in sockets})
    if first == "DISABLED":
        page.click("#enable")
    state(page, "READY")

    # A drag: the station's tip moves by what the drag says, along the view's right.
    figures = {}
    press_e = lambda: page.keyboard.press("e")
    engage(page, press_e)
    expected = 160 * HAND_M_PER_PX * SCALE

    def drag_right():
        right = basis(page)["right"]
        before = settled_tip(page, 0.2)
        drag(page, "#arm", 160)
        delta = sub(settled_tip(page), before)
        moved = norm(delta)
        _, cosine = along(delta, right)
        figures.update(moved_mm=round(moved * 1000, 2), expected_mm=round(expected * 1000, 2), cos_right=round(cosine, 3))
        if moved > 1.25 * expected:
            raise NotRepeated(f"the tip moved {moved * 1000:.2f} mm for a drag of {expected * 1000:.1f} mm")
        assert moved > 0.002, f"the drag moved the tip {moved * 1000:.2f} mm"
        assert cosine > 0.9, f"the drag to the right moved the tip along {delta}, not the view's right {right}"

    steps(page, figures, lambda: engage(page, press_e))("drag", drag_right)
    result["drag"] = figures

    check_gamepad(page, result, args.screenshots)
    check_spacemouse(page, result)
    assert page.evaluate("window.medlinkConsole.snapshot.state") in ("READY", "ENGAGED", "HOLD")

    # The one-time link is spent: another browser context gets 401.
    other = browser.new_context()
    spent = other.new_page().goto(args.url)
    result["spent_link_status"] = spent.status
    assert spent.status == 401, spent.status
    other.close()

    # Plain http on the HTTPS port: no HTTP answer (the TLS handshake fails), in the browser too.
    answer = plain_http_answer(url.hostname, url.port)
    assert not answer.startswith(b"HTTP/"), answer[:200]
    result["plain_http_answer_bytes"] = len(answer)
    try:
        plain = context.new_page().goto(f"http://{url.hostname}:{url.port}/")
        raise AssertionError(f"plain http answered {plain.status}")
    except PlaywrightError as e:
        result["plain_http_in_browser"] = str(e).splitlines()[0]
    context.close()


def moves_along(page, figures, name, push, rest, seconds, direction):
    """The pad in `push` for `seconds`, then at `rest`: the tip must have moved more than 2 mm,
    within 25 degrees of `direction` (a unit vector in the view's frame). Returns the settled tip."""
    before = settled_tip(page, 0.3)
    pad(page, 0, push)
    time.sleep(seconds)
    pad(page, 0, rest)
    after = settled_tip(page)
    delta = sub(after, before)
    _, cosine = along(delta, direction)
    figures[name] = {"moved_mm": round(norm(delta) * 1000, 2), "cos": round(cosine, 3)}
    assert norm(delta) > 0.002 and cosine > 0.9, f"{name}: the tip moved {delta}, not along {direction}"
    return after


def stays_put(page, figures, name, sequence, why):
    """The pad through `sequence` ((state, seconds) pairs): the tip must not move (0.5 mm)."""
    before = settled_tip(page, 0.3)
    for spec, seconds in sequence:
        pad(page, 0, spec)
        time.sleep(seconds)
    moved = norm(sub(settled_tip(page), before))
    figures[name] = round(moved * 1000, 3)
    assert moved < 0.0005, f"the tip moved {moved * 1000:.2f} mm {why}"


def newest_transition_s(page):
    return page.evaluate("Math.max(0, ...window.medlinkConsole.snapshot.transitions.map((t) => t.at_s))")


def held_since(page, since_s):
    return page.evaluate(
        "(since) => window.medlinkConsole.snapshot.transitions.some((t) => t.at_s > since && t.to !== 'ENGAGED')", since_s
    )


class NotRepeated(AssertionError):
    """A failure that no hold explains away (the arm went further than the hand): never repeated."""


def steps(page, figures, engage_again):
    """Runs each (name, step) in turn. A step that fails after the arm left ENGAGED during it
    (on a loaded machine the page's 20 ms heartbeat can slip past the dead-man's 60 ms: the
    station holds, as designed) is engaged again and repeated, up to 5 times; every step checks
    at its end that the arm stayed ENGAGED throughout, so that "nothing moved" means something."""

    def run(name, step):
        for attempt in range(1, 6):
            # Start ENGAGED, and still ENGAGED a moment later (a hold can follow an engage at once).
            for _ in range(5):
                if page.evaluate("window.medlinkConsole.snapshot.state") != "ENGAGED":
                    engage_again()
                time.sleep(0.3)
                if page.evaluate("window.medlinkConsole.snapshot.state") == "ENGAGED":
                    break
            since = newest_transition_s(page)
            try:
                step()
                assert not held_since(page, since), f"{name}: the arm left ENGAGED during the step"
                return
            except NotRepeated:
                raise
            except AssertionError:
                if attempt == 5 or not held_since(page, since):
                    raise
                figures.setdefault("repeated_after_a_hold", []).append(name)
                engage_again()

    return run


def check_gamepad(page, result, screenshots):
    """A standard gamepad: A engages, the left stick (RB held) moves along the view's right, the
    right stick along its depth, releasing RB stops the motion, B disengages."""
    figures = {}
    pad(page, 0, standard())
    poll(page, "document.getElementById('input-source').textContent", lambda t: "(gamepad)" in t, 5, "the gamepad listed")
    # B then A: disengage, engage, from the pad's buttons.
    pad(page, 0, standard(pressed={1}))
    poll(page, "window.medlinkConsole.snapshot.state", lambda s: s == "READY", 5, "disengaged by B")
    pad(page, 0, standard())
    press_a = lambda: (pad(page, 0, standard(pressed={0})), time.sleep(0.1), pad(page, 0, standard()))
    figures["a_presses"] = engage(page, press_a)
    b = basis(page)
    step = steps(page, figures, lambda: engage(page, press_a))

    def without_rb():
        sequence = [(standard(axes=(1, 0, 0, 0)), 0.5), (standard(), 0)]
        stays_put(page, figures, "stick_without_rb_mm", sequence, "without the dead-man's button")

    def left_stick_right():
        # RB held, left stick right for 0.5 s: about 0.1 m/s x 0.5 s x 0.2 = 10 mm along the right.
        push = standard(axes=(1, 0, 0, 0), pressed={5})
        moves_along(page, figures, "left_stick_right", push, standard(pressed={5}), 0.5, b["right"])

    def right_stick_up():
        push = standard(axes=(0, 0, 0, -1), pressed={5})
        moves_along(page, figures, "right_stick_up", push, standard(pressed={5}), 0.4, b["forward"])

    def rb_released():
        # Stick held left, RB released mid-way: the motion stops although the stick stays pushed.
        before = settled_tip(page, 0.3)
        pad(page, 0, standard(axes=(-1, 0, 0, 0), pressed={5}))
        time.sleep(0.3)
        pad(page, 0, standard(axes=(-1, 0, 0, 0)))
        released = settled_tip(page)
        time.sleep(0.5)
        drift = norm(sub(tip(page), released))
        pad(page, 0, standard())
        figures["with_rb_mm"] = round(norm(sub(released, before)) * 1000, 2)
        figures["after_rb_released_mm"] = round(drift * 1000, 3)
        assert norm(sub(released, before)) > 0.002, "the stick with RB held did not move the tip"
        assert drift < 0.0005, f"the tip moved {drift * 1000:.2f} mm after the dead-man's button was released"

    for name, check in [("without_rb", without_rb), ("left_stick_right", left_stick_right),
                        ("right_stick_up", right_stick_up), ("rb_released", rb_released)]:
        step(name, check)
    page.screenshot(path=f"{screenshots}/console-gamepad.png")
    pad(page, 0, standard(pressed={1}))
    poll(page, "window.medlinkConsole.snapshot.state", lambda s: s == "READY", 5, "disengaged by B")
    pad(page, 0, None)
    result["gamepad"] = figures


def check_spacemouse(page, result):
    """A 3D mouse: X right, Z pressed down moves down, letting go stops, button 0 clutches; an
    unknown six-axis joystick moves nothing."""
    figures = {}
    pad(page, 0, spacemouse())
    poll(page, "document.getElementById('input-source').textContent", lambda t: "(3D mouse)" in t, 5, "the 3D mouse listed")
    press_e = lambda: page.keyboard.press("e")
    engage(page, press_e)
    b = basis(page)
    step = steps(page, figures, lambda: engage(page, press_e))

    def x_right_then_let_go():
        push = spacemouse(axes=(0.8, 0, 0, 0, 0, 0))
        let_go = moves_along(page, figures, "x_right", push, spacemouse(), 0.5, b["right"])  # the cap springs back
        time.sleep(0.5)
        drift = norm(sub(tip(page), let_go))
        figures["after_let_go_mm"] = round(drift * 1000, 3)
        assert drift < 0.0005, f"the tip moved {drift * 1000:.2f} mm after the cap was let go"

    def z_pressed_down():
        push = spacemouse(axes=(0, 0, 0.8, 0, 0, 0))
        moves_along(page, figures, "z_pressed_down", push, spacemouse(), 0.5, [-x for x in b["up"]])

    def clutched():
        push = spacemouse(axes=(0.8, 0, 0, 0, 0, 0), pressed={0})
        sequence = [(push, 0.5), (spacemouse(pressed={0}), 0.1), (spacemouse(), 0)]
        stays_put(page, figures, "clutched_mm", sequence, "with the 3D mouse's clutch held")

    def other_joystick():
        # A flight stick: six axes too, its throttle resting at full deflection; not used.
        joystick = {"id": JOYSTICK_ID, "mapping": "", "axes": [0.5, 0, 0, 0, 0, -1], "buttons": [False] * 16}
        before = settled_tip(page, 0.1)
        pad(page, 1, joystick)
        poll(page, "document.getElementById('input-source').textContent", lambda t: "(not used)" in t, 5, "the joystick listed")
        time.sleep(0.5)
        moved = norm(sub(settled_tip(page, 0.2), before))
        pad(page, 1, None)
        figures["other_joystick_mm"] = round(moved * 1000, 3)
        assert moved < 0.0005, f"an unknown joystick moved the tip {moved * 1000:.2f} mm"

    for name, check in [("x_right_then_let_go", x_right_then_let_go), ("z_pressed_down", z_pressed_down),
                        ("clutched", clutched)]:
        step(name, check)
    pad(page, 0, None)
    step("other_joystick", other_joystick)
    result["spacemouse"] = figures


def check_bedside(browser, args, result):
    """The panel over HTTPS to a browser without a bedside certificate: it watches."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    watch_errors(page, ignore=lambda text: "403" in text)  # the refused take-over, below
    response = page.goto(args.panel_url)
    assert response.ok and page.url.startswith("https://"), (response.status, page.url)
    cookie = next(c for c in context.cookies() if c["name"] == "medlink_bedside")
    assert cookie["secure"] and cookie["httpOnly"], cookie
    poll(page, "window.medlinkBedside?.snapshot?.state ?? null", lambda s: s is not None, 10, "the panel's state")
    assert page.evaluate("window.medlinkBedside.snapshot.may_act") is False
    who = page.text_content("#who")
    assert "watch only" in who, who
    disabled = page.evaluate("[...document.querySelectorAll('button[data-command]')].every((b) => b.disabled)")
    assert disabled, "the panel's buttons should be disabled off loopback without a bedside certificate"
    status = page.evaluate(
        """async () => (await fetch('/api/action', { method: 'POST', headers: { 'Content-Type': 'application/json' },
           body: JSON.stringify({ command: 'takeover' }) })).status"""
    )
    assert status == 403, status
    time.sleep(0.5)
    assert page.evaluate("window.medlinkBedside.snapshot.bedside_control") is False
    poll(page, "document.querySelectorAll('#vitals .sign').length", lambda n: n == 6, 10, "the panel's vitals")
    result["bedside"] = {"who": who, "takeover_status": status, "vitals": page.text_content("#vitals")}
    page.screenshot(path=f"{args.screenshots}/bedside-https-watch.png")
    context.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the console page's one-time https link")
    parser.add_argument("--panel-url", required=True, help="the bedside panel's one-time https link")
    parser.add_argument("--ca", required=True, help="the medlink CA's certificate (ca.crt)")
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    assert args.url.startswith("https://") and args.panel_url.startswith("https://"), (args.url, args.panel_url)
    result = {}
    with sync_playwright() as p:
        # Without the CA the certificate is refused (and the token stays unspent: no HTTP yet).
        bare_home = tempfile.mkdtemp(prefix="medlink-chromium-home-")
        untrusting = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"], env={**os.environ, "HOME": bare_home})
        try:
            untrusting.new_page().goto(args.url)
            raise AssertionError("a browser without the medlink CA accepted the page's certificate")
        except PlaywrightError as e:
            result["without_ca"] = str(e).splitlines()[0]
            assert "CERT" in result["without_ca"], result["without_ca"]
        untrusting.close()

        home = trusting_home(args.ca)
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"], env={**os.environ, "HOME": home})
        check_console(browser, args, result)
        check_bedside(browser, args, result)
        browser.close()
    for path in (bare_home, home):
        shutil.rmtree(path, ignore_errors=True)
    result["console_errors"] = ERRORS
    assert not ERRORS, f"console errors: {ERRORS}"
    print(json.dumps(result))


if __name__ == "__main__":
    run(main)
