#!/usr/bin/python3
"""A scripted model on 127.0.0.1 for the real agent CLIs (tests/integration/agents_real.sh).

One server speaks the three wire protocols:
  Claude Code  POST /v1/messages                      (Anthropic Messages, SSE)
  Codex        POST /v1/responses                     (OpenAI Responses, SSE)
  Gemini CLI   POST /v1beta/models/M:streamGenerateContent / :generateContent

Script: the first request that offers the agent's shell tool gets one call of
that tool with the command in $MODEL_COMMAND; a request that carries the tool's
result gets that result written to $MODEL_DIR/result.txt (so the test can see a
refusal's reason reached the model) and a final text answer "done". Anything
else (titles, routing, next-speaker checks) gets a short text.

Usage: model_agents.py DIR   (writes DIR/port once listening; DIR/requests.log
holds each request's path and body, for debugging)
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
COMMAND = os.environ.get("MODEL_COMMAND", "echo hello")


def log(path, body):
    with open(os.path.join(DIR, "requests.log"), "a") as f:
        f.write(path + " " + json.dumps(body) + "\n")


def record(text):
    with open(os.path.join(DIR, "result.txt"), "a") as f:
        f.write(text + "\n")


def flat(x):
    """All strings inside a JSON value, joined: a tool result's text wherever it sits."""
    if isinstance(x, str):
        return x
    if isinstance(x, list):
        return "\n".join(flat(v) for v in x)
    if isinstance(x, dict):
        return "\n".join(flat(v) for v in x.values())
    return "" if x is None else str(x)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def sse(self, events):
        out = ""
        for ev, data in events:
            if ev:
                out += "event: %s\n" % ev
            out += "data: %s\n\n" % json.dumps(data)
        self.send(200, out, "text/event-stream")

    def do_GET(self):
        log("GET " + self.path, None)
        if "/models" in self.path:
            return self.send(200, json.dumps({"data": [], "models": []}))
        self.send(404, "{}")

    def do_HEAD(self):
        self.send(200, "")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        log(self.path, body)
        p = self.path.split("?")[0]
        if p.endswith("/messages/count_tokens"):
            return self.send(200, json.dumps({"input_tokens": 10}))
        if p.endswith("/messages"):
            return self.anthropic(body)
        if p.endswith("/responses"):
            return self.openai_responses(body)
        if ":countTokens" in p:
            return self.send(200, json.dumps({"totalTokens": 10}))
        if "GenerateContent" in p or "generateContent" in p:
            return self.gemini(body, "stream" in p)
        self.send(404, "{}")

    # --- Claude Code
    def anthropic(self, b):
        msgs = b.get("messages") or []
        results = [c for m in msgs if m.get("role") == "user" and isinstance(m.get("content"), list)
                   for c in m["content"] if c.get("type") == "tool_result"]
        has_bash = any(t.get("name") == "Bash" for t in b.get("tools") or [])
        if results:
            record(flat(results[-1].get("content")))
            block, stop = {"type": "text", "text": "done"}, "end_turn"
        elif has_bash:
            block = {"type": "tool_use", "id": "toolu_shunt1", "name": "Bash",
                     "input": {"command": COMMAND, "description": "run the scripted command"}}
            stop = "tool_use"
        else:
            block, stop = {"type": "text", "text": "done"}, "end_turn"
        msg = {"id": "msg_shunt", "type": "message", "role": "assistant", "model": b.get("model", "m"),
               "content": [], "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 10, "output_tokens": 1}}
        if not b.get("stream"):
            msg.update(content=[block], stop_reason=stop)
            return self.send(200, json.dumps(msg))
        if block["type"] == "tool_use":
            start = dict(block, input={})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        self.sse([
            ("message_start", {"type": "message_start", "message": msg}),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": start}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                               "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ])

    # --- Codex
    def openai_responses(self, b):
        inp = b.get("input") or []
        outs = [i for i in inp if isinstance(i, dict) and i.get("type") == "function_call_output"]
        names = [t.get("name") for t in b.get("tools") or [] if isinstance(t, dict)]
        if outs:
            record(flat(outs[-1].get("output")))
            item = {"type": "message", "role": "assistant", "id": "msg_shunt",
                    "content": [{"type": "output_text", "text": "done", "annotations": []}]}
        elif "exec_command" in names:
            item = {"type": "function_call", "id": "fc_shunt", "call_id": "call_shunt1",
                    "name": "exec_command", "arguments": json.dumps({"cmd": COMMAND})}
        elif "shell" in names:
            item = {"type": "function_call", "id": "fc_shunt", "call_id": "call_shunt1",
                    "name": "shell", "arguments": json.dumps({"command": ["bash", "-lc", COMMAND]})}
        else:
            item = {"type": "message", "role": "assistant", "id": "msg_shunt",
                    "content": [{"type": "output_text", "text": "done", "annotations": []}]}
        usage = {"input_tokens": 10, "input_tokens_details": None, "output_tokens": 1,
                 "output_tokens_details": None, "total_tokens": 11}
        self.sse([
            ("response.created", {"type": "response.created", "response": {"id": "resp_shunt"}}),
            ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0,
                                           "item": item}),
            ("response.completed", {"type": "response.completed",
                                    "response": {"id": "resp_shunt", "usage": usage}}),
        ])

    # --- Gemini CLI
    def gemini(self, b, stream):
        contents = b.get("contents") or []
        resps = [p["functionResponse"] for c in contents for p in c.get("parts") or []
                 if isinstance(p, dict) and "functionResponse" in p]
        decls = [d.get("name") for t in b.get("tools") or [] for d in t.get("functionDeclarations") or []]
        last_user = contents[-1] if contents else {}
        answered = any("functionResponse" in p for p in last_user.get("parts") or [] if isinstance(p, dict))
        json_wanted = (b.get("generationConfig") or {}).get("responseMimeType") == "application/json"
        if json_wanted:
            part = {"text": json.dumps({"next_speaker": "user", "reasoning": "done",
                                        "model_choice": "flash", "complexity_reasoning": "simple",
                                        "complexity_score": 1})}
        elif answered or resps:
            if answered:
                record(flat(resps[-1].get("response")))
            part = {"text": "done"}
        elif "run_shell_command" in decls:
            part = {"functionCall": {"name": "run_shell_command", "args": {"command": COMMAND}}}
        else:
            part = {"text": "done"}
        chunk = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP",
                                 "index": 0}],
                 "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 1, "totalTokenCount": 11}}
        if stream:
            return self.sse([(None, chunk)])
        self.send(200, json.dumps(chunk))


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, os.path.join(DIR, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
