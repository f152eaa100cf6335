#!/usr/bin/env python3
"""Loopback policy server for tests: serves DIR/<name> with a strong ETag
and answers If-None-Match with 304; when DIR/<name>.lastmod-only exists,
with Last-Modified (the file's mtime) instead and answers
If-Modified-Since with 304. Writes its port to PORTFILE and one line per
request ("GET /x 200") to DIR/requests.log.
usage: policyd.py DIR PORTFILE"""
import email.utils
import hashlib
import http.server
import os
import sys

ROOT, PORTFILE = sys.argv[1], sys.argv[2]


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def note(self, code):
        with open(os.path.join(ROOT, "requests.log"), "a") as f:
            f.write("GET %s %d\n" % (self.path, code))

    def do_GET(self):
        p = os.path.join(ROOT, os.path.basename(self.path))
        if not os.path.isfile(p):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.note(404)
            return
        body = open(p, "rb").read()
        if os.path.exists(p + ".lastmod-only"):
            mtime = int(os.stat(p).st_mtime)
            since = self.headers.get("If-Modified-Since")
            try:
                t = email.utils.parsedate_to_datetime(since).timestamp() if since else None
            except (TypeError, ValueError):
                t = None
            if t is not None and mtime <= t:
                self.send_response(304)
                self.end_headers()
                self.note(304)
                return
            self.send_response(200)
            self.send_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.note(200)
            return
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            self.note(304)
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.note(200)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
