"""The bedside panel in a real browser (Debian's chromium driven by Playwright).

Run by crates/medlink/tests/console_browser.rs after test_console.py, against the same
`medlink station --ui` on loopback (its buttons are the station's own there): the panel shows the
e-stop the console latched, clears it, takes over from the surgeon's console, offers control
back, and latches an e-stop of its own. Saves
screenshots and prints one JSON line.
"""

import argparse
import json
import sys
import time

from playwright.sync_api import sync_playwright

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


def snapshot(page, key):
    return page.evaluate(f"window.medlinkBedside?.snapshot?.{key} ?? null")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the bedside panel's one-time sign-in link")
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    result = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda m: ERRORS.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: ERRORS.append(str(e)))
        page.goto(args.url)
        poll(page, "window.medlinkBedside?.snapshot?.state ?? null", lambda s: s == "ESTOP", 10, "the console's e-stop")
        assert snapshot(page, "estop_latched") is True
        assert snapshot(page, "may_act") is True, "loopback: the station's own screen may act"
        assert page.is_visible("#latched")
        changes = page.evaluate("window.medlinkBedside.snapshot.changes.map(c => `${c.from}->${c.to}`)")
        result["changes"] = changes
        # The console's e-stop came from ENGAGED, or from HOLD if the page went silent first.
        assert "ENGAGED->HOLD" in changes and any(c.endswith("->ESTOP") for c in changes), changes
        page.screenshot(path=f"{args.screenshots}/bedside-estop.png")

        page.click("#clear")
        result["after_clear"] = poll(page, "window.medlinkBedside.snapshot.state", lambda s: s != "ESTOP", 5, "e-stop cleared")
        page.click("button[data-command=takeover]")
        poll(page, "window.medlinkBedside.snapshot.bedside_control", lambda b: b is True, 5, "bedside control")
        result["control_after_takeover"] = snapshot(page, "control")
        page.screenshot(path=f"{args.screenshots}/bedside-takeover.png")

        # Hand back: an offer to the surgeon, who must accept before anything moves.
        page.click("button[data-command=handback]")
        poll(page, "window.medlinkBedside.snapshot.offer_pending", lambda b: b is True, 5, "hand-back offered")
        assert page.is_visible("#offer")
        page.screenshot(path=f"{args.screenshots}/bedside-handback.png")
        page.click("#estop")
        poll(page, "window.medlinkBedside.snapshot.state", lambda s: s == "ESTOP", 5, "bedside e-stop")
        browser.close()
    result["console_errors"] = ERRORS
    assert not ERRORS, f"console errors: {ERRORS}"
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
