#!/usr/bin/python3
"""Trust Codex hooks non-interactively, for tests: Codex (0.17x) runs a
non-managed command hook only after a person reviewed it with /hooks, and skips
it silently until then. Trust is `[hooks.state."<key>"] trusted_hash` in
$CODEX_HOME/config.toml. The hash is Codex's own: this asks `codex app-server`
(hooks/list) for each hook's key and currentHash and writes them back; it never
computes one. Only hooks whose command contains PATTERN are trusted.

Usage: codex_trust.py CODEX CWD PATTERN   (CODEX_HOME from the environment)
Prints one line per hook trusted; exits 1 when none matched.
"""
import json
import os
import subprocess
import sys

codex, cwd, pattern = sys.argv[1:4]
p = subprocess.Popen([codex, "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, text=True, cwd=cwd)
def send(msg):
    p.stdin.write(json.dumps(msg) + "\n")
    p.stdin.flush()
send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"clientInfo": {"name": "shunt-test", "version": "0"}}})
send({"jsonrpc": "2.0", "method": "initialized"})
send({"jsonrpc": "2.0", "id": 2, "method": "hooks/list", "params": {"cwds": [cwd]}})
hooks = None
for line in p.stdout:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("id") == 2:
        hooks = [h for d in m.get("result", {}).get("data", []) for h in d.get("hooks", [])]
        break
p.kill()
p.wait()
todo = [h for h in hooks or [] if pattern in h.get("command", "") and h.get("trustStatus") != "trusted"]
if not todo:
    sys.exit(1)
with open(os.path.join(os.environ["CODEX_HOME"], "config.toml"), "a") as f:
    for h in todo:
        f.write('\n[hooks.state.%s]\ntrusted_hash = %s\n' % (json.dumps(h["key"]), json.dumps(h["currentHash"])))
        print("trusted", h["key"], h["currentHash"])
