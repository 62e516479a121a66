"""A small local stand-in for an Ollama server: ``/api/chat`` (streamed NDJSON or one JSON) and ``/api/tags``.

Replies come from ``respond(messages) -> str``: canned text, or a real model behind an OpenAI-compatible
server (see ``forward_to``). Binds 127.0.0.1 on a free port; ``stop()`` shuts it down.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[list[dict[str, Any]]], str]


class OllamaStandIn:
    def __init__(self, respond: Responder, model: str = "smollm2") -> None:
        self.respond = respond
        self.model = model
        self.requests: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/api/tags":
                    self._json(
                        200,
                        {
                            "models": [
                                {"name": f"{stand_in.model}:latest", "model": f"{stand_in.model}:latest"}
                            ]
                        },
                    )
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                stand_in.requests.append(body)
                if self.path != "/api/chat":
                    self._json(404, {"error": "not found"})
                    return
                text = stand_in.respond(body.get("messages", []))
                done = {
                    "model": body.get("model"),
                    "created_at": "2026-01-01T00:00:00Z",
                    "done": True,
                    "done_reason": "stop",
                    "message": {"role": "assistant", "content": ""},
                    "prompt_eval_count": 1,
                    "eval_count": 1,
                }
                if not body.get("stream", True):
                    done["message"]["content"] = text
                    self._json(200, done)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                for i in range(0, len(text), 4):  # a few characters at a time, as tokens arrive
                    line = {
                        "model": body.get("model"),
                        "created_at": "2026-01-01T00:00:00Z",
                        "done": False,
                        "message": {"role": "assistant", "content": text[i : i + 4]},
                    }
                    self.wfile.write(json.dumps(line).encode() + b"\n")
                    self.wfile.flush()
                self.wfile.write(json.dumps(done).encode() + b"\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def forward_to(base_url: str, api_key: str, max_tokens: int = 96) -> Responder:
    """A responder that asks an OpenAI-compatible server (the real SmolLM2) for each reply."""

    def respond(messages: list[dict[str, Any]]) -> str:
        body = {
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        request = urllib.request.Request(
            f"{base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return str(json.loads(response.read())["choices"][0]["message"]["content"])

    return respond
