"""The ward dashboard in a real browser (Debian's chromium driven by Playwright).

Run by crates/medlink/tests/hub_dashboard_browser.rs against a `medlink hub` it started: signs in
through the hub's /login page, publishes a ward over MQTT (readings of the last 20 minutes for a
few patients, an ambulance), then a deteriorating patient's readings live, and measures in the
page how long after the alarming reading was published its alert row appeared (the page stamps
each alert row with Date.now() when it first draws it; the publish time is taken here on the same
machine's clock). Acknowledges the alert from the keyboard, escalates another one, opens a
patient's chart with its live ECG strip, finds both actions in the audit view, saves
screenshots, and signs out. Prints one JSON line with the figures.
"""

import argparse
import json
import sys
import time

import paho.mqtt.client as mqtt
from playwright.sync_api import expect, sync_playwright

# A ward: (patient, vitals of the last 20 minutes), NEWS2 0 to 5.
STEADY = {"hr": 72, "rr": 15, "spo2": 97, "o2": False, "temp": 36.8, "sbp": 124, "dbp": 78, "acvpu": "A"}
WARD = [
    ("p-201", dict(STEADY)),
    ("p-202", dict(STEADY, hr=96, rr=21, spo2=95)),  # 1 + 2 + 1 = 4
    ("p-203", dict(STEADY, spo2=93, rr=22, temp=38.4)),  # 2 + 2 + 1 = 5
    ("p-204", dict(STEADY, hr=58, sbp=108)),  # 1
]
# The deteriorating patient: NEWS2 creeping up over 20 minutes (0, 1, 3, 4, 4), then alarming.
DETERIORATING = "p-207"
DRIFT = [
    dict(STEADY),
    dict(STEADY, hr=92),
    dict(STEADY, hr=96, rr=21),
    dict(STEADY, hr=98, rr=22, temp=38.2),
    dict(STEADY, hr=104, rr=22, temp=38.3, spo2=96),
]
# NEWS2 9 (high): resp 25 (3), SpO2 92 (2), pulse 118 (2), temperature 38.6 (1), BP 104 (1).
ALARMING = dict(STEADY, hr=118, rr=25, spo2=92, temp=38.6, sbp=104, dbp=70)


def now_ms():
    return int(time.time() * 1000)


class Devices:
    """One MQTT connection per device, publishing QoS 1 and waiting for the broker's PUBACK."""

    def __init__(self, host, port, credentials):
        self.host, self.port, self.credentials = host, port, credentials
        self.clients = {}
        self.seq = {}

    def client(self, device):
        if device not in self.clients:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"browser-test-{device}")
            secret = self.credentials.get(device)
            if secret:
                client.username_pw_set(device, secret)
            client.connect(self.host, self.port)
            client.loop_start()
            self.clients[device] = client
        return self.clients[device]

    def publish(self, topic, device, payload):
        info = self.client(device).publish(topic, json.dumps(payload), qos=1)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            raise RuntimeError(f"{device}: publish on {topic} not acknowledged by the broker")

    def vitals(self, device, patient, time_ms, vitals):
        self.seq[device] = self.seq.get(device, 0) + 1
        payload = dict(vitals, patient=patient, seq=self.seq[device], time_ms=time_ms)
        self.publish(f"medlink/v1/devices/{device}/vitals", device, payload)

    def close(self):
        for client in self.clients.values():
            client.loop_stop()
            client.disconnect()


def seconds(m_ss):
    """'4:59' -> 299."""
    minutes, secs = m_ss.strip().split(":")
    return int(minutes) * 60 + int(secs)


