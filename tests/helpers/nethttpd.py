#!/usr/bin/env python3
"""Loopback-only test HTTP server for tests/integration/network.sh.

usage: nethttpd.py ADDR PORTFILE [BIGSIZE]
Binds ADDR (must be in 127.0.0.0/8) on an ephemeral port, writes the port
to PORTFILE, serves:
  /hello  -> "hello from ADDR\n"
  /big    -> BIGSIZE bytes of a deterministic pattern (streamed)
Anything else: 404.
"""
import http.server
import ipaddress
import socketserver
import sys

addr, portfile = sys.argv[1], sys.argv[2]
bigsize = int(sys.argv[3]) if len(sys.argv) > 3 else 0
if not ipaddress.ip_address(addr).is_loopback:
    sys.exit("nethttpd: loopback addresses only")

CHUNK = bytes((i * 7 + 3) & 0xFF for i in range(65536)) * 16  # 1 MiB


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/hello":
            body = ("hello from %s\n" % addr).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(bigsize))
            self.end_headers()
            left = bigsize
            while left > 0:
                n = min(left, len(CHUNK))
                self.wfile.write(CHUNK[:n])
                left -= n
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server((addr, 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
