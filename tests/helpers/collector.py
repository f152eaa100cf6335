#!/usr/bin/env python3
"""Loopback audit collector for tests. Answers the first FAIL requests
with 500, then appends each POST body to OUT and answers 200. Requests
without "Authorization: Bearer TOKEN" (when TOKEN is given) get 401.
Writes its port to PORTFILE.
usage: collector.py OUT PORTFILE FAIL [TOKEN]"""
import http.server
import os
import sys
import threading

OUT, PORTFILE, FAIL = sys.argv[1], sys.argv[2], int(sys.argv[3])
TOKEN = sys.argv[4] if len(sys.argv) > 4 else None
lock = threading.Lock()
seen = [0]


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if TOKEN is not None and self.headers.get("Authorization") != "Bearer " + TOKEN:
            self.answer(401)
            return
        with lock:
            seen[0] += 1
            if seen[0] <= FAIL:
                self.answer(500)
                return
            with open(OUT, "ab") as f:
                f.write(body)
        self.answer(200)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
