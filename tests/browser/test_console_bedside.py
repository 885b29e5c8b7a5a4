"""The bedside panel in a real browser (Debian's chromium driven by Playwright).

Run by crates/medlink/tests/console_browser.rs after test_console.py, against the same
`medlink station --ui` on loopback (its buttons are the station's own there): the panel shows the
patient monitor's newest reading (six cells with units, its age, not stale) and the
e-stop the console latched, clears it, takes over from the surgeon's console, offers control
back, and latches an e-stop of its own. Saves
screenshots and prints one JSON line.
"""

import argparse
import json
import time

from console_helpers import ERRORS, poll, run, watch_errors
from playwright.sync_api import sync_playwright

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
        watch_errors(page)
        page.goto(args.url)
        poll(page, "window.medlinkBedside?.snapshot?.state ?? null", lambda s: s == "ESTOP", 10, "the console's e-stop")
        assert snapshot(page, "estop_latched") is True
        assert snapshot(page, "may_act") is True, "loopback: the station's own screen may act"
        assert page.is_visible("#latched")
        changes = page.evaluate("window.medlinkBedside.snapshot.changes.map(c => `${c.from}->${c.to}`)")
        result["changes"] = changes
        # The console's e-stop came from ENGAGED, or from HOLD if the page went silent first.
        assert "ENGAGED->HOLD" in changes and any(c.endswith("->ESTOP") for c in changes), changes
        # The station's patient monitor (on by default): one reading a second, drawn by the
        # module the console page uses too.
        vitals = poll(page, "window.medlinkBedside.snapshot.vitals", lambda v: v is not None, 10, "a monitor reading")
        poll(page, "document.querySelectorAll('#vitals .sign').length", lambda n: n == 6, 5, "six vitals cells")
        text = page.text_content("#vitals")
        for unit in ("/min", "%", "mmHg", "°C", " s"):
            assert unit in text, (unit, text)
        assert page.get_attribute("#vitals", "data-stale") == "false", text
        age_ms = snapshot(page, "vitals_age_ms")
        assert age_ms is not None and 0 <= age_ms, age_ms
        result["vitals"] = {"hr_bpm": round(vitals["hr_bpm"], 1), "age_ms": round(age_ms), "shown": text}
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
    run(main)
