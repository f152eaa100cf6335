#!/usr/bin/env python3
"""Loopback audit collector for tests. Answers the first FAIL requests
with 500, then appends each POST body to OUT and answers 200. Requests
without "Authorization: SCHEME TOKEN" (when TOKEN is given; SCHEME
defaults to Bearer) get 401. With BULKFAIL > 0 the first BULKFAIL
accepted requests get an Elasticsearch bulk answer of 200 with
"errors":true and are not kept; the others get "errors":false.
Writes its port to PORTFILE.
usage: collector.py OUT PORTFILE FAIL [TOKEN [SCHEME [BULKFAIL]]]"""
import http.server
import os
import sys
import threading

OUT, PORTFILE, FAIL = sys.argv[1], sys.argv[2], int(sys.argv[3])
TOKEN = sys.argv[4] if len(sys.argv) > 4 else None
SCHEME = sys.argv[5] if len(sys.argv) > 5 else "Bearer"
BULKFAIL = int(sys.argv[6]) if len(sys.argv) > 6 else 0
lock = threading.Lock()
seen = [0]
bulk = [0]


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if TOKEN is not None and self.headers.get("Authorization") != SCHEME + " " + TOKEN:
            self.answer(401)
            return
        with lock:
            seen[0] += 1
            if seen[0] <= FAIL:
                self.answer(500)
                return
            if BULKFAIL:
                bulk[0] += 1
                if bulk[0] <= BULKFAIL:
                    self.answer(200, b'{"took":1,"errors":true,"items":[]}')
                    return
            with open(OUT, "ab") as f:
                f.write(body)
        self.answer(200, b'{"took":1,"errors":false,"items":[]}' if BULKFAIL else b"")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
