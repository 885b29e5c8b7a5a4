"""The bedside panel served off loopback: HTTPS with the station's certificate, and the rule that
only a bedside certificate presses its buttons (Python's own TLS client, no browser).

Run by crates/medlink/tests/console_browser.rs against `medlink station --ui ADDR` on a
non-loopback address: without the session cookie nothing is served; the one-time link sets a
Secure cookie and is refused a second time; signed in without a client certificate, or with a
surgeon's, the panel watches and its actions (e-stop, take-over) are refused (403); a cross-origin action is refused;
with a bedside certificate the e-stop reaches the supervisor. Prints one JSON line.
"""

import argparse
import http.client
import json
import ssl
import time
from urllib.parse import urlparse

from console_helpers import run


def request(host, port, ca, method, path, cookie=None, cert=None, body=None, origin=None):
    context = ssl.create_default_context(cafile=ca)
    if cert:
        context.load_cert_chain(cert + ".crt", cert + ".key")
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if origin:
        headers["Origin"] = origin
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read().decode()
    return response.status, dict(response.getheaders()), data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--bedside", required=True, help="file stem of a bedside certificate")
    parser.add_argument("--surgeon", required=True, help="file stem of a surgeon certificate")
    args = parser.parse_args()
    url = urlparse(args.url)
    assert url.scheme == "https", args.url
    host, port = url.hostname, url.port
    call = lambda *a, **k: request(host, port, args.ca, *a, **k)
    result = {}

    status, _, _ = call("GET", "/api/state")
    assert status == 401, status
    status, headers, _ = call("GET", f"/?{url.query}")
    assert status == 303, status
    cookie_header = headers.get("set-cookie", "")
    assert "Secure" in cookie_header and "HttpOnly" in cookie_header, cookie_header
    cookie = cookie_header.split(";")[0]
    status, _, _ = call("GET", f"/?{url.query}")
    assert status == 401, f"the spent link answered {status}"

    status, _, body = call("GET", "/api/state", cookie=cookie)
    state = json.loads(body)
    assert status == 200 and state["may_act"] is False, state
    result["without_certificate"] = state["who"]
    status, _, body = call("POST", "/api/action", cookie=cookie, body={"command": "estop"})
    assert status == 403, (status, body)
    status, _, body = call("POST", "/api/action", cookie=cookie, body={"command": "takeover"})
    assert status == 403, (status, body)
    status, _, body = call("POST", "/api/action", cookie=cookie, cert=args.surgeon, body={"command": "estop"})
    assert status == 403, (status, body)
    status, _, body = call("POST", "/api/action", cookie=cookie, cert=args.surgeon, body={"command": "takeover"})
    assert status == 403, (status, body)
    result["with_surgeon_certificate"] = body
    status, _, body = call(
        "POST", "/api/action", cookie=cookie, cert=args.bedside, body={"command": "estop"}, origin="https://evil.example"
    )
    assert status == 403, (status, body)

    status, _, body = call("GET", "/api/state", cookie=cookie, cert=args.bedside)
    state = json.loads(body)
    assert state["may_act"] is True, state
    result["with_bedside_certificate"] = state["who"]
    status, _, body = call("POST", "/api/action", cookie=cookie, cert=args.bedside, body={"command": "estop"})
    assert status == 202, (status, body)
    deadline = time.time() + 5
    while time.time() < deadline:
        state = json.loads(call("GET", "/api/state", cookie=cookie)[2])
        if state["state"] == "ESTOP":
            break
        time.sleep(0.05)
    assert state["state"] == "ESTOP", state
    result["state_after_bedside_estop"] = state["state"]
    print(json.dumps(result))


if __name__ == "__main__":
    run(main)