def sign_in(page, hub, name, password):
    page.goto(f"{hub}/")
    page.wait_for_url("**/login**")
    page.locator("input[name=name], input#name, input[autocomplete=username]").first.fill(name)
    page.locator("input[type=password]").first.fill(password)
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_url(f"{hub}/**")
    expect(page.locator("#who")).to_contain_text(name, timeout=10_000)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hub", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--credentials", default="", help="`DEVICE PASSWORD` lines (medlink hub device add --credentials-file)")
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--screenshots", required=True, help="folder for hub-*.png")
    parser.add_argument("--ecg-patient", default="", help="a patient of the ward streaming ECG")
    args = parser.parse_args()
    credentials = {}
    if args.credentials:
        with open(args.credentials) as f:
            credentials = dict(line.split(maxsplit=1) for line in f.read().splitlines() if line.strip())
    devices = Devices(args.mqtt_host, args.mqtt_port, credentials)
    result = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, args.hub, args.user, args.password)
        expect(page.locator("#live")).to_have_text("Live", timeout=10_000)

        # The ward's last 20 minutes, one reading every 4 minutes per patient.
        start = now_ms() - 20 * 60_000
        for k in range(5):
            at = start + k * 4 * 60_000
            for patient, vitals in WARD:
                devices.vitals(f"w-{patient}", patient, at, vitals)
            devices.vitals(f"w-{DETERIORATING}", DETERIORATING, at, DRIFT[k])
        unit_at = now_ms()
        devices.publish(
            "medlink/v1/ambulances/amb-7/position",
            "amb-7",
            {"patient": "p-310", "lat": 51.5626, "lon": -0.1340, "speed_mps": 14.0, "time_ms": unit_at},
        )
        devices.vitals("amb-7-monitor", "p-310", unit_at, dict(STEADY, hr=124, rr=24, spo2=93))
        rows = page.locator("#patient-rows tr")
        expect(rows).to_have_count(len(WARD) + 2, timeout=15_000)
        # The trends of readings that came in a burst are drawn from the store on a reload.
        page.reload()
        expect(page.locator("#live")).to_have_text("Live", timeout=10_000)
        expect(rows).to_have_count(len(WARD) + 2, timeout=10_000)
        expect(page.locator("#incoming-rows tr[data-unit='amb-7']")).to_have_count(1, timeout=10_000)
        expect(page.locator(f"#alert-list li[data-patient='{DETERIORATING}']")).to_have_count(0)
        # The ETA counts down between positions.
        eta = page.locator("#incoming-rows tr[data-unit='amb-7'] .eta")
        first_eta = seconds(eta.inner_text())
        page.wait_for_timeout(2500)
        assert seconds(eta.inner_text()) < first_eta, f"the ETA stayed at {first_eta} s"

        # The alarming reading, published now; its alert row must appear.
        published_ms = now_ms()
        devices.vitals(f"w-{DETERIORATING}", DETERIORATING, published_ms, ALARMING)
        alert = page.locator(f"#alert-list li[data-patient='{DETERIORATING}']")
        expect(alert).to_have_count(1, timeout=10_000)
        appeared_ms = int(alert.get_attribute("data-appeared-ms"))
        result["alert_appeared_after_ms"] = appeared_ms - published_ms
        alert_id = alert.get_attribute("data-alert-id")
        expect(alert).to_contain_text("NEWS2 9")
        expect(page.locator(f"#patient-rows tr[data-patient='{DETERIORATING}'] .badge")).to_contain_text("9")
        expect(rows.first).to_have_attribute("data-patient", DETERIORATING)  # highest NEWS2 first
        page.wait_for_timeout(1500)  # sparklines and ETA have ticked once
        page.screenshot(path=f"{args.screenshots}/hub-dashboard.png", full_page=True)

        # Acknowledge from the keyboard: focus the button, press Enter.
        ack = alert.locator("button.ack")
        ack.focus()
        page.keyboard.press("Enter")
        expect(alert).to_contain_text(f"acknowledged by {args.user}", timeout=10_000)
        expect(ack).to_be_disabled()
        result["alert_id"] = int(alert_id)
        # Escalate another patient's alert: the next role of the chain is paged at once.
        other = page.locator("#alert-list li[data-patient='p-203']")
        other.locator("button.escalate").click()
        expect(other).to_contain_text("Paged charge nurse (level 2)", timeout=10_000)
        page.locator("section.alerts").screenshot(path=f"{args.screenshots}/hub-alerts.png")
        page.locator("section.alerts").screenshot(path=f"{args.screenshots}/hub-alerts.png")

        # The patient's chart: NEWS2 and six vitals drawn; with ECG, the live strip.
        chart_patient = args.ecg_patient or DETERIORATING
        page.goto(f"{args.hub}/#/patient/{chart_patient}")
        expect(page.locator("#charts figure.vital")).to_have_count(6, timeout=10_000)
        if args.ecg_patient:
            expect(page.locator("#ecg-panel")).to_be_visible(timeout=15_000)
            expect(page.locator("#ecg-title")).to_contain_text("/min", timeout=15_000)
            result["ecg_title"] = page.locator("#ecg-title").inner_text()
        page.wait_for_timeout(1000)
        page.screenshot(path=f"{args.screenshots}/hub-patient.png", full_page=True)
        page.goto(f"{args.hub}/#/patient/{DETERIORATING}")
        expect(page.locator("#charts figure.vital[data-parameter='news2']")).to_contain_text("latest 9")

        # The audit view has the acknowledgement, by the signed-in person.
        page.locator("#nav-audit").click()
        entry = page.locator(f"#audit-rows tr[data-action='alert_acknowledged']")
        expect(entry.first).to_contain_text(args.user, timeout=10_000)
        expect(entry.first).to_contain_text(f"alert {alert_id}")
        result["audit_row"] = entry.first.inner_text().replace("\t", " | ")
        escalated = page.locator("#audit-rows tr[data-action='alert_escalated']")
        expect(escalated.first).to_contain_text(args.user)
        page.screenshot(path=f"{args.screenshots}/hub-audit.png", full_page=True)

        # Signing out ends the session: the dashboard sends the next visit to the sign-in page.
        page.locator("#sign-out").click()
        page.wait_for_url("**/login**")
        page.goto(f"{args.hub}/")
        page.wait_for_url("**/login**")

        result["page_errors"] = errors
        browser.close()
    devices.close()
    print(json.dumps(result))
    return 0 if not result["page_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
