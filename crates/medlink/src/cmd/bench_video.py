"""medlink bench video's browser: opens the bench page in Debian's chromium (Playwright, headless),
lets the console's video socket play for --seconds, then prints one JSON object: every painted
frame's record from window.medlinkVideo (web/console/video.js), the page's counters and any
console errors. Saves a screenshot with --screenshot. With --nice N the driver and the browser
it starts run at nice N (they inherit it)."""

import argparse
import json
import os
import sys
import time

from playwright.sync_api import sync_playwright


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--screenshot")
    parser.add_argument("--nice", type=int, default=0)
    args = parser.parse_args()
    if args.nice > 0:
        os.nice(args.nice)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(args.url)
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            time.sleep(0.25)
        if args.screenshot:
            page.screenshot(path=args.screenshot)
        video = page.evaluate(
            "() => { const v = window.medlinkVideo || {}; return {frames: v.frames || [],"
            " received: v.received || 0, decoded: v.decoded || 0, painted: v.painted || 0,"
            " errors: v.errors || [], codec: v.codec || null}; }"
        )
        browser.close()
    video["console_errors"] = errors
    json.dump(video, sys.stdout)


if __name__ == "__main__":
    main()
