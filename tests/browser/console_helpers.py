"""What the console page's and the bedside panel's browser tests share (test_console*.py): polling
the page (its content policy forbids eval, so page.evaluate is polled), pressing engage until the
station engages, a mouse drag, collecting console errors, and the scripts' one way to end."""

import sys
import time

# Errors the pages logged (console errors and uncaught exceptions), for the final check.
ERRORS = []


def poll(page, expression, predicate, seconds, what):
    deadline = time.time() + seconds
    value = None
    while time.time() < deadline:
        value = page.evaluate(expression)
        if predicate(value):
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: still {value!r} after {seconds} s; page errors: {ERRORS}")


def state(page, wanted, seconds=10):
    return poll(page, "window.medlinkConsole?.snapshot?.state ?? null", lambda s: s == wanted, seconds, f"state {wanted}")


def engage(page, press):
    """Presses engage until the station reports ENGAGED, as a surgeon presses the pedal again:
    the console ignores an engage while the page's hand is not live (a loaded machine can delay
    the page's heartbeat past the dead-man's 60 ms). Returns the presses it took."""
    for presses in range(1, 6):
        press()
        try:
            state(page, "ENGAGED", 3)
            return presses
        except AssertionError:
            continue
    raise AssertionError(f"not ENGAGED after 5 presses; page errors: {ERRORS}")


def watch_errors(page, ignore=None):
    """Collects the page's console errors (except those `ignore` accepts) into ERRORS."""
    keep = lambda text: ignore is None or not ignore(text)
    page.on("console", lambda m: ERRORS.append(m.text) if m.type == "error" and keep(m.text) else None)
    page.on("pageerror", lambda e: ERRORS.append(str(e)))


def drag(page, selector, dx_px, steps=30):
    """A left-button drag of `dx_px` pixels to the right from the middle of `selector`."""
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(x + dx_px * i / steps, y)
        time.sleep(0.02)
    page.mouse.up()


def run(main):
    """Runs a test script's main: a failed check prints FAILED and its reason, exit status 1."""
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
