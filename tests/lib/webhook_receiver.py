#!/usr/bin/env python3
"""A helpdesk's webhook endpoint on loopback, for the integration tests.

  webhook_receiver.py PORTFILE LOG SECRET [--fail-first N] [--window S]

Listens on 127.0.0.1 (a free port, written to PORTFILE once listening) and
checks every POST the way a receiver should (SPEC §7): X-TP-Signature
"t=<unix>,v1=<hex>" must be HMAC-SHA256(SECRET, "<t>." + body), compared in
constant time, and t within --window seconds (default 300) of its clock, or
the request is refused (401) - a replayed request is stale. Each request
appends one JSON line to LOG: {"verdict":"ok|bad_signature|stale|failed_on_purpose",
"id","event","claim","state"}, and the body to LOG.bodies. The first N verified requests get a 500
(to exercise the sender's retries).
"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

portfile, logpath, secret = sys.argv[1], sys.argv[2], sys.argv[3].encode()
args = sys.argv[4:]
fail_first = int(args[args.index("--fail-first") + 1]) if "--fail-first" in args else 0
window = float(args[args.index("--window") + 1]) if "--window" in args else 300.0
state = {"failed": 0}


def verdict_of(sig, body):
    try:
        parts = dict(p.split("=", 1) for p in sig.split(","))
        t = int(parts["t"])
        v1 = parts["v1"]
    except (KeyError, ValueError):
        return "bad_signature"
    want = hmac.new(secret, str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, v1):
        return "bad_signature"
    if abs(time.time() - t) > window:
        return "stale"
    return "ok"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        verdict = verdict_of(self.headers.get("X-TP-Signature", ""), body)
        rec = {"verdict": verdict}
        if verdict == "ok":
            ev = json.loads(body)
            rec.update(id=ev["id"], event=ev["event"], claim=ev["claim"]["id"],
                       state=ev["claim"]["state"], header_event=self.headers.get("X-TP-Event"))
            if state["failed"] < fail_first:
                state["failed"] += 1
                rec["verdict"] = "failed_on_purpose"
        with open(logpath, "a") as f:
            f.write(json.dumps(rec) + "\n")
        with open(logpath + ".bodies", "ab") as f:
            f.write(body + b"\n")
        code = {"ok": 200, "failed_on_purpose": 500}.get(rec["verdict"], 401)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


srv = HTTPServer(("127.0.0.1", int(args[args.index("--port") + 1]) if "--port" in args else 0),
                 Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
